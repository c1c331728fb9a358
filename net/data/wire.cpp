// Socket plumbing for the data channel.
#include "net/data/wire.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>

namespace librarian::data {
namespace {

error socket_error(const char* what, int err) {
  if (err == EAGAIN || err == EWOULDBLOCK)
    return fail(errc::timeout,
                std::string(what) + ": the peer stalled (no progress within the stall timeout)");
  return fail(errc::unavailable, std::string(what) + ": " + std::strerror(err));
}

}  // namespace

void set_stall_timeout(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

void set_tcp_buffers(int fd, int bytes) {
  if (bytes <= 0) return;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

void ignore_sigpipe() {
  static std::once_flag once;
  std::call_once(once, [] { ::signal(SIGPIPE, SIG_IGN); });
}

bool peer_is_loopback(int fd) {
  sockaddr_storage peer{};
  socklen_t len = sizeof peer;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) return false;
  if (peer.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(peer);
    return (ntohl(a.sin_addr.s_addr) >> 24) == 127;
  }
  if (peer.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127;
  }
  return false;
}

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

status write_all(int fd, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return socket_error("send failed", errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return {};
}

status write_block(int fd, const block_header& header, const uint8_t* payload) {
  auto head = encode(header);
  iovec iov[2];
  iov[0].iov_base = head.data();
  iov[0].iov_len = head.size();
  iov[1].iov_base = const_cast<uint8_t*>(payload);
  iov[1].iov_len = static_cast<size_t>(header.length);
  int count = header.length > 0 ? 2 : 1;
  size_t left = head.size() + (header.length > 0 ? iov[1].iov_len : 0);
  iovec* cur = iov;
  while (left > 0) {
    msghdr msg{};
    msg.msg_iov = cur;
    msg.msg_iovlen = static_cast<size_t>(count);
    ssize_t w = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return socket_error("send failed", errno);
    }
    left -= static_cast<size_t>(w);
    size_t adv = static_cast<size_t>(w);
    while (count > 0 && adv >= cur->iov_len) {
      adv -= cur->iov_len;
      ++cur;
      --count;
    }
    if (count > 0) {
      cur->iov_base = static_cast<uint8_t*>(cur->iov_base) + adv;
      cur->iov_len -= adv;
    }
  }
  return {};
}

status read_exact(int fd, void* data, size_t n) {
  auto* p = static_cast<uint8_t*>(data);
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::recv(fd, p + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return socket_error("receive failed", errno);
    }
    if (r == 0)
      return fail(
          got == 0 ? errc::not_found : errc::unavailable,
          got == 0 ? "peer closed the connection" : "peer closed the connection mid-message");
    got += static_cast<size_t>(r);
  }
  return {};
}

void append_frame(std::string& out, const nlohmann::json& message) {
  std::string body = message.dump();
  LIB_ASSERT(body.size() <= frame_bytes_max);
  const auto n = static_cast<uint32_t>(body.size());
  const char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                       static_cast<char>(n >> 8), static_cast<char>(n)};
  out.append(len, 4);
  out += body;
}

status send_frame(int fd, const nlohmann::json& message) {
  std::string out;
  append_frame(out, message);
  return write_all(fd, out.data(), out.size());
}

namespace {

// One frame through `read(data, n)`, a socket's or a buffered reader's read_exact.
template <class Read>
expected<nlohmann::json> read_frame(Read&& read) {
  uint8_t len[4];
  if (auto st = read(len, 4); !st) return st.err();
  uint32_t n =
      (uint32_t{len[0]} << 24) | (uint32_t{len[1]} << 16) | (uint32_t{len[2]} << 8) | len[3];
  if (n == 0 || n > frame_bytes_max)
    return fail(errc::invalid_argument, "control frame of " + std::to_string(n) +
                                            " bytes (must be 1.." +
                                            std::to_string(frame_bytes_max) + ")");
  std::string body(n, '\0');
  if (auto st = read(body.data(), n); !st) return st.err();
  try {
    auto j = nlohmann::json::parse(body);
    if (!j.is_object()) return fail(errc::invalid_argument, "control frame is not a JSON object");
    return j;
  } catch (const nlohmann::json::exception& e) {
    return fail(errc::invalid_argument,
                std::string("control frame is not valid JSON: ") + e.what());
  }
}

}  // namespace

expected<nlohmann::json> recv_frame(int fd) {
  return read_frame([fd](void* to, size_t n) { return read_exact(fd, to, n); });
}

buffered_reader::buffered_reader(int fd, size_t capacity) : fd_(fd), buffer_(capacity) {
  LIB_ASSERT(capacity >= direct_read_bytes);
}

status buffered_reader::fill() {
  LIB_ASSERT(begin_ == end_);
  begin_ = end_ = 0;
  for (;;) {
    ssize_t r = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return socket_error("receive failed", errno);
    }
    if (r == 0) return fail(errc::not_found, "peer closed the connection");
    end_ = static_cast<size_t>(r);
    return {};
  }
}

status buffered_reader::read_exact(void* data, size_t n) {
  auto* p = static_cast<uint8_t*>(data);
  size_t got = 0;
  while (got < n) {
    if (begin_ == end_) {
      // Large reads go straight to their destination: copying them through the buffer would
      // cost more than the recv calls it saves.
      const bool direct = n - got >= direct_read_bytes;
      auto st = direct ? data::read_exact(fd_, p + got, n - got) : fill();
      if (!st && got != 0 && st.err().code == errc::not_found)
        return fail(errc::unavailable, "peer closed the connection mid-message");
      if (!st || direct) return st;
    }
    const size_t take = std::min(n - got, end_ - begin_);
    std::memcpy(p + got, buffer_.data() + begin_, take);
    begin_ += take;
    got += take;
  }
  return {};
}

expected<nlohmann::json> buffered_reader::recv_frame() {
  return read_frame([this](void* to, size_t n) { return read_exact(to, n); });
}

nlohmann::json error_frame(const error& err) {
  return {{"ok", false}, {"error", std::string(name(err.code))}, {"message", err.message}};
}

status check_reply(const nlohmann::json& reply) {
  auto ok = reply.find("ok");
  if (ok == reply.end() || !ok->is_boolean())
    return fail(errc::invalid_argument, "reply without a boolean 'ok'");
  if (ok->get<bool>()) return {};
  errc code = errc::internal;
  if (auto e = reply.find("error"); e != reply.end() && e->is_string())
    code = errc_from_name(e->get<std::string>()).value_or(errc::internal);
  std::string message = "peer error";
  if (auto m = reply.find("message"); m != reply.end() && m->is_string())
    message = m->get<std::string>();
  return fail(code, message);
}

expected<int> connect_tcp(const std::string& host, uint16_t port,
                          std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0)
    return fail(errc::unavailable, "cannot resolve " + host + ": " + ::gai_strerror(rc));
  error last = fail(errc::unavailable, "no address for " + host);
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd pfd{fd, POLLOUT, 0};
      int polled = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
      if (polled == 1) {
        int soerr = 0;
        socklen_t len = sizeof soerr;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
        rc = soerr == 0 ? 0 : -1;
        errno = soerr;
      } else {
        if (polled == 0) errno = ETIMEDOUT;
        rc = -1;
      }
    }
    if (rc == 0) {
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      ::freeaddrinfo(res);
      set_nodelay(fd);
      return fd;
    }
    last = fail(errc::unavailable,
                "cannot connect to " + host + ":" + service + ": " + std::strerror(errno));
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return last;
}

}  // namespace librarian::data
