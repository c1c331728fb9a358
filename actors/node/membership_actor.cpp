#include "actors/node/membership_actor.hpp"

#include <caf/all.hpp>
#include <optional>

#include "actors/node/membership_state.hpp"
#include "runtime/caf/commit_tracker.hpp"
#include "runtime/caf/error.hpp"
#include "runtime/log.hpp"

namespace librarian::node {
namespace {

struct membership_shell {
  std::shared_ptr<node_env> env;
  std::optional<membership_state> members;
  commit_tracker commits;
};

using self_ptr = membership_actor::stateful_pointer<membership_shell>;

membership_actor::behavior_type membership_behavior(self_ptr self, std::shared_ptr<node_env> env,
                                                    uint64_t incarnation) {
  self->state.env = env;
  auto now = [env] { return env->clock->now_unix_ms(); };
  self->state.members.emplace(env->config, incarnation, now(), env->db->get_table(peers_table));
  if (auto st = self->state.members->load(*env->db); !st) {
    LIB_LOG_ERROR("membership") << "cannot load peers: " << st.err().message;
    // Typed behaviors cannot be empty: quit now and return the behavior, which never runs.
    self->quit(to_caf(st.err()));
  }
  return {
      [=](members_atom) {
        auto promise = self->make_response_promise<std::vector<member_info>>();
        self->state.commits.submit(self, *env->committer, storage::batch{},
                                   [=](const status& st) mutable {
                                     if (!st) {
                                       promise.deliver(to_caf(st.err()));
                                       return;
                                     }
                                     promise.deliver(self->state.members->view(now()));
                                   });
        return promise;
      },
      [=](peer_up_atom, const std::string& name, const std::string& address, uint64_t inc) {
        storage::batch rows;
        if (auto st = self->state.members->peer_up(name, address, inc, now(), rows); !st) {
          LIB_LOG_WARN("membership") << st.err().message;
          return;
        }
        LIB_LOG_INFO("membership") << "peer " << name << " is up (incarnation " << inc << ")";
        // Nothing waits on this commit: last-seen rows are bookkeeping.
        self->state.commits.submit(self, *env->committer, std::move(rows), [](const status&) {});
      },
      [=](peer_down_atom, const std::string& name) {
        LIB_LOG_INFO("membership") << "peer " << name << " is down";
        self->state.members->peer_down(name, now());
      },
      [=](depth_atom) { return static_cast<uint64_t>(self->mailbox().size()); },
      [=](committed_atom, uint64_t token, uint8_t code, std::string& message) {
        self->state.commits.on_committed(token, code, std::move(message));
      },
  };
}

}  // namespace

membership_actor spawn_membership(caf::local_actor* spawner, std::shared_ptr<node_env> env,
                                  uint64_t incarnation) {
  return spawner->spawn(membership_behavior, std::move(env), incarnation);
}

}  // namespace librarian::node
