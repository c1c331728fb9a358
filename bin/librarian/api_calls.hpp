// How the CLI talks to a node's /api/v1: authenticated JSON calls, errors decoded from the
// server's {"error","message","request_id"} bodies, and the human renderings of each reply.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bin/librarian/client_config.hpp"
#include "bin/librarian/http_client.hpp"
#include "runtime/expected.hpp"

namespace librarian::cli {

struct api_reply {
  int status = 0;
  std::string raw;       // the body as received, printed by --json
  nlohmann::json value;  // parsed body; null when empty
};

// Sends `method target` with the connection's credentials (Basic, or Bearer for a token) and a
// JSON body when given. A 2xx reply is a value; anything else becomes the server's error.
[[nodiscard]] expected<api_reply> call_api(const connection& conn, std::string_view method,
                                           std::string_view target,
                                           const std::optional<nlohmann::json>& body,
                                           std::chrono::milliseconds timeout);

// The error a non-2xx reply carries: the code named by its "error" field, else one derived from
// the HTTP status (a proxy's HTML page has no JSON). The message ends with the request id.
[[nodiscard]] error error_from_reply(const http_reply& reply, std::string_view where);

// "2026-11-22T04:42:51Z"; "-" for 0 or negative.
[[nodiscard]] std::string format_unix_ms(int64_t unix_ms);
// "3d 4h 5m 6s", "12s", "250ms".
[[nodiscard]] std::string format_duration_ms(int64_t duration_ms);

[[nodiscard]] std::string format_ping(const nlohmann::json& reply);
[[nodiscard]] std::string format_users(const nlohmann::json& reply);
[[nodiscard]] std::string format_members(const nlohmann::json& reply);
[[nodiscard]] std::string format_status(const nlohmann::json& reply);

}  // namespace librarian::cli
