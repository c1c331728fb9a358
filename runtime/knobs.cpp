#include "runtime/knobs.hpp"

namespace librarian {
namespace {

template <class T>
T pick(rng& r, T low, T normal, T high) {
  switch (r.uniform(0, 2)) {
    case 0:
      return low;
    case 1:
      return normal;
    default:
      return high;
  }
}

}  // namespace

knobs knobs::randomized(rng& r) {
  using std::chrono::milliseconds;
  knobs k;
  // The short extreme is 50x the default's rate, so polls still cross restarts and shutdowns
  // often; at 10 ms a 5-node world spent ~90 % of its time answering them (a seed ran at 80
  // simulated seconds per second instead of ~900) without reaching any path 100 ms does not.
  k.depth_poll_interval = pick(r, milliseconds{100}, k.depth_poll_interval, milliseconds{600000});
  k.restart_window = pick(r, milliseconds{1}, k.restart_window, milliseconds{3600000});
  k.commit_group_batches_max = pick<size_t>(r, 1, k.commit_group_batches_max, 100000);
  k.commit_group_bytes_max = pick<size_t>(r, 1, k.commit_group_bytes_max, size_t{1} << 30);
  k.load_page_rows = pick<size_t>(r, 1, k.load_page_rows, 100000);
  return k;
}

std::string knobs::describe() const {
  return "depth_poll_interval_ms=" + std::to_string(depth_poll_interval.count()) +
         " restart_window_ms=" + std::to_string(restart_window.count()) +
         " commit_group_batches_max=" + std::to_string(commit_group_batches_max) +
         " commit_group_bytes_max=" + std::to_string(commit_group_bytes_max) +
         " load_page_rows=" + std::to_string(load_page_rows);
}

}  // namespace librarian
