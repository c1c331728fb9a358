// Loading and strict validation of the CLI's client config file.
#include "bin/librarian/client_config.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace librarian::cli {
namespace {

using json = nlohmann::json;

// A client config is a few lines; anything bigger is the wrong file.
constexpr size_t config_bytes_max = size_t{1} << 20;

error bad_key(const std::string& path, const std::string& key, const std::string& why) {
  return fail(errc::invalid_argument, path + ": " + key + ": " + why);
}

std::string type_name(const json& value) {
  return value.type_name();
}

expected<std::string> string_field(const json& object, const std::string& field,
                                   const std::string& path, const std::string& prefix) {
  const auto& value = object.at(field);
  if (!value.is_string())
    return bad_key(path, prefix + field, "expected a string, got " + type_name(value));
  auto text = value.get<std::string>();
  if (text.empty()) return bad_key(path, prefix + field, "must not be empty");
  return text;
}

// "http://host" → "host"; https and anything with a port or path are refused with a reason.
expected<std::string> clean_host(std::string host, const std::string& path,
                                 const std::string& key) {
  if (host.starts_with("https://"))
    return bad_key(path, key, "https is not supported by this client yet; use http://");
  if (host.starts_with("http://")) host.erase(0, 7);
  if (host.empty() || host.find_first_of("/:?# \t") != std::string::npos)
    return bad_key(path, key, "expected a bare host name or IP address (put the port in \"port\")");
  return host;
}

expected<uint16_t> port_field(const json& object, const std::string& path, const std::string& key) {
  const auto& value = object.at("port");
  if (!value.is_number_integer())
    return bad_key(path, key, "expected an integer 1..65535, got " + type_name(value));
  auto port = value.get<int64_t>();
  if (port < 1 || port > 65535)
    return bad_key(path, key, "expected an integer 1..65535, got " + std::to_string(port));
  return static_cast<uint16_t>(port);
}

status check_keys(const json& object, const std::string& path, const std::string& prefix) {
  static const std::vector<std::string> known{"host", "port", "user", "password", "token"};
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end())
      return bad_key(path, prefix + key, "unknown key; allowed: host, port, user, password, token");
  }
  for (const char* required : {"host", "port"})
    if (!object.contains(required)) return bad_key(path, prefix + required, "missing");
  bool has_password = object.contains("password");
  bool has_token = object.contains("token");
  if (has_password == has_token)
    return bad_key(path, prefix + "password", "give exactly one of \"password\" or \"token\"");
  if (has_password && !object.contains("user"))
    return bad_key(path, prefix + "user", "missing (needed with \"password\")");
  return {};
}

expected<connection> parse_connection(const std::string& name, const json& object,
                                      const std::string& path) {
  std::string prefix = "connections." + name + ".";
  if (!object.is_object())
    return bad_key(path, "connections." + name, "expected an object, got " + type_name(object));
  if (auto ok = check_keys(object, path, prefix); !ok) return ok.err();
  connection out;
  out.name = name;
  auto host = string_field(object, "host", path, prefix);
  if (!host) return host.err();
  auto cleaned = clean_host(std::move(*host), path, prefix + "host");
  if (!cleaned) return cleaned.err();
  out.host = std::move(*cleaned);
  auto port = port_field(object, path, prefix + "port");
  if (!port) return port.err();
  out.port = *port;
  for (auto [field, slot] : {std::pair{"user", &out.user}, std::pair{"password", &out.password},
                             std::pair{"token", &out.token}}) {
    if (!object.contains(field)) continue;
    auto text = string_field(object, field, path, prefix);
    if (!text) return text.err();
    *slot = std::move(*text);
  }
  return out;
}

}  // namespace

std::string_view client_config_example() {
  return R"({"connections": {"local": {"host": "localhost", "port": 21108,
                             "user": "admin", "password": "change-me"}}})";
}

expected<client_config> parse_client_config(std::string_view text, const std::string& path) {
  json root = json::parse(text, nullptr, false);
  if (root.is_discarded()) return fail(errc::invalid_argument, path + ": not valid JSON");
  if (!root.is_object())
    return fail(errc::invalid_argument, path + ": expected a JSON object at the top");
  for (const auto& [key, value] : root.items())
    if (key != "connections") return bad_key(path, key, "unknown key; allowed: connections");
  if (!root.contains("connections")) return bad_key(path, "connections", "missing");
  const auto& connections = root.at("connections");
  if (!connections.is_object())
    return bad_key(path, "connections", "expected an object, got " + type_name(connections));
  client_config out;
  out.path = path;
  for (const auto& [name, value] : connections.items()) {
    if (name.empty()) return bad_key(path, "connections", "a connection name is empty");
    auto conn = parse_connection(name, value, path);
    if (!conn) return conn.err();
    out.connections.emplace(name, std::move(*conn));
  }
  return out;
}

expected<client_config> load_client_config(const std::optional<std::string>& explicit_path) {
  std::string path;
  if (explicit_path) {
    path = *explicit_path;
  } else if (const char* env = std::getenv("HL_CLIENT_CONFIG"); env && *env) {
    path = env;
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    path = std::string{home} + "/.hl_client.cfg";
  } else {
    return fail(errc::not_found, "no client config: $HL_CLIENT_CONFIG and $HOME are both unset");
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return fail(errc::not_found,
                "no client config at " + path +
                    " (looked at --config, then $HL_CLIENT_CONFIG, then ~/.hl_client.cfg); "
                    "create it with mode 600, for example:\n  " +
                    std::string{client_config_example()});
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (text.str().size() > config_bytes_max)
    return fail(errc::invalid_argument, path + ": larger than 1 MiB; is it the right file?");
  auto config = parse_client_config(text.str(), path);
  if (!config) return config;
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0 && (info.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    config->warnings.push_back(path + " holds passwords but others can read it; chmod 600 it");
  return config;
}

expected<connection> find_connection(const client_config& config, std::string_view name) {
  auto it = config.connections.find(std::string{name});
  if (it != config.connections.end()) return it->second;
  std::string known;
  for (const auto& [key, value] : config.connections) known += (known.empty() ? "" : ", ") + key;
  return fail(errc::not_found, "no connection '" + std::string{name} + "' in " + config.path +
                                   (known.empty() ? " (it has none)" : "; it has: " + known));
}

}  // namespace librarian::cli
