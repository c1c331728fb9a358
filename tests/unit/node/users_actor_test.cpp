// The users actor under CAF's deterministic test coordinator: replies wait for the commit (commit
// before announce), including read-only replies queued behind a pending write, or a failed one.
#include <doctest/doctest.h>

#include <caf/all.hpp>

#include "actors/node/interface.hpp"
#include "actors/node/users_actor.hpp"
#include "runtime/caf/error.hpp"
#include "tests/unit/node/actor_fixture.hpp"

namespace {

using namespace librarian;
using namespace librarian::node;
using namespace std::chrono_literals;

struct fixture : librarian::test::actor_fixture {
  fixture() : actor_fixture("users-actor") {}
};

// Sends one request from a fresh actor and records the reply (or error) as text.
template <class Reply, class... Ts>
void ask(caf::actor_system& sys, const users_actor& users, std::optional<std::string>& out,
         Ts... xs) {
  sys.spawn([&out, users, xs...](caf::event_based_actor* self) {
    self->request(users, 10s, xs...)
        .then([&out](const Reply&) { out = "ok"; },
              [&out](caf::error& err) { out = std::string{name(from_caf(err).code)}; });
  });
}

}  // namespace

TEST_CASE_FIXTURE(fixture, "a created user is announced only after its rows are durable") {
  caf::scoped_actor spawner{sys};
  auto users = spawn_users(spawner.ptr(), env);
  sched.run();
  std::optional<std::string> created;
  std::optional<std::string> looked_up;
  ask<user_info>(sys, users, created, create_atom_v, user_record{"alice", "ADMIN", "h", 0, 0});
  sched.run();
  ask<user_info>(sys, users, looked_up, lookup_atom_v, std::string{"alice"});
  sched.run();
  CHECK(committer->held() == 1);
  CHECK_FALSE(created.has_value());    // the write is not durable yet
  CHECK_FALSE(looked_up.has_value());  // nor may a read reveal it
  committer->release_one();
  sched.run();
  CHECK(created == "ok");
  CHECK(looked_up == "ok");
  caf::anon_send_exit(users, caf::exit_reason::user_shutdown);
  sched.run();
}

TEST_CASE_FIXTURE(fixture, "a failed commit fails the reply and stops the actor for a restart") {
  caf::scoped_actor spawner{sys};
  auto users = spawn_users(spawner.ptr(), env);
  sched.run();
  std::optional<std::string> created;
  ask<user_info>(sys, users, created, create_atom_v, user_record{"bob", "ADMIN", "h", 0, 0});
  sched.run();
  REQUIRE(committer->held() == 1);
  committer->fail_one(fail(errc::internal, "I/O error: disk on fire"));
  sched.run();
  CHECK(created == "internal");
  std::optional<std::string> after;
  ask<std::vector<user_info>>(sys, users, after, list_atom_v);
  sched.run();
  CHECK(after == "unavailable");  // the actor is gone; the supervisor would restart it
}

TEST_CASE_FIXTURE(fixture, "a read queued behind a failed write does not answer from it") {
  caf::scoped_actor spawner{sys};
  auto users = spawn_users(spawner.ptr(), env);
  sched.run();
  std::optional<std::string> created;
  std::optional<std::string> looked_up;
  ask<user_info>(sys, users, created, create_atom_v, user_record{"carol", "ADMIN", "h", 0, 0});
  sched.run();
  ask<user_info>(sys, users, looked_up, lookup_atom_v, std::string{"carol"});
  sched.run();
  REQUIRE(committer->held() == 1);
  CHECK_FALSE(looked_up.has_value());
  committer->fail_one(fail(errc::internal, "I/O error: disk on fire"));
  sched.run();
  CHECK(created == "internal");
  // carol was never written: the read that saw her in memory must not say she exists.
  REQUIRE(looked_up.has_value());
  CHECK(*looked_up != "ok");
}
