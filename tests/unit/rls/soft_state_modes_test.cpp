// Soft-state modes end to end at the state-machine level: immediate-mode increments (netting,
// overlap, loss, reordering, replay over a streaming full list), Bloom filters (generations,
// malformed filters), the RLI's persisted lists (journal, RocksDB round trip, stale reload) and
// the LRC's per-target scheduling.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "actors/rls/lrc_state.hpp"
#include "actors/rls/rli_feed.hpp"
#include "actors/rls/rli_state.hpp"
#include "actors/rls/rli_store.hpp"
#include "lrc_fixture.hpp"
#include "storage/codec.hpp"
#include "storage/keys.hpp"

namespace {

using namespace librarian;
using namespace librarian::rls;

constexpr uint64_t interval_ms = 1'000;
using names = std::vector<std::string>;

names lrcs_for(const rli_state& rli, const std::string& lfn, uint64_t now_ms) {
  names out;
  auto hits = rli.query_lfn(lfn, now_ms);
  if (!hits) return out;
  for (const auto& hit : *hits) out.push_back(hit.maybe ? hit.lrc + " maybe" : hit.lrc);
  return out;
}

void send_list(rli_state& rli, const std::string& lrc, uint64_t generation, names lfns,
               uint64_t now_ms) {
  REQUIRE(rli.begin_full_update(lrc, generation, now_ms, interval_ms).has_value());
  REQUIRE(rli.add_chunk(lrc, generation, 0, std::move(lfns), now_ms).has_value());
  REQUIRE(*rli.end_full_update(lrc, generation, 1, now_ms) == update_outcome::applied);
}

std::string bloom_of(const names& lfns, uint32_t bits = 10, uint32_t hashes = 7) {
  auto filter = bloom_filter::sized_for(lfns.size(), bits, hashes);
  REQUIRE(filter.has_value());
  for (const auto& lfn : lfns) filter->insert(lfn);
  return filter->serialize();
}

// A test store: a real RocksDB with the RLI's tables.
struct rli_db {
  test::lrc_db base;
  rli_db() {
    base.db.reset();
    auto opened = storage::db::open({(base.dir / "db").string(), nullptr, rli_tables()});
    REQUIRE(opened.has_value());
    base.db = std::move(*opened);
  }
  void write(rli_state& rli) {
    storage::batch rows;
    persist_ops(*base.db, rli.take_persist_ops(), rows);
    persist_ops(*base.db, rli.take_refreshes(), rows);
    REQUIRE(base.db->write(rows, storage::durability::sync).has_value());
  }
  size_t list_rows() {
    auto page = base.db->scan_prefix(base.db->get_table(rli_lists_table), "", 100000);
    REQUIRE(page.has_value());
    return page->rows.size();
  }
};

rli_limits persisting() {
  rli_limits limits;
  limits.persist_lists = true;
  return limits;
}

change added(uint64_t seq, std::string lfn, bool lfn_changed = true) {
  return {seq, change_op::mapping_added, std::move(lfn), "pfn", lfn_changed};
}
change removed(uint64_t seq, std::string lfn, bool lfn_changed = true) {
  return {seq, change_op::mapping_removed, std::move(lfn), "pfn", lfn_changed};
}

}  // namespace

TEST_CASE("increments that overlap the list's position apply; gaps are refused") {
  rli_state rli;
  send_list(rli, "a", 10, {"x"}, 0);
  REQUIRE(*rli.apply_incremental("a", 10, 14, {"y"}, {}, 1, interval_ms) ==
          update_outcome::applied);
  // The same LRC heard through a second path, whose increments are cut differently: (12, 16]
  // overlaps the position 14 and brings it to 16.
  CHECK(*rli.apply_incremental("a", 12, 16, {"y", "z"}, {"x"}, 2, interval_ms) ==
        update_outcome::applied);
  CHECK(lrcs_for(rli, "x", 2).empty());
  CHECK(lrcs_for(rli, "z", 2) == names{"a"});
  CHECK(*rli.apply_incremental("a", 10, 16, {"x"}, {}, 3, interval_ms) == update_outcome::ignored);
  CHECK(lrcs_for(rli, "x", 3).empty());  // a duplicate changes nothing
  CHECK(*rli.apply_incremental("a", 16, 16, {}, {}, 4, interval_ms) == update_outcome::ignored);
  auto gap = rli.apply_incremental("a", 17, 18, {"w"}, {}, 5, interval_ms);
  REQUIRE_FALSE(gap.has_value());
  CHECK(gap.err().code == errc::conflict);
  CHECK(lrcs_for(rli, "w", 5).empty());
  CHECK(rli.lrcs(5).at(0).last_seq == 16);
}

TEST_CASE("a heartbeat keeps an immediate-mode LRC fresh; a silent one expires") {
  rli_state rli;
  send_list(rli, "a", 5, {"x"}, 0);
  for (uint64_t t = 1'000; t <= 10'000; t += 1'000)
    REQUIRE(*rli.apply_incremental("a", 5, 5, {}, {}, t, interval_ms) == update_outcome::ignored);
  CHECK(lrcs_for(rli, "x", 11'200) == names{"a"});
  CHECK(lrcs_for(rli, "x", 11'201).empty());
}

TEST_CASE("malformed increments change nothing") {
  rli_state rli;
  send_list(rli, "a", 5, {"x"}, 0);
  CHECK(rli.apply_incremental("a", 9, 6, {"y"}, {}, 1, interval_ms).err().code ==
        errc::invalid_argument);  // ends before it starts
  CHECK(rli.apply_incremental("a", 5, 6, {""}, {}, 1, interval_ms).err().code ==
        errc::invalid_argument);
  CHECK(rli.apply_incremental("a", 5, 6, {std::string("a\0b", 3)}, {}, 1, interval_ms).err().code ==
        errc::invalid_argument);
  CHECK(rli.apply_incremental("a", 5, 6, {"y"}, {}, 1, 0).err().code == errc::invalid_argument);
  CHECK(rli.apply_incremental("", 5, 6, {"y"}, {}, 1, interval_ms).err().code ==
        errc::invalid_argument);
  names many(10'001, "n");
  CHECK(rli.apply_incremental("a", 5, 6, many, {}, 1, interval_ms).err().code ==
        errc::invalid_argument);
  CHECK(rli.apply_incremental("unknown", 0, 1, {"y"}, {}, 1, interval_ms).err().code ==
        errc::not_found);
  CHECK(lrcs_for(rli, "y", 1).empty());
  CHECK(rli.lrcs(1).at(0).last_seq == 5);
  CHECK(rli.lrc_count() == 1);
}

TEST_CASE("increments that arrive while a full list streams are replayed onto it") {
  rli_state rli;
  send_list(rli, "a", 2, {"old"}, 0);
  REQUIRE(rli.begin_full_update("a", 10, 100, interval_ms).has_value());
  // Sent after the list began, overtaking its chunks: kept, not refused.
  CHECK(*rli.apply_incremental("a", 10, 12, {"new"}, {"listed"}, 110, interval_ms) ==
        update_outcome::pending);
  CHECK(*rli.apply_incremental("a", 12, 13, {"newer"}, {}, 120, interval_ms) ==
        update_outcome::pending);
  REQUIRE(rli.add_chunk("a", 10, 0, {"listed", "kept"}, 130).has_value());
  CHECK(*rli.end_full_update("a", 10, 1, 140) == update_outcome::applied);
  CHECK(lrcs_for(rli, "old", 140).empty());
  CHECK(lrcs_for(rli, "listed", 140).empty());
  CHECK(lrcs_for(rli, "kept", 140) == names{"a"});
  CHECK(lrcs_for(rli, "new", 140) == names{"a"});
  CHECK(lrcs_for(rli, "newer", 140) == names{"a"});
  CHECK(rli.lrcs(140).at(0).last_seq == 13);
}

TEST_CASE("a full list that lost a chunk stalls; after an interval a gap asks for a new one") {
  rli_state rli;
  REQUIRE(rli.begin_full_update("a", 10, 0, interval_ms).has_value());
  REQUIRE(rli.add_chunk("a", 10, 1, {"b"}, 0).has_value());  // chunk 0 was lost
  REQUIRE(*rli.end_full_update("a", 10, 2, 0) == update_outcome::pending);
  // Heartbeats keep the LRC alive while the list might still complete...
  CHECK(*rli.apply_incremental("a", 10, 10, {}, {}, 900, interval_ms) == update_outcome::ignored);
  CHECK(rli.lrcs(900).at(0).full_update_pending);
  // ... but one interval after the begin, waiting is hopeless: refused, so the LRC resends.
  CHECK(rli.apply_incremental("a", 10, 10, {}, {}, 1'001, interval_ms).err().code ==
        errc::conflict);
}

TEST_CASE("Bloom filters: newer generations replace, reordered older ones are ignored") {
  rli_state rli;
  REQUIRE(*rli.set_bloom("a", 5, bloom_of({"x"}), 0, interval_ms) == update_outcome::applied);
  CHECK(*rli.set_bloom("a", 3, bloom_of({"old"}), 10, interval_ms) == update_outcome::ignored);
  CHECK(lrcs_for(rli, "x", 10) == names{"a maybe"});
  // Deletions are handled by the rebuilt filter.
  CHECK(*rli.set_bloom("a", 7, bloom_of({"y"}), 20, interval_ms) == update_outcome::applied);
  CHECK(lrcs_for(rli, "x", 20).empty());
  CHECK(lrcs_for(rli, "y", 20) == names{"a maybe"});
  // Wildcards cannot be answered from Bloom state.
  auto wildcard = rli.query_wildcard("*", 20, 0, 0);
  REQUIRE_FALSE(wildcard.has_value());
  CHECK(wildcard.err().code == errc::invalid_argument);
  CHECK(wildcard.err().message.find("Bloom") != std::string::npos);
}

TEST_CASE("malformed Bloom filters are refused and change nothing") {
  rli_state rli;
  REQUIRE(rli.set_bloom("a", 5, bloom_of({"x"}), 0, interval_ms).has_value());
  auto good = bloom_of({"y", "z"});
  auto truncated = good.substr(0, good.size() - 8);  // wrong size for its header
  auto longer = good + std::string(8, '\0');
  auto bad_hashes = good;
  bad_hashes[4] = 0;  // hash count 0 (little-endian u32 at offset 4)
  auto many_hashes = good;
  many_hashes[4] = 99;
  auto bad_version = good;
  bad_version[0] = 9;
  auto flipped = good;
  flipped.back() = static_cast<char>(flipped.back() ^ 1);  // checksum no longer matches
  for (const auto& bad : {truncated, longer, bad_hashes, many_hashes, bad_version, flipped,
                          std::string{}, std::string("junk")}) {
    auto r = rli.set_bloom("a", 6, bad, 1, interval_ms);
    REQUIRE_FALSE(r.has_value());
    CHECK((r.err().code == errc::invalid_argument || r.err().code == errc::checksum_mismatch));
  }
  CHECK(lrcs_for(rli, "x", 1) == names{"a maybe"});
  CHECK(rli.lrcs(1).at(0).generation == 5);
  // An oversized filter is refused before anything is allocated.
  rli_limits small;
  small.bloom_bits_max = 64;
  rli_state strict{small};
  CHECK(strict.set_bloom("a", 1, bloom_of(names(100, "n")), 0, interval_ms).err().code ==
        errc::invalid_argument);
  CHECK(strict.lrc_count() == 0);
}

TEST_CASE("the RLI's lists survive a restart through RocksDB; stale ones are not reloaded") {
  rli_db store;
  {
    rli_state rli{persisting()};
    send_list(rli, "a", 10, {"a1", "a2", "a3"}, 0);
    send_list(rli, "b", 4, {"b1"}, 0);
    REQUIRE(rli.set_bloom("c", 1, bloom_of({"c1"}), 0, interval_ms).has_value());
    store.write(rli);
    REQUIRE(rli.apply_incremental("a", 10, 11, {"a4"}, {"a1"}, 500, interval_ms).has_value());
    // A periodic full list of the same content writes only the difference (here: a5).
    REQUIRE(rli.begin_full_update("a", 11, 600, interval_ms).has_value());
    REQUIRE(rli.add_chunk("a", 11, 0, {"a2", "a3", "a4", "a5"}, 600).has_value());
    REQUIRE(*rli.end_full_update("a", 11, 1, 600) == update_outcome::applied);
    REQUIRE(rli.apply_incremental("b", 4, 4, {}, {}, 700, interval_ms).has_value());
    store.write(rli);
    CHECK(store.list_rows() == 5);  // a2..a5 and b1; Bloom state is not stored
  }
  rli_state restarted{persisting()};
  storage::batch cleanup;
  auto report = load_lists(*store.base.db, restarted, 1'000, cleanup);
  REQUIRE(report.has_value());
  CHECK(report->lrcs_loaded == 2);
  CHECK(report->lfns_loaded == 5);
  CHECK(cleanup.empty());
  CHECK(lrcs_for(restarted, "a1", 1'000).empty());
  CHECK(lrcs_for(restarted, "a5", 1'000) == names{"a"});
  CHECK(lrcs_for(restarted, "b1", 1'000) == names{"b"});
  CHECK(lrcs_for(restarted, "c1", 1'000).empty());
  // The reloaded position lets increments continue where they left off.
  CHECK(*restarted.apply_incremental("a", 11, 12, {"a6"}, {}, 1'000, interval_ms) ==
        update_outcome::applied);
  CHECK(restarted.take_persist_ops().size() == 1);

  // Much later: everything is stale. Nothing is loaded, and the rows are deleted.
  rli_state late{persisting()};
  storage::batch drop;
  auto stale = load_lists(*store.base.db, late, 100'000, drop);
  REQUIRE(stale.has_value());
  CHECK(stale->lrcs_loaded == 0);
  CHECK(stale->lrcs_dropped == 2);
  CHECK(late.lrc_count() == 0);
  REQUIRE(store.base.db->write(drop, storage::durability::sync).has_value());
  CHECK(store.list_rows() == 0);
}

TEST_CASE("expiry and a switch to Bloom mode delete an LRC's persisted list") {
  rli_db store;
  rli_state rli{persisting()};
  send_list(rli, "a", 1, {"a1", "a2"}, 0);
  send_list(rli, "b", 1, {"b1"}, 0);
  store.write(rli);
  CHECK(store.list_rows() == 3);
  REQUIRE(rli.set_bloom("b", 2, bloom_of({"b1"}), 500, interval_ms).has_value());
  store.write(rli);
  CHECK(store.list_rows() == 2);
  CHECK(rli.expire(5'000) == 2);
  store.write(rli);
  CHECK(store.list_rows() == 0);
}

TEST_CASE("a corrupt persisted record is dropped, not loaded") {
  rli_db store;
  {
    rli_state rli{persisting()};
    send_list(rli, "a", 1, {"a1"}, 0);
    send_list(rli, "b", 1, {"b1"}, 0);
    store.write(rli);
  }
  storage::batch rows;
  rows.put(store.base.db->get_table(rli_meta_table), storage::string_key("b"), "garbage");
  REQUIRE(store.base.db->write(rows, storage::durability::sync).has_value());
  rli_state restarted{persisting()};
  storage::batch cleanup;
  auto report = load_lists(*store.base.db, restarted, 100, cleanup);
  REQUIRE(report.has_value());
  CHECK(report->lrcs_loaded == 1);
  CHECK(report->lrcs_dropped == 1);
  CHECK(lrcs_for(restarted, "a1", 100) == names{"a"});
  CHECK(lrcs_for(restarted, "b1", 100).empty());
}

TEST_CASE("changes are netted per LFN, filtered by the target's patterns") {
  auto all = [](const std::string&) { return true; };
  auto netted = net_changes({added(1, "x"), added(2, "x", false), removed(3, "y"), added(4, "y"),
                             added(5, "z"), removed(6, "z"), removed(7, "w", false)},
                            all);
  CHECK(netted.added == names{"x", "y"});
  CHECK(netted.removed == names{"z"});
  auto only_x = net_changes({added(1, "x"), added(2, "y")},
                            [](const std::string& lfn) { return lfn == "x"; });
  CHECK(only_x.added == names{"x"});
  CHECK(only_x.removed.empty());
}

TEST_CASE("an immediate-mode target: increments between full lists, resync on request") {
  rli_target_config cfg;
  cfg.name = "r";
  cfg.mode = rli_update_mode::immediate;
  cfg.interval_ms = 2'000;
  cfg.full_interval_ms = 10'000;
  cfg.buffer_changes = 3;
  rli_feed feed{cfg};
  CHECK(feed.tick_interval_ms() == 1'000);
  bool arm = false;
  CHECK(feed.on_durable(5, arm) == feed_action::none);  // before the first list: it covers them
  CHECK(feed.on_tick(0) == feed_action::full_list);
  feed.full_list_started(0, 100, 7);
  CHECK(feed.sent_seq() == 7);
  CHECK(feed.on_tick(1'000) == feed_action::incremental);
  CHECK(feed.on_durable(1, arm) == feed_action::none);
  CHECK(arm);  // the buffer timer starts
  CHECK(feed.on_durable(1, arm) == feed_action::none);
  CHECK_FALSE(arm);                                            // already running
  CHECK(feed.on_durable(1, arm) == feed_action::incremental);  // buffer_changes reached
  feed.incremental_sent(1'500, 10, false);
  CHECK(feed.sent_seq() == 10);
  CHECK(feed.on_tick(10'000) == feed_action::full_list);  // full_interval_ms passed
  feed.full_list_started(10'000, 110, 10);
  // A resync right after a full list waits for the next tick; later ones start one at once.
  CHECK(feed.on_resync(10'500) == feed_action::none);
  CHECK_FALSE(feed.in_sync());
  CHECK(feed.on_tick(11'000) == feed_action::full_list);
  feed.full_list_started(11'000, 120, 10);
  CHECK(feed.on_resync(12'500) == feed_action::full_list);
  CHECK(feed.stats().resyncs == 2);
  CHECK(feed.describe(12'500).find("mode=immediate") != std::string::npos);
}

TEST_CASE("list and Bloom targets ignore increments and resync requests") {
  rli_target_config cfg;
  cfg.name = "r";
  rli_feed list{cfg};
  CHECK(list.on_tick(0) == feed_action::full_list);
  CHECK(list.tick_interval_ms() == cfg.interval_ms);
  bool arm = true;
  list.full_list_started(0, 1, 1);
  CHECK(list.on_durable(500, arm) == feed_action::none);
  CHECK_FALSE(arm);
  CHECK(list.on_resync(100'000) == feed_action::none);
  cfg.mode = rli_update_mode::bloom;
  rli_feed bloom{cfg};
  CHECK(bloom.on_tick(0) == feed_action::bloom);
  bloom.bloom_sent(5, 42);
  CHECK(bloom.describe(10).find("blooms=1 last_bloom=5ms_ago lfns=42") != std::string::npos);
}

TEST_CASE("the measured false-positive rate of a filter built as the LRC builds it") {
  // The LRC sizes its filter for every LFN of the catalog with the target's bits and hashes.
  const size_t items = 50'000;
  for (auto [bits, hashes, bound] : {std::tuple{11u, 7u, 0.008}, std::tuple{10u, 7u, 0.011},
                                     std::tuple{10u, 3u, 0.02}, std::tuple{16u, 11u, 0.0012}}) {
    auto filter = bloom_filter::sized_for(items, bits, hashes);
    REQUIRE(filter.has_value());
    for (size_t i = 0; i < items; ++i) filter->insert("lfn://obs/in/" + std::to_string(i));
    size_t false_hits = 0;
    for (size_t i = 0; i < items; ++i)
      false_hits += filter->possibly_contains("lfn://obs/out/" + std::to_string(i)) ? 1 : 0;
    const double rate = static_cast<double>(false_hits) / static_cast<double>(items);
    MESSAGE(bits << " bits/LFN, " << hashes << " hashes: " << rate * 100 << "% false positives");
    CHECK(rate <= bound);
  }
}

TEST_CASE(
    "a lost begin does not lose the list of an LRC already known; an unknown LRC must begin") {
  rli_state rli;
  send_list(rli, "a", 1, {"old"}, 0);
  // The begin of generation 2 was lost: its chunk and end still make the new list.
  CHECK(*rli.add_chunk("a", 2, 0, {"new"}, 500) == update_outcome::pending);
  CHECK(*rli.end_full_update("a", 2, 1, 600, 2 * interval_ms) == update_outcome::applied);
  CHECK(lrcs_for(rli, "new", 600) == names{"a"});
  CHECK(lrcs_for(rli, "old", 600).empty());
  CHECK(rli.lrcs(600).at(0).interval_ms == 2 * interval_ms);  // the end carries the interval
  // Nothing older than the list held, and nothing from a stranger.
  CHECK(*rli.add_chunk("a", 1, 0, {"older"}, 700) == update_outcome::ignored);
  CHECK(rli.add_chunk("b", 1, 0, {"x"}, 700).err().code == errc::not_found);
  CHECK(rli.end_full_update("b", 1, 1, 700, interval_ms).err().code == errc::not_found);
  CHECK(rli.end_full_update("a", 3, 1, 700, ~uint64_t{0}).err().code == errc::invalid_argument);
  CHECK(rli.lrc_count() == 1);
}

TEST_CASE("the change log is needed only after what immediate-mode targets were sent") {
  rli_target_config cfg;
  cfg.name = "r";
  rli_feed list{cfg};
  CHECK(list.changes_needed_after(50) == 50);
  cfg.mode = rli_update_mode::immediate;
  rli_feed immediate{cfg};
  CHECK(immediate.changes_needed_after(50) == 50);  // its first full list covers everything
  immediate.full_list_started(0, 1, 20);
  CHECK(immediate.changes_needed_after(50) == 20);
  immediate.incremental_sent(10, 45, false);
  CHECK(immediate.changes_needed_after(50) == 45);
  CHECK(immediate.changes_needed_after(30) == 30);
}
