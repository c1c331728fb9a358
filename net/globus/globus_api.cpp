// Building and validating Globus documents. Validation is strict about what the librarian relies
// on (types of the fields it reads, required fields present) and lenient about everything else,
// so a new field in a Globus reply never breaks a transfer.
#include "net/globus/globus_api.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace librarian::globus {

using nlohmann::json;

namespace {

// Names fields in errors: "Globus GET /task/ID: field \"status\" ..."
error malformed(std::string_view what, std::string_view why) {
  return fail(errc::internal,
              "malformed reply from " + std::string{what} + ": " + std::string{why});
}

// Reads obj[key] as a string; required fields must be present and non-null.
status read_string(const json& obj, std::string_view key, bool required, std::string& out,
                   std::string_view what) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return malformed(what, "no \"" + std::string{key} + "\"");
    out.clear();
    return {};
  }
  if (!it->is_string()) return malformed(what, "\"" + std::string{key} + "\" is not a string");
  out = it->get<std::string>();
  return {};
}

status read_count(const json& obj, std::string_view key, bool required, uint64_t& out,
                  std::string_view what) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return malformed(what, "no \"" + std::string{key} + "\"");
    out = 0;
    return {};
  }
  if (it->is_number_unsigned()) {
    out = it->get<uint64_t>();
    return {};
  }
  if (it->is_number_integer() && it->get<int64_t>() >= 0) {
    out = static_cast<uint64_t>(it->get<int64_t>());
    return {};
  }
  return malformed(what, "\"" + std::string{key} + "\" is not a non-negative integer");
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string upper(std::string_view text) {
  std::string out{text};
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

expected<json> parse_json_reply(std::string_view body, std::string_view what, size_t depth_max) {
  // nlohmann parses deep nesting fine but a hostile or broken server should not make us try.
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > depth_max) return malformed(what, "JSON nested too deeply");
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return malformed(what, "not JSON");
  if (!parsed.is_object()) return malformed(what, "not a JSON object");
  return parsed;
}

std::string sanitize_label(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (out.size() == 128) break;
    bool ok =
        std::isalnum(static_cast<unsigned char>(c)) || c == ' ' || c == '-' || c == '_' || c == ',';
    out.push_back(ok ? c : '_');
  }
  return out;
}

bool looks_like_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool dash_place = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_place ? text[i] != '-' : !is_hex(text[i])) return false;
  }
  return true;
}

json transfer_document(const transfer_request& request) {
  json items = json::array();
  for (const auto& item : request.items) {
    json doc = {{"DATA_TYPE", "transfer_item"},
                {"source_path", item.source_path},
                {"destination_path", item.destination_path},
                {"recursive", false}};
    if (!item.external_checksum.empty()) doc["external_checksum"] = item.external_checksum;
    if (!item.checksum_algorithm.empty()) doc["checksum_algorithm"] = item.checksum_algorithm;
    items.push_back(std::move(doc));
  }
  return json{{"DATA_TYPE", "transfer"},
              {"submission_id", request.submission_id},
              {"source_endpoint", request.source_endpoint},
              {"destination_endpoint", request.destination_endpoint},
              {"label", request.label},
              {"sync_level", static_cast<int>(request.sync)},
              {"verify_checksum", true},
              {"preserve_timestamp", true},
              {"fail_on_quota_errors", true},
              {"skip_source_errors", false},
              {"encrypt_data", request.encrypt_data},
              // The librarian watches its tasks itself; mail per batch would flood the owner.
              {"notify_on_succeeded", false},
              {"notify_on_failed", false},
              {"notify_on_inactive", false},
              {"DATA", std::move(items)}};
}

expected<token_reply> parse_token_reply(std::string_view body) {
  constexpr std::string_view what = "Globus Auth (token)";
  auto doc = parse_json_reply(body, what);
  if (!doc) return doc.err();
  token_reply out;
  if (auto st = read_string(*doc, "access_token", true, out.access_token, what); !st)
    return st.err();
  if (out.access_token.empty()) return malformed(what, "\"access_token\" is empty");
  uint64_t expires = 0;
  if (auto st = read_count(*doc, "expires_in", true, expires, what); !st) return st.err();
  if (expires == 0) return malformed(what, "\"expires_in\" is 0");
  // Ten years: anything longer is nonsense and would overflow time arithmetic later.
  out.expires_in = std::chrono::seconds(std::min<uint64_t>(expires, uint64_t{315'360'000}));
  std::string token_type, resource_server;
  if (auto st = read_string(*doc, "token_type", false, token_type, what); !st) return st.err();
  if (!token_type.empty() && upper(token_type) != "BEARER")
    return malformed(what, "\"token_type\" is \"" + token_type + "\", not Bearer");
  if (auto st = read_string(*doc, "resource_server", false, resource_server, what); !st)
    return st.err();
  if (!resource_server.empty() && resource_server != transfer_resource_server)
    return malformed(what, "the token is for \"" + resource_server + "\", not " +
                               std::string{transfer_resource_server});
  return out;
}

expected<std::string> parse_submission_id_reply(std::string_view body) {
  constexpr std::string_view what = "Globus Transfer GET /submission_id";
  auto doc = parse_json_reply(body, what);
  if (!doc) return doc.err();
  std::string value;
  if (auto st = read_string(*doc, "value", true, value, what); !st) return st.err();
  if (!looks_like_uuid(value)) return malformed(what, "\"value\" is not a UUID");
  return value;
}

expected<submit_reply> parse_submit_reply(std::string_view body) {
  constexpr std::string_view what = "Globus Transfer POST /transfer";
  auto doc = parse_json_reply(body, what);
  if (!doc) return doc.err();
  submit_reply out;
  std::string code;
  if (auto st = read_string(*doc, "code", true, code, what); !st) return st.err();
  if (code != "Accepted" && code != "Duplicate")
    return malformed(what, "\"code\" is \"" + code + "\", not Accepted or Duplicate");
  out.duplicate = code == "Duplicate";
  if (auto st = read_string(*doc, "task_id", true, out.task_id, what); !st) return st.err();
  if (out.task_id.empty() || out.task_id.size() > 128 ||
      out.task_id.find_first_of("/?#% \t\r\n") != std::string::npos)
    return malformed(what, "\"task_id\" is not an id");
  if (auto st = read_string(*doc, "submission_id", false, out.submission_id, what); !st)
    return st.err();
  return out;
}

expected<task_document> parse_task_reply(std::string_view body) {
  constexpr std::string_view what = "Globus Transfer GET /task";
  auto doc = parse_json_reply(body, what);
  if (!doc) return doc.err();
  task_document out;
  std::string data_type;
  if (auto st = read_string(*doc, "DATA_TYPE", false, data_type, what); !st) return st.err();
  if (!data_type.empty() && data_type != "task")
    return malformed(what, "\"DATA_TYPE\" is \"" + data_type + "\", not task");
  if (auto st = read_string(*doc, "task_id", true, out.task_id, what); !st) return st.err();
  if (auto st = read_string(*doc, "status", true, out.status, what); !st) return st.err();
  static constexpr std::array<std::string_view, 4> statuses{"ACTIVE", "INACTIVE", "SUCCEEDED",
                                                            "FAILED"};
  if (std::find(statuses.begin(), statuses.end(), out.status) == statuses.end())
    return malformed(what, "\"status\" is \"" + out.status + "\"");
  if (auto st = read_string(*doc, "nice_status", false, out.nice_status, what); !st)
    return st.err();
  for (auto [key, field] :
       {std::pair{"faults", &out.faults}, std::pair{"bytes_transferred", &out.bytes_transferred},
        std::pair{"files", &out.files}, std::pair{"files_transferred", &out.files_transferred}})
    if (auto st = read_count(*doc, key, true, *field, what); !st) return st.err();
  if (auto st = read_count(*doc, "files_skipped", false, out.files_skipped, what); !st)
    return st.err();
  auto fatal = doc->find("fatal_error");
  if (fatal != doc->end() && !fatal->is_null()) {
    if (!fatal->is_object()) return malformed(what, "\"fatal_error\" is not an object");
    fatal_error f;
    if (auto st = read_string(*fatal, "code", true, f.code, what); !st) return st.err();
    if (auto st = read_string(*fatal, "description", false, f.description, what); !st)
      return st.err();
    out.fatal = std::move(f);
  }
  return out;
}

expected<std::vector<task_event>> parse_event_list_reply(std::string_view body) {
  constexpr std::string_view what = "Globus Transfer GET /task/ID/event_list";
  auto doc = parse_json_reply(body, what);
  if (!doc) return doc.err();
  auto data = doc->find("DATA");
  if (data == doc->end() || !data->is_array()) return malformed(what, "no \"DATA\" array");
  std::vector<task_event> out;
  for (const auto& item : *data) {
    if (!item.is_object()) return malformed(what, "an event is not an object");
    task_event event;
    if (auto st = read_string(item, "code", true, event.code, what); !st) return st.err();
    if (auto st = read_string(item, "description", false, event.description, what); !st)
      return st.err();
    if (auto st = read_string(item, "details", false, event.details, what); !st) return st.err();
    if (auto st = read_string(item, "time", false, event.time, what); !st) return st.err();
    auto is_error = item.find("is_error");
    if (is_error == item.end() || !is_error->is_boolean())
      return malformed(what, "an event has no boolean \"is_error\"");
    event.is_error = is_error->get<bool>();
    out.push_back(std::move(event));
  }
  return out;
}

expected<bool> parse_cancel_reply(std::string_view body) {
  constexpr std::string_view what = "Globus Transfer POST /task/ID/cancel";
  auto doc = parse_json_reply(body, what);
  if (!doc) return doc.err();
  std::string code;
  if (auto st = read_string(*doc, "code", true, code, what); !st) return st.err();
  return code == "Canceled" || code == "TaskComplete";
}

api_error_body parse_error_body(std::string_view body) {
  api_error_body out;
  auto doc = parse_json_reply(body, "an error reply");
  if (!doc) return out;
  auto text = [](const json& obj, std::string_view key) {
    auto it = obj.find(key);
    return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string{};
  };
  out.code = text(*doc, "code");
  out.message = text(*doc, "message");
  if (out.code.empty()) out.code = text(*doc, "error");
  if (out.message.empty()) out.message = text(*doc, "error_description");
  auto errors = doc->find("errors");
  if (errors != doc->end() && errors->is_array() && !errors->empty() &&
      errors->front().is_object()) {
    if (out.code.empty()) out.code = text(errors->front(), "code");
    if (out.message.empty()) out.message = text(errors->front(), "detail");
  }
  // Keep log lines and error messages readable whatever the server sent.
  if (out.code.size() > 200) out.code.resize(200);
  if (out.message.size() > 500) out.message.resize(500);
  return out;
}

error transfer_http_error(int status, std::string_view body, std::string_view what) {
  auto detail = parse_error_body(body);
  std::string told = "Globus Transfer " + std::string{what} + " answered " + std::to_string(status);
  if (!detail.code.empty()) told += " " + detail.code;
  if (!detail.message.empty()) told += ": " + detail.message;
  if (status == 400) return fail(errc::invalid_argument, told);
  if (status == 401) return fail(errc::unauthenticated, told);
  if (status == 403) return fail(errc::forbidden, told);
  if (status == 404) return fail(errc::not_found, told);
  // 409 on submission is the pending-task limit (or a task being changed underneath): it clears
  // as other tasks finish.
  if (status == 409 || status == 429 || status >= 500)
    return fail(errc::unavailable, told + " (retrying later)");
  return fail(errc::internal, told + " (unexpected status)");
}

fault_class classify_fault(std::string_view code_text) {
  std::string code = upper(code_text);
  auto has = [&](std::string_view part) { return code.find(part) != std::string::npos; };
  if (has("QUOTA") || has("NO_SPACE") || has("DISK_FULL")) return {errc::storage_full, false};
  if (has("CHECKSUM")) return {errc::checksum_mismatch, false};
  if (has("PERMISSION") || has("FORBIDDEN")) return {errc::forbidden, false};
  if (has("NOT_FOUND") || has("NO_SUCH")) return {errc::not_found, false};
  if (has("AUTH") || has("CREDENTIAL") || has("CONSENT") || has("ACTIVATION"))
    return {errc::unauthenticated, false};
  if (has("CANCEL")) return {errc::conflict, false};
  if (has("INVALID") || has("IS_A_DIRECTORY") || has("NOT_A_DIRECTORY"))
    return {errc::invalid_argument, false};
  if (has("TIMEOUT") || has("DEADLINE")) return {errc::timeout, true};
  return {errc::unavailable, true};
}

bool retryable(const error& err) {
  return err.code == errc::unavailable || err.code == errc::timeout;
}

}  // namespace librarian::globus
