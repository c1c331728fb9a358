// One librarian-node child of a benchmark suite. It dies with this process (PR_SET_PDEATHSIG,
// so an interrupted benchmark leaves no node behind) and is stopped by the destructor on every
// other exit path; its peak RSS and CPU time are read from /proc while it runs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace librarian::bench {

// A /proc/PID/status field in KiB ("VmHWM:", "VmRSS:"); 0 if unreadable.
[[nodiscard]] uint64_t status_kib(pid_t pid, std::string_view field);
// User + system CPU seconds of a process so far (/proc/PID/stat); 0 if unreadable.
[[nodiscard]] double process_cpu_seconds(pid_t pid);
// User + system CPU seconds of this process, all threads: a load generator's own cost.
[[nodiscard]] double own_cpu_seconds();

// One unlabelled sample of a node's /metrics text; nullopt if it is not there.
[[nodiscard]] std::optional<double> metric_sample(const std::string& text, const std::string& name);

// Polls fetch() -- a node's /metrics text -- every `every` until the node owes RocksDB no
// background work (no compaction pending or running, no flush running) on `polls` polls in a row,
// at most max_s: writes leave that work behind, and it would compete with the next phase for the
// 2 cores (PostgreSQL's sides query after their VACUUM ANALYZE). A text without the gauges (an
// unreadable endpoint) ends the wait unsettled.
struct settle_result {
  double seconds = 0;
  bool settled = false;
};
[[nodiscard]] settle_result wait_for_quiet_db(const std::function<std::string()>& fetch,
                                              double max_s, std::chrono::milliseconds every,
                                              int polls);

class node_process {
 public:
  // Starts argv in its own process group with stdout and stderr to log_path.
  node_process(const std::vector<std::string>& argv, const std::string& log_path);
  ~node_process();
  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  // Reaps the child if it has exited.
  [[nodiscard]] bool alive();
  // user + system seconds so far (/proc/PID/stat).
  [[nodiscard]] double cpu_seconds() const;
  // VmHWM in KiB: the largest resident set since start or since the last reset_rss_peak().
  [[nodiscard]] uint64_t rss_peak_kib() const;
  // VmRSS in KiB: the resident set now.
  [[nodiscard]] uint64_t rss_kib() const;
  // Writes 5 to /proc/PID/clear_refs, which restarts VmHWM from the current RSS; false if the
  // kernel refused (then rss_peak_kib covers the whole life of the process).
  [[nodiscard]] bool reset_rss_peak() const;
  // SIGTERM to the group, SIGKILL after stop_grace; always reaps.
  void stop();

 private:
  pid_t pid_ = -1;
};

}  // namespace librarian::bench
