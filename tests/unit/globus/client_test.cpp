// The Globus client over a scripted transport: token requests, caching and expiry, the one
// transparent retry after a 401, and how Auth's refusals reach the operator.
#include <doctest/doctest.h>

#include "tests/unit/globus/fake_globus.hpp"

using namespace librarian;
using namespace librarian::globus;
using namespace librarian::globus::testing;

namespace {

globus_client make_client(fake_globus& fake, globus_settings settings = test_settings()) {
  auto client = globus_client::create(std::move(settings), fake.transport(), fake.clock());
  REQUIRE(client);
  return std::move(*client);
}

const char* submission_reply = R"({"value":"11111111-2222-4333-8444-555555555555"})";

}  // namespace

TEST_CASE("a confidential app asks for client credentials with HTTP Basic") {
  auto settings = test_settings();
  CHECK(token_request_body(settings) ==
        "grant_type=client_credentials&scope="
        "urn%3Aglobus%3Aauth%3Ascope%3Atransfer.api.globus.org%3Aall");
  auto headers = token_request_headers(settings);
  REQUIRE(headers.size() == 2);
  CHECK(headers[1].first == "Authorization");
  CHECK(headers[1].second == "Basic Y2xpZW50LTE6czNjcmV0");  // base64("client-1:s3cret")
}

TEST_CASE("a native app sends its refresh token and client id, without Basic authentication") {
  auto settings = test_settings();
  settings.native_app = true;
  settings.secret = "refresh/token+1";
  CHECK(token_request_body(settings) ==
        "grant_type=refresh_token&refresh_token=refresh%2Ftoken%2B1&client_id=client-1");
  auto headers = token_request_headers(settings);
  REQUIRE(headers.size() == 1);
  CHECK(headers[0].first == "Content-Type");
}

TEST_CASE("the access token is cached until shortly before it expires") {
  fake_globus fake;
  fake.on_transfer = [](const http_call&) -> expected<http_reply> {
    return http_reply{200, submission_reply};
  };
  auto client = make_client(fake);
  REQUIRE(client.submission_id());
  REQUIRE(client.submission_id());
  CHECK(fake.tokens_issued == 1);
  fake.now += std::chrono::seconds(3600 - 61);  // the margin is a minute for a one-hour token
  REQUIRE(client.submission_id());
  CHECK(fake.tokens_issued == 1);
  fake.now += std::chrono::seconds(2);
  REQUIRE(client.submission_id());
  CHECK(fake.tokens_issued == 2);
  CHECK(fake_globus::bearer(fake.calls.back()) == "token-2");
  CHECK(client.tokens_obtained() == 2);
}

TEST_CASE("a token Transfer refuses is replaced once and the call retried") {
  fake_globus fake;
  fake.on_transfer = [&fake](const http_call& call) -> expected<http_reply> {
    if (fake_globus::bearer(call) == "token-1")
      return http_reply{401, R"({"code":"ClientError.AuthenticationFailed"})"};
    return http_reply{200, submission_reply};
  };
  auto client = make_client(fake);
  auto id = client.submission_id();
  REQUIRE(id);
  CHECK(fake.tokens_issued == 2);
  CHECK(fake.transfer_calls() == 2);
}

TEST_CASE("Transfer refusing a fresh token too is unauthenticated, after exactly one retry") {
  fake_globus fake;
  fake.on_transfer = [](const http_call&) -> expected<http_reply> {
    return http_reply{401, R"({"code":"ClientError.AuthenticationFailed"})"};
  };
  auto client = make_client(fake);
  auto id = client.submission_id();
  REQUIRE_FALSE(id);
  CHECK(id.err().code == errc::unauthenticated);
  CHECK(id.err().message.find("librarian.globus_client_id") != std::string::npos);
  CHECK(fake.tokens_issued == 2);
  CHECK(fake.transfer_calls() == 2);
}

TEST_CASE("Auth refusing the app's credentials names the config keys to check") {
  fake_globus fake;
  fake.on_token = [](const http_call&) -> expected<http_reply> {
    return http_reply{401, R"({"error":"invalid_client"})"};
  };
  auto client = make_client(fake);
  auto id = client.submission_id();
  REQUIRE_FALSE(id);
  CHECK(id.err().code == errc::unauthenticated);
  CHECK_FALSE(retryable(id.err()));
  CHECK(id.err().message.find("invalid_client") != std::string::npos);
  CHECK(id.err().message.find("librarian.globus_client_id") != std::string::npos);
  CHECK(id.err().message.find("librarian.globus_client_secret_file") != std::string::npos);
  CHECK(fake.transfer_calls() == 0);
}

TEST_CASE("Auth refusing a native app's refresh token says so") {
  fake_globus fake;
  fake.on_token = [](const http_call&) -> expected<http_reply> {
    return http_reply{400, R"({"error":"invalid_grant"})"};
  };
  auto settings = test_settings();
  settings.native_app = true;
  auto client = make_client(fake, settings);
  auto id = client.submission_id();
  REQUIRE_FALSE(id);
  CHECK(id.err().code == errc::unauthenticated);
  CHECK(id.err().message.find("refresh token") != std::string::npos);
}

TEST_CASE("Auth down or unreachable is retryable, and a malformed token reply is an error") {
  fake_globus fake;
  fake.on_token = [](const http_call&) -> expected<http_reply> {
    return http_reply{503, "<html>down</html>"};
  };
  auto client = make_client(fake);
  auto id = client.submission_id();
  REQUIRE_FALSE(id);
  CHECK(id.err().code == errc::unavailable);
  CHECK(retryable(id.err()));
  fake.on_token = [](const http_call&) -> expected<http_reply> {
    return fail(errc::unavailable, "connection refused");
  };
  id = client.submission_id();
  REQUIRE_FALSE(id);
  CHECK(retryable(id.err()));
  fake.on_token = [](const http_call&) -> expected<http_reply> {
    return http_reply{200, R"({"access_token":""})"};
  };
  id = client.submission_id();
  REQUIRE_FALSE(id);
  CHECK(id.err().code == errc::internal);
}

TEST_CASE("a submission answered for another submission id is refused") {
  fake_globus fake;
  fake.on_transfer = [](const http_call&) -> expected<http_reply> {
    return http_reply{200, R"({"code":"Accepted","task_id":"t","submission_id":"someone-else"})"};
  };
  auto client = make_client(fake);
  transfer_request request;
  request.submission_id = "11111111-2222-4333-8444-555555555555";
  auto reply = client.submit(request);
  REQUIRE_FALSE(reply);
  CHECK(reply.err().code == errc::internal);
}

TEST_CASE("task ids are percent-encoded into the path") {
  fake_globus fake;
  fake.on_transfer = [](const http_call&) -> expected<http_reply> {
    return http_reply{404, R"({"code":"ClientError.NotFound"})"};
  };
  auto client = make_client(fake);
  auto task = client.task("a/../b");
  REQUIRE_FALSE(task);
  CHECK(task.err().code == errc::not_found);
  CHECK(fake.calls.back().target == "/v0.10/task/a%2F..%2Fb");
}

TEST_CASE("plain http is refused towards another host; https is required there") {
  fake_globus fake;
  auto settings = test_settings();
  settings.transfer_url = "http://transfer.example.org/v0.10";
  auto client = globus_client::create(settings, fake.transport(), fake.clock());
  REQUIRE_FALSE(client);
  CHECK(client.err().message.find("librarian.globus_transfer_url") != std::string::npos);
  settings.transfer_url = "https://transfer.example.org/v0.10";
  CHECK(globus_client::create(settings, fake.transport(), fake.clock()));
}

TEST_CASE("an empty or oversized task id is refused before any request") {
  fake_globus fake;
  auto client = make_client(fake);
  CHECK(client.task("").err().code == errc::invalid_argument);
  CHECK(client.cancel(std::string(200, 'x')).err().code == errc::invalid_argument);
  CHECK(client.error_events("").err().code == errc::invalid_argument);
  CHECK(fake.calls.empty());
}
