// Commit before announce: actors hand batches to a committer and send the messages that announce
// the new state only from the completion callback, after the batch is durable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "storage/db.hpp"

namespace librarian::storage {

// Counters for /metrics; monotonic since the committer was made.
struct committer_stats {
  uint64_t batches = 0;         // batches committed (done called with ok)
  uint64_t failed_batches = 0;  // batches whose done got an error (write failed or after stop)
  uint64_t commits = 0;         // db writes performed
  uint64_t synced_groups = 0;   // WAL syncs, one per commit here
  uint64_t bytes = 0;           // batch bytes written
  uint64_t largest_group_batches = 0;
};

class committer {
 public:
  using done_fn = std::function<void(status)>;
  virtual ~committer() = default;
  // Thread-safe. done is called exactly once: with ok once the batch is durable, or with the error.
  virtual void submit(batch b, done_fn done) = 0;
  // Finishes the queued work, then refuses new batches (their done gets errc::unavailable).
  virtual void stop() = 0;
  [[nodiscard]] virtual committer_stats stats() const = 0;
};

// Production: one background thread. Group commit: take everything queued (at most max_batches
// and about max_bytes), write it as ONE WriteBatch with one WAL sync, then call every done in
// submission order. done runs on the committer thread: keep it short (send a message).
// The db must outlive the committer; destroying the committer stops it.
[[nodiscard]] std::unique_ptr<committer> make_group_committer(db& d, size_t max_batches = 1024,
                                                              size_t max_bytes = 8u << 20);

// Simulation and tests: writes synchronously in submit() with durability::sync and calls done
// before returning, so a single-threaded simulation stays deterministic.
[[nodiscard]] std::unique_ptr<committer> make_inline_committer(db& d);

}  // namespace librarian::storage
