// A blocking client for Globus Auth (client credentials or a refresh token) and the Globus
// Transfer API v0.10: submission ids, task submission, task status, events, cancel. Meant for the
// replicator's worker thread, never an actor thread. Production URLs are https://; plain http://
// is accepted only on loopback, for the local stand-in (net/globus/standin.hpp).
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "net/globus/globus_api.hpp"
#include "net/globus/http_transport.hpp"
#include "runtime/expected.hpp"

namespace librarian::globus {

struct globus_settings {
  std::string auth_url = "https://auth.globus.org";
  std::string transfer_url = "https://transfer.api.globus.org/v0.10";
  std::string client_id;
  bool native_app = false;
  std::string secret;  // the client secret, or the refresh token when native_app
  std::string local_endpoint_id;
  std::string local_root;  // subtracted from source paths; "" or "/" = the same absolute path
  bool encrypt_data = true;
  std::chrono::milliseconds timeout{30000};  // per HTTP exchange
};

// A service URL from the configuration, checked the way the client uses it: it parses, and it is
// https:// unless it points at this machine. Errors name `key`.
[[nodiscard]] expected<base_url> parse_service_url(const std::string& text, std::string_view key);

// The form body of the token request (application/x-www-form-urlencoded).
[[nodiscard]] std::string token_request_body(const globus_settings& settings);
// The headers of the token request: HTTP Basic for a confidential app, none for a native one.
[[nodiscard]] std::vector<std::pair<std::string, std::string>> token_request_headers(
    const globus_settings& settings);
// A refusal from Globus Auth, as an error an operator can act on (names the config keys).
[[nodiscard]] error auth_refusal(int status, std::string_view body,
                                 const globus_settings& settings);

// Where token expiry is measured from: the steady clock in production, a manual one in tests and
// simulation (DESIGN.md §4.2).
using monotonic_now_fn = std::function<std::chrono::steady_clock::time_point()>;

class globus_client {
 public:
  // Fails (invalid_argument) on a URL that does not parse or is plain http:// off loopback.
  [[nodiscard]] static expected<globus_client> create(
      globus_settings settings, http_transport transport = beast_transport,
      monotonic_now_fn now = std::chrono::steady_clock::now);

  [[nodiscard]] expected<std::string> submission_id();
  [[nodiscard]] expected<submit_reply> submit(const transfer_request& request);
  [[nodiscard]] expected<task_document> task(const std::string& task_id);
  // The task's error events, newest first (at most `limit`).
  [[nodiscard]] expected<std::vector<task_event>> error_events(const std::string& task_id,
                                                               int limit = 10);
  // True when the task is over (cancelled now or finished before).
  [[nodiscard]] expected<bool> cancel(const std::string& task_id);

  [[nodiscard]] const globus_settings& settings() const { return settings_; }
  // How many access tokens this client obtained (tests check that a refresh happened).
  [[nodiscard]] uint64_t tokens_obtained() const;

  globus_client(globus_client&& other) noexcept;
  globus_client& operator=(globus_client&&) = delete;

 private:
  globus_client(globus_settings settings, base_url auth, base_url transfer,
                http_transport transport, monotonic_now_fn now);

  // The cached access token, or a new one when it is missing, about to expire, or equal to
  // `rejected` (a token Transfer just refused).
  [[nodiscard]] expected<std::string> access_token(const std::string& rejected);
  // One Transfer call; on a 401 (expired or revoked token) gets a new token once and retries.
  [[nodiscard]] expected<http_reply> transfer_call(std::string method, std::string path,
                                                   std::string body);

  globus_settings settings_;
  base_url auth_;
  base_url transfer_;
  http_transport transport_;
  monotonic_now_fn now_;

  mutable std::mutex token_mutex_;  // the replicator may call from more than one worker
  std::string token_;
  std::chrono::steady_clock::time_point token_refresh_at_{};
  uint64_t tokens_obtained_ = 0;
};

}  // namespace librarian::globus
