// The node's configuration: one JSON file (`librarian-node --config FILE`), read strictly.
// Every key and its default is documented in docs/configuration.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
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

// One RLI this node's LRC keeps informed (soft state: the full LFN list every interval).
struct rli_target_config {
  std::string name;                   // this node or a configured peer that runs an RLI
  int64_t interval_ms = 30000;        // how often the full list is sent
  std::vector<std::string> patterns;  // only LFNs matching one of these globs (empty: all)
  uint32_t chunk_lfns = 1000;         // LFNs per update message
};

struct rls_config {
  bool rli = false;                   // this node runs a Replica Location Index
  int64_t staleness_permille = 1200;  // an LRC's state expires after 1.2 x its interval
  std::vector<rli_target_config> update_rlis;
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
};

// The Metadata Catalog Service (issue 8): on unless a node turns it off.
struct mcs_config {
  bool enabled = true;
};

struct node_config {
  std::string name;
  std::string data_dir;
  std::string log_level = "info";
  std::optional<uint64_t> seed;  // absent: drawn at start-up and logged
  listen_config listen;
  std::vector<peer_config> peers;
  cluster_config cluster;
  http_config http;
  auth_config auth;
  supervisor_config supervisor;
  rls_config rls;
  data_config data;
  gridftp_config gridftp;
  std::vector<store_entry_config> stores;
  librarian_section_config librarian;
  mcs_config mcs;
  std::string source;  // the file it came from, for messages
};

[[nodiscard]] expected<node_config> load_node_config(const std::string& path);
[[nodiscard]] expected<node_config> parse_node_config(const std::string& json_text,
                                                      const std::string& source);

// Node and peer names: [A-Za-z0-9][A-Za-z0-9._-]{0,63}.
[[nodiscard]] bool valid_node_name(std::string_view name);

}  // namespace librarian
