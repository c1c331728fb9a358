// The globus mover end to end against the stand-in for the Globus API, run as a separate process
// on 127.0.0.1. Every wait is bounded: the stand-in must be ready within 10 s, a task must settle
// within 30 s, and the stand-in must exit within 5 s of SIGTERM (then it is killed).
#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "net/data/checksum.hpp"
#include "net/globus/globus_mover.hpp"

extern char** environ;

using namespace librarian;
using namespace librarian::globus;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;
using nlohmann::json;

namespace {

constexpr auto ready_wait_max = 10s;
constexpr auto settle_wait_max = 30s;
constexpr auto poll_interval = 20ms;
constexpr const char* client_id = "librarian-test-app";
constexpr const char* client_secret = "correct-horse-battery";

// The stand-in as a child process: its stdout is a pipe we read the ready line from; its stdin
// is a pipe we hold, so it exits (--exit-on-stdin-eof) even if this test dies.
class standin_process {
 public:
  explicit standin_process(std::vector<std::string> extra) {
    int out[2], in[2];
    REQUIRE(::pipe(out) == 0);
    REQUIRE(::pipe(in) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    for (int fd : {out[0], out[1], in[0], in[1]}) posix_spawn_file_actions_addclose(&actions, fd);
    std::vector<std::string> args{GLOBUS_STANDIN_BIN, "--exit-on-stdin-eof", "--client",
                                  std::string{client_id} + ":" + client_secret};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = ::posix_spawn(&pid_, GLOBUS_STANDIN_BIN, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    ::close(in[0]);
    stdout_ = out[0];
    stdin_ = in[1];
    REQUIRE(rc == 0);
    read_ready_line();
  }
  ~standin_process() { stop(); }
  standin_process(const standin_process&) = delete;
  standin_process& operator=(const standin_process&) = delete;

  [[nodiscard]] uint16_t port() const { return port_; }
  [[nodiscard]] std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    auto deadline = steady::now() + 5s;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (steady::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    pid_ = -1;
    ::close(stdout_);
    ::close(stdin_);
  }

  // GET /standin/stats: what the stand-in did.
  [[nodiscard]] json stats() const {
    http_call call;
    call.method = "GET";
    call.server = *parse_base_url(base());
    call.target = "/standin/stats";
    call.timeout = 5s;
    auto reply = beast_transport(call);
    REQUIRE(reply);
    REQUIRE(reply->status == 200);
    return json::parse(reply->body);
  }

 private:
  void read_ready_line() {
    std::string line;
    auto deadline = steady::now() + ready_wait_max;
    while (line.find('\n') == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
      REQUIRE_MESSAGE(left.count() > 0, "the stand-in did not print its ready line in time");
      pollfd p{stdout_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[512];
      ssize_t n = ::read(stdout_, buffer, sizeof buffer);
      REQUIRE_MESSAGE(n > 0, "the stand-in exited before it was ready");
      line.append(buffer, static_cast<size_t>(n));
    }
    auto ready = json::parse(line.substr(0, line.find('\n')));
    REQUIRE(ready["ready"] == true);
    port_ = ready["port"].get<uint16_t>();
    REQUIRE(port_ != 0);
  }

  pid_t pid_ = -1;
  int stdout_ = -1;
  int stdin_ = -1;
  uint16_t port_ = 0;
};

// A source tree and a destination tree under one private temporary directory.
struct sandbox {
  fs::path root, source, destination;
  sandbox() {
    static int counter = 0;
    root = fs::temp_directory_path() /
           ("integration_globus_" + std::to_string(::getpid()) + "_" + std::to_string(++counter));
    source = root / "site-a" / "store";
    destination = root / "site-b" / "globus";
    fs::create_directories(source);
    fs::create_directories(destination);
  }
  ~sandbox() {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
  // Writes `size` pseudo-random bytes; returns the path.
  [[nodiscard]] std::string make_file(const std::string& name, size_t size, unsigned seed) const {
    std::mt19937 random(seed);
    std::string bytes(size, '\0');
    for (auto& b : bytes) b = static_cast<char>(random() & 0xff);
    auto path = source / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
    return path.string();
  }
  [[nodiscard]] std::vector<std::string> endpoint_args() const {
    return {"--endpoint", "site-a=" + source.string(), "--endpoint",
            "site-b=" + destination.string()};
  }
};

std::string checksum_of(const std::string& path, data::checksum_alg alg) {
  auto hex = data::checksum_file(path, alg);
  REQUIRE(hex);
  return data::format_checksum(alg, *hex);
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

globus_settings settings_for(const standin_process& standin, const sandbox& box) {
  globus_settings s;
  s.auth_url = standin.base();
  s.transfer_url = standin.base() + "/v0.10";
  s.client_id = client_id;
  s.secret = client_secret;
  s.local_endpoint_id = "site-a";
  s.local_root = box.source.string();  // site-a's endpoint sees the store as its "/"
  s.timeout = 5s;
  return s;
}

std::unique_ptr<globus_mover> mover_for(const globus_settings& settings) {
  auto mover = globus_mover::create(settings);
  REQUIRE(mover);
  return std::move(*mover);
}

std::string new_submission_id(unsigned n) {
  char text[40];
  std::snprintf(text, sizeof text, "%08x-0000-4000-8000-%012x", n, n);
  return text;
}

// A batch of the given source files into /staging/<name> at site-b.
transfer::mover_batch batch_of(const std::vector<std::string>& sources, unsigned id) {
  transfer::mover_batch batch;
  batch.batch_id = id;
  batch.submission_id = new_submission_id(id);
  batch.destination = "site-b";
  batch.destination_endpoint = "site-b";
  for (const auto& source : sources) {
    transfer::mover_file file;
    file.source_path = source;
    file.dest_path = "/staging/" + fs::path(source).filename().string();
    file.size = fs::file_size(source);
    file.checksum = checksum_of(source, data::checksum_alg::md5);
    batch.files.push_back(std::move(file));
  }
  return batch;
}

// Polls until the task leaves `active` or the bounded wait ends.
transfer::task_status settle(globus_mover& mover, const std::string& task) {
  auto deadline = steady::now() + settle_wait_max;
  for (;;) {
    auto status = mover.poll(task);
    REQUIRE(status);
    if (status->state != transfer::task_state::active) return *status;
    REQUIRE_MESSAGE(steady::now() < deadline, "the task did not settle in time");
    std::this_thread::sleep_for(poll_interval);
  }
}

}  // namespace

TEST_CASE("a batch arrives byte for byte, and resubmitting its submission id copies nothing") {
  sandbox box;
  standin_process standin(box.endpoint_args());
  auto mover = mover_for(settings_for(standin, box));
  std::vector<std::string> sources{box.make_file("empty.dat", 0, 1), box.make_file("one.dat", 1, 2),
                                   box.make_file("2459000/big.uvh5", 3 << 20, 3)};
  auto batch = batch_of(sources, 1);
  batch.files[1].checksum = checksum_of(sources[1], data::checksum_alg::adler32);
  batch.files[2].checksum = checksum_of(sources[2], data::checksum_alg::xxh3);
  auto task = mover->submit(batch);
  REQUIRE(task);
  auto status = settle(*mover, *task);
  CHECK(status.state == transfer::task_state::succeeded);
  CHECK(status.files_total == 3);
  CHECK(status.bytes_done == (3u << 20) + 1);
  for (const auto& source : sources)
    CHECK(read_all(box.destination / "staging" / fs::path(source).filename()) == read_all(source));

  auto again = mover->submit(batch);
  REQUIRE(again);
  CHECK(*again == *task);
  auto stats = standin.stats();
  CHECK(stats["tasks_created"] == 1);
  CHECK(stats["duplicate_submissions"] == 1);
  CHECK(stats["files_copied"] == 3);
}

TEST_CASE("with ROOT=/ an endpoint sees this machine's absolute paths") {
  sandbox box;
  standin_process standin(
      {"--endpoint", "site-a=/", "--endpoint", "site-b=" + box.destination.string()});
  auto settings = settings_for(standin, box);
  settings.local_root.clear();  // the same-absolute-path rule
  auto mover = mover_for(settings);
  auto batch = batch_of({box.make_file("abs.dat", 4096, 4)}, 2);
  auto task = mover->submit(batch);
  REQUIRE(task);
  CHECK(settle(*mover, *task).state == transfer::task_state::succeeded);
  CHECK(read_all(box.destination / "staging" / "abs.dat") == read_all(box.source / "abs.dat"));
}

TEST_CASE("a revoked token is replaced transparently, an expiring one before it expires") {
  sandbox box;
  SUBCASE("revoked early: Transfer answers 401, the client gets a new token and retries") {
    standin_process standin([&] {
      auto args = box.endpoint_args();
      args.insert(args.end(), {"--revoke-tokens-after-s", "1"});
      return args;
    }());
    auto mover = mover_for(settings_for(standin, box));
    auto task = mover->submit(batch_of({box.make_file("r.dat", 100, 5)}, 3));
    REQUIRE(task);
    std::this_thread::sleep_for(1200ms);  // past the revocation
    CHECK(settle(*mover, *task).state == transfer::task_state::succeeded);
    CHECK(mover->client().tokens_obtained() == 2);
    CHECK(standin.stats()["unauthorized_requests"].get<int>() >= 1);
  }
  SUBCASE("expiring: the client renews ahead of expires_in, Transfer never refuses") {
    standin_process standin([&] {
      auto args = box.endpoint_args();
      args.insert(args.end(), {"--token-ttl-s", "1"});
      return args;
    }());
    auto mover = mover_for(settings_for(standin, box));
    auto task = mover->submit(batch_of({box.make_file("e.dat", 100, 6)}, 4));
    REQUIRE(task);
    std::this_thread::sleep_for(1200ms);  // past expires_in
    CHECK(settle(*mover, *task).state == transfer::task_state::succeeded);
    CHECK(mover->client().tokens_obtained() == 2);
    CHECK(standin.stats()["unauthorized_requests"] == 0);
  }
}

TEST_CASE("a QUOTA_EXCEEDED task is FAILED and not retryable, and leaves no file") {
  sandbox box;
  auto args = box.endpoint_args();
  args.insert(args.end(), {"--fail-next-task", "QUOTA_EXCEEDED"});
  standin_process standin(args);
  auto mover = mover_for(settings_for(standin, box));
  auto task = mover->submit(batch_of({box.make_file("q.dat", 1000, 7)}, 5));
  REQUIRE(task);
  auto status = settle(*mover, *task);
  CHECK(status.state == transfer::task_state::failed);
  CHECK_FALSE(status.retryable);
  REQUIRE(status.failure);
  CHECK(status.failure->code == errc::storage_full);
  CHECK(status.failure->message.find("QUOTA_EXCEEDED") != std::string::npos);
  CHECK_FALSE(fs::exists(box.destination / "staging" / "q.dat"));
}

TEST_CASE("a transient fault reads as a retryable failure, and the mover cancels the task") {
  sandbox box;
  auto args = box.endpoint_args();
  args.insert(args.end(), {"--fail-next-task", "CONNECTION_RESET"});
  standin_process standin(args);
  auto mover = mover_for(settings_for(standin, box));
  auto task = mover->submit(batch_of({box.make_file("t.dat", 1000, 8)}, 6));
  REQUIRE(task);
  auto status = settle(*mover, *task);
  CHECK(status.state == transfer::task_state::failed);
  CHECK(status.retryable);
  CHECK(status.failure->message.find("CONNECTION_RESET") != std::string::npos);
  auto client = globus_client::create(settings_for(standin, box));
  REQUIRE(client);
  auto doc = client->task(*task);
  REQUIRE(doc);
  CHECK(doc->status == "FAILED");
  REQUIRE(doc->fatal);
  CHECK(doc->fatal->code == "CANCELED");
}

TEST_CASE("a file whose bytes do not match its checksum fails the task for good") {
  sandbox box;
  standin_process standin(box.endpoint_args());
  auto mover = mover_for(settings_for(standin, box));
  auto batch = batch_of({box.make_file("bad.dat", 5000, 9)}, 7);
  batch.files[0].checksum = "md5:::00000000000000000000000000000000";
  auto task = mover->submit(batch);
  REQUIRE(task);
  auto status = settle(*mover, *task);
  CHECK(status.state == transfer::task_state::failed);
  CHECK_FALSE(status.retryable);
  CHECK(status.failure->code == errc::checksum_mismatch);
  CHECK_FALSE(fs::exists(box.destination / "staging" / "bad.dat"));
}

TEST_CASE("cancel stops a slow task; no file and no temporary file is left") {
  sandbox box;
  auto args = box.endpoint_args();
  args.insert(args.end(), {"--slow-bytes-per-s", "200000"});
  standin_process standin(args);
  auto mover = mover_for(settings_for(standin, box));
  auto task = mover->submit(batch_of({box.make_file("slow.dat", 4 << 20, 10)}, 8));
  REQUIRE(task);
  auto deadline = steady::now() + settle_wait_max;
  for (;;) {  // until some bytes moved, so the copy is really under way
    auto status = mover->poll(*task);
    REQUIRE(status);
    REQUIRE(status->state == transfer::task_state::active);
    if (status->bytes_done > 0) break;
    REQUIRE(steady::now() < deadline);
    std::this_thread::sleep_for(poll_interval);
  }
  REQUIRE(mover->cancel(*task));
  auto status = settle(*mover, *task);
  CHECK(status.state == transfer::task_state::failed);
  CHECK_FALSE(status.retryable);
  CHECK(mover->cancel(*task));  // already over: still fine
  deadline = steady::now() + 5s;
  while (fs::exists(box.destination / "staging") && !fs::is_empty(box.destination / "staging")) {
    REQUIRE_MESSAGE(steady::now() < deadline, "the cancelled copy left files behind");
    std::this_thread::sleep_for(poll_interval);
  }
}

TEST_CASE("past the pending-task limit a submission is refused as retryable") {
  sandbox box;
  auto args = box.endpoint_args();
  args.insert(args.end(), {"--active-tasks-max", "2", "--slow-bytes-per-s", "1000"});
  standin_process standin(args);
  auto mover = mover_for(settings_for(standin, box));
  std::vector<std::string> tasks;
  for (unsigned i = 0; i < 2; ++i) {
    auto task =
        mover->submit(batch_of({box.make_file("l" + std::to_string(i), 100000, i)}, 20 + i));
    REQUIRE(task);
    tasks.push_back(*task);
  }
  auto refused = mover->submit(batch_of({box.make_file("l2", 10, 2)}, 22));
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == errc::unavailable);
  CHECK(retryable(refused.err()));
  for (const auto& task : tasks) CHECK(mover->cancel(task));
  CHECK(mover->submit(batch_of({box.make_file("l3", 10, 3)}, 23)));  // room again
}

TEST_CASE("a bad secret is unauthenticated and names the config key") {
  sandbox box;
  standin_process standin(box.endpoint_args());
  auto settings = settings_for(standin, box);
  settings.secret = "wrong";
  auto mover = mover_for(settings);
  auto task = mover->submit(batch_of({box.make_file("s.dat", 10, 11)}, 9));
  REQUIRE_FALSE(task);
  CHECK(task.err().code == errc::unauthenticated);
  CHECK_FALSE(retryable(task.err()));
  CHECK(task.err().message.find("librarian.globus_client_secret_file") != std::string::npos);
  CHECK(standin.stats()["tasks_created"] == 0);
}

TEST_CASE("a native app authenticates with its refresh token") {
  sandbox box;
  auto args = box.endpoint_args();
  args.insert(args.end(), {"--refresh-token", "native-app:refresh-1"});
  standin_process standin(args);
  auto settings = settings_for(standin, box);
  settings.client_id = "native-app";
  settings.native_app = true;
  settings.secret = "refresh-1";
  auto mover = mover_for(settings);
  auto task = mover->submit(batch_of({box.make_file("n.dat", 10, 12)}, 10));
  REQUIRE(task);
  CHECK(settle(*mover, *task).state == transfer::task_state::succeeded);
  settings.secret = "refresh-2";
  auto refused = mover_for(settings)->submit(batch_of({box.make_file("n2.dat", 10, 13)}, 11));
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == errc::unauthenticated);
}

TEST_CASE("a stand-in that is gone is a retryable error, never a crash") {
  sandbox box;
  standin_process standin(box.endpoint_args());
  auto mover = mover_for(settings_for(standin, box));
  standin.stop();
  auto task = mover->submit(batch_of({box.make_file("g.dat", 10, 14)}, 12));
  REQUIRE_FALSE(task);
  CHECK(retryable(task.err()));
  auto polled = mover->poll("00000000-0000-4000-8000-000000000000");
  REQUIRE_FALSE(polled);
  CHECK(retryable(polled.err()));
}
