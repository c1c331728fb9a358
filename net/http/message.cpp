// JSON and error responses, and the request-id rule shared by every HTTP answer.
#include "net/http/message.hpp"

namespace librarian::net::http {

std::optional<std::string_view> request::header(std::string_view lower_name) const {
  auto it = headers.find(std::string{lower_name});
  if (it == headers.end()) return std::nullopt;
  return std::string_view{it->second};
}

response json_response(int status, const nlohmann::json& body) {
  response out;
  out.status = status;
  // Replace rather than throw: a file name with invalid UTF-8 must not turn into a 500.
  out.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return out;
}

response error_response(const error& err, std::string_view request_id) {
  return error_response(http_status(err.code), err, request_id);
}

response error_response(int status, const error& err, std::string_view request_id) {
  nlohmann::json body{{"error", std::string{name(err.code)}}, {"message", err.message}};
  if (!request_id.empty()) body["request_id"] = std::string{request_id};
  return json_response(status, body);
}

bool request_id_is_sane(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace librarian::net::http
