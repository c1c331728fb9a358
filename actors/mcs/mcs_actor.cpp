// The MCS actor shell: one request -> one state machine call -> its rows to the group committer,
// and the reply only once they are durable (commit before announce). Nothing clever lives here.
#include "actors/mcs/mcs_actor.hpp"

#include <caf/all.hpp>
#include <optional>

#include "actors/mcs/dispatch.hpp"
#include "actors/mcs/mcs_state.hpp"
#include "runtime/caf/commit_tracker.hpp"
#include "runtime/caf/error.hpp"
#include "runtime/log.hpp"

namespace librarian::mcs {
namespace {

struct mcs_shell {
  std::shared_ptr<node::node_env> env;
  std::optional<mcs_state> catalog;
  commit_tracker commits;
};

using self_ptr = mcs_actor::stateful_pointer<mcs_shell>;

mcs_actor::behavior_type mcs_behavior(self_ptr self, std::shared_ptr<node::node_env> env) {
  self->state.env = env;
  self->state.catalog.emplace(*env->db);
  if (auto st = self->state.catalog->load(); !st) {
    LIB_LOG_ERROR("mcs") << "cannot load the metadata catalog: " << st.err().message;
    self->quit(to_caf(st.err()));  // typed behaviors cannot be empty; this one never runs
  }
  return {
      [=](mcs_atom, std::string& user, std::vector<std::string>& groups, bool admin,
          const std::string& verb, const std::string& args) {
        auto& catalog = *self->state.catalog;
        // Timestamps come from the injected wall clock, so simulation controls them.
        call_ctx c{principal{std::move(user), std::move(groups), admin},
                   self->state.env->clock->now_unix_ms() * 1000};
        storage::batch rows;
        auto reply = dispatch(catalog, c, verb, args, rows);
        // The node's own announcements get no answer anyone reads: say here when one fails.
        if (!reply && is_internal_verb(verb))
          LIB_LOG_WARN("mcs") << verb << " failed: " << reply.err().message;
        auto seq = catalog.last_seq();
        return reply_after_commit(self, self->state.commits, *self->state.env->committer,
                                  std::move(rows), std::move(reply),
                                  [self, seq] { self->state.catalog->committed(seq); });
      },
      [=](depth_atom) { return static_cast<uint64_t>(self->mailbox().size()); },
      [=](committed_atom, uint64_t token, uint8_t code, std::string& message) {
        self->state.commits.on_committed(token, code, std::move(message));
      },
  };
}

}  // namespace

mcs_actor spawn_mcs(caf::local_actor* spawner, std::shared_ptr<node::node_env> env) {
  return spawner->spawn(mcs_behavior, std::move(env));
}

}  // namespace librarian::mcs
