// Beast implementation of the HTTP server: one session object per connection, reading one request
// at a time (no pipelining) and answering through a respond_fn that any thread may call.
//
// Each I/O thread runs its own io_context, and a connection lives on one of them for its whole
// life (assigned round-robin at accept). Everything a session does then runs on one thread without
// strands or locks, and a request is served without waking another thread: sharing one context
// between the threads cost a futex call and most of a context switch per request. Read and write
// deadlines are a time stamp per session that each thread's sweep checks a few times per timeout,
// instead of an Asio timer armed and cancelled around every read and write.
#include "net/http/server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "net/http/url.hpp"
#include "runtime/crypto/crypto.hpp"
#include "runtime/log.hpp"

namespace librarian::net::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view log_context = "http";
// After an error that closes the connection, unread request bytes are drained (up to this many,
// for at most drain_time) so closing does not reset the socket before the client reads the error.
constexpr size_t drain_bytes_max = size_t{4} << 20;
constexpr std::chrono::milliseconds drain_time{1000};
constexpr std::chrono::milliseconds accept_retry_delay{50};

using clock_type = std::chrono::steady_clock;
using executor_type = asio::io_context::executor_type;
// Bound to the io_context's own executor: no type-erased any_io_executor in every operation.
using socket_type = asio::basic_stream_socket<tcp, executor_type>;
using timer_type =
    asio::basic_waitable_timer<clock_type, asio::wait_traits<clock_type>, executor_type>;

// Counted by one I/O thread each (summed by stats()), so requests on two threads do not share a
// cache line.
struct io_counters {
  std::array<std::atomic<uint64_t>, 5> responses_by_class{};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
};

struct shared_counters {
  std::atomic<uint64_t> connections_open{0};
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_refused{0};
  std::atomic<uint64_t> handler_timeouts{0};
};

// Guards against answers arriving after stop(): respond_fn checks `alive` under the mutex and
// only then touches the session, so nothing runs against a destroyed io_context.
struct lifeline {
  std::mutex mutex;
  bool alive = true;
};

// One per request: whoever claims it first (the handler or the timeout) answers.
struct reply_slot {
  std::atomic<bool> claimed{false};
  [[nodiscard]] bool try_claim() { return !claimed.exchange(true); }
};

class session;

// One I/O thread: its io_context, the sessions living on it and the sweep that enforces their
// deadlines. `sessions` is touched only on this thread.
struct worker {
  asio::io_context io{1};  // first: destroyed last, after the timer that belongs to it
  timer_type sweep{io.get_executor()};
  asio::executor_work_guard<executor_type> keep_running{io.get_executor()};
  std::vector<std::weak_ptr<session>> sessions;
  io_counters counters;
  std::thread thread;
};

// State every session shares; outlives all sessions (declared before the io_context).
struct core {
  server_options options;
  handler_fn handler;
  shared_counters counters;
  std::shared_ptr<lifeline> life = std::make_shared<lifeline>();
  std::mutex sessions_mutex;
  std::unordered_map<uint64_t, std::weak_ptr<session>> sessions;
  uint64_t session_id_next = 0;
};

// Boost 1.74's beast::string_view is boost::string_view; convert explicitly at the boundary.
std::string_view sv(beast::string_view text) {
  return {text.data(), text.size()};
}

// A request id only has to be unique (it ties a log line to an answer), not secret: a random
// per-process prefix and a counter, instead of drawing random bytes for every request.
std::string pick_request_id(std::string_view offered) {
  if (request_id_is_sane(offered)) return std::string{offered};
  static const std::string prefix = crypto::random_token(6) + "-";
  static std::atomic<uint64_t> counter{0};
  static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  uint64_t n = counter.fetch_add(1, std::memory_order_relaxed);
  char text[16];
  size_t len = 0;
  do {
    text[len++] = digits[n % 36];
    n /= 36;
  } while (n != 0 && len < sizeof text);
  std::string out = prefix;
  out.append(std::make_reverse_iterator(text + len), std::make_reverse_iterator(text));
  return out;
}

bool is_http_parse_error(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category();
}

// RFC 9110 token characters: what a header field's name may be made of.
bool is_header_name(std::string_view name) {
  static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) != 0 || extra.find(c) != std::string_view::npos;
  });
}

// "Name: value\r\n"; CR, LF and NUL in the value become spaces, so no value (a file name in a
// Content-Disposition, say) can end the field early and inject another.
void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ");
  size_t start = out.size();
  out.append(value);
  for (size_t i = start; i < out.size(); ++i)
    if (out[i] == '\r' || out[i] == '\n' || out[i] == '\0') out[i] = ' ';
  out.append("\r\n");
}

std::string endpoint_text(const tcp::endpoint& endpoint) {
  auto address = endpoint.address();
  std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

}  // namespace

namespace {

class session : public std::enable_shared_from_this<session> {
 public:
  session(core& shared, worker& home, uint64_t id, socket_type socket)
      : core_(shared),
        home_(home),
        id_(id),
        socket_(std::move(socket)),
        handler_timer_(socket_.get_executor()) {
    beast::error_code ec;
    auto remote = socket_.remote_endpoint(ec);
    if (!ec) remote_address_ = endpoint_text(remote);
  }

  ~session() {
    std::lock_guard lock(core_.sessions_mutex);
    core_.sessions.erase(id_);
    core_.counters.connections_open--;
  }

  // Joins the home thread's sessions and starts reading, on that thread.
  void run() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      self->home_.sessions.push_back(self);
      self->read_header();
    });
  }

  // Only from stop(), after the I/O threads are joined: nothing else touches the socket then.
  void close_now() { close_gracefully(); }

  // From the home thread's sweep: a read or write that has run past its deadline ends the
  // connection (its pending operation then completes with an error and closes nothing twice).
  void check_deadline(clock_type::time_point now) {
    if (now >= deadline_) {
      deadline_ = clock_type::time_point::max();
      close_gracefully();
    }
  }

 private:
  void read_header();
  void on_header(beast::error_code ec, size_t bytes);
  void read_body();
  void on_body(beast::error_code ec, size_t bytes);
  void on_read_error(beast::error_code ec);
  void dispatch_request();
  request make_request(bhttp::request<bhttp::string_body>&& message) const;
  respond_fn make_respond(const std::shared_ptr<reply_slot>& slot);
  void arm_handler_timer(const std::shared_ptr<reply_slot>& slot);
  void send(response answer, bool close_after = false);
  // The handler's answer, on this session's thread: no timeout any more, and it goes out.
  void answer(response res) {
    handler_timer_.cancel();
    send(std::move(res));
  }
  void on_write(beast::error_code ec, size_t bytes);
  void fail_and_close(int status, errc code, std::string message);
  void drain();
  void close_gracefully();
  void expires_after(std::chrono::milliseconds timeout) { deadline_ = clock_type::now() + timeout; }

  core& core_;
  worker& home_;
  uint64_t id_;
  socket_type socket_;
  timer_type handler_timer_;
  // When the pending read or write must have finished; max() while the handler has the request.
  clock_type::time_point deadline_ = clock_type::time_point::max();
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string head_;        // the response's status line and header fields, capacity kept across
  std::string body_;        // requests; both go out in one gathering write
  bool keep_open_ = false;  // whether the connection stays open after this response
  bhttp::response<bhttp::empty_body> continue_;
  std::string remote_address_;
  std::string request_id_;
  bool keep_alive_ = false;
  bool http10_ = false;  // the request was HTTP/1.0: keep-alive must then be said explicitly
  bool drain_after_write_ = false;
  size_t drained_bytes_ = 0;
  std::array<char, 8192> drain_buffer_{};
};

void session::read_header() {
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(core_.options.header_max_bytes));
  parser_->body_limit(core_.options.body_max_bytes);
  request_id_.clear();
  keep_alive_ = false;
  expires_after(core_.options.read_timeout);
  bhttp::async_read_header(socket_, buffer_, *parser_,
                           beast::bind_front_handler(&session::on_header, shared_from_this()));
}

void session::on_header(beast::error_code ec, size_t bytes) {
  home_.counters.bytes_in.fetch_add(bytes, std::memory_order_relaxed);
  if (ec) return on_read_error(ec);
  const auto& header = parser_->get();
  request_id_ = pick_request_id(sv(header["x-request-id"]));
  keep_alive_ = header.keep_alive();
  http10_ = header.version() == 10;
  auto length = parser_->content_length();
  if (length && *length > core_.options.body_max_bytes) {
    return fail_and_close(413, errc::invalid_argument,
                          "request body of " + std::to_string(*length) +
                              " bytes exceeds the limit of " +
                              std::to_string(core_.options.body_max_bytes) + " bytes");
  }
  if (beast::iequals(header[bhttp::field::expect], "100-continue")) {
    // curl and most clients wait for this before sending a large body.
    continue_ = bhttp::response<bhttp::empty_body>{bhttp::status::continue_, header.version()};
    expires_after(core_.options.read_timeout);
    return bhttp::async_write(
        socket_, continue_, [self = shared_from_this()](beast::error_code write_ec, size_t n) {
          self->home_.counters.bytes_out.fetch_add(n, std::memory_order_relaxed);
          if (write_ec) return self->close_gracefully();
          self->read_body();
        });
  }
  read_body();
}

void session::read_body() {
  if (parser_->is_done()) return dispatch_request();
  expires_after(core_.options.read_timeout);
  bhttp::async_read(socket_, buffer_, *parser_,
                    beast::bind_front_handler(&session::on_body, shared_from_this()));
}

void session::on_body(beast::error_code ec, size_t bytes) {
  home_.counters.bytes_in.fetch_add(bytes, std::memory_order_relaxed);
  if (ec) return on_read_error(ec);
  dispatch_request();
}

void session::on_read_error(beast::error_code ec) {
  if (ec == bhttp::error::body_limit) {
    return fail_and_close(413, errc::invalid_argument,
                          "request body exceeds the limit of " +
                              std::to_string(core_.options.body_max_bytes) + " bytes");
  }
  if (ec == bhttp::error::header_limit) {
    return fail_and_close(431, errc::invalid_argument,
                          "request header exceeds the limit of " +
                              std::to_string(core_.options.header_max_bytes) + " bytes");
  }
  // A clean close between requests, or the sweep closed an idle or slow connection (the read
  // then ends with an error): nothing to tell anyone.
  if (ec == bhttp::error::end_of_stream) return close_gracefully();
  if (is_http_parse_error(ec)) {
    return fail_and_close(400, errc::invalid_argument, "malformed HTTP request: " + ec.message());
  }
  close_gracefully();
}

request session::make_request(bhttp::request<bhttp::string_body>&& message) const {
  request out;
  out.method = std::string{sv(message.method_string())};
  std::string_view target = sv(message.target());
  size_t question = target.find('?');
  out.path = std::string{target.substr(0, question)};
  for (const auto& field : message) {
    std::string lower{sv(field.name_string())};
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view value = sv(field.value());
    auto [it, inserted] = out.headers.emplace(lower, std::string{value});
    if (!inserted) it->second.append(", ").append(value);
  }
  out.body = std::move(message.body());
  out.request_id = request_id_;
  out.remote_address = remote_address_;
  return out;
}

void session::dispatch_request() {
  deadline_ = clock_type::time_point::max();  // the handler timer covers the wait for the answer
  auto message = parser_->release();
  std::string_view target = sv(message.target());
  if (target.empty() || target.front() != '/') {
    return fail_and_close(400, errc::invalid_argument, "request target must start with '/'");
  }
  size_t question = target.find('?');
  auto query = question == std::string_view::npos ? std::map<std::string, std::string>{}
                                                  : parse_query(target.substr(question + 1));
  if (!query) {
    return fail_and_close(400, errc::invalid_argument, "malformed percent-escape in the query");
  }
  request req = make_request(std::move(message));
  req.query = std::move(*query);
  auto slot = std::make_shared<reply_slot>();
  try {
    core_.handler(std::move(req), make_respond(slot));
  } catch (const std::exception& e) {
    LIB_LOG_ERROR(log_context) << "handler threw for request " << request_id_ << ": " << e.what();
    if (slot->try_claim())
      send(error_response(error{errc::internal, "handler failed"}, request_id_));
  }
  // Armed only for a request the handler did not answer at once (many are answered on this
  // thread, inside the call): a timer set and cancelled per request costs a timer-queue insert
  // and an aborted completion. An answer from another thread cannot slip between the check and
  // the arming: it is dispatched to this session's thread, which we are still running on, so it
  // runs (and cancels the timer) after this function returns.
  if (!slot->claimed.load()) arm_handler_timer(slot);
}

void session::arm_handler_timer(const std::shared_ptr<reply_slot>& slot) {
  // The pending wait holds the session alive until the handler answers or the timeout fires.
  handler_timer_.expires_after(core_.options.handler_timeout);
  handler_timer_.async_wait([self = shared_from_this(), slot](beast::error_code ec) {
    if (ec || !slot->try_claim()) return;
    self->core_.counters.handler_timeouts++;
    auto ms = self->core_.options.handler_timeout.count();
    self->send(error_response(
        error{errc::timeout, "the request was not answered within " + std::to_string(ms) + " ms"},
        self->request_id_));
  });
}

respond_fn session::make_respond(const std::shared_ptr<reply_slot>& slot) {
  return [weak = weak_from_this(), slot, life = core_.life](response answer) {
    // An answer given on the session's own I/O thread (most reads answer inside the handler
    // call) is sent at once, without the lifeline: its io_context is running this very code, so
    // stop() cannot be past joining this thread. Taking the lifeline here serialized the I/O
    // threads on one mutex for the whole send (9 % of a single-query load was waiting on it).
    if (auto self = weak.lock(); self && self->socket_.get_executor().running_in_this_thread()) {
      if (slot->try_claim()) self->answer(std::move(answer));
      return;
    }
    std::lock_guard lock(life->mutex);
    // `self` is released before the lock, so a session never dies while stop() is running.
    // The session is held before the answer is claimed: once it is claimed, dispatch_request
    // arms no handler timer, so from then on this reference may be all that keeps the session
    // alive until the answer is queued (claiming first let the session die in between, and the
    // client saw the connection close with no answer).
    auto self = weak.lock();
    if (!self || !slot->try_claim() || !life->alive) return;
    // From another thread (an actor's answer): queued to the session's thread.
    asio::post(self->socket_.get_executor(),
               [self, answer = std::move(answer)]() mutable { self->answer(std::move(answer)); });
  };
}

void session::send(response answer, bool close_after) {
  if (answer.status < 100 || answer.status > 599) {
    LIB_LOG_ERROR(log_context) << "handler answered with invalid status " << answer.status;
    answer = error_response(error{errc::internal, "invalid response status"}, request_id_);
  }
  // Written by hand rather than by Beast's serializer, which cost more than the rest of sending.
  const auto status = static_cast<unsigned>(answer.status);
  keep_open_ = keep_alive_ && !close_after;
  head_.assign("HTTP/1.1 ");
  head_.append(std::to_string(status));
  head_ += ' ';
  head_.append(sv(bhttp::obsolete_reason(bhttp::int_to_status(status))));
  head_.append("\r\n");
  for (const auto& [name, value] : answer.headers) {
    // Framing is the server's business (a handler's copy could desynchronize the connection),
    // and the fields set below are set once.
    if (beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
        beast::iequals(name, "connection") || beast::iequals(name, "server") ||
        beast::iequals(name, "content-type") || beast::iequals(name, "x-request-id"))
      continue;
    if (!is_header_name(name)) {
      LIB_LOG_ERROR(log_context) << "handler set a header with an invalid name; dropped";
      continue;
    }
    append_field(head_, name, value);
  }
  append_field(head_, "Server", "librarian");
  append_field(head_, "Content-Type", answer.content_type);
  append_field(head_, "X-Request-Id", request_id_);
  // No body, and no length, in a 1xx, 204 or 304 (RFC 9110 8.6).
  if (status < 200 || status == 204 || status == 304) {
    answer.body.clear();
  } else {
    append_field(head_, "Content-Length", std::to_string(answer.body.size()));
  }
  if (!keep_open_) {
    append_field(head_, "Connection", "close");
  } else if (http10_) {
    append_field(head_, "Connection", "keep-alive");
  }
  head_.append("\r\n");
  body_ = std::move(answer.body);
  home_.counters.responses_by_class[status / 100 - 1].fetch_add(1, std::memory_order_relaxed);
  expires_after(core_.options.read_timeout);
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(body_)};
  asio::async_write(socket_, buffers,
                    beast::bind_front_handler(&session::on_write, shared_from_this()));
}

void session::on_write(beast::error_code ec, size_t bytes) {
  home_.counters.bytes_out.fetch_add(bytes, std::memory_order_relaxed);
  if (ec) return close_gracefully();
  if (drain_after_write_) {
    // Half-close so the client sees the end of our answer, then swallow what it still sends.
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    expires_after(drain_time);  // one deadline for the whole drain, not per read
    return drain();
  }
  if (!keep_open_) return close_gracefully();
  read_header();
}

void session::fail_and_close(int status, errc code, std::string message) {
  if (request_id_.empty()) request_id_ = pick_request_id({});
  drain_after_write_ = true;
  send(error_response(status, error{code, std::move(message)}, request_id_), true);
}

void session::drain() {
  if (drained_bytes_ >= drain_bytes_max) return close_gracefully();
  socket_.async_read_some(asio::buffer(drain_buffer_),
                          [self = shared_from_this()](beast::error_code ec, size_t n) {
                            self->drained_bytes_ += n;
                            if (ec) return self->close_gracefully();
                            self->drain();
                          });
}

void session::close_gracefully() {
  if (!socket_.is_open()) return;
  beast::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

std::vector<std::unique_ptr<worker>> make_workers(size_t threads) {
  std::vector<std::unique_ptr<worker>> out;
  for (size_t i = 0; i < threads; ++i) out.push_back(std::make_unique<worker>());
  return out;
}

}  // namespace

struct server::impl {
  explicit impl(size_t threads)
      : workers(make_workers(threads)),
        acceptor(workers.front()->io.get_executor()),
        accept_retry(acceptor.get_executor()) {}

  core shared;  // first: destroyed last, after each io_context has destroyed its sessions
  // Before the acceptor and its timer, which live on the first worker's io_context and so must
  // go before it does.
  std::vector<std::unique_ptr<worker>> workers;
  asio::basic_socket_acceptor<tcp, executor_type> acceptor;
  timer_type accept_retry;
  size_t next_worker = 0;  // round-robin; only on the accepting (first) worker's thread
  std::chrono::milliseconds sweep_interval{500};
  uint16_t port = 0;
  bool stopped = false;

  void accept();
  void on_accept(beast::error_code ec, socket_type socket, worker& home);
  void sweep(worker& w);
};

void server::impl::accept() {
  worker& home = *workers[next_worker];
  next_worker = (next_worker + 1) % workers.size();
  acceptor.async_accept(home.io, [this, &home](beast::error_code ec, socket_type socket) {
    on_accept(ec, std::move(socket), home);
  });
}

// Closes the connections on `w` whose read or write is past its deadline, forgets those gone.
void server::impl::sweep(worker& w) {
  w.sweep.expires_after(sweep_interval);
  w.sweep.async_wait([this, &w](beast::error_code ec) {
    if (ec) return;
    auto now = clock_type::now();
    std::erase_if(w.sessions, [now](const std::weak_ptr<session>& weak) {
      auto conn = weak.lock();
      if (!conn) return true;
      conn->check_deadline(now);
      return false;
    });
    sweep(w);
  });
}

void server::impl::on_accept(beast::error_code ec, socket_type socket, worker& home) {
  if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
  if (ec) {
    // EMFILE and friends: back off briefly instead of spinning on a failing accept.
    LIB_LOG_WARN(log_context) << "accept failed: " << ec.message();
    accept_retry.expires_after(accept_retry_delay);
    accept_retry.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec) accept();
    });
    return;
  }
  if (shared.counters.connections_open.load() >= shared.options.connections_max) {
    shared.counters.connections_refused++;
    beast::error_code ignored;
    socket.close(ignored);
    return accept();
  }
  shared.counters.connections_open++;
  shared.counters.connections_accepted++;
  std::shared_ptr<session> conn;
  {
    std::lock_guard lock(shared.sessions_mutex);
    uint64_t id = shared.session_id_next++;
    conn = std::make_shared<session>(shared, home, id, std::move(socket));
    shared.sessions.emplace(id, conn);
  }
  conn->run();
  accept();
}

namespace {

status validate(const server_options& options) {
  if (options.threads < 1 || options.threads > 256)
    return fail(errc::invalid_argument, "http threads must be 1..256");
  if (options.connections_max < 1) return fail(errc::invalid_argument, "connections_max is 0");
  if (options.header_max_bytes < 1024 || options.header_max_bytes > (size_t{1} << 30))
    return fail(errc::invalid_argument, "header_max_bytes must be 1 KiB..1 GiB");
  if (options.read_timeout.count() <= 0 || options.handler_timeout.count() <= 0)
    return fail(errc::invalid_argument, "http timeouts must be positive");
  return {};
}

status bind_and_listen(asio::basic_socket_acceptor<tcp, executor_type>& acceptor,
                       const server_options& options) {
  beast::error_code ec;
  auto address = asio::ip::make_address(options.bind_address, ec);
  if (ec) {
    return fail(errc::invalid_argument,
                "http bind address '" + options.bind_address + "' is not an IP address");
  }
  tcp::endpoint endpoint{address, options.port};
  std::string where = endpoint_text(endpoint);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return fail(errc::unavailable, "cannot listen for HTTP on " + where + ": " + ec.message() +
                                       "; stop the process using that port or change the "
                                       "node's http port in its config");
  }
  return {};
}

}  // namespace

expected<std::unique_ptr<server>> server::start(server_options options, handler_fn handler) {
  LIB_ASSERT(handler != nullptr);
  if (auto ok = validate(options); !ok) return ok.err();
  auto state = std::make_unique<impl>(options.threads);
  // Several sweeps per timeout, so a deadline is enforced within about a tenth of it.
  state->sweep_interval = std::clamp(options.read_timeout / 8, std::chrono::milliseconds{10},
                                     std::chrono::milliseconds{500});
  state->shared.options = std::move(options);
  state->shared.handler = std::move(handler);
  if (auto ok = bind_and_listen(state->acceptor, state->shared.options); !ok) return ok.err();
  state->port = state->acceptor.local_endpoint().port();
  state->accept();
  for (auto& w : state->workers) {
    state->sweep(*w);
    // Handlers are ours and do not throw; anything escaping is a bug worth crashing on.
    w->thread = std::thread([io = &w->io] { io->run(); });
  }
  LIB_LOG_INFO(log_context) << "listening on " << state->shared.options.bind_address << ":"
                            << state->port;
  return std::make_unique<server>(private_tag{}, std::move(state));
}

server::server(private_tag /*only start() constructs*/, std::unique_ptr<impl> state)
    : impl_(std::move(state)) {}

server::~server() {
  stop();
}

uint16_t server::port() const {
  return impl_->port;
}

void server::stop() {
  // Joining from an I/O thread would wait for itself.
  for (auto& w : impl_->workers) {
    LIB_ASSERT_MSG(!w->io.get_executor().running_in_this_thread(),
                   "server::stop() called from a handler");
  }
  if (impl_->stopped) return;
  impl_->stopped = true;
  {
    std::lock_guard lock(impl_->shared.life->mutex);
    impl_->shared.life->alive = false;
  }
  for (auto& w : impl_->workers) w->io.stop();
  for (auto& w : impl_->workers)
    if (w->thread.joinable()) w->thread.join();
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
  // Collect first: closing may drop the last reference, and ~session takes sessions_mutex.
  std::vector<std::shared_ptr<session>> open;
  {
    std::lock_guard lock(impl_->shared.sessions_mutex);
    for (auto& [id, weak] : impl_->shared.sessions)
      if (auto conn = weak.lock()) open.push_back(std::move(conn));
  }
  for (auto& conn : open) conn->close_now();
  LIB_LOG_INFO(log_context) << "stopped; closed " << open.size() << " connection(s)";
}

server::counters server::stats() const {
  const auto& c = impl_->shared.counters;
  counters out;
  for (const auto& w : impl_->workers) {
    for (size_t i = 0; i < out.responses_by_class.size(); ++i)
      out.responses_by_class[i] += w->counters.responses_by_class[i].load();
    out.bytes_in += w->counters.bytes_in.load();
    out.bytes_out += w->counters.bytes_out.load();
  }
  out.connections_open = c.connections_open.load();
  out.connections_accepted = c.connections_accepted.load();
  out.connections_refused = c.connections_refused.load();
  out.handler_timeouts = c.handler_timeouts.load();
  return out;
}

}  // namespace librarian::net::http
