// Route matching, path parameters, 404 and 405, and URL helpers.
#include <doctest/doctest.h>

#include <optional>

#include "net/http/router.hpp"
#include "net/http/url.hpp"

using namespace librarian::net::http;

namespace {

request make(std::string method, std::string path) {
  request out;
  out.method = std::move(method);
  out.path = std::move(path);
  out.request_id = "rid";
  return out;
}

// Dispatches synchronously (the handlers below answer at once) and returns the answer.
response call(const router& routes, request req) {
  std::optional<response> answer;
  routes.dispatch(std::move(req), [&answer](response r) { answer = std::move(r); });
  REQUIRE(answer.has_value());
  return *answer;
}

router sample_router() {
  router routes;
  routes.add("GET", "/api/v1/users/me", [](request, path_params, respond_fn respond) {
    respond(json_response(200, {{"who", "me"}}));
  });
  routes.add("GET", "/api/v1/users/{name}", [](request, path_params params, respond_fn respond) {
    respond(json_response(200, {{"user", params.at("name")}}));
  });
  routes.add("DELETE", "/api/v1/users/{name}", [](request, path_params, respond_fn respond) {
    respond(json_response(204, nullptr));
  });
  routes.add("POST", "/api/v1/users/{name}/tokens",
             [](request, path_params params, respond_fn respond) {
               respond(json_response(201, {{"for", params.at("name")}}));
             });
  return routes;
}

}  // namespace

TEST_CASE("the router passes decoded path parameters to the matching route") {
  auto routes = sample_router();
  auto answer = call(routes, make("GET", "/api/v1/users/alice"));
  CHECK(answer.status == 200);
  CHECK(nlohmann::json::parse(answer.body)["user"] == "alice");
  // An encoded slash stays inside the parameter instead of changing the route.
  answer = call(routes, make("GET", "/api/v1/users/a%2Fb%20c"));
  CHECK(nlohmann::json::parse(answer.body)["user"] == "a/b c");
  answer = call(routes, make("POST", "/api/v1/users/bob/tokens/"));
  CHECK(answer.status == 201);
  CHECK(nlohmann::json::parse(answer.body)["for"] == "bob");
  // A literal route registered first wins over the parameter route.
  answer = call(routes, make("GET", "/api/v1/users/me"));
  CHECK(nlohmann::json::parse(answer.body)["who"] == "me");
}

TEST_CASE("the router answers 404 for unknown paths and 405 with Allow for other methods") {
  auto routes = sample_router();
  auto answer = call(routes, make("GET", "/api/v1/nothing"));
  CHECK(answer.status == 404);
  auto body = nlohmann::json::parse(answer.body);
  CHECK(body["error"] == "not_found");
  CHECK(body["request_id"] == "rid");
  CHECK(call(routes, make("GET", "/api/v1/users/")).status == 404);
  CHECK(call(routes, make("GET", "/api/v1/users//tokens")).status == 404);
  answer = call(routes, make("PUT", "/api/v1/users/alice"));
  CHECK(answer.status == 405);
  CHECK(nlohmann::json::parse(answer.body)["error"] == "invalid_argument");
  REQUIRE(answer.headers.size() == 1);
  CHECK(answer.headers[0].first == "Allow");
  CHECK(answer.headers[0].second == "GET, DELETE");
  CHECK(call(routes, make("GET", "/api/v1/users/%zz")).status == 400);
}

TEST_CASE("as_handler freezes the routes it was made from") {
  auto routes = sample_router();
  auto handler = routes.as_handler();
  routes.add("GET", "/late", [](request, path_params, respond_fn respond) {
    respond(json_response(200, nullptr));
  });
  std::optional<response> answer;
  handler(make("GET", "/late"), [&answer](response r) { answer = std::move(r); });
  REQUIRE(answer.has_value());
  CHECK(answer->status == 404);
}

TEST_CASE("percent-encoding round-trips and query strings decode") {
  CHECK(percent_encode("a b/c~d") == "a%20b%2Fc~d");
  CHECK(percent_decode(percent_encode("ünï code/?&")) == "ünï code/?&");
  CHECK_FALSE(percent_decode("%").has_value());
  CHECK_FALSE(percent_decode("%4").has_value());
  CHECK_FALSE(percent_decode("%00").has_value());
  CHECK(percent_decode("a+b") == "a+b");
  CHECK(percent_decode("a+b", true) == "a b");
  auto query = parse_query("a=1&b=x%20y&a=2&flag&&c=");
  REQUIRE(query.has_value());
  CHECK(query->at("a") == "1");
  CHECK(query->at("b") == "x y");
  CHECK(query->at("flag") == "");
  CHECK(query->at("c") == "");
  CHECK_FALSE(parse_query("a=%zz").has_value());
}
