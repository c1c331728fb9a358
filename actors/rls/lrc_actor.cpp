#include "actors/rls/lrc_actor.hpp"

#include <caf/all.hpp>
#include <optional>

#include "actors/rls/glob.hpp"
#include "actors/rls/lrc_state.hpp"
#include "runtime/caf/commit_tracker.hpp"
#include "runtime/caf/error.hpp"
#include "runtime/log.hpp"

namespace librarian::rls {
namespace {

struct lrc_shell {
  std::shared_ptr<node::node_env> env;
  caf::actor node;
  std::optional<lrc_state> lrc;
  commit_tracker commits;
  std::vector<std::vector<glob>> target_globs;  // per update target; empty: every LFN
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

// Sends one soft-state message to the RLI of update target `target`: locally through the node,
// to a peer through the transport (DESIGN.md §4.1).
void send_to_rli(self_ptr self, uint32_t target, caf::message msg) {
  const auto& cfg = self->state.env->config;
  const auto& rli = cfg.rls.update_rlis.at(target).name;
  if (rli == cfg.name) {
    caf::anon_send(self->state.node, inject_atom_v, std::string{"rli"}, std::move(msg));
    return;
  }
  // Anonymous: a typed actor may not send to the dynamically typed node, and no reply is wanted.
  caf::anon_send(self->state.node, inject_atom_v, std::string{"transport"},
                 caf::make_message(forward_atom_v, rli, std::string{"rli"}, std::move(msg)));
}

// Partitioning: a target takes only the LFNs matching one of its patterns.
bool selected(self_ptr self, uint32_t target, const std::string& lfn) {
  const auto& globs = self->state.target_globs.at(target);
  if (globs.empty()) return true;
  for (const auto& g : globs)
    if (glob_match(g, lfn)) return true;
  return false;
}

// One chunk of a full update; the next is a message to ourselves, so a large catalog never
// holds the actor for long (requests interleave between chunks).
void send_next_chunk(self_ptr self, uint32_t target, uint64_t generation, uint32_t index,
                     const std::string& after) {
  const auto& t = self->state.env->config.rls.update_rlis.at(target);
  auto page = self->state.lrc->list_lfns(after, t.chunk_lfns);
  if (!page) {
    LIB_LOG_WARN("lrc") << "update of RLI " << t.name << " stopped: " << page.err().describe();
    return;
  }
  std::vector<std::string> lfns;
  for (auto& lfn : page->items)
    if (selected(self, target, lfn)) lfns.push_back(lfn);
  auto last = page->items.empty() ? after : page->items.back();
  send_to_rli(self, target,
              caf::make_message(rli_chunk_atom_v, self->state.env->config.name, generation, index,
                                std::move(lfns)));
  if (page->more) {
    self->send(self, rli_next_atom_v, target, generation, index + 1, last);
    return;
  }
  send_to_rli(
      self, target,
      caf::make_message(rli_end_atom_v, self->state.env->config.name, generation, index + 1));
}

void start_full_update(self_ptr self, uint32_t target) {
  const auto& t = self->state.env->config.rls.update_rlis.at(target);
  // Generations must grow even across a crash that lost writes the old incarnation had already
  // counted: the node's incarnation goes in the high bits.
  auto generation = (self->state.env->incarnation << 40) | self->state.lrc->last_seq();
  send_to_rli(
      self, target,
      caf::make_message(rli_begin_atom_v, self->state.env->config.name, generation, t.interval_ms));
  send_next_chunk(self, target, generation, 0, "");
  self->delayed_send(self, std::chrono::milliseconds(t.interval_ms), rli_tick_atom_v, target);
}

lrc_actor::behavior_type lrc_behavior(self_ptr self, std::shared_ptr<node::node_env> env,
                                      caf::actor node) {
  self->state.env = env;
  self->state.node = std::move(node);
  for (const auto& t : env->config.rls.update_rlis) {
    auto& globs = self->state.target_globs.emplace_back();
    for (const auto& p : t.patterns) {
      auto parsed = parse_glob(p, 4096);
      if (parsed)
        globs.push_back(std::move(*parsed));
      else
        LIB_LOG_ERROR("lrc") << "RLI " << t.name
                             << ": pattern ignored: " << parsed.err().describe();
    }
  }
  // The first update soon after start, so a restarted RLI or LRC is current quickly.
  for (uint32_t i = 0; i < env->config.rls.update_rlis.size(); ++i)
    self->delayed_send(self, std::chrono::milliseconds(100), rli_tick_atom_v, i);
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
      [=](rli_tick_atom, uint32_t target) { start_full_update(self, target); },
      [=](rli_next_atom, uint32_t target, uint64_t generation, uint32_t index,
          const std::string& after) { send_next_chunk(self, target, generation, index, after); },
      [=](committed_atom, uint64_t token, uint8_t code, std::string& message) {
        self->state.commits.on_committed(token, code, std::move(message));
      },
      [=, &lrc](attach_atom, const std::string& lfn, const std::string& pfn,
                const storage::row_list& extra) {
        // The mapping first, in its own batch: a refused mapping appends nothing, and then the
        // caller's rows must not be committed either.
        storage::batch mapping_rows;
        auto st = lrc.add(lfn, pfn, mapping_rows);
        if (!st && st.err().code == errc::not_found) st = lrc.create(lfn, pfn, mapping_rows);
        if (!st) return reply_now(self, expected<mapping>{st.err()});
        storage::batch rows;
        storage::append_rows(*self->state.env->db, extra, rows);
        rows.append(std::move(mapping_rows));
        return reply_after_commit(self, std::move(rows), expected<mapping>{mapping{lfn, pfn}});
      },
  };
}

}  // namespace

lrc_actor spawn_lrc(caf::local_actor* spawner, std::shared_ptr<node::node_env> env,
                    caf::actor node) {
  return spawner->spawn(lrc_behavior, std::move(env), std::move(node));
}

}  // namespace librarian::rls
