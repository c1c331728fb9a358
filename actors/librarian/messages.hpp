// Plain message structs of the librarian family (no CAF): what the HTTP API and the CLI exchange
// with the librarian actor. interface.hpp makes them CAF-inspectable.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace librarian::lib {

// upload/stage: the client declares what it will send.
struct stage_request {
  std::string name;      // the file's unique name (may contain '/', see validate_file_name)
  uint64_t size = 0;     // bytes (a directory: the sum of its files)
  std::string checksum;  // "xxh3:::<hex>" as digest_path computes it
  std::string uploader;  // set by the API to the authenticated caller
  std::string deletion_policy = "DISALLOWED";  // DISALLOWED | ALLOWED
  std::string store;                           // "" = the first store with room
  // A directory under the store's staging path that groups uploads (replication stages a whole
  // batch under one, so one data-channel tree ticket covers it). "" = none. One path component.
  std::string group;
  friend bool operator==(const stage_request&, const stage_request&) = default;
};

// already_present: a file with this name, size and checksum exists; nothing to send or commit.
// ticket: the native data channel's ticket (empty until the data channel is wired in; the local
// mover copies into staging_file directly).
struct stage_reply {
  uint64_t upload_id = 0;
  std::string name;
  std::string store;
  std::string staging_dir;
  std::string staging_file;  // where the bytes go: staging_dir/<last component of name>
  bool already_present = false;
  std::string ticket;
  int64_t expires_unix_ms = 0;
  friend bool operator==(const stage_reply&, const stage_reply&) = default;
};

// upload/stage/bulk: many stages in one request and one synced batch, all under one staging
// group (so one data-channel tree ticket covers the small ones). Per item: items[i] answers
// request i, codes[i] its errc (0: staged or already present), messages[i] why not.
struct bulk_stage_reply {
  std::string group_dir;  // the group's directory under the store's staging path ("": none)
  std::vector<stage_reply> items;
  std::vector<uint8_t> codes;
  std::vector<std::string> messages;
  friend bool operator==(const bulk_stage_reply&, const bulk_stage_reply&) = default;
};

// upload/commit/bulk: checksums[i] is declared for upload_ids[i] ("" = the stage's own).
struct bulk_commit_request {
  std::vector<uint64_t> upload_ids;
  std::vector<std::string> checksums;
  friend bool operator==(const bulk_commit_request&, const bulk_commit_request&) = default;
};

struct instance_info {
  uint64_t id = 0;
  std::string store;
  std::string path;
  bool available = true;
  std::string deletion_policy;
  int64_t created_unix_ms = 0;
  std::string cached_checksum;  // "" = never recomputed
  int64_t checksum_unix_ms = 0;
  friend bool operator==(const instance_info&, const instance_info&) = default;
};

struct remote_instance_info {
  std::string librarian;
  uint64_t store_id = 0;
  int64_t copy_unix_ms = 0;
  std::string sender;
  friend bool operator==(const remote_instance_info&, const remote_instance_info&) = default;
};

struct file_info {
  std::string name;
  uint64_t size = 0;
  std::string checksum;
  std::string uploader;
  std::string source;
  int64_t create_unix_ms = 0;
  std::vector<instance_info> instances;
  std::vector<remote_instance_info> remote_instances;
  friend bool operator==(const file_info&, const file_info&) = default;
};

// search-files. Empty strings and zeros mean "no filter". Results are in name order and paged by
// name: pass the last name of one page as `after` to get the next.
struct file_query {
  std::string name_glob;  // '*' and '?' (a literal prefix makes it cheap)
  int64_t create_from_unix_ms = 0;
  int64_t create_to_unix_ms = 0;  // inclusive; 0 = no upper bound
  std::string uploader;
  std::string source;
  uint64_t size_min = 0;
  uint64_t size_max = 0;  // 0 = no upper bound
  std::string store;      // has an instance on this store
  std::string checksum;
  std::string has_remote_at;    // has a remote instance at this librarian
  std::string lacks_remote_at;  // has no remote instance at this librarian
  std::string after;
  uint64_t max_results = 0;  // 0 = the default page size
  friend bool operator==(const file_query&, const file_query&) = default;
};

// truncated: the scan hit its row budget; `more` is then true and `after` continues the scan.
struct file_page {
  std::vector<file_info> files;
  bool more = false;
  bool truncated = false;
  std::string next_after;
  friend bool operator==(const file_page&, const file_page&) = default;
};

// The answer to upload/commit/bulk: files[i] is upload i's committed file when codes[i] is 0.
// The committed ones went in one batch with their LRC mappings.
struct bulk_commit_reply {
  std::vector<file_info> files;
  std::vector<uint8_t> codes;
  std::vector<std::string> messages;
  friend bool operator==(const bulk_commit_reply&, const bulk_commit_reply&) = default;
};

// stores/import: registers files already under a store's path (a tree copied there by other
// means) as files with an instance each, named by their path below the store. Checksums are
// computed here. Resumable: `after` is the previous answer's `next_after` (paths in byte order).
struct import_request {
  std::string store;
  std::string under;  // a directory below the store path ("" = all of it)
  std::string after;
  uint64_t files_max = 0;  // per call; 0 = the default (100,000)
  bool dry_run = false;    // count and hash, record nothing
  std::string uploader;    // set by the API to the authenticated caller
  friend bool operator==(const import_request&, const import_request&) = default;
};

struct import_report {
  uint64_t files_seen = 0;       // regular files walked in this call
  uint64_t imported = 0;         // new files recorded
  uint64_t already_present = 0;  // an instance at that path is recorded already
  uint64_t instances_added = 0;  // a known file (same checksum) gained this instance
  uint64_t failed = 0;           // bad names, conflicts, unreadable files (see problems)
  uint64_t bytes_hashed = 0;
  bool complete = false;  // the walk reached its end
  std::string next_after;
  std::vector<std::string> problems;  // the first 100 failures, one line each
  friend bool operator==(const import_report&, const import_report&) = default;
};

// Between the librarian and its workers during an import: paths below the store path, their
// sizes and (once hashed) checksums, or why a path could not be hashed.
struct import_batch {
  std::vector<std::string> paths;
  std::vector<uint64_t> sizes;
  std::vector<std::string> checksums;
  std::vector<std::string> errors;
  bool complete = false;  // the walk reached the end of the tree
  friend bool operator==(const import_batch&, const import_batch&) = default;
};

struct store_info {
  std::string name;
  std::string type;  // local | sneakernet
  std::string staging_path;
  std::string store_path;
  bool ingestable = true;
  bool enabled = true;
  uint64_t capacity_bytes = 0;
  uint64_t used_bytes = 0;      // committed instances
  uint64_t reserved_bytes = 0;  // open uploads
  uint64_t free_bytes = 0;      // under capacity x report_full_fraction
  uint64_t instances = 0;
  double report_full_fraction = 1.0;
  friend bool operator==(const store_info&, const store_info&) = default;
};

// A peer librarian as listed (never with its credentials). rtt_us < 0: not pinged.
struct librarian_info {
  std::string name;
  std::string url;  // scheme://host
  uint32_t port = 0;
  bool transfers_enabled = true;
  int64_t added_unix_ms = 0;
  int64_t last_seen_unix_ms = 0;
  std::string ping_state;  // "unknown" (not pinged), "up", "down"
  int64_t rtt_us = -1;     // round trip of the ping in microseconds
  std::string ping_error;
  friend bool operator==(const librarian_info&, const librarian_info&) = default;
};

struct add_librarian_request {
  std::string name;
  std::string url;
  uint32_t port = 0;
  std::string authenticator;  // "user:password" the node uses to call the peer
  bool check_connection = true;
  friend bool operator==(const add_librarian_request&, const add_librarian_request&) = default;
};

struct error_info {
  uint64_t id = 0;
  std::string severity;  // critical | error | warning | info
  std::string category;  // data_integrity | data_availability | configuration | store_full |
                         // programming | librarian_network_availability | transfer
  std::string message;
  std::string caller;
  int64_t raised_unix_ms = 0;
  bool cleared = false;
  int64_t cleared_unix_ms = 0;
  friend bool operator==(const error_info&, const error_info&) = default;
};

struct error_query {
  uint64_t id = 0;  // 0 = any
  std::string severity;
  std::string category;
  int64_t from_unix_ms = 0;
  int64_t to_unix_ms = 0;
  bool include_resolved = false;
  uint64_t max_results = 0;
  friend bool operator==(const error_query&, const error_query&) = default;
};

// One instance's verdict in validate-file.
struct validation_item {
  std::string librarian;
  std::string store;
  uint64_t instance_id = 0;
  std::string path;
  std::string original_checksum;
  uint64_t original_size = 0;
  std::string current_checksum;  // "" when it could not be computed (see problem)
  uint64_t current_size = 0;
  bool match = false;
  std::string problem;
  friend bool operator==(const validation_item&, const validation_item&) = default;
};

// get-store-manifest (SneakerNet, reference §5): what is on a store, page by page.
struct manifest_request {
  std::string store;
  std::string destination_librarian;  // must be a known peer when given (recorded, see docs)
  bool disable_store = false;         // applied with the first page
  bool mark_unavailable = false;      // the listed instances become unavailable
  std::string after;                  // next_after of the previous page
  uint64_t max_entries = 0;           // 0 = 10,000
  friend bool operator==(const manifest_request&, const manifest_request&) = default;
};

struct manifest_entry {
  std::string name;
  int64_t create_unix_ms = 0;
  uint64_t size = 0;
  std::string checksum;
  std::string uploader;
  std::string source;
  std::string instance_path;
  std::string deletion_policy;
  int64_t instance_create_unix_ms = 0;
  bool instance_available = true;
  friend bool operator==(const manifest_entry&, const manifest_entry&) = default;
};

struct manifest_page {
  std::string librarian_name;
  std::string store_name;
  std::string destination_librarian;
  std::vector<manifest_entry> entries;
  bool more = false;
  std::string next_after;
  friend bool operator==(const manifest_page&, const manifest_page&) = default;
};

// One page of duplicate_remote_instance_hypervisor's pass over the remote instances.
struct remote_dedupe_page {
  uint64_t removed = 0;         // duplicate rows deleted (the oldest of each (file, peer) stays)
  uint64_t index_repaired = 0;  // by-librarian index entries added or removed
  std::string next;             // cursor for the next page; "" when the pass is over
  friend bool operator==(const remote_dedupe_page&, const remote_dedupe_page&) = default;
};

}  // namespace librarian::lib
