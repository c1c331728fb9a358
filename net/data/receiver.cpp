// receiver: pwrite at offsets, hash in order, journal what is durable, rename when verified.
#include "net/data/receiver.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <sstream>

namespace librarian::data {
namespace {

error io_error(const std::string& what, const std::filesystem::path& path, int err) {
  errc code = errc::unavailable;
  if (err == ENOSPC || err == EDQUOT) code = errc::storage_full;
  if (err == ENOENT) code = errc::not_found;
  return fail(code, what + " " + path.string() + ": " + std::strerror(err));
}

status write_all_at(int fd, const uint8_t* p, size_t n, uint64_t off,
                    const std::filesystem::path& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write", path, errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
    off += static_cast<uint64_t>(w);
  }
  return {};
}

status write_all(int fd, const std::string& s, const std::filesystem::path& path) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t w = ::write(fd, s.data() + done, s.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write", path, errno);
    }
    done += static_cast<size_t>(w);
  }
  return {};
}

std::string journal_header(const receiver_config& c) {
  std::ostringstream out;
  out << "librarian-journal v1 begin=" << c.window_begin << " length=" << c.window_length
      << " alg=" << name(c.alg) << "\n";
  return out.str();
}

bool parse_u64(std::string_view s, uint64_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

void sync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

std::filesystem::path receiver::part_path(const std::filesystem::path& p) {
  return p.string() + ".librarian-part";
}
std::filesystem::path receiver::journal_path(const std::filesystem::path& p) {
  return p.string() + ".librarian-journal";
}

receiver::receiver(receiver_config config, std::shared_ptr<buffer_pool> pool)
    : config_(std::move(config)), pool_(std::move(pool)) {
  hashed_until_ = config_.window_begin;
  if (config_.hash) hash_ = std::make_unique<checksum_stream>(config_.alg);
}

receiver::~receiver() {
  if (data_fd_ >= 0) ::close(data_fd_);
  if (journal_fd_ >= 0) ::close(journal_fd_);
}

expected<std::unique_ptr<receiver>> receiver::open(receiver_config config,
                                                   std::shared_ptr<buffer_pool> pool) {
  if (config.window_begin > UINT64_MAX - config.window_length)
    return fail(errc::invalid_argument, "transfer window overflows");
  std::unique_ptr<receiver> r(new receiver(std::move(config), std::move(pool)));
  if (r->config_.discard) {
    r->data_fd_ = ::open(r->config_.final_path.c_str(), O_WRONLY | O_CLOEXEC);
    if (r->data_fd_ < 0) return io_error("cannot open", r->config_.final_path, errno);
    return r;
  }
  if (auto st = r->load_or_create_journal(); !st) return st.err();
  if (r->config_.direct_io) r->direct_ = std::make_unique<direct_writer>(r->data_fd_);
  return r;
}

status receiver::load_or_create_journal() {
  const auto part = part_path(config_.final_path);
  const auto journal = journal_path(config_.final_path);
  const std::string header = journal_header(config_);
  range_set loaded;
  bool resumed = false;
  if (config_.resume) {
    int fd = ::open(journal.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      // A journal is input from disk: bounded, and every line checked.
      std::string text;
      char buf[65536];
      for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > (64u << 20)) break;
      }
      ::close(fd);
      const uint64_t end = config_.window_begin + config_.window_length;
      if (text.rfind(header, 0) == 0) {
        resumed = true;
        size_t pos = header.size();
        while (pos < text.size()) {
          size_t nl = text.find('\n', pos);
          if (nl == std::string::npos) break;  // torn last line
          std::string_view line(text.data() + pos, nl - pos);
          pos = nl + 1;
          size_t dash = line.find('-');
          uint64_t b = 0, e = 0;
          if (line.size() < 3 || line.substr(0, 2) != "R " || dash == std::string_view::npos ||
              !parse_u64(line.substr(2, dash - 2), b) || !parse_u64(line.substr(dash + 1), e) ||
              b > e || b < config_.window_begin || e > end)
            break;
          loaded.add(b, e);
        }
      }
    }
  }
  struct stat st {};
  if (resumed && ::stat(part.c_str(), &st) == 0 &&
      static_cast<uint64_t>(st.st_size) >= loaded.covered() && S_ISREG(st.st_mode)) {
    data_fd_ = ::open(part.c_str(), O_RDWR | O_CLOEXEC);
  } else {
    resumed = false;
    loaded.clear();
    data_fd_ = ::open(part.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    // Allocated up front, blocks land inside the file instead of extending it, so direct writes
    // of several streams do not queue on the inode lock (and the file is less fragmented).
    // Without the space, or on a file system that cannot, it grows as blocks arrive and a full
    // disk shows up at the write that hits it, after the ranges before it were committed.
    if (data_fd_ >= 0 && config_.window_length > 0 &&
        ::fallocate(data_fd_, 0, 0, static_cast<off_t>(config_.window_length)) != 0)
      static_cast<void>(::ftruncate(data_fd_, 0));
  }
  if (data_fd_ < 0) return io_error("cannot open", part, errno);
  if (resumed) {
    journal_fd_ = ::open(journal.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (journal_fd_ < 0) return io_error("cannot open", journal, errno);
    // Rewrite nothing: a torn tail is harmless because the next appended line starts after a
    // newline only if the tail was complete; to be safe, compact the journal now.
    std::string compact = header;
    for (auto [b, e] : loaded.ranges())
      compact += "R " + std::to_string(b) + "-" + std::to_string(e) + "\n";
    ::close(journal_fd_);
    const auto tmp = journal.string() + ".tmp";
    int tfd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (tfd < 0) return io_error("cannot create", tmp, errno);
    if (auto w = write_all(tfd, compact, tmp); !w) {
      ::close(tfd);
      return w;
    }
    ::fdatasync(tfd);
    ::close(tfd);
    if (::rename(tmp.c_str(), journal.c_str()) != 0) return io_error("cannot rename", tmp, errno);
  } else {
    const auto tmp = journal.string() + ".tmp";
    int tfd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (tfd < 0) return io_error("cannot create", tmp, errno);
    if (auto w = write_all(tfd, header, tmp); !w) {
      ::close(tfd);
      return w;
    }
    ::fdatasync(tfd);
    ::close(tfd);
    if (::rename(tmp.c_str(), journal.c_str()) != 0) return io_error("cannot rename", tmp, errno);
  }
  sync_directory(config_.final_path.parent_path());
  journal_fd_ = ::open(journal.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (journal_fd_ < 0) return io_error("cannot open", journal, errno);
  written_ = loaded;
  journaled_ = loaded;
  bytes_resumed_ = loaded.covered();
  return {};
}

range_set receiver::committed() const {
  std::lock_guard lock(mu_);
  return journaled_;
}

range_set receiver::missing() const {
  std::lock_guard lock(mu_);
  range_set out;
  for (auto [b, e] :
       written_.missing(config_.window_begin, config_.window_begin + config_.window_length))
    out.add(b, e);
  return out;
}

block_limits receiver::limits() const {
  block_limits lim;
  lim.block_bytes_max = config_.block_bytes_max;
  lim.window_begin = config_.window_begin;
  lim.window_end = config_.window_begin + config_.window_length;
  if (config_.window_begin == 0) lim.file_bytes = config_.window_length;
  return lim;
}

status receiver::write_block(const block_header& header, block_buffer&& payload) {
  LIB_ASSERT(payload.size() == header.length);
  if (header.length == 0) return {};
  const uint64_t dest_off = header.offset - config_.window_begin;
  if (!config_.discard) {
    bool written = false;
    if (direct_) {
      auto d = direct_->write(payload.data(), payload.size(), dest_off);
      if (d.error != 0) return io_error("cannot write", part_path(config_.final_path), d.error);
      written = d.written;
    }
    if (!written) {
      if (auto st = write_all_at(data_fd_, payload.data(), payload.size(), dest_off,
                                 part_path(config_.final_path));
          !st)
        return st;
    }
  }
  bytes_received_ += header.length;
  {
    std::unique_lock lock(mu_);
    if (finished_) return fail(errc::conflict, "block arrived after the transfer finished");
    const uint64_t end = header.offset + header.length;
    if (hash_ && config_.discard) {
      // A discarding sink cannot re-read a block later, so an early block waits here until the
      // reorder buffer has room. No deadlock: each stream delivers its blocks in offset order,
      // so the block at the watermark is always at the head of some stream that is not waiting.
      const bool room = hashed_cv_.wait_for(lock, std::chrono::seconds(120), [&] {
        return finished_ || header.offset <= hashed_until_ ||
               early_bytes_ + header.length <= config_.reorder_bytes_max;
      });
      if (!room) return fail(errc::timeout, "the reorder buffer stayed full for 120 s");
    }
    written_.add(header.offset, end);
    if (hash_) {
      if (header.offset == hashed_until_) {
        hash_->update(std::span<const uint8_t>(payload.data(), payload.size()));
        hashed_until_ = end;
        if (auto st = hash_in_order_locked(); !st) return st;
        hashed_cv_.notify_all();
      } else if (header.offset > hashed_until_ &&
                 early_bytes_ + header.length <= config_.reorder_bytes_max &&
                 !early_.contains(header.offset)) {
        early_bytes_ += header.length;
        early_.emplace(header.offset, std::move(payload));
      }
      // Otherwise the block is on disk and hash_in_order_locked re-reads it when its turn comes
      // (or it repeats bytes already hashed).
    }
  }
  if (payload.capacity() > 0) pool_->give(std::move(payload));
  if (config_.discard) return {};
  // A crash loses at most sync_every_bytes or sync_every_ms of received data (the journal is
  // the restart point), whichever comes first.
  const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::steady_clock::now().time_since_epoch())
                             .count();
  if (unsynced_bytes_.fetch_add(header.length) + header.length >= config_.sync_every_bytes ||
      now_ns - last_sync_ns_.load() >= int64_t{config_.sync_every_ms} * 1'000'000)
    return sync();
  return {};
}

status receiver::hash_in_order_locked() {
  for (size_t guard = 0; guard < 1'000'000; ++guard) {
    auto it = early_.begin();
    if (it != early_.end() && it->first <= hashed_until_) {
      const uint64_t b = it->first, e = b + it->second.size();
      if (e > hashed_until_) {
        const size_t skip = static_cast<size_t>(hashed_until_ - b);
        hash_->update(std::span<const uint8_t>(it->second.data() + skip, it->second.size() - skip));
        hashed_until_ = e;
      }
      early_bytes_ -= it->second.size();
      pool_->give(std::move(it->second));
      early_.erase(it);
      continue;
    }
    // Bytes that are on disk but not in memory (spilled, or resumed from an earlier run).
    uint64_t run_end = written_.contiguous_end(hashed_until_);
    if (it != early_.end()) run_end = std::min(run_end, it->first);
    if (run_end <= hashed_until_) return {};
    if (auto st = hash_from_file_locked(run_end); !st) return st;
  }
  return {};
}

status receiver::hash_from_file_locked(uint64_t end) {
  if (config_.discard)
    return fail(errc::internal, "a discarding sink cannot re-read bytes it did not keep");
  block_buffer buf = pool_->take();
  buf.resize(std::max<size_t>(pool_->buffer_bytes(), 1u << 20));
  while (hashed_until_ < end) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(end - hashed_until_, buf.size()));
    ssize_t got = ::pread(data_fd_, buf.data(), want,
                          static_cast<off_t>(hashed_until_ - config_.window_begin));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0)
      return fail(errc::unavailable,
                  "cannot re-read " + part_path(config_.final_path).string() +
                      " to hash it: " + (got < 0 ? std::strerror(errno) : "short file"));
    hash_->update(std::span<const uint8_t>(buf.data(), static_cast<size_t>(got)));
    hashed_until_ += static_cast<uint64_t>(got);
  }
  pool_->give(std::move(buf));
  return {};
}

status receiver::sync() {
  if (config_.discard) return {};
  std::lock_guard sync_lock(sync_mu_);
  unsynced_bytes_ = 0;
  last_sync_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
  range_set snapshot;
  {
    std::lock_guard lock(mu_);
    snapshot = written_;
  }
  if (::fdatasync(data_fd_) != 0)
    return io_error("cannot sync", part_path(config_.final_path), errno);
  std::string lines;
  range_set already;
  {
    std::lock_guard lock(mu_);
    already = journaled_;
  }
  for (auto [b, e] : snapshot.ranges())
    for (auto [mb, me] : already.missing(b, e))
      lines += "R " + std::to_string(mb) + "-" + std::to_string(me) + "\n";
  if (lines.empty()) return {};
  if (auto st = write_all(journal_fd_, lines, journal_path(config_.final_path)); !st) return st;
  if (::fdatasync(journal_fd_) != 0)
    return io_error("cannot sync", journal_path(config_.final_path), errno);
  std::lock_guard lock(mu_);
  journaled_.add(snapshot);
  return {};
}

expected<std::string> receiver::finish(const std::string& expected_checksum) {
  if (auto st = sync(); !st) return st.err();
  std::string digest;
  {
    std::lock_guard lock(mu_);
    const uint64_t end = config_.window_begin + config_.window_length;
    if (!written_.contains(config_.window_begin, end)) {
      range_set gaps;
      for (auto [b, e] : written_.missing(config_.window_begin, end)) gaps.add(b, e);
      return fail(errc::unavailable,
                  "transfer incomplete: missing byte ranges " + gaps.to_string());
    }
    if (hash_) {
      if (auto st = hash_in_order_locked(); !st) return st.err();
      LIB_ASSERT(hashed_until_ == end);
      digest = format_checksum(config_.alg, hash_->hex_digest());
      hash_.reset();
    }
    finished_ = true;
  }
  if (!expected_checksum.empty() && !digest.empty()) {
    auto want = parse_checksum(expected_checksum);
    if (!want) return want.err();
    if (format_checksum(want->alg, want->hex) != digest)
      return fail(errc::checksum_mismatch, "checksum mismatch for " + config_.final_path.string() +
                                               ": received " + digest + ", sender has " +
                                               expected_checksum);
  }
  if (config_.discard) return digest;
  if (::fsync(data_fd_) != 0) return io_error("cannot sync", part_path(config_.final_path), errno);
  ::close(data_fd_);
  data_fd_ = -1;
  direct_.reset();
  if (::rename(part_path(config_.final_path).c_str(), config_.final_path.c_str()) != 0)
    return io_error("cannot rename into", config_.final_path, errno);
  sync_directory(config_.final_path.parent_path());
  ::close(journal_fd_);
  journal_fd_ = -1;
  ::unlink(journal_path(config_.final_path).c_str());
  return digest;
}

void receiver::abandon() {
  std::lock_guard lock(mu_);
  finished_ = true;
  hashed_cv_.notify_all();
  if (config_.discard) return;
  ::unlink(journal_path(config_.final_path).c_str());
  ::unlink(part_path(config_.final_path).c_str());
  written_.clear();
  journaled_.clear();
}

}  // namespace librarian::data

#include "net/data/wire.hpp"

namespace librarian::data {

status receive_stream(int fd, receiver& into, buffer_pool& pool,
                      const std::function<void(uint64_t)>& on_received) {
  const block_limits lim = into.limits();
  // Bounded: every block moves at least one byte or ends the stream, and the window is finite;
  // the count guard catches a peer that re-sends the same ranges forever.
  const uint64_t blocks_max = 4 * (lim.window_end - lim.window_begin) + 1024;
  for (uint64_t count = 0; count < blocks_max; ++count) {
    block_header_bytes_t raw;
    if (auto st = read_exact(fd, raw.data(), raw.size()); !st) return st;
    const block_header header = decode(raw);
    if (auto st = validate(header, lim); !st) return st;
    if (header.has(block_flag::eof)) continue;  // GridFTP-style EOD count; we count EODs ourselves
    if (header.length > 0) {
      block_buffer buf = pool.take();
      buf.resize(static_cast<size_t>(header.length));
      if (auto st = read_exact(fd, buf.data(), buf.size()); !st) return st;
      if (auto st = into.write_block(header, std::move(buf)); !st) return st;
      if (on_received) on_received(header.length);
    }
    if (header.has(block_flag::eod)) return {};
  }
  return fail(errc::invalid_argument, "peer sent more blocks than the transfer can hold");
}

}  // namespace librarian::data
