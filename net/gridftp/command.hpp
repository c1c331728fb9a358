// The FTP/GridFTP control channel's text layer: bounded line reading, command parsing and the
// argument grammars of the commands we serve (PORT/EPRT, OPTS RETR, REST, ERET, ESTO, CKSM). Pure
// functions over strings, shared by the server, the client and the fuzz target.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/data/range_set.hpp"
#include "runtime/expected.hpp"

namespace librarian::gridftp {

// RFC 959 puts no limit on a line; we do. A path, a REST range list of a few hundred ranges or a
// CLIENTINFO string fit well inside.
inline constexpr size_t command_line_bytes_max = 8192;

// Collects control-channel bytes and hands out complete lines (without the CRLF). A line longer
// than the limit is an error and the rest of the stream is not trusted: the caller replies 500
// and closes the connection.
class line_reader {
 public:
  explicit line_reader(size_t line_bytes_max = command_line_bytes_max)
      : line_bytes_max_(line_bytes_max) {}
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // A complete line, nullopt when more bytes are needed, or an error for an oversized line.
  [[nodiscard]] expected<std::optional<std::string>> next_line();
  [[nodiscard]] size_t buffered() const { return buffer_.size(); }

 private:
  size_t line_bytes_max_;
  std::string buffer_;
};

struct command {
  std::string verb;  // upper case, 3 or 4 letters
  std::string arg;   // everything after the first space, may be empty
};

// Refuses (errc::invalid_argument) empty lines, verbs that are not 3-4 ASCII letters, control
// characters (other than none) and NUL anywhere. Does not decide whether the verb is known.
[[nodiscard]] expected<command> parse_command(std::string_view line);

// Host and port of a data connection, IPv4 or IPv6 text form.
struct host_port {
  std::string host;
  uint16_t port = 0;
  friend bool operator==(const host_port&, const host_port&) = default;
};

// "h1,h2,h3,h4,p1,p2" (PORT) and "(h1,...,p2)" inside a 227 reply.
[[nodiscard]] expected<host_port> parse_port_arg(std::string_view text);
[[nodiscard]] std::string format_port_arg(const host_port& hp);  // IPv4 only
// "|1|127.0.0.1|5000|" or "|2|::1|5000|" (EPRT)
[[nodiscard]] expected<host_port> parse_eprt_arg(std::string_view text);
// "(|||5000|)" inside a 229 reply: the port only.
[[nodiscard]] expected<uint16_t> parse_epsv_reply(std::string_view text);

// "RETR Parallelism=4,4,4;" (the argument of OPTS); returns the stream count to use (the max,
// bounded by streams_max).
[[nodiscard]] expected<unsigned> parse_opts_retr(std::string_view text, unsigned streams_max);

// A decimal u64 with no sign, no spaces and at most 20 digits.
[[nodiscard]] std::optional<uint64_t> parse_u64(std::string_view text);

// REST: a single stream-mode offset ("1000") or a MODE E range list ("0-100,200-300").
struct rest_arg {
  std::optional<uint64_t> stream_offset;
  data::range_set ranges;
};
[[nodiscard]] expected<rest_arg> parse_rest(std::string_view text);

// ERET P <offset> <length> <path>
struct eret_arg {
  uint64_t offset = 0;
  uint64_t length = 0;
  std::string path;
};
[[nodiscard]] expected<eret_arg> parse_eret(std::string_view text);

// ESTO A <offset> <path>
struct esto_arg {
  uint64_t offset = 0;
  std::string path;
};
[[nodiscard]] expected<esto_arg> parse_esto(std::string_view text);

// CKSM <alg> <offset> <length|-1> <path>
struct cksm_arg {
  std::string alg;  // upper case as sent
  uint64_t offset = 0;
  std::optional<uint64_t> length;  // nullopt for -1 (to the end)
  std::string path;
};
[[nodiscard]] expected<cksm_arg> parse_cksm(std::string_view text);

// A reply: code and the text of all its lines (joined with '\n').
struct reply {
  int code = 0;
  std::string text;
  [[nodiscard]] bool preliminary() const { return code >= 100 && code < 200; }
  [[nodiscard]] bool ok() const { return code >= 200 && code < 400; }
};

// Consumes one complete reply (single or multi-line, RFC 959 §4.2) from lines fed one at a time.
class reply_reader {
 public:
  // Returns the reply when `line` completes one; an error for a malformed line.
  [[nodiscard]] expected<std::optional<reply>> feed_line(std::string_view line);

 private:
  int multiline_code_ = 0;
  std::string text_;
  size_t lines_ = 0;
};

// Upper-cases ASCII.
[[nodiscard]] std::string upper(std::string_view text);

}  // namespace librarian::gridftp
