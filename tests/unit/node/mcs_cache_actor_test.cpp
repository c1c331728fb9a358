// The MCS actor keeps the object cache that HTTP readers share coherent with the database across
// the two events the state machine alone cannot see: a failed commit, and a restart while the
// previous incarnation's batch is still on its way to disk. After each, every cached object must
// be the row the newest snapshot holds.
#include <doctest/doctest.h>

#include <rocksdb/db.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "actors/mcs/mcs_actor.hpp"
#include "actors/mcs/object_cache.hpp"
#include "actors/mcs/rows.hpp"
#include "runtime/caf/error.hpp"
#include "tests/unit/node/actor_fixture.hpp"

namespace {

using namespace librarian;
using namespace librarian::mcs;
using namespace std::chrono_literals;

struct fixture : librarian::test::actor_fixture {
  std::shared_ptr<object_cache> cache = std::make_shared<object_cache>(16 << 20);
  caf::scoped_actor spawner{sys};

  fixture() : actor_fixture("mcs-actor") { env->mcs_objects = cache; }

  // Sends one request as admin from a fresh actor; the reply (or error name) lands in `out`.
  void ask(const mcs_actor& mcs, std::optional<std::string>& out, const std::string& verb,
           const std::string& args) {
    sys.spawn([&out, mcs, verb, args](caf::event_based_actor* self) {
      self->request(mcs, 10s, mcs_atom_v, std::string{"admin"}, std::vector<std::string>{}, true,
                    verb, args)
          .then([&out](const std::string& reply) { out = reply; },
                [&out](caf::error& err) { out = std::string{name(from_caf(err).code)}; });
    });
    sched.run();
  }
  void release_all() {
    while (committer->held() > 0) {
      committer->release_one();
      sched.run();
    }
  }
  // A request whose batch is committed before this returns.
  void write(const mcs_actor& mcs, const std::string& verb, const std::string& args) {
    std::optional<std::string> out;
    ask(mcs, out, verb, args);
    release_all();
    REQUIRE_MESSAGE((out && out->starts_with("{")), verb << ": " << out.value_or("no reply"));
  }

  // Every cached object against the row the newest snapshot holds; returns the number checked.
  size_t check_cache_matches_db() {
    auto objects = db->get_table(objects_table);
    uint64_t newest = db->raw()->GetLatestSequenceNumber();
    std::unique_ptr<rocksdb::Iterator> it{db->raw()->NewIterator({}, objects.handle)};
    size_t rows = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      storage::key_reader key{std::string_view{it->key().data(), it->key().size()}};
      auto id = key.read_u64();
      auto row = storage::decode<mcs_state::object_row>(
          std::string_view{it->value().data(), it->value().size()});
      REQUIRE(id.has_value());
      REQUIRE(row.has_value());
      ++rows;
      object_cache::object cached;
      if (!cache->peek(*id, newest, cached)) continue;
      CHECK_MESSAGE(cached.name == row->name, "object " << *id);
      CHECK_MESSAGE(cached.container == row->container, "object " << *id << " " << row->name);
      CHECK(cached.version == row->version);
      CHECK(cached.owner == row->owner);
      CHECK(cached.k == row->k);
    }
    return rows;
  }
};

const std::string file_x = R"({"kind":"l","name":"x"})";
const std::string box = R"({"kind":"c","name":"box"})";
const std::string x_into_box = R"({"parent":"box","child":{"kind":"l","name":"x"}})";

}  // namespace

TEST_CASE_FIXTURE(fixture, "a failed commit leaves nothing of its rows in the object cache") {
  auto mcs = spawn_mcs(spawner.ptr(), env);
  sched.run();
  release_all();  // the start's barrier; the cache is filled (empty catalog)
  write(mcs, "create", file_x);
  write(mcs, "create", box);
  REQUIRE(cache->snapshot_stats().entries == 2);
  // x moves into the box (its object row changes); a request that writes nothing queues behind
  // it; then the disk fails the move.
  std::optional<std::string> moved, listed;
  ask(mcs, moved, "add_coll", x_into_box);
  ask(mcs, listed, "listattributes", "{}");
  REQUIRE_MESSAGE(committer->held() == 1, moved.value_or("no reply"));
  committer->fail_one(fail(errc::internal, "I/O error: disk on fire"));
  sched.run();
  CHECK(moved == "internal");
  CHECK(check_cache_matches_db() == 2);
  caf::anon_send_exit(mcs, caf::exit_reason::kill);
  sched.run();
}

TEST_CASE_FIXTURE(fixture, "a restarted catalog fills its cache after its predecessor's batches") {
  auto first = spawn_mcs(spawner.ptr(), env);
  sched.run();
  release_all();
  write(first, "create", file_x);
  write(first, "create", box);
  // The move is on its way to disk when the actor dies; its successor starts at once.
  std::optional<std::string> moved;
  ask(first, moved, "add_coll", x_into_box);
  REQUIRE(committer->held() == 1);
  caf::anon_send_exit(first, caf::exit_reason::kill);
  sched.run();
  auto second = spawn_mcs(spawner.ptr(), env);
  sched.run();
  release_all();             // the move lands, then the successor's barrier
  sched.trigger_timeouts();  // nobody answers the dead actor's request: it times out
  sched.run();
  CHECK(moved.has_value());
  CHECK(cache->snapshot_stats().entries == 2);
  CHECK(check_cache_matches_db() == 2);
  // And the successor keeps it: another move, committed, is cached as committed.
  write(second, "create", R"({"kind":"c","name":"crate"})");
  write(second, "add_coll", R"({"parent":"crate","child":{"kind":"c","name":"box"}})");
  CHECK(check_cache_matches_db() == 3);
  caf::anon_send_exit(second, caf::exit_reason::kill);
  sched.run();
}

TEST_CASE_FIXTURE(fixture, "the actor's reads answer from committed state, behind pending writes") {
  // Index and audit rows of pending writes are not in the catalog's overlay (write-only tables):
  // a read the actor ran on its own state would miss them, or trip the overlay's assertion.
  // It reads committed state instead, as the HTTP API's readers do.
  auto mcs = spawn_mcs(spawner.ptr(), env);
  sched.run();
  release_all();
  const std::string n_is_1 = R"({"kind":"l","conditions":[{"attr":"n","op":"=","value":"1"}]})";
  write(mcs, "create",
        R"({"kind":"l","name":"a","attrs":[{"name":"n","type":"int","value":"1"}]})");
  std::optional<std::string> created, found, audit;
  ask(mcs, created, "create",
      R"({"kind":"l","name":"b","attrs":[{"name":"n","type":"int","value":"1"}]})");
  REQUIRE(committer->held() == 1);  // b is pending
  ask(mcs, found, "query", n_is_1);
  ask(mcs, audit, "audit", R"({"kind":"l","name":"b"})");
  CHECK_FALSE(found.has_value());  // every reply waits behind the commits handed off before it
  release_all();
  REQUIRE(created.has_value());
  REQUIRE(found.has_value());
  auto first = nlohmann::json::parse(*found, nullptr, false);
  REQUIRE_MESSAGE(first.is_object(), *found);
  REQUIRE(first["items"].size() == 1);
  CHECK(first["items"][0]["name"] == "a");
  CHECK(audit == "not_found");  // b did not exist yet in what the read saw
  // Once b is durable, the same reads see it.
  std::optional<std::string> again, audit_again;
  ask(mcs, again, "query", n_is_1);
  ask(mcs, audit_again, "audit", R"({"kind":"l","name":"b"})");
  release_all();
  REQUIRE(again.has_value());
  CHECK(nlohmann::json::parse(*again)["items"].size() == 2);
  REQUIRE(audit_again.has_value());
  CHECK(audit_again->find("create") != std::string::npos);
  caf::anon_send_exit(mcs, caf::exit_reason::kill);
  sched.run();
}
