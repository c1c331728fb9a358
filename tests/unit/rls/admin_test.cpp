// rls-admin's pieces without CAF: clearing the catalog a bounded step at a time (both indexes
// emptied, the removals logged for RLIs), and RLI targets added at run time (validation, and
// the stored list read back as written; a corrupt row is refused).
#include <doctest/doctest.h>

#include "actors/rls/target_admin.hpp"
#include "storage/table.hpp"
#include "tests/unit/rls/lrc_fixture.hpp"

namespace {

using namespace librarian;
using namespace librarian::rls;
using namespace librarian::rls::test;

node_config config_with_peer() {
  node_config cfg;
  cfg.name = "a";
  cfg.source = "a.json";
  cfg.peers.push_back({});
  cfg.peers.back().name = "b";
  return cfg;
}

}  // namespace

TEST_CASE("clear removes every mapping in bounded steps, logging each LFN's removal") {
  lrc_db t;
  auto lrc = loaded_state(*t.db);
  storage::batch rows;
  std::vector<mapping> items;
  for (int i = 0; i < 25; ++i)
    items.push_back({"lfn" + std::to_string(i), "pfn" + std::to_string(i)});
  items.push_back({"lfn0", "pfn-second"});
  REQUIRE(lrc.bulk_create({items.begin(), items.end() - 1}, rows).has_value());
  REQUIRE(lrc.add("lfn0", "pfn-second", rows).has_value());
  t.commit(lrc, rows);
  const uint64_t seq_before = lrc.last_seq();

  CHECK_FALSE(lrc.clear_some(0, rows).has_value());  // BADARG: a step removes at least one
  size_t removed = 0;
  int steps = 0;
  for (bool more = true; more; ++steps) {
    REQUIRE(steps < 10);
    auto step = lrc.clear_some(10, rows);
    REQUIRE(step.has_value());
    removed += step->removed;
    more = step->more;
    t.commit(lrc, rows);
  }
  CHECK(removed == 26);
  CHECK(steps == 3);
  CHECK(lrc.lfn_count() == 0);
  CHECK(lrc.mapping_count() == 0);
  CHECK(read_index(*t.db, lrc_mappings_table).empty());
  CHECK(read_index(*t.db, lrc_pfn_index_table).empty());
  auto changes = lrc.changes_since(seq_before, 1000);
  REQUIRE(changes.has_value());
  CHECK(changes->items.size() == 26);
  size_t lfns_removed = 0;
  for (const auto& c : changes->items) lfns_removed += c.lfn_changed ? 1 : 0;
  CHECK(lfns_removed == 25);
  // An empty catalog clears in one step that removes nothing.
  auto step = lrc.clear_some(10, rows);
  REQUIRE(step.has_value());
  CHECK(step->removed == 0);
  CHECK_FALSE(step->more);
}

TEST_CASE("a run-time RLI target is validated against the node's peers, modes and patterns") {
  auto cfg = config_with_peer();
  auto ok = make_admin_target(cfg, "b", "immediate", 1000, {"lfn://x/*"});
  REQUIRE(ok.has_value());
  CHECK(ok->mode == rli_update_mode::immediate);
  CHECK(ok->full_interval_ms == 10000);
  CHECK(ok->patterns == std::vector<std::string>{"lfn://x/*"});
  struct bad_case {
    std::string name, mode;
    int64_t interval_ms;
    std::vector<std::string> patterns;
    const char* needle;
  };
  for (const auto& c : std::vector<bad_case>{{"", "list", 1000, {}, "empty"},
                                             {"c", "list", 1000, {}, "peers"},
                                             {"a", "list", 1000, {}, "rli"},  // no RLI here
                                             {"b", "fast", 1000, {}, "mode"},
                                             {"b", "list", 99, {}, "interval_ms"},
                                             {"b", "bloom", 1000, {"bad\\"}, "pattern"}}) {
    auto made = make_admin_target(cfg, c.name, c.mode, c.interval_ms, c.patterns);
    REQUIRE_FALSE(made.has_value());
    CHECK(made.err().code == errc::invalid_argument);
    CHECK_MESSAGE(made.err().message.find(c.needle) != std::string::npos, made.err().message);
  }
  cfg.rls.rli = true;
  CHECK(make_admin_target(cfg, "a", "list", 1000, {}).has_value());
}

TEST_CASE("run-time targets are stored and read back; a corrupt row is refused") {
  lrc_db t;
  auto none = load_admin_targets(*t.db);
  REQUIRE(none.has_value());
  CHECK(none->empty());
  auto cfg = config_with_peer();
  auto b = make_admin_target(cfg, "b", "bloom", 5000, {"x*", "y?"});
  REQUIRE(b.has_value());
  storage::batch rows;
  write_admin_targets(*t.db, {*b}, rows);
  REQUIRE(t.db->write(rows, storage::durability::sync).has_value());
  t.open();  // survives a reopen
  auto back = load_admin_targets(*t.db);
  REQUIRE(back.has_value());
  REQUIRE(back->size() == 1);
  CHECK(back->front().name == "b");
  CHECK(back->front().mode == rli_update_mode::bloom);
  CHECK(back->front().interval_ms == 5000);
  CHECK(back->front().patterns == std::vector<std::string>{"x*", "y?"});

  storage::batch corrupt;
  corrupt.put(t.db->get_table(lrc_meta_table), "admin_targets", std::string("\x01\x02", 2));
  REQUIRE(t.db->write(corrupt, storage::durability::sync).has_value());
  CHECK_FALSE(load_admin_targets(*t.db).has_value());
}
