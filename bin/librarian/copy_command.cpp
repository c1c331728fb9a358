// `librarian copy`: resolves the two URLs, expands -r trees, applies -sync, then runs each file
// through the mover its schemes call for, with -rst retries (resuming from committed ranges) and
// a progress display. Bytes never pass through this process twice: the native channel hashes
// inline at both ends.
#include "bin/librarian/copy_command.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "bin/librarian/api_calls.hpp"
#include "bin/librarian/client_config.hpp"
#include "net/data/client.hpp"
#include "net/data/receiver.hpp"
#include "net/gridftp/client.hpp"
#include "net/http/url.hpp"

namespace librarian::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

enum class scheme { file, lib, ftp };

// Files up to this size in a tree go pipelined on tree-ticket connections (the node's limit for
// inline files is 16 MiB; beyond a few MiB parallel streams win).
constexpr uint64_t tree_small_bytes_max = 4ull << 20;

struct location {
  scheme kind = scheme::file;
  std::string host;
  std::optional<uint16_t> port;
  std::string path;  // absolute
  std::string text;  // as given
};

expected<location> parse_location(const std::string& text) {
  location loc;
  loc.text = text;
  auto after = [&](std::string_view prefix) { return text.substr(prefix.size()); };
  if (text.rfind("file://", 0) == 0) {
    loc.path = after("file://");
  } else if (text.rfind("lib://", 0) == 0 || text.rfind("ftp://", 0) == 0) {
    loc.kind = text[0] == 'l' ? scheme::lib : scheme::ftp;
    std::string rest = after(loc.kind == scheme::lib ? "lib://" : "ftp://");
    auto slash = rest.find('/');
    if (slash == std::string::npos || slash == 0)
      return fail(
          errc::invalid_argument,
          "'" + text + "' needs a host and an absolute path, e.g. lib://host:7190/data/file");
    std::string authority = rest.substr(0, slash);
    loc.path = rest.substr(slash);
    auto colon = authority.rfind(':');
    if (colon != std::string::npos && authority.find(']') == std::string::npos) {
      int port = 0;
      try {
        port = std::stoi(authority.substr(colon + 1));
      } catch (...) {
        port = -1;
      }
      if (port <= 0 || port > 65535)
        return fail(errc::invalid_argument, "bad port in '" + text + "'");
      loc.port = static_cast<uint16_t>(port);
      authority = authority.substr(0, colon);
    }
    loc.host = authority;
    if (loc.host.empty()) return fail(errc::invalid_argument, "'" + text + "' has no host");
  } else if (text.find("://") != std::string::npos) {
    return fail(errc::invalid_argument,
                "unsupported URL scheme in '" + text + "': use file://, lib:// or ftp://");
  } else {
    std::error_code ec;
    loc.path = fs::absolute(text, ec).string();
  }
  if (loc.path.empty() || loc.path.front() != '/')
    return fail(errc::invalid_argument,
                "'" + text + "': the path must be absolute (file:///abs/path)");
  return loc;
}

struct file_info {
  bool exists = false;
  bool directory = false;
  uint64_t size = 0;
  int64_t mtime = 0;
  std::string checksum;  // when asked for
};

struct entry {
  std::string relative;  // "" for a single file
  uint64_t size = 0;
};

// Everything a run shares: credentials, options, counters for the progress display.
struct copy_context {
  const copy_arguments& args;
  std::optional<client_config> config;
  data::transfer_options options;
  std::chrono::milliseconds api_timeout{30000};
  std::atomic<uint64_t> bytes_done{0};
  uint64_t bytes_total = 0;
  std::mutex print_mu;
};

expected<connection> connection_for(copy_context& ctx, const location& loc) {
  if (!ctx.config) {
    auto loaded = load_client_config(std::nullopt);
    if (!loaded) return loaded.err();
    ctx.config = std::move(*loaded);
  }
  if (ctx.args.connection_name) return find_connection(*ctx.config, *ctx.args.connection_name);
  std::optional<connection> found;
  for (const auto& [name, conn] : ctx.config->connections) {
    if (conn.host != loc.host) continue;
    if (found)
      return fail(errc::invalid_argument, "several connections in " + ctx.config->path +
                                              " are for host " + loc.host +
                                              "; choose one with --conn NAME");
    found = conn;
  }
  if (!found)
    return fail(errc::not_found, "no connection in " + ctx.config->path + " is for host " +
                                     loc.host + "; add one, or pass --conn NAME");
  return *found;
}

expected<file_info> stat_location(copy_context& ctx, const location& loc, bool with_checksum) {
  file_info info;
  const auto alg = *data::parse_checksum_alg(ctx.args.checksum_alg);
  if (loc.kind == scheme::file) {
    struct stat st {};
    if (::stat(loc.path.c_str(), &st) != 0) return info;
    info.exists = true;
    info.directory = S_ISDIR(st.st_mode);
    info.size = static_cast<uint64_t>(st.st_size);
    info.mtime = st.st_mtim.tv_sec;
    if (with_checksum && !info.directory) {
      auto sum = data::checksum_file(loc.path, alg);
      if (!sum) return sum.err();
      info.checksum = data::format_checksum(alg, *sum);
    }
    return info;
  }
  if (loc.kind == scheme::ftp) {
    auto st = gridftp::stat(loc.text, ctx.options);
    if (!st) {
      if (st.err().code == errc::not_found) return info;
      return st.err();
    }
    info.exists = true;
    info.directory = st->is_dir;
    info.size = st->size;
    info.mtime = st->mtime_unix;
    if (with_checksum && !info.directory) {
      std::string upper(data::name(alg));
      for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      auto sum = gridftp::remote_checksum(loc.text, upper, ctx.options);
      if (!sum) return sum.err();
      info.checksum = data::format_checksum(alg, *sum);
    }
    return info;
  }
  auto conn = connection_for(ctx, loc);
  if (!conn) return conn.err();
  std::string target = "/api/v1/data/stat?path=" + net::http::percent_encode(loc.path);
  if (with_checksum) target += "&checksum=" + std::string(data::name(alg));
  auto reply = call_api(*conn, "GET", target, std::nullopt, ctx.api_timeout);
  if (!reply) return reply.err();
  const json& v = reply->value;
  info.exists = v.value("exists", false);
  info.directory = v.value("type", "") == "dir";
  info.size = v.value("size", uint64_t{0});
  info.mtime = v.value("mtime", int64_t{0});
  info.checksum = v.value("checksum", "");
  return info;
}

location join(const location& base, const std::string& relative);

expected<std::vector<entry>> list_tree(copy_context& ctx, const location& loc) {
  std::vector<entry> out;
  if (loc.kind == scheme::file) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(loc.path, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
      if (it->is_regular_file(ec) && !it->is_symlink(ec))
        out.push_back({it->path().lexically_relative(loc.path).string(), it->file_size(ec)});
    if (ec) return fail(errc::unavailable, "cannot list " + loc.path + ": " + ec.message());
    return out;
  }
  if (loc.kind == scheme::ftp) {
    // MLSD directory by directory, bounded in depth and entries like the node's own listing.
    std::vector<std::pair<std::string, int>> dirs{{"", 0}};
    for (size_t next_dir = 0; next_dir < dirs.size(); ++next_dir) {
      auto [rel, depth] = dirs[next_dir];
      auto entries = gridftp::list(join(loc, rel).text, ctx.options);
      if (!entries) return entries.err();
      for (const auto& e : *entries) {
        const std::string child = rel.empty() ? e.name : rel + "/" + e.name;
        if (out.size() + dirs.size() > 100000)
          return fail(errc::invalid_argument,
                      "more than 100000 entries under " + loc.text + "; copy a smaller tree");
        if (e.is_dir && depth < 64)
          dirs.push_back({child, depth + 1});
        else if (!e.is_dir)
          out.push_back({child, e.size});
      }
    }
    return out;
  }
  auto conn = connection_for(ctx, loc);
  if (!conn) return conn.err();
  auto reply =
      call_api(*conn, "GET", "/api/v1/data/list?path=" + net::http::percent_encode(loc.path),
               std::nullopt, ctx.api_timeout);
  if (!reply) return reply.err();
  for (const auto& e : reply->value.value("entries", json::array()))
    if (e.value("type", "") == "file")
      out.push_back({e.value("path", ""), e.value("size", uint64_t{0})});
  return out;
}

expected<std::pair<std::string, data::data_endpoint>> ticket_for(copy_context& ctx,
                                                                 const location& loc, json body) {
  auto conn = connection_for(ctx, loc);
  if (!conn) return conn.err();
  body["path"] = loc.path;
  body["checksum_alg"] = ctx.args.checksum_alg;
  auto reply = call_api(*conn, "POST", "/api/v1/data/tickets", body, ctx.api_timeout);
  if (!reply) return reply.err();
  const json& v = reply->value;
  if (!v.contains("ticket") || !v["ticket"].is_string() || !v.contains("data_port"))
    return fail(errc::internal, "the node's ticket reply lacks 'ticket' or 'data_port'");
  data::data_endpoint ep{loc.host, loc.port.value_or(v["data_port"].get<uint16_t>())};
  return std::make_pair(v["ticket"].get<std::string>(), ep);
}

// file -> file through the same journaled receiver: resumable, verified, never a partial file
// under the final name.
expected<data::transfer_report> local_copy(copy_context& ctx, const location& src,
                                           const location& dst) {
  int fd = ::open(src.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errc::not_found, "cannot open " + src.path + ": " + std::strerror(errno));
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } close_src{fd};
  struct stat st {};
  ::fstat(fd, &st);
  const auto& o = ctx.options;
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (o.partial_offset > size)
    return fail(errc::invalid_argument, "partial offset is past the end of " + src.path);
  const uint64_t length = std::min(o.partial_length.value_or(UINT64_MAX), size - o.partial_offset);
  auto pool = std::make_shared<data::buffer_pool>(o.block_bytes, 4);
  data::receiver_config rc;
  rc.final_path = dst.path;
  rc.window_begin = o.partial_offset;
  rc.window_length = length;
  rc.alg = o.alg;
  rc.direct_io = o.direct_io;
  struct stat dst_st {};
  rc.discard = ::stat(dst.path.c_str(), &dst_st) == 0 && S_ISCHR(dst_st.st_mode);
  auto rx = data::receiver::open(rc, pool);
  if (!rx) return rx.err();
  const auto have = (*rx)->committed();
  auto start = std::chrono::steady_clock::now();
  data::transfer_report report;
  report.bytes_total = length;
  report.bytes_resumed = have.covered();
  for (auto [b, e] : have.missing(o.partial_offset, o.partial_offset + length)) {
    for (uint64_t off = b; off < e;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(o.block_bytes, e - off));
      data::block_buffer buf = pool->take();
      buf.resize(n);
      ssize_t got = ::pread(fd, buf.data(), n, static_cast<off_t>(off));
      if (got != static_cast<ssize_t>(n))
        return fail(errc::unavailable, "short read from " + src.path);
      if (auto w = (*rx)->write_block({0, n, off}, std::move(buf)); !w) return w.err();
      off += n;
      report.bytes += n;
      ctx.bytes_done += n;
    }
  }
  auto sum = (*rx)->finish("");
  if (!sum) return sum.err();
  report.checksum = *sum;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

expected<data::transfer_report> copy_once(copy_context& ctx, const location& src,
                                          const location& dst, uint64_t size,
                                          data::range_set* ftp_committed) {
  auto opts = ctx.options;
  // One stream is enough for a file that fits in a couple of blocks; more only costs connections.
  if (src.kind != scheme::ftp && size <= 2 * opts.block_bytes) opts.streams = 1;
  uint64_t last = 0;
  std::mutex last_mu;
  opts.on_progress = [&](const data::transfer_progress& p) {
    std::lock_guard lock(last_mu);
    if (p.bytes_done > last) {
      ctx.bytes_done += p.bytes_done - last;
      last = p.bytes_done;
    }
  };
  if (src.kind == scheme::file && dst.kind == scheme::file) return local_copy(ctx, src, dst);
  if (src.kind == scheme::file && dst.kind == scheme::lib) {
    const uint64_t length = std::min(opts.partial_length.value_or(UINT64_MAX),
                                     size - std::min(size, opts.partial_offset));
    auto t = ticket_for(ctx, dst,
                        {{"mode", "put"}, {"size", length}, {"create_dirs", ctx.args.create_dirs}});
    if (!t) return t.err();
    return data::put_file(t->second, t->first, src.path, opts);
  }
  if (src.kind == scheme::lib && dst.kind == scheme::file) {
    json body{{"mode", "get"}};
    if (opts.partial_offset) body["offset"] = opts.partial_offset;
    if (opts.partial_length) body["length"] = *opts.partial_length;
    auto t = ticket_for(ctx, src, body);
    if (!t) return t.err();
    if (ctx.args.create_dirs) {
      std::error_code ec;
      fs::create_directories(fs::path(dst.path).parent_path(), ec);
    }
    return data::get_file(t->second, t->first, dst.path, opts);
  }
  // GridFTP: the client keeps what the server committed (111 markers) across -rst attempts.
  if (src.kind == scheme::file && dst.kind == scheme::ftp)
    return gridftp::upload(src.path, dst.text, opts, ftp_committed);
  if (src.kind == scheme::ftp && dst.kind == scheme::file)
    return gridftp::download(src.text, dst.path, opts);
  if (src.kind == scheme::ftp && dst.kind == scheme::ftp)
    return gridftp::third_party(src.text, dst.text, opts, ftp_committed);
  if (src.kind == scheme::ftp || dst.kind == scheme::ftp)
    return fail(errc::invalid_argument,
                "ftp:// copies go to or from file:// or another ftp:// server; "
                "for a node, use its lib:// data port");
  return fail(
      errc::invalid_argument,
      "copying between two nodes (lib:// to lib://) is not supported; run the copy on one of them");
}

// -sync: true when the destination already matches at the requested level.
expected<bool> in_sync(copy_context& ctx, const location& src, const location& dst) {
  const int level = ctx.args.sync_level;
  auto d = stat_location(ctx, dst, level >= 3);
  if (!d) return d.err();
  if (!d->exists) return false;
  if (level == 0) return true;
  auto s = stat_location(ctx, src, level >= 3);
  if (!s) return s.err();
  if (s->size != d->size) return false;
  if (level == 1) return true;
  if (level == 2) return d->mtime >= s->mtime;
  return !s->checksum.empty() && s->checksum == d->checksum;
}

expected<data::transfer_report> copy_with_retries(copy_context& ctx, const location& src,
                                                  const location& dst, uint64_t size) {
  const auto& a = ctx.args;
  const unsigned attempts_max = !a.restart               ? 1
                                : a.restart_retries == 0 ? 1000
                                                         : a.restart_retries + 1;
  std::mt19937_64 jitter(std::random_device{}());
  data::range_set ftp_committed;
  for (unsigned attempt = 1;; ++attempt) {
    auto r = copy_once(ctx, src, dst, size, &ftp_committed);
    if (r || attempt >= attempts_max || !data::retryable(r.err())) {
      if (r && a.verify_checksum && dst.kind == scheme::file && src.kind != scheme::file) {
        // -verify-checksum: an extra, independent pass over the written file.
        auto sum = data::checksum_file(dst.path, ctx.options.alg);
        if (!sum) return sum.err();
        if (!r->checksum.empty() && data::format_checksum(ctx.options.alg, *sum) != r->checksum)
          return fail(errc::checksum_mismatch,
                      dst.path + " does not match the transferred checksum");
      }
      return r;
    }
    double wait_s = a.restart_interval_s > 0 ? a.restart_interval_s
                                             : std::min(60.0, 0.5 * std::pow(2.0, attempt - 1));
    wait_s *= 0.75 + 0.5 * (static_cast<double>(jitter() % 1000) / 1000.0);
    {
      std::lock_guard lock(ctx.print_mu);
      std::cerr << "\rretrying " << src.text << " in " << std::fixed << std::setprecision(1)
                << wait_s << "s (attempt " << attempt + 1 << "): " << r.err().message << '\n';
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(wait_s));
  }
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", b, units[u]);
  return buf;
}

// A progress bar on a terminal (stderr), or -vb's periodic lines; silent otherwise.
class progress_display {
 public:
  progress_display(copy_context& ctx, bool bar, bool verbose)
      : ctx_(ctx), bar_(bar), verbose_(verbose) {
    if (!bar_ && !verbose_) return;
    thread_ = std::thread([this] { loop(); });
  }
  ~progress_display() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
    if (bar_) std::cerr << '\n';
  }

 private:
  void loop() {
    auto start = std::chrono::steady_clock::now();
    int ticks = 0;
    while (!done_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (++ticks % (bar_ ? 5 : 10) != 0 && !done_) continue;
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      double done = static_cast<double>(ctx_.bytes_done.load());
      double total = static_cast<double>(ctx_.bytes_total);
      double rate = secs > 0 ? done / secs : 0;
      std::lock_guard lock(ctx_.print_mu);
      if (bar_) {
        double frac = total > 0 ? std::min(1.0, done / total) : 0;
        int fill = static_cast<int>(frac * 30);
        double eta = rate > 0 && total > done ? (total - done) / rate : 0;
        std::cerr << "\r[" << std::string(static_cast<size_t>(fill), '=')
                  << std::string(static_cast<size_t>(30 - fill), ' ') << "] " << std::setw(3)
                  << static_cast<int>(frac * 100) << "% " << human_bytes(done) << " "
                  << human_bytes(rate) << "/s ETA " << static_cast<int>(eta) << "s   "
                  << std::flush;
      } else {
        std::cerr << std::fixed << std::setprecision(2) << "  " << static_cast<uint64_t>(done)
                  << " bytes " << rate / 1e6 << " MB/sec avg\n";
      }
    }
  }
  copy_context& ctx_;
  bool bar_, verbose_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

location join(const location& base, const std::string& relative) {
  location out = base;
  if (relative.empty()) return out;
  out.path = (fs::path(base.path) / relative).string();
  std::string text = base.text;
  while (!text.empty() && text.back() == '/') text.pop_back();
  out.text = text + "/" + relative;
  return out;
}

}  // namespace

std::optional<uint64_t> parse_size(const std::string& text) {
  if (text.empty()) return std::nullopt;
  uint64_t mult = 1;
  std::string digits = text;
  switch (std::toupper(static_cast<unsigned char>(text.back()))) {
    case 'K':
      mult = 1ull << 10;
      digits.pop_back();
      break;
    case 'M':
      mult = 1ull << 20;
      digits.pop_back();
      break;
    case 'G':
      mult = 1ull << 30;
      digits.pop_back();
      break;
    default:
      break;
  }
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos ||
      digits.size() > 12)
    return std::nullopt;
  return std::stoull(digits) * mult;
}

std::vector<std::string> normalize_copy_options(std::vector<std::string> argv) {
  static const char* long_names[] = {"cc",
                                     "bs",
                                     "tcp-bs",
                                     "cd",
                                     "sync",
                                     "sync-level",
                                     "verify-checksum",
                                     "checksum-alg",
                                     "rst",
                                     "rst-retries",
                                     "rst-interval",
                                     "stall-timeout",
                                     "st",
                                     "partial-offset",
                                     "off",
                                     "partial-length",
                                     "len",
                                     "vb",
                                     "buffered-io",
                                     "parallel",
                                     "concurrency",
                                     "recurse",
                                     "create-dest"};
  for (auto& arg : argv) {
    if (arg.size() < 3 || arg[0] != '-' || arg[1] == '-') continue;
    for (const char* name : long_names)
      if (arg.substr(1) == name) arg = "-" + arg;
  }
  return argv;
}

void add_copy_command(CLI::App& app, copy_arguments& a, bool& chosen) {
  auto* sub = app.add_subcommand(
      "copy",
      "copy files like globus-url-copy: file://, lib://HOST[:PORT]/PATH, ftp://HOST:PORT/PATH");
  sub->add_option("SOURCE", a.source,
                  "source URL (file:///abs, lib://host:port/abs, ftp://host:port/abs)")
      ->required();
  sub->add_option("DEST", a.destination, "destination URL")->required();
  sub->add_option("-p,--parallel", a.parallel, "parallel TCP streams per file (4)")
      ->check(CLI::Range(1, 64));
  sub->add_option("--cc,--concurrency", a.concurrency, "files in flight at once (1)")
      ->check(CLI::Range(1, 64));
  sub->add_option("--bs", a.block_size, "block size, e.g. 4M (1M)");
  sub->add_option("--tcp-bs", a.tcp_buffer_size, "TCP buffer size, e.g. 8M (kernel default)");
  sub->add_flag("-r,--recurse", a.recursive, "copy a directory tree");
  sub->add_flag("--cd,--create-dest", a.create_dirs, "create missing destination directories");
  sub->add_flag("--sync", a.sync, "skip files the destination already has (see -sync-level)");
  sub->add_option("--sync-level", a.sync_level, "0 exists, 1 size, 2 mtime (default), 3 checksum")
      ->check(CLI::Range(0, 3));
  sub->add_flag("--verify-checksum", a.verify_checksum,
                "also re-read the written file and compare its checksum");
  sub->add_option("--checksum-alg", a.checksum_alg, "xxh3 (default), md5 or adler32");
  sub->add_flag("--rst", a.restart, "retry failed transfers, resuming from committed ranges");
  sub->add_option("--rst-retries", a.restart_retries, "retries with -rst (5; 0 = until it works)");
  sub->add_option("--rst-interval", a.restart_interval_s,
                  "seconds between retries (0 = exponential backoff)");
  sub->add_option("--stall-timeout,--st", a.stall_timeout_s,
                  "seconds without progress before a transfer fails (600)")
      ->check(CLI::Range(0.1, 86400.0));
  sub->add_option("--partial-offset,--off", a.partial_offset, "first byte to copy");
  sub->add_option("--partial-length,--len", a.partial_length, "bytes to copy");
  sub->add_flag("--vb", a.verbose, "print bytes and rate periodically");
  sub->add_flag("--buffered-io", a.buffered_io,
                "write received data through the page cache instead of O_DIRECT");
  sub->add_option("--conn", a.connection_name,
                  "client-config connection whose credentials lib:// URLs use (default: the one "
                  "for the URL's host)");
  sub->callback([&chosen] { chosen = true; });
}

int run_copy(const copy_arguments& a, bool json_out, const std::optional<std::string>& config_path,
             std::chrono::milliseconds api_timeout) {
  auto report_error = [&](const error& err) {
    if (json_out) {
      std::cout << json{{"ok", false},
                        {"error", std::string(name(err.code))},
                        {"message", err.message}}
                       .dump()
                << '\n';
    } else {
      std::cerr << "error: " << err.message << "\n hint: " << hint(err.code) << '\n';
    }
    return exit_code(err.code);
  };
  copy_context ctx{a};
  ctx.api_timeout = api_timeout;
  if (config_path) {
    auto loaded = load_client_config(config_path);
    if (!loaded) return report_error(loaded.err());
    ctx.config = std::move(*loaded);
  }
  auto alg = data::parse_checksum_alg(a.checksum_alg);
  if (!alg) return report_error(alg.err());
  auto bs = parse_size(a.block_size);
  auto tcp = parse_size(a.tcp_buffer_size);
  if (!bs || *bs < 4096 || *bs > (64ull << 20))
    return report_error(
        fail(errc::invalid_argument, "-bs must be a size between 4K and 64M, e.g. 4M"));
  if (!tcp || *tcp > (1ull << 30))
    return report_error(fail(errc::invalid_argument, "-tcp-bs must be a size up to 1G, e.g. 8M"));
  ctx.options.streams = a.parallel;
  ctx.options.block_bytes = *bs;
  ctx.options.tcp_buffer_bytes = static_cast<int>(*tcp);
  ctx.options.alg = *alg;
  ctx.options.verify_checksum = true;
  ctx.options.stall_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(a.stall_timeout_s * 1000));
  ctx.options.partial_offset = a.partial_offset.value_or(0);
  ctx.options.partial_length = a.partial_length;
  ctx.options.direct_io = !a.buffered_io;

  auto src = parse_location(a.source);
  if (!src) return report_error(src.err());
  auto dst = parse_location(a.destination);
  if (!dst) return report_error(dst.err());

  // Expand the work list: one file, or every file under a source directory with -r.
  auto src_info = stat_location(ctx, *src, false);
  if (!src_info) return report_error(src_info.err());
  if (!src_info->exists) return report_error(fail(errc::not_found, a.source + " does not exist"));
  std::vector<entry> work;
  location dst_base = *dst;
  if (src_info->directory) {
    if (!a.recursive)
      return report_error(
          fail(errc::invalid_argument, a.source + " is a directory; pass -r to copy a tree"));
    auto listed = list_tree(ctx, *src);
    if (!listed) return report_error(listed.err());
    work = std::move(*listed);
  } else {
    // A destination ending in '/' is a directory: keep the source's file name (globus-url-copy).
    if (!dst->path.empty() && dst->path.back() == '/')
      dst_base.path += fs::path(src->path).filename().string();
    work.push_back({"", src_info->size});
  }
  if (src_info->directory && dst_base.kind == scheme::ftp && (a.create_dirs || a.recursive)) {
    // The tree's root on the GridFTP server; its subdirectories are made as files need them.
    if (auto mk = gridftp::make_directory(dst_base.text, ctx.options); !mk)
      return report_error(mk.err());
  }
  if ((a.partial_offset || a.partial_length) && work.size() != 1)
    return report_error(
        fail(errc::invalid_argument, "-partial-offset/-partial-length apply to a single file"));
  for (const auto& w : work) ctx.bytes_total += w.size;

  struct outcome {
    std::string source, destination;
    bool skipped = false;
    std::optional<data::transfer_report> report;
    std::optional<error> failure;
  };
  std::vector<outcome> results(work.size());
  std::atomic<size_t> next{0};
  auto start = std::chrono::steady_clock::now();
  // Small files of a tree travel pipelined on tree-ticket connections, one per -cc worker; the
  // rest (and everything under -sync, which decides file by file) take a ticket each.
  std::vector<size_t> pipelined;
  const bool one_remote = (src->kind == scheme::lib) != (dst_base.kind == scheme::lib) &&
                          src->kind != scheme::ftp && dst_base.kind != scheme::ftp;
  if (src_info->directory && one_remote && !a.sync) {
    for (size_t i = 0; i < work.size(); ++i)
      if (work[i].size <= tree_small_bytes_max) pipelined.push_back(i);
  }
  std::vector<bool> done_already(work.size(), false);
  for (size_t i : pipelined) done_already[i] = true;
  {
    progress_display display(ctx, ::isatty(2) && !json_out, a.verbose);
    if (!pipelined.empty()) {
      const location& remote = src->kind == scheme::lib ? *src : dst_base;
      auto t = ticket_for(ctx, remote,
                          {{"mode", src->kind == scheme::lib ? "get" : "put"},
                           {"tree", true},
                           {"create_dirs", true}});
      auto tree_worker = [&](size_t w, size_t workers) {
        std::vector<data::tree_item> items;
        std::vector<size_t> index;
        for (size_t k = w; k < pipelined.size(); k += workers) {
          const size_t i = pipelined[k];
          const std::string local =
              (fs::path(src->kind == scheme::lib ? dst_base.path : src->path) / work[i].relative)
                  .string();
          items.push_back({local, work[i].relative});
          index.push_back(i);
          results[i].source = join(*src, work[i].relative).text;
          results[i].destination = join(dst_base, work[i].relative).text;
        }
        if (items.empty()) return;
        if (!t) {
          for (size_t i : index) results[i].failure = t.err();
          return;
        }
        auto opts = ctx.options;
        opts.on_progress = [&](const data::transfer_progress& p) {
          ctx.bytes_done += p.bytes_done;
        };
        auto r = src->kind == scheme::lib ? data::get_tree_files(t->second, t->first, items, opts)
                                          : data::put_tree_files(t->second, t->first, items, opts);
        for (size_t k = 0; k < index.size(); ++k) {
          auto& out = results[index[k]];
          if (!r) {
            out.failure = r.err();
          } else if ((*r)[k].failure) {
            out.failure = (*r)[k].failure;
          } else {
            out.report =
                data::transfer_report{(*r)[k].bytes, (*r)[k].bytes, 0, (*r)[k].checksum, 0};
          }
        }
      };
      std::vector<std::thread> tree_workers;
      const size_t n = std::min<size_t>(a.concurrency, pipelined.size());
      for (size_t w = 0; w < n; ++w) tree_workers.emplace_back(tree_worker, w, n);
      for (auto& th : tree_workers) th.join();
    }
    auto worker = [&] {
      for (size_t i = next++; i < work.size(); i = next++) {
        if (done_already[i]) continue;
        const location s = join(*src, work[i].relative), d = join(dst_base, work[i].relative);
        auto& out = results[i];
        out.source = s.text;
        out.destination = d.text;
        if (a.sync) {
          auto same = in_sync(ctx, s, d);
          if (!same) {
            out.failure = same.err();
            continue;
          }
          if (*same) {
            out.skipped = true;
            ctx.bytes_done += work[i].size;
            continue;
          }
        }
        if (d.kind == scheme::file && (a.create_dirs || a.recursive)) {
          std::error_code ec;
          fs::create_directories(fs::path(d.path).parent_path(), ec);
        }
        if (d.kind == scheme::ftp && (a.create_dirs || a.recursive) && !work[i].relative.empty()) {
          // MKD each level under the destination (an existing directory is not an error).
          std::string rel_dir = fs::path(work[i].relative).parent_path().string(), prefix;
          for (const auto& part : fs::path(rel_dir)) {
            prefix += (prefix.empty() ? "" : "/") + part.string();
            if (auto mk = gridftp::make_directory(join(dst_base, prefix).text, ctx.options); !mk) {
              out.failure = mk.err();
              break;
            }
          }
          if (out.failure) continue;
        }
        auto r = copy_with_retries(ctx, s, d, work[i].size);
        if (r)
          out.report = *r;
        else
          out.failure = r.err();
      }
    };
    std::vector<std::thread> workers;
    const unsigned n =
        std::min<unsigned>(a.concurrency, static_cast<unsigned>(std::max<size_t>(1, work.size())));
    for (unsigned i = 0; i < n; ++i) workers.emplace_back(worker);
    for (auto& t : workers) t.join();
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  uint64_t moved = 0;
  size_t failed = 0, skipped = 0;
  std::optional<error> first_failure;
  json files = json::array();
  for (const auto& r : results) {
    json f{{"source", r.source}, {"destination", r.destination}};
    if (r.skipped) {
      ++skipped;
      f["skipped"] = true;
    } else if (r.report) {
      moved += r.report->bytes;
      f["bytes"] = r.report->bytes;
      f["bytes_resumed"] = r.report->bytes_resumed;
      f["checksum"] = r.report->checksum;
      f["seconds"] = r.report->seconds;
    } else if (r.failure) {
      ++failed;
      if (!first_failure) first_failure = r.failure;
      f["error"] = std::string(name(r.failure->code));
      f["message"] = r.failure->message;
    }
    files.push_back(std::move(f));
  }
  if (json_out) {
    std::cout << json{{"ok", failed == 0},
                      {"files", files},
                      {"bytes", moved},
                      {"seconds", secs},
                      {"failed", failed},
                      {"skipped", skipped},
                      {"rate_bytes_per_s", secs > 0 ? static_cast<double>(moved) / secs : 0.0}}
                     .dump()
              << '\n';
  } else {
    for (const auto& r : results)
      if (r.failure)
        std::cerr << "error: " << r.source << " -> " << r.destination << ": " << r.failure->message
                  << '\n';
    if (a.verbose || work.size() > 1)
      std::cerr << "copied " << (work.size() - failed - skipped) << " file(s), skipped " << skipped
                << ", failed " << failed << "; " << human_bytes(static_cast<double>(moved))
                << " in " << std::fixed << std::setprecision(2) << secs << " s ("
                << human_bytes(secs > 0 ? moved / secs : 0) << "/s)\n";
  }
  if (first_failure) {
    if (!json_out) std::cerr << " hint: " << hint(first_failure->code) << '\n';
    return exit_code(first_failure->code);
  }
  return 0;
}

}  // namespace librarian::cli
