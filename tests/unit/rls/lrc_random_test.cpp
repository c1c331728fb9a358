// A seeded random sequence of LRC mutations checked against a std::map model after every commit:
// outcomes, both indexes, counts, and a replay of the change log.
#include <doctest/doctest.h>

#include <map>
#include <random>

#include "tests/unit/rls/lrc_fixture.hpp"

namespace {

using namespace librarian;
using namespace librarian::rls;
using namespace librarian::rls::test;
using model = std::map<std::string, std::set<std::string>>;

errc expected_code(const model& m, int op, const std::string& l, const std::string& a,
                   const std::string& b) {
  auto it = m.find(l);
  bool lfn = it != m.end();
  switch (op) {
    case 0:
      return lfn ? errc::already_exists : errc::ok;  // create(l, a)
    case 1:                                          // add(l, a)
      return !lfn ? errc::not_found : it->second.count(a) ? errc::already_exists : errc::ok;
    case 2:
      return lfn && it->second.count(a) ? errc::ok : errc::not_found;  // remove(l, a)
    case 3:                                                            // rename_lfn(l, a)
      if (l == a) return errc::invalid_argument;
      return !lfn ? errc::not_found : m.count(a) ? errc::already_exists : errc::ok;
    default:  // rename_pfn(l, a, b)
      if (a == b) return errc::invalid_argument;
      if (!lfn || !it->second.count(a)) return errc::not_found;
      return it->second.count(b) ? errc::already_exists : errc::ok;
  }
}

void apply(model& m, int op, const std::string& l, const std::string& a, const std::string& b) {
  switch (op) {
    case 0:
    case 1:
      m[l].insert(a);
      break;
    case 2:
      m[l].erase(a);
      if (m[l].empty()) m.erase(l);
      break;
    case 3:
      m[a] = m[l], m.erase(l);
      break;
    default:
      m[l].erase(a), m[l].insert(b);
  }
}

status run(lrc_state& lrc, int op, const std::string& l, const std::string& a, const std::string& b,
           storage::batch& rows) {
  switch (op) {
    case 0:
      return lrc.create(l, a, rows);
    case 1:
      return lrc.add(l, a, rows);
    case 2:
      return lrc.remove(l, a, rows);
    case 3:
      return lrc.rename_lfn(l, a, rows);
    default:
      return lrc.rename_pfn(l, a, b, rows);
  }
}

void check_against(const storage::db& db, const lrc_state& lrc, const model& m) {
  std::set<std::pair<std::string, std::string>> want;
  size_t mappings = 0;
  for (const auto& [lfn, pfns] : m)
    for (const auto& pfn : pfns) want.emplace(lfn, pfn), ++mappings;
  CHECK(consistent_mappings(db) == want);
  CHECK(lrc.lfn_count() == m.size());
  CHECK(lrc.mapping_count() == mappings);
}

// The change log, replayed from the start, rebuilds the catalog and its LFN births and deaths.
void check_replay(const lrc_state& lrc, const model& m) {
  model replayed;
  uint64_t after = 0;
  for (int pages = 0; pages < 1000; ++pages) {
    auto page = lrc.changes_since(after, 1000);
    REQUIRE(page.has_value());
    for (const auto& c : page->items) {
      CHECK(c.seq == after + 1);
      after = c.seq;
      bool existed = replayed.count(c.lfn) > 0;
      apply(replayed, c.op == change_op::mapping_added ? 1 : 2, c.lfn, c.pfn, "");
      CHECK(c.lfn_changed == (existed != (replayed.count(c.lfn) > 0)));
    }
    if (!page->more) break;
  }
  CHECK(after == lrc.last_seq());
  CHECK(replayed == m);
}

}  // namespace

TEST_CASE("2000 random mutations keep both indexes, the counts and the log equal to a model") {
  lrc_db t;
  auto lrc = loaded_state(*t.db);
  std::mt19937_64 rng{20240521};
  auto pick = [&](const char* prefix, int n) {
    return prefix + std::to_string(std::uniform_int_distribution<int>(0, n - 1)(rng));
  };
  model m;
  storage::batch rows;
  size_t in_batch = 0;
  for (int step = 0; step < 2000; ++step) {
    int op = std::uniform_int_distribution<int>(0, 9)(rng);
    op = op < 3 ? 0 : op < 6 ? 1 : op < 8 ? 2 : op - 5;  // creates and adds dominate
    std::string l = pick("lfn", 40);
    std::string a = op == 3 ? pick("lfn", 40) : pick("pfn", 12);
    std::string b = pick("pfn", 12);
    errc want = expected_code(m, op, l, a, b);
    auto got = run(lrc, op, l, a, b, rows);
    CHECK_MESSAGE((got ? errc::ok : got.err().code) == want, "step ", step, " op ", op);
    if (want == errc::ok) apply(m, op, l, a, b);
    // Commit every few steps, so later requests are validated against pending writes.
    if (++in_batch >= std::uniform_int_distribution<size_t>(1, 6)(rng)) {
      t.commit(lrc, rows, storage::durability::buffered);
      in_batch = 0;
      check_against(*t.db, lrc, m);
    }
  }
  t.commit(lrc, rows, storage::durability::buffered);
  check_against(*t.db, lrc, m);
  check_replay(lrc, m);
  t.open();
  auto reopened = loaded_state(*t.db);
  check_against(*t.db, reopened, m);
}
