// storage_crash_test WRITER: runs storage_crash_writer three times, SIGKILLs it while it commits,
// reopens its DB and checks that every key it acknowledged is there with its index row.
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "storage/db.hpp"
#include "tests/integration/storage_crash/crash_layout.hpp"

extern char** environ;

using namespace librarian;
using namespace librarian::storage;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr auto kill_after = std::chrono::milliseconds{1500};
constexpr auto first_ack_wait_max = std::chrono::seconds{10};
constexpr int runs = 3;

struct child {
  pid_t pid = -1;
  int stdout_fd = -1;
};

child spawn_writer(const std::string& writer, const std::string& dir) {
  int fds[2];
  if (::pipe(fds) != 0) {
    std::perror("pipe");
    std::exit(1);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  std::vector<char*> argv{const_cast<char*>(writer.c_str()), const_cast<char*>(dir.c_str()),
                          nullptr};
  child c;
  int rc = ::posix_spawn(&c.pid, writer.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    std::fprintf(stderr, "posix_spawn %s: %s\n", writer.c_str(), std::strerror(rc));
    std::exit(1);
  }
  c.stdout_fd = fds[0];
  return c;
}

// Reads until the deadline (or EOF); returns false on EOF.
bool read_until(int fd, std::string& out, clock_type::time_point deadline) {
  char buf[65536];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0) return true;
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready <= 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    out.append(buf, static_cast<size_t>(n));
  }
}

std::vector<std::string> acked_keys(const std::string& output) {
  std::vector<std::string> keys;
  size_t pos = 0;
  // Only complete lines count: the kill may cut the last one short.
  for (size_t nl; (nl = output.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    std::string_view line{output.data() + pos, nl - pos};
    if (line.starts_with("ack ")) keys.emplace_back(line.substr(4));
  }
  return keys;
}

// Returns how many acknowledged keys were verified, or -1 on failure.
long run_once(const std::string& writer, const std::string& dir) {
  auto c = spawn_writer(writer, dir);
  std::string output;
  const auto start = clock_type::now();
  bool open = read_until(c.stdout_fd, output, start + kill_after);
  // A slow machine may need longer for the first commit; wait for one ack, bounded.
  while (open && acked_keys(output).empty() && clock_type::now() < start + first_ack_wait_max)
    open = read_until(c.stdout_fd, output, clock_type::now() + std::chrono::milliseconds{100});
  ::kill(c.pid, SIGKILL);
  int wstatus = 0;
  ::waitpid(c.pid, &wstatus, 0);
  const bool killed = WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL;
  // Lines already in the pipe were printed by done callbacks before the kill: they count too.
  while (read_until(c.stdout_fd, output, clock_type::now() + std::chrono::seconds{5})) {
  }
  ::close(c.stdout_fd);

  auto keys = acked_keys(output);
  if (keys.empty()) {
    std::fprintf(stderr, "the writer acknowledged nothing before it was killed\n");
    return -1;
  }
  open_options options;
  options.path = dir + "/db";
  options.tables = crash::tables;
  options.create_if_missing = false;
  auto d = db::open(options);
  if (!d) {
    std::fprintf(stderr, "reopen failed: %s\n", d.err().describe().c_str());
    return -1;
  }
  auto records = (*d)->get_table("records");
  auto index = (*d)->get_table("index");
  for (auto& key : keys) {
    auto record = (*d)->get(records, key);
    auto row = (*d)->get(index, crash::index_key(key));
    if (!record || !record->has_value() || !row || !row->has_value()) {
      std::fprintf(stderr, "acknowledged key %s is missing after the crash\n", key.c_str());
      return -1;
    }
  }
  auto total = (*d)->int_property("rocksdb.estimate-num-keys");
  std::printf("run verified %zu acknowledged keys (db holds ~%llu keys; writer %s)\n", keys.size(),
              static_cast<unsigned long long>(total.value_or(0)),
              killed ? "killed mid-run" : "had already exited");
  return static_cast<long>(keys.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: storage_crash_test PATH_TO_storage_crash_writer\n");
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  std::string pattern = (std::filesystem::temp_directory_path() / "storage_crash.XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  int failures = 0;
  for (int run = 0; run < runs; ++run) {
    // A fresh DB per run, so keys a previous run wrote cannot mask a lost acknowledgement.
    if (run_once(argv[1], pattern + "/run" + std::to_string(run)) < 0) ++failures;
  }
  std::filesystem::remove_all(pattern);
  std::printf("%s\n", failures == 0 ? "storage_crash: ok" : "storage_crash: FAILED");
  return failures == 0 ? 0 : 1;
}
