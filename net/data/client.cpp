// put_file / get_file: a control connection plus N data streams per attempt.
#include "net/data/client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
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
  if (o.streams == 0 || o.streams > 64)
    return fail(errc::invalid_argument, "streams must be 1..64");
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
    return fail(errc::invalid_argument,
                "the ticket is for " + std::to_string(json_u64(hello, "size")) +
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
  if (o.streams == 0 || o.streams > 64)
    return fail(errc::invalid_argument, "streams must be 1..64");
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
  rc.direct_io = o.direct_io;
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

namespace {

// The writer may run at most `window` requests ahead of the reader; the reader learns which
// items were actually sent (a local read error skips one) in order.
class pipeline {
 public:
  explicit pipeline(size_t window) : window_(window) {}
  bool acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return stop_ || in_flight_ < window_; });
    if (stop_) return false;
    ++in_flight_;
    return true;
  }
  void sent(size_t index) {
    std::lock_guard lock(mu_);
    sent_.push_back(index);
    cv_.notify_all();
  }
  void unsent() {
    std::lock_guard lock(mu_);
    --in_flight_;
    cv_.notify_all();
  }
  void writer_done() {
    std::lock_guard lock(mu_);
    writer_done_ = true;
    cv_.notify_all();
  }
  // Next sent index, or nullopt when the writer finished and everything was read.
  std::optional<size_t> next() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return stop_ || !sent_.empty() || writer_done_; });
    if (sent_.empty()) return std::nullopt;
    size_t i = sent_.front();
    sent_.pop_front();
    --in_flight_;
    cv_.notify_all();
    return i;
  }
  void abort() {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }

 private:
  size_t window_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t in_flight_ = 0;
  std::deque<size_t> sent_;
  bool writer_done_ = false;
  bool stop_ = false;
};

expected<block_buffer> read_whole(const std::filesystem::path& path, uint64_t limit) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(errno == ENOENT ? errc::not_found : errc::unavailable,
                "cannot open " + path.string() + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) > limit) {
    ::close(fd);
    return fail(errc::invalid_argument, path.string() + " is not a regular file of at most " +
                                            std::to_string(limit) + " bytes");
  }
  block_buffer buf(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t r = ::read(fd, buf.data() + got, buf.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      ::close(fd);
      return fail(errc::unavailable, "cannot read " + path.string());
    }
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  return buf;
}

// Into path's directory, which must exist.
status write_atomically(const std::filesystem::path& path, const block_buffer& data) {
  const auto part = receiver::part_path(path);
  int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail(errno == ENOSPC ? errc::storage_full : errc::unavailable,
                "cannot create " + part.string() + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t w = ::write(fd, data.data() + done, data.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(part.c_str());
      return fail(err == ENOSPC ? errc::storage_full : errc::unavailable,
                  "cannot write " + part.string() + ": " + std::strerror(err));
    }
    done += static_cast<size_t>(w);
  }
  ::close(fd);
  if (::rename(part.c_str(), path.c_str()) != 0)
    return fail(errc::unavailable, "cannot rename into " + path.string());
  return {};
}

constexpr uint64_t tree_file_bytes_max = 16ull << 20;

}  // namespace

expected<std::vector<tree_item_result>> put_tree_files(const data_endpoint& to,
                                                       const std::string& ticket,
                                                       const std::vector<tree_item>& items,
                                                       const transfer_options& o, size_t window) {
  // A writer thread sends each file (a frame, then its bytes) while this one reads the replies:
  // the requests carry the data, so neither side may wait for the other.
  ignore_sigpipe();
  nlohmann::json hello;
  auto control = attach(to, ticket, "control", o, &hello);
  if (!control) return control.err();
  fd_set_guard guard{{*control}};
  std::vector<tree_item_result> results(items.size());
  pipeline pipe(std::max<size_t>(1, window));
  // A file that cannot be read fails alone; a send that fails (errc::internal) ends the tree.
  auto send_one = [&](size_t i) -> status {
    auto& r = results[i];
    auto data = read_whole(items[i].local, tree_file_bytes_max);
    if (!data) return data.err();
    checksum_stream sum(o.alg);
    sum.update(std::span<const uint8_t>(data->data(), data->size()));
    r.checksum = format_checksum(o.alg, sum.hex_digest());
    r.bytes = data->size();
    if (auto st = send_frame(*control, {{"op", "put"},
                                        {"path", items[i].relative},
                                        {"size", data->size()},
                                        {"checksum", r.checksum}});
        !st)
      return fail(errc::internal, st.err().message);
    if (auto st = write_all(*control, data->data(), data->size()); !st)
      return fail(errc::internal, st.err().message);
    return {};
  };
  std::optional<error> writer_failure;
  std::thread writer([&] {
    for (size_t i = 0; i < items.size(); ++i) {
      if (!pipe.acquire()) break;
      if (auto st = send_one(i); !st) {
        pipe.unsent();
        if (st.err().code == errc::internal) {  // the connection broke
          writer_failure = st.err();
          break;
        }
        results[i].failure = st.err();  // a local problem with this file only
        continue;
      }
      pipe.sent(i);
    }
    pipe.writer_done();
  });
  std::optional<error> reader_failure;
  while (auto i = pipe.next()) {
    auto reply = recv_frame(*control);
    if (!reply) {
      reader_failure = reply.err();
      pipe.abort();
      ::shutdown(*control, SHUT_RDWR);
      break;
    }
    if (auto st = check_reply(*reply); !st) {
      results[*i].failure = st.err();
      continue;
    }
    if (o.on_progress) o.on_progress({results[*i].bytes, 0, 0});
  }
  writer.join();
  if (reader_failure) return *reader_failure;
  if (writer_failure) return *writer_failure;
  static_cast<void>(send_frame(*control, {{"op", "close"}}));
  return results;
}

expected<std::vector<tree_item_result>> get_tree_files(const data_endpoint& from,
                                                       const std::string& ticket,
                                                       const std::vector<tree_item>& items,
                                                       const transfer_options& o, size_t window) {
  // One thread: the requests are a few dozen bytes each, so they go out in batches whenever half
  // the window has been answered, and the answers are read through one buffer. (The upload's
  // writer thread exists because its requests carry the files; here it cost two thread
  // hand-offs per file.)
  ignore_sigpipe();
  nlohmann::json hello;
  auto control = attach(from, ticket, "control", o, &hello);
  if (!control) return control.err();
  fd_set_guard guard{{*control}};
  window = std::max<size_t>(1, window);
  std::vector<tree_item_result> results(items.size());
  buffered_reader in(*control);
  std::filesystem::path made_dir;  // the last directory created, so each is made once
  size_t sent = 0;
  std::string requests;
  for (size_t i = 0; i < items.size(); ++i) {
    if (sent < items.size() && sent - i <= window / 2) {
      requests.clear();
      for (const size_t upto = std::min(items.size(), i + window); sent < upto; ++sent)
        append_frame(requests, {{"op", "get"}, {"path", items[sent].relative}});
      if (auto st = write_all(*control, requests.data(), requests.size()); !st) return st.err();
    }
    auto& r = results[i];
    auto reply = in.recv_frame();
    if (!reply) return reply.err();
    if (auto st = check_reply(*reply); !st) {
      r.failure = st.err();
      continue;
    }
    const uint64_t size = json_u64(*reply, "size");
    if (size > tree_file_bytes_max)
      return fail(errc::invalid_argument, "the server announced an oversized file");
    block_buffer data(static_cast<size_t>(size));
    if (auto st = in.read_exact(data.data(), data.size()); !st) return st.err();
    const std::string want = json_str(*reply, "checksum");
    auto parsed = parse_checksum(want);
    if (!parsed) return parsed.err();
    checksum_stream sum(parsed->alg);
    sum.update(std::span<const uint8_t>(data.data(), data.size()));
    r.checksum = format_checksum(parsed->alg, sum.hex_digest());
    r.bytes = size;
    if (r.checksum != format_checksum(parsed->alg, parsed->hex)) {
      r.failure = fail(errc::checksum_mismatch, "checksum mismatch for " + items[i].relative);
      continue;
    }
    if (items[i].local.parent_path() != made_dir) {
      std::error_code ec;
      std::filesystem::create_directories(items[i].local.parent_path(), ec);
      made_dir = items[i].local.parent_path();
    }
    if (auto st = write_atomically(items[i].local, data); !st) r.failure = st.err();
    if (o.on_progress) o.on_progress({size, 0, 0});
  }
  static_cast<void>(send_frame(*control, {{"op", "close"}}));
  return results;
}

}  // namespace librarian::data
