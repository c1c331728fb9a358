#include "net/gridftp/server.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <ctime>
#include <fstream>
#include <functional>
#include <list>
#include <map>
#include <set>
#include <sstream>

#include "net/data/checksum.hpp"
#include "net/gridftp/checksum_fd.hpp"
#include "net/gridftp/command.hpp"
#include "net/gridftp/data_channel.hpp"
#include "net/gridftp/paths.hpp"
#include "runtime/crypto/crypto.hpp"
#include "runtime/log.hpp"

namespace librarian::gridftp {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// A client gets this many wrong passwords per connection before it is disconnected.
constexpr int login_failures_max = 3;
// MLSD lists at most this many entries, so one huge directory cannot exhaust memory.
constexpr size_t listing_entries_max = 100000;
// Received MODE E blocks may be at most this long (globus sends 256 KiB; -bs may raise it).
constexpr uint64_t receive_block_bytes_max = 64ull << 20;

std::string facts_time(time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
  return buf;
}

std::string facts_for(const struct stat& st) {
  std::ostringstream out;
  out << "Type="
      << (S_ISDIR(st.st_mode)   ? "dir"
          : S_ISREG(st.st_mode) ? "file"
                                : "OS.unix=other")
      << ";Size=" << st.st_size << ";Modify=" << facts_time(st.st_mtime)
      << ";Perm=" << (S_ISDIR(st.st_mode) ? "elcmfp" : "radfw") << ";UNIX.mode=0" << std::oct
      << (st.st_mode & 07777) << ";";
  return out.str();
}

// The reply code a failed file operation gets.
int code_for(const error& err) {
  switch (err.code) {
    case errc::not_found:
    case errc::forbidden:
    case errc::already_exists:
      return 550;
    case errc::invalid_argument:
      return 553;
    case errc::storage_full:
      return 452;
    case errc::timeout:
    case errc::unavailable:
      return 426;
    default:
      return 451;
  }
}

std::string one_line(std::string text) {
  for (auto& c : text)
    if (c == '\r' || c == '\n') c = ' ';
  return text;
}

}  // namespace

struct server::impl {
  server_options options;
  path_jail jail;
  std::map<std::string, std::string> passwords;  // name -> encoded hash
  asio::io_context io;
  tcp::acceptor acceptor{io};
  uint16_t bound_port = 0;
  std::atomic<bool> stopping{false};
  std::thread listener;

  struct session_slot;
  std::mutex sessions_mutex;
  std::list<std::shared_ptr<session_slot>> sessions;

  void accept_loop();
  void reap(bool all);
};

// One control connection's state. Runs on its own thread; stop() from the server thread only
// shuts its sockets down (shutdown(2) is safe across threads) and cancels its transfer.
class session {
 public:
  session(server::impl& srv, tcp::socket control) : srv_(srv), control_(std::move(control)) {}
  void run();
  void abort();

 private:
  using handler = void (session::*)(const std::string& arg);
  static const std::map<std::string, handler>& handlers();

  void send_raw(const std::string& text);
  void reply(int code, const std::string& text) {
    send_raw(std::to_string(code) + " " + one_line(text) + "\r\n");
  }
  void reply_lines(int code, const std::vector<std::string>& lines, const std::string& last);
  // "Permission denied" lets clients tell a refusal from a missing file (both are 550).
  void reply_error(const error& err) {
    reply(code_for(err), (err.code == errc::forbidden ? "Permission denied: " : "") + err.message);
  }
  expected<std::optional<std::string>> read_line();
  void dispatch(const command& cmd);
  void drain_and_close();
  void close_control();

  // Commands.
  void cmd_user(const std::string& arg);
  void cmd_pass(const std::string& arg);
  void cmd_feat(const std::string&);
  void cmd_syst(const std::string&) { reply(215, "UNIX Type: L8"); }
  void cmd_noop(const std::string&) { reply(200, "NOOP command successful."); }
  void cmd_quit(const std::string&) {
    reply(221, "Goodbye.");
    quit_ = true;
  }
  void cmd_help(const std::string&);
  void cmd_type(const std::string& arg);
  void cmd_mode(const std::string& arg);
  void cmd_stru(const std::string& arg);
  void cmd_dcau(const std::string& arg);
  void cmd_pasv(const std::string&);
  void cmd_epsv(const std::string& arg);
  void cmd_port(const std::string& arg);
  void cmd_eprt(const std::string& arg);
  void cmd_opts(const std::string& arg);
  void cmd_site(const std::string& arg);
  void cmd_sbuf(const std::string& arg);
  void cmd_allo(const std::string& arg);
  void cmd_rest(const std::string& arg);
  void cmd_abor(const std::string&) { reply(226, "No transfer to abort."); }
  void cmd_retr(const std::string& arg) { retrieve(arg, std::nullopt); }
  void cmd_eret(const std::string& arg);
  void cmd_stor(const std::string& arg) { store(arg, std::nullopt); }
  void cmd_esto(const std::string& arg);
  void cmd_size(const std::string& arg);
  void cmd_mdtm(const std::string& arg);
  void cmd_cksm(const std::string& arg);
  void cmd_mlst(const std::string& arg);
  void cmd_mlsd(const std::string& arg);
  void cmd_cwd(const std::string& arg);
  void cmd_cdup(const std::string&);
  void cmd_pwd(const std::string&) { reply(257, "\"" + cwd_ + "\" is current directory."); }
  void cmd_mkd(const std::string& arg);
  void cmd_rmd(const std::string& arg);
  void cmd_dele(const std::string& arg);

  struct window {
    uint64_t offset = 0;
    uint64_t length = 0;
  };
  void retrieve(const std::string& path, std::optional<window> partial);
  void store(const std::string& path, std::optional<uint64_t> adjusted_offset);
  status send_file(int fd, std::vector<data::range_set::range> ranges, uint64_t wire_base);
  // Receives a MODE E transfer into fd, sending markers; returns the ranges written (file
  // coordinates).
  expected<data::range_set> receive_mode_e(int fd, uint64_t file_base,
                                           std::optional<uint64_t> file_bytes);
  expected<tcp::socket> open_one_data_connection(transfer_control& ctl);
  void reset_transfer_state();
  void send_perf_marker(uint64_t bytes);
  void send_range_marker(const data::range_set& ranges);
  [[nodiscard]] std::string peer_host() const;

  server::impl& srv_;
  tcp::socket control_;
  line_reader lines_;
  std::mutex abort_mutex_;
  transfer_control* active_ = nullptr;
  bool aborted_ = false;
  bool control_closed_ = false;

  bool quit_ = false;
  bool logged_in_ = false;
  std::string user_;
  int login_failures_ = 0;
  std::string cwd_;
  bool mode_e_ = false;
  unsigned parallelism_ = 1;
  int tcp_buffer_bytes_ = 0;
  std::optional<rest_arg> rest_;
  std::optional<uint64_t> allo_;
  std::optional<tcp::acceptor> passive_;
  std::optional<host_port> port_;
  // MODE E data channel caching: connections of the last transfer kept open after EOD, reused
  // by the next one when the client sends no new PORT/PASV (globus-url-copy does this for every
  // file after the first in a session). Dropped on PORT, PASV, MODE and DCAU changes.
  std::vector<tcp::socket> cached_send_;
  std::vector<tcp::socket> cached_receive_;
  void drop_cached_channels() {
    boost::system::error_code ec;
    for (auto& s : cached_send_) s.close(ec);
    for (auto& s : cached_receive_) s.close(ec);
    cached_send_.clear();
    cached_receive_.clear();
  }
};

struct server::impl::session_slot {
  std::shared_ptr<session> state;
  std::thread thread;
  std::atomic<bool> done{false};
};

// ---------------------------------------------------------------------------------------------
// Session plumbing

void session::send_raw(const std::string& text) {
  boost::system::error_code ec;
  asio::write(control_, asio::buffer(text), ec);
  if (ec) quit_ = true;
}

void session::reply_lines(int code, const std::vector<std::string>& lines,
                          const std::string& last) {
  std::string text;
  for (size_t i = 0; i < lines.size(); ++i)
    text += (i == 0 ? std::to_string(code) + "-" : std::string{" "}) + one_line(lines[i]) + "\r\n";
  text += std::to_string(code) + " " + last + "\r\n";
  send_raw(text);
}

void session::abort() {
  std::lock_guard lock{abort_mutex_};
  aborted_ = true;
  // Only while the session still owns the descriptor: once closed, its number may already
  // belong to another connection.
  if (!control_closed_) ::shutdown(control_.native_handle(), SHUT_RDWR);
  if (active_) active_->cancel(fail(errc::unavailable, "the server is stopping"));
}

expected<std::optional<std::string>> session::read_line() {
  // Bounded: each pass either returns a line or consumes at least one byte, and line_reader
  // refuses more than a line's worth of bytes without a newline.
  std::array<char, 4096> buffer{};
  for (;;) {
    auto line = lines_.next_line();
    if (!line || line->has_value()) return line;
    boost::system::error_code ec;
    size_t n = control_.read_some(asio::buffer(buffer), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again)
      return fail(errc::timeout, "idle timeout");
    if (ec) return std::optional<std::string>{};  // closed
    lines_.feed(std::string_view{buffer.data(), n});
  }
}

std::string session::peer_host() const {
  boost::system::error_code ec;
  auto ep = control_.remote_endpoint(ec);
  return ec ? std::string{"?"} : ep.address().to_string();
}

// Closing with unread input makes the kernel send RST, which can destroy the reply still in
// flight; so the write side is shut first and pending input is discarded, bounded in time and
// bytes.
void session::drain_and_close() {
  boost::system::error_code ec;
  control_.shutdown(tcp::socket::shutdown_send, ec);
  tune_socket(control_.native_handle(), 0, 500ms);
  std::array<char, 16384> sink{};
  auto deadline = clock_type::now() + 2s;
  size_t drained = 0;
  while (!ec && clock_type::now() < deadline && drained < (4u << 20))
    drained += control_.read_some(asio::buffer(sink), ec);
  close_control();
}

void session::close_control() {
  std::lock_guard lock{abort_mutex_};
  boost::system::error_code ec;
  control_.close(ec);
  control_closed_ = true;
}

void session::run() {
  tune_socket(control_.native_handle(), 0, srv_.options.idle_timeout);
  cwd_ = srv_.jail.roots().front();
  reply(220, "Librarian GridFTP Server ready.");
  // Bounded by the idle timeout and the peer closing; each pass handles one command.
  while (!quit_) {
    auto line = read_line();
    if (!line) {
      reply(line.err().code == errc::timeout ? 421 : 500,
            line.err().code == errc::timeout ? "Idle timeout; closing control connection."
                                             : line.err().message + "; closing connection.");
      drain_and_close();
      return;
    }
    if (!line->has_value()) break;
    auto cmd = parse_command(**line);
    if (!cmd) {
      reply(500, "Syntax error: " + cmd.err().message);
      continue;
    }
    dispatch(*cmd);
  }
  drop_cached_channels();
  close_control();
}

const std::map<std::string, session::handler>& session::handlers() {
  static const std::map<std::string, handler> table{
      {"USER", &session::cmd_user}, {"PASS", &session::cmd_pass}, {"FEAT", &session::cmd_feat},
      {"SYST", &session::cmd_syst}, {"NOOP", &session::cmd_noop}, {"QUIT", &session::cmd_quit},
      {"HELP", &session::cmd_help}, {"TYPE", &session::cmd_type}, {"MODE", &session::cmd_mode},
      {"STRU", &session::cmd_stru}, {"DCAU", &session::cmd_dcau}, {"PASV", &session::cmd_pasv},
      {"EPSV", &session::cmd_epsv}, {"PORT", &session::cmd_port}, {"EPRT", &session::cmd_eprt},
      {"OPTS", &session::cmd_opts}, {"SITE", &session::cmd_site}, {"SBUF", &session::cmd_sbuf},
      {"ALLO", &session::cmd_allo}, {"REST", &session::cmd_rest}, {"ABOR", &session::cmd_abor},
      {"RETR", &session::cmd_retr}, {"ERET", &session::cmd_eret}, {"STOR", &session::cmd_stor},
      {"ESTO", &session::cmd_esto}, {"SIZE", &session::cmd_size}, {"MDTM", &session::cmd_mdtm},
      {"CKSM", &session::cmd_cksm}, {"MLST", &session::cmd_mlst}, {"MLSD", &session::cmd_mlsd},
      {"CWD", &session::cmd_cwd},   {"CDUP", &session::cmd_cdup}, {"PWD", &session::cmd_pwd},
      {"MKD", &session::cmd_mkd},   {"RMD", &session::cmd_rmd},   {"DELE", &session::cmd_dele},
  };
  return table;
}

void session::dispatch(const command& cmd) {
  // Known FTP verbs we deliberately do not offer get 502, anything else 500 (RFC 959).
  static const std::set<std::string> not_implemented{
      "ACCT", "SMNT", "REIN", "STOU", "APPE", "RNFR", "RNTO", "LIST", "NLST", "STAT", "SPAS",
      "SPOR", "MLSC", "MLSR", "PBSZ", "PROT", "AUTH", "ADAT", "MFMT", "LANG", "SCKS", "DCSC",
      "TREV", "MIC",  "CONF", "ENC",  "XMKD", "XRMD", "XPWD", "XCUP", "XCWD"};
  auto it = handlers().find(cmd.verb);
  if (it == handlers().end()) {
    if (not_implemented.count(cmd.verb))
      reply(502, cmd.verb + " not implemented.");
    else
      reply(500, "Command not supported.");
    return;
  }
  static const std::set<std::string> before_login{"USER", "PASS", "FEAT", "SYST",
                                                  "NOOP", "QUIT", "HELP"};
  if (!logged_in_ && !before_login.count(cmd.verb)) {
    reply(530, "Please login with USER and PASS.");
    return;
  }
  // An empty path would silently mean the working directory ("RMD" removing it).
  static const std::set<std::string> needs_argument{
      "RETR", "STOR", "SIZE", "MDTM", "MKD",  "RMD",  "DELE", "CWD",  "REST", "ALLO", "PORT",
      "EPRT", "ERET", "ESTO", "CKSM", "TYPE", "MODE", "STRU", "DCAU", "OPTS", "SITE", "SBUF"};
  if (cmd.arg.empty() && needs_argument.count(cmd.verb)) {
    reply(501, cmd.verb + " needs an argument.");
    return;
  }
  (this->*(it->second))(cmd.arg);
}

// ---------------------------------------------------------------------------------------------
// Login and session settings

void session::cmd_user(const std::string& arg) {
  if (arg.empty() || arg.size() > 256) return reply(501, "USER wants a name.");
  logged_in_ = false;
  user_ = arg;
  reply(331, "Password required for " + arg + ".");
}

void session::cmd_pass(const std::string& arg) {
  if (user_.empty()) return reply(503, "Login with USER first.");
  if (logged_in_) return reply(503, "Already logged in.");
  bool ok = false;
  if (user_ == "anonymous" || user_ == "ftp") {
    ok = srv_.options.anonymous;
  } else if (auto it = srv_.passwords.find(user_); it != srv_.passwords.end()) {
    ok = crypto::verify_password(arg, it->second);
  }
  if (!ok) {
    LIB_LOG_WARN("gridftp") << "failed login for '" << user_ << "' from " << peer_host();
    // A fixed delay makes guessing slow without a per-user lockout an attacker could abuse.
    std::this_thread::sleep_for(500ms);
    reply(530, "Login incorrect.");
    if (++login_failures_ >= login_failures_max) quit_ = true;
    return;
  }
  logged_in_ = true;
  reply(230, "User " + user_ + " logged in.");
}

void session::cmd_feat(const std::string&) {
  reply_lines(211,
              {"Extensions supported", "CKSM MD5:10;ADLER32:10;XXH3:5;", "PARALLEL", "SIZE", "MDTM",
               "MLST Type*;Size*;Modify*;Perm*;UNIX.mode*;", "ERET", "ESTO", "REST STREAM", "DCAU",
               "SBUF", "UTF8"},
              "End.");
}

void session::cmd_help(const std::string&) {
  reply_lines(214,
              {"The following commands are recognized:",
               "   USER    PASS    FEAT    SYST    NOOP    QUIT    HELP    TYPE",
               "   MODE    STRU    DCAU    PASV    EPSV    PORT    EPRT    OPTS",
               "   SITE    SBUF    ALLO    REST    ABOR    RETR    ERET    STOR",
               "   ESTO    SIZE    MDTM    CKSM    MLST    MLSD    CWD     CDUP",
               "   PWD     MKD     RMD     DELE"},
              "End");
}

void session::cmd_type(const std::string& arg) {
  auto t = upper(arg);
  // ASCII is accepted for listings (clients ask for it before MLSD); file bytes are never
  // converted.
  if (t == "I" || t == "L 8" || t == "A" || t == "A N") return reply(200, "Type set to " + t + ".");
  reply(504, "Type " + arg + " not supported.");
}

void session::cmd_mode(const std::string& arg) {
  auto m = upper(arg);
  if (m == "S" || m == "E") {
    if (mode_e_ != (m == "E")) drop_cached_channels();
    mode_e_ = m == "E";
    return reply(200, "Mode set to " + m + ".");
  }
  reply(504, "Mode " + arg + " not supported; use S or E.");
}

void session::cmd_stru(const std::string& arg) {
  if (upper(arg) == "F") return reply(200, "Structure set to F.");
  reply(504, "Only STRU F is supported.");
}

void session::cmd_dcau(const std::string& arg) {
  if (upper(arg) == "N") {
    drop_cached_channels();
    return reply(200, "DCAU N.");
  }
  reply(504,
        "Only DCAU N: data channel authentication needs GSI, which this server does not offer.");
}

void session::cmd_pasv(const std::string&) {
  boost::system::error_code ec;
  auto local = control_.local_endpoint(ec);
  if (ec || !local.address().is_v4()) return reply(522, "PASV needs IPv4; use EPSV.");
  drop_cached_channels();
  passive_.reset();
  port_.reset();
  auto acceptor = listen_on(srv_.io, local.address(), tcp_buffer_bytes_);
  if (!acceptor) return reply(425, acceptor.err().message);
  auto port = acceptor->local_endpoint(ec).port();
  passive_.emplace(std::move(*acceptor));
  reply(227, "Entering Passive Mode (" +
                 format_port_arg(host_port{local.address().to_string(), port}) + ")");
}

void session::cmd_epsv(const std::string& arg) {
  if (upper(arg) == "ALL") return reply(200, "EPSV ALL ok.");
  boost::system::error_code ec;
  auto local = control_.local_endpoint(ec);
  if (ec) return reply(425, "no local address");
  drop_cached_channels();
  passive_.reset();
  port_.reset();
  auto acceptor = listen_on(srv_.io, local.address(), tcp_buffer_bytes_);
  if (!acceptor) return reply(425, acceptor.err().message);
  auto port = acceptor->local_endpoint(ec).port();
  passive_.emplace(std::move(*acceptor));
  reply(229, "Entering Extended Passive Mode (|||" + std::to_string(port) + "|)");
}

void session::cmd_port(const std::string& arg) {
  auto hp = parse_port_arg(arg);
  if (!hp) return reply(501, hp.err().message);
  // Privileged ports are refused: the classic FTP bounce attack aims data at them.
  if (hp->port < 1024) return reply(501, "Refusing a privileged data port.");
  drop_cached_channels();
  passive_.reset();
  port_ = *hp;
  reply(200, "PORT Command successful.");
}

void session::cmd_eprt(const std::string& arg) {
  auto hp = parse_eprt_arg(arg);
  if (!hp) return reply(501, hp.err().message);
  if (hp->port < 1024) return reply(501, "Refusing a privileged data port.");
  drop_cached_channels();
  passive_.reset();
  port_ = *hp;
  reply(200, "EPRT Command successful.");
}

void session::cmd_opts(const std::string& arg) {
  auto what = upper(arg.substr(0, arg.find(' ')));
  if (what == "UTF8") return reply(200, "UTF8 is always on.");
  auto n = parse_opts_retr(arg, srv_.options.parallelism_max);
  if (!n) return reply(501, n.err().message);
  parallelism_ = *n;
  reply(200, "OPTS Command Successful.");
}

void session::cmd_sbuf(const std::string& arg) {
  auto n = parse_u64(arg);
  if (!n || *n > (256u << 20)) return reply(501, "SBUF wants a byte count up to 256 MiB.");
  tcp_buffer_bytes_ = static_cast<int>(*n);
  reply(200, "SBUF Command Successful.");
}

void session::cmd_site(const std::string& arg) {
  auto space = arg.find(' ');
  auto what = upper(arg.substr(0, space));
  std::string rest = space == std::string::npos ? std::string{} : arg.substr(space + 1);
  if (what == "HELP") return cmd_help(rest);
  if (what == "CLIENTINFO") return reply(250, "OK.");
  if (what == "RETRBUFSIZE" || what == "RBUFSIZE" || what == "SBUFSIZE" || what == "BUFSIZE" ||
      what == "STORBUFSIZE") {
    auto n = parse_u64(rest);
    if (!n || *n > (256u << 20)) return reply(501, "SITE " + what + " wants a byte count.");
    tcp_buffer_bytes_ = static_cast<int>(*n);
    return reply(200, "Site Command Successful.");
  }
  reply(502, "SITE " + what + " not supported.");
}

void session::cmd_allo(const std::string& arg) {
  auto n = parse_u64(arg.substr(0, arg.find(' ')));
  if (!n) return reply(501, "ALLO wants a byte count.");
  allo_ = *n;
  reply(200, "ALLO command successful.");
}

void session::cmd_rest(const std::string& arg) {
  auto r = parse_rest(arg);
  if (!r) return reply(501, r.err().message);
  rest_ = std::move(*r);
  reply(350, "Restart Marker OK. Send STORE or RETR to initiate transfer.");
}

void session::reset_transfer_state() {
  rest_.reset();
  allo_.reset();
  passive_.reset();
  port_.reset();
}

// ---------------------------------------------------------------------------------------------
// File information

void session::cmd_size(const std::string& arg) {
  auto at = srv_.jail.locate(arg, cwd_);
  if (!at) return reply_error(at.err());
  auto st = stat_at(*at);
  if (!st) return reply_error(st.err());
  if (!S_ISREG(st->st_mode)) return reply(550, at->path + " is not a regular file.");
  reply(213, std::to_string(st->st_size));
}

void session::cmd_mdtm(const std::string& arg) {
  auto at = srv_.jail.locate(arg, cwd_);
  if (!at) return reply_error(at.err());
  auto st = stat_at(*at);
  if (!st) return reply_error(st.err());
  reply(213, facts_time(st->st_mtime));
}

void session::cmd_cksm(const std::string& arg) {
  auto c = parse_cksm(arg);
  if (!c) return reply(501, c.err().message);
  auto alg = data::parse_checksum_alg(c->alg);
  if (!alg) return reply(504, "Checksum algorithm " + c->alg + " not supported.");
  auto at = srv_.jail.locate(c->path, cwd_);
  if (!at) return reply_error(at.err());
  auto fd = open_read(*at);
  if (!fd) return reply_error(fd.err());
  auto hex = checksum_fd(fd->get(), *alg, c->offset, c->length);
  if (!hex) return reply(hex.err().code == errc::invalid_argument ? 501 : 550, hex.err().message);
  reply(213, *hex);
}

void session::cmd_mlst(const std::string& arg) {
  auto at = srv_.jail.locate(arg.empty() ? cwd_ : arg, cwd_);
  if (!at) return reply_error(at.err());
  auto st = stat_at(*at);
  if (!st) return reply_error(st.err());
  reply_lines(250, {"status of " + at->path, facts_for(*st) + " " + at->path}, "End.");
}

void session::cmd_cwd(const std::string& arg) {
  auto at = srv_.jail.locate(arg, cwd_);
  if (!at) return reply_error(at.err());
  auto dir = open_dir(*at);
  if (!dir) return reply_error(dir.err());
  cwd_ = at->path;
  reply(250, "CWD command successful.");
}

void session::cmd_cdup(const std::string&) {
  cwd_ = srv_.jail.parent(cwd_);
  reply(250, "CDUP command successful.");
}

void session::cmd_mkd(const std::string& arg) {
  auto at = srv_.jail.locate(arg, cwd_);
  if (!at) return reply_error(at.err());
  if (at->is_root()) return reply(550, at->path + " exists.");
  if (::mkdirat(at->dir.get(), at->leaf.c_str(), 0755) != 0)
    return reply_error(errno_error(errno, at->path));
  reply(257, "\"" + at->path + "\" directory created.");
}

void session::cmd_rmd(const std::string& arg) {
  auto at = srv_.jail.locate(arg, cwd_);
  if (!at) return reply_error(at.err());
  if (at->is_root()) return reply(550, "A root cannot be removed.");
  if (::unlinkat(at->dir.get(), at->leaf.c_str(), AT_REMOVEDIR) != 0)
    return reply_error(errno_error(errno, at->path));
  reply(250, "RMD command successful.");
}

void session::cmd_dele(const std::string& arg) {
  auto at = srv_.jail.locate(arg, cwd_);
  if (!at) return reply_error(at.err());
  auto st = stat_at(*at);
  if (!st) return reply_error(st.err());
  if (!S_ISREG(st->st_mode)) return reply(550, at->path + " is not a regular file.");
  if (::unlinkat(at->dir.get(), at->leaf.c_str(), 0) != 0)
    return reply_error(errno_error(errno, at->path));
  reply(250, "DELE command successful.");
}

// ---------------------------------------------------------------------------------------------
// Transfers

expected<tcp::socket> session::open_one_data_connection(transfer_control& ctl) {
  if (passive_) return accept_with_timeout(*passive_, srv_.options.data_timeout, ctl);
  if (port_)
    return connect_with_timeout(srv_.io, *port_, srv_.options.data_timeout, tcp_buffer_bytes_,
                                &ctl);
  return fail(errc::invalid_argument, "use PORT or PASV first");
}

status session::send_file(int fd, std::vector<data::range_set::range> ranges, uint64_t wire_base) {
  transfer_control ctl;
  {
    std::lock_guard lock{abort_mutex_};
    if (aborted_) return fail(errc::unavailable, "the server is stopping");
    active_ = &ctl;
  }
  status result;
  send_job job{fd, std::move(ranges), wire_base, srv_.options.block_bytes};
  job.copy_for_loopback = srv_.options.copy_for_loopback;
  if (!mode_e_) {
    auto socket = open_one_data_connection(ctl);
    if (!socket) {
      result = socket.err();
    } else {
      tune_socket(socket->native_handle(), tcp_buffer_bytes_, srv_.options.data_timeout);
      result = send_stream(*socket, job, ctl);
    }
  } else {
    // MODE E: the sender is the active side; a passive sender serves one connection.
    std::vector<tcp::socket> sockets;
    if (!port_ && !passive_ && !cached_send_.empty()) {
      sockets = std::move(cached_send_);
      cached_send_.clear();
    } else {
      drop_cached_channels();
      unsigned n = passive_ ? 1 : parallelism_;
      for (unsigned i = 0; i < n && result; ++i) {
        auto socket = open_one_data_connection(ctl);
        if (!socket) {
          result = socket.err();
          break;
        }
        tune_socket(socket->native_handle(), tcp_buffer_bytes_, srv_.options.data_timeout);
        sockets.push_back(std::move(*socket));
      }
    }
    if (result) result = send_mode_e(sockets, job, ctl, true);
    if (result) cached_send_ = std::move(sockets);
  }
  std::lock_guard lock{abort_mutex_};
  active_ = nullptr;
  return result;
}

void session::cmd_eret(const std::string& arg) {
  auto e = parse_eret(arg);
  if (!e) return reply(501, e.err().message);
  retrieve(e->path, window{e->offset, e->length});
}

void session::retrieve(const std::string& path, std::optional<window> partial) {
  auto at = srv_.jail.locate(path, cwd_);
  if (!at) {
    reset_transfer_state();
    return reply_error(at.err());
  }
  auto fd = open_read(*at);
  struct stat st {};
  if (fd && ::fstat(fd->get(), &st) != 0) fd = errno_error(errno, at->path);
  if (!fd) {
    reset_transfer_state();
    return reply_error(fd.err());
  }
  auto size = static_cast<uint64_t>(st.st_size);
  uint64_t begin = partial ? std::min(partial->offset, size) : 0;
  uint64_t end = partial ? std::min(size, partial->offset + partial->length) : size;
  // REST is in wire coordinates (relative to ERET's window), like the 111 markers.
  data::range_set to_send;
  to_send.add(begin, end);
  std::vector<data::range_set::range> ranges;
  if (rest_ && rest_->stream_offset) {
    uint64_t from = std::min(end, begin + std::min(*rest_->stream_offset, end - begin));
    if (from < end) ranges.emplace_back(from, end);
  } else if (rest_) {
    data::range_set done;
    for (auto [b, e] : rest_->ranges.ranges())
      if (b < UINT64_MAX - begin) done.add(begin + b, begin + std::min(e, UINT64_MAX - begin));
    ranges = done.missing(begin, end);
  } else if (begin < end) {
    ranges.emplace_back(begin, end);
  }
  if (!mode_e_ && ranges.size() > 1)
    return reply(501, "Stream mode restarts from one offset; use MODE E for range lists.");
  reply(150, "Beginning transfer.");
  auto started = clock_type::now();
  auto result = send_file(fd->get(), std::move(ranges), begin);
  reset_transfer_state();
  if (!result) {
    LIB_LOG_WARN("gridftp") << "RETR " << at->path << " failed: " << result.err().describe();
    return reply(426, "Transfer aborted: " + result.err().message);
  }
  LIB_LOG_INFO("gridftp") << "RETR " << at->path << " user=" << user_
                          << " streams=" << (mode_e_ ? parallelism_ : 1) << " seconds="
                          << std::chrono::duration<double>(clock_type::now() - started).count();
  reply(226, "Transfer Complete.");
}

void session::send_perf_marker(uint64_t bytes) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%.1f", std::chrono::duration<double>(now).count());
  reply_lines(112,
              {"Perf Marker", std::string{"Timestamp:  "} + stamp, "Stripe Index: 0",
               "Stripe Bytes Transferred: " + std::to_string(bytes), "Total Stripe Count: 1"},
              "End.");
}

void session::send_range_marker(const data::range_set& ranges) {
  if (ranges.empty()) return;
  reply(111, "Range Marker " + ranges.to_string());
}

expected<data::range_set> session::receive_mode_e(int fd, uint64_t file_base,
                                                  std::optional<uint64_t> file_bytes) {
  transfer_control ctl;
  {
    std::lock_guard lock{abort_mutex_};
    if (aborted_) return fail(errc::unavailable, "the server is stopping");
    active_ = &ctl;
  }
  data::block_limits limits;
  limits.block_bytes_max = receive_block_bytes_max;
  limits.file_bytes = file_bytes;
  limits.eod_count_max = std::max(64u, srv_.options.parallelism_max);
  mode_e_receiver receiver{fd, limits, file_base, ctl, srv_.options.direct_io};
  // Connections: the passive side accepts until the EOD count is reached; an active receiver
  // opens one connection (the sender was told PASV and serves what arrives).
  std::thread acceptor_thread;
  std::optional<error> connect_error;
  if (passive_) {
    acceptor_thread = std::thread([&] {
      bool first = true;
      while (!receiver.finished() && !ctl.cancelled()) {
        // Short slices after the first connection: the loop must notice the end of the transfer
        // quickly, or every transfer pays for the wait.
        auto socket = accept_with_timeout(*passive_, first ? srv_.options.data_timeout : 20ms, ctl);
        if (!socket) {
          if (first) {
            ctl.cancel(socket.err());
            break;
          }
          continue;
        }
        first = false;
        tune_socket(socket->native_handle(), tcp_buffer_bytes_, srv_.options.data_timeout);
        if (auto st = receiver.add_connection(std::move(*socket)); !st) {
          ctl.cancel(st.err());
          break;
        }
      }
    });
  } else if (port_) {
    auto socket =
        connect_with_timeout(srv_.io, *port_, srv_.options.data_timeout, tcp_buffer_bytes_, &ctl);
    if (!socket) {
      connect_error = socket.err();
    } else {
      tune_socket(socket->native_handle(), tcp_buffer_bytes_, srv_.options.data_timeout);
      if (auto st = receiver.add_connection(std::move(*socket)); !st) connect_error = st.err();
    }
  } else if (!cached_receive_.empty()) {
    // The client reuses the connections of its previous upload (no new PASV).
    for (auto& socket : cached_receive_)
      if (auto st = receiver.add_connection(std::move(socket)); !st) connect_error = st.err();
    cached_receive_.clear();
  } else {
    connect_error = fail(errc::invalid_argument, "use PORT or PASV first");
  }
  data::range_set reported;
  auto last_marker = clock_type::now();
  auto last_progress = clock_type::now();
  uint64_t last_bytes = 0;
  send_perf_marker(0);
  // Bounded by the stall timeout: every pass either sees progress or moves toward it.
  while (!connect_error && !receiver.wait_for(200ms)) {
    if (ctl.cancelled()) break;
    auto now = clock_type::now();
    uint64_t bytes = ctl.bytes.load();
    if (bytes != last_bytes) {
      last_bytes = bytes;
      last_progress = now;
    } else if (now - last_progress > srv_.options.data_timeout) {
      ctl.cancel(fail(errc::timeout,
                      "no data for " + std::to_string(srv_.options.data_timeout.count()) + " ms"));
      break;
    }
    if (now - last_marker >= srv_.options.marker_interval) {
      last_marker = now;
      // Only ranges that reached stable storage are reported: snapshot, then sync.
      auto snapshot = receiver.written();
      if (::fdatasync(fd) == 0) {
        data::range_set fresh;
        for (auto [b, e] : snapshot.ranges())
          for (auto [mb, me] : reported.missing(b, e)) fresh.add(mb - file_base, me - file_base);
        reported.add(snapshot);
        send_perf_marker(bytes);
        send_range_marker(fresh);
      }
    }
  }
  if (connect_error) ctl.cancel(*connect_error);
  receiver.wait_for(connect_error ? 0ms : 1000ms);
  status result = connect_error ? status{*connect_error} : receiver.result();
  if (!result && ctl.why()) result = *ctl.why();
  receiver.stop();
  if (acceptor_thread.joinable()) acceptor_thread.join();
  if (result) cached_receive_ = receiver.take_idle();
  {
    std::lock_guard lock{abort_mutex_};
    active_ = nullptr;
  }
  // Whatever arrived is synced and reported, success or not, so a client can restart from it.
  auto written = receiver.written();
  if (::fdatasync(fd) == 0) {
    data::range_set fresh;
    for (auto [b, e] : written.ranges())
      for (auto [mb, me] : reported.missing(b, e)) fresh.add(mb - file_base, me - file_base);
    send_perf_marker(ctl.bytes.load());
    send_range_marker(fresh);
  } else if (result) {
    result = errno_error(errno, "fdatasync");
  }
  if (!result) return result.err();
  return written;
}

void session::cmd_esto(const std::string& arg) {
  auto e = parse_esto(arg);
  if (!e) return reply(501, e.err().message);
  store(e->path, e->offset);
}

void session::store(const std::string& path, std::optional<uint64_t> adjusted_offset) {
  if (path.empty()) return reply(501, "STOR wants a path.");
  auto at = srv_.jail.locate(path, cwd_);
  if (!at) {
    reset_transfer_state();
    return reply_error(at.err());
  }
  if (auto st = stat_at(*at); !st && st.err().code != errc::not_found) {
    reset_transfer_state();
    return reply_error(st.err());
  } else if (st && !S_ISREG(st->st_mode)) {
    reset_transfer_state();
    return reply(550, at->path + " is not a regular file.");
  }
  // STOR writes to a hidden temporary name and renames at the end, so a failed transfer never
  // leaves a partial file under the final name; the temporary survives for a REST restart.
  // ESTO patches part of a file, so it writes in place.
  bool adjusted = adjusted_offset.has_value();
  std::string temp = adjusted ? at->leaf : "." + at->leaf + ".gridftp-part";
  bool restart = rest_.has_value();
  if (restart && !adjusted) {
    struct stat ts {};
    if (::fstatat(at->dir.get(), temp.c_str(), &ts, AT_SYMLINK_NOFOLLOW) != 0) {
      reset_transfer_state();
      return reply(451, "Nothing to restart: no partial file for " + at->path + ".");
    }
  }
  auto fd = open_write(*at, temp, !restart && !adjusted);
  if (!fd) {
    reset_transfer_state();
    return reply_error(fd.err());
  }
  uint64_t base = adjusted ? *adjusted_offset : 0;
  reply(150, "Beginning transfer.");
  data::range_set have;
  if (rest_ && rest_->stream_offset) have.add(0, *rest_->stream_offset);
  if (rest_) have.add(rest_->ranges);
  status result;
  if (!mode_e_) {
    transfer_control ctl;
    {
      std::lock_guard lock{abort_mutex_};
      active_ = aborted_ ? nullptr : &ctl;
      if (aborted_) result = fail(errc::unavailable, "the server is stopping");
    }
    uint64_t start = have.contiguous_end(0);
    auto socket = result ? open_one_data_connection(ctl) : expected<tcp::socket>{result.err()};
    if (!socket) {
      result = socket.err();
    } else {
      tune_socket(socket->native_handle(), tcp_buffer_bytes_, srv_.options.data_timeout);
      auto n = receive_stream(*socket, fd->get(), base + start, std::nullopt, ctl);
      if (!n)
        result = n.err();
      else
        have.add(start, start + *n);
      if (n && !adjusted && ::ftruncate(fd->get(), static_cast<off_t>(start + *n)) != 0)
        result = errno_error(errno, "truncate");
      if (result && ::fdatasync(fd->get()) != 0) result = errno_error(errno, "fdatasync");
    }
    std::lock_guard lock{abort_mutex_};
    active_ = nullptr;
  } else {
    std::optional<uint64_t> file_bytes = adjusted ? std::nullopt : allo_;
    auto written = receive_mode_e(fd->get(), base, file_bytes);
    if (!written) {
      result = written.err();
    } else {
      for (auto [b, e] : written->ranges()) have.add(b - base, e - base);
      uint64_t end = allo_ && !adjusted ? *allo_ : (have.empty() ? 0 : have.ranges().back().second);
      // Every byte up to the end must be there: a transfer with holes is not a file.
      if (!have.contains(0, end) && end > 0) {
        result = fail(errc::unavailable, "the data has holes: received " + have.to_string());
      } else if (!adjusted && ::ftruncate(fd->get(), static_cast<off_t>(end)) != 0) {
        result = errno_error(errno, "truncate");
      } else if (::fdatasync(fd->get()) != 0) {
        result = errno_error(errno, "fdatasync");
      }
    }
  }
  reset_transfer_state();
  if (!result) {
    LIB_LOG_WARN("gridftp") << "STOR " << at->path << " failed: " << result.err().describe();
    int code = result.err().code == errc::storage_full       ? 452
               : result.err().code == errc::invalid_argument ? 451
                                                             : 426;
    return reply(code, "Transfer aborted: " + result.err().message);
  }
  if (!adjusted && ::renameat(at->dir.get(), temp.c_str(), at->dir.get(), at->leaf.c_str()) != 0)
    return reply_error(errno_error(errno, "rename to " + at->path));
  LIB_LOG_INFO("gridftp") << "STOR " << at->path << " user=" << user_
                          << " bytes=" << have.covered();
  reply(226, "Transfer Complete.");
}

void session::cmd_mlsd(const std::string& arg) {
  auto at = srv_.jail.locate(arg.empty() ? cwd_ : arg, cwd_);
  if (!at) {
    reset_transfer_state();
    return reply_error(at.err());
  }
  auto dir = open_dir(*at);
  if (!dir) {
    reset_transfer_state();
    return reply_error(dir.err());
  }
  std::string listing;
  DIR* d = ::fdopendir(::dup(dir->get()));
  if (!d) {
    reset_transfer_state();
    return reply_error(errno_error(errno, at->path));
  }
  size_t count = 0;
  while (auto* entry = ::readdir(d)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (++count > listing_entries_max) break;
    struct stat st {};
    // Symlinks are not served, so they are not listed either.
    if (::fstatat(dir->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISLNK(st.st_mode))
      continue;
    listing += facts_for(st) + " " + name + "\r\n";
  }
  ::closedir(d);
  // The listing goes out like a file: through a memfd, so MODE S and MODE E share the senders.
  unique_fd mem{::memfd_create("gridftp-mlsd", MFD_CLOEXEC)};
  if (!mem.valid() || ::pwrite(mem.get(), listing.data(), listing.size(), 0) !=
                          static_cast<ssize_t>(listing.size())) {
    reset_transfer_state();
    return reply(451, "Cannot buffer the listing.");
  }
  reply(150, "Opening data connection for the listing.");
  std::vector<data::range_set::range> ranges;
  if (!listing.empty()) ranges.emplace_back(0, listing.size());
  auto result = send_file(mem.get(), std::move(ranges), 0);
  reset_transfer_state();
  if (!result) return reply(426, "Listing aborted: " + result.err().message);
  reply(226, "Transfer Complete.");
}

// ---------------------------------------------------------------------------------------------
// Server

void server::impl::reap(bool all) {
  std::list<std::shared_ptr<session_slot>> finished;
  {
    std::lock_guard lock{sessions_mutex};
    for (auto it = sessions.begin(); it != sessions.end();) {
      if (all || (*it)->done) {
        finished.push_back(*it);
        it = sessions.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& slot : finished) {
    if (all) slot->state->abort();
    if (slot->thread.joinable()) slot->thread.join();
  }
}

void server::impl::accept_loop() {
  transfer_control never;
  while (!stopping) {
    auto socket = accept_with_timeout(acceptor, 200ms, never);
    reap(false);
    if (!socket) continue;
    size_t open = 0;
    {
      std::lock_guard lock{sessions_mutex};
      open = sessions.size();
    }
    if (open >= options.sessions_max || stopping) {
      boost::system::error_code ec;
      std::string busy = "421 Too many sessions; try again later.\r\n";
      asio::write(*socket, asio::buffer(busy), ec);
      socket->close(ec);
      continue;
    }
    auto slot = std::make_shared<session_slot>();
    slot->state = std::make_shared<session>(*this, std::move(*socket));
    {
      std::lock_guard lock{sessions_mutex};
      sessions.push_back(slot);
    }
    slot->thread = std::thread([slot] {
      slot->state->run();
      slot->done = true;
    });
  }
}

expected<std::vector<password_entry>> parse_password_file(std::string_view text,
                                                          const std::string& source) {
  std::vector<password_entry> out;
  size_t line_number = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto colon = line.find(':');
    std::string where = source + ":" + std::to_string(line_number);
    if (colon == std::string_view::npos || colon == 0)
      return fail(errc::invalid_argument, where + ": expected name:pbkdf2-sha256$...");
    password_entry entry{std::string{line.substr(0, colon)}, std::string{line.substr(colon + 1)}};
    if (entry.name == "anonymous" || entry.name == "ftp")
      return fail(errc::invalid_argument, where + ": anonymous and ftp are reserved names");
    if (!crypto::password_hash_iterations(entry.encoded))
      return fail(errc::invalid_argument, where + ": not a pbkdf2-sha256$ITER$SALT$KEY hash");
    out.push_back(std::move(entry));
  }
  return out;
}

server::server(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

server::~server() {
  stop();
}

uint16_t server::port() const {
  return impl_->bound_port;
}

void server::stop() {
  if (impl_->stopping.exchange(true)) return;
  if (impl_->listener.joinable()) impl_->listener.join();
  impl_->reap(true);
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

expected<std::unique_ptr<server>> server::start(server_options options) {
  auto state = std::make_unique<impl>();
  auto jail = path_jail::make(options.roots);
  if (!jail) return jail.err();
  state->jail = std::move(*jail);
  if (!options.password_file.empty()) {
    std::ifstream in{options.password_file};
    if (!in)
      return fail(errc::invalid_argument,
                  "cannot read gridftp password_file " + options.password_file);
    std::stringstream text;
    text << in.rdbuf();
    auto entries = parse_password_file(text.str(), options.password_file);
    if (!entries) return entries.err();
    for (auto& e : *entries) state->passwords[e.name] = e.encoded;
  }
  if (options.parallelism_max == 0) options.parallelism_max = 1;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(options.bind_address, ec);
  if (ec) return fail(errc::invalid_argument, "gridftp: bad bind address " + options.bind_address);
  tcp::endpoint endpoint{address, options.port};
  state->acceptor.open(endpoint.protocol(), ec);
  if (!ec) state->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) state->acceptor.bind(endpoint, ec);
  if (!ec) state->acceptor.listen(64, ec);
  if (ec)
    return fail(errc::unavailable, "gridftp: cannot listen on " + options.bind_address + ":" +
                                       std::to_string(options.port) + ": " + ec.message());
  state->bound_port = state->acceptor.local_endpoint(ec).port();
  state->options = std::move(options);
  auto* raw = state.get();
  state->listener = std::thread([raw] { raw->accept_loop(); });
  return std::make_unique<server>(std::move(state));
}

}  // namespace librarian::gridftp
