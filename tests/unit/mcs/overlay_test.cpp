// The overlay: reads see pending writes over the db, in key order; an aborted transaction
// leaves no trace; committed writes are forgotten once durable.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>

#include "mcs_fixture.hpp"

using namespace librarian;
using namespace librarian::mcs;

TEST_CASE("a cursor merges pending writes and deletes with the db like a map would") {
  test::mcs_db fx;
  auto t = fx.db->get_table(notes_table);
  overlay_store store{*fx.db, 100000, 1 << 26};
  std::map<std::string, std::string> model;
  std::mt19937_64 rng{3};
  std::vector<storage::batch> pending;
  auto random_key = [&] { return std::string{"k"} + std::to_string(rng() % 300); };
  for (int round = 0; round < 40; ++round) {
    storage::batch rows;
    store.begin();
    for (int i = 0; i < 30; ++i) {
      auto key = random_key();
      if (rng() % 3 == 0) {
        store.del(t, key);
        model.erase(key);
      } else {
        auto value = std::to_string(rng());
        store.put(t, key, value);
        model[key] = value;
      }
    }
    store.finish(rows);
    pending.push_back(std::move(rows));
    // Every third round the waiting batches reach the db in order; the others stay pending.
    if (round % 3 == 2) {
      for (auto& b : pending) REQUIRE(fx.db->write(b, storage::durability::buffered).has_value());
      pending.clear();
      store.committed(store.last_seq());
    }
    auto cur = store.scan(t, "k1", "k3", 7);
    std::vector<std::pair<std::string, std::string>> got;
    for (int n = 0; n < 1000; ++n) {
      auto row = cur.next();
      REQUIRE(row.has_value());
      if (!row->has_value()) break;
      got.emplace_back((*row)->key, (*row)->value);
    }
    std::vector<std::pair<std::string, std::string>> want;
    for (auto it = model.lower_bound("k1"); it != model.end() && it->first < "k3"; ++it)
      want.emplace_back(*it);
    REQUIRE(got == want);
  }
}

TEST_CASE("an aborted transaction leaves reads as they were") {
  test::mcs_db fx;
  auto t = fx.db->get_table(notes_table);
  overlay_store store{*fx.db, 1000, 1 << 20};
  storage::batch rows;
  store.begin();
  store.put(t, "a", "1");
  store.finish(rows);
  store.begin();
  store.put(t, "a", "2");
  store.put(t, "b", "3");
  store.del(t, "a");
  store.abort();
  auto a = store.get(t, "a");
  REQUIRE(a.has_value());
  CHECK(*a == std::optional<std::string>{"1"});
  auto b = store.get(t, "b");
  REQUIRE(b.has_value());
  CHECK_FALSE(b->has_value());
  CHECK(rows.count() == 1);
}

TEST_CASE("probes of prefixed ids read what point reads read, pending writes included") {
  test::mcs_db fx;
  auto t = fx.db->get_table(notes_table);
  overlay_store store{*fx.db, 100000, 1 << 26};
  std::mt19937_64 rng{11};
  const std::string prefix = "p";
  auto key = [&](uint64_t id) {
    auto k = prefix;
    storage::append_u64(k, id);
    return k;
  };
  // Rows in the db, with some in the overlay over them (new, changed, deleted).
  storage::batch rows;
  for (uint64_t id = 0; id < 3000; id += 1 + rng() % 3) rows.put(t, key(id), "v");
  REQUIRE(fx.db->write(rows, storage::durability::buffered).has_value());
  storage::batch pending;
  store.begin();
  for (int i = 0; i < 200; ++i) {
    if (i % 3 == 0)
      store.del(t, key(rng() % 3000));
    else
      store.put(t, key(rng() % 3000), "pending");
  }
  store.finish(pending);
  for (int round = 0; round < 50; ++round) {
    // Sorted and unsorted, dense and sparse, duplicates included.
    std::vector<uint64_t> ids;
    uint64_t spread = round % 2 ? 3000 : 120;
    uint64_t from = rng() % 2800;
    for (int i = 0; i < 300; ++i) ids.push_back(std::min<uint64_t>(2999, from + rng() % spread));
    if (round % 3 == 0) std::sort(ids.begin(), ids.end());
    std::vector<std::string> keys;
    for (auto id : ids) keys.push_back(key(id));
    std::vector<bool> found;
    std::vector<std::optional<std::string>> point;
    REQUIRE(store.probe_ids(t, prefix, ids, found).has_value());
    REQUIRE(store.multi_get(t, keys, point).has_value());
    REQUIRE(found.size() == ids.size());
    for (size_t i = 0; i < ids.size(); ++i) REQUIRE(found[i] == point[i].has_value());
  }
}
