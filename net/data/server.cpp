// data_server: accept loop + one thread per connection; per-ticket sessions tie a transfer's
// control connection to its data streams.
#include "net/data/server.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <list>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "net/data/confine.hpp"
#include "net/data/receiver.hpp"
#include "net/data/sender.hpp"
#include "net/data/wire.hpp"
#include "runtime/log.hpp"

namespace librarian::data {

struct ticket_session {
  std::mutex mu;
  std::condition_variable cv;
  bool control_busy = false;
  // put
  std::shared_ptr<receiver> rx;
  unsigned eods = 0;
  unsigned data_active = 0;
  std::optional<error> stream_failure;  // why a data stream of this attempt broke (disk full, …)
  // get
  int file_fd = -1;
  uint64_t file_size = 0;
  std::vector<int> waiting_fds;
  std::set<int> released_fds;
  ~ticket_session() {
    if (file_fd >= 0) ::close(file_fd);
  }
};

namespace {
constexpr const char* log_context = "data";

// Frees the session's one control slot when a control connection ends, however it ends.
struct control_claim {
  ticket_session& s;
  ~control_claim() {
    std::lock_guard lock(s.mu);
    s.control_busy = false;
  }
};
// Files sent inline on a tree ticket's control connection; larger ones take their own ticket.
constexpr uint64_t tree_file_bytes_max = 16ull << 20;

struct connection {
  std::thread thread;
  int fd = -1;
  std::atomic<bool> done{false};
};

expected<std::string> string_of(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string())
    return fail(errc::invalid_argument, std::string("field '") + key + "' must be a string");
  return it->get<std::string>();
}

expected<uint64_t> uint_of(const nlohmann::json& j, const char* key, uint64_t lo, uint64_t hi) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned())
    return fail(errc::invalid_argument,
                std::string("field '") + key + "' must be an unsigned integer");
  auto v = it->get<uint64_t>();
  if (v < lo || v > hi)
    return fail(errc::invalid_argument, std::string("field '") + key + "' must be in " +
                                            std::to_string(lo) + ".." + std::to_string(hi));
  return v;
}

}  // namespace

struct data_server::impl {
  data_server_options options;
  std::shared_ptr<ticket_registry> tickets;
  std::shared_ptr<buffer_pool> pool;
  int listen_fd = -1;
  uint16_t port = 0;
  std::atomic<bool> stopping{false};
  std::thread acceptor;
  std::mutex conns_mu;
  std::list<std::unique_ptr<connection>> conns;

  std::atomic<uint64_t> bytes_received{0}, bytes_sent{0}, completed{0}, failed{0}, mismatches{0},
      rejected{0}, open{0};

  void accept_loop();
  void serve(connection& c);
  status serve_put_control(int fd, const std::string& ticket, ticket_registry::entry& e);
  status serve_put_data(int fd, ticket_registry::entry& e);
  status serve_get_control(int fd, const std::string& ticket, ticket_registry::entry& e);
  status serve_get_data(int fd, ticket_registry::entry& e);
  status serve_tree(int fd, ticket_registry::entry& e);
  status tree_put(int fd, const ticket_registry::entry& e, const nlohmann::json& msg);
  status tree_get(int fd, const ticket_registry::entry& e, const nlohmann::json& msg);
  void reply_error(int fd, const error& err) {
    static_cast<void>(send_frame(fd, error_frame(err)));
  }
};

data_server::data_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
data_server::~data_server() {
  stop();
}
uint16_t data_server::port() const {
  return impl_->port;
}

data_server_stats data_server::stats() const {
  return {impl_->bytes_received.load(),
          impl_->bytes_sent.load(),
          impl_->completed.load(),
          impl_->failed.load(),
          impl_->mismatches.load(),
          impl_->rejected.load(),
          impl_->open.load()};
}

expected<std::unique_ptr<data_server>> data_server::start(
    data_server_options options, std::shared_ptr<ticket_registry> tickets) {
  ignore_sigpipe();
  auto p = std::make_unique<impl>();
  p->options = options;
  p->tickets = std::move(tickets);
  p->pool = std::make_shared<buffer_pool>(4u << 20, 64);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(options.port);
  if (int rc = ::getaddrinfo(options.bind_address.c_str(), service.c_str(), &hints, &res); rc != 0)
    return fail(errc::invalid_argument, "data port: bad bind address '" + options.bind_address +
                                            "': " + ::gai_strerror(rc));
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || ::bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, 256) != 0) {
    int err = errno;
    ::freeaddrinfo(res);
    if (fd >= 0) ::close(fd);
    return fail(
        errc::unavailable,
        "data port: cannot listen on " + options.bind_address + ":" + service + ": " +
            std::strerror(err) +
            (err == EADDRINUSE ? " (another process uses the port; change listen.data_port)" : ""));
  }
  ::freeaddrinfo(res);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  p->port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  p->listen_fd = fd;
  auto* raw = p.get();
  p->acceptor = std::thread([raw] { raw->accept_loop(); });
  LIB_LOG_INFO(log_context) << "data channel listening on " << options.bind_address << ":"
                            << p->port;
  return std::unique_ptr<data_server>(new data_server(std::move(p)));
}

void data_server::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  ::shutdown(impl_->listen_fd, SHUT_RDWR);
  if (impl_->acceptor.joinable()) impl_->acceptor.join();
  ::close(impl_->listen_fd);
  std::list<std::unique_ptr<connection>> conns;
  {
    std::lock_guard lock(impl_->conns_mu);
    conns.swap(impl_->conns);
    for (auto& c : conns)
      if (!c->done) ::shutdown(c->fd, SHUT_RDWR);
  }
  for (auto& c : conns)
    if (c->thread.joinable()) c->thread.join();
}

void data_server::impl::accept_loop() {
  while (!stopping) {
    pollfd pfd{listen_fd, POLLIN, 0};
    if (::poll(&pfd, 1, 200) <= 0) continue;
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(conns_mu);
    for (auto it = conns.begin(); it != conns.end();) {
      if ((*it)->done) {
        (*it)->thread.join();
        it = conns.erase(it);
      } else {
        ++it;
      }
    }
    if (conns.size() >= options.connections_max || stopping) {
      ++rejected;
      static_cast<void>(
          send_frame(fd, error_frame(fail(errc::unavailable,
                                          "data server busy: too many connections; retry later"))));
      ::close(fd);
      continue;
    }
    auto c = std::make_unique<connection>();
    c->fd = fd;
    auto* raw = c.get();
    c->thread = std::thread([this, raw] { serve(*raw); });
    conns.push_back(std::move(c));
  }
}

void data_server::impl::serve(connection& c) {
  const int fd = c.fd;
  ++open;
  set_nodelay(fd);
  set_stall_timeout(fd, options.stall_timeout);
  set_tcp_buffers(fd, options.tcp_buffer_bytes);
  auto outcome = [&]() -> status {
    auto hello = recv_frame(fd);
    if (!hello) return hello.err();
    auto op = string_of(*hello, "op");
    if (!op || *op != "attach")
      return fail(errc::invalid_argument, "the first frame must be {\"op\":\"attach\",...}");
    auto ticket = string_of(*hello, "ticket");
    auto role = string_of(*hello, "role");
    if (!ticket) return ticket.err();
    if (!role || (*role != "control" && *role != "data"))
      return fail(errc::invalid_argument, "field 'role' must be \"control\" or \"data\"");
    auto entry = tickets->find(*ticket);
    if (!entry) {
      ++rejected;
      return entry.err();
    }
    auto& e = **entry;
    {
      std::lock_guard lock(conns_mu);  // cheap: sessions are created once per ticket
      if (!e.session) e.session = std::make_shared<ticket_session>();
    }
    const bool put = e.grant.mode == ticket_mode::put;
    if (e.grant.tree) {
      if (*role != "control")
        return fail(errc::invalid_argument, "a tree ticket takes control connections only");
      return serve_tree(fd, e);
    }
    if (*role == "control")
      return put ? serve_put_control(fd, *ticket, e) : serve_get_control(fd, *ticket, e);
    return put ? serve_put_data(fd, e) : serve_get_data(fd, e);
  }();
  if (!outcome && outcome.err().code != errc::not_found) {
    LIB_LOG_DEBUG(log_context) << "connection ended: " << outcome.err().describe();
    reply_error(fd, outcome.err());
  }
  ::close(fd);
  --open;
  c.done = true;
}

status data_server::impl::serve_put_control(int fd, const std::string& ticket,
                                            ticket_registry::entry& e) {
  auto& s = *e.session;
  std::shared_ptr<receiver> rx;
  {
    std::lock_guard lock(s.mu);
    if (s.control_busy)
      return fail(errc::conflict, "another control connection is driving this transfer");
    if (!s.rx) {
      receiver_config rc;
      rc.final_path = e.grant.path;
      rc.window_length = e.grant.size;
      rc.alg = e.grant.alg;
      rc.block_bytes_max = options.block_bytes_max;
      rc.sync_every_bytes = options.sync_every_bytes;
      rc.direct_io = options.direct_io;
      auto opened = receiver::open(rc, pool);
      if (!opened) return opened.err();
      s.rx = std::shared_ptr<receiver>(std::move(*opened));
    }
    s.control_busy = true;
    s.eods = 0;
    s.stream_failure.reset();
    rx = s.rx;
  }
  control_claim guard{s};
  if (auto st = send_frame(fd, {{"ok", true},
                                {"mode", "put"},
                                {"size", e.grant.size},
                                {"committed", rx->committed().to_string()},
                                {"block_bytes_max", options.block_bytes_max}});
      !st)
    return st;
  for (int frames = 0; frames < 1000; ++frames) {
    auto msg = recv_frame(fd);
    if (!msg) return msg.err();
    auto op = string_of(*msg, "op");
    if (!op) return op.err();
    if (*op == "abort") return {};
    if (*op != "finish")
      return fail(errc::invalid_argument, "unknown op '" + *op + "' (finish|abort)");
    auto streams = uint_of(*msg, "streams", 1, e.grant.streams_max);
    if (!streams) return streams.err();
    std::string client_sum;
    if (msg->contains("checksum")) {
      auto cs = string_of(*msg, "checksum");
      if (!cs) return cs.err();
      client_sum = *cs;
    }
    {
      std::unique_lock lock(s.mu);
      if (!s.cv.wait_for(lock, options.stall_timeout, [&] {
            return stopping || s.stream_failure || (s.eods >= *streams && s.data_active == 0);
          }))
        return fail(errc::timeout, "data streams did not all end within the stall timeout");
      // A stream that broke (disk full, bad block) is the answer to this attempt; what was
      // committed stays for the next one.
      if (s.stream_failure) {
        ++failed;
        auto why = *s.stream_failure;
        s.stream_failure.reset();
        return why;
      }
    }
    const std::string& want =
        e.grant.expected_checksum.empty() ? client_sum : e.grant.expected_checksum;
    auto done = rx->finish(want);
    if (!done) {
      if (done.err().code == errc::checksum_mismatch) {
        ++mismatches;
        rx->abandon();
        std::lock_guard lock(s.mu);
        s.rx.reset();
      }
      ++failed;
      LIB_LOG_WARN(log_context) << "upload to " << e.grant.path.string()
                                << " failed: " << done.err().describe();
      return done.err();
    }
    if (!client_sum.empty() && !e.grant.expected_checksum.empty() && client_sum != *done)
      LIB_LOG_WARN(log_context) << "client's checksum " << client_sum
                                << " differs from the verified " << *done;
    ++completed;
    if (e.grant.on_complete) e.grant.on_complete(e.grant.path, *done);
    tickets->retire(ticket);
    LIB_LOG_INFO(log_context) << "received " << e.grant.path.string() << " (" << e.grant.size
                              << " bytes, " << *done << ")"
                              << (e.grant.user.empty() ? "" : " for " + e.grant.user);
    return send_frame(
        fd, {{"ok", true}, {"checksum", *done}, {"bytes_received", rx->bytes_received()}});
  }
  return fail(errc::invalid_argument, "too many control frames");
}

status data_server::impl::serve_put_data(int fd, ticket_registry::entry& e) {
  auto& s = *e.session;
  std::shared_ptr<receiver> rx;
  {
    std::lock_guard lock(s.mu);
    if (!s.rx)
      return fail(errc::invalid_argument, "attach the control connection before data streams");
    if (s.data_active >= e.grant.streams_max)
      return fail(errc::unavailable, "too many data streams for this ticket");
    ++s.data_active;
    rx = s.rx;
  }
  status st = send_frame(fd, {{"ok", true}});
  if (st) st = receive_stream(fd, *rx, *pool, [this](uint64_t n) { bytes_received += n; });
  {
    std::lock_guard lock(s.mu);
    --s.data_active;
    if (st)
      ++s.eods;
    else if (st.err().code != errc::not_found && !s.stream_failure)
      s.stream_failure = st.err();
  }
  s.cv.notify_all();
  return st;
}

status data_server::impl::serve_get_control(int fd, const std::string& ticket,
                                            ticket_registry::entry& e) {
  auto& s = *e.session;
  {
    std::lock_guard lock(s.mu);
    if (s.control_busy)
      return fail(errc::conflict, "another control connection is driving this transfer");
    if (s.file_fd < 0) {
      int f = ::open(e.grant.path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (f < 0)
        return fail(errno == ENOENT ? errc::not_found : errc::unavailable,
                    "cannot open " + e.grant.path.string() + ": " + std::strerror(errno));
      struct stat st {};
      if (::fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(f);
        return fail(errc::invalid_argument, e.grant.path.string() + " is not a regular file");
      }
      s.file_fd = f;
      s.file_size = static_cast<uint64_t>(st.st_size);
    }
    s.control_busy = true;
  }
  control_claim guard{s};
  if (e.grant.offset > s.file_size)
    return fail(errc::invalid_argument, "partial offset " + std::to_string(e.grant.offset) +
                                            " is past the end of the file (" +
                                            std::to_string(s.file_size) + " bytes)");
  const uint64_t begin = e.grant.offset;
  const uint64_t length = std::min(e.grant.length.value_or(UINT64_MAX), s.file_size - begin);
  if (auto st = send_frame(fd, {{"ok", true},
                                {"mode", "get"},
                                {"size", s.file_size},
                                {"window_begin", begin},
                                {"window_length", length}});
      !st)
    return st;
  for (int frames = 0; frames < 1000; ++frames) {
    auto msg = recv_frame(fd);
    if (!msg) return msg.err();
    auto op = string_of(*msg, "op");
    if (!op) return op.err();
    if (*op == "close") {
      tickets->retire(ticket);
      return send_frame(fd, {{"ok", true}});
    }
    if (*op != "get") return fail(errc::invalid_argument, "unknown op '" + *op + "' (get|close)");
    auto streams = uint_of(*msg, "streams", 1, e.grant.streams_max);
    if (!streams) return streams.err();
    auto block = uint_of(*msg, "block_bytes", 4096, options.block_bytes_max);
    if (!block) return block.err();
    range_set skip;
    if (msg->contains("skip")) {
      auto text = string_of(*msg, "skip");
      if (!text) return text.err();
      auto parsed = range_set::parse(*text);
      if (!parsed) return parsed.err();
      for (auto [b, x] : parsed->ranges())
        if (b < begin || x > begin + length)
          return fail(errc::invalid_argument, "skip range " + std::to_string(b) + "-" +
                                                  std::to_string(x) + " is outside the window");
      skip = std::move(*parsed);
    }
    std::vector<int> fds;
    {
      std::unique_lock lock(s.mu);
      if (!s.cv.wait_for(lock, options.stall_timeout,
                         [&] { return stopping || s.waiting_fds.size() >= *streams; }))
        return fail(errc::timeout, "the client did not attach its data streams in time");
      if (stopping) return fail(errc::unavailable, "server stopping");
      fds.assign(s.waiting_fds.begin(), s.waiting_fds.begin() + static_cast<ptrdiff_t>(*streams));
      s.waiting_fds.erase(s.waiting_fds.begin(),
                          s.waiting_fds.begin() + static_cast<ptrdiff_t>(*streams));
    }
    send_job job;
    job.file_fd = s.file_fd;
    job.file_name = e.grant.path.string();
    job.window_begin = begin;
    job.window_length = length;
    job.skip = std::move(skip);
    job.alg = e.grant.alg;
    job.block_bytes = *block;
    job.on_sent = [this](uint64_t n) { bytes_sent += n; };
    auto sent = send_blocks(job, fds, *pool);
    {
      std::lock_guard lock(s.mu);
      s.released_fds.insert(fds.begin(), fds.end());
    }
    s.cv.notify_all();
    if (!sent) {
      ++failed;
      return sent.err();
    }
    ++completed;
    if (auto st = send_frame(fd, {{"ok", true}, {"checksum", *sent}}); !st) return st;
  }
  return fail(errc::invalid_argument, "too many control frames");
}

status data_server::impl::serve_get_data(int fd, ticket_registry::entry& e) {
  auto& s = *e.session;
  {
    std::lock_guard lock(s.mu);
    if (s.waiting_fds.size() >= e.grant.streams_max)
      return fail(errc::unavailable, "too many data streams for this ticket");
  }
  if (auto st = send_frame(fd, {{"ok", true}}); !st) return st;
  std::unique_lock lock(s.mu);
  s.waiting_fds.push_back(fd);
  s.cv.notify_all();
  // The control connection's thread writes on this socket; this thread only keeps it open until
  // the sender releases it. Bounded by the server's life: stop() sets stopping and wakes us.
  while (!stopping && !s.released_fds.contains(fd))
    s.cv.wait_for(lock, std::chrono::milliseconds(500));
  s.released_fds.erase(fd);
  std::erase(s.waiting_fds, fd);
  return fail(errc::not_found, "released");  // not_found ends the connection quietly
}

namespace {

// A file inside a tree ticket: relative, no "..", no control characters, and (after symlinks)
// still under the tree's root.
expected<std::filesystem::path> tree_member(const std::filesystem::path& root,
                                            const std::string& rel) {
  if (rel.empty() || rel.front() == '/')
    return fail(errc::invalid_argument, "a tree member's path must be relative and non-empty");
  return confine_path({root.string()}, (root / rel).string());
}

status read_payload(int fd, uint64_t size, block_buffer& into) {
  into.resize(static_cast<size_t>(size));
  return read_exact(fd, into.data(), into.size());
}

void sync_dir(const std::filesystem::path& dir) {
  int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d < 0) return;
  ::fsync(d);
  ::close(d);
}

}  // namespace

status data_server::impl::serve_tree(int fd, ticket_registry::entry& e) {
  if (auto st = send_frame(fd, {{"ok", true},
                                {"mode", e.grant.mode == ticket_mode::put ? "put" : "get"},
                                {"tree", true},
                                {"small_bytes_max", tree_file_bytes_max}});
      !st)
    return st;
  // Bounded by the ticket's lifetime and this count; each frame is one file.
  for (uint64_t frames = 0; frames < 10'000'000; ++frames) {
    auto msg = recv_frame(fd);
    if (!msg) return msg.err();
    auto op = string_of(*msg, "op");
    if (!op) return op.err();
    if (*op == "close") return send_frame(fd, {{"ok", true}});
    status st;
    if (*op == "put" && e.grant.mode == ticket_mode::put)
      st = tree_put(fd, e, *msg);
    else if (*op == "get" && e.grant.mode == ticket_mode::get)
      st = tree_get(fd, e, *msg);
    else
      return fail(errc::invalid_argument, "op '" + *op + "' does not fit this tree ticket");
    if (!st) return st;  // only errors that desynchronise the connection end it
  }
  return fail(errc::invalid_argument, "too many requests on one connection");
}

// {"op":"put","path":REL,"size":N,"checksum":"ALG:::HEX"} + N bytes -> {"ok":..,"checksum":..}.
// A refused file still has its bytes read, so the connection stays in step; its reply says why.
status data_server::impl::tree_put(int fd, const ticket_registry::entry& e,
                                   const nlohmann::json& msg) {
  auto size = uint_of(msg, "size", 0, tree_file_bytes_max);
  if (!size) return size.err();  // cannot know how many bytes follow: end the connection
  block_buffer payload = pool->take();
  if (auto st = read_payload(fd, *size, payload); !st) return st;
  auto answer = [&]() -> expected<std::string> {
    auto rel = string_of(msg, "path");
    if (!rel) return rel.err();
    auto path = tree_member(e.grant.path, *rel);
    if (!path) return path.err();
    checksum_alg alg = e.grant.alg;
    std::string want;
    if (msg.contains("checksum")) {
      auto text = string_of(msg, "checksum");
      if (!text) return text.err();
      auto parsed = parse_checksum(*text);
      if (!parsed) return parsed.err();
      alg = parsed->alg;
      want = format_checksum(parsed->alg, parsed->hex);
    }
    checksum_stream sum(alg);
    sum.update(std::span<const uint8_t>(payload.data(), payload.size()));
    const std::string got = format_checksum(alg, sum.hex_digest());
    if (!want.empty() && want != got) {
      ++mismatches;
      return fail(errc::checksum_mismatch,
                  "checksum mismatch for " + path->string() + ": received " + got);
    }
    std::error_code ec;
    std::filesystem::create_directories(path->parent_path(), ec);
    const auto part = receiver::part_path(*path);
    int out = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (out < 0)
      return fail(errno == ENOSPC ? errc::storage_full : errc::unavailable,
                  "cannot create " + part.string() + ": " + std::strerror(errno));
    size_t done = 0;
    while (done < payload.size()) {
      ssize_t w = ::write(out, payload.data() + done, payload.size() - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        int err = errno;
        ::close(out);
        ::unlink(part.c_str());
        return fail(err == ENOSPC ? errc::storage_full : errc::unavailable,
                    "cannot write " + part.string() + ": " + std::strerror(err));
      }
      done += static_cast<size_t>(w);
    }
    const bool synced = !e.grant.sync_each || ::fsync(out) == 0;
    ::close(out);
    if (!synced || ::rename(part.c_str(), path->c_str()) != 0) {
      ::unlink(part.c_str());
      return fail(errc::unavailable,
                  "cannot commit " + path->string() + ": " + std::strerror(errno));
    }
    if (e.grant.sync_each) sync_dir(path->parent_path());
    if (e.grant.on_complete) e.grant.on_complete(*path, got);
    return got;
  }();
  pool->give(std::move(payload));
  if (!answer) {
    ++failed;
    return send_frame(fd, error_frame(answer.err()));
  }
  bytes_received += *size;
  ++completed;
  return send_frame(fd, {{"ok", true}, {"checksum", *answer}});
}

// {"op":"get","path":REL} -> {"ok":true,"size":N,"checksum":..} + N bytes, or an error frame.
status data_server::impl::tree_get(int fd, const ticket_registry::entry& e,
                                   const nlohmann::json& msg) {
  block_buffer payload = pool->take();
  auto answer = [&]() -> expected<std::string> {
    auto rel = string_of(msg, "path");
    if (!rel) return rel.err();
    auto path = tree_member(e.grant.path, *rel);
    if (!path) return path.err();
    int in = ::open(path->c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
      return fail(errno == ENOENT ? errc::not_found : errc::unavailable,
                  "cannot open " + path->string() + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(in, &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<uint64_t>(st.st_size) > tree_file_bytes_max) {
      ::close(in);
      return fail(errc::invalid_argument, path->string() + " is not a regular file of at most " +
                                              std::to_string(tree_file_bytes_max) +
                                              " bytes; copy it with its own ticket");
    }
    payload.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < payload.size()) {
      ssize_t r = ::pread(in, payload.data() + got, payload.size() - got, static_cast<off_t>(got));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        ::close(in);
        return fail(errc::unavailable, "cannot read " + path->string());
      }
      got += static_cast<size_t>(r);
    }
    ::close(in);
    checksum_stream sum(e.grant.alg);
    sum.update(std::span<const uint8_t>(payload.data(), payload.size()));
    return format_checksum(e.grant.alg, sum.hex_digest());
  }();
  status st;
  if (!answer) {
    ++failed;
    st = send_frame(fd, error_frame(answer.err()));
  } else {
    st = send_frame(fd, {{"ok", true}, {"size", payload.size()}, {"checksum", *answer}});
    if (st) st = write_all(fd, payload.data(), payload.size());
    bytes_sent += payload.size();
    ++completed;
  }
  pool->give(std::move(payload));
  return st;
}

}  // namespace librarian::data
