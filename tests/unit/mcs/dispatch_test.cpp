// The request format shared by HTTP and the console: strict argument parsing and JSON replies.
#include <doctest/doctest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "actors/mcs/dispatch.hpp"
#include "actors/mcs/interface.hpp"
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

TEST_CASE("a file the librarian registers gets its default attributes, owned by its uploader") {
  test::mcs_db fx;
  auto announce = [&](const std::string& name, uint64_t size) {
    auto msg =
        register_file_message(name, size, "xxh3:::00ff", "carol", "telescope", 1700000000123);
    auto args = msg.get_as<std::string>(5);
    CHECK(msg.get_as<std::string>(4) == "register_file");
    storage::batch rows;
    auto out = dispatch(*fx.state, call_ctx{principal{"carol", {}, true}, fx.now_us},
                        "register_file", args, rows);
    fx.commit(rows);
    return out;
  };
  REQUIRE(announce("raw/1.dat", 2200).has_value());
  auto attrs = call(fx, "listattributes", {{"kind", "l"}, {"name", "raw/1.dat"}}, "carol");
  REQUIRE(attrs.has_value());
  std::map<std::string, std::string> got;
  for (const auto& a : (*attrs)["attributes"]) got[a["name"]] = a["value"];
  CHECK(got["size"] == "2200");
  CHECK(got["checksum"] == "xxh3:::00ff");
  CHECK(got["uploader"] == "carol");
  CHECK(got["source"] == "telescope");
  CHECK(got["create_time"] == "2023-11-14T22:13:20.123000Z");
  CHECK(got["creator"] == "carol");
  // Others cannot read it: the uploader owns it like anything they create.
  auto hidden = call(fx, "listattributes", {{"kind", "l"}, {"name", "raw/1.dat"}}, "alice");
  REQUIRE_FALSE(hidden.has_value());
  CHECK(hidden.err().code == errc::not_found);

  // A file described before it arrives keeps its attributes and gains (or updates) the defaults.
  REQUIRE(call(fx, "create",
               {{"kind", "l"},
                {"name", "raw/2.dat"},
                {"attrs",
                 {{{"name", "size"}, {"type", "int"}, {"value", "1"}},
                  {{"name", "calib"}, {"type", "int"}, {"value", "3"}}}}},
               "alice")
              .has_value());
  REQUIRE(announce("raw/2.dat", 4096).has_value());
  attrs = call(fx, "listattributes", {{"kind", "l"}, {"name", "raw/2.dat"}}, "alice");
  REQUIRE(attrs.has_value());
  got.clear();
  for (const auto& a : (*attrs)["attributes"]) got[a["name"]] = a["value"];
  CHECK(got["size"] == "4096");
  CHECK(got["calib"] == "3");
  CHECK(got["creator"] == "alice");
  CHECK(got["last_modifier"] == "carol");

  // A default attribute whose name holds another type fails whole: nothing changes.
  test::mcs_db clean;
  REQUIRE(call(clean, "create",
               {{"kind", "l"},
                {"name", "other"},
                {"attrs", {{{"name", "source"}, {"type", "int"}, {"value", "1"}}}}},
               "alice")
              .has_value());
  storage::batch rows;
  auto clash = dispatch(
      *clean.state, clean.as("carol", true), "register_file",
      register_file_message("raw/3.dat", 10, "", "carol", "telescope", 0).get_as<std::string>(5),
      rows);
  REQUIRE_FALSE(clash.has_value());
  CHECK(clash.err().code == errc::invalid_argument);
  CHECK(rows.empty());
  CHECK(clean.state->object_count() == 1);

  // Only the node sends it: users (HTTP, CLI) do not know the verb.
  CHECK_FALSE(is_known_verb("register_file"));
  CHECK(is_internal_verb("register_file"));
  CHECK(is_write_verb("register_file"));
}

TEST_CASE("a query's reply is the JSON a DOM would print, whatever the names hold") {
  test::mcs_db fx;
  std::vector<std::string> names{"plain/a.fits", "quo\"te\\back", "tab\there", "\xc3\xbc-utf8",
                                 "bad\xff-utf8"};
  for (const auto& n : names)  // not through JSON: one name is not valid UTF-8
    REQUIRE(fx.run([&](auto& rows) {
      return fx.state->create(fx.as("alice"), test::file(n), {{"n", "int", "1"}}, rows);
    }));
  REQUIRE(
      call(fx, "create", {{"kind", "l"}, {"name", "plain/a.fits"}, {"version", 2}}).has_value());
  REQUIRE(call(fx, "add_att",
               {{"kind", "l"},
                {"name", "plain/a.fits"},
                {"version", 2},
                {"attrs", {{{"name", "n"}, {"type", "int"}, {"value", "1"}}}}})
              .has_value());
  storage::batch rows;
  auto text = dispatch(*fx.state, fx.as("alice"), "query",
                       R"({"kind":"l","conditions":[{"attr":"n","op":"=","value":"1"}]})", rows);
  REQUIRE(text.has_value());
  auto parsed = json::parse(*text);
  CHECK(parsed.dump(-1, ' ', false, json::error_handler_t::replace) == *text);
  CHECK(parsed["count"] == 6);
  CHECK(parsed["items"].size() == 6);
  CHECK(parsed["more"] == false);
  CHECK(parsed["truncated"] == false);
  CHECK(parsed["plan"] == "index n =");
  std::set<std::string> got;
  for (const auto& item : parsed["items"])
    got.insert(item["name"].get<std::string>() + (item.contains("version") ? "@2" : ""));
  CHECK(got.count("quo\"te\\back") == 1);
  CHECK(got.count("tab\there") == 1);
  CHECK(got.count("\xc3\xbc-utf8") == 1);
  CHECK(got.count("bad\xef\xbf\xbd-utf8") == 1);  // replaced, as every reply does
  CHECK(got.count("plain/a.fits@2") == 1);
}

TEST_CASE("group grants reach the catalog's own group members, whatever path the call took") {
  test::mcs_db fx;
  REQUIRE(call(fx, "create",
               {{"kind", "l"},
                {"name", "f"},
                {"attrs", {{{"name", "n"}, {"type", "int"}, {"value", "1"}}}}})
              .has_value());
  REQUIRE(call(fx, "grant",
               {{"target", {{"kind", "l"}, {"name", "f"}}},
                {"principal", "group:astro"},
                {"rights", "read"}})
              .has_value());
  auto carol_sees = [&] {
    auto r = call(fx, "listattributes", {{"kind", "l"}, {"name", "f"}}, "carol");
    return r.has_value();
  };
  CHECK_FALSE(carol_sees());
  // Only an admin changes memberships; bad names are refused and change nothing.
  auto by_user = call(fx, "group_add", {{"user", "carol"}, {"group", "astro"}}, "alice");
  REQUIRE_FALSE(by_user.has_value());
  CHECK(by_user.err().code == errc::forbidden);
  auto as_admin = [&](const std::string& verb, const json& args) {
    storage::batch rows;
    auto out = dispatch(*fx.state, fx.as("root", true), verb, args.dump(), rows);
    if (!out) CHECK(rows.empty());
    fx.commit(rows);
    return out;
  };
  auto bad = as_admin("group_add", {{"user", "carol"}, {"group", "as tro"}});
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.err().code == errc::invalid_argument);
  CHECK_FALSE(carol_sees());

  REQUIRE(as_admin("group_add", {{"user", "carol"}, {"group", "astro"}}).has_value());
  CHECK(carol_sees());
  auto listed = call(fx, "groups", json::object(), "carol");
  REQUIRE(listed.has_value());
  CHECK((*listed)["groups"] == json::array({"astro"}));
  auto others = call(fx, "groups", {{"user", "carol"}}, "dave");
  REQUIRE_FALSE(others.has_value());
  CHECK(others.err().code == errc::forbidden);
  // Memberships are durable: they survive a reopen.
  fx.open();
  CHECK(carol_sees());
  REQUIRE(as_admin("group_remove", {{"user", "carol"}, {"group", "astro"}}).has_value());
  CHECK_FALSE(carol_sees());
  fx.open();
  CHECK_FALSE(carol_sees());
  CHECK(is_write_verb("group_add"));
  CHECK(is_known_verb("groups"));
  CHECK_FALSE(is_write_verb("groups"));
}
