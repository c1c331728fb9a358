// fork/exec with PR_SET_PDEATHSIG; /proc readers for CPU and peak RSS.
#include "bench/common/node_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>

namespace librarian::bench {
namespace {

// A node flushes its database and closes its ports on SIGTERM; a few seconds is plenty.
constexpr auto stop_grace = std::chrono::seconds(10);
constexpr auto stop_poll = std::chrono::milliseconds(20);

std::string proc_file(pid_t pid, const char* name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + name);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

uint64_t status_kib(pid_t pid, std::string_view field) {
  if (pid <= 0) return 0;
  std::istringstream lines(proc_file(pid, "status"));
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with(field)) return std::stoull(line.substr(field.size()));
  return 0;
}

node_process::node_process(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ != 0) return;
  // The child: from here on only async-signal-safe calls until exec.
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(126);  // the parent died before prctl took effect
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log >= 0) {
    ::dup2(log, 1);
    ::dup2(log, 2);
  }
  ::execv(args[0], args.data());
  ::_exit(127);
}

node_process::~node_process() {
  stop();
}

bool node_process::alive() {
  if (pid_ <= 0) return false;
  if (::waitpid(pid_, nullptr, WNOHANG) == 0) return true;
  pid_ = -1;  // exited (and now reaped): stop() must not signal a reused process group
  return false;
}

double process_cpu_seconds(pid_t pid) {
  if (pid <= 0) return 0;
  auto text = proc_file(pid, "stat");
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  // Fields after "(comm)" start at field 3; utime and stime are fields 14 and 15.
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i)
    if (i == 14 || i == 15) ticks += std::stod(f);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double own_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return secs(usage.ru_utime) + secs(usage.ru_stime);
}

std::optional<double> metric_sample(const std::string& text, const std::string& name) {
  std::istringstream lines{text};
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with(name + " ")) return std::stod(line.substr(name.size() + 1));
  return std::nullopt;
}

settle_result wait_for_quiet_db(const std::function<std::string()>& fetch, double max_s,
                                std::chrono::milliseconds every, int polls) {
  const auto t0 = std::chrono::steady_clock::now();
  auto waited = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  int quiet_polls = 0;  // a compaction can start a moment after the flush that calls for it
  while (waited() < max_s) {
    auto text = fetch();  // one request per poll for all three gauges
    bool quiet = true;
    for (const char* gauge :
         {"librarian_rocksdb_pending_compaction_bytes", "librarian_rocksdb_running_compactions",
          "librarian_rocksdb_running_flushes"}) {
      auto value = metric_sample(text, gauge);
      if (!value) return {waited(), false};
      quiet = quiet && *value == 0.0;
    }
    quiet_polls = quiet ? quiet_polls + 1 : 0;
    if (quiet_polls == polls) return {waited(), true};
    std::this_thread::sleep_for(every);
  }
  return {waited(), false};
}

double node_process::cpu_seconds() const {
  return process_cpu_seconds(pid_);
}

uint64_t node_process::rss_peak_kib() const {
  return status_kib(pid_, "VmHWM:");
}

uint64_t node_process::rss_kib() const {
  return status_kib(pid_, "VmRSS:");
}

bool node_process::reset_rss_peak() const {
  if (pid_ <= 0) return false;
  std::ofstream out("/proc/" + std::to_string(pid_) + "/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

void node_process::stop() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + stop_grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(stop_poll);
  }
  ::kill(-pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

}  // namespace librarian::bench
