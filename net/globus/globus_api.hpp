// The Globus Auth and Transfer API v0.10 documents the librarian sends and receives, as plain
// structs: building the task document, validating every reply (types, required fields) and
// classifying failures FTS3-style (retry the network's faults, fail the batch on the others).
// No I/O here, so all of it is unit-tested directly.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/expected.hpp"

namespace librarian::globus {

// The one scope the librarian asks Globus Auth for.
inline constexpr std::string_view transfer_scope =
    "urn:globus:auth:scope:transfer.api.globus.org:all";
// The resource server a token for that scope is issued for.
inline constexpr std::string_view transfer_resource_server = "transfer.api.globus.org";

// Globus's sync levels; the API takes the integer.
enum class sync_level : uint8_t { exists = 0, size = 1, mtime = 2, checksum = 3 };

struct transfer_item {
  std::string source_path;         // as the source endpoint sees it
  std::string destination_path;    // as the destination endpoint sees it
  std::string external_checksum;   // lower-case hex, or "" for none
  std::string checksum_algorithm;  // "MD5", "ADLER32", ... or "" (with no external checksum)
};

struct transfer_request {
  std::string submission_id;
  std::string source_endpoint;
  std::string destination_endpoint;
  std::string label;
  // checksum: a resubmission after a failure must compare contents, never mere existence
  // (globus-cli#202: other levels "can lead to data corruption").
  sync_level sync = sync_level::checksum;
  bool encrypt_data = true;
  std::vector<transfer_item> items;
};

// {"DATA_TYPE": "transfer", ..., "DATA": [{"DATA_TYPE": "transfer_item", ...}]}
[[nodiscard]] nlohmann::json transfer_document(const transfer_request& request);

// Globus labels allow letters, digits, spaces, '-', '_' and ','; at most 128 characters.
[[nodiscard]] std::string sanitize_label(std::string_view text);

// A UUID in its canonical 8-4-4-4-12 hex form (submission ids, task ids).
[[nodiscard]] bool looks_like_uuid(std::string_view text);

// ---- replies: each one validated; a malformed reply is errc::internal naming what is wrong ----

struct token_reply {
  std::string access_token;
  std::chrono::seconds expires_in{0};
};
// POST /v2/oauth2/token → {"access_token", "expires_in", "token_type": "Bearer", ...}
[[nodiscard]] expected<token_reply> parse_token_reply(std::string_view body);

// GET /submission_id → {"value": UUID}
[[nodiscard]] expected<std::string> parse_submission_id_reply(std::string_view body);

struct submit_reply {
  std::string task_id;
  std::string submission_id;
  bool duplicate = false;  // "code": "Duplicate": this submission id already has this task
};
// POST /transfer → {"DATA_TYPE": "transfer_result", "code": "Accepted"|"Duplicate", "task_id",
// "submission_id", ...}
[[nodiscard]] expected<submit_reply> parse_submit_reply(std::string_view body);

struct fatal_error {
  std::string code;
  std::string description;
};

struct task_document {
  std::string task_id;
  std::string status;       // ACTIVE, INACTIVE, SUCCEEDED, FAILED
  std::string nice_status;  // "" when null
  uint64_t faults = 0;
  uint64_t bytes_transferred = 0;
  uint64_t files = 0;
  uint64_t files_transferred = 0;
  uint64_t files_skipped = 0;
  std::optional<fatal_error> fatal;
};
// GET /task/ID
[[nodiscard]] expected<task_document> parse_task_reply(std::string_view body);

struct task_event {
  std::string code;
  std::string description;
  std::string details;
  std::string time;
  bool is_error = false;
};
// GET /task/ID/event_list → {"DATA_TYPE": "event_list", "DATA": [{"DATA_TYPE": "event", ...}]}
[[nodiscard]] expected<std::vector<task_event>> parse_event_list_reply(std::string_view body);

// POST /task/ID/cancel → {"code": "Canceled"|"TaskComplete"|..., "message"}; true when the task
// is (or already was) over.
[[nodiscard]] expected<bool> parse_cancel_reply(std::string_view body);

// ---- failures ----

// The "code" and "message" of an error body, whichever of Transfer's ({"code", "message"}) or
// Auth's ({"error", "error_description"} / {"errors": [{"code", "detail"}]}) shapes it has;
// empty strings when the body is not JSON.
struct api_error_body {
  std::string code;
  std::string message;
};
[[nodiscard]] api_error_body parse_error_body(std::string_view body);

// A non-2xx reply from Transfer: 400 invalid_argument, 401 unauthenticated, 403 forbidden,
// 404 not_found; 409 (the pending-task limit), 429 and 5xx unavailable (retryable); `what`
// names the call ("POST /transfer").
[[nodiscard]] error transfer_http_error(int status, std::string_view body, std::string_view what);

struct fault_class {
  errc code = errc::unavailable;
  bool retryable = true;
};
// A task fault or fatal error code (event_list "code", task "fatal_error.code"): quota, checksum,
// permission, not-found and credential faults are permanent; anything else (connection resets,
// timeouts, endpoint hiccups, codes we do not know) is worth another attempt, as in FTS3.
[[nodiscard]] fault_class classify_fault(std::string_view code);

// Whether an error the client returned may go away by itself (network, 5xx, 429, limits).
[[nodiscard]] bool retryable(const error& err);

// Parses a reply body as JSON, refusing nesting deeper than `depth_max` before nlohmann sees it.
[[nodiscard]] expected<nlohmann::json> parse_json_reply(std::string_view body,
                                                        std::string_view what,
                                                        size_t depth_max = 32);

}  // namespace librarian::globus
