// The MCS object cache: its own rules (entries valid from a sequence number, a byte budget), and
// its coherence with the catalog -- a reader with the cache answers exactly as a reader without
// it, at the newest snapshot and at older ones, however writes, commits and aborts interleave.
#include <doctest/doctest.h>

#include <rocksdb/db.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "actors/mcs/dispatch.hpp"
#include "actors/mcs/object_cache.hpp"
#include "actors/mcs/reader.hpp"
#include "mcs_fixture.hpp"

using namespace librarian;
using namespace librarian::mcs;
using nlohmann::json;

namespace {

object_cache::object obj(const std::string& name, uint64_t container = 0) {
  return {static_cast<uint8_t>(kind::file), name, 0, "alice", container};
}

std::string answer_text(const expected<std::string>& out) {
  if (out) return "ok " + *out;
  return "error " + std::string{name(out.err().code)} + " " + out.err().message;
}

json ref(const std::string& k, const std::string& name) {
  return json{{"kind", k}, {"name", name}};
}

json cond(const std::string& attr, const std::string& op, const std::string& value) {
  return json{{"attr", attr}, {"op", op}, {"value", value}};
}

// The whole catalog into an emptied cache, in one step; how many objects were cached.
expected<size_t> warm_all(mcs_state& state, object_cache& cache) {
  cache.clear();
  auto all = state.warm_object_cache_step(0, SIZE_MAX);
  if (!all) return all.err();
  return all->cached;
}

// A mutation dispatched but not yet committed: its rows and the token for committed().
struct pending_batch {
  storage::batch rows;
  uint64_t seq = 0;
};

}  // namespace

TEST_CASE("object cache: an entry serves snapshots from its sequence number on") {
  object_cache cache{1 << 20};
  object_cache::object out;
  CHECK_FALSE(cache.get(7, 100, out));
  REQUIRE(cache.put(7, obj("lfn://a/b/c/a-long-enough-name.dat", 3), 50));
  CHECK_FALSE(cache.get(7, 49, out));  // an older snapshot reads the db
  REQUIRE(cache.get(7, 50, out));
  CHECK(out.name == "lfn://a/b/c/a-long-enough-name.dat");
  CHECK(out.container == 3);
  CHECK(out.owner == "alice");
  REQUIRE(cache.get(7, 1000, out));
  cache.erase(7);
  CHECK_FALSE(cache.get(7, 1000, out));
  auto st = cache.snapshot_stats();
  CHECK(st.entries == 0);
  CHECK(st.bytes == 0);
  CHECK(st.hits == 2);
  CHECK(st.misses == 3);
}

TEST_CASE("object cache: past its budget new objects are refused, replacements are not") {
  // A page holds 64 ids (8 KiB): this budget is three pages and a little heap text.
  object_cache cache{3 * 8192 + 1024};
  uint64_t id = 1;
  while (cache.put(id, obj("lfn://bench/run-0/file-" + std::to_string(id) + ".dat"), 1)) ++id;
  auto st = cache.snapshot_stats();
  CHECK(st.entries == id - 1);
  CHECK(st.entries == 3 * 64 - 1);  // id 0 is never an object's
  CHECK(st.bytes <= cache.bytes_max());
  CHECK(st.refused == 1);
  object_cache::object out;
  CHECK_FALSE(cache.get(id, 5, out));
  // An entry already held may always be replaced (a committed change of a cached object), also
  // by one whose name does not fit in its slot.
  const std::string long_name = "lfn://bench/" + std::string(200, 'x');
  CHECK(cache.put(1, obj(long_name, 9), 2));
  REQUIRE(cache.get(1, 2, out));
  CHECK(out.container == 9);
  CHECK(out.name == long_name);
  CHECK(out.owner == "alice");
  CHECK(cache.snapshot_stats().bytes > st.bytes);
  // A free slot in a page held takes a new object while there is room for its text.
  cache.erase(2);
  CHECK(cache.put(2, obj("lfn://y"), 3));
  // Deleting every object of a page frees it, and makes room for a page of new ids.
  for (uint64_t gone = 64; gone < 128; ++gone) cache.erase(gone);
  CHECK(cache.snapshot_stats().bytes < st.bytes);
  CHECK(cache.put(id, obj("lfn://x"), 3));
  REQUIRE(cache.get(id, 3, out));
  CHECK(out.name == "lfn://x");
  CHECK_FALSE(cache.get(64, 3, out));
  // Ids the table cannot hold are refused, not misfiled.
  CHECK_FALSE(cache.put(object_cache::id_limit, obj("lfn://far"), 3));
  CHECK_FALSE(cache.get(object_cache::id_limit, 3, out));
  cache.clear();
  CHECK(cache.snapshot_stats().entries == 0);
  CHECK(cache.snapshot_stats().bytes == 0);
  CHECK_FALSE(cache.get(1, 5, out));
}

TEST_CASE("object cache: names and owners inline or not, readers beside a writer") {
  object_cache cache{64 << 20};
  // Inline text is 86 bytes for name and owner together.
  for (size_t len : {0, 1, 15, 16, 70, 85, 86, 87, 300, 4096}) {
    for (size_t owner_len : {0, 5, 16, 255, 256}) {
      uint64_t id = 1000 + len * 1000 + owner_len;
      object_cache::object o{2, std::string(len, 'n'), len, std::string(owner_len, 'o'), 42};
      REQUIRE(cache.put(id, o, 7));
      object_cache::object out;
      REQUIRE(cache.get(id, 7, out));
      CHECK(out.name == o.name);
      CHECK(out.owner == o.owner);
      CHECK(out.k == 2);
      CHECK(out.version == len);
      CHECK(out.container == 42);
    }
  }
  // What an entry is charged comes back whole when it goes, whatever its strings' capacity.
  REQUIRE(cache.put(6, obj("lfn://page-zero"), 1));  // page 0 is held from here on
  auto before = cache.snapshot_stats().bytes;
  auto roomy = [] {
    object_cache::object o{1, std::string(100, 'r'), 1, "o", 0};
    o.name.reserve(5000);  // moved into the cache with its capacity
    return o;
  };
  REQUIRE(cache.put(5, roomy(), 1));
  CHECK(cache.snapshot_stats().bytes > before + 5000);
  REQUIRE(cache.put(5, obj("lfn://now-short"), 2));  // inline: no text charged
  CHECK(cache.snapshot_stats().bytes == before);
  REQUIRE(cache.put(5, roomy(), 3));
  cache.erase(5);
  CHECK(cache.snapshot_stats().bytes == before);
  cache.clear();
  CHECK(cache.snapshot_stats().bytes == 0);
  // Concurrent readers see either no entry or a whole one, never a torn one.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> torn{0}, seen{0};
  std::atomic<int> started{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r)
    readers.emplace_back([&] {
      object_cache::object out;
      ++started;
      while (!stop.load()) {
        for (uint64_t id = 1; id < 300; ++id) {
          cache.prefetch(id);
          if (!cache.peek(id, UINT64_MAX, out)) continue;
          ++seen;
          // Every version v was written with a name of v 'a's and container v.
          if (out.name != std::string(out.version, 'a') || out.container != out.version) ++torn;
        }
      }
    });
  // The writes start once both readers run (on a loaded machine they may start late), and the
  // readers stop only after they have seen entries (bounded: 10 s).
  while (started.load() < 2) std::this_thread::yield();
  for (uint64_t round = 1; round <= 200; ++round)
    for (uint64_t id = 1; id < 300; ++id) {
      uint64_t v = (round * 7 + id) % 120;
      if (v % 5 == 0) {
        cache.erase(id);
      } else {
        REQUIRE(cache.put(id, object_cache::object{1, std::string(v, 'a'), v, "u", v}, round));
      }
    }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (seen.load() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  stop = true;
  for (auto& t : readers) t.join();
  CHECK(torn == 0);
  CHECK(seen > 0);
}

TEST_CASE("object cache: filled from the db, kept by commits, read by queries") {
  test::mcs_db fx;
  auto cache = std::make_shared<object_cache>(64 << 20);
  fx.state->use_object_cache(cache);
  auto write = [&](const std::string& verb, const json& args) {
    storage::batch rows;
    auto out = dispatch(*fx.state, fx.as("alice"), verb, args.dump(), rows);
    REQUIRE_MESSAGE(out.has_value(), verb << ": " << out.err().describe());
    fx.commit(rows);
  };
  json objects = json::array();
  for (int i = 0; i < 30; ++i)
    objects.push_back(
        {{"kind", "l"},
         {"name", "f" + std::to_string(i)},
         {"attrs",
          json::array({{{"name", "n"}, {"type", "int"}, {"value", std::to_string(i % 3)}}})}});
  write("create_many", {{"objects", objects}});
  // Committed creates are cached as they become durable.
  CHECK(cache->snapshot_stats().entries == 30);
  auto warmed = warm_all(*fx.state, *cache);
  REQUIRE(warmed.has_value());
  CHECK(*warmed == 30);
  CHECK(cache->snapshot_stats().entries == 30);

  mcs_reader cached{*fx.db, {}, cache};
  mcs_reader plain{*fx.db};
  principal root{"root", {}, true};
  auto q = json{{"kind", "l"}, {"conditions", {cond("n", "=", "1")}}}.dump();
  auto hits_before = cache->snapshot_stats().hits;
  auto answer = cached.read(root, "query", q);
  REQUIRE(answer.has_value());
  CHECK(answer_text(answer) == answer_text(plain.read(root, "query", q)));
  CHECK(json::parse(*answer)["items"].size() == 10);
  CHECK(cache->snapshot_stats().hits - hits_before == 10);

  // A delete takes the entry away for good; a move into a collection replaces it.
  write("create", {{"kind", "c"}, {"name", "box"}});
  write("delete", ref("l", "f1"));
  write("add_coll", {{"parent", "box"}, {"child", ref("l", "f4")}});
  CHECK(cache->snapshot_stats().entries == 30);  // 30 files - f1 + the collection
  answer = cached.read(root, "query", q);
  CHECK(answer_text(answer) == answer_text(plain.read(root, "query", q)));
  CHECK(json::parse(*answer)["items"].size() == 9);
  auto in_box = json{{"kind", "l"}, {"conditions", {cond("container", "=", "box")}}}.dump();
  CHECK(answer_text(cached.read(root, "query", in_box)) ==
        answer_text(plain.read(root, "query", in_box)));
}

TEST_CASE("object cache: a row written twice is cached only once its newest write is durable") {
  test::mcs_db fx;
  auto cache = std::make_shared<object_cache>(64 << 20);
  fx.state->use_object_cache(cache);
  auto dispatch_pending = [&](const std::string& verb, const json& args) {
    pending_batch b;
    auto out = dispatch(*fx.state, fx.as("alice"), verb, args.dump(), b.rows);
    REQUIRE_MESSAGE(out.has_value(), verb << ": " << out.err().describe());
    b.seq = fx.state->last_seq();
    return b;
  };
  auto commit = [&](pending_batch& b) {
    REQUIRE(fx.db->write(b.rows, storage::durability::buffered).has_value());
    fx.state->committed(b.seq);
  };
  auto created = dispatch_pending("create", ref("l", "f"));
  auto box = dispatch_pending("create", ref("c", "box"));
  commit(created);
  commit(box);
  mcs_reader cached{*fx.db, {}, cache};
  mcs_reader plain{*fx.db};
  principal bob{"bob", {}, false};
  {
    auto grant = dispatch_pending(
        "grant", {{"target", ref("c", "box")}, {"principal", "user:bob"}, {"rights", "read"}});
    commit(grant);
  }
  auto bob_sees = [&](mcs_reader& r) {
    auto out = r.read(bob, "query",
                      json{{"kind", "l"}, {"conditions", {cond("creator", "=", "alice")}}}.dump());
    REQUIRE(out.has_value());
    return json::parse(*out)["items"].size();
  };
  CHECK(bob_sees(cached) == 0);                 // f is alice's and in no collection bob may read
  CHECK(cache->snapshot_stats().entries == 2);  // f and box
  // Two writes of f's row pending at once: the move into box, then the delete.
  auto moved = dispatch_pending("add_coll", {{"parent", "box"}, {"child", ref("l", "f")}});
  CHECK(cache->snapshot_stats().entries == 1);  // erased while pending: readers read the db
  CHECK(bob_sees(cached) == 0);
  auto removed = dispatch_pending("delete", ref("l", "f"));
  commit(moved);
  // Not cached: the row the move wrote is not f's newest, and its delete is not yet durable.
  CHECK(cache->snapshot_stats().entries == 1);
  CHECK(bob_sees(cached) == 1);  // the collection's grant reaches f, as the db says
  CHECK(bob_sees(plain) == 1);
  commit(removed);
  CHECK(cache->snapshot_stats().entries == 1);
  CHECK(bob_sees(cached) == 0);
  CHECK(bob_sees(plain) == 0);
  // And the other order: a move that is the newest write is cached with its collection.
  auto again = dispatch_pending("create", ref("l", "g"));
  commit(again);
  auto move_g = dispatch_pending("add_coll", {{"parent", "box"}, {"child", ref("l", "g")}});
  commit(move_g);
  CHECK(cache->snapshot_stats().entries == 2);
  CHECK(bob_sees(cached) == 1);
}

TEST_CASE("object cache: a reader with it answers as one without, under interleaved commits") {
  // Random creates, moves into collections and deletes (over collections with grants), dispatched
  // into batches that commit in order but late (several pending at once, as under group commit),
  // some failing (aborted transactions). After every step, readers with and without the cache must
  // agree, at the newest snapshot and at snapshots held from earlier steps.
  test::mcs_db fx;
  auto cache = std::make_shared<object_cache>(64 << 20);
  fx.state->use_object_cache(cache);
  REQUIRE(warm_all(*fx.state, *cache).has_value());
  std::mt19937_64 rng{20261123};
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  std::deque<pending_batch> pending;
  auto run = [&](const std::string& user, bool admin, const std::string& verb, const json& args) {
    pending_batch b;
    auto out = dispatch(*fx.state, fx.as(user, admin), verb, args.dump(), b.rows);
    b.seq = fx.state->last_seq();
    if (out) pending.push_back(std::move(b));
    return out.has_value();
  };
  const std::vector<principal> callers = {
      {"root", {}, true}, {"alice", {}, false}, {"bob", {}, false}, {"carol", {"team"}, false}};
  std::vector<std::string> queries;
  for (int v = 0; v < 4; ++v)
    queries.push_back(
        json{{"kind", "l"}, {"conditions", {cond("n", "=", std::to_string(v))}}}.dump());
  for (int c = 0; c < 4; ++c)
    queries.push_back(
        json{{"kind", "l"}, {"conditions", {cond("container", "=", "box" + std::to_string(c))}}}
            .dump());
  mcs_reader cached{*fx.db, {}, cache};
  mcs_reader plain{*fx.db};
  auto compare_readers = [&](size_t step) {
    for (const auto& who : callers)
      for (const auto& q : queries) {
        CAPTURE(step);
        CAPTURE(who.user);
        CAPTURE(q);
        REQUIRE(answer_text(cached.read(who, "query", q)) ==
                answer_text(plain.read(who, "query", q)));
      }
    // The actor's own state (the db's newest rows and its pending writes), as its writes read
    // objects and rights, with and without the cache (nothing is written in between, so nothing
    // goes untracked). Its queries read committed state (the readers above).
    for (const auto& who : callers)
      for (const char* k : {"l", "c"}) {
        CAPTURE(step);
        CAPTURE(who.user);
        auto list = json{{"kind", k}, {"limit", 1000}}.dump();
        storage::batch none;
        auto own = answer_text(dispatch(*fx.state, call_ctx{who, 0}, "list", list, none));
        fx.state->use_object_cache(nullptr);
        auto own_plain = answer_text(dispatch(*fx.state, call_ctx{who, 0}, "list", list, none));
        fx.state->use_object_cache(cache);
        REQUIRE(own == own_plain);
      }
  };
  size_t steps = 0;
  // Readers also look between a batch's write and the actor's committed() call, when the new
  // rows are visible and the cache has not been told yet.
  auto commit_oldest = [&] {
    auto& b = pending.front();
    if (!b.rows.empty()) REQUIRE(fx.db->write(b.rows, storage::durability::buffered).has_value());
    compare_readers(steps);
    fx.state->committed(b.seq);
    pending.pop_front();
  };
  // Views held at older snapshots: one with the cache, one without, on the same snapshot.
  struct held {
    const rocksdb::Snapshot* snapshot;
    std::unique_ptr<mcs_state> with, without;
  };
  std::vector<held> olds;
  auto compare_views = [&](mcs_state& with, mcs_state& without) {
    for (const auto& who : callers)
      for (const auto& q : queries) {
        storage::batch none;
        auto a = dispatch(with, call_ctx{who, 0}, "query", q, none);
        auto b = dispatch(without, call_ctx{who, 0}, "query", q, none);
        CAPTURE(who.user);
        CAPTURE(q);
        REQUIRE(answer_text(a) == answer_text(b));
      }
  };
  int next_file = 0;
  std::vector<std::string> files;
  for (int c = 0; c < 4; ++c)
    REQUIRE(run("alice", false, "create", ref("c", "box" + std::to_string(c))));
  REQUIRE(run("alice", false, "grant",
              {{"target", ref("c", "box0")}, {"principal", "user:bob"}, {"rights", "read"}}));
  REQUIRE(run("alice", false, "grant",
              {{"target", ref("c", "box1")}, {"principal", "group:team"}, {"rights", "read"}}));
  size_t moves = 0, deletes = 0, failed = 0;
  // From step 200 the cache is emptied and filled again in steps of two objects, with the
  // writes, commits and reads above going on between them (as the actor fills it at start).
  std::optional<uint64_t> warming;
  size_t warm_steps = 0;
  for (; steps < 600; ++steps) {
    if (steps == 200) {
      cache->clear();
      warming = 0;
    }
    if (warming) {
      auto step = fx.state->warm_object_cache_step(*warming, 2);
      REQUIRE(step.has_value());
      CHECK_FALSE(step->full);
      warming = step->next_id;
      ++warm_steps;
    }
    auto op = pick(10);
    if (op < 3 || files.empty()) {
      auto name = "f" + std::to_string(next_file++);
      json attrs =
          json::array({{{"name", "n"}, {"type", "int"}, {"value", std::to_string(pick(4))}}});
      auto owner = pick(3) == 0 ? std::string{"carol"} : std::string{"alice"};
      if (run(owner, false, "create", {{"kind", "l"}, {"name", name}, {"attrs", attrs}}))
        files.push_back(name);
    } else if (op < 6) {
      bool ok = run("root", true, "add_coll",
                    {{"parent", "box" + std::to_string(pick(4))},
                     {"child", ref("l", files[pick(files.size())])}});
      moves += ok ? 1 : 0;
      failed += ok ? 0 : 1;  // already in a collection: refused, nothing changed
    } else if (op < 7) {
      auto at = pick(files.size());
      bool ok = run("root", true, "delete", ref("l", files[at]));
      if (ok) files.erase(files.begin() + static_cast<long>(at));
      deletes += ok ? 1 : 0;
    } else {
      // Commit some of what is pending, oldest first.
      for (size_t n = pick(pending.size() + 1); n > 0 && !pending.empty(); --n) commit_oldest();
    }
    compare_readers(steps);
    if (steps % 50 == 0) {
      held h{fx.db->raw()->GetSnapshot(),
             std::make_unique<mcs_state>(*fx.db, mcs_limits{}, mcs_state::read_only_t{}),
             std::make_unique<mcs_state>(*fx.db, mcs_limits{}, mcs_state::read_only_t{})};
      h.with->use_object_cache(cache);
      h.with->set_snapshot(h.snapshot);
      h.without->set_snapshot(h.snapshot);
      olds.push_back(std::move(h));
    }
    if (steps % 25 == 0)
      for (auto& h : olds) compare_views(*h.with, *h.without);
  }
  while (!pending.empty()) commit_oldest();
  for (auto& h : olds) {
    compare_views(*h.with, *h.without);
    h.with->set_snapshot(nullptr);
    h.without->set_snapshot(nullptr);
    fx.db->raw()->ReleaseSnapshot(h.snapshot);
  }
  // The run exercised what it is about: moves, deletes, refused moves, and cache hits.
  CHECK(moves > 50);
  CHECK(deletes > 20);
  CHECK(failed > 10);
  CHECK(cache->snapshot_stats().hits > 1000);
  CHECK(warm_steps > 10);
  CHECK_FALSE(warming.has_value());  // the fill reached the end of the objects
  // Once everything is durable every live object is cached again.
  CHECK(cache->snapshot_stats().entries == files.size() + 4);
}
