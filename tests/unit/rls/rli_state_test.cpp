// The RLI's soft state: full and incremental list updates, Bloom filters, expiry, partitioning.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "actors/rls/rli_state.hpp"

namespace {

using namespace librarian;
using namespace librarian::rls;

constexpr uint64_t interval_ms = 1'000;

using names = std::vector<std::string>;

// The LRCs the RLI names for lfn at now_ms; empty when it knows none.
names lrcs_for(const rli_state& rli, const std::string& lfn, uint64_t now_ms) {
  auto hits = rli.query_lfn(lfn, now_ms);
  names out;
  if (!hits) {
    CHECK(hits.err().code == errc::not_found);
    return out;
  }
  for (const auto& hit : *hits) out.push_back(hit.lrc);
  return out;
}

// A complete full update in one chunk.
void send_list(rli_state& rli, const std::string& lrc, uint64_t generation, names lfns,
               uint64_t now_ms) {
  REQUIRE(rli.begin_full_update(lrc, generation, now_ms, interval_ms).has_value());
  REQUIRE(rli.add_chunk(lrc, generation, 0, std::move(lfns), now_ms).has_value());
  auto done = rli.end_full_update(lrc, generation, 1, now_ms);
  REQUIRE(done.has_value());
  REQUIRE(*done == update_outcome::applied);
}

std::string bloom_of(const names& lfns) {
  auto filter = bloom_filter::sized_for(lfns.size());
  REQUIRE(filter.has_value());
  for (const auto& lfn : lfns) filter->insert(lfn);
  return filter->serialize();
}

}  // namespace

TEST_CASE("a full update assembles chunks that arrive out of order and duplicated") {
  rli_state rli;
  REQUIRE(*rli.begin_full_update("lrc-a", 5, 0, interval_ms) == update_outcome::pending);
  CHECK(*rli.add_chunk("lrc-a", 5, 2, {"c"}, 1) == update_outcome::pending);
  CHECK(*rli.add_chunk("lrc-a", 5, 0, {"a"}, 2) == update_outcome::pending);
  CHECK(*rli.add_chunk("lrc-a", 5, 2, {"c"}, 3) == update_outcome::ignored);
  // The end may overtake the last chunk: the update completes when that chunk arrives.
  CHECK(*rli.end_full_update("lrc-a", 5, 3, 4) == update_outcome::pending);
  CHECK(lrcs_for(rli, "a", 4).empty());
  CHECK(*rli.add_chunk("lrc-a", 5, 1, {"b", "a"}, 5) == update_outcome::applied);
  CHECK(lrcs_for(rli, "a", 5) == names{"lrc-a"});
  CHECK(lrcs_for(rli, "b", 5) == names{"lrc-a"});
  CHECK(lrcs_for(rli, "c", 5) == names{"lrc-a"});
  CHECK(rli.lrcs(5).at(0).lfn_count == 3);
  // Late copies of the finished update change nothing.
  CHECK(*rli.add_chunk("lrc-a", 5, 1, {"zzz"}, 6) == update_outcome::ignored);
  CHECK(*rli.end_full_update("lrc-a", 5, 3, 6) == update_outcome::ignored);
  CHECK(lrcs_for(rli, "zzz", 6).empty());
}

TEST_CASE("a partial full update never replaces a complete list") {
  rli_state rli;
  send_list(rli, "lrc-a", 1, {"old"}, 0);
  REQUIRE(rli.begin_full_update("lrc-a", 2, 100, interval_ms).has_value());
  REQUIRE(rli.add_chunk("lrc-a", 2, 0, {"new"}, 100).has_value());
  CHECK(*rli.end_full_update("lrc-a", 2, 2, 100) == update_outcome::pending);  // chunk 1 missing
  CHECK(lrcs_for(rli, "old", 100) == names{"lrc-a"});
  CHECK(lrcs_for(rli, "new", 100).empty());
  CHECK(rli.lrcs(100).at(0).full_update_pending);
  // A newer update abandons the unfinished one; the complete list answers throughout.
  REQUIRE(rli.begin_full_update("lrc-a", 3, 200, interval_ms).has_value());
  CHECK(*rli.add_chunk("lrc-a", 2, 1, {"x"}, 200) == update_outcome::ignored);
  CHECK(lrcs_for(rli, "old", 200) == names{"lrc-a"});
  REQUIRE(rli.add_chunk("lrc-a", 3, 0, {"newest"}, 300).has_value());
  CHECK(*rli.end_full_update("lrc-a", 3, 1, 300) == update_outcome::applied);
  CHECK(lrcs_for(rli, "old", 300).empty());
  CHECK(lrcs_for(rli, "newest", 300) == names{"lrc-a"});
}

TEST_CASE("malformed full updates are refused and change nothing") {
  rli_limits limits;
  limits.chunk_lfns_max = 2;
  rli_state rli(limits);
  CHECK(rli.add_chunk("lrc-a", 1, 0, {"a"}, 0).err().code == errc::not_found);  // no begin
  REQUIRE(rli.begin_full_update("lrc-a", 1, 0, interval_ms).has_value());
  CHECK(rli.add_chunk("lrc-a", 1, 0, {"a", "b", "c"}, 0).err().code == errc::invalid_argument);
  CHECK(rli.add_chunk("lrc-a", 1, 0, {"a", ""}, 0).err().code == errc::invalid_argument);
  CHECK(rli.add_chunk("lrc-a", 1, 0, {std::string(5000, 'x')}, 0).err().code ==
        errc::invalid_argument);
  REQUIRE(rli.add_chunk("lrc-a", 1, 3, {"d"}, 0).has_value());
  CHECK(rli.end_full_update("lrc-a", 1, 2, 0).err().code == errc::invalid_argument);  // chunk 3
  CHECK(rli.begin_full_update("", 1, 0, interval_ms).err().code == errc::invalid_argument);
  CHECK(rli.begin_full_update("lrc-b", 1, 0, 0).err().code == errc::invalid_argument);
  CHECK(rli.lrc_count() == 1);
}

TEST_CASE("state expires exactly after 1.2 times the sender's interval") {
  rli_state rli;
  send_list(rli, "lrc-a", 1, {"f"}, 10'000);
  const uint64_t bound_ms = 10'000 + interval_ms * 12 / 10;
  CHECK(lrcs_for(rli, "f", bound_ms) == names{"lrc-a"});
  CHECK(rli.expire(bound_ms) == 0);
  CHECK(lrcs_for(rli, "f", bound_ms + 1).empty());  // stale: not returned, even before expire()
  CHECK(rli.lrcs(bound_ms + 1).at(0).stale);
  CHECK(rli.expire(bound_ms + 1) == 1);
  CHECK(rli.lrc_count() == 0);
}

TEST_CASE("a refresh keeps state fresh, and an expired LRC may start over at a lower generation") {
  rli_state rli;
  send_list(rli, "lrc-a", 50, {"f"}, 0);
  REQUIRE(rli.apply_incremental("lrc-a", 49, 50, {}, {}, 1'000, interval_ms).has_value());  // dup
  CHECK(lrcs_for(rli, "f", 2'200) == names{"lrc-a"});
  CHECK(*rli.begin_full_update("lrc-a", 10, 2'200, interval_ms) == update_outcome::ignored);
  // Stale (its db lost, the LRC restarted at generation 1): accepted as new.
  send_list(rli, "lrc-a", 1, {"g"}, 10'000);
  CHECK(lrcs_for(rli, "g", 10'000) == names{"lrc-a"});
  CHECK(lrcs_for(rli, "f", 10'000).empty());
}

TEST_CASE("incremental updates skip duplicates and refuse gaps") {
  rli_state rli;
  CHECK(rli.apply_incremental("lrc-a", 0, 1, {"x"}, {}, 0, interval_ms).err().code ==
        errc::not_found);  // no list yet
  send_list(rli, "lrc-a", 10, {"a", "b"}, 0);
  CHECK(*rli.apply_incremental("lrc-a", 10, 11, {"c"}, {"a"}, 1, interval_ms) ==
        update_outcome::applied);
  CHECK(*rli.apply_incremental("lrc-a", 10, 11, {"dup"}, {"b"}, 2, interval_ms) ==
        update_outcome::ignored);
  CHECK(*rli.apply_incremental("lrc-a", 8, 9, {"old"}, {}, 2, interval_ms) ==
        update_outcome::ignored);
  auto gap = rli.apply_incremental("lrc-a", 12, 13, {"gap"}, {}, 3, interval_ms);
  CHECK(gap.err().code == errc::conflict);
  CHECK(lrcs_for(rli, "a", 3).empty());
  CHECK(lrcs_for(rli, "b", 3) == names{"lrc-a"});
  CHECK(lrcs_for(rli, "c", 3) == names{"lrc-a"});
  CHECK(lrcs_for(rli, "dup", 3).empty());
  CHECK(lrcs_for(rli, "gap", 3).empty());
  // Removed and re-created within one buffer: present.
  CHECK(*rli.apply_incremental("lrc-a", 11, 12, {"b"}, {"b"}, 4, interval_ms) ==
        update_outcome::applied);
  CHECK(lrcs_for(rli, "b", 4) == names{"lrc-a"});
  CHECK(rli.lrcs(4).at(0).last_seq == 12);
  // A later full update of an older generation is stale.
  CHECK(*rli.begin_full_update("lrc-a", 11, 5, interval_ms) == update_outcome::ignored);
}

TEST_CASE("Bloom-mode LRCs answer 'maybe', and a bad filter changes nothing") {
  rli_state rli;
  send_list(rli, "lrc-list", 1, {"shared", "only-list"}, 0);
  REQUIRE(rli.set_bloom("lrc-bloom", 1, bloom_of({"shared", "only-bloom"}), 0, interval_ms));
  auto hits = rli.query_lfn("shared", 0);
  REQUIRE(hits.has_value());
  CHECK(*hits == std::vector<lrc_hit>{{"lrc-bloom", true}, {"lrc-list", false}});
  CHECK(lrcs_for(rli, "only-bloom", 0) == names{"lrc-bloom"});
  std::string corrupt = bloom_of({"other"});
  corrupt.pop_back();
  CHECK(rli.set_bloom("lrc-bloom", 1, corrupt, 1, interval_ms).err().code ==
        errc::invalid_argument);
  CHECK(lrcs_for(rli, "only-bloom", 1) == names{"lrc-bloom"});
  CHECK(rli.set_bloom("lrc-new", 1, corrupt, 1, interval_ms).err().code == errc::invalid_argument);
  CHECK(rli.lrc_count() == 2);
}

TEST_CASE("bulk queries answer per item") {
  rli_state rli;
  send_list(rli, "lrc-a", 1, {"a"}, 0);
  auto items = rli.bulk_query({"a", "missing", ""}, 0);
  REQUIRE(items.has_value());
  REQUIRE(items->size() == 3);
  CHECK((*items)[0].code == errc::ok);
  CHECK((*items)[0].lrcs == std::vector<lrc_hit>{{"lrc-a", false}});
  CHECK((*items)[1].code == errc::not_found);
  CHECK((*items)[2].code == errc::invalid_argument);
}

TEST_CASE("wildcard queries page list-mode state and name the Bloom-mode LRCs they skip") {
  rli_state rli;
  REQUIRE(rli.set_bloom("lrc-bloom", 1, bloom_of({"run1/x"}), 0, interval_ms));
  CHECK(rli.query_wildcard("run1/*", 0, 0, 0).err().code == errc::invalid_argument);
  send_list(rli, "lrc-a", 1, {"run1/a", "run1/b", "run2/a"}, 0);
  send_list(rli, "lrc-b", 1, {"run1/a", "run1/c"}, 0);
  auto page = rli.query_wildcard("run1/*", 0, 0, 3);
  REQUIRE(page.has_value());
  CHECK(page->items ==
        std::vector<rli_mapping>{{"run1/a", "lrc-a"}, {"run1/a", "lrc-b"}, {"run1/b", "lrc-a"}});
  CHECK(page->more);
  CHECK(page->skipped_bloom_lrcs == names{"lrc-bloom"});
  auto rest = rli.query_wildcard("run1/*", 0, 3, 3);
  REQUIRE(rest.has_value());
  CHECK(rest->items == std::vector<rli_mapping>{{"run1/c", "lrc-b"}});
  CHECK_FALSE(rest->more);
  CHECK(rli.query_wildcard("run?/a", 0, 0, 0)->items.size() == 3);
  CHECK(rli.query_wildcard("", 0, 0, 0).err().code == errc::invalid_argument);
  CHECK(rli.query_wildcard("*", 0, 0, 1'000'000).err().code == errc::invalid_argument);
}

TEST_CASE("partition patterns keep only matching LFNs") {
  rli_state rli;
  CHECK(rli.set_accept_patterns({"ok\\"}).err().code == errc::invalid_argument);
  REQUIRE(rli.set_accept_patterns({"cms/*", "atlas/run?"}));
  send_list(rli, "lrc-a", 1, {"cms/a", "atlas/run1", "atlas/run10", "lhcb/x"}, 0);
  CHECK(lrcs_for(rli, "cms/a", 0) == names{"lrc-a"});
  CHECK(lrcs_for(rli, "atlas/run1", 0) == names{"lrc-a"});
  CHECK(lrcs_for(rli, "atlas/run10", 0).empty());
  CHECK(lrcs_for(rli, "lhcb/x", 0).empty());
  CHECK(rli.lrcs(0).at(0).lfn_count == 2);
  CHECK(rli.lrcs(0).at(0).lfns_rejected == 2);
  REQUIRE(rli.apply_incremental("lrc-a", 1, 2, {"lhcb/y", "cms/b"}, {}, 1, interval_ms));
  CHECK(lrcs_for(rli, "cms/b", 1) == names{"lrc-a"});
  CHECK(lrcs_for(rli, "lhcb/y", 1).empty());
  CHECK(rli.query_wildcard("*", 1, 0, 0)->items.size() == 3);
}

TEST_CASE("the number of LRCs is bounded") {
  rli_limits limits;
  limits.lrcs_max = 2;
  rli_state rli(limits);
  send_list(rli, "lrc-a", 1, {"a"}, 0);
  send_list(rli, "lrc-b", 1, {"b"}, 0);
  CHECK(rli.begin_full_update("lrc-c", 1, 0, interval_ms).err().code == errc::storage_full);
  CHECK(rli.expire(5'000) == 2);  // once the others expire there is room again
  send_list(rli, "lrc-c", 1, {"c"}, 5'000);
}

TEST_CASE("an RLI restarted empty knows nothing and rebuilds from the next updates") {
  rli_state before;
  send_list(before, "lrc-a", 7, {"a"}, 0);
  REQUIRE(before.set_bloom("lrc-b", 1, bloom_of({"b"}), 0, interval_ms));
  rli_state restarted;  // nothing is persisted: the soft state is rebuilt, not recovered
  CHECK(restarted.lrc_count() == 0);
  CHECK(lrcs_for(restarted, "a", 100).empty());
  // An incremental cannot rebuild a list it never had: the LRC is told to send a full update.
  CHECK(restarted.apply_incremental("lrc-a", 7, 8, {"a2"}, {}, 100, interval_ms).err().code ==
        errc::not_found);
  send_list(restarted, "lrc-a", 8, {"a", "a2"}, 200);
  REQUIRE(restarted.set_bloom("lrc-b", 1, bloom_of({"b"}), 200, interval_ms));
  CHECK(lrcs_for(restarted, "a2", 200) == names{"lrc-a"});
  CHECK(lrcs_for(restarted, "b", 200) == names{"lrc-b"});
}

TEST_CASE(
    "an LRC that went back to an older generation is not kept alive by it; its list expires") {
  rls::rli_state rli;
  const uint64_t interval = 1000;
  REQUIRE(rli.begin_full_update("a", 10, 0, interval).has_value());
  REQUIRE(rli.add_chunk("a", 10, 0, {"lfn://x"}, 0).has_value());
  REQUIRE(rli.end_full_update("a", 10, 1, 0).has_value());
  // The LRC lost its last writes and now sends generation 7: ignored, and no refresh.
  for (uint64_t t = 500; t <= 1200; t += 500) {
    auto r = rli.begin_full_update("a", 7, t, interval);
    REQUIRE(r.has_value());
    CHECK(*r == rls::update_outcome::ignored);
  }
  CHECK(rli.query_lfn("lfn://x", 1200).has_value());        // still fresh (1.2 x 1000 ms)
  CHECK_FALSE(rli.query_lfn("lfn://x", 1201).has_value());  // expired
  // Now generation 7 is taken afresh.
  REQUIRE(rli.begin_full_update("a", 7, 1300, interval).has_value());
  REQUIRE(rli.add_chunk("a", 7, 0, {"lfn://y"}, 1300).has_value());
  REQUIRE(rli.end_full_update("a", 7, 1, 1300).has_value());
  CHECK(rli.query_lfn("lfn://y", 1300).has_value());
}
