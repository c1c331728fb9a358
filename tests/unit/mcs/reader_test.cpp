// The read-only view the HTTP API answers reading verbs from: for every caller and every reading
// verb the same text (or the same error) as the catalog's own state, authorization included;
// only durable writes are seen; one snapshot per request.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "actors/mcs/dispatch.hpp"
#include "actors/mcs/reader.hpp"
#include "mcs_fixture.hpp"

using namespace librarian;
using namespace librarian::mcs;
using nlohmann::json;

namespace {

// A reply or an error as text, so two answers compare whole.
std::string answer_text(const expected<std::string>& out) {
  if (out) return "ok " + *out;
  return "error " + std::string{name(out.err().code)} + " " + out.err().message;
}

void write(test::mcs_db& fx, const std::string& verb, const json& args,
           const std::string& user = "alice", bool admin = false) {
  storage::batch rows;
  auto out = dispatch(*fx.state, fx.as(user, admin), verb, args.dump(), rows);
  REQUIRE_MESSAGE(out.has_value(), verb << ": " << out.err().describe());
  fx.commit(rows);
}

json cond(const char* attr, const char* op, const char* value) {
  return json{{"attr", attr}, {"op", op}, {"value", value}};
}

json ref(const char* k, const char* name) {
  return json{{"kind", k}, {"name", name}};
}

// A small catalog with every kind of grant: alice's files, a collection shared with a group, a
// file shared with bob inside a collection bob may not read, a view, notes and a document.
void build_catalog(test::mcs_db& fx) {
  auto attrs = [](int n, const char* s) {
    return json::array({{{"name", "n"}, {"type", "int"}, {"value", std::to_string(n)}},
                        {{"name", "s"}, {"type", "string"}, {"value", s}}});
  };
  json objects = json::array();
  for (int i = 0; i < 40; ++i)
    objects.push_back({{"kind", "l"},
                       {"name", "obs/f" + std::to_string(i)},
                       {"attrs", attrs(i % 7, i % 2 ? "odd" : "even")}});
  write(fx, "create_many", {{"objects", objects}});
  write(fx, "create", {{"kind", "c"}, {"name", "shared-box"}});
  write(fx, "create", {{"kind", "c"}, {"name", "private-box"}});
  write(fx, "create", {{"kind", "v"}, {"name", "best"}});
  for (int i = 0; i < 5; ++i)
    write(fx, "add_coll",
          {{"parent", "shared-box"}, {"child", ref("l", ("obs/f" + std::to_string(i)).c_str())}});
  write(fx, "add_coll", {{"parent", "private-box"}, {"child", ref("l", "obs/f10")}});
  write(fx, "add_view", {{"view", "best"}, {"child", ref("l", "obs/f11")}});
  write(fx, "add_view", {{"view", "best"}, {"child", ref("c", "shared-box")}});
  write(fx, "grant",
        {{"target", ref("c", "shared-box")}, {"principal", "group:team"}, {"rights", "read"}});
  write(fx, "grant",
        {{"target", ref("l", "obs/f10")}, {"principal", "user:bob"}, {"rights", "read"}});
  write(fx, "grant", {{"target", ref("v", "best")}, {"principal", "anyone"}, {"rights", "read"}});
  write(fx, "group_add", {{"user", "carol"}, {"group", "team"}}, "root", true);
  write(fx, "annotate", {{"kind", "l"}, {"name", "obs/f10"}, {"text", "cloudy"}});
  write(
      fx, "provenance",
      {{"kind", "l"}, {"name", "obs/f11"}, {"text", "stacked"}, {"sources", {ref("l", "obs/f1")}}});
  write(fx, "store_doc",
        {{"kind", "l"}, {"name", "obs/f12"}, {"format", "json"}, {"content", "{\"a\":1}"}});
}

// Every reading verb, aimed at readable, unreadable and missing objects.
std::vector<std::pair<std::string, json>> reading_requests() {
  std::vector<std::pair<std::string, json>> out;
  for (const char* name : {"obs/f0", "obs/f10", "obs/f11", "obs/f12", "obs/f30", "obs/none"}) {
    for (const char* verb : {"listattributes", "annotations", "get_provenance", "get_doc", "audit"})
      out.emplace_back(verb, ref("l", name));
    out.emplace_back("acl", json{{"target", ref("l", name)}});
  }
  for (const char* name : {"shared-box", "private-box", "none"}) {
    out.emplace_back("list_coll", json{{"name", name}});
    out.emplace_back("listattributes", ref("c", name));
  }
  out.emplace_back("list_view", json{{"name", "best"}});
  for (const char* k : {"l", "c", "v"}) out.emplace_back("list", json{{"kind", k}});
  out.emplace_back("list", json{{"kind", "l"}, {"after", "obs/f2"}, {"limit", 5}});
  out.emplace_back("acl", json{{"target", "service"}});
  out.emplace_back("attributes", json::object());
  out.emplace_back("groups", json::object());
  out.emplace_back("groups", json{{"user", "carol"}});
  auto query = [&](json conditions, json extra = json::object()) {
    json q{{"kind", "l"}, {"conditions", std::move(conditions)}};
    q.update(extra);
    out.emplace_back("query", q);
  };
  query({cond("n", "=", "3")});
  query({cond("n", "=", "3"), cond("s", "=", "odd")});
  query({cond("n", ">=", "2"), cond("s", "like", "ev%")}, {{"limit", 4}, {"offset", 2}});
  query({cond("s", "!=", "odd")}, {{"count", true}});
  query({cond("container", "=", "private-box")});
  query({cond("creator", "=", "alice")}, {{"limit", 100}});
  query({cond("nosuch", "=", "1")});
  query({cond("n", "=", "three")});
  // Malformed requests fail alike too.
  out.emplace_back("query", json{{"kind", "x"}});
  out.emplace_back("listattributes", json{{"kind", "l"}});
  return out;
}

}  // namespace

TEST_CASE("the read-only view answers every reading verb as the catalog does, for every caller") {
  test::mcs_db fx;
  build_catalog(fx);
  mcs_reader reader{*fx.db};
  const std::vector<principal> callers = {{"alice", {}, false}, {"bob", {}, false},
                                          {"carol", {}, false}, {"dave", {}, false},
                                          {"root", {}, true},   {"erin", {"team"}, false}};
  size_t compared = 0, refused = 0;
  for (const auto& who : callers) {
    for (const auto& [verb, args] : reading_requests()) {
      CAPTURE(who.user);
      CAPTURE(verb);
      CAPTURE(args.dump());
      storage::batch none;
      auto own = dispatch(*fx.state, call_ctx{who, fx.now_us}, verb, args.dump(), none);
      CHECK(none.empty());
      auto seen = reader.read(who, verb, args.dump());
      CHECK(answer_text(seen) == answer_text(own));
      ++compared;
      refused += own ? 0 : 1;
    }
  }
  // The matrix holds refusals (unreadable and missing objects) as well as answers.
  CHECK(refused > 20);
  CHECK(compared - refused > 100);
}

TEST_CASE("the read-only view sees a write once it is durable, and refuses writing verbs") {
  test::mcs_db fx;
  mcs_reader reader{*fx.db};
  principal alice{"alice", {}, false};
  auto attrs = [&] { return reader.read(alice, "listattributes", ref("l", "late").dump()); };
  storage::batch rows;
  auto created = dispatch(*fx.state, fx.as("alice"), "create",
                          json{{"kind", "l"}, {"name", "late"}}.dump(), rows);
  REQUIRE(created.has_value());
  // Pending in the actor's overlay: the actor's own state answers, the view does not yet.
  storage::batch none;
  CHECK(dispatch(*fx.state, fx.as("alice"), "listattributes", ref("l", "late").dump(), none));
  REQUIRE_FALSE(attrs().has_value());
  CHECK(attrs().err().code == errc::not_found);
  fx.commit(rows);
  CHECK(attrs().has_value());
  auto refused = reader.read(alice, "create", ref("l", "other").dump());
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.err().code == errc::invalid_argument);
  // A group membership counts once it is durable too.
  write(fx, "create", {{"kind", "l"}, {"name", "team-file"}});
  write(fx, "grant",
        {{"target", ref("l", "team-file")}, {"principal", "group:team"}, {"rights", "read"}});
  principal bob{"bob", {}, false};
  CHECK_FALSE(reader.read(bob, "listattributes", ref("l", "team-file").dump()).has_value());
  write(fx, "group_add", {{"user", "bob"}, {"group", "team"}}, "root", true);
  CHECK(reader.read(bob, "listattributes", ref("l", "team-file").dump()).has_value());
}
