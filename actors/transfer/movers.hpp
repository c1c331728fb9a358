// The movers that run here (no CAF): native (the parallel-stream data channel, net/data) and
// local (same host: a verified copy into the peer's staging path). Each task runs on its own
// detached thread holding only shared state, so a node that shuts down mid-batch never waits for
// a transfer; the replicator resubmits what a restart lost (poll answers `unknown`).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "actors/transfer/mover.hpp"

namespace librarian::transfer {

struct native_mover_options {
  unsigned streams = 4;  // parallel streams per large file
  int64_t stall_timeout_ms = 120000;
};

[[nodiscard]] std::shared_ptr<async_mover> make_native_mover(native_mover_options options);
[[nodiscard]] std::shared_ptr<async_mover> make_local_mover();

struct gridftp_mover_options {
  std::string source_url;  // ftp://host:port of the server that serves this node's stores
  std::string user;        // "" = anonymous; else used to log in to both servers
  std::string password;
  unsigned streams = 4;
  int64_t stall_timeout_ms = 120000;
};
// Third-party GridFTP between the source server and the peer's (the batch's destination
// endpoint, from its stage answer). Refuses an empty source_url.
[[nodiscard]] expected<std::shared_ptr<async_mover>> make_gridftp_mover(
    gridftp_mover_options options);
// USER:PASSWORD from the one-line file named by replication.gridftp_credentials_file.
[[nodiscard]] expected<std::pair<std::string, std::string>> read_gridftp_credentials(
    const std::string& path);

// Copies f.source_path to f.dest_path (absolute; its directory must exist) through
// dest.librarian-part, hashing as it reads, syncs, and renames only if the size and checksum
// match f. Blocking. Errors: checksum_mismatch (the source is not what the catalog says),
// storage_full, not_found, forbidden, internal.
[[nodiscard]] status copy_verified(const mover_file& f, std::atomic<uint64_t>& bytes_done);

// Test hook for the local and native movers: LIBRARIAN_FAULT_MOVER_DELAY_MS=N sleeps N ms before
// each file (so a test can kill a node while batches are in flight). Read once per process.
[[nodiscard]] int64_t mover_fault_delay_ms();

}  // namespace librarian::transfer

namespace librarian {
struct node_config;
}

namespace librarian::transfer {

// The Globus Transfer mover from the node's librarian.globus_* keys (net/globus). Errors name the
// key to fix; librarian-node calls it at start-up when globus_enable is true, so missing or
// unreadable credentials stop the node with a clear message instead of failing the first batch.
[[nodiscard]] expected<std::shared_ptr<async_mover>> make_globus_mover(const node_config& cfg);

}  // namespace librarian::transfer
