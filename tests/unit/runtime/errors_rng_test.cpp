// The closed error list and the seeded random source.
#include <doctest/doctest.h>

#include <set>

#include "runtime/error.hpp"
#include "runtime/random.hpp"

using namespace librarian;

TEST_CASE("every error code has a unique name, an HTTP status, an exit code and a hint") {
  std::set<std::string_view> names;
  std::set<int> exits;
  for (uint8_t i = 0; i <= errc_max; ++i) {
    auto code = static_cast<errc>(i);
    CHECK(names.insert(name(code)).second);
    CHECK(exits.insert(exit_code(code)).second);
    CHECK(errc_from_name(name(code)) == code);
    CHECK(!hint(code).empty());
    CHECK(http_status(code) >= 200);
    CHECK(http_status(code) < 600);
  }
  CHECK(http_status(errc::not_found) == 404);
  CHECK(http_status(errc::unauthenticated) == 401);
  CHECK(http_status(errc::forbidden) == 403);
  CHECK(exit_code(errc::ok) == 0);
  CHECK_FALSE(errc_from_name("nonsense").has_value());
  CHECK(fail(errc::conflict, "x moved").describe() == "conflict: x moved");
}

TEST_CASE("the same seed draws the same sequence, and forks are independent of use") {
  rng a{42}, b{42}, c{43};
  for (int i = 0; i < 100; ++i) CHECK(a.next() == b.next());
  CHECK(rng{42}.next() != c.next());
  rng used{7};
  auto before = used.fork("transport").next();
  for (int i = 0; i < 10; ++i) static_cast<void>(used.next());
  CHECK(used.fork("transport").next() == before);
  CHECK(rng{7}.fork("x").next() != rng{7}.fork("y").next());
}

TEST_CASE("uniform draws stay in bounds and cover them") {
  rng r{1};
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    auto v = r.uniform(3, 7);
    CHECK(v >= 3);
    CHECK(v <= 7);
    seen.insert(v);
  }
  CHECK(seen.size() == 5);
  CHECK(r.uniform(9, 9) == 9);
  for (int i = 0; i < 1000; ++i) {
    auto u = r.unit();
    CHECK(u >= 0.0);
    CHECK(u < 1.0);
  }
}
