// send_blocks: an in-order reader feeding N blocking stream writers.
#include "net/data/sender.hpp"

#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "net/data/block.hpp"
#include "net/data/wire.hpp"

namespace librarian::data {
namespace {

struct outgoing {
  block_header header;
  block_buffer buffer;  // payload is buffer[skip .. skip+length), or empty with from_file
  size_t skip = 0;
  bool end = false;
  bool from_file = false;  // payload goes by sendfile from file_offset
  uint64_t file_offset = 0;
};

// Header with MSG_MORE, then the payload straight from the page cache.
status send_from_file(int sock, int file_fd, const block_header& header, uint64_t file_offset) {
  auto head = encode(header);
  for (size_t done = 0; done < head.size();) {
    ssize_t w = ::send(sock, head.data() + done, head.size() - done, MSG_MORE | MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return fail(errno == EAGAIN ? errc::timeout : errc::unavailable,
                  std::string("send failed: ") +
                      (errno == EAGAIN ? "the peer stalled" : std::strerror(errno)));
    }
    done += static_cast<size_t>(w);
  }
  off_t off = static_cast<off_t>(file_offset);
  uint64_t left = header.length;
  while (left > 0) {
    ssize_t w =
        ::sendfile(sock, file_fd, &off, static_cast<size_t>(std::min<uint64_t>(left, 1u << 30)));
    if (w < 0) {
      if (errno == EINTR) continue;
      return fail(errno == EAGAIN ? errc::timeout : errc::unavailable,
                  std::string("sendfile failed: ") +
                      (errno == EAGAIN ? "the peer stalled" : std::strerror(errno)));
    }
    if (w == 0) return fail(errc::unavailable, "the file shrank during the transfer");
    left -= static_cast<uint64_t>(w);
  }
  return {};
}

// A read-only mapping of the window, released on scope exit.
struct mapping {
  const uint8_t* base = nullptr;
  size_t length = 0;
  uint64_t begin = 0;  // file offset of base
  ~mapping() {
    if (base) ::munmap(const_cast<uint8_t*>(base), length);
  }
};

// Bounded so the reader never runs more than a few blocks ahead of the slowest stream.
class block_queue {
 public:
  explicit block_queue(size_t capacity) : capacity_(capacity) {}
  bool push(outgoing&& item) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return aborted_ || items_.size() < capacity_; });
    if (aborted_) return false;
    items_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }
  std::optional<outgoing> pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return aborted_ || !items_.empty(); });
    if (aborted_) return std::nullopt;
    outgoing item = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return item;
  }
  void abort(error why) {
    std::lock_guard lock(mu_);
    if (!aborted_) first_error_ = std::move(why);
    aborted_ = true;
    not_full_.notify_all();
    not_empty_.notify_all();
  }
  std::optional<error> failure() {
    std::lock_guard lock(mu_);
    return first_error_;
  }

 private:
  size_t capacity_;
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<outgoing> items_;
  bool aborted_ = false;
  std::optional<error> first_error_;
};

std::atomic<bool> corrupt_fired{false};

// Test-only: LIBRARIAN_FAULT_BLOCK_DELAY_MS slows every block down so integration tests can kill
// a process mid-transfer deterministically enough.
std::chrono::milliseconds block_delay() {
  const char* env = std::getenv("LIBRARIAN_FAULT_BLOCK_DELAY_MS");
  if (env == nullptr) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(std::strtoul(env, nullptr, 10) % 10000);
}

}  // namespace

std::optional<uint64_t> corrupt_once_offset() {
  const char* env = std::getenv("LIBRARIAN_FAULT_CORRUPT_ONCE");
  if (env == nullptr || *env == '\0') return std::nullopt;
  char* end = nullptr;
  unsigned long long v = std::strtoull(env, &end, 10);
  if (end == env || *end != '\0') return std::nullopt;
  return v;
}

expected<std::string> send_blocks(const send_job& job, std::span<const int> stream_fds,
                                  buffer_pool& pool) {
  LIB_ASSERT(!stream_fds.empty());
  LIB_ASSERT(job.block_bytes > 0);
  block_queue queue(stream_fds.size() * 2);
  const auto delay = block_delay();
  std::vector<std::thread> streams;
  streams.reserve(stream_fds.size());
  for (int fd : stream_fds) {
    streams.emplace_back([&, fd] {
      for (;;) {
        auto item = queue.pop();
        if (!item) return;
        if (item->end) {
          if (auto st = write_block(fd, item->header, nullptr); !st) queue.abort(st.err());
          return;
        }
        if (delay.count() > 0) std::this_thread::sleep_for(delay);
        if (item->from_file) {
          if (auto st = send_from_file(fd, job.file_fd, item->header, item->file_offset); !st) {
            queue.abort(st.err());
            return;
          }
          if (job.on_sent) job.on_sent(item->header.length);
          continue;
        }
        if (auto st = write_block(fd, item->header, item->buffer.data() + item->skip); !st) {
          queue.abort(st.err());
          return;
        }
        if (job.on_sent) job.on_sent(item->header.length);
        pool.give(std::move(item->buffer));
      }
    });
  }

  std::optional<checksum_stream> sum;
  if (job.hash) sum.emplace(job.alg);
  const auto corrupt_at = corrupt_once_offset();
  const uint64_t end = job.window_begin + job.window_length;
  std::optional<error> failure;
  mapping map;
  const bool all_local = std::all_of(stream_fds.begin(), stream_fds.end(), peer_is_loopback);
  if (job.zero_copy && !all_local && job.window_length > 0 && !corrupt_at) {
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    map.begin = job.window_begin / page * page;
    map.length = static_cast<size_t>(end - map.begin);
    void* p = ::mmap(nullptr, map.length, PROT_READ, MAP_SHARED, job.file_fd,
                     static_cast<off_t>(map.begin));
    if (p == MAP_FAILED) {
      map.length = 0;
    } else {
      map.base = static_cast<const uint8_t*>(p);
      ::madvise(p, map.length, MADV_SEQUENTIAL);
    }
  }
  for (uint64_t off = job.window_begin; map.base && off < end;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(job.block_bytes, end - off));
    // Reading the mapping faults the pages in from the page cache; a file truncated meanwhile
    // would SIGBUS here, so its size is checked first.
    struct stat st {};
    if (::fstat(job.file_fd, &st) != 0 || static_cast<uint64_t>(st.st_size) < off + n) {
      failure = fail(errc::unavailable, job.file_name + " shrank during the transfer");
      break;
    }
    if (sum) sum->update(std::span<const uint8_t>(map.base + (off - map.begin), n));
    bool pushed = true;
    for (auto [b, e] : job.skip.missing(off, off + n)) {
      outgoing item;
      item.header = {0, e - b, b - job.wire_offset_shift};
      item.from_file = true;
      item.file_offset = b;
      if (!(pushed = queue.push(std::move(item)))) break;
    }
    if (!pushed) break;
    off += n;
  }
  for (uint64_t off = map.base ? end : job.window_begin; off < end && !failure;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(job.block_bytes, end - off));
    const auto gaps = job.skip.missing(off, off + n);
    if (gaps.empty() && !sum) {  // nothing to send and nothing to hash
      off += n;
      continue;
    }
    block_buffer buf = pool.take();
    buf.resize(n);
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(job.file_fd, buf.data() + got, n - got, static_cast<off_t>(off + got));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        failure =
            fail(errc::unavailable,
                 "cannot read " + job.file_name + " at offset " + std::to_string(off + got) + ": " +
                     (r < 0 ? std::strerror(errno) : "file shrank during the transfer"));
        break;
      }
      got += static_cast<size_t>(r);
    }
    if (failure) break;
    if (sum) sum->update(std::span<const uint8_t>(buf.data(), n));
    if (corrupt_at && *corrupt_at >= off && *corrupt_at < off + n && !corrupt_fired.exchange(true))
      buf[static_cast<size_t>(*corrupt_at - off)] ^= 0xff;
    if (gaps.size() == 1 && gaps[0].first == off && gaps[0].second == off + n) {
      if (!queue.push({{0, n, off - job.wire_offset_shift}, std::move(buf), 0, false})) break;
    } else {
      for (auto [b, e] : gaps) {
        block_buffer part = pool.take();
        part.assign(buf.begin() + static_cast<ptrdiff_t>(b - off),
                    buf.begin() + static_cast<ptrdiff_t>(e - off));
        if (!queue.push({{0, e - b, b - job.wire_offset_shift}, std::move(part), 0, false})) break;
      }
      pool.give(std::move(buf));
    }
    off += n;
  }
  if (failure) queue.abort(*failure);
  for (size_t i = 0; i < streams.size(); ++i)
    if (!queue.push({{block_flag::eod, 0, 0}, {}, 0, true})) break;
  for (auto& t : streams) t.join();
  if (auto err = queue.failure()) return *err;
  if (!sum) return std::string{};
  return format_checksum(job.alg, sum->hex_digest());
}

}  // namespace librarian::data
