// The MCS state machine: objects, typed attributes, collections, views, notes, documents, audit,
// and bad input refused with nothing changed.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>

#include "mcs_fixture.hpp"

using namespace librarian;
using namespace librarian::mcs;
using test::coll;
using test::file;
using test::view;

namespace {

std::optional<std::string> attr_of(test::mcs_db& fx, const object_ref& ref,
                                   const std::string& name) {
  auto attrs = fx.state->list_attrs(fx.as("alice"), ref);
  REQUIRE(attrs.has_value());
  for (const auto& a : *attrs)
    if (a.name == name) return a.value;
  return std::nullopt;
}

std::vector<std::string> names_of(const std::vector<object_entry>& items) {
  std::vector<std::string> out;
  for (const auto& e : items) out.push_back(e.name);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> query_names(test::mcs_db& fx, kind k, std::vector<condition> conds) {
  auto r = fx.state->query(fx.as("alice"), {k, std::move(conds), 0, 1000, false});
  REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? "" : r.err().describe()));
  return names_of(r->items);
}

}  // namespace

TEST_CASE("create with attributes, then add, modify, list and delete attributes") {
  test::mcs_db fx;
  auto alice = fx.as("alice");
  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->create(alice, file("obs/1.fits"),
                            {{"field", "string", "X"}, {"calib", "int", "3"}}, rows);
  }));
  CHECK(attr_of(fx, file("obs/1.fits"), "field") == "X");
  CHECK(attr_of(fx, file("obs/1.fits"), "creator") == "alice");
  CHECK(attr_of(fx, file("obs/1.fits"), "valid") == "1");
  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->add_attrs(fx.as("alice"), file("obs/1.fits"),
                               {{"observed", "date", "2003-10-12"}}, rows);
  }));
  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->modify_attrs(fx.as("alice"), file("obs/1.fits"), {{"calib", "", "4"}}, rows);
  }));
  CHECK(attr_of(fx, file("obs/1.fits"), "calib") == "4");
  CHECK(query_names(fx, kind::file, {{"calib", "=", "3", "", ""}}).empty());
  CHECK(query_names(fx, kind::file, {{"calib", "=", "4", "", ""}}) ==
        std::vector<std::string>{"obs/1.fits"});
  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->delete_attrs(fx.as("alice"), file("obs/1.fits"), {{"calib", "", ""}}, rows);
  }));
  CHECK_FALSE(attr_of(fx, file("obs/1.fits"), "calib").has_value());
  CHECK(query_names(fx, kind::file, {{"calib", "=", "4", "", ""}}).empty());
  auto defs = fx.state->attribute_defs(0);
  REQUIRE(defs.has_value());
  CHECK(std::any_of(defs->begin(), defs->end(), [](const attr_def_entry& d) {
    return d.name == "observed" && d.type == "date";
  }));
}

TEST_CASE("bad input is refused with a clear error and changes nothing") {
  test::mcs_db fx;
  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->create(fx.as("alice"), file("f"), {{"n", "int", "1"}}, rows);
  }));
  struct bad {
    const char* what;
    std::function<status(storage::batch&)> call;
    errc code;
  };
  std::vector<bad> cases = {
      {"value not of the type",
       [&](storage::batch& rows) {
         return fx.state->add_attrs(fx.as("alice"), file("f"), {{"m", "int", "x1"}}, rows);
       },
       errc::invalid_argument},
      {"type differs from the definition",
       [&](storage::batch& rows) {
         return fx.state->modify_attrs(fx.as("alice"), file("f"), {{"n", "float", "1.5"}}, rows);
       },
       errc::invalid_argument},
      {"unknown attribute on modify",
       [&](storage::batch& rows) {
         return fx.state->modify_attrs(fx.as("alice"), file("f"), {{"zz", "", "1"}}, rows);
       },
       errc::not_found},
      {"unknown object",
       [&](storage::batch& rows) {
         return fx.state->add_attrs(fx.as("alice"), file("nope"), {{"m", "int", "1"}}, rows);
       },
       errc::not_found},
      {"attribute already set",
       [&](storage::batch& rows) {
         return fx.state->add_attrs(fx.as("alice"), file("f"), {{"n", "int", "2"}}, rows);
       },
       errc::already_exists},
      {"oversized value",
       [&](auto& rows) {
         return fx.state->add_attrs(fx.as("alice"), file("f"),
                                    {{"s", "string", std::string(5000, 'v')}}, rows);
       },
       errc::invalid_argument},
      {"a good attribute with a bad one: all or nothing",
       [&](auto& rows) {
         return fx.state->add_attrs(fx.as("alice"), file("f"),
                                    {{"good", "int", "1"}, {"bad", "date", "2023-02-30"}}, rows);
       },
       errc::invalid_argument},
      {"read-only predefined attribute",
       [&](storage::batch& rows) {
         return fx.state->modify_attrs(fx.as("alice"), file("f"), {{"creator", "", "bob"}}, rows);
       },
       errc::invalid_argument},
      {"duplicate create",
       [&](storage::batch& rows) { return fx.state->create(fx.as("alice"), file("f"), {}, rows); },
       errc::already_exists},
      {"version on a collection",
       [&](storage::batch& rows) {
         return fx.state->create(fx.as("alice"), {kind::collection, "c", 2}, {}, rows);
       },
       errc::invalid_argument},
      {"malformed JSON document",
       [&](storage::batch& rows) {
         return fx.state->store_doc(fx.as("alice"), file("f"), {"json", "{\"a\": "}, false, rows);
       },
       errc::invalid_argument},
      {"malformed XML document",
       [&](storage::batch& rows) {
         return fx.state->store_doc(fx.as("alice"), file("f"), {"xml", "<a><b></a>"}, false, rows);
       },
       errc::invalid_argument},
      {"shredding a value that does not fit the attribute",
       [&](auto& rows) {
         return fx.state->store_doc(fx.as("alice"), file("f"), {"json", R"({"n": "not a number"})"},
                                    true, rows);
       },
       errc::invalid_argument},
  };
  auto before = fx.state->list_attrs(fx.as("alice"), file("f"));
  REQUIRE(before.has_value());
  auto objects_before = fx.state->object_count();
  for (auto& c : cases) {
    CAPTURE(c.what);
    auto st = fx.run(c.call);
    REQUIRE_FALSE(st.has_value());
    CHECK(st.err().code == c.code);
    CHECK_FALSE(st.err().message.empty());
  }
  auto after = fx.state->list_attrs(fx.as("alice"), file("f"));
  REQUIRE(after.has_value());
  CHECK(*after == *before);
  CHECK(fx.state->object_count() == objects_before);
  auto defs = fx.state->attribute_defs(0);
  REQUIRE(defs.has_value());
  CHECK(std::none_of(defs->begin(), defs->end(),
                     [](const attr_def_entry& d) { return d.name == "good"; }));
  auto doc = fx.state->get_doc(fx.as("alice"), file("f"));
  CHECK_FALSE(doc.has_value());
}

TEST_CASE("collections: a tree, one collection per file, no cycles, recursive delete") {
  test::mcs_db fx;
  for (auto ref : {coll("top"), coll("mid"), coll("low"), coll("other"), file("a"), file("b")})
    REQUIRE(fx.run([&](auto& rows) {
      return fx.state->create(fx.as("alice"), ref, {{"tag", "string", "t"}}, rows);
    }));
  auto add = [&](const std::string& parent, object_ref child) {
    return fx.run([&](auto& rows) {
      return fx.state->add_to_collection(fx.as("alice"), parent, child, rows);
    });
  };
  REQUIRE(add("top", coll("mid")));
  REQUIRE(add("mid", coll("low")));
  REQUIRE(add("low", file("a")));
  REQUIRE(add("top", file("b")));
  auto second = add("other", file("a"));
  REQUIRE_FALSE(second.has_value());
  CHECK(second.err().code == errc::conflict);
  auto cycle = add("low", coll("top"));
  REQUIRE_FALSE(cycle.has_value());
  CHECK(cycle.err().code == errc::invalid_argument);
  // Neither refusal moved anything: "other" is still empty, "top" is still at the top.
  auto other = fx.state->members(fx.as("alice"), coll("other"), 0, 0);
  REQUIRE(other.has_value());
  CHECK(other->items.empty());
  CHECK_FALSE(attr_of(fx, coll("top"), "container").has_value());
  CHECK(attr_of(fx, file("a"), "container") == "low");
  auto listed = fx.state->members(fx.as("alice"), coll("top"), 0, 0);
  REQUIRE(listed.has_value());
  CHECK(names_of(listed->items) == std::vector<std::string>{"b", "mid"});

  auto objects_before = fx.state->object_count();
  auto nonempty = fx.run(
      [&](auto& rows) { return fx.state->remove(fx.as("alice"), coll("mid"), false, rows); });
  REQUIRE_FALSE(nonempty.has_value());
  CHECK(nonempty.err().code == errc::conflict);
  // Refused whole: the collection, its members and their attributes are all still there.
  CHECK(fx.state->object_count() == objects_before);
  CHECK(attr_of(fx, file("a"), "container") == "low");
  CHECK(query_names(fx, kind::collection, {{"tag", "=", "t", "", ""}}).size() == 4);
  REQUIRE(fx.run(
      [&](auto& rows) { return fx.state->remove(fx.as("alice"), coll("mid"), true, rows); }));
  CHECK(fx.state->object_count() == 3);  // top, other, b; not mid, low, a
  auto a = fx.state->list_attrs(fx.as("alice"), file("a"));
  REQUIRE_FALSE(a.has_value());
  CHECK(a.err().code == errc::not_found);
  // Their attributes went with them: the index finds only the survivors.
  CHECK(query_names(fx, kind::file, {{"tag", "=", "t", "", ""}}) == std::vector<std::string>{"b"});
  CHECK(query_names(fx, kind::collection, {{"tag", "=", "t", "", ""}}) ==
        std::vector<std::string>{"other", "top"});
  listed = fx.state->members(fx.as("alice"), coll("top"), 0, 0);
  REQUIRE(listed.has_value());
  CHECK(names_of(listed->items) == std::vector<std::string>{"b"});
  // Once out of its collection's way, a file may join another.
  REQUIRE(
      fx.run([&](auto& rows) { return fx.state->create(fx.as("alice"), file("a"), {}, rows); }));
  REQUIRE(add("other", file("a")));
}

TEST_CASE("views group anything but never form a cycle") {
  test::mcs_db fx;
  for (auto ref : {view("v1"), view("v2"), view("v3"), file("f"), coll("c")})
    REQUIRE(fx.run([&](auto& rows) { return fx.state->create(fx.as("alice"), ref, {}, rows); }));
  auto add = [&](const std::string& v, object_ref child) {
    return fx.run(
        [&](auto& rows) { return fx.state->add_to_view(fx.as("alice"), v, child, rows); });
  };
  REQUIRE(add("v1", view("v2")));
  REQUIRE(add("v2", view("v3")));
  REQUIRE(add("v3", file("f")));
  REQUIRE(add("v1", file("f")));  // a file may be in many views
  REQUIRE(add("v2", coll("c")));
  for (auto [v, child] : {std::pair{"v3", view("v1")}, std::pair{"v3", view("v3")}}) {
    auto st = add(v, child);
    REQUIRE_FALSE(st.has_value());
    CHECK(st.err().code == errc::invalid_argument);
    CHECK(st.err().message.find("cycle") != std::string::npos);
  }
  auto again = add("v1", file("f"));
  REQUIRE_FALSE(again.has_value());
  CHECK(again.err().code == errc::already_exists);
  // Deleting a view leaves its members; deleting a member takes it out of every view.
  REQUIRE(fx.run(
      [&](auto& rows) { return fx.state->remove(fx.as("alice"), view("v2"), false, rows); }));
  auto f = fx.state->list_attrs(fx.as("alice"), file("f"));
  CHECK(f.has_value());
  REQUIRE(
      fx.run([&](auto& rows) { return fx.state->remove(fx.as("alice"), file("f"), false, rows); }));
  auto v1 = fx.state->members(fx.as("alice"), view("v1"), 0, 0);
  REQUIRE(v1.has_value());
  CHECK(v1->items.empty());
}

TEST_CASE("annotations, provenance, documents and the audit log") {
  test::mcs_db fx;
  for (auto ref : {file("raw"), file("product")})
    REQUIRE(fx.run([&](auto& rows) { return fx.state->create(fx.as("alice"), ref, {}, rows); }));
  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->annotate(fx.as("alice"), file("raw"), "looks noisy", rows);
  }));
  auto notes = fx.state->annotations(fx.as("alice"), file("raw"), 0);
  REQUIRE(notes.has_value());
  REQUIRE(notes->size() == 1);
  CHECK((*notes)[0].text == "looks noisy");
  CHECK((*notes)[0].who == "alice");
  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->set_provenance(fx.as("alice"), file("product"), "calibrated with v3",
                                    {file("raw")}, rows);
  }));
  auto prov = fx.state->provenance(fx.as("alice"), file("product"));
  REQUIRE(prov.has_value());
  CHECK(prov->text == "calibrated with v3");
  REQUIRE(prov->derived_from.size() == 1);
  CHECK(prov->derived_from[0].name == "raw");
  auto self = fx.run([&](auto& rows) {
    return fx.state->set_provenance(fx.as("alice"), file("product"), "x", {file("product")}, rows);
  });
  CHECK_FALSE(self.has_value());

  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->store_doc(
        fx.as("alice"), file("raw"),
        {"json", R"({"instrument": "hera", "run": 12, "qa": {"score": 0.5}})"}, true, rows);
  }));
  CHECK(attr_of(fx, file("raw"), "instrument") == "hera");
  CHECK(attr_of(fx, file("raw"), "run") == "12");
  CHECK(attr_of(fx, file("raw"), "qa.score") == "0.5");
  auto doc = fx.state->get_doc(fx.as("alice"), file("raw"));
  REQUIRE(doc.has_value());
  CHECK(doc->format == "json");
  CHECK(doc->content.find("hera") != std::string::npos);
  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->store_doc(fx.as("alice"), file("product"),
                               {"xml", "<?xml version=\"1.0\"?><m><a x='1'>t</a><b/></m>"}, false,
                               rows);
  }));
  // Re-shredding updates values that exist.
  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->store_doc(fx.as("alice"), file("raw"), {"json", R"({"run": 13})"}, true, rows);
  }));
  CHECK(attr_of(fx, file("raw"), "run") == "13");

  auto log = fx.state->audit(fx.as("alice"), file("raw"), 0);
  REQUIRE(log.has_value());
  std::vector<std::string> actions;
  for (const auto& e : *log) actions.push_back(e.action);
  // Newest first: every change, who made it and when.
  CHECK(actions ==
        std::vector<std::string>{"store_doc", "shred", "store_doc", "shred", "annotate", "create"});
  CHECK(std::all_of(log->begin(), log->end(),
                    [](const audit_entry& e) { return e.who == "alice" && e.when_us > 0; }));
}

TEST_CASE("versions name distinct files, and everything survives a reopen of the db") {
  test::mcs_db fx;
  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->create(fx.as("alice"), file("x", 1), {{"q", "float", "1.5"}}, rows);
  }));
  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->create(fx.as("alice"), file("x", 2), {{"q", "float", "2.5"}}, rows);
  }));
  REQUIRE(
      fx.run([&](auto& rows) { return fx.state->create(fx.as("alice"), coll("c"), {}, rows); }));
  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->add_to_collection(fx.as("alice"), "c", file("x", 2), rows);
  }));
  fx.open();
  CHECK(fx.state->object_count() == 3);
  auto r = fx.state->query(fx.as("alice"), {kind::file, {{"q", ">", "2", "", ""}}, 0, 10, false});
  REQUIRE(r.has_value());
  REQUIRE(r->items.size() == 1);
  CHECK(r->items[0].version == 2);
  auto page = fx.state->list(fx.as("alice"), kind::file, "", 0);
  REQUIRE(page.has_value());
  CHECK(page->items.size() == 2);
  CHECK(attr_of(fx, file("x", 2), "container") == "c");
  REQUIRE(
      fx.run([&](auto& rows) { return fx.state->create(fx.as("alice"), file("y"), {}, rows); }));
  CHECK(fx.state->object_count() == 4);
}

TEST_CASE("the planner drives the scan with the most selective indexed condition") {
  test::mcs_db fx;
  for (int i = 0; i < 300; ++i) {
    std::vector<attr_assign> attrs{{"common", "int", "1"},
                                   {"rare", "int", std::to_string(i % 100)}};
    REQUIRE(fx.run([&](auto& rows) {
      return fx.state->create(fx.as("alice"), file("f" + std::to_string(i)), attrs, rows);
    }));
  }
  auto r = fx.state->query(
      fx.as("alice"),
      {kind::file, {{"common", "=", "1", "", ""}, {"rare", "=", "7", "", ""}}, 0, 0, false});
  REQUIRE(r.has_value());
  CHECK(r->plan.find("index rare") == 0);
  CHECK(names_of(r->items) == std::vector<std::string>{"f107", "f207", "f7"});
  auto count = fx.state->query(fx.as("alice"),
                               {kind::file, {{"rare", "between", "10", "19", ""}}, 0, 0, true});
  REQUIRE(count.has_value());
  CHECK(count->count == 30);
  CHECK(count->items.empty());
  // Paging: pages of 7 cover the 30 matches once each.
  std::vector<std::string> seen;
  for (uint64_t offset = 0; offset < 100; offset += 7) {
    auto p = fx.state->query(fx.as("alice"),
                             {kind::file, {{"rare", "between", "10", "19", ""}}, offset, 7, false});
    REQUIRE(p.has_value());
    for (auto& e : p->items) seen.push_back(e.name);
    if (!p->more) break;
  }
  std::sort(seen.begin(), seen.end());
  CHECK(seen.size() == 30);
  CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
  // A condition no index serves needs an explicit limit.
  auto unbounded = fx.state->query(
      fx.as("alice"), {kind::file, {{"creator", "like", "%ice", "", ""}}, 0, 0, false});
  REQUIRE_FALSE(unbounded.has_value());
  CHECK(unbounded.err().code == errc::invalid_argument);
  auto bounded = fx.state->query(fx.as("alice"),
                                 {kind::file, {{"creator", "like", "%ice", "", ""}}, 0, 5, false});
  REQUIRE(bounded.has_value());
  CHECK(bounded->items.size() == 5);
  CHECK(bounded->more);
  auto unknown =
      fx.state->query(fx.as("alice"), {kind::file, {{"nosuch", "=", "1", "", ""}}, 0, 0, false});
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.err().code == errc::not_found);
}
