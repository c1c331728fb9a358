#include "net/gridftp/command.hpp"

#include <charconv>
#include <vector>

namespace librarian::gridftp {
namespace {

// A reply has at most this many lines; FEAT and MLST are ~30. A peer sending more is broken or
// hostile, and the client gives up instead of buffering without end.
constexpr size_t reply_lines_max = 1000;

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Splits off the first space-separated word; the remainder keeps inner spaces (paths may hold
// spaces).
std::string_view take_word(std::string_view& text) {
  auto space = text.find(' ');
  auto word = text.substr(0, space);
  text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
  return word;
}

error bad(std::string what) {
  return fail(errc::invalid_argument, std::move(what));
}

}  // namespace

std::string upper(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

expected<std::optional<std::string>> line_reader::next_line() {
  auto lf = buffer_.find('\n');
  if (lf == std::string::npos) {
    if (buffer_.size() > line_bytes_max_)
      return bad("command line longer than " + std::to_string(line_bytes_max_) + " bytes");
    return std::optional<std::string>{};
  }
  if (lf > line_bytes_max_)
    return bad("command line longer than " + std::to_string(line_bytes_max_) + " bytes");
  // CRLF is the standard; a bare LF is accepted because some clients (and netcat) send it.
  size_t end = (lf > 0 && buffer_[lf - 1] == '\r') ? lf - 1 : lf;
  std::string line = buffer_.substr(0, end);
  buffer_.erase(0, lf + 1);
  return std::optional<std::string>{std::move(line)};
}

expected<command> parse_command(std::string_view line) {
  if (line.empty()) return bad("empty command line");
  if (line.size() > command_line_bytes_max) return bad("command line too long");
  for (char c : line) {
    auto u = static_cast<unsigned char>(c);
    // Control characters (NUL, CR inside the line, escape sequences) have no business in a
    // command and could smuggle a second command or corrupt logs. UTF-8 bytes >= 0x80 are fine.
    if (u < 0x20 || u == 0x7f) return bad("control character in command line");
  }
  std::string_view rest = line;
  auto verb = take_word(rest);
  if (verb.size() < 3 || verb.size() > 4) return bad("command verbs have 3 or 4 letters");
  for (char c : verb)
    if (!is_alpha(c)) return bad("command verbs are letters only");
  return command{upper(verb), std::string{rest}};
}

std::optional<uint64_t> parse_u64(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  for (char c : text)
    if (!is_digit(c)) return std::nullopt;
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

expected<host_port> parse_port_arg(std::string_view text) {
  if (!text.empty() && text.front() == '(') {
    auto close = text.find(')');
    if (close == std::string_view::npos) return bad("unterminated address");
    text = text.substr(1, close - 1);
  }
  std::vector<uint64_t> parts;
  while (true) {
    auto comma = text.find(',');
    auto n = parse_u64(text.substr(0, comma));
    if (!n || *n > 255) return bad("PORT wants six numbers 0-255: h1,h2,h3,h4,p1,p2");
    parts.push_back(*n);
    if (parts.size() > 6) return bad("PORT wants six numbers");
    if (comma == std::string_view::npos) break;
    text = text.substr(comma + 1);
  }
  if (parts.size() != 6) return bad("PORT wants six numbers");
  host_port out;
  out.host = std::to_string(parts[0]) + "." + std::to_string(parts[1]) + "." +
             std::to_string(parts[2]) + "." + std::to_string(parts[3]);
  out.port = static_cast<uint16_t>(parts[4] * 256 + parts[5]);
  if (out.port == 0) return bad("port 0 is not a data port");
  return out;
}

std::string format_port_arg(const host_port& hp) {
  std::string out = hp.host;
  for (auto& c : out)
    if (c == '.') c = ',';
  return out + "," + std::to_string(hp.port / 256) + "," + std::to_string(hp.port % 256);
}

expected<host_port> parse_eprt_arg(std::string_view text) {
  // The first character is the delimiter (RFC 2428); '|' in practice, any printable allowed.
  if (text.size() < 7) return bad("EPRT wants |proto|address|port|");
  char d = text.front();
  if (d < 33 || d > 126 || is_digit(d)) return bad("bad EPRT delimiter");
  std::vector<std::string_view> fields;
  std::string_view rest = text.substr(1);
  for (int i = 0; i < 3; ++i) {
    auto pos = rest.find(d);
    if (pos == std::string_view::npos) return bad("EPRT wants |proto|address|port|");
    fields.push_back(rest.substr(0, pos));
    rest = rest.substr(pos + 1);
  }
  if (!rest.empty()) return bad("trailing text after EPRT");
  if (fields[0] != "1" && fields[0] != "2") return bad("EPRT protocol must be 1 or 2");
  auto port = parse_u64(fields[2]);
  if (!port || *port == 0 || *port > 65535) return bad("bad EPRT port");
  if (fields[1].empty() || fields[1].size() > 45) return bad("bad EPRT address");
  for (char c : fields[1])
    if (!(is_digit(c) || c == '.' || c == ':' || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
      return bad("bad EPRT address");
  return host_port{std::string{fields[1]}, static_cast<uint16_t>(*port)};
}

expected<uint16_t> parse_epsv_reply(std::string_view text) {
  auto open = text.find('(');
  auto close = text.find(')', open == std::string_view::npos ? 0 : open);
  if (open == std::string_view::npos || close == std::string_view::npos || close - open < 6)
    return bad("no (|||port|) in the EPSV reply");
  auto inner = text.substr(open + 1, close - open - 1);  // |||port|
  char d = inner.front();
  if (inner.size() < 5 || inner[1] != d || inner[2] != d || inner.back() != d)
    return bad("malformed EPSV reply");
  auto port = parse_u64(inner.substr(3, inner.size() - 4));
  if (!port || *port == 0 || *port > 65535) return bad("bad port in the EPSV reply");
  return static_cast<uint16_t>(*port);
}

expected<unsigned> parse_opts_retr(std::string_view text, unsigned streams_max) {
  std::string_view rest = text;
  auto what = take_word(rest);
  if (upper(what) != "RETR") return bad("only OPTS RETR is supported");
  unsigned streams = 0;
  // "Parallelism=4,4,4;" possibly with other "Key=Value;" options we ignore (StripeLayout...).
  while (!rest.empty()) {
    auto semi = rest.find(';');
    auto item = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos) return bad("OPTS RETR wants Key=Value;");
    if (upper(item.substr(0, eq)) != "PARALLELISM") continue;
    auto values = item.substr(eq + 1);
    uint64_t largest = 0;
    int count = 0;
    while (true) {
      auto comma = values.find(',');
      auto n = parse_u64(values.substr(0, comma));
      if (!n || *n == 0 || ++count > 3) return bad("Parallelism wants start,min,max");
      largest = std::max(largest, *n);
      if (comma == std::string_view::npos) break;
      values = values.substr(comma + 1);
    }
    streams = static_cast<unsigned>(std::min<uint64_t>(largest, streams_max));
  }
  if (streams == 0) return bad("OPTS RETR without Parallelism=");
  return streams;
}

expected<rest_arg> parse_rest(std::string_view text) {
  if (text.empty()) return bad("REST wants an offset or a range list");
  rest_arg out;
  if (auto n = parse_u64(text)) {
    out.stream_offset = *n;
    return out;
  }
  auto ranges = data::range_set::parse(text, 100000);
  if (!ranges) return bad("REST wants an offset or a range list a-b,c-d: " + ranges.err().message);
  out.ranges = std::move(*ranges);
  return out;
}

expected<eret_arg> parse_eret(std::string_view text) {
  auto mode = take_word(text);
  if (upper(mode) != "P") return bad("only ERET P <offset> <length> <path> is supported");
  auto off = parse_u64(take_word(text));
  auto len = parse_u64(take_word(text));
  if (!off || !len) return bad("ERET P wants decimal offset and length");
  if (*off > UINT64_MAX - *len) return bad("ERET offset + length overflows");
  if (text.empty()) return bad("ERET wants a path");
  return eret_arg{*off, *len, std::string{text}};
}

expected<esto_arg> parse_esto(std::string_view text) {
  auto mode = take_word(text);
  if (upper(mode) != "A") return bad("only ESTO A <offset> <path> is supported");
  auto off = parse_u64(take_word(text));
  if (!off) return bad("ESTO A wants a decimal offset");
  if (text.empty()) return bad("ESTO wants a path");
  return esto_arg{*off, std::string{text}};
}

expected<cksm_arg> parse_cksm(std::string_view text) {
  cksm_arg out;
  out.alg = upper(take_word(text));
  if (out.alg.empty()) return bad("CKSM wants <alg> <offset> <length> <path>");
  auto off = parse_u64(take_word(text));
  if (!off) return bad("CKSM wants a decimal offset");
  out.offset = *off;
  auto len_text = take_word(text);
  if (len_text != "-1") {
    auto len = parse_u64(len_text);
    if (!len) return bad("CKSM wants a decimal length or -1");
    if (*off > UINT64_MAX - *len) return bad("CKSM offset + length overflows");
    out.length = *len;
  }
  if (text.empty()) return bad("CKSM wants a path");
  out.path = std::string{text};
  return out;
}

expected<std::optional<reply>> reply_reader::feed_line(std::string_view line) {
  if (++lines_ > reply_lines_max)
    return bad("reply longer than " + std::to_string(reply_lines_max) + " lines");
  auto code_of = [](std::string_view l) -> int {
    if (l.size() < 3 || !is_digit(l[0]) || !is_digit(l[1]) || !is_digit(l[2])) return 0;
    if (l.size() > 3 && l[3] != ' ' && l[3] != '-') return 0;
    return (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
  };
  int code = code_of(line);
  if (!text_.empty() || multiline_code_ != 0) text_ += '\n';
  text_ += std::string{line};
  if (multiline_code_ == 0) {
    if (code < 100 || code > 599)
      return bad("malformed reply line: " + std::string{line.substr(0, 80)});
    if (line.size() > 3 && line[3] == '-') {
      multiline_code_ = code;
      return std::optional<reply>{};
    }
  } else if (!(code == multiline_code_ && (line.size() == 3 || line[3] == ' '))) {
    return std::optional<reply>{};  // an inner line of a multi-line reply
  }
  reply out{code, std::move(text_)};
  multiline_code_ = 0;
  text_.clear();
  lines_ = 0;
  return std::optional<reply>{std::move(out)};
}

}  // namespace librarian::gridftp
