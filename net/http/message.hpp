// The HTTP request and response as the rest of the product sees them: plain structs with no Beast
// types, so handlers (and the actors behind them) never depend on the HTTP library.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/error.hpp"

namespace librarian::net::http {

struct request {
  std::string method;  // upper case as sent: "GET", "POST", ...
  std::string path;    // as sent, still percent-encoded; the router decodes each segment
  std::map<std::string, std::string> query;    // decoded; the first of duplicate keys wins
  std::map<std::string, std::string> headers;  // lower-case names; repeats joined with ", "
  std::string body;
  std::string request_id;      // the X-Request-Id this request's response will carry
  std::string remote_address;  // "ip:port" of the peer

  // The header's value, or nullopt; `lower_name` must be lower case.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view lower_name) const;
};

struct response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Extra headers; the server sets Content-Type, Content-Length, Connection and X-Request-Id.
  std::vector<std::pair<std::string, std::string>> headers;
};

// Completes one request. Thread-safe and callable from any thread (an actor, a worker); only the
// first call counts, later ones (or one after the handler timeout answered 504) are ignored.
using respond_fn = std::function<void(response)>;
// Called on a server I/O thread; must not block. It hands the work off and answers via respond.
using handler_fn = std::function<void(request, respond_fn)>;

// `body` serialized compactly; invalid UTF-8 in strings is replaced instead of throwing.
[[nodiscard]] response json_response(int status, const nlohmann::json& body);
// Status http_status(err.code); body {"error": name(code), "message": text[, "request_id": id]}.
[[nodiscard]] response error_response(const error& err, std::string_view request_id = {});
// The same body under an explicit status, for the few HTTP-level answers (413, 431, 405) whose
// status is more precise than the error code's.
[[nodiscard]] response error_response(int status, const error& err,
                                      std::string_view request_id = {});

// True for an X-Request-Id worth echoing: 1..64 characters of [A-Za-z0-9._-].
[[nodiscard]] bool request_id_is_sane(std::string_view id);

}  // namespace librarian::net::http
