// The mover interface (DESIGN.md §4.4, §7): how the replicator moves one batch of files from this
// node to a peer's staging area. Every backend -- native (the parallel-stream data channel), local
// (same host), gridftp (third party), globus (the Transfer REST API), sim (the simulator's) --
// is an asynchronous transfer manager in the Globus mould: submit a batch under an idempotent
// submission id, poll its task, cancel it. No CAF here: the replicator calls a mover on its worker
// thread (submit and poll may block on the network), and a simulated mover answers at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/expected.hpp"

namespace librarian::transfer {

// One file of a batch.
struct mover_file {
  std::string source_path;  // absolute, on this node
  // Where it goes. native: relative to the batch's tree root at the destination; local, gridftp
  // and globus: the absolute staging path on the destination (same-absolute-path rule, after the
  // mover's root mapping).
  std::string dest_path;
  uint64_t size = 0;
  std::string checksum;  // "xxh3:::HEX" (or md5/adler32): what the destination must end up with
  std::string ticket;    // native: a file's own ticket (files too large for the tree ticket)
};

// One send-queue item: one task on the mover.
struct mover_batch {
  uint64_t batch_id = 0;
  // Idempotency: submitting the same submission id twice never starts a second task (Globus's
  // submission_id; the other movers keep the same promise).
  std::string submission_id;
  std::string destination;  // the peer librarian's name
  // native: the peer's data endpoint and a tree ticket rooted at the batch's staging directory.
  std::string host;
  uint16_t port = 0;
  std::string tree_ticket;
  // globus: the destination store's endpoint id (stores[].destination_endpoint at the peer).
  std::string destination_endpoint;
  std::vector<mover_file> files;
};

enum class task_state : uint8_t {
  active,     // still moving
  succeeded,  // every file arrived and verified
  failed,     // over; `failure` says why and whether another attempt may help
  unknown,    // the mover has no such task (e.g. a native task lost in a restart): resubmit
};

struct task_status {
  task_state state = task_state::active;
  uint64_t bytes_done = 0;
  uint64_t files_done = 0;
  uint64_t files_total = 0;
  std::optional<error> failure;  // when failed
  // FTS3's classification: the network's fault (retry) or not (a full store, a checksum
  // mismatch at the source, no permission, bad credentials: fail the batch).
  bool retryable = false;
  // Indexes into mover_batch::files of the files that failed (empty: the whole batch).
  std::vector<uint32_t> failed_files;
};

class async_mover {
 public:
  virtual ~async_mover() = default;
  // "native", "local", "gridftp", "globus", "sim".
  [[nodiscard]] virtual std::string name() const = 0;
  // Starts the batch; returns the mover's task id. Resubmitting a submission id that already has
  // a task returns that task's id.
  [[nodiscard]] virtual expected<std::string> submit(const mover_batch& batch) = 0;
  [[nodiscard]] virtual expected<task_status> poll(const std::string& task_id) = 0;
  // Best effort: a task that already finished is not an error.
  [[nodiscard]] virtual status cancel(const std::string& task_id) = 0;
};

}  // namespace librarian::transfer
