// The authorization matrix: without read rights an object and its attributes do not exist for a
// caller (the very error a missing object gives); grants and revokes on objects, collections,
// groups and the service change that, and only owners and admins grant.
#include <doctest/doctest.h>

#include "mcs_fixture.hpp"

using namespace librarian;
using namespace librarian::mcs;
using test::coll;
using test::file;

namespace {

// Every read and write a caller can aim at one object; returns the errors in order.
std::vector<std::optional<error>> probe(test::mcs_db& fx, const call_ctx& who,
                                        const object_ref& ref) {
  std::vector<std::optional<error>> out;
  auto record = [&](const auto& result) {
    out.push_back(result.has_value() ? std::nullopt : std::optional<error>{result.err()});
  };
  record(fx.state->list_attrs(who, ref));
  record(fx.state->annotations(who, ref, 0));
  record(fx.state->provenance(who, ref));
  record(fx.state->audit(who, ref, 0));
  if (ref.k != kind::file) record(fx.state->members(who, ref, 0, 0));
  storage::batch rows;
  record(fx.state->add_attrs(who, ref, {{"secret", "", "2"}}, rows));
  record(fx.state->modify_attrs(who, ref, {{"secret", "", "2"}}, rows));
  record(fx.state->annotate(who, ref, "hi", rows));
  record(fx.state->remove(who, ref, true, rows));
  record(fx.state->grant(who, ref, "user:mallory", right_read, rows));
  CHECK(rows.empty());
  return out;
}

std::vector<std::string> visible_files(test::mcs_db& fx, const call_ctx& who) {
  auto r = fx.state->query(who, {kind::file, {{"secret", ">=", "0", "", ""}}, 0, 100, false});
  REQUIRE(r.has_value());
  std::vector<std::string> names;
  for (auto& e : r->items) names.push_back(e.name);
  return names;
}

}  // namespace

TEST_CASE("without read rights an object is indistinguishable from a missing one") {
  test::mcs_db fx;
  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->create(fx.as("alice"), file("hidden"), {{"secret", "int", "1"}}, rows);
  }));
  REQUIRE(
      fx.run([&](auto& rows) { return fx.state->create(fx.as("alice"), coll("box"), {}, rows); }));
  for (auto [present, absent] :
       {std::pair{file("hidden"), file("hidden-not")}, std::pair{coll("box"), coll("box-not")}}) {
    auto seen = probe(fx, fx.as("bob"), present);
    auto missing = probe(fx, fx.as("bob"), absent);
    REQUIRE(seen.size() == missing.size());
    for (size_t i = 0; i < seen.size(); ++i) {
      CAPTURE(i);
      REQUIRE(seen[i].has_value());
      REQUIRE(missing[i].has_value());
      CHECK(seen[i]->code == errc::not_found);
      CHECK(missing[i]->code == errc::not_found);
      // The messages differ only by the name asked for.
      auto m = missing[i]->message;
      auto at = m.find(absent.name);
      REQUIRE(at != std::string::npos);
      m.replace(at, absent.name.size(), present.name);
      CHECK(seen[i]->message == m);
    }
  }
  CHECK(visible_files(fx, fx.as("bob")).empty());
  auto count =
      fx.state->query(fx.as("bob"), {kind::file, {{"secret", "=", "1", "", ""}}, 0, 0, true});
  REQUIRE(count.has_value());
  CHECK(count->count == 0);
  auto listed = fx.state->list(fx.as("bob"), kind::file, "", 0);
  REQUIRE(listed.has_value());
  CHECK(listed->items.empty());
  CHECK(visible_files(fx, fx.as("alice")) == std::vector<std::string>{"hidden"});
  CHECK(visible_files(fx, fx.as("root", true)) == std::vector<std::string>{"hidden"});
}

TEST_CASE("grants and revokes per object, per group, through collections and on the service") {
  test::mcs_db fx;
  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->create(fx.as("alice"), file("f"), {{"secret", "int", "1"}}, rows);
  }));
  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->create(fx.as("alice"), file("g"), {{"secret", "int", "2"}}, rows);
  }));
  REQUIRE(
      fx.run([&](auto& rows) { return fx.state->create(fx.as("alice"), coll("c"), {}, rows); }));
  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->add_to_collection(fx.as("alice"), "c", file("g"), rows);
  }));
  auto grant = [&](const call_ctx& who, std::optional<object_ref> on, std::string to, uint8_t r) {
    return fx.run([&](auto& rows) { return fx.state->grant(who, on, to, r, rows); });
  };
  auto revoke = [&](const call_ctx& who, std::optional<object_ref> on, std::string from,
                    uint8_t r) {
    return fx.run([&](auto& rows) { return fx.state->revoke(who, on, from, r, rows); });
  };

  REQUIRE(grant(fx.as("alice"), file("f"), "user:bob", right_read));
  CHECK(visible_files(fx, fx.as("bob")) == std::vector<std::string>{"f"});
  // Read is not write.
  auto write = fx.run([&](auto& rows) {
    return fx.state->modify_attrs(fx.as("bob"), file("f"), {{"secret", "", "5"}}, rows);
  });
  REQUIRE_FALSE(write.has_value());
  CHECK(write.err().code == errc::forbidden);
  // Only the owner (or an admin) grants.
  auto regrant = grant(fx.as("bob"), file("f"), "user:carol", right_read);
  REQUIRE_FALSE(regrant.has_value());
  CHECK(regrant.err().code == errc::forbidden);

  // A grant on the collection reaches the file inside it.
  REQUIRE(grant(fx.as("alice"), coll("c"), "group:astro", right_read | right_write));
  call_ctx carol{principal{"carol", {"astro"}, false}, fx.now_us};
  CHECK(visible_files(fx, carol) == std::vector<std::string>{"g"});
  CHECK(fx.run([&](auto& rows) {
    return fx.state->modify_attrs(carol, file("g"), {{"secret", "", "3"}}, rows);
  }));
  REQUIRE(revoke(fx.as("alice"), coll("c"), "group:astro", right_write));
  CHECK(visible_files(fx, carol) == std::vector<std::string>{"g"});
  REQUIRE(revoke(fx.as("alice"), coll("c"), "group:astro", right_read));
  CHECK(visible_files(fx, carol).empty());

  // The service: only admins grant there, and it covers every object.
  auto not_admin = grant(fx.as("alice"), std::nullopt, "anyone", right_read);
  REQUIRE_FALSE(not_admin.has_value());
  CHECK(not_admin.err().code == errc::forbidden);
  REQUIRE(grant(fx.as("root", true), std::nullopt, "anyone", right_read));
  CHECK(visible_files(fx, fx.as("dave")).size() == 2);
  REQUIRE(revoke(fx.as("root", true), std::nullopt, "anyone", rights_all));
  CHECK(visible_files(fx, fx.as("dave")).empty());
  auto nothing = revoke(fx.as("alice"), file("f"), "user:nobody", right_read);
  REQUIRE_FALSE(nothing.has_value());
  CHECK(nothing.err().code == errc::not_found);
  auto bad = grant(fx.as("alice"), file("f"), "bob", right_read);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.err().code == errc::invalid_argument);
  auto acl = fx.state->acl(fx.as("alice"), file("f"));
  REQUIRE(acl.has_value());
  REQUIRE(acl->size() == 1);
  CHECK((*acl)[0].principal == "user:bob");
  CHECK((*acl)[0].rights == "read");
}

TEST_CASE("a taken name is refused alike whether or not the caller may read its object") {
  // Logical names are unique catalog-wide (they are the LRC's LFNs), so create must refuse a
  // taken one; what it must not do is answer differently for an object the caller cannot read.
  test::mcs_db fx;
  for (const char* name : {"hidden", "shared"})
    REQUIRE(fx.run([&](auto& rows) {
      return fx.state->create(fx.as("alice"), file(name), {{"secret", "int", "1"}}, rows);
    }));
  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->grant(fx.as("alice"), file("shared"), "user:bob", right_read, rows);
  }));
  auto attempt = [&](const char* name) {
    return fx.run([&](auto& rows) { return fx.state->create(fx.as("bob"), file(name), {}, rows); });
  };
  auto unreadable = attempt("hidden");
  auto readable = attempt("shared");
  REQUIRE_FALSE(unreadable.has_value());
  REQUIRE_FALSE(readable.has_value());
  CHECK(unreadable.err().code == errc::already_exists);
  CHECK(readable.err().code == errc::already_exists);
  auto m = readable.err().message;
  m.replace(m.find("shared"), 6, "hidden");
  CHECK(unreadable.err().message == m);
  CHECK(unreadable.err().message.find("alice") == std::string::npos);  // never whose it is
}

TEST_CASE("a readable file inside an unreadable collection does not name it") {
  test::mcs_db fx;
  REQUIRE(fx.run(
      [&](auto& rows) { return fx.state->create(fx.as("alice"), coll("private-box"), {}, rows); }));
  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->create(fx.as("alice"), file("f"), {{"secret", "int", "1"}}, rows);
  }));
  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->add_to_collection(fx.as("alice"), "private-box", file("f"), rows);
  }));
  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->grant(fx.as("alice"), file("f"), "user:bob", right_read, rows);
  }));
  auto container_seen_by = [&](const call_ctx& who) -> std::optional<std::string> {
    auto attrs = fx.state->list_attrs(who, file("f"));
    REQUIRE(attrs.has_value());
    for (const auto& a : *attrs)
      if (a.name == "container") return a.value;
    return std::nullopt;
  };
  auto found_by_container = [&](const call_ctx& who, const char* op, const char* value) {
    auto r = fx.state->query(who, {kind::file, {{"container", op, value, "", ""}}, 0, 10, false});
    REQUIRE(r.has_value());
    return r->items.size();
  };
  CHECK(container_seen_by(fx.as("alice")) == "private-box");
  CHECK(found_by_container(fx.as("alice"), "=", "private-box") == 1);
  // Bob reads the file, its secret included, but learns nothing of the collection.
  CHECK(visible_files(fx, fx.as("bob")) == std::vector<std::string>{"f"});
  CHECK_FALSE(container_seen_by(fx.as("bob")).has_value());
  CHECK(found_by_container(fx.as("bob"), "=", "private-box") == 0);
  CHECK(found_by_container(fx.as("bob"), "like", "priv%") == 0);
  CHECK(found_by_container(fx.as("bob"), "like", "%") == 0);
  // Once he may read the collection, he sees where the file is.
  REQUIRE(fx.run([&](auto& rows) {
    return fx.state->grant(fx.as("alice"), coll("private-box"), "user:bob", right_read, rows);
  }));
  CHECK(container_seen_by(fx.as("bob")) == "private-box");
  CHECK(found_by_container(fx.as("bob"), "=", "private-box") == 1);
}
