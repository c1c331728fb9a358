// The request format shared by HTTP and the console: strict argument parsing and JSON replies.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "actors/mcs/dispatch.hpp"
#include "mcs_fixture.hpp"

using namespace librarian;
using namespace librarian::mcs;
using nlohmann::json;

namespace {

expected<json> call(test::mcs_db& fx, const std::string& verb, const json& args,
                    const std::string& user = "alice") {
  storage::batch rows;
  auto out = dispatch(*fx.state, fx.as(user), verb, args.dump(), rows);
  if (!out) {
    CHECK(rows.empty());
    return out.err();
  }
  fx.commit(rows);
  return json::parse(*out);
}

}  // namespace

TEST_CASE("verbs run with JSON arguments and answer JSON") {
  test::mcs_db fx;
  auto created = call(fx, "create_many",
                      {{"objects",
                        {{{"kind", "l"},
                          {"name", "a"},
                          {"attrs", {{{"name", "n"}, {"type", "int"}, {"value", "1"}}}}},
                         {{"kind", "l"},
                          {"name", "b"},
                          {"attrs", {{{"name", "n"}, {"type", "int"}, {"value", "2"}}}}},
                         {{"kind", "l"}, {"name", "a"}}}}});
  REQUIRE(created.has_value());
  CHECK((*created)["created"] == 2);
  CHECK((*created)["results"][2]["error"] == "already_exists");
  auto q = call(fx, "query",
                {{"kind", "l"}, {"conditions", {{{"attr", "n"}, {"op", ">"}, {"value", "1"}}}}});
  REQUIRE(q.has_value());
  CHECK((*q)["items"] == json::array({{{"kind", "l"}, {"name", "b"}}}));
  CHECK((*q)["more"] == false);
  auto attrs = call(fx, "listattributes", {{"kind", "l"}, {"name", "a"}});
  REQUIRE(attrs.has_value());
  bool found = false;
  for (const auto& a : (*attrs)["attributes"])
    found = found || (a["name"] == "n" && a["value"] == "1");
  CHECK(found);
  CHECK(is_write_verb("create"));
  CHECK_FALSE(is_write_verb("query"));
}

TEST_CASE("unknown verbs, unknown keys and wrong types are refused") {
  test::mcs_db fx;
  std::vector<std::pair<std::string, json>> bad = {
      {"frobnicate", json::object()},
      {"create", {{"kind", "l"}, {"name", "a"}, {"colour", "red"}}},
      {"create", {{"kind", "x"}, {"name", "a"}}},
      {"create", {{"kind", "l"}, {"name", 5}}},
      {"create", {{"kind", "l"}, {"name", "a"}, {"version", -1}}},
      {"query",
       {{"kind", "l"}, {"conditions", {{{"attr", "n"}, {"op", "between"}, {"value", "1"}}}}}},
      {"query", {{"kind", "l"}, {"conditions", "n = 1"}}},
      {"grant", {{"target", "everything"}, {"principal", "anyone"}, {"rights", "read"}}},
      {"delete", {{"kind", "l"}, {"name", "a"}, {"recursive", "yes"}}},
  };
  for (const auto& [verb, args] : bad) {
    CAPTURE(verb);
    CAPTURE(args.dump());
    auto out = call(fx, verb, args);
    REQUIRE_FALSE(out.has_value());
    CHECK(out.err().code == errc::invalid_argument);
  }
  storage::batch rows;
  auto not_json = dispatch(*fx.state, fx.as("alice"), "create", "{kind: l}", rows);
  REQUIRE_FALSE(not_json.has_value());
  CHECK(not_json.err().code == errc::invalid_argument);
  CHECK(fx.state->object_count() == 0);
}
