// A scripted Globus for unit tests: answers each http_call with a handler the test sets, records
// every call, and counts tokens, so the client's and mover's logic runs without a network.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/globus/globus_client.hpp"

namespace librarian::globus::testing {

struct fake_globus {
  using handler = std::function<expected<http_reply>(const http_call&)>;

  std::vector<http_call> calls;
  handler on_token = [this](const http_call&) -> expected<http_reply> {
    ++tokens_issued;
    return http_reply{200, R"({"access_token":"token-)" + std::to_string(tokens_issued) +
                               R"(","expires_in":3600,"token_type":"Bearer"})"};
  };
  handler on_transfer = [](const http_call&) -> expected<http_reply> {
    return http_reply{500, "{}"};
  };
  int tokens_issued = 0;
  std::chrono::steady_clock::time_point now{std::chrono::hours(1)};

  http_transport transport() {
    return [this](const http_call& call) {
      calls.push_back(call);
      return call.target.starts_with("/v2/oauth2/token") ? on_token(call) : on_transfer(call);
    };
  }
  monotonic_now_fn clock() {
    return [this] { return now; };
  }
  // The bearer token a call carried, or "".
  static std::string bearer(const http_call& call) {
    for (const auto& [name, value] : call.headers)
      if (name == "Authorization" && value.starts_with("Bearer ")) return value.substr(7);
    return {};
  }
  [[nodiscard]] size_t transfer_calls() const {
    size_t n = 0;
    for (const auto& c : calls) n += c.target.starts_with("/v0.10") ? 1 : 0;
    return n;
  }
};

inline globus_settings test_settings() {
  globus_settings s;
  s.auth_url = "http://127.0.0.1:1";
  s.transfer_url = "http://127.0.0.1:1/v0.10";
  s.client_id = "client-1";
  s.secret = "s3cret";
  s.local_endpoint_id = "local-ep";
  return s;
}

}  // namespace librarian::globus::testing
