// The CLI's connection list: ~/.hl_client.cfg (or $HL_CLIENT_CONFIG), the reference librarian's
// client file, validated strictly so a typo names its key and file instead of failing later.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/expected.hpp"

namespace librarian::cli {

// One entry of "connections". Exactly one of password (with user) or token authenticates.
struct connection {
  std::string name;
  std::string host;  // a host name or IP; an "http://" prefix in the file is accepted and dropped
  uint16_t port = 0;
  std::optional<std::string> user;
  std::optional<std::string> password;
  std::optional<std::string> token;  // sent as "Authorization: Bearer <token>"
};

struct client_config {
  std::string path;  // the file it came from, for messages
  std::map<std::string, connection> connections;
  std::vector<std::string> warnings;  // e.g. the file is readable by others
};

// Parses the file's text; `path` only labels messages. Errors are errc::invalid_argument and
// name the file and the key, e.g. "~/.hl_client.cfg: connections.local.port: ...".
[[nodiscard]] expected<client_config> parse_client_config(std::string_view text,
                                                          const std::string& path);

// Reads `explicit_path`, else $HL_CLIENT_CONFIG, else $HOME/.hl_client.cfg. A missing file is
// errc::not_found saying where it looked, with an example of the format.
[[nodiscard]] expected<client_config> load_client_config(
    const std::optional<std::string>& explicit_path);

// The named connection, or errc::not_found listing the names the file has.
[[nodiscard]] expected<connection> find_connection(const client_config& config,
                                                   std::string_view name);

// The example shown when the file is missing.
[[nodiscard]] std::string_view client_config_example();

}  // namespace librarian::cli
