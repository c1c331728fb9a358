#include "actors/rls/lrc_actor.hpp"

#include <caf/all.hpp>
#include <optional>

#include "actors/rls/lrc_state.hpp"
#include "runtime/caf/commit_tracker.hpp"
#include "runtime/caf/error.hpp"
#include "runtime/log.hpp"

namespace librarian::rls {
namespace {

struct lrc_shell {
  std::shared_ptr<node::node_env> env;
  std::optional<lrc_state> lrc;
  commit_tracker commits;
};

using self_ptr = lrc_actor::stateful_pointer<lrc_shell>;

// Replies once `rows` are durable and then tells the state machine which changes are on disk
// (its overlay of pending writes forgets them).
template <class T>
caf::typed_response_promise<T> reply_after_commit(self_ptr self, storage::batch rows,
                                                  expected<T> outcome) {
  auto seq = self->state.lrc->last_seq();
  return librarian::reply_after_commit(self, self->state.commits, *self->state.env->committer,
                                       std::move(rows), std::move(outcome),
                                       [self, seq] { self->state.lrc->committed(seq); });
}

template <class T>
caf::typed_response_promise<T> reply_now(self_ptr self, expected<T> outcome) {
  // Still through the tracker: a reply waits behind pending commits (commit before announce).
  return reply_after_commit(self, storage::batch{}, std::move(outcome));
}

expected<mapping> mutation(status st, std::string lfn, std::string pfn) {
  if (!st) return st.err();
  return mapping{std::move(lfn), std::move(pfn)};
}

lrc_actor::behavior_type lrc_behavior(self_ptr self, std::shared_ptr<node::node_env> env) {
  self->state.env = env;
  self->state.lrc.emplace(*env->db);
  if (auto st = self->state.lrc->load(); !st) {
    LIB_LOG_ERROR("lrc") << "cannot load the replica catalog: " << st.err().message;
    self->quit(to_caf(st.err()));  // typed behaviors cannot be empty; this one never runs
  }
  auto& lrc = *self->state.lrc;
  return {
      [=, &lrc](create_atom, const std::string& lfn, const std::string& pfn) {
        storage::batch rows;
        auto st = lrc.create(lfn, pfn, rows);
        return reply_after_commit(self, std::move(rows), mutation(std::move(st), lfn, pfn));
      },
      [=, &lrc](add_atom, const std::string& lfn, const std::string& pfn) {
        storage::batch rows;
        auto st = lrc.add(lfn, pfn, rows);
        return reply_after_commit(self, std::move(rows), mutation(std::move(st), lfn, pfn));
      },
      [=, &lrc](remove_atom, const std::string& lfn, const std::string& pfn) {
        storage::batch rows;
        auto st = lrc.remove(lfn, pfn, rows);
        return reply_after_commit(self, std::move(rows), mutation(std::move(st), lfn, pfn));
      },
      [=, &lrc](rename_atom, const std::string& old_lfn, const std::string& new_lfn) {
        storage::batch rows;
        auto st = lrc.rename_lfn(old_lfn, new_lfn, rows);
        return reply_after_commit(self, std::move(rows), mutation(std::move(st), old_lfn, new_lfn));
      },
      [=, &lrc](exists_atom, const std::string& lfn) {
        return reply_now(self, lrc.exists_lfn(lfn));
      },
      [=, &lrc](query_atom, const std::string& lfn, uint64_t offset, uint64_t reslimit) {
        return reply_now(self, lrc.query_lfn(lfn, offset, reslimit));
      },
      [=, &lrc](query_pfn_atom, const std::string& pfn, uint64_t offset, uint64_t reslimit) {
        return reply_now(self, lrc.query_pfn(pfn, offset, reslimit));
      },
      [=, &lrc](wildcard_atom, const std::string& pattern, uint64_t offset, uint64_t reslimit) {
        return reply_now(self, lrc.query_lfn_wildcard(pattern, offset, reslimit));
      },
      [=, &lrc](count_atom) -> caf::result<uint64_t, uint64_t> {
        return {lrc.lfn_count(), lrc.mapping_count()};
      },
      [=](depth_atom) { return static_cast<uint64_t>(self->mailbox().size()); },
      [=](committed_atom, uint64_t token, uint8_t code, std::string& message) {
        self->state.commits.on_committed(token, code, std::move(message));
      },
  };
}

}  // namespace

lrc_actor spawn_lrc(caf::local_actor* spawner, std::shared_ptr<node::node_env> env) {
  return spawner->spawn(lrc_behavior, std::move(env));
}

}  // namespace librarian::rls
