// put_file / get_file: a control connection plus N data streams per attempt.
#include "net/data/client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "net/data/receiver.hpp"
#include "net/data/sender.hpp"
#include "net/data/wire.hpp"

namespace librarian::data {
namespace {

using steady = std::chrono::steady_clock;

// Closes every fd it holds, whatever path the attempt takes out.
struct fd_set_guard {
  std::vector<int> fds;
  ~fd_set_guard() {
    for (int fd : fds) ::close(fd);
  }
};

expected<int> attach(const data_endpoint& ep, const std::string& ticket, const char* role,
                     const transfer_options& o, nlohmann::json* reply_out) {
  auto fd = connect_tcp(ep.host, ep.port, std::chrono::milliseconds(10'000));
  if (!fd) return fd.err();
  set_stall_timeout(*fd, o.stall_timeout);
  set_tcp_buffers(*fd, o.tcp_buffer_bytes);
  auto fail_with = [&](error err) -> expected<int> {
    ::close(*fd);
    return err;
  };
  if (auto st = send_frame(*fd, {{"op", "attach"}, {"ticket", ticket}, {"role", role}}); !st)
    return fail_with(st.err());
  auto reply = recv_frame(*fd);
  if (!reply) return fail_with(reply.err());
  if (auto st = check_reply(*reply); !st) return fail_with(st.err());
  if (reply_out) *reply_out = std::move(*reply);
  return *fd;
}

uint64_t json_u64(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

std::string json_str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

// Progress reporter shared by stream threads: counts bytes, calls the user's callback at most
// every 200 ms so a progress bar does not slow the transfer.
struct progress_meter {
  const transfer_options& options;
  uint64_t total;
  uint64_t base;
  steady::time_point start = steady::now();
  std::atomic<uint64_t> done{0};
  std::atomic<int64_t> last_report_ns{0};
  void add(uint64_t n) {
    uint64_t now_done = done += n;
    if (!options.on_progress) return;
    auto now = steady::now();
    int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - start).count();
    int64_t last = last_report_ns.load();
    if (ns - last < 200'000'000 && now_done + base < total) return;
    if (!last_report_ns.compare_exchange_strong(last, ns)) return;
    options.on_progress({base + now_done, total, ns / 1e9});
  }
  double seconds() const { return std::chrono::duration<double>(steady::now() - start).count(); }
};

}  // namespace

bool retryable(const error& err) {
  return err.code == errc::unavailable || err.code == errc::timeout ||
         err.code == errc::checksum_mismatch || err.code == errc::not_found;
}

expected<transfer_report> put_file(const data_endpoint& to, const std::string& ticket,
                                   const std::filesystem::path& local_path,
                                   const transfer_options& o) {
  if (o.streams == 0 || o.streams > 64) return fail(errc::invalid_argument, "streams must be 1..64");
  ignore_sigpipe();
  int file = ::open(local_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file < 0)
    return fail(errno == ENOENT ? errc::invalid_argument : errc::unavailable,
                "cannot open " + local_path.string() + ": " + std::strerror(errno));
  fd_set_guard guard{{file}};
  struct stat st {};
  if (::fstat(file, &st) != 0 || !S_ISREG(st.st_mode))
    return fail(errc::invalid_argument, local_path.string() + " is not a regular file");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (o.partial_offset > size)
    return fail(errc::invalid_argument, "partial offset is past the end of " + local_path.string());
  const uint64_t length = std::min(o.partial_length.value_or(UINT64_MAX), size - o.partial_offset);
  ::posix_fadvise(file, 0, 0, POSIX_FADV_SEQUENTIAL);

  nlohmann::json hello;
  auto control = attach(to, ticket, "control", o, &hello);
  if (!control) return control.err();
  guard.fds.push_back(*control);
  if (json_u64(hello, "size") != length)
    return fail(errc::invalid_argument, "the ticket is for " + std::to_string(json_u64(hello, "size")) +
                                            " bytes but the file window has " + std::to_string(length));
  auto committed = range_set::parse(json_str(hello, "committed"));
  if (!committed) return committed.err();
  // The server speaks in destination offsets (0..length); the sender reads source offsets.
  range_set skip;
  for (auto [b, e] : committed->ranges()) skip.add(b + o.partial_offset, e + o.partial_offset);

  std::vector<int> streams;
  for (unsigned i = 0; i < o.streams; ++i) {
    auto fd = attach(to, ticket, "data", o, nullptr);
    if (!fd) return fd.err();
    guard.fds.push_back(*fd);
    streams.push_back(*fd);
  }
  progress_meter meter{o, length, committed->covered()};
  buffer_pool pool(static_cast<size_t>(o.block_bytes), o.streams * 3 + 2);
  send_job job;
  job.file_fd = file;
  job.file_name = local_path.string();
  job.window_begin = o.partial_offset;
  job.window_length = length;
  job.skip = std::move(skip);
  job.alg = o.alg;
  job.hash = o.verify_checksum;
  job.block_bytes = o.block_bytes;
  job.on_sent = [&](uint64_t n) { meter.add(n); };
  job.wire_offset_shift = o.partial_offset;
  auto sum = send_blocks(job, streams, pool);
  if (!sum) {
    // The receiver says why it hung up (disk full, a bad block) in a frame on the stream before
    // closing it; that beats "connection reset".
    for (int fd : streams) {
      pollfd pfd{fd, POLLIN, 0};
      if (::poll(&pfd, 1, 1000) != 1) continue;
      set_stall_timeout(fd, std::chrono::milliseconds(1000));
      if (auto frame = recv_frame(fd)) {
        if (auto why = check_reply(*frame); !why) return why.err();
      }
    }
    return sum.err();
  }
  for (int fd : streams) ::shutdown(fd, SHUT_WR);
  nlohmann::json finish = {{"op", "finish"}, {"streams", o.streams}};
  if (!sum->empty()) finish["checksum"] = *sum;
  if (auto s = send_frame(*control, finish); !s) return s.err();
  // Finishing syncs and may hash what is on disk: allow it more than one stall period.
  set_stall_timeout(*control, std::max(o.stall_timeout, std::chrono::milliseconds(600'000)));
  auto reply = recv_frame(*control);
  if (!reply) return reply.err();
  if (auto s = check_reply(*reply); !s) return s.err();
  transfer_report report;
  report.bytes = meter.done;
  report.bytes_total = length;
  report.bytes_resumed = committed->covered();
  report.checksum = json_str(*reply, "checksum");
  report.seconds = meter.seconds();
  if (o.on_progress) o.on_progress({length, length, report.seconds});
  return report;
}

expected<transfer_report> get_file(const data_endpoint& from, const std::string& ticket,
                                   const std::filesystem::path& local_path,
                                   const transfer_options& o) {
  if (o.streams == 0 || o.streams > 64) return fail(errc::invalid_argument, "streams must be 1..64");
  ignore_sigpipe();
  nlohmann::json hello;
  auto control = attach(from, ticket, "control", o, &hello);
  if (!control) return control.err();
  fd_set_guard guard{{*control}};
  const uint64_t begin = json_u64(hello, "window_begin");
  const uint64_t length = json_u64(hello, "window_length");

  struct stat st {};
  const bool device = ::stat(local_path.c_str(), &st) == 0 && S_ISCHR(st.st_mode);
  auto pool = std::make_shared<buffer_pool>(static_cast<size_t>(o.block_bytes), o.streams * 3 + 2);
  receiver_config rc;
  rc.final_path = local_path;
  rc.window_begin = begin;
  rc.window_length = length;
  rc.alg = o.alg;
  rc.hash = o.verify_checksum;
  rc.discard = device;
  rc.block_bytes_max = std::max<uint64_t>(o.block_bytes, 1u << 20);
  auto rx = receiver::open(rc, pool);
  if (!rx) return rx.err();
  auto& r = **rx;
  const range_set have = r.committed();

  std::vector<int> streams;
  for (unsigned i = 0; i < o.streams; ++i) {
    auto fd = attach(from, ticket, "data", o, nullptr);
    if (!fd) return fd.err();
    guard.fds.push_back(*fd);
    streams.push_back(*fd);
  }
  if (auto s = send_frame(*control, {{"op", "get"},
                                     {"streams", o.streams},
                                     {"block_bytes", o.block_bytes},
                                     {"skip", have.to_string()}});
      !s)
    return s.err();
  progress_meter meter{o, length, have.covered()};
  std::vector<std::thread> threads;
  std::vector<status> results(streams.size());
  for (size_t i = 0; i < streams.size(); ++i)
    threads.emplace_back([&, i] {
      results[i] = receive_stream(streams[i], r, *pool, [&](uint64_t n) { meter.add(n); });
    });
  for (auto& t : threads) t.join();
  for (auto& res : results)
    if (!res) return res.err();
  auto reply = recv_frame(*control);
  if (!reply) return reply.err();
  if (auto s = check_reply(*reply); !s) return s.err();
  const std::string sender_sum = o.verify_checksum ? json_str(*reply, "checksum") : std::string{};
  auto done = r.finish(sender_sum);
  if (!done) {
    if (done.err().code == errc::checksum_mismatch) r.abandon();
    return done.err();
  }
  static_cast<void>(send_frame(*control, {{"op", "close"}}));
  transfer_report report;
  report.bytes = meter.done;
  report.bytes_total = length;
  report.bytes_resumed = have.covered();
  report.checksum = *done;
  report.seconds = meter.seconds();
  if (o.on_progress) o.on_progress({length, length, report.seconds});
  return report;
}

}  // namespace librarian::data
