// API calls and reply formatting for the librarian CLI. Formatting tolerates missing or oddly
// typed fields (printing "?") so a newer server never crashes an older CLI.
#include "bin/librarian/api_calls.hpp"

#include <ctime>
#include <sstream>
#include <vector>

#include "runtime/crypto/crypto.hpp"

namespace librarian::cli {
namespace {

using json = nlohmann::json;

errc errc_from_status(int status) {
  switch (status) {
    case 400:
    case 405:
    case 413:
    case 431:
      return errc::invalid_argument;
    case 401:
      return errc::unauthenticated;
    case 403:
      return errc::forbidden;
    case 404:
      return errc::not_found;
    case 409:
      return errc::conflict;
    case 422:
      return errc::checksum_mismatch;
    case 502:
    case 503:
      return errc::unavailable;
    case 504:
      return errc::timeout;
    case 507:
      return errc::storage_full;
    default:
      return errc::internal;
  }
}

std::string text_of(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key)) return "?";
  const auto& value = object.at(key);
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

int64_t int_of(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key)) return 0;
  const auto& value = object.at(key);
  return value.is_number_integer() ? value.get<int64_t>() : 0;
}

// Left-aligned columns separated by two spaces; the last column is not padded.
std::string format_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out.append(widths[i] - row[i].size() + 2, ' ');
    }
    out += '\n';
  }
  return out;
}

const json& list_of(const json& reply, const char* key) {
  static const json empty = json::array();
  if (!reply.is_object() || !reply.contains(key) || !reply.at(key).is_array()) return empty;
  return reply.at(key);
}

}  // namespace

expected<api_reply> call_api(const connection& conn, std::string_view method,
                             std::string_view target, const std::optional<json>& body,
                             std::chrono::milliseconds timeout) {
  header_list headers;
  if (conn.token) {
    headers.emplace_back("Authorization", "Bearer " + *conn.token);
  } else if (conn.user && conn.password) {
    headers.emplace_back("Authorization",
                         "Basic " + crypto::base64_encode(*conn.user + ":" + *conn.password));
  }
  std::string payload;
  if (body) {
    headers.emplace_back("Content-Type", "application/json");
    payload = body->dump(-1, ' ', false, json::error_handler_t::replace);
  }
  auto reply =
      http_send(conn.host, conn.port, method, target, std::move(payload), headers, timeout);
  if (!reply) return reply.err();
  std::string where = conn.host + ":" + std::to_string(conn.port);
  if (reply->status < 200 || reply->status > 299) return error_from_reply(*reply, where);
  api_reply out;
  out.status = reply->status;
  out.raw = std::move(reply->body);
  if (!out.raw.empty()) {
    out.value = json::parse(out.raw, nullptr, false);
    if (out.value.is_discarded())
      return fail(errc::internal, where + " answered " + std::to_string(out.status) +
                                      " with a body that is not JSON");
  }
  return out;
}

error error_from_reply(const http_reply& reply, std::string_view where) {
  json body = json::parse(reply.body, nullptr, false);
  std::optional<errc> code;
  std::string message;
  if (body.is_object() && body.contains("error") && body.at("error").is_string()) {
    code = errc_from_name(body.at("error").get<std::string>());
    if (body.contains("message") && body.at("message").is_string())
      message = body.at("message").get<std::string>();
  }
  if (!code) {
    code = errc_from_status(reply.status);
    message = "HTTP " + std::to_string(reply.status) + " from " + std::string{where} + ": " +
              reply.body.substr(0, 200);
  }
  if (!reply.request_id.empty()) message += " (request id " + reply.request_id + ")";
  return error{*code, std::move(message)};
}

std::string format_unix_ms(int64_t unix_ms) {
  if (unix_ms <= 0) return "-";
  std::time_t seconds = unix_ms / 1000;
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

std::string format_duration_ms(int64_t duration_ms) {
  if (duration_ms < 1000) return std::to_string(std::max<int64_t>(duration_ms, 0)) + "ms";
  int64_t seconds = duration_ms / 1000;
  std::ostringstream out;
  bool started = false;
  for (auto [unit, size] : {std::pair{"d", 86400}, std::pair{"h", 3600}, std::pair{"m", 60}}) {
    if (seconds >= size || started) {
      out << seconds / size << unit << ' ';
      seconds %= size;
      started = true;
    }
  }
  out << seconds << 's';
  return out.str();
}

std::string format_ping(const json& reply) {
  return "connected to " + text_of(reply, "name") + " (version " + text_of(reply, "version") +
         ") as " + text_of(reply, "user") + " (" + text_of(reply, "role") + ")\n";
}

std::string format_users(const json& reply) {
  std::vector<std::vector<std::string>> rows{{"NAME", "ROLE", "CREATED"}};
  for (const auto& user : list_of(reply, "users"))
    rows.push_back({text_of(user, "name"), text_of(user, "role"),
                    format_unix_ms(int_of(user, "created_unix_ms"))});
  return format_table(rows);
}

std::string format_members(const json& reply) {
  std::vector<std::vector<std::string>> rows{{"NAME", "STATE", "ADDRESS", "SINCE"}};
  for (const auto& member : list_of(reply, "members"))
    rows.push_back({text_of(member, "name"), text_of(member, "state"), text_of(member, "address"),
                    format_unix_ms(int_of(member, "since_unix_ms"))});
  return format_table(rows);
}

std::string format_status(const json& reply) {
  if (!reply.is_object()) return reply.dump() + "\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& [key, value] : reply.items()) {
    std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    if (key.ends_with("_unix_ms") && value.is_number_integer()) {
      rows.push_back({key.substr(0, key.size() - 8) + ":", format_unix_ms(value.get<int64_t>())});
    } else if (key.ends_with("_ms") && value.is_number_integer()) {
      rows.push_back(
          {key.substr(0, key.size() - 3) + ":", format_duration_ms(value.get<int64_t>())});
    } else {
      rows.push_back({key + ":", text});
    }
  }
  return format_table(rows);
}

}  // namespace librarian::cli
