// globus_client: tokens cached until shortly before they expire, one transparent retry when
// Transfer refuses a token (expired early or revoked), every reply validated before use.
#include "net/globus/globus_client.hpp"

#include <algorithm>
#include <utility>

#include "net/http/url.hpp"
#include "runtime/crypto/crypto.hpp"

namespace librarian::globus {

namespace {

bool success(int status) {
  return status >= 200 && status < 300;
}

// Task ids come from Globus (through the replicator's records): refuse what cannot be one before
// it becomes part of a URL.
status check_task_id(const std::string& task_id) {
  if (task_id.empty() || task_id.size() > 128)
    return fail(errc::invalid_argument, "a Globus task id has 1 to 128 characters");
  return {};
}

// The token is renewed this long before Globus says it expires, so a call never starts with a
// token that dies in flight: a tenth of its life, at most a minute.
std::chrono::seconds refresh_margin(std::chrono::seconds expires_in) {
  return std::min<std::chrono::seconds>(std::chrono::seconds(60), expires_in / 10);
}

}  // namespace

expected<base_url> parse_service_url(const std::string& text, std::string_view key) {
  auto url = parse_base_url(text);
  if (!url) return fail(errc::invalid_argument, std::string{key} + ": " + url.err().message);
  if (!url->tls && !url->is_loopback())
    return fail(errc::invalid_argument,
                std::string{key} + " \"" + text +
                    "\" is plain http:// to another host: credentials would cross the network "
                    "in clear text; use https:// (http:// is only for the local stand-in)");
  return url;
}

std::string token_request_body(const globus_settings& settings) {
  using net::http::percent_encode;
  if (settings.native_app)
    return "grant_type=refresh_token&refresh_token=" + percent_encode(settings.secret) +
           "&client_id=" + percent_encode(settings.client_id);
  return "grant_type=client_credentials&scope=" + percent_encode(transfer_scope);
}

std::vector<std::pair<std::string, std::string>> token_request_headers(
    const globus_settings& settings) {
  std::vector<std::pair<std::string, std::string>> headers{
      {"Content-Type", "application/x-www-form-urlencoded"}};
  if (!settings.native_app)
    headers.emplace_back("Authorization", "Basic " + crypto::base64_encode(settings.client_id +
                                                                           ":" + settings.secret));
  return headers;
}

error auth_refusal(int status, std::string_view body, const globus_settings& settings) {
  auto detail = parse_error_body(body);
  std::string told = "Globus Auth answered " + std::to_string(status);
  if (!detail.code.empty()) told += " " + detail.code;
  if (!detail.message.empty()) told += " (" + detail.message + ")";
  if (status == 400 || status == 401 || status == 403) {
    if (settings.native_app)
      return fail(errc::unauthenticated,
                  told +
                      ": the refresh token was refused; check librarian.globus_client_id and "
                      "the refresh token in librarian.globus_client_secret_file (a revoked "
                      "token needs a new login)");
    return fail(errc::unauthenticated,
                told +
                    ": the app's credentials were refused; check librarian.globus_client_id "
                    "and the client secret in librarian.globus_client_secret_file");
  }
  if (status == 429 || status >= 500) return fail(errc::unavailable, told + " (retrying later)");
  return fail(errc::internal, told + " (unexpected status)");
}

expected<globus_client> globus_client::create(globus_settings settings, http_transport transport,
                                              monotonic_now_fn now) {
  auto auth = parse_service_url(settings.auth_url, "librarian.globus_auth_url");
  if (!auth) return auth.err();
  auto transfer = parse_service_url(settings.transfer_url, "librarian.globus_transfer_url");
  if (!transfer) return transfer.err();
  if (!transport || !now) return fail(errc::invalid_argument, "globus_client needs a transport");
  return globus_client(std::move(settings), std::move(*auth), std::move(*transfer),
                       std::move(transport), std::move(now));
}

globus_client::globus_client(globus_settings settings, base_url auth, base_url transfer,
                             http_transport transport, monotonic_now_fn now)
    : settings_(std::move(settings)),
      auth_(std::move(auth)),
      transfer_(std::move(transfer)),
      transport_(std::move(transport)),
      now_(std::move(now)) {}

globus_client::globus_client(globus_client&& other) noexcept
    : settings_(std::move(other.settings_)),
      auth_(std::move(other.auth_)),
      transfer_(std::move(other.transfer_)),
      transport_(std::move(other.transport_)),
      now_(std::move(other.now_)) {
  std::lock_guard lock(other.token_mutex_);
  token_ = std::move(other.token_);
  token_refresh_at_ = other.token_refresh_at_;
  tokens_obtained_ = other.tokens_obtained_;
}

uint64_t globus_client::tokens_obtained() const {
  std::lock_guard lock(token_mutex_);
  return tokens_obtained_;
}

expected<std::string> globus_client::access_token(const std::string& rejected) {
  // Held across the token request on purpose: concurrent callers wait for one new token
  // instead of each asking Globus Auth for their own.
  std::lock_guard lock(token_mutex_);
  auto now = now_();
  if (!token_.empty() && token_ != rejected && now < token_refresh_at_) return token_;
  http_call call;
  call.method = "POST";
  call.server = auth_;
  call.target = auth_.path + "/v2/oauth2/token";
  call.headers = token_request_headers(settings_);
  call.body = token_request_body(settings_);
  call.timeout = settings_.timeout;
  auto reply = transport_(call);
  if (!reply)
    return fail(reply.err().code,
                "Globus Auth at " + auth_.to_string() + ": " + reply.err().message);
  if (!success(reply->status)) return auth_refusal(reply->status, reply->body, settings_);
  auto token = parse_token_reply(reply->body);
  if (!token) return token.err();
  token_ = std::move(token->access_token);
  token_refresh_at_ = now + token->expires_in - refresh_margin(token->expires_in);
  ++tokens_obtained_;
  return token_;
}

expected<http_reply> globus_client::transfer_call(std::string method, std::string path,
                                                  std::string body) {
  http_call call;
  call.method = std::move(method);
  call.server = transfer_;
  call.target = transfer_.path + path;
  call.body = std::move(body);
  call.timeout = settings_.timeout;
  std::string rejected;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto token = access_token(rejected);
    if (!token) return token.err();
    call.headers = {{"Authorization", "Bearer " + *token}};
    if (!call.body.empty()) call.headers.emplace_back("Content-Type", "application/json");
    auto reply = transport_(call);
    if (!reply) return reply;
    if (reply->status != 401) return reply;
    rejected = *token;  // expired early or revoked: one new token, one more try
  }
  return fail(errc::unauthenticated,
              "Globus Transfer refuses even a fresh access token for " + call.method + " " + path +
                  ": check that the app in librarian.globus_client_id may use the Transfer API "
                  "(scope " +
                  std::string{transfer_scope} + ")");
}

expected<std::string> globus_client::submission_id() {
  auto reply = transfer_call("GET", "/submission_id", "");
  if (!reply) return reply.err();
  if (!success(reply->status))
    return transfer_http_error(reply->status, reply->body, "GET /submission_id");
  return parse_submission_id_reply(reply->body);
}

expected<submit_reply> globus_client::submit(const transfer_request& request) {
  auto reply = transfer_call("POST", "/transfer", transfer_document(request).dump());
  if (!reply) return reply.err();
  if (!success(reply->status))
    return transfer_http_error(reply->status, reply->body, "POST /transfer");
  auto parsed = parse_submit_reply(reply->body);
  if (!parsed) return parsed.err();
  if (!parsed->submission_id.empty() && parsed->submission_id != request.submission_id)
    return fail(errc::internal, "Globus Transfer POST /transfer answered for submission " +
                                    parsed->submission_id + ", not " + request.submission_id);
  return parsed;
}

expected<task_document> globus_client::task(const std::string& task_id) {
  if (auto st = check_task_id(task_id); !st) return st.err();
  std::string path = "/task/" + net::http::percent_encode(task_id);
  auto reply = transfer_call("GET", path, "");
  if (!reply) return reply.err();
  if (!success(reply->status))
    return transfer_http_error(reply->status, reply->body, "GET " + path);
  auto parsed = parse_task_reply(reply->body);
  if (!parsed) return parsed.err();
  if (parsed->task_id != task_id)
    return fail(errc::internal,
                "Globus Transfer GET " + path + " answered for task " + parsed->task_id);
  return parsed;
}

expected<std::vector<task_event>> globus_client::error_events(const std::string& task_id,
                                                              int limit) {
  if (auto st = check_task_id(task_id); !st) return st.err();
  std::string path =
      "/task/" + net::http::percent_encode(task_id) +
      "/event_list?filter=is_error:1&limit=" + std::to_string(std::clamp(limit, 1, 1000));
  auto reply = transfer_call("GET", path, "");
  if (!reply) return reply.err();
  if (!success(reply->status))
    return transfer_http_error(reply->status, reply->body, "GET " + path);
  return parse_event_list_reply(reply->body);
}

expected<bool> globus_client::cancel(const std::string& task_id) {
  if (auto st = check_task_id(task_id); !st) return st.err();
  std::string path = "/task/" + net::http::percent_encode(task_id) + "/cancel";
  auto reply = transfer_call("POST", path, "");
  if (!reply) return reply.err();
  if (!success(reply->status))
    return transfer_http_error(reply->status, reply->body, "POST " + path);
  return parse_cancel_reply(reply->body);
}

}  // namespace librarian::globus
