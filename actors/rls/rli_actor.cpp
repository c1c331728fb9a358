// The RLI actor: the shell around rli_state. Soft state lives in memory and is rebuilt from the
// LRCs' next updates after a restart (the point of soft state); it expires on a timer.
#include <caf/all.hpp>

#include "actors/rls/lrc_actor.hpp"
#include "actors/rls/rli_state.hpp"
#include "runtime/caf/error.hpp"
#include "runtime/log.hpp"

namespace librarian::rls {
namespace {

using namespace std::chrono_literals;
constexpr auto expiry_tick = 1s;

struct rli_shell {
  std::shared_ptr<node::node_env> env;
  std::optional<rli_state> rli;
};

using self_ptr = rli_actor::stateful_pointer<rli_shell>;

void log_refused(const char* what, const std::string& lrc, const error& err) {
  LIB_LOG_WARN("rli") << "refused " << what << " from LRC " << lrc << ": " << err.describe();
}

rli_actor::behavior_type rli_behavior(self_ptr self, std::shared_ptr<node::node_env> env) {
  self->state.env = env;
  rli_limits limits;
  limits.staleness_factor_permille = static_cast<uint32_t>(env->config.rls.staleness_permille);
  self->state.rli.emplace(limits);
  auto now = [env] { return static_cast<uint64_t>(env->clock->now_unix_ms()); };
  self->delayed_send(self, expiry_tick, tick_atom_v);
  return {
      [=](rli_begin_atom, const std::string& lrc, uint64_t generation, int64_t interval_ms) {
        auto r = self->state.rli->begin_full_update(lrc, generation, now(),
                                                    static_cast<uint64_t>(interval_ms));
        LIB_LOG_DEBUG(env->config.name + "/rli")
            << "begin from " << lrc << " generation " << generation << ": "
            << (r ? static_cast<int>(*r) : -1);
        if (!r) log_refused("a full update", lrc, r.err());
      },
      [=](rli_chunk_atom, const std::string& lrc, uint64_t generation, uint32_t index,
          std::vector<std::string>& lfns) {
        auto r = self->state.rli->add_chunk(lrc, generation, index, std::move(lfns), now());
        if (!r) log_refused("a chunk", lrc, r.err());
      },
      [=](rli_end_atom, const std::string& lrc, uint64_t generation, uint32_t count) {
        auto r = self->state.rli->end_full_update(lrc, generation, count, now());
        LIB_LOG_DEBUG(env->config.name + "/rli")
            << "end from " << lrc << " generation " << generation << " chunks " << count << ": "
            << (r ? static_cast<int>(*r) : -1);
        if (!r) log_refused("the end of an update", lrc, r.err());
      },
      [=](query_atom, const std::string& lfn) -> caf::result<std::vector<std::string>> {
        auto hits = self->state.rli->query_lfn(lfn, now());
        if (!hits) return to_caf(hits.err());
        std::vector<std::string> out;
        for (const auto& hit : *hits) out.push_back(hit.maybe ? hit.lrc + " maybe" : hit.lrc);
        return out;
      },
      [=](list_atom) {
        std::vector<std::string> out;
        for (const auto& s : self->state.rli->lrcs(now()))
          out.push_back(s.lrc + " lfns=" + std::to_string(s.lfn_count) + " mode=" +
                        (s.mode == rli_mode::bloom ? "bloom" : "list") + (s.stale ? " stale" : ""));
        return out;
      },
      [=](depth_atom) { return static_cast<uint64_t>(self->mailbox().size()); },
      [=](tick_atom) {
        static_cast<void>(self->state.rli->expire(now()));
        self->delayed_send(self, expiry_tick, tick_atom_v);
      },
  };
}

}  // namespace

rli_actor spawn_rli(caf::local_actor* spawner, std::shared_ptr<node::node_env> env) {
  return spawner->spawn(rli_behavior, std::move(env));
}

}  // namespace librarian::rls
