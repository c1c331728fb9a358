#include "net/gridftp/data_channel.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>
#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <span>
#include <vector>

#include "net/data/buffer_pool.hpp"
#include "net/data/wire.hpp"
#include "net/gridftp/paths.hpp"

namespace librarian::gridftp {
namespace {

// Receive buffer per connection: big enough that pwrite calls stay efficient, small enough that
// 64 connections cost 64 MiB at most.
constexpr size_t receive_chunk_bytes = 1 << 20;

error socket_error(const boost::system::error_code& ec, const std::string& what) {
  if (ec == asio::error::would_block || ec == asio::error::try_again ||
      ec == asio::error::timed_out)
    return fail(errc::timeout, what + ": no progress before the stall timeout");
  return fail(errc::unavailable, what + ": " + ec.message());
}

// Waits for readability (accept) with a deadline, polling the cancel flag every 100 ms.
bool wait_readable(int fd, std::chrono::milliseconds timeout, const transfer_control& ctl) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!ctl.cancelled()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
    if (n > 0) return true;
  }
  return false;
}

// How a sender moves file bytes onto a data connection: sendfile hands TCP the page-cache pages
// themselves, except to a peer on this host (data::peer_is_loopback), which gets copies. With
// globus-url-copy -p 4 downloading 2 GiB over loopback, the client took 1.8 s with sendfile and
// 1.3 s with copies, as from globus-gridftp-server (which always copies).
class file_sender {
 public:
  file_sender(tcp::socket& socket, const send_job& job) : fd_(job.fd) {
    if (job.copy_for_loopback && data::peer_is_loopback(socket.native_handle()))
      buffer_.resize(copy_chunk_bytes);
  }

  // Sends `header` and then `length` bytes of the file from `offset`.
  status send(tcp::socket& socket, std::span<const uint8_t> header, uint64_t offset,
              uint64_t length, transfer_control& ctl) {
    if (!buffer_.empty()) return send_copied(socket, header, offset, length, ctl);
    boost::system::error_code ec;
    if (!header.empty()) asio::write(socket, asio::buffer(header.data(), header.size()), ec);
    if (ec) return socket_error(ec, "data connection");
    auto at = static_cast<off_t>(offset);
    while (length > 0) {
      if (ctl.cancelled()) return *ctl.why();
      ssize_t n = ::sendfile(socket.native_handle(), fd_, &at,
                             static_cast<size_t>(std::min<uint64_t>(length, 1u << 30)));
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return fail(errc::timeout, "data connection: send stalled");
        return errno_error(errno, "sendfile");
      }
      if (n == 0) return fail(errc::internal, "the file shrank while it was being sent");
      length -= static_cast<uint64_t>(n);
      ctl.bytes += static_cast<uint64_t>(n);
    }
    return {};
  }

 private:
  static constexpr size_t copy_chunk_bytes = 1 << 20;

  status send_copied(tcp::socket& socket, std::span<const uint8_t> header, uint64_t offset,
                     uint64_t length, transfer_control& ctl) {
    do {
      if (ctl.cancelled()) return *ctl.why();
      size_t want = static_cast<size_t>(std::min<uint64_t>(length, buffer_.size()));
      size_t got = 0;
      while (got < want) {
        ssize_t n =
            ::pread(fd_, buffer_.data() + got, want - got, static_cast<off_t>(offset + got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error(errno, "read");
        if (n == 0) return fail(errc::internal, "the file shrank while it was being sent");
        got += static_cast<size_t>(n);
      }
      // The header goes out with the first bytes it announces: one send, no lone tiny segment.
      std::array<asio::const_buffer, 2> parts{asio::buffer(header.data(), header.size()),
                                              asio::buffer(buffer_.data(), got)};
      boost::system::error_code ec;
      asio::write(socket, parts, ec);
      if (ec) return socket_error(ec, "data connection");
      header = {};
      offset += got;
      length -= got;
      ctl.bytes += got;
    } while (length > 0);
    return {};
  }

  int fd_;
  std::vector<uint8_t> buffer_;  // empty: sendfile
};

// Sends one header and, for data blocks, its payload from the file.
status send_block(tcp::socket& socket, file_sender& sender, const data::block_header& header,
                  uint64_t file_offset, transfer_control& ctl) {
  auto bytes = data::encode(header);
  return sender.send(socket, bytes, file_offset, header.length, ctl);
}

// Hands out the next block of the ranges to send, to whichever stream asks first.
class block_queue {
 public:
  block_queue(const std::vector<data::range_set::range>& ranges, uint64_t block_bytes)
      : ranges_(ranges), block_bytes_(std::max<uint64_t>(block_bytes, 1)) {}
  std::optional<data::range_set::range> next() {
    std::lock_guard lock{mutex_};
    while (index_ < ranges_.size()) {
      auto [begin, end] = ranges_[index_];
      uint64_t at = std::max(begin, cursor_);
      if (at >= end) {
        ++index_;
        continue;
      }
      uint64_t stop = std::min(end, at + block_bytes_);
      cursor_ = stop;
      return data::range_set::range{at, stop};
    }
    return std::nullopt;
  }

 private:
  std::mutex mutex_;
  const std::vector<data::range_set::range>& ranges_;
  uint64_t block_bytes_;
  size_t index_ = 0;
  uint64_t cursor_ = 0;
};

}  // namespace

void ignore_sigpipe() {
  // sendfile(2) has no MSG_NOSIGNAL: a peer that closes mid-transfer would raise SIGPIPE and
  // kill the whole process (the node, or the CLI). EPIPE is handled as an error instead.
  static std::once_flag once;
  std::call_once(once, [] { ::signal(SIGPIPE, SIG_IGN); });
}

void transfer_control::attach(int fd) {
  std::lock_guard lock{mutex_};
  fds_.push_back(fd);
  if (cancelled_) ::shutdown(fd, SHUT_RDWR);
}

void transfer_control::detach(int fd) {
  std::lock_guard lock{mutex_};
  fds_.erase(std::remove(fds_.begin(), fds_.end(), fd), fds_.end());
}

void transfer_control::cancel(error why) {
  std::lock_guard lock{mutex_};
  if (!cancelled_) why_ = std::move(why);
  cancelled_ = true;
  for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
}

std::optional<error> transfer_control::why() const {
  std::lock_guard lock{mutex_};
  return why_;
}

void tune_socket(int fd, int buffer_bytes, std::chrono::milliseconds io_timeout) {
  if (buffer_bytes > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof buffer_bytes);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
  }
  if (io_timeout.count() > 0) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(io_timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((io_timeout.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
}

expected<tcp::socket> connect_with_timeout(asio::io_context& io, const host_port& to,
                                           std::chrono::milliseconds timeout, int buffer_bytes,
                                           const transfer_control* ctl) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(to.host, ec);
  if (ec) return fail(errc::invalid_argument, "not an IP address: " + to.host);
  tcp::endpoint endpoint{address, to.port};
  tcp::socket socket{io};
  socket.open(endpoint.protocol(), ec);
  if (ec) return socket_error(ec, "socket");
  // Buffer sizes must be set before connect for the window scale to take them into account.
  tune_socket(socket.native_handle(), buffer_bytes, std::chrono::milliseconds{0});
  socket.non_blocking(true, ec);
  socket.connect(endpoint, ec);
  if (ec == asio::error::would_block || ec == asio::error::in_progress) {
    // Polled in slices so a stopping server or a cancelled transfer does not wait it out.
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int n = 0;
    while (n == 0) {
      if (ctl && ctl->cancelled()) return *ctl->why();
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{socket.native_handle(), POLLOUT, 0};
      n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
      if (n < 0 && errno == EINTR) n = 0;
    }
    if (n <= 0)
      return fail(errc::timeout,
                  "connect to " + to.host + ":" + std::to_string(to.port) + " timed out");
    int so_error = 0;
    socklen_t len = sizeof so_error;
    ::getsockopt(socket.native_handle(), SOL_SOCKET, SO_ERROR, &so_error, &len);
    ec = so_error ? boost::system::error_code{so_error, boost::system::system_category()}
                  : boost::system::error_code{};
  }
  if (ec)
    return fail(errc::unavailable,
                "connect to " + to.host + ":" + std::to_string(to.port) + ": " + ec.message());
  socket.non_blocking(false, ec);
  return socket;
}

expected<tcp::acceptor> listen_on(asio::io_context& io, const asio::ip::address& address,
                                  int buffer_bytes) {
  boost::system::error_code ec;
  tcp::acceptor acceptor{io};
  tcp::endpoint endpoint{address, 0};
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    // Accepted sockets inherit the listener's buffer sizes, which is the only way to get a large
    // window on the passive side.
    tune_socket(acceptor.native_handle(), buffer_bytes, std::chrono::milliseconds{0});
    acceptor.bind(endpoint, ec);
  }
  if (!ec) acceptor.listen(64, ec);
  if (ec) return socket_error(ec, "data listener on " + address.to_string());
  return acceptor;
}

expected<tcp::socket> accept_with_timeout(tcp::acceptor& acceptor,
                                          std::chrono::milliseconds timeout,
                                          transfer_control& ctl) {
  if (!wait_readable(acceptor.native_handle(), timeout, ctl)) {
    if (ctl.cancelled()) return *ctl.why();
    return fail(errc::timeout,
                "no data connection arrived within " + std::to_string(timeout.count()) + " ms");
  }
  boost::system::error_code ec;
  tcp::socket socket{acceptor.get_executor()};
  acceptor.accept(socket, ec);
  if (ec) return socket_error(ec, "accept");
  return socket;
}

status send_mode_e(std::vector<tcp::socket>& sockets, const send_job& job, transfer_control& ctl,
                   bool keep_open) {
  ignore_sigpipe();
  if (sockets.empty()) return fail(errc::internal, "MODE E send without data connections");
  block_queue queue{job.ranges, job.block_bytes};
  std::mutex failure_mutex;
  std::optional<error> failure;
  auto stream = [&](tcp::socket& socket) {
    file_sender sender{socket, job};
    while (auto block = queue.next()) {
      data::block_header header{0, block->second - block->first, block->first - job.wire_base};
      auto st = send_block(socket, sender, header, block->first, ctl);
      if (!st) {
        std::lock_guard lock{failure_mutex};
        if (!failure) failure = st.err();
        ctl.cancel(st.err());
        return;
      }
    }
  };
  std::vector<std::thread> threads;
  for (auto& socket : sockets) {
    ctl.attach(socket.native_handle());
    threads.emplace_back(stream, std::ref(socket));
  }
  for (auto& t : threads) t.join();
  if (!failure) {
    // EOD on every connection; the first also carries EOF with the number of EODs to expect.
    for (size_t i = 0; i < sockets.size() && !failure; ++i) {
      data::block_header end{data::block_flag::eod, 0, 0};
      if (i == 0) {
        end.flags |= data::block_flag::eof;
        end.offset = sockets.size();
      }
      file_sender sender{sockets[i], job};
      auto st = send_block(sockets[i], sender, end, 0, ctl);
      if (!st) failure = st.err();
    }
  }
  for (auto& socket : sockets) {
    ctl.detach(socket.native_handle());
    if (keep_open && !failure) continue;
    boost::system::error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    socket.close(ec);
  }
  if (failure) return *failure;
  return {};
}

status send_stream(tcp::socket& socket, const send_job& job, transfer_control& ctl) {
  ignore_sigpipe();
  ctl.attach(socket.native_handle());
  status result;
  file_sender sender{socket, job};
  for (auto [begin, end] : job.ranges) {
    result = sender.send(socket, {}, begin, end - begin, ctl);
    if (!result && ctl.cancelled()) result = *ctl.why();
    if (!result) break;
  }
  ctl.detach(socket.native_handle());
  boost::system::error_code ec;
  socket.shutdown(tcp::socket::shutdown_send, ec);
  socket.close(ec);
  return result;
}

mode_e_receiver::mode_e_receiver(int fd, data::block_limits limits, uint64_t file_base,
                                 transfer_control& ctl, bool direct_io)
    : fd_(fd), direct_(direct_io ? fd : -1), limits_(limits), file_base_(file_base), ctl_(ctl) {}

mode_e_receiver::~mode_e_receiver() {
  stop();
}

void mode_e_receiver::stop() {
  {
    std::lock_guard lock{mutex_};
    if (!failure_ && !(eods_expected_ && eods_seen_ >= *eods_expected_))
      failure_ = fail(errc::unavailable, "transfer stopped");
  }
  ctl_.cancel(fail(errc::unavailable, "transfer stopped"));
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

status mode_e_receiver::add_connection(tcp::socket socket) {
  std::lock_guard lock{mutex_};
  if (threads_.size() >= limits_.eod_count_max)
    return fail(errc::invalid_argument, "too many data connections");
  ctl_.attach(socket.native_handle());
  threads_.emplace_back([this, s = std::move(socket)]() mutable { read_connection(std::move(s)); });
  return {};
}

bool mode_e_receiver::finished() const {
  std::lock_guard lock{mutex_};
  return failure_.has_value() || (eods_expected_ && eods_seen_ >= *eods_expected_);
}

bool mode_e_receiver::wait_for(std::chrono::milliseconds timeout) {
  std::unique_lock lock{mutex_};
  return changed_.wait_for(lock, timeout, [&] {
    return failure_.has_value() || (eods_expected_ && eods_seen_ >= *eods_expected_);
  });
}

status mode_e_receiver::result() const {
  std::lock_guard lock{mutex_};
  if (failure_) return *failure_;
  if (!(eods_expected_ && eods_seen_ >= *eods_expected_))
    return fail(errc::unavailable, "transfer not finished");
  return {};
}

data::range_set mode_e_receiver::written() const {
  std::lock_guard lock{mutex_};
  return written_;
}

std::vector<tcp::socket> mode_e_receiver::take_idle() {
  std::lock_guard lock{mutex_};
  return std::move(idle_);
}

size_t mode_e_receiver::connections() const {
  std::lock_guard lock{mutex_};
  return threads_.size();
}

void mode_e_receiver::finish_with(error err) {
  {
    std::lock_guard lock{mutex_};
    if (!failure_ && !(eods_expected_ && eods_seen_ >= *eods_expected_)) failure_ = err;
  }
  changed_.notify_all();
  ctl_.cancel(std::move(err));
}

void mode_e_receiver::read_connection(tcp::socket socket) {
  data::block_buffer buffer(receive_chunk_bytes);  // page-aligned, for direct writes
  boost::system::error_code ec;
  // Bounded: every iteration consumes a header (empty non-EOD blocks are refused by validate),
  // and the peer's data is bounded by the window the limits allow.
  for (;;) {
    std::array<uint8_t, data::block_header_bytes> raw{};
    asio::read(socket, asio::buffer(raw), ec);
    if (ec) {
      if (!ctl_.cancelled())
        finish_with(ec == asio::error::eof
                        ? fail(errc::unavailable, "data connection closed before EOD")
                        : socket_error(ec, "data connection"));
      break;
    }
    auto header = data::decode(std::span<const uint8_t, data::block_header_bytes>{raw});
    if (auto st = data::validate(header, limits_); !st) {
      finish_with(st.err());
      break;
    }
    if (header.has(data::block_flag::eof)) {
      std::lock_guard lock{mutex_};
      if (eods_expected_ && *eods_expected_ != header.offset) {
        failure_ = fail(errc::invalid_argument, "two EOFs announce different EOD counts");
      }
      eods_expected_ = header.offset;
    } else if (header.length > 0) {
      if (file_base_ > UINT64_MAX - header.offset - header.length) {
        finish_with(fail(errc::invalid_argument, "block offset overflows the file"));
        break;
      }
      uint64_t left = header.length;
      uint64_t at = file_base_ + header.offset;
      bool ok = true;
      while (left > 0 && ok) {
        size_t want = static_cast<size_t>(std::min<uint64_t>(left, buffer.size()));
        asio::read(socket, asio::buffer(buffer.data(), want), ec);
        if (ec) {
          if (!ctl_.cancelled()) finish_with(socket_error(ec, "data connection (mid-block)"));
          ok = false;
          break;
        }
        auto direct = direct_.write(buffer.data(), want, at);
        if (direct.error != 0) {
          finish_with(errno_error(direct.error, "write"));
          ok = false;
          break;
        }
        size_t done = direct.written ? want : 0;
        while (done < want) {
          ssize_t n =
              ::pwrite(fd_, buffer.data() + done, want - done, static_cast<off_t>(at + done));
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) {
            finish_with(errno_error(n < 0 ? errno : ENOSPC, "write"));
            ok = false;
            break;
          }
          done += static_cast<size_t>(n);
        }
        // Start writeback of buffered bytes now (asynchronously), so the fdatasync before each
        // range marker and at the end finds little left to write and disk and network overlap.
        if (!direct.written)
          ::sync_file_range(fd_, static_cast<off_t>(at), static_cast<off_t>(want),
                            SYNC_FILE_RANGE_WRITE);
        left -= want;
        at += want;
        ctl_.bytes += want;
      }
      if (!ok) break;
      std::lock_guard lock{mutex_};
      written_.add(file_base_ + header.offset, file_base_ + header.offset + header.length);
    }
    if (header.has(data::block_flag::eod)) {
      ctl_.detach(socket.native_handle());
      {
        std::lock_guard lock{mutex_};
        ++eods_seen_;
        if (eods_expected_ && eods_seen_ > *eods_expected_ && !failure_)
          failure_ = fail(errc::invalid_argument, "more EODs than the EOF announced");
        // The sender may reuse a connection after EOD (GridFTP data channel caching) unless it
        // said it will close it.
        if (!header.has(data::block_flag::sender_closes)) idle_.push_back(std::move(socket));
      }
      changed_.notify_all();
      return;
    }
    // Waiters only care about the end of the transfer: an EOF may complete it (its EODs can
    // arrive first); a data block cannot, and waking them per block costs a context switch.
    if (header.has(data::block_flag::eof)) changed_.notify_all();
  }
  ctl_.detach(socket.native_handle());
  socket.close(ec);
  changed_.notify_all();
}

expected<uint64_t> receive_stream(tcp::socket& socket, int fd, uint64_t file_offset,
                                  std::optional<uint64_t> bytes_max, transfer_control& ctl) {
  std::vector<uint8_t> buffer(receive_chunk_bytes);
  ctl.attach(socket.native_handle());
  uint64_t total = 0;
  std::optional<error> failure;
  for (;;) {
    boost::system::error_code ec;
    size_t n = socket.read_some(asio::buffer(buffer), ec);
    if (ec == asio::error::eof) break;
    if (ec) {
      failure = ctl.cancelled() ? *ctl.why() : socket_error(ec, "data connection");
      break;
    }
    if (bytes_max && total + n > *bytes_max) {
      failure = fail(errc::invalid_argument, "more data than the transfer allows");
      break;
    }
    size_t done = 0;
    while (done < n) {
      ssize_t w = ::pwrite(fd, buffer.data() + done, n - done,
                           static_cast<off_t>(file_offset + total + done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        failure = errno_error(w < 0 ? errno : ENOSPC, "write");
        break;
      }
      done += static_cast<size_t>(w);
    }
    if (failure) break;
    total += n;
    ctl.bytes += n;
  }
  ctl.detach(socket.native_handle());
  boost::system::error_code ec;
  socket.close(ec);
  if (failure) return *failure;
  return total;
}

}  // namespace librarian::gridftp
