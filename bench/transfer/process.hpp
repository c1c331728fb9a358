// Child processes for the benchmarks: run one to completion with a deadline and report its wall
// time and CPU (from wait4's rusage), or keep a server running until stopped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace librarian::bench {

struct run_result {
  int exit_code = -1;  // -1: killed at the deadline or could not start
  double wall_s = 0;
  double cpu_s = 0;  // user + system of the child (and its waited-for children)
  std::string out;   // stdout
};

[[nodiscard]] run_result run_process(const std::vector<std::string>& argv,
                                     std::chrono::seconds deadline,
                                     const std::map<std::string, std::string>& env = {});

class server_process {
 public:
  // Starts argv with stdout/stderr to log_path.
  server_process(const std::vector<std::string>& argv, const std::string& log_path);
  ~server_process();
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] bool alive() const;
  // CPU seconds used so far (from /proc/PID/stat).
  [[nodiscard]] double cpu_seconds() const;
  void stop();

 private:
  pid_t pid_ = -1;
};

// Median of a non-empty list.
[[nodiscard]] double median(std::vector<double> values);

}  // namespace librarian::bench
