// The node's configuration: one JSON file (`librarian-node --config FILE`), read strictly.
// Every key and its default is documented in docs/configuration.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/expected.hpp"

namespace librarian {

struct listen_config {
  std::string host = "127.0.0.1";  // every port binds to this interface
  uint16_t cluster_port = 7100;
  uint16_t http_port = 7180;  // 0 disables the HTTP API
  uint16_t data_port = 7190;
};

struct peer_config {
  std::string name;
  std::string host;
  uint16_t cluster_port = 0;
};

struct cluster_config {
  int64_t heartbeat_interval_ms = 1000;
  int64_t connection_timeout_ms = 5000;  // a silent peer is declared down after this
  int64_t reconnect_min_ms = 200;
  int64_t reconnect_max_ms = 10000;
  int64_t connect_timeout_ms = 3000;
};

struct http_config {
  uint32_t threads = 2;
  uint64_t body_max_bytes = 1u << 20;
  int64_t request_timeout_ms = 30000;
  int64_t read_timeout_ms = 10000;
  uint32_t connections_max = 1024;
};

// How the node runs its actors (CAF's scheduler).
struct actors_config {
  bool work_stealing = false;  // false: work sharing (see runtime/caf/system_config.hpp)
  uint32_t threads = 0;        // worker threads; 0: one per core
};

struct bootstrap_admin_config {
  std::string name;
  std::string password;  // or read from the environment variable named by password_env
  std::string password_env;
};

struct auth_config {
  uint32_t kdf_iterations = 210000;
  std::optional<bootstrap_admin_config> bootstrap_admin;
  int64_t token_ttl_max_s = 90LL * 24 * 3600;
};

struct supervisor_config {
  int64_t restart_backoff_min_ms = 100;
  int64_t restart_backoff_max_ms = 30000;
};

// How an LRC keeps one RLI informed (Globus RLS's update modes; docs/configuration.md).
enum class rli_update_mode : uint8_t {
  list,       // the full LFN list every interval_ms
  immediate,  // changes as they commit (after buffer_ms or buffer_changes), a refresh every
              // interval_ms, and the full list every full_interval_ms (at once when out of sync)
  bloom,      // a Bloom filter of the LFNs every interval_ms (deletions: the filter is rebuilt)
};

[[nodiscard]] const char* to_string(rli_update_mode mode);

// One RLI this node's LRC keeps informed (soft state).
struct rli_target_config {
  std::string name;  // this node or a configured peer that runs an RLI
  rli_update_mode mode = rli_update_mode::list;
  int64_t interval_ms = 30000;       // list/bloom: update period; immediate: refresh period
  int64_t full_interval_ms = 0;      // immediate: full list period while in sync (0: 10 x interval)
  int64_t buffer_ms = 30000;         // immediate: longest a committed change waits to be sent
  uint32_t buffer_changes = 100;     // immediate: this many buffered changes are sent at once
  uint32_t bloom_bits_per_lfn = 11;  // bloom: filter bits per LFN
  uint32_t bloom_hashes = 7;         // bloom: hash functions (11 bits, 7 hashes: ~0.64% false hits)
  std::vector<std::string> patterns;  // only LFNs matching one of these globs (empty: all)
  uint32_t chunk_lfns = 1000;         // LFNs per update message
};

struct rls_config {
  bool rli = false;                   // this node runs a Replica Location Index
  int64_t staleness_permille = 1200;  // an LRC's state expires after 1.2 x its interval
  std::vector<rli_target_config> update_rlis;
  // RLI hierarchy: RLIs (peers) this node's RLI forwards every update it accepts to, naming the
  // original LRC, so they answer for LRCs they never heard from directly. Needs rli = true.
  std::vector<std::string> forward_rlis;
};

// The native data channel on listen.data_port (net/data).
struct data_config {
  std::vector<std::string> roots;            // absolute directories lib:// paths must lie under
  int64_t stall_timeout_ms = 120000;         // a connection with no progress this long is dropped
  int32_t tcp_buffer_bytes = 0;              // SO_SNDBUF/SO_RCVBUF; 0 = kernel autotuning
  uint64_t block_bytes_max = 64ull << 20;    // largest block a client may send or ask for
  uint64_t sync_every_bytes = 256ull << 20;  // received data synced and journaled this often
  int64_t ticket_ttl_s = 24 * 3600;          // how long a data ticket stays valid
  uint32_t connections_max = 512;
  bool direct_io = true;  // aligned received blocks written with O_DIRECT
};

// The GridFTP server (docs/gridftp.md): clear-text login, paths confined to the roots.
struct gridftp_config {
  bool enabled = false;
  uint16_t port = 2811;               // 0 = ephemeral (the ready line names it)
  std::vector<std::string> roots;     // absolute directories; clients name paths under them
  bool anonymous_user = false;        // allow USER anonymous / ftp
  std::string password_file;          // "name:pbkdf2-sha256$..." lines; empty = no named users
  int64_t marker_interval_ms = 5000;  // 111/112 markers while receiving
  int64_t data_timeout_ms = 60000;    // no data connection or no progress for this long aborts
  uint32_t sessions_max = 64;
  bool direct_io = true;  // aligned MODE E blocks of uploads written with O_DIRECT
};

// One store of the librarian (docs/configuration.md "stores").
struct store_entry_config {
  std::string name;
  std::string type = "local";  // local | sneakernet
  std::string staging_path;    // absolute
  std::string store_path;      // absolute
  bool ingestable = true;
  bool enabled = true;
  uint64_t capacity_bytes = 0;
  double report_full_fraction = 1.0;
  // Globus (docs/globus.md): the endpoint that serves this store's staging directory, and the
  // prefix that endpoint sees for it ("" = the same absolute path, the reference's rule).
  std::string destination_endpoint;
  std::string globus_root;
  // GridFTP (the gridftp mover): the server that serves this store's staging directory under the
  // same absolute paths, "ftp://host:port" ("" = this node's own GridFTP server).
  std::string gridftp_url;
};

// One check_integrity task: recompute the checksums of a store's instances every so often.
struct integrity_task_config {
  std::string store;
  int64_t every_s = 24 * 3600;
  int64_t age_in_days = 0;  // only instances created within this many days; 0 = all
};

// The librarian actor's settings (docs/configuration.md "librarian").
struct librarian_section_config {
  uint64_t upload_bytes_max = 50'000'000'000ULL;
  int64_t stage_ttl_s = 24 * 3600;  // an open upload older than this is reaped
  int64_t reaper_interval_s = 60;
  uint32_t search_results_max = 1000;
  std::string encryption_key_file;  // base64 of 32 bytes; needed to store peer credentials
  int64_t ping_timeout_ms = 3000;
  std::vector<integrity_task_config> check_integrity;
  // The Globus Transfer backend (docs/globus.md); the seed's key names.
  bool globus_enable = false;
  std::string globus_client_id;
  bool globus_client_native_app = false;
  std::string globus_local_endpoint_id;
  std::string globus_client_secret_file;
  std::string globus_local_root;  // subtracted from source paths ("" = same absolute path)
  std::string globus_auth_url = "https://auth.globus.org";
  std::string globus_transfer_url = "https://transfer.api.globus.org/v0.10";
  bool globus_encrypt_transfers = true;
};

// ---- background tasks (docs/replication.md). Each task has a period and a soft timeout: a run
// that has worked for soft_timeout stops and leaves the rest for the next run.
struct task_schedule {
  int64_t every_ms = 3600LL * 1000;
  int64_t soft_timeout_ms = 0;  // 0: the period
};

struct send_clone_task : task_schedule {
  std::string destination_librarian;
  double age_in_days = 0;        // only files created within this many days; 0 = every file
  std::string store_preference;  // read from this store when it has an instance
  uint32_t send_batch_size = 128;
  std::string mover = "native";  // native | local | globus
  int32_t priority = 0;          // higher batches are consumed first
};

struct consume_queue_task : task_schedule {};
struct check_consumed_queue_task : task_schedule {};

struct recv_clone_task : task_schedule {
  std::string deletion_policy = "DISALLOWED";
  uint32_t files_per_run = 1024;
};

struct hypervisor_task : task_schedule {
  double age_in_days = 7;  // transfers older than this are reconciled with the peer
};

struct create_local_clone_task : task_schedule {
  double age_in_days = 0;
  std::string clone_from;
  std::vector<std::string> clone_to;
  uint32_t files_per_run = 1024;
  bool disable_store_on_full = false;
};

struct rolling_deletion_task : task_schedule {
  std::string store_name;
  double age_in_days = 30;  // only instances older than this are deleted
  uint32_t number_of_remote_copies = 3;
  bool verify_downstream_checksums = true;
  bool mark_unavailable = true;
  bool force_deletion = true;  // delete even instances whose deletion policy is DISALLOWED
};

struct background_config {
  std::vector<send_clone_task> send_clone;
  std::vector<consume_queue_task> consume_queue;
  std::vector<check_consumed_queue_task> check_consumed_queue;
  std::vector<recv_clone_task> recv_clone;
  std::vector<hypervisor_task> outgoing_transfer_hypervisor;
  std::vector<hypervisor_task> incoming_transfer_hypervisor;
  std::vector<task_schedule> duplicate_remote_instance_hypervisor;
  std::vector<create_local_clone_task> create_local_clone;
  std::vector<rolling_deletion_task> rolling_deletion;
  std::vector<task_schedule> corruption_fixer;
  [[nodiscard]] bool any() const;
};

// The replication pipeline's knobs (RFT: retries, limits; docs/replication.md).
struct replication_config {
  uint32_t max_async_inflight_transfers = 64;  // active batches (Globus allows 100 tasks)
  uint32_t max_batches_per_peer = 16;          // active batches to one peer
  uint32_t max_async_send_retries = 8;         // retryable failures before a batch fails
  int64_t retry_backoff_min_ms = 1000;         // doubled per retry, with jitter, up to max
  int64_t retry_backoff_max_ms = 300000;
  int64_t peer_reply_timeout_ms = 30000;  // an unanswered request to a peer is sent again
  int64_t stall_timeout_ms = 1800000;     // a mover task with no progress this long is cancelled
  uint32_t native_streams = 4;            // parallel streams per file on the native mover
  uint32_t movers_threads = 4;            // batches moved at once by the native/local movers
  // The gridftp mover: the GridFTP server that serves this node's stores ("" = its own), and a
  // file with one line "user:password" used to log in to both servers ("" = anonymous).
  std::string gridftp_source_url;
  std::string gridftp_credentials_file;
};

// The node's RocksDB. The block cache holds uncompressed blocks of every table; catalog queries
// that touch more index and value blocks than it holds reread and decompress them from the OS
// page cache each time (docs/benchmarks.md, Metadata Catalog).
struct storage_config {
  uint64_t block_cache_mb = 256;
};

// The Metadata Catalog Service (issue 8): on unless a node turns it off.
struct mcs_config {
  bool enabled = true;
  // Memory for the catalog's in-memory object cache (what a query needs of each match); 0: none.
  uint64_t object_cache_mb = 256;
};

struct node_config {
  std::string name;
  std::string data_dir;
  std::string log_level = "info";
  std::optional<uint64_t> seed;  // absent: drawn at start-up and logged
  listen_config listen;
  std::vector<peer_config> peers;
  cluster_config cluster;
  actors_config actors;
  http_config http;
  auth_config auth;
  supervisor_config supervisor;
  rls_config rls;
  data_config data;
  gridftp_config gridftp;
  std::vector<store_entry_config> stores;
  librarian_section_config librarian;
  background_config background;
  replication_config replication;
  mcs_config mcs;
  storage_config storage;
  std::string source;  // the file it came from, for messages
};

[[nodiscard]] expected<node_config> load_node_config(const std::string& path);
[[nodiscard]] expected<node_config> parse_node_config(const std::string& json_text,
                                                      const std::string& source);

// Node and peer names: [A-Za-z0-9][A-Za-z0-9._-]{0,63}.
[[nodiscard]] bool valid_node_name(std::string_view name);

// A duration in a config file: "HH:MM:SS[.fff]" or "D day(s), HH:MM:SS" (the reference's
// timedelta spelling), "250ms", "30s", "5m", "2h", "1d", or a number of seconds. Milliseconds.
[[nodiscard]] std::optional<int64_t> parse_duration_ms(std::string_view text);

}  // namespace librarian
