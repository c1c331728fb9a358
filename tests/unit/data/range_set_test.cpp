#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "net/data/range_set.hpp"

using namespace librarian::data;

TEST_CASE("ranges merge when they touch or overlap") {
  range_set s;
  s.add(0, 10);
  s.add(20, 30);
  CHECK(s.size() == 2);
  s.add(10, 20);
  CHECK(s.size() == 1);
  CHECK(s.to_string() == "0-30");
  s.add(5, 7);
  s.add(40, 40);
  CHECK(s.to_string() == "0-30");
  CHECK(s.contiguous_end(0) == 30);
  CHECK(s.contiguous_end(30) == 30);
}

TEST_CASE("range lists parse like GridFTP's REST and 111 markers, and refuse garbage") {
  auto s = range_set::parse("0-497811456,498073600-498335744,498597888-498860032");
  REQUIRE(s.has_value());
  CHECK(s->size() == 3);
  CHECK(s->missing(0, 498860032).size() == 2);
  CHECK(range_set::parse("").value().empty());
  CHECK_FALSE(range_set::parse("5-3").has_value());
  CHECK_FALSE(range_set::parse("a-b").has_value());
  CHECK_FALSE(range_set::parse("1-2,").has_value());
  CHECK_FALSE(range_set::parse("1-2,3-4,5-6", 2).has_value());
  CHECK_FALSE(range_set::parse("99999999999999999999-1").has_value());
}

TEST_CASE("range_set agrees with a bitmap on random operations") {
  std::mt19937 rng(11);
  for (int round = 0; round < 200; ++round) {
    constexpr uint64_t n = 300;
    std::vector<bool> bits(n, false);
    range_set s;
    for (int op = 0; op < 20; ++op) {
      uint64_t b = rng() % n, e = b + rng() % 40;
      e = std::min(e, n);
      s.add(b, e);
      for (uint64_t i = b; i < e; ++i) bits[i] = true;
    }
    uint64_t lo = rng() % n, hi = lo + rng() % (n - lo + 1);
    uint64_t covered = 0;
    bool all = true;
    for (uint64_t i = lo; i < hi; ++i) {
      covered += bits[i];
      all = all && bits[i];
    }
    CHECK(s.covered(lo, hi) == covered);
    CHECK(s.contains(lo, hi) == all);
    uint64_t missing = 0;
    for (auto [b, e] : s.missing(lo, hi)) {
      for (uint64_t i = b; i < e; ++i) CHECK_FALSE(bits[i]);
      missing += e - b;
    }
    CHECK(missing == (hi - lo) - covered);
    CHECK(range_set::parse(s.to_string()).value() == s);
  }
}
