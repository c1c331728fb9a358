// The librarian's state machine (no CAF, no file I/O): the catalog of files, instances, remote
// instances, stores, peers, errors and open uploads over RocksDB. Every mutation validates first,
// then appends the rows to write to a storage::row_list the actor shell commits; a mutation that
// fails appends nothing and changes nothing.
//
// Consistency rule for the shell (commits are asynchronous):
//  * Small tables the state needs on every request live in memory and are authoritative there
//    (stores' flags and usage, open uploads, peers, counters); their rows are written from memory,
//    so a later batch never carries older values than an earlier one.
//  * Files are read from the db. A name whose commit is in flight is held in `names_committing_`
//    until the shell calls commit_settled(), so no second upload can claim it meanwhile.
//  * If a commit fails, the shell calls load() again (memory re-read from what is durable).
//  * Queries read committed rows only (commit before announce).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/librarian/messages.hpp"
#include "actors/librarian/records.hpp"
#include "runtime/expected.hpp"
#include "storage/db.hpp"
#include "storage/row_op.hpp"

namespace librarian::lib {

struct store_config {
  std::string name;
  std::string type = "local";  // local | sneakernet
  std::string staging_path;    // absolute; staging directories are made below it
  std::string store_path;      // absolute; instances live at store_path/<file name>
  bool ingestable = true;      // receives uploads (a SneakerNet drive does not)
  bool enabled = true;         // the initial state; set-store-state changes it at run time
  uint64_t capacity_bytes = 0;
  double report_full_fraction = 1.0;  // full when used + reserved > capacity x fraction
};

struct catalog_limits {
  size_t name_bytes_max = 1024;
  uint64_t upload_bytes_max = 50'000'000'000ULL;
  int64_t stage_ttl_ms = 24LL * 3600 * 1000;  // an open upload older than this is reaped
  size_t uploads_open_max = 10000;
  size_t librarians_max = 1000;
  size_t search_results_default = 100;
  size_t search_results_max = 1000;
  size_t search_rows_scanned_max = 1'000'000;
  size_t scan_page_rows = 1000;
  size_t instances_per_file_max = 1000;
  size_t errors_results_max = 1000;
};

// Validates a file name: 1..name_bytes_max bytes, no control characters (including NUL and DEL),
// no leading or trailing '/', no empty, "." or ".." component. Names may contain '/' (they become
// sub-directories of the store), as in the reference.
[[nodiscard]] status validate_file_name(const std::string& name, size_t name_bytes_max);

// What the shell needs to finish a commit: the verified content and where it now lives.
struct commit_outcome {
  file_info file;
  std::string lfn;  // the LRC mapping this instance adds (same batch)
  std::string pfn;
};

class catalog_state {
 public:
  // db must outlive the state and have been opened with librarian_tables(). sealing_key: 32 bytes
  // or empty (then peers cannot be added).
  catalog_state(const storage::db& db, std::string node_name, std::vector<store_config> stores,
                catalog_limits limits, std::string sealing_key);

  // Reads stores' flags and usage, open uploads, peers and counters.
  [[nodiscard]] status load();

  // ---- uploads
  // Either a new upload (its row appended), the same open upload again (same uploader, name and
  // checksum: a retried stage), or already_present for an identical committed file. A stage
  // without a checksum (the client hashes while sending) declares it at commit instead; a name
  // already taken is then a conflict, since "identical" cannot be told without one.
  [[nodiscard]] expected<stage_reply> stage(const stage_request& req, int64_t now_unix_ms,
                                            storage::row_list& rows);
  // Claims an open upload for commit. Someone else's upload is not_found, like a missing one.
  // `checksum` is the one declared at commit: when the stage had none it goes into the returned
  // row (a commit must declare one then); otherwise "" or the stage's own (another is a
  // checksum_mismatch).
  [[nodiscard]] expected<upload_row> begin_commit(uint64_t upload_id, const std::string& caller,
                                                  bool caller_is_admin,
                                                  const std::string& checksum = {});
  // The staged content was verified and moved to final_path: File + Instance + index rows, the
  // store's usage, the upload row's deletion. The name stays claimed until commit_settled().
  // `checksum`: what begin_commit returned (the stage's, or the one declared at commit).
  [[nodiscard]] expected<commit_outcome> finish_commit(uint64_t upload_id,
                                                       const std::string& final_path,
                                                       int64_t now_unix_ms, storage::row_list& rows,
                                                       const std::string& checksum = {});
  void commit_settled(const std::string& name) { names_committing_.erase(name); }
  // Drops an open upload (failed verification, reaped, or cancelled): its row and reservation.
  // Returns it so the shell can remove its staging directory.
  [[nodiscard]] expected<upload_row> abort_upload(uint64_t upload_id, storage::row_list& rows);
  // A claimed upload whose verification failed goes back to being abortable.
  void release_commit(uint64_t upload_id);
  [[nodiscard]] std::vector<upload_row> stale_uploads(int64_t now_unix_ms, size_t max) const;
  [[nodiscard]] const std::map<uint64_t, upload_row>& open_uploads() const { return uploads_; }
  // Where the instance of a file goes on a store (store_path/name).
  [[nodiscard]] std::string instance_path(const std::string& store, const std::string& name) const;

  // ---- files
  [[nodiscard]] expected<file_info> get_file(const std::string& name) const;
  [[nodiscard]] expected<file_page> search(const file_query& q) const;
  // The best local instance to read: available, on an enabled store first, then the oldest.
  [[nodiscard]] expected<instance_info> best_instance(const std::string& name) const;
  // A validation result: caches the checksum; a new mismatch (not the one already cached) records
  // a CorruptFile row and a data_integrity error raised by `caller`.
  [[nodiscard]] expected<validation_item> record_validation(
      const std::string& name, uint64_t instance_id, const std::string& checksum, uint64_t size,
      int64_t now_unix_ms, const std::string& caller, storage::row_list& rows);
  // Instances on a store created at or after created_from_unix_ms, in (name, id) order, after the
  // cursor `after` ("" = from the start), at most max (check_integrity walks a store with this).
  struct instance_batch {
    std::vector<std::pair<std::string, instance_info>> items;  // (file name, instance)
    bool more = false;
    std::string next_after;
  };
  [[nodiscard]] expected<instance_batch> instances_on_store(const std::string& store,
                                                            int64_t created_from_unix_ms,
                                                            const std::string& after,
                                                            size_t max) const;
  // The instance's bytes are gone: kept as a row (reference: available=false), never read again.
  [[nodiscard]] status mark_instance_unavailable(const std::string& name, uint64_t instance_id,
                                                 storage::row_list& rows);
  // A verified copy of a committed file now at `path` on `store` (create_local_clone): a new
  // instance there. path must be instance_path(store, name); one instance per store.
  // Import (stores/import). What a file found at the store's path `name` is to the catalog:
  // recorded there already, a known file without an instance there, or new. Bad names and names
  // with an open upload are errors.
  enum class import_kind : uint8_t { present, known, fresh };
  [[nodiscard]] expected<import_kind> import_check(const std::string& store,
                                                   const std::string& name) const;
  struct import_entry {
    std::string name;
    uint64_t size = 0;
    std::string checksum;
  };
  // Records hashed files found on `store`: a new File + Instance, or an Instance of a known file
  // with the same size and checksum. Per entry an outcome (errors append nothing for that
  // entry); good ones append rows and their LRC mapping to `mappings` (lfn, pfn).
  [[nodiscard]] std::vector<status> record_imports(
      const std::string& store, const std::vector<import_entry>& entries,
      const std::string& uploader, int64_t now_unix_ms, storage::row_list& rows,
      std::vector<std::pair<std::string, std::string>>& mappings, std::vector<bool>& was_known);

  [[nodiscard]] expected<instance_info> add_instance(const std::string& name,
                                                     const std::string& store,
                                                     const std::string& path, int64_t now_unix_ms,
                                                     storage::row_list& rows);
  // The instance's bytes are going away (rolling_deletion): kept as an unavailable row, or removed
  // (keep_row false); the store's usage drops either way. Returns the instance as it was.
  [[nodiscard]] expected<instance_info> drop_instance(const std::string& name, uint64_t instance_id,
                                                      bool keep_row, storage::row_list& rows);
  // The librarian must be a known peer: added with add_librarian, or a cluster peer.
  [[nodiscard]] status add_remote_instance(const remote_instance_row& remote,
                                           storage::row_list& rows);
  void set_cluster_peers(std::set<std::string> names) { cluster_peers_ = std::move(names); }
  // Committed files' checksums by name ("" for a name with no file).
  [[nodiscard]] expected<std::vector<std::string>> checksums_of(
      const std::vector<std::string>& names) const;
  [[nodiscard]] expected<std::vector<corrupt_row>> corrupt_files(size_t max) const;
  // duplicate_remote_instance_hypervisor: one page of a pass over the remote instances. Keeps the
  // oldest row of each (file, librarian) (by copy time, then store id) and deletes the others,
  // then makes the by-librarian index match the rows (a missing entry is added, an orphan
  // removed). Start a pass with ""; continue with `next` until it is "" again.
  [[nodiscard]] expected<remote_dedupe_page> dedupe_remotes(const std::string& cursor,
                                                            size_t page_rows,
                                                            storage::row_list& rows) const;

  // ---- stores
  // One page of a store's manifest (SneakerNet); with the request's flags, the rows that disable
  // the store (first page) and mark the listed instances unavailable.
  [[nodiscard]] expected<manifest_page> store_manifest(const manifest_request& req,
                                                       storage::row_list& rows);
  [[nodiscard]] std::vector<store_info> stores() const;
  [[nodiscard]] expected<store_info> set_store_enabled(const std::string& name, bool enabled,
                                                       storage::row_list& rows);

  // ---- peers
  [[nodiscard]] std::vector<librarian_info> librarians() const;
  [[nodiscard]] expected<librarian_info> add_librarian(const add_librarian_request& req,
                                                       int64_t now_unix_ms,
                                                       storage::row_list& rows);
  [[nodiscard]] expected<librarian_info> remove_librarian(const std::string& name,
                                                          storage::row_list& rows);
  [[nodiscard]] expected<librarian_info> set_transfers_enabled(const std::string& name,
                                                               bool enabled,
                                                               storage::row_list& rows);
  // "user:password" in clear, for calling the peer.
  [[nodiscard]] expected<std::string> librarian_authenticator(const std::string& name) const;
  [[nodiscard]] status mark_seen(const std::string& name, int64_t now_unix_ms,
                                 storage::row_list& rows);

  // ---- errors
  [[nodiscard]] expected<error_info> raise_error(const std::string& severity,
                                                 const std::string& category,
                                                 const std::string& message,
                                                 const std::string& caller, int64_t now_unix_ms,
                                                 storage::row_list& rows);
  [[nodiscard]] expected<std::vector<error_info>> search_errors(const error_query& q) const;
  [[nodiscard]] expected<error_info> clear_error(uint64_t id, int64_t now_unix_ms,
                                                 storage::row_list& rows);

  [[nodiscard]] const catalog_limits& limits() const { return limits_; }

 private:
  struct store_state {
    store_config config;
    bool enabled = true;
    uint64_t used_bytes = 0;
    uint64_t instances = 0;
    uint64_t reserved_bytes = 0;
  };

  [[nodiscard]] uint64_t room_bytes(const store_state& s) const;
  [[nodiscard]] expected<store_state*> choose_store(const stage_request& req);
  [[nodiscard]] expected<std::optional<file_row>> read_file(const std::string& name) const;
  [[nodiscard]] expected<file_info> assemble(file_row row) const;
  [[nodiscard]] expected<std::vector<instance_row>> read_instances(const std::string& name) const;
  [[nodiscard]] expected<bool> has_remote_at(const std::string& name,
                                             const std::string& librarian) const;
  [[nodiscard]] expected<bool> has_instance_on(const std::string& name,
                                               const std::string& store) const;
  [[nodiscard]] expected<bool> matches(const file_row& f, const file_query& q,
                                       const void* name_glob) const;
  [[nodiscard]] store_info info_of(const store_state& s) const;
  [[nodiscard]] librarian_info info_of(const librarian_row& r) const;
  void put_counter(const char* name, uint64_t value, storage::row_list& rows) const;
  void remember_upload(upload_row u);
  void forget_upload(std::map<uint64_t, upload_row>::iterator it);
  void put_usage(const store_state& s, storage::row_list& rows) const;
  // A new File's row and its name-time and checksum index rows.
  void put_new_file(const file_row& f, storage::row_list& rows) const;
  // A new available Instance (the next id) at path, whose bytes were verified just now against
  // (checksum, size): its row and its by-store index row. The caller writes the id counter.
  instance_row put_new_instance(const std::string& name, const std::string& store,
                                const std::string& path, const std::string& deletion_policy,
                                const std::string& checksum, uint64_t size, int64_t now_unix_ms,
                                storage::row_list& rows);

  const storage::db& db_;
  std::string node_name_;
  catalog_limits limits_;
  std::string sealing_key_;
  std::vector<store_state> stores_;  // config order: the order stage prefers
  std::map<uint64_t, upload_row> uploads_;
  std::unordered_multimap<std::string, uint64_t> upload_ids_by_name_;  // stage's lookup by name
  std::set<uint64_t> committing_;  // upload ids claimed by begin_commit
  std::set<std::string> names_committing_;
  std::map<std::string, librarian_row> librarians_;
  std::set<std::string> cluster_peers_;
  uint64_t next_upload_id_ = 1;
  uint64_t next_instance_id_ = 1;
  uint64_t next_error_id_ = 1;
  uint64_t next_corrupt_id_ = 1;
};

}  // namespace librarian::lib
