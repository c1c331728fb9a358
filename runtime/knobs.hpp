// Knobs: internal tunables that are not user configuration (intervals, bounds, batch sizes).
// Production uses the defaults; the simulator draws them at extreme values from its seed
// (FoundationDB's randomized knobs) so rare interleavings happen.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "runtime/random.hpp"

namespace librarian {

struct knobs {
  // How often the node polls its actors' mailbox depths for /metrics.
  std::chrono::milliseconds depth_poll_interval{5000};
  // An actor that stayed up this long restarts with the minimum backoff again.
  std::chrono::milliseconds restart_window{60000};
  // Group commit: at most this many batches / bytes per synced write.
  size_t commit_group_batches_max = 1024;
  size_t commit_group_bytes_max = size_t{8} << 20;
  // Rows read per page when an actor loads a table at start-up.
  size_t load_page_rows = 1000;

  [[nodiscard]] static knobs defaults() { return {}; }
  // Each knob at its default, its smallest sane value or its largest, drawn from `r`.
  [[nodiscard]] static knobs randomized(rng& r);
  // "name=value ..." for the simulator's fault-profile line.
  [[nodiscard]] std::string describe() const;
};

}  // namespace librarian
