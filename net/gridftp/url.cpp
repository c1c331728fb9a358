#include "net/gridftp/url.hpp"

#include "net/gridftp/command.hpp"

namespace librarian::gridftp {

std::string url::to_string() const {
  return "ftp://" + (user == "anonymous" ? std::string{} : user + "@") + host + ":" +
         std::to_string(port) + path;
}

expected<url> parse_url(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return fail(errc::invalid_argument,
                "bad GridFTP URL '" + std::string{text.substr(0, 200)} + "': " + why);
  };
  for (char c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return bad("control character");
  if (text.rfind("gsiftp://", 0) == 0)
    return bad("gsiftp:// needs GSI, which is not supported; use ftp:// (clear-text login)");
  if (text.rfind("ftp://", 0) != 0) return bad("must start with ftp://");
  auto rest = text.substr(6);
  auto slash = rest.find('/');
  if (slash == std::string_view::npos) return bad("no path");
  auto authority = rest.substr(0, slash);
  url out;
  out.path = std::string{rest.substr(slash)};
  if (out.path.size() > 4096) return bad("path too long");
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    auto userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = userinfo.find(':');
    out.user = std::string{userinfo.substr(0, colon)};
    if (colon != std::string_view::npos) out.password = std::string{userinfo.substr(colon + 1)};
    if (out.user.empty()) return bad("empty user");
  }
  std::string_view host = authority;
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated [IPv6]");
    host = authority.substr(1, close - 1);
    authority = authority.substr(close + 1);
    if (!authority.empty() && authority.front() != ':') return bad("junk after ]");
    if (!authority.empty()) {
      auto p = parse_u64(authority.substr(1));
      if (!p || *p == 0 || *p > 65535) return bad("bad port");
      out.port = static_cast<uint16_t>(*p);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    auto p = parse_u64(authority.substr(colon + 1));
    if (!p || *p == 0 || *p > 65535) return bad("bad port");
    out.port = static_cast<uint16_t>(*p);
  }
  if (host.empty() || host.size() > 253) return bad("bad host");
  out.host = std::string{host};
  return out;
}

}  // namespace librarian::gridftp
