#include "net/gridftp/client.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "net/gridftp/checksum_fd.hpp"
#include "net/gridftp/command.hpp"
#include "net/gridftp/data_channel.hpp"
#include "net/gridftp/paths.hpp"

namespace librarian::gridftp {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

constexpr auto connect_timeout = 30s;
// A reply line longer than this is not from a GridFTP server we can talk to.
constexpr size_t reply_line_bytes_max = 16384;
constexpr auto persist_interval = 1s;

error protocol_error(const std::string& what, const reply& r) {
  errc code = errc::unavailable;
  if (r.code == 550)
    code = r.text.find("ermission") != std::string::npos ? errc::forbidden : errc::not_found;
  else if (r.code == 530)
    code = errc::unauthenticated;
  else if (r.code == 452 || r.code == 552)
    code = errc::storage_full;
  else if (r.code == 553 || r.code == 501 || r.code == 504)
    code = errc::invalid_argument;
  else if (r.code == 421)
    code = errc::unavailable;
  return fail(code, what + ": " + r.text);
}

// One control connection: blocking, with the stall timeout on every read.
class control {
 public:
  explicit control(asio::io_context& io) : socket_(io) {}

  status open(const url& u, std::chrono::milliseconds timeout) {
    where_ = u.to_string();
    boost::system::error_code ec;
    tcp::resolver resolver{socket_.get_executor()};
    auto results = resolver.resolve(u.host, std::to_string(u.port), ec);
    if (ec || results.empty()) return fail(errc::unavailable, "cannot resolve " + u.host);
    auto address = results.begin()->endpoint().address().to_string();
    auto s = connect_with_timeout(
        static_cast<asio::io_context&>(socket_.get_executor().context()),
        host_port{address, u.port},
        std::chrono::duration_cast<std::chrono::milliseconds>(connect_timeout), 0);
    if (!s) return s.err();
    socket_ = std::move(*s);
    tune_socket(socket_.native_handle(), 0, timeout);
    auto hello = read_reply();
    if (!hello) return hello.err();
    if (hello->code != 220) return protocol_error("greeting from " + where_, *hello);
    auto user = command("USER " + u.user);
    if (!user) return user.err();
    if (user->code == 331) {
      user = command("PASS " + u.password);
      if (!user) return user.err();
    }
    if (user->code != 230) return protocol_error("login to " + where_, *user);
    auto feat = command("FEAT");
    if (feat && feat->code == 211) {
      std::istringstream lines{feat->text};
      std::string line;
      while (std::getline(lines, line)) {
        if (line.rfind(" CKSM ", 0) == 0) {
          std::string algs = line.substr(6);
          size_t start = 0;
          while (start < algs.size()) {
            auto semi = algs.find(';', start);
            auto item = algs.substr(start, semi - start);
            checksums_.insert(upper(item.substr(0, item.find(':'))));
            if (semi == std::string::npos) break;
            start = semi + 1;
          }
        }
      }
    }
    return {};
  }

  status send(const std::string& line) {
    boost::system::error_code ec;
    asio::write(socket_, asio::buffer(line + "\r\n"), ec);
    if (ec) return fail(errc::unavailable, where_ + ": control connection: " + ec.message());
    return {};
  }

  expected<reply> read_reply() {
    std::array<char, 4096> buffer{};
    // Bounded: each pass consumes a line or at least one byte; the reply reader caps lines.
    for (;;) {
      auto line = lines_.next_line();
      if (!line) return fail(errc::unavailable, where_ + ": " + line.err().message);
      if (line->has_value()) {
        auto r = replies_.feed_line(**line);
        if (!r) return fail(errc::unavailable, where_ + ": " + r.err().message);
        if (r->has_value()) return **r;
        continue;
      }
      boost::system::error_code ec;
      size_t n = socket_.read_some(asio::buffer(buffer), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again)
        return fail(errc::timeout, where_ + ": no reply before the stall timeout");
      if (ec) return fail(errc::unavailable, where_ + ": control connection: " + ec.message());
      lines_.feed(std::string_view{buffer.data(), n});
    }
  }

  expected<reply> command(const std::string& line) {
    if (auto st = send(line); !st) return st.err();
    return read_reply();
  }

  // A command that must succeed with a 2xx/3xx reply.
  expected<reply> require(const std::string& line) {
    auto r = command(line);
    if (!r) return r;
    if (!r->ok()) return protocol_error(line.substr(0, line.find(' ')) + " on " + where_, *r);
    return r;
  }

  // Reads replies until the final one of a transfer, handing 1xx (markers) to on_mark.
  expected<reply> final_reply(const std::function<void(const reply&)>& on_mark) {
    // Bounded by the stall timeout per reply and by the server ending the transfer.
    for (;;) {
      auto r = read_reply();
      if (!r) return r;
      if (!r->preliminary()) return r;
      if (on_mark) on_mark(*r);
    }
  }

  [[nodiscard]] asio::ip::address local_address() const {
    boost::system::error_code ec;
    return socket_.local_endpoint(ec).address();
  }
  [[nodiscard]] std::string peer_host() const {
    boost::system::error_code ec;
    return socket_.remote_endpoint(ec).address().to_string();
  }
  [[nodiscard]] bool offers_checksum(const std::string& alg) const {
    return checksums_.count(alg) > 0;
  }
  [[nodiscard]] const std::string& where() const { return where_; }

  void quit() {
    boost::system::error_code ec;
    auto bye = command("QUIT");
    static_cast<void>(bye);
    socket_.close(ec);
  }

 private:
  tcp::socket socket_;
  line_reader lines_{reply_line_bytes_max};
  reply_reader replies_;
  std::string where_;
  std::set<std::string> checksums_;
};

// Parses "111 Range Marker a-b,c-d" into ranges.
void absorb_range_marker(const reply& r, data::range_set& into) {
  constexpr std::string_view prefix = "111 Range Marker ";
  if (r.code != 111 || r.text.rfind(prefix, 0) != 0) return;
  auto ranges = data::range_set::parse(std::string_view{r.text}.substr(prefix.size()));
  if (ranges) into.add(*ranges);
}

std::optional<uint64_t> perf_marker_bytes(const reply& r) {
  constexpr std::string_view key = "Stripe Bytes Transferred: ";
  if (r.code != 112) return std::nullopt;
  auto at = r.text.find(key);
  if (at == std::string::npos) return std::nullopt;
  auto rest = std::string_view{r.text}.substr(at + key.size());
  return parse_u64(rest.substr(0, rest.find('\n')));
}

expected<host_port> passive_address(control& c, bool extended) {
  if (extended) {
    auto r = c.require("EPSV");
    if (!r) return r.err();
    auto port = parse_epsv_reply(r->text);
    if (!port) return port.err();
    return host_port{c.peer_host(), *port};
  }
  auto r = c.require("PASV");
  if (!r) return r.err();
  auto open = r->text.find('(');
  auto hp = parse_port_arg(open == std::string::npos ? r->text.substr(4) : r->text.substr(open));
  if (!hp) return fail(errc::unavailable, c.where() + ": bad PASV reply: " + r->text);
  // A server behind NAT or bound to any address may announce 0.0.0.0: use its control address.
  if (hp->host == "0.0.0.0") hp->host = c.peer_host();
  return hp;
}

// The checksum algorithm both sides offer: the one asked for, else MD5 (every GridFTP server).
expected<std::string> pick_checksum(const data::transfer_options& opts,
                                    const std::vector<const control*>& servers) {
  std::string wanted = upper(data::name(opts.alg));
  for (const auto& candidate : {wanted, std::string{"MD5"}}) {
    bool all = true;
    for (auto* s : servers) all = all && s->offers_checksum(candidate);
    if (all) return candidate;
  }
  return fail(errc::invalid_argument, "the server does not offer CKSM " + wanted + " or MD5");
}

expected<std::string> cksm(control& c, const std::string& alg, uint64_t offset,
                           std::optional<uint64_t> length, const std::string& path) {
  auto r = c.require("CKSM " + alg + " " + std::to_string(offset) + " " +
                     (length ? std::to_string(*length) : std::string{"-1"}) + " " + path);
  if (!r) return r.err();
  if (r->code != 213 || r->text.size() < 5)
    return fail(errc::unavailable, "bad CKSM reply: " + r->text);
  auto hex = r->text.substr(4);
  while (!hex.empty() && (hex.back() == ' ' || hex.back() == '\r')) hex.pop_back();
  for (auto& ch : hex) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return hex;
}

struct window {
  uint64_t offset = 0;
  uint64_t length = 0;
  bool partial = false;
};

window window_for(const data::transfer_options& opts, uint64_t size) {
  window w;
  w.partial = opts.partial_offset > 0 || opts.partial_length.has_value();
  w.offset = std::min(opts.partial_offset, size);
  uint64_t left = size - w.offset;
  w.length = opts.partial_length ? std::min(*opts.partial_length, left) : left;
  return w;
}

expected<uint64_t> remote_size(control& c, const std::string& path) {
  auto r = c.require("SIZE " + path);
  if (!r) return r.err();
  auto n = parse_u64(r->text.size() > 4 ? std::string_view{r->text}.substr(4) : std::string_view{});
  if (!n) return fail(errc::unavailable, "bad SIZE reply: " + r->text);
  return *n;
}

status setup_session(control& c, const data::transfer_options& opts) {
  if (auto r = c.require("TYPE I"); !r) return r.err();
  if (auto r = c.require(opts.streams == 0 ? "MODE S" : "MODE E"); !r) return r.err();
  if (opts.tcp_buffer_bytes > 0) {
    // What globus-url-copy -tcp-bs sends; a server without it keeps its default (not fatal).
    auto r = c.command("SITE RETRBUFSIZE " + std::to_string(opts.tcp_buffer_bytes));
    if (!r) return r.err();
  }
  return {};
}

std::chrono::milliseconds stall_of(const data::transfer_options& opts) {
  return opts.stall_timeout.count() > 0 ? opts.stall_timeout : std::chrono::milliseconds{600000};
}

// The sidecar that makes downloads restartable: "window OFFSET LENGTH SIZE\nRANGES\n".
struct sidecar {
  std::string path;
  window w;
  uint64_t size = 0;

  [[nodiscard]] std::string header() const {
    return "window " + std::to_string(w.offset) + " " + std::to_string(w.length) + " " +
           std::to_string(size);
  }
  data::range_set load() const {
    std::ifstream in{path};
    std::string first, second;
    if (!in || !std::getline(in, first) || first != header()) return {};
    std::getline(in, second);
    auto ranges = data::range_set::parse(second);
    return ranges ? *ranges : data::range_set{};
  }
  status save(const data::range_set& ranges) const {
    std::string tmp = path + ".tmp";
    unique_fd fd{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    if (!fd.valid()) return errno_error(errno, tmp);
    std::string text = header() + "\n" + ranges.to_string() + "\n";
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
        ::fsync(fd.get()) != 0)
      return errno_error(errno, tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0) return errno_error(errno, path);
    return {};
  }
};

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

void report_progress(const data::transfer_options& opts, uint64_t done, uint64_t total,
                     clock_type::time_point started) {
  if (opts.on_progress)
    opts.on_progress(data::transfer_progress{done, total, seconds_since(started)});
}

// Receives the download's data (MODE E or S) into fd; persists ranges through `car`.
status receive_download(control& c, const url& src, const data::transfer_options& opts,
                        const window& w, int fd, data::range_set& have, const sidecar& car,
                        clock_type::time_point started) {
  asio::io_context io;
  transfer_control ctl;
  auto stall = stall_of(opts);
  std::string retr = w.partial ? "ERET P " + std::to_string(w.offset) + " " +
                                     std::to_string(w.length) + " " + src.path
                               : "RETR " + src.path;
  if (opts.streams == 0) {
    uint64_t start = have.contiguous_end(0);
    auto hp = passive_address(c, !c.local_address().is_v4());
    if (!hp) return hp.err();
    if (start > 0)
      if (auto r = c.require("REST " + std::to_string(start)); !r) return r.err();
    if (auto st = c.send(retr); !st) return st;
    // Connect before reading the 150: globus-gridftp-server sends it only once the data
    // connection is up. A refused RETR still accepts the connection (listen backlog).
    auto socket = connect_with_timeout(io, *hp, stall, opts.tcp_buffer_bytes);
    auto first = c.read_reply();
    if (!first) return first.err();
    if (!first->preliminary()) return protocol_error("RETR " + src.to_string(), *first);
    if (!socket) return socket.err();
    tune_socket(socket->native_handle(), opts.tcp_buffer_bytes, stall);
    auto n = receive_stream(*socket, fd, start, w.length - start, ctl);
    if (n) have.add(start, start + *n);
    if (::fdatasync(fd) == 0) static_cast<void>(car.save(have));
    auto last = c.final_reply(nullptr);
    if (!n) return n.err();
    if (!last) return last.err();
    if (last->code != 226 && last->code != 250)
      return protocol_error("RETR " + src.to_string(), *last);
    return {};
  }
  if (auto r = c.require("OPTS RETR Parallelism=" + std::to_string(opts.streams) + "," +
                         std::to_string(opts.streams) + "," + std::to_string(opts.streams) + ";");
      !r)
    return r.err();
  auto acceptor = listen_on(io, c.local_address(), opts.tcp_buffer_bytes);
  if (!acceptor) return acceptor.err();
  boost::system::error_code ec;
  auto port = acceptor->local_endpoint(ec).port();
  auto local = c.local_address();
  std::string port_cmd = local.is_v4()
                             ? "PORT " + format_port_arg({local.to_string(), port})
                             : "EPRT |2|" + local.to_string() + "|" + std::to_string(port) + "|";
  if (auto r = c.require(port_cmd); !r) return r.err();
  if (!have.empty())
    if (auto r = c.require("REST " + have.to_string()); !r) return r.err();
  if (auto st = c.send(retr); !st) return st;
  auto first = c.read_reply();
  if (!first) return first.err();
  if (!first->preliminary()) return protocol_error("RETR " + src.to_string(), *first);
  data::block_limits limits;
  limits.file_bytes = w.length;
  limits.window_end = w.length;
  mode_e_receiver receiver{fd, limits, 0, ctl};
  std::thread acceptor_thread([&] {
    bool first_connection = true;
    while (!receiver.finished() && !ctl.cancelled()) {
      // Short slices after the first connection so the end of the transfer is noticed at once.
      auto socket = accept_with_timeout(*acceptor, first_connection ? stall : 20ms, ctl);
      if (!socket) {
        if (first_connection) ctl.cancel(socket.err());
        if (first_connection) break;
        continue;
      }
      first_connection = false;
      tune_socket(socket->native_handle(), opts.tcp_buffer_bytes, stall);
      if (auto st = receiver.add_connection(std::move(*socket)); !st) {
        ctl.cancel(st.err());
        break;
      }
    }
  });
  auto last_persist = clock_type::now();
  auto last_progress = clock_type::now();
  uint64_t last_bytes = 0;
  uint64_t before = have.covered();
  // Bounded by the stall timeout.
  while (!receiver.wait_for(200ms) && !ctl.cancelled()) {
    auto now = clock_type::now();
    uint64_t bytes = ctl.bytes.load();
    if (bytes != last_bytes) {
      last_bytes = bytes;
      last_progress = now;
    } else if (now - last_progress > stall) {
      ctl.cancel(fail(errc::timeout, "no data from " + src.to_string() + " for " +
                                         std::to_string(stall.count()) + " ms"));
      break;
    }
    if (now - last_persist >= persist_interval) {
      last_persist = now;
      auto snapshot = receiver.written();
      if (::fdatasync(fd) == 0) {
        data::range_set all = have;
        all.add(snapshot);
        static_cast<void>(car.save(all));
      }
    }
    report_progress(opts, before + bytes, w.length, started);
  }
  status result = receiver.result();
  if (!result && ctl.why()) result = *ctl.why();
  receiver.stop();
  acceptor_thread.join();
  have.add(receiver.written());
  if (::fdatasync(fd) == 0) static_cast<void>(car.save(have));
  if (!result) return result;
  auto last = c.final_reply(nullptr);
  if (!last) return last.err();
  if (last->code != 226 && last->code != 250)
    return protocol_error("RETR " + src.to_string(), *last);
  if (!have.contains(0, w.length))
    return fail(errc::unavailable,
                "the server ended the transfer with data missing: have " + have.to_string());
  return {};
}

}  // namespace

expected<data::transfer_report> download(std::string_view src_url, const std::string& local_path,
                                         const data::transfer_options& opts) {
  auto src = parse_url(src_url);
  if (!src) return src.err();
  auto started = clock_type::now();
  asio::io_context io;
  control c{io};
  if (auto st = c.open(*src, stall_of(opts)); !st) return st.err();
  if (auto st = setup_session(c, opts); !st) return st.err();
  auto size = remote_size(c, src->path);
  if (!size) return size.err();
  auto w = window_for(opts, *size);
  std::string part = local_path + ".gridftp-part";
  sidecar car{part + ".ranges", w, *size};
  data::range_set have = car.load();
  // A sidecar without its partial file (or the reverse) is not a restart point.
  struct stat st {};
  if (::stat(part.c_str(), &st) != 0) have.clear();
  int flags = O_RDWR | O_CREAT | O_CLOEXEC | (have.empty() ? O_TRUNC : 0);
  unique_fd fd{::open(part.c_str(), flags, 0644)};
  if (!fd.valid()) return errno_error(errno, part);
  data::transfer_report report;
  report.bytes_total = w.length;
  report.bytes_resumed = have.covered(0, w.length);
  if (!have.contains(0, w.length)) {
    if (auto st2 = receive_download(c, *src, opts, w, fd.get(), have, car, started); !st2)
      return st2.err();
  }
  if (::ftruncate(fd.get(), static_cast<off_t>(w.length)) != 0 || ::fsync(fd.get()) != 0)
    return errno_error(errno, part);
  report.bytes = w.length - report.bytes_resumed;
  if (opts.verify_checksum) {
    auto alg = pick_checksum(opts, {&c});
    if (!alg) return alg.err();
    auto remote = cksm(c, *alg, w.offset, w.length, src->path);
    if (!remote) return remote.err();
    auto local = checksum_fd(fd.get(), *data::parse_checksum_alg(*alg), 0, w.length);
    if (!local) return local.err();
    if (*local != *remote) {
      // The partial data cannot be trusted; the next run starts afresh.
      ::unlink(car.path.c_str());
      return fail(errc::checksum_mismatch, "CKSM " + *alg + " of " + src->to_string() + " is " +
                                               *remote + ", the downloaded copy has " + *local);
    }
    report.checksum = data::format_checksum(*data::parse_checksum_alg(*alg), *local);
  }
  if (::rename(part.c_str(), local_path.c_str()) != 0) return errno_error(errno, local_path);
  ::unlink(car.path.c_str());
  c.quit();
  report.seconds = seconds_since(started);
  report_progress(opts, w.length, w.length, started);
  return report;
}

expected<data::transfer_report> upload(const std::string& local_path, std::string_view dst_url,
                                       const data::transfer_options& opts,
                                       data::range_set* committed) {
  auto dst = parse_url(dst_url);
  if (!dst) return dst.err();
  auto started = clock_type::now();
  unique_fd fd{::open(local_path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd.valid()) return errno_error(errno, local_path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    return fail(errc::invalid_argument, local_path + " is not a regular file");
  auto w = window_for(opts, static_cast<uint64_t>(st.st_size));
  data::range_set local_done;
  data::range_set& done = committed ? *committed : local_done;
  asio::io_context io;
  control c{io};
  auto stall = stall_of(opts);
  if (auto s = c.open(*dst, stall); !s) return s.err();
  if (auto s = setup_session(c, opts); !s) return s.err();
  data::transfer_report report;
  report.bytes_total = w.length;
  report.bytes_resumed = done.covered(0, w.length);
  auto hp = passive_address(c, !c.local_address().is_v4());
  if (!hp) return hp.err();
  if (!w.partial)
    if (auto r = c.require("ALLO " + std::to_string(w.length)); !r) return r.err();
  if (opts.streams == 0) {
    if (done.contiguous_end(0) > 0)
      if (auto r = c.require("REST " + std::to_string(done.contiguous_end(0))); !r) return r.err();
  } else if (!done.empty()) {
    if (auto r = c.require("REST " + done.to_string()); !r) return r.err();
  }
  std::string stor =
      w.partial ? "ESTO A " + std::to_string(w.offset) + " " + dst->path : "STOR " + dst->path;
  if (auto s = c.send(stor); !s) return s.err();
  // Ranges to send are in local file coordinates; the wire counts from the window's start.
  std::vector<data::range_set::range> ranges;
  data::range_set done_local;
  for (auto [b, e] : done.ranges()) done_local.add(w.offset + b, w.offset + std::min(e, w.length));
  if (opts.streams == 0) {
    uint64_t from = w.offset + done.contiguous_end(0);
    if (from < w.offset + w.length) ranges.emplace_back(from, w.offset + w.length);
  } else {
    ranges = done_local.missing(w.offset, w.offset + w.length);
  }
  transfer_control ctl;
  status sent;
  std::thread sender([&] {
    std::vector<tcp::socket> sockets;
    unsigned n = opts.streams == 0 ? 1 : opts.streams;
    for (unsigned i = 0; i < n; ++i) {
      auto s = connect_with_timeout(io, *hp, stall, opts.tcp_buffer_bytes);
      if (!s) {
        sent = s.err();
        return;
      }
      tune_socket(s->native_handle(), opts.tcp_buffer_bytes, stall);
      sockets.push_back(std::move(*s));
    }
    send_job job{fd.get(), ranges, w.offset, std::max<uint64_t>(opts.block_bytes, 4096)};
    sent =
        opts.streams == 0 ? send_stream(sockets.front(), job, ctl) : send_mode_e(sockets, job, ctl);
  });
  // The control channel is read while the sender runs, so markers never back up; progress is
  // reported from here.
  std::atomic<bool> sender_done{false};
  std::thread progress([&] {
    for (unsigned tick = 0; !sender_done; ++tick) {
      if (tick % 10 == 0)
        report_progress(opts, report.bytes_resumed + ctl.bytes.load(), w.length, started);
      std::this_thread::sleep_for(20ms);  // short, so joining at the end costs nothing
    }
  });
  // The sender connects without waiting for the 150: globus-gridftp-server sends it only once
  // a data connection is up. A refusal (5xx) instead of 150 cancels the sender.
  auto last = c.final_reply([&](const reply& r) { absorb_range_marker(r, done); });
  if (!last || !sent || (last->code != 226 && last->code != 250))
    ctl.cancel(fail(errc::unavailable, "transfer failed"));
  sender.join();
  sender_done = true;
  progress.join();
  if (!last) return last.err();
  if (last->code != 226 && last->code != 250)
    return protocol_error("STOR " + dst->to_string(), *last);
  if (!sent) return sent.err();
  done.add(0, w.length);
  report.bytes = w.length - report.bytes_resumed;
  if (opts.verify_checksum) {
    auto alg = pick_checksum(opts, {&c});
    if (!alg) return alg.err();
    auto remote = cksm(c, *alg, w.offset, w.length, dst->path);
    if (!remote) return remote.err();
    auto local = checksum_fd(fd.get(), *data::parse_checksum_alg(*alg), w.offset, w.length);
    if (!local) return local.err();
    if (*local != *remote)
      return fail(errc::checksum_mismatch, "CKSM " + *alg + " of " + dst->to_string() + " is " +
                                               *remote + ", the local file has " + *local);
    report.checksum = data::format_checksum(*data::parse_checksum_alg(*alg), *local);
  }
  c.quit();
  report.seconds = seconds_since(started);
  report_progress(opts, w.length, w.length, started);
  return report;
}

expected<data::transfer_report> third_party(std::string_view src_url, std::string_view dst_url,
                                            const data::transfer_options& opts,
                                            data::range_set* committed) {
  auto src = parse_url(src_url);
  if (!src) return src.err();
  auto dst = parse_url(dst_url);
  if (!dst) return dst.err();
  auto started = clock_type::now();
  auto stall = stall_of(opts);
  asio::io_context io;
  control s{io}, d{io};
  if (auto st = s.open(*src, stall); !st) return st.err();
  if (auto st = d.open(*dst, stall); !st) return st.err();
  if (auto st = setup_session(s, opts); !st) return st.err();
  if (auto st = setup_session(d, opts); !st) return st.err();
  auto size = remote_size(s, src->path);
  if (!size) return size.err();
  auto w = window_for(opts, *size);
  data::range_set local_done;
  data::range_set& done = committed ? *committed : local_done;
  data::transfer_report report;
  report.bytes_total = w.length;
  report.bytes_resumed = done.covered(0, w.length);
  if (opts.streams > 0)
    if (auto r = s.require("OPTS RETR Parallelism=" + std::to_string(opts.streams) + "," +
                           std::to_string(opts.streams) + "," + std::to_string(opts.streams) + ";");
        !r)
      return r.err();
  auto hp = passive_address(d, false);
  if (!hp) return hp.err();
  if (!w.partial)
    if (auto r = d.require("ALLO " + std::to_string(w.length)); !r) return r.err();
  std::string rest;
  if (opts.streams == 0 && done.contiguous_end(0) > 0)
    rest = std::to_string(done.contiguous_end(0));
  if (opts.streams > 0 && !done.empty()) rest = done.to_string();
  if (!rest.empty()) {
    if (auto r = d.require("REST " + rest); !r) return r.err();
  }
  std::string stor =
      w.partial ? "ESTO A " + std::to_string(w.offset) + " " + dst->path : "STOR " + dst->path;
  std::string retr = w.partial ? "ERET P " + std::to_string(w.offset) + " " +
                                     std::to_string(w.length) + " " + src->path
                               : "RETR " + src->path;
  if (auto st = d.send(stor); !st) return st.err();
  if (auto r = s.require("PORT " + format_port_arg(*hp)); !r) return r.err();
  if (!rest.empty())
    if (auto r = s.require("REST " + rest); !r) return r.err();
  if (auto st = s.send(retr); !st) return st.err();
  auto src_last = s.final_reply(nullptr);
  auto dst_last = d.final_reply([&](const reply& r) {
    absorb_range_marker(r, done);
    if (auto bytes = perf_marker_bytes(r)) report_progress(opts, *bytes, w.length, started);
  });
  if (!src_last) return src_last.err();
  if (src_last->code != 226 && src_last->code != 250)
    return protocol_error("RETR " + src->to_string(), *src_last);
  if (!dst_last) return dst_last.err();
  if (dst_last->code != 226 && dst_last->code != 250)
    return protocol_error("STOR " + dst->to_string(), *dst_last);
  done.add(0, w.length);
  report.bytes = w.length - report.bytes_resumed;
  if (opts.verify_checksum) {
    auto alg = pick_checksum(opts, {&s, &d});
    if (!alg) return alg.err();
    auto a = cksm(s, *alg, w.offset, w.length, src->path);
    if (!a) return a.err();
    auto b = cksm(d, *alg, w.offset, w.length, dst->path);
    if (!b) return b.err();
    if (*a != *b)
      return fail(errc::checksum_mismatch,
                  "CKSM " + *alg + ": source " + *a + ", destination " + *b);
    report.checksum = data::format_checksum(*data::parse_checksum_alg(*alg), *a);
  }
  s.quit();
  d.quit();
  report.seconds = seconds_since(started);
  return report;
}

namespace {

// "Type=file;Size=10;Modify=20261122073144;... name" -> entry; false for a malformed line.
bool parse_facts(std::string_view line, remote_entry& out) {
  auto space = line.find(' ');
  if (space == std::string_view::npos || space + 1 >= line.size()) return false;
  out.name = std::string{line.substr(space + 1)};
  auto facts = line.substr(0, space);
  bool typed = false;
  while (!facts.empty()) {
    auto semi = facts.find(';');
    auto fact = facts.substr(0, semi);
    facts = semi == std::string_view::npos ? std::string_view{} : facts.substr(semi + 1);
    auto eq = fact.find('=');
    if (eq == std::string_view::npos) continue;
    auto key = upper(fact.substr(0, eq));
    auto value = fact.substr(eq + 1);
    if (key == "TYPE") {
      auto t = upper(value);
      out.is_dir = t == "DIR" || t == "CDIR" || t == "PDIR";
      typed = true;
    } else if (key == "SIZE") {
      if (auto n = parse_u64(value)) out.size = *n;
    } else if (key == "MODIFY" && value.size() >= 14) {
      std::tm tm{};
      auto num = [&](size_t at, size_t len) {
        auto n = parse_u64(value.substr(at, len));
        return n ? static_cast<int>(*n) : -1;
      };
      tm.tm_year = num(0, 4) - 1900;
      tm.tm_mon = num(4, 2) - 1;
      tm.tm_mday = num(6, 2);
      tm.tm_hour = num(8, 2);
      tm.tm_min = num(10, 2);
      tm.tm_sec = num(12, 2);
      if (tm.tm_year > 0 && tm.tm_mon >= 0 && tm.tm_mday > 0) out.mtime_unix = ::timegm(&tm);
    }
  }
  return typed;
}

}  // namespace

expected<remote_entry> stat(std::string_view url_text, const data::transfer_options& opts) {
  auto u = parse_url(url_text);
  if (!u) return u.err();
  asio::io_context io;
  control c{io};
  if (auto st = c.open(*u, stall_of(opts)); !st) return st.err();
  auto r = c.require("MLST " + u->path);
  if (!r) return r.err();
  // 250-status of PATH / " facts PATH" / 250 End.
  std::istringstream lines{r->text};
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line.front() != ' ') continue;
    remote_entry entry;
    if (parse_facts(std::string_view{line}.substr(1), entry)) {
      c.quit();
      return entry;
    }
  }
  return fail(errc::unavailable, "no facts in the MLST reply: " + r->text.substr(0, 200));
}

expected<std::vector<remote_entry>> list(std::string_view dir_url,
                                         const data::transfer_options& opts) {
  // A listing larger than this is refused rather than buffered.
  constexpr uint64_t listing_bytes_max = 64ull << 20;
  auto u = parse_url(dir_url);
  if (!u) return u.err();
  asio::io_context io;
  control c{io};
  auto stall = stall_of(opts);
  if (auto st = c.open(*u, stall); !st) return st.err();
  if (auto r = c.require("TYPE I"); !r) return r.err();
  if (auto r = c.require("MODE S"); !r) return r.err();
  auto hp = passive_address(c, !c.local_address().is_v4());
  if (!hp) return hp.err();
  if (auto st = c.send("MLSD " + u->path); !st) return st.err();
  auto socket = connect_with_timeout(io, *hp, stall, 0);
  auto first = c.read_reply();
  if (!first) return first.err();
  if (!first->preliminary()) return protocol_error("MLSD " + u->to_string(), *first);
  if (!socket) return socket.err();
  tune_socket(socket->native_handle(), 0, stall);
  std::string text;
  std::array<char, 65536> buffer{};
  for (;;) {
    boost::system::error_code ec;
    size_t n = socket->read_some(asio::buffer(buffer), ec);
    if (ec == asio::error::eof) break;
    if (ec) return fail(errc::unavailable, "MLSD data: " + ec.message());
    text.append(buffer.data(), n);
    if (text.size() > listing_bytes_max) return fail(errc::unavailable, "listing too large");
  }
  auto last = c.final_reply(nullptr);
  if (!last) return last.err();
  if (last->code != 226 && last->code != 250)
    return protocol_error("MLSD " + u->to_string(), *last);
  std::vector<remote_entry> out;
  std::istringstream lines{text};
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    remote_entry entry;
    if (!parse_facts(line, entry) || entry.name == "." || entry.name == "..") continue;
    out.push_back(std::move(entry));
  }
  c.quit();
  return out;
}

status make_directory(std::string_view dir_url, const data::transfer_options& opts) {
  auto u = parse_url(dir_url);
  if (!u) return u.err();
  asio::io_context io;
  control c{io};
  if (auto st = c.open(*u, stall_of(opts)); !st) return st.err();
  auto r = c.command("MKD " + u->path);
  if (!r) return r.err();
  if (r->code != 257 && r->code != 250) {
    // Servers say "exists" in different words; ask directly.
    auto m = c.command("MLST " + u->path);
    if (!m || m->code != 250 || upper(m->text).find("TYPE=DIR") == std::string::npos)
      return protocol_error("MKD " + u->to_string(), *r);
  }
  c.quit();
  return {};
}

expected<std::string> remote_checksum(std::string_view url_text, std::string_view alg,
                                      const data::transfer_options& opts) {
  auto u = parse_url(url_text);
  if (!u) return u.err();
  asio::io_context io;
  control c{io};
  if (auto st = c.open(*u, stall_of(opts)); !st) return st.err();
  auto hex = cksm(c, upper(alg), 0, std::nullopt, u->path);
  c.quit();
  return hex;
}

}  // namespace librarian::gridftp
