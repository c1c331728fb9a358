// GridFTP URLs as globus-url-copy takes them: ftp://[user[:password]@]host[:port]/path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/expected.hpp"

namespace librarian::gridftp {

struct url {
  std::string user = "anonymous";
  std::string password = "librarian@";
  std::string host;
  uint16_t port = 2811;
  std::string path;                             // absolute, as sent in RETR/STOR
  [[nodiscard]] std::string to_string() const;  // without the password
};

// ftp://[user[:password]@]host[:port]/path. gsiftp:// is refused (GSI is not supported).
[[nodiscard]] expected<url> parse_url(std::string_view text);

}  // namespace librarian::gridftp
