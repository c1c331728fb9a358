// The LRC state machine driven directly against a real RocksDB: every operation, its errors,
// persistence, pending writes, paging, wildcards, bulk requests and the change log.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include <rocksdb/db.h>

#include "runtime/fork_join.hpp"
#include "tests/unit/rls/lrc_fixture.hpp"

namespace {

using namespace librarian;
using namespace librarian::rls;
using namespace librarian::rls::test;

bool has(const std::string& text, const char* part) {
  return text.find(part) != std::string::npos;
}

std::vector<std::string> pfns_of(const lrc_state& lrc, const std::string& lfn) {
  auto page = lrc.query_lfn(lfn, 0, 0);
  REQUIRE(page.has_value());
  return page->items;
}

}  // namespace

TEST_CASE("create, add, remove and renames keep both directions answerable") {
  lrc_db t;
  auto lrc = loaded_state(*t.db);
  storage::batch rows;
  REQUIRE(lrc.create("lfn1", "gsiftp://a/1", rows).has_value());
  REQUIRE(lrc.add("lfn1", "gsiftp://b/1", rows).has_value());
  REQUIRE(lrc.create("lfn2", "gsiftp://a/1", rows).has_value());
  t.commit(lrc, rows);
  CHECK(pfns_of(lrc, "lfn1") == std::vector<std::string>{"gsiftp://a/1", "gsiftp://b/1"});
  CHECK(lrc.query_pfn("gsiftp://a/1", 0, 0)->items == std::vector<std::string>{"lfn1", "lfn2"});
  CHECK(*lrc.exists_lfn("lfn1"));
  CHECK(*lrc.exists_pfn("gsiftp://b/1"));
  CHECK(*lrc.exists_mapping("lfn1", "gsiftp://b/1"));
  CHECK_FALSE(*lrc.exists_mapping("lfn2", "gsiftp://b/1"));
  CHECK(lrc.lfn_count() == 2);
  CHECK(lrc.mapping_count() == 3);

  REQUIRE(lrc.rename_lfn("lfn1", "lfn3", rows).has_value());
  REQUIRE(lrc.rename_pfn("lfn2", "gsiftp://a/1", "gsiftp://c/2", rows).has_value());
  t.commit(lrc, rows);
  CHECK_FALSE(*lrc.exists_lfn("lfn1"));
  CHECK(pfns_of(lrc, "lfn3") == std::vector<std::string>{"gsiftp://a/1", "gsiftp://b/1"});
  CHECK(pfns_of(lrc, "lfn2") == std::vector<std::string>{"gsiftp://c/2"});
  CHECK(lrc.query_pfn("gsiftp://a/1", 0, 0)->items == std::vector<std::string>{"lfn3"});

  REQUIRE(lrc.remove("lfn3", "gsiftp://a/1", rows).has_value());
  CHECK(lrc.lfn_count() == 2);
  REQUIRE(lrc.remove("lfn3", "gsiftp://b/1", rows).has_value());
  CHECK(lrc.lfn_count() == 1);  // the LFN went with its last PFN
  t.commit(lrc, rows);
  CHECK_FALSE(*lrc.exists_lfn("lfn3"));
  CHECK_FALSE(*lrc.exists_pfn("gsiftp://a/1"));
  CHECK(lrc.mapping_count() == 1);
  CHECK(consistent_mappings(*t.db).size() == 1);
}

TEST_CASE("mutation errors carry RLS status names and write nothing") {
  lrc_db t;
  auto lrc = loaded_state(*t.db);
  storage::batch setup;
  REQUIRE(lrc.create("x", "p1", setup).has_value());
  REQUIRE(lrc.create("y", "p1", setup).has_value());
  t.commit(lrc, setup);

  storage::batch rows;
  auto st = lrc.create("x", "p2", rows);
  CHECK(st.err().code == errc::already_exists);
  CHECK(has(st.err().message, "LFN_EXIST"));
  st = lrc.add("ghost", "p1", rows);
  CHECK(st.err().code == errc::not_found);
  CHECK(has(st.err().message, "LFN_NEXIST"));
  CHECK(has(lrc.add("x", "p1", rows).err().message, "MAPPING_EXIST"));
  CHECK(has(lrc.remove("x", "p9", rows).err().message, "MAPPING_NEXIST"));
  CHECK(has(lrc.remove("ghost", "p1", rows).err().message, "LFN_NEXIST"));
  CHECK(lrc.rename_lfn("ghost", "z", rows).err().code == errc::not_found);
  CHECK(lrc.rename_lfn("x", "y", rows).err().code == errc::already_exists);
  CHECK(lrc.rename_lfn("x", "x", rows).err().code == errc::invalid_argument);
  CHECK(lrc.rename_pfn("x", "p9", "p2", rows).err().code == errc::not_found);
  CHECK(lrc.rename_pfn("x", "p1", "p1", rows).err().code == errc::invalid_argument);
  REQUIRE(lrc.add("x", "p2", setup).has_value());
  CHECK(lrc.rename_pfn("x", "p1", "p2", rows).err().code == errc::already_exists);
  CHECK(lrc.query_lfn("ghost", 0, 0).err().code == errc::not_found);
  CHECK(has(lrc.query_pfn("nowhere", 0, 0).err().message, "PFN_NEXIST"));
  CHECK(rows.empty());
}

TEST_CASE("names are validated: empty, over 4096 bytes or holding NUL are refused") {
  lrc_db t;
  auto lrc = loaded_state(*t.db);
  storage::batch rows;
  std::string longest(4096, 'n');
  std::string too_long(4097, 'n');
  std::string with_nul{"a\0b", 3};
  for (const auto& bad : {std::string{}, too_long, with_nul}) {
    CHECK(lrc.create(bad, "p", rows).err().code == errc::invalid_argument);
    CHECK(lrc.create("l", bad, rows).err().code == errc::invalid_argument);
    CHECK(lrc.query_lfn(bad, 0, 0).err().code == errc::invalid_argument);
    CHECK(lrc.exists_pfn(bad).err().code == errc::invalid_argument);
  }
  CHECK(has(lrc.create(too_long, "p", rows).err().message, "4096"));
  CHECK(rows.empty());
  REQUIRE(lrc.create(longest, longest, rows).has_value());
  t.commit(lrc, rows);
  CHECK(pfns_of(lrc, longest) == std::vector<std::string>{longest});
}

TEST_CASE("the catalog, its counts and its change log survive a reopen") {
  lrc_db t;
  {
    auto lrc = loaded_state(*t.db);
    storage::batch rows;
    REQUIRE(lrc.create("a", "pa", rows).has_value());
    REQUIRE(lrc.add("a", "pb", rows).has_value());
    REQUIRE(lrc.create("b", "pa", rows).has_value());
    t.commit(lrc, rows);
  }
  t.open();
  auto lrc = loaded_state(*t.db);
  CHECK(lrc.lfn_count() == 2);
  CHECK(lrc.mapping_count() == 3);
  CHECK(lrc.last_seq() == 3);
  CHECK(pfns_of(lrc, "a") == std::vector<std::string>{"pa", "pb"});
  CHECK(lrc.query_pfn("pa", 0, 0)->items == std::vector<std::string>{"a", "b"});
  storage::batch rows;
  REQUIRE(lrc.remove("b", "pa", rows).has_value());
  t.commit(lrc, rows);
  CHECK(lrc.changes_since(0, 100)->items.back().seq == 4);
}

TEST_CASE("requests see writes still waiting for their commit, until the shell abandons them") {
  lrc_db t;
  auto lrc = loaded_state(*t.db);
  storage::batch first;
  REQUIRE(lrc.create("x", "p1", first).has_value());
  storage::batch second;  // built while the first batch is still being committed
  CHECK(lrc.create("x", "p2", second).err().code == errc::already_exists);
  REQUIRE(lrc.add("x", "p2", second).has_value());
  REQUIRE(lrc.remove("x", "p1", second).has_value());
  CHECK(lrc.remove("x", "p1", second).err().code == errc::not_found);
  CHECK(lrc.lfn_count() == 1);
  CHECK_FALSE(*lrc.exists_lfn("x"));  // queries answer only what is durable
  CHECK(lrc.pending_writes_count() == 2);
  t.commit(lrc, first);
  t.commit(lrc, second);
  CHECK(lrc.pending_writes_count() == 0);
  CHECK(pfns_of(lrc, "x") == std::vector<std::string>{"p2"});

  storage::batch lost;
  REQUIRE(lrc.create("y", "p", lost).has_value());
  REQUIRE(lrc.reload().has_value());  // the commit failed: forget it
  CHECK(lrc.lfn_count() == 1);
  storage::batch retry;
  REQUIRE(lrc.create("y", "p", retry).has_value());
  t.commit(lrc, retry);
  CHECK(consistent_mappings(*t.db).size() == 2);
}

TEST_CASE("too many pending writes or a too large rename are refused cleanly") {
  lrc_db t;
  lrc_limits limits;
  limits.pending_entries_max = 4;
  limits.rename_mappings_max = 2;
  auto lrc = loaded_state(*t.db, limits);
  storage::batch rows;
  REQUIRE(lrc.create("a", "1", rows).has_value());
  REQUIRE(lrc.add("a", "2", rows).has_value());
  REQUIRE(lrc.add("a", "3", rows).has_value());
  REQUIRE(lrc.create("b", "1", rows).has_value());
  CHECK(lrc.create("c", "1", rows).err().code == errc::unavailable);
  t.commit(lrc, rows);
  CHECK(lrc.rename_lfn("a", "z", rows).err().code == errc::invalid_argument);
  REQUIRE(lrc.rename_lfn("b", "z", rows).has_value());
  t.commit(lrc, rows);
  CHECK(pfns_of(lrc, "z") == std::vector<std::string>{"1"});
}

TEST_CASE("queries page with offset and reslimit and say when there is more") {
  lrc_db t;
  lrc_limits limits;
  limits.reslimit_max = 50;
  limits.reslimit_default = 30;
  limits.scan_page_rows = 7;  // pages of the scan and of the result do not line up
  auto lrc = loaded_state(*t.db, limits);
  storage::batch rows;
  REQUIRE(lrc.create("f", "p00", rows).has_value());
  for (int i = 1; i < 25; ++i)
    REQUIRE(
        lrc.add("f", "p" + std::string(i < 10 ? "0" : "") + std::to_string(i), rows).has_value());
  t.commit(lrc, rows);
  auto first = lrc.query_lfn("f", 0, 10);
  REQUIRE(first.has_value());
  CHECK(first->items.size() == 10);
  CHECK(first->items.front() == "p00");
  CHECK(first->more);
  auto last = lrc.query_lfn("f", 20, 10);
  CHECK(last->items == std::vector<std::string>{"p20", "p21", "p22", "p23", "p24"});
  CHECK_FALSE(last->more);
  auto exact = lrc.query_lfn("f", 15, 10);
  CHECK(exact->items.size() == 10);
  CHECK_FALSE(exact->more);
  auto beyond = lrc.query_lfn("f", 40, 10);
  REQUIRE(beyond.has_value());  // the LFN exists; the page is just empty
  CHECK(beyond->items.empty());
  CHECK(lrc.query_lfn("f", 0, 0)->items.size() == 25);  // 0 = the default reslimit
  CHECK(lrc.query_lfn("f", 0, 51).err().code == errc::invalid_argument);
  CHECK(lrc.query_lfn("f", 2000000, 1).err().code == errc::invalid_argument);
}

TEST_CASE("wildcard queries: star, question mark, escapes, high bytes and long names") {
  lrc_db t;
  auto lrc = loaded_state(*t.db);
  std::string long_a = std::string(4095, 'L') + "a";
  std::string long_b = std::string(4095, 'L') + "b";
  std::vector<mapping> all = {
      {"a*b", "s1"},  {"a?b", "s1"},      {"axb", "s2"},  {"ab", "s2"},   {"b", "gsiftp://h/b"},
      {"\xff", "s3"}, {"\xff\xfe", "s3"}, {long_a, "s4"}, {long_b, "s4"}, {"a\\b", "s5"}};
  storage::batch rows;
  auto created = lrc.bulk_create(all, rows);
  REQUIRE(created.has_value());
  for (const auto& st : *created) CHECK(st.has_value());
  t.commit(lrc, rows);
  auto lfns = [&](const std::string& pattern) {
    auto page = lrc.query_lfn_wildcard(pattern, 0, 0);
    REQUIRE(page.has_value());
    std::set<std::string> out;
    for (const auto& m : page->items) out.insert(m.lfn);
    return out;
  };
  CHECK(lfns("*").size() == all.size());
  CHECK(lfns("a?b") == std::set<std::string>{"a*b", "a?b", "axb", "a\\b"});
  CHECK(lfns("a\\*b") == std::set<std::string>{"a*b"});
  CHECK(lfns("a\\?b") == std::set<std::string>{"a?b"});
  CHECK(lfns("a\\\\b") == std::set<std::string>{"a\\b"});
  CHECK(lfns("a*") == std::set<std::string>{"a*b", "a?b", "axb", "ab", "a\\b"});
  CHECK(lfns("\xff*") == std::set<std::string>{"\xff", "\xff\xfe"});
  CHECK(lfns("\xff?") == std::set<std::string>{"\xff\xfe"});
  CHECK(lfns(std::string(4095, 'L') + "?") == std::set<std::string>{long_a, long_b});
  CHECK(lfns(long_a) == std::set<std::string>{long_a});
  CHECK(lfns("nothing*").empty());
  auto by_pfn = lrc.query_pfn_wildcard("gsiftp://*", 0, 0);
  REQUIRE(by_pfn.has_value());
  CHECK(by_pfn->items == std::vector<mapping>{{"b", "gsiftp://h/b"}});
  CHECK(lrc.query_pfn_wildcard("s?", 0, 0)->items.size() == 10 - 1);
  CHECK(lrc.query_lfn_wildcard(std::string{"a\0*", 3}, 0, 0).err().code == errc::invalid_argument);
  CHECK(lrc.query_lfn_wildcard("a\\", 0, 0).err().code == errc::invalid_argument);
  CHECK(lrc.query_lfn_wildcard("", 0, 0).err().code == errc::invalid_argument);
  CHECK(lrc.query_lfn_wildcard(std::string(8193, '*'), 0, 0).err().code == errc::invalid_argument);
}

TEST_CASE("wildcard results page, and a scan that hits its row budget says so") {
  lrc_db t;
  lrc_limits limits;
  limits.wildcard_rows_scanned_max = 30;
  limits.scan_page_rows = 4;
  auto lrc = loaded_state(*t.db, limits);
  storage::batch rows;
  for (int i = 0; i < 40; ++i) {
    std::string lfn = "f" + std::to_string(100 + i);
    REQUIRE(lrc.create(lfn, "p", rows).has_value());
  }
  t.commit(lrc, rows);
  auto first = lrc.query_lfn_wildcard("f1?5", 0, 2);  // f105 f115 f125 f135
  REQUIRE(first.has_value());
  CHECK(first->items == std::vector<mapping>{{"f105", "p"}, {"f115", "p"}});
  CHECK(first->more);
  CHECK_FALSE(first->truncated);
  auto second = lrc.query_lfn_wildcard("f1?5", 2, 2);
  CHECK(second->items == std::vector<mapping>{{"f125", "p"}});  // f135 lies past row 30
  CHECK(second->truncated);
  CHECK(second->more);
  auto narrow = lrc.query_lfn_wildcard("f13?", 0, 100);
  CHECK(narrow->items.size() == 10);  // the literal prefix keeps the scan short
  CHECK_FALSE(narrow->truncated);
  CHECK_FALSE(narrow->more);
}

TEST_CASE("bulk requests: one bad item fails alone, items see each other, one batch") {
  lrc_db t;
  auto lrc = loaded_state(*t.db);
  storage::batch rows;
  auto created = lrc.bulk_create({{"a", "1"}, {"a", "2"}, {"", "1"}, {"b", "1"}}, rows);
  REQUIRE(created.has_value());
  REQUIRE(created->size() == 4);
  CHECK((*created)[0].has_value());
  CHECK((*created)[1].err().code == errc::already_exists);  // created by item 0
  CHECK((*created)[2].err().code == errc::invalid_argument);
  CHECK((*created)[3].has_value());
  auto added = lrc.bulk_add({{"a", "2"}, {"a", "2"}, {"zz", "1"}, {"b", "3"}}, rows);
  CHECK((*added)[0].has_value());
  CHECK((*added)[1].err().code == errc::already_exists);
  CHECK((*added)[2].err().code == errc::not_found);
  CHECK((*added)[3].has_value());
  t.commit(lrc, rows);
  CHECK(consistent_mappings(*t.db).size() == 4);

  auto queried = lrc.bulk_query_lfn({"a", "ghost", "", "b"}, 1);
  REQUIRE(queried.has_value());
  CHECK((*queried)[0].pfns == std::vector<std::string>{"1"});
  CHECK((*queried)[0].more);
  CHECK((*queried)[1].code == errc::not_found);
  CHECK((*queried)[2].code == errc::invalid_argument);
  CHECK((*queried)[3].pfns == std::vector<std::string>{"1"});

  auto removed = lrc.bulk_remove({{"a", "1"}, {"a", "1"}, {"a", "2"}, {"b", "9"}}, rows);
  CHECK((*removed)[0].has_value());
  CHECK((*removed)[1].err().code == errc::not_found);
  CHECK((*removed)[2].has_value());
  CHECK((*removed)[3].err().code == errc::not_found);
  t.commit(lrc, rows);
  CHECK_FALSE(*lrc.exists_lfn("a"));
  CHECK(lrc.lfn_count() == 1);
  std::vector<mapping> too_many(10001, mapping{"x", "y"});
  CHECK(lrc.bulk_create(too_many, rows).err().code == errc::invalid_argument);
  CHECK(rows.empty());
}

TEST_CASE("the change log numbers every mutation and marks LFN births and deaths") {
  lrc_db t;
  auto lrc = loaded_state(*t.db);
  storage::batch rows;
  REQUIRE(lrc.create("a", "1", rows).has_value());
  REQUIRE(lrc.add("a", "2", rows).has_value());
  REQUIRE(lrc.rename_pfn("a", "2", "3", rows).has_value());
  REQUIRE(lrc.rename_lfn("a", "b", rows).has_value());
  CHECK(lrc.changes_since(0, 100)->items.empty());  // nothing durable yet
  t.commit(lrc, rows);
  auto log = lrc.changes_since(0, 100);
  REQUIRE(log.has_value());
  using op = change_op;
  std::vector<change> expected{
      {1, op::mapping_added, "a", "1", true},    {2, op::mapping_added, "a", "2", false},
      {3, op::mapping_added, "a", "3", false},   {4, op::mapping_removed, "a", "2", false},
      {5, op::mapping_removed, "a", "1", false}, {6, op::mapping_added, "b", "1", true},
      {7, op::mapping_removed, "a", "3", true},  {8, op::mapping_added, "b", "3", false}};
  CHECK(log->items == expected);
  CHECK_FALSE(log->more);
  auto paged = lrc.changes_since(3, 2);
  CHECK(paged->items.front().seq == 4);
  CHECK(paged->items.size() == 2);
  CHECK(paged->more);
  CHECK(lrc.changes_since(0, 0).err().code == errc::invalid_argument);
  auto trimmed = lrc.trim_changes(5, 100, rows);
  CHECK(*trimmed == 5);
  t.commit(lrc, rows);
  CHECK(lrc.changes_since(0, 100)->items.front().seq == 6);
}

TEST_CASE("with the change log off, mutations write no change rows but still take seqs") {
  lrc_db t;
  auto lrc = loaded_state(*t.db);
  storage::batch rows;
  lrc.set_change_log(false);
  REQUIRE(lrc.create("a", "1", rows).has_value());
  REQUIRE(lrc.add("a", "2", rows).has_value());
  t.commit(lrc, rows);
  CHECK(lrc.last_seq() == 2);
  CHECK(lrc.changes_since(0, 100)->items.empty());
  CHECK(read_index(*t.db, lrc_mappings_table).size() == 2);  // the mappings themselves are there
  lrc.set_change_log(true);
  REQUIRE(lrc.remove("a", "2", rows).has_value());
  t.commit(lrc, rows);
  auto log = lrc.changes_since(0, 100);
  REQUIRE(log.has_value());
  CHECK(log->items == std::vector<change>{{3, change_op::mapping_removed, "a", "2", false}});
}

TEST_CASE("list_lfns pages through distinct LFNs in order") {
  lrc_db f;
  auto lrc = loaded_state(*f.db);
  storage::batch rows;
  for (int i = 0; i < 25; ++i) {
    auto lfn = "lfn://x/" + std::string(i < 10 ? "0" : "") + std::to_string(i);
    REQUIRE(lrc.create(lfn, "pfn://a/" + std::to_string(i), rows).has_value());
    REQUIRE(lrc.add(lfn, "pfn://b/" + std::to_string(i), rows).has_value());
  }
  f.commit(lrc, rows);
  std::vector<std::string> all;
  std::string after;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = lrc.list_lfns(after, 7);
    REQUIRE(page.has_value());
    for (auto& lfn : page->items) all.push_back(lfn);
    if (!page->more) break;
    after = all.back();
  }
  REQUIRE(all.size() == 25);
  CHECK(std::is_sorted(all.begin(), all.end()));
  CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
  CHECK(all.front() == "lfn://x/00");
  CHECK(lrc.list_lfns("lfn://x/24", 7)->items.empty());
}

TEST_CASE("a bulk query split across a read pool answers as one read, from one snapshot") {
  lrc_db t;
  auto lrc = loaded_state(*t.db);
  storage::batch rows;
  // 1,500 LFNs with 1 to 3 PFNs each, in two commits (so the reads cross memtable and files).
  std::vector<std::string> known;
  for (int i = 0; i < 1500; ++i) {
    auto lfn = "lfn-" + std::to_string(i * 7919 % 100003);
    known.push_back(lfn);
    REQUIRE(lrc.create(lfn, "pfn-" + std::to_string(i), rows).has_value());
    for (int k = 1; k <= i % 3; ++k)
      REQUIRE(lrc.add(lfn, "pfn-" + std::to_string(i) + "-" + std::to_string(k), rows).has_value());
    if (i == 700) {
      t.commit(lrc, rows);
      REQUIRE(t.db->raw()->Flush({}).ok());
    }
  }
  t.commit(lrc, rows);

  fork_join_pool pool{3};
  auto parallel = loaded_state(*t.db);
  parallel.use_read_pool(&pool);
  std::mt19937_64 rng{42};
  for (int round = 0; round < 30; ++round) {
    std::vector<std::string> lfns;
    const size_t n = 1 + rng() % 1000;
    for (size_t j = 0; j < n; ++j) {
      switch (rng() % 6) {
        case 0:
          lfns.push_back("ghost-" + std::to_string(rng() % 5000));
          break;
        case 1:
          lfns.push_back(j % 50 == 0 ? "" : known[rng() % known.size()]);
          break;
        default:
          lfns.push_back(known[rng() % known.size()]);
          break;
      }
    }
    const size_t reslimit = rng() % 4;  // 0: no limit
    auto one = lrc.bulk_query_lfn(lfns, reslimit);
    auto split = parallel.bulk_query_lfn(lfns, reslimit);
    REQUIRE(one.has_value());
    REQUIRE(split.has_value());
    REQUIRE(one->size() == split->size());
    for (size_t j = 0; j < one->size(); ++j) {
      const auto& a = (*one)[j];
      const auto& b = (*split)[j];
      CHECK(a.lfn == lfns[j]);
      CHECK(b.lfn == a.lfn);
      CHECK(b.code == a.code);
      CHECK(b.message == a.message);
      CHECK(b.pfns == a.pfns);
      CHECK(b.more == a.more);
    }
  }

  // Commits that add a PFN to every queried LFN at once, while split reads run: each read must
  // see all of a commit or none of it (every item the same PFN count).
  std::vector<std::string> queried(known.begin(), known.begin() + 1000);
  std::atomic<bool> writing{true};
  std::atomic<int> commits{0};
  std::atomic<bool> write_failed{false};
  auto writer = std::thread([&] {
    // No REQUIRE off the test's thread: a failure is recorded and checked after the join.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (int gen = 0; gen < 40 && std::chrono::steady_clock::now() < deadline; ++gen) {
      storage::batch more;
      const uint64_t seq = lrc.last_seq();
      for (const auto& lfn : queried)
        write_failed = write_failed || !lrc.add(lfn, "gen-" + std::to_string(gen), more);
      write_failed = write_failed || !t.db->write(more, storage::durability::buffered);
      lrc.committed(seq);
      commits.fetch_add(1);
    }
    writing = false;
  });
  int reads = 0;
  int torn = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((writing.load() || reads == 0) && reads < 5000 &&
         std::chrono::steady_clock::now() < deadline) {
    auto answer = parallel.bulk_query_lfn(queried, 0);
    REQUIRE(answer.has_value());
    ++reads;
    std::set<size_t> gens_seen;
    for (const auto& item : *answer) {
      REQUIRE(item.code == errc::ok);
      size_t gens = 0;
      for (const auto& pfn : item.pfns) gens += pfn.starts_with("gen-") ? 1 : 0;
      gens_seen.insert(gens);
    }
    torn += gens_seen.size() > 1 ? 1 : 0;
  }
  writer.join();
  CHECK_FALSE(write_failed.load());
  CHECK(commits.load() > 0);
  CHECK(reads > 0);
  CHECK(torn == 0);
}
