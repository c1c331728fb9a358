// The LRC writes its change log only while an immediate-mode target reads it. A target added at
// run time turns the log on; a change handed out before that has no row in it, so the target's
// first full list must wait for that change to be durable and include it. Its increments then
// continue from the log.
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "actors/rls/lrc_actor.hpp"
#include "actors/rls/lrc_state.hpp"
#include "runtime/caf/error.hpp"
#include "tests/unit/node/actor_fixture.hpp"

namespace {

using namespace librarian;
using namespace librarian::rls;
using namespace std::chrono_literals;
using names = std::vector<std::string>;

struct fixture : librarian::test::actor_fixture {
  caf::scoped_actor spawner{sys};
  // What the LRC sends to RLIs through its node: every message for an actor named "rli".
  std::shared_ptr<std::vector<caf::message>> to_rli = std::make_shared<std::vector<caf::message>>();
  caf::actor node;

  fixture() : actor_fixture("lrc-change-log") {
    env->config.name = "a";
    env->config.rls.rli = true;  // the LRC may update this node's own RLI
    auto sink = to_rli;
    node = sys.spawn([sink](caf::event_based_actor* self) -> caf::behavior {
      self->set_default_handler(caf::drop);
      return {[sink](atoms::inject_atom, const std::string& actor, caf::message& msg) {
        if (actor == "rli") sink->push_back(std::move(msg));
      }};
    });
  }
  ~fixture() {
    caf::anon_send_exit(node, caf::exit_reason::kill);
    sched.run();
  }

  void release_all() {
    while (committer->held() > 0) {
      committer->release_one();
      sched.run();
    }
  }
  // Sends a create; the reply (or error name) lands in `out` once its batch is released.
  void create(const lrc_actor& lrc, const std::string& lfn, std::optional<std::string>& out) {
    sys.spawn([&out, lrc, lfn](caf::event_based_actor* self) {
      self->request(lrc, 10s, create_atom_v, lfn, "gsiftp://a/" + lfn)
          .then([&out](const mapping& m) { out = m.lfn; },
                [&out](caf::error& err) { out = std::string{name(from_caf(err).code)}; });
    });
    sched.run();
  }
  size_t change_rows() {
    auto page = db->scan_prefix(db->get_table(lrc_changes_table), "", 1000);
    REQUIRE(page.has_value());
    return page->rows.size();
  }
  template <class... Ts>
  size_t count_of() {
    size_t n = 0;
    for (auto& msg : *to_rli) n += msg.match_elements<Ts...>() ? 1 : 0;
    return n;
  }
  // The LFNs of every full-list chunk sent so far, and the generation of the last list begun.
  names listed(uint64_t& generation) {
    names out;
    for (auto& msg : *to_rli) {
      if (msg.match_elements<rli_begin_atom, std::string, uint64_t, int64_t>())
        generation = msg.get_as<uint64_t>(2);
      if (msg.match_elements<rli_chunk_atom, std::string, uint64_t, uint32_t, names>())
        for (const auto& lfn : msg.get_as<names>(4)) out.push_back(lfn);
    }
    return out;
  }
  // The LFNs added by every increment sent so far, and where the first one started.
  names incremented(uint64_t& first_from) {
    names out;
    bool first = true;
    for (auto& msg : *to_rli) {
      if (!msg.match_elements<rli_incr_atom, std::string, uint64_t, uint64_t, names, names,
                              int64_t>())
        continue;
      if (first) first_from = msg.get_as<uint64_t>(2);
      first = false;
      for (const auto& lfn : msg.get_as<names>(4)) out.push_back(lfn);
    }
    return out;
  }
};

}  // namespace

TEST_CASE_FIXTURE(fixture, "an immediate target added at run time lists what the log missed") {
  auto lrc = spawn_lrc(spawner.ptr(), env, node);
  sched.run();
  release_all();
  // No update target: a create writes its mapping rows but no change row.
  std::optional<std::string> one, two, added, three;
  create(lrc, "lfn://1", one);
  release_all();
  REQUIRE(one == "lfn://1");
  CHECK(change_rows() == 0);

  // lfn://2 is on its way to disk when an immediate-mode target is added.
  create(lrc, "lfn://2", two);
  REQUIRE(committer->held() == 1);
  sys.spawn([&added, lrc](caf::event_based_actor* self) {
    self->request(lrc, 10s, targets_atom_v, add_atom_v, std::string{"a"}, std::string{"immediate"},
                  int64_t{1000}, std::vector<std::string>{})
        .then([&added](const std::vector<std::string>&) { added = "ok"; },
              [&added](caf::error& err) { added = std::string{name(from_caf(err).code)}; });
  });
  sched.run();
  // The target's first tick (100 ms after it was added) asks for a full list, which must not
  // start while lfn://2 is pending: the list would miss it, and so would the log.
  REQUIRE(sched.trigger_timeout());
  sched.run();
  uint64_t generation = 0;
  CHECK(listed(generation).empty());
  // The next tick finds the list still waiting: it adds no second one.
  REQUIRE(sched.trigger_timeout());
  sched.run();
  CHECK(listed(generation).empty());
  release_all();
  CHECK(count_of<rli_begin_atom, std::string, uint64_t, int64_t>() == 1);
  REQUIRE(two == "lfn://2");
  REQUIRE(added == "ok");
  CHECK(listed(generation) == names{"lfn://1", "lfn://2"});
  CHECK(generation == 2);  // seq of lfn://2 (incarnation 0)

  // A change after the list is in the log and goes out as an increment from the list's position.
  create(lrc, "lfn://3", three);
  release_all();
  REQUIRE(three == "lfn://3");
  CHECK(change_rows() == 1);
  uint64_t from = 0;
  for (int i = 0; i < 3 && incremented(from).empty(); ++i) {
    REQUIRE(sched.trigger_timeout());  // the next tick or the buffer's flush
    sched.run();
  }
  CHECK(incremented(from) == names{"lfn://3"});
  CHECK(from == 2);

  // Without an immediate target the log is off again: a change writes no row.
  std::optional<std::string> removed;
  sys.spawn([&removed, lrc](caf::event_based_actor* self) {
    self->request(lrc, 10s, targets_atom_v, remove_atom_v, std::string{"a"})
        .then([&removed](const std::vector<std::string>&) { removed = "ok"; },
              [&removed](caf::error& err) { removed = std::string{name(from_caf(err).code)}; });
  });
  sched.run();
  release_all();
  REQUIRE(removed == "ok");
  auto rows_before = change_rows();
  std::optional<std::string> four;
  create(lrc, "lfn://4", four);
  release_all();
  REQUIRE(four == "lfn://4");
  CHECK(change_rows() == rows_before);
  caf::anon_send_exit(lrc, caf::exit_reason::kill);
  sched.run();
}
