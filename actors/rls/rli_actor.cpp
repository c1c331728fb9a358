// The RLI actor: the shell around rli_state. List-mode state is written through to RocksDB
// (rli_store) and reloaded after a restart; Bloom filters live in memory and are rebuilt from the
// LRCs' next updates (the point of soft state). State expires on a timer. Updates it accepts are
// forwarded to the parent RLIs of the hierarchy (rls.forward_rlis).
#include <caf/all.hpp>

#include <map>
#include <set>

#include "actors/node/route.hpp"
#include "actors/rls/lrc_actor.hpp"
#include "actors/rls/rli_state.hpp"
#include "actors/rls/rli_store.hpp"
#include "runtime/caf/error.hpp"
#include "runtime/log.hpp"
#include "storage/committer.hpp"
#include "storage/keys.hpp"

namespace librarian::rls {
namespace {

using namespace std::chrono_literals;
constexpr auto expiry_tick = 1s;
constexpr uint32_t forward_hops_max = 8;      // a forwarding loop dies out after this many hops
constexpr int64_t resync_gap_ms = 500;        // at most one resync request per LRC this often
constexpr size_t resync_memory_max = 4096;    // LRC names remembered for that limit
constexpr size_t cleanup_rows_max = 100'000;  // rows of a lost LRC deleted per batch

struct rli_counters {
  uint64_t received = 0;
  uint64_t refused = 0;
  uint64_t forwarded = 0;
  uint64_t resyncs_asked = 0;
  uint64_t persist_failures = 0;
};

struct rli_shell {
  std::shared_ptr<node::node_env> env;
  caf::actor node;
  std::optional<rli_state> rli;
  std::map<std::string, int64_t> last_resync_ms;
  rli_counters counters;
};

using self_ptr = rli_actor::stateful_pointer<rli_shell>;

int64_t now_ms(self_ptr self) {
  return self->state.env->clock->now_unix_ms();
}

uint64_t now_u64(self_ptr self) {
  return static_cast<uint64_t>(now_ms(self));
}

// A peer's interval is data: a negative one becomes huge and is refused by validation.
uint64_t interval_of(int64_t interval_ms) {
  return static_cast<uint64_t>(interval_ms);
}

// To actor `actor` on node `node_name` (DESIGN.md §4.1).
void send_to_node(self_ptr self, const std::string& node_name, const char* actor,
                  caf::message msg) {
  node::send_to_node(self->state.node, self->state.env->config.name, node_name, actor,
                     std::move(msg));
}

// Writes the state machine's journal. A failed write leaves the disk behind memory, so the LRCs
// it touched are forgotten (memory and disk) and rebuilt from their next full updates.
void persist(self_ptr self, std::vector<rli_persist_op> ops) {
  if (ops.empty()) return;
  std::vector<std::string> lrcs;
  for (const auto& op : ops)
    if (lrcs.empty() || lrcs.back() != op.lrc) lrcs.push_back(op.lrc);
  storage::batch rows;
  persist_ops(*self->state.env->db, ops, rows);
  auto handle = caf::actor_cast<caf::actor>(self);
  self->state.env->committer->submit(std::move(rows), [handle, lrcs](status st) {
    if (!st) caf::anon_send(handle, rli_lost_atom_v, lrcs);
  });
}

void persist_journal(self_ptr self) {
  persist(self, self->state.rli->take_persist_ops());
}

// After a failed write: forget the LRCs and delete whatever rows of theirs are on disk.
void forget_lost(self_ptr self, const std::vector<std::string>& lrcs) {
  auto& st = self->state;
  ++st.counters.persist_failures;
  const auto& db = *st.env->db;
  auto lists = db.get_table(rli_lists_table);
  auto meta = db.get_table(rli_meta_table);
  storage::batch rows;
  for (const auto& lrc : lrcs) {
    LIB_LOG_WARN("rli") << "state of LRC " << lrc
                        << " could not be written; forgotten until its next full update";
    st.rli->forget(lrc);
    auto key = storage::string_key(lrc);
    rows.del(meta, key);
    auto page = db.scan_prefix(lists, key, cleanup_rows_max);
    if (page)
      for (const auto& row : page->rows) rows.del(lists, row.key);
  }
  static_cast<void>(st.rli->take_persist_ops());
  // If this fails too, the rows stay until the LRC's state is replaced or expires at reload.
  st.env->committer->submit(std::move(rows), [](status) {});
}

// The LRC must send a full list (this RLI lost one of its increments).
void ask_resync(self_ptr self, const std::string& lrc) {
  auto& st = self->state;
  auto now = now_ms(self);
  if (st.last_resync_ms.size() >= resync_memory_max) st.last_resync_ms.clear();
  auto [it, inserted] = st.last_resync_ms.try_emplace(lrc, now);
  if (!inserted) {
    if (now - it->second < resync_gap_ms) return;
    it->second = now;
  }
  ++st.counters.resyncs_asked;
  send_to_node(self, lrc, "lrc", caf::make_message(rli_resync_atom_v, st.env->config.name));
}

template <class T>
bool accepted(self_ptr self, const char* what, const std::string& lrc, const expected<T>& r) {
  if (r) return true;
  ++self->state.counters.refused;
  LIB_LOG_WARN("rli") << "refused " << what << " from LRC " << lrc << ": " << r.err().describe();
  return false;
}

// Applies one update message (direct or forwarded); true if it was accepted.
bool apply_update(self_ptr self, caf::message msg) {
  auto& rli = *self->state.rli;
  const auto now = now_u64(self);
  bool ok = false;
  auto handled = msg.apply(caf::message_handler{
      [&](rli_begin_atom, const std::string& lrc, uint64_t generation, int64_t interval_ms) {
        auto r = rli.begin_full_update(lrc, generation, now, interval_of(interval_ms));
        // Operators (and librarian-bench rls) time full updates from these two lines.
        LIB_LOG_DEBUG(self->state.env->config.name + "/rli")
            << "begin from " << lrc << " generation " << generation << ": "
            << (r ? static_cast<int>(*r) : -1);
        ok = accepted(self, "a full update", lrc, r);
      },
      [&](rli_chunk_atom, const std::string& lrc, uint64_t generation, uint32_t index,
          const std::vector<std::string>& lfns) {
        ok = accepted(self, "a chunk", lrc, rli.add_chunk(lrc, generation, index, lfns, now));
      },
      [&](rli_end_atom, const std::string& lrc, uint64_t generation, uint32_t count,
          int64_t interval_ms) {
        // An interval of 0 would mean "not given"; a peer must always give one.
        const auto interval = interval_ms == 0 ? ~uint64_t{0} : interval_of(interval_ms);
        auto r = rli.end_full_update(lrc, generation, count, now, interval);
        LIB_LOG_DEBUG(self->state.env->config.name + "/rli")
            << "end from " << lrc << " generation " << generation << " chunks " << count << ": "
            << (r ? static_cast<int>(*r) : -1);
        ok = accepted(self, "the end of an update", lrc, r);
      },
      [&](rli_incr_atom, const std::string& lrc, uint64_t from, uint64_t to,
          const std::vector<std::string>& added, const std::vector<std::string>& removed,
          int64_t interval_ms) {
        auto r =
            rli.apply_incremental(lrc, from, to, added, removed, now, interval_of(interval_ms));
        if (!r && (r.err().code == errc::conflict || r.err().code == errc::not_found)) {
          ++self->state.counters.refused;  // not a bad message: this RLI is out of sync
          ask_resync(self, lrc);
          return;
        }
        ok = accepted(self, "an incremental update", lrc, r);
      },
      [&](rli_bloom_atom, const std::string& lrc, uint64_t generation, const std::string& bits,
          int64_t interval_ms) {
        ok = accepted(self, "a Bloom filter", lrc,
                      rli.set_bloom(lrc, generation, bits, now, interval_of(interval_ms)));
      }});
  if (!handled) {
    ++self->state.counters.refused;
    LIB_LOG_WARN("rli") << "refused a forwarded message that is not an RLI update";
    return false;
  }
  persist_journal(self);
  return ok;
}

// hops: how many RLIs this message has passed through already (0: straight from its LRC).
void on_update(self_ptr self, caf::message msg, uint32_t hops) {
  ++self->state.counters.received;
  if (!apply_update(self, msg)) return;
  const auto& parents = self->state.env->config.rls.forward_rlis;
  if (parents.empty()) return;
  if (hops >= forward_hops_max) {
    LIB_LOG_WARN("rli") << "not forwarding an update that passed " << hops
                        << " RLIs (a forwarding loop?)";
    return;
  }
  for (const auto& parent : parents) {
    ++self->state.counters.forwarded;
    send_to_node(self, parent, "rli", caf::make_message(rli_fwd_atom_v, hops + 1, msg));
  }
}

std::string describe_lrc(const rli_lrc_summary& s, int64_t now) {
  std::string line = s.lrc + " lfns=" + std::to_string(s.lfn_count) +
                     " mode=" + (s.mode == rli_mode::bloom ? "bloom" : "list");
  if (s.stale) line += " stale";
  line += " generation=" + std::to_string(s.generation) +
          " position=" + std::to_string(s.last_seq) +
          " last_update_ms_ago=" + std::to_string(now - static_cast<int64_t>(s.last_refresh_ms)) +
          " interval_ms=" + std::to_string(s.interval_ms);
  if (s.full_update_pending) line += " full_update_pending";
  return line;
}

std::vector<std::string> describe_wildcard(const rli_wildcard_page& page) {
  std::vector<std::string> out;
  for (const auto& m : page.items) out.push_back(m.lfn + " " + m.lrc);
  if (page.more) out.emplace_back("(more)");
  if (page.truncated) out.emplace_back("(truncated: narrow the pattern's literal prefix)");
  if (!page.skipped_bloom_lrcs.empty()) {
    std::string line = "(skipped Bloom-mode LRCs, which cannot answer wildcards:";
    for (const auto& lrc : page.skipped_bloom_lrcs) line += " " + lrc;
    out.push_back(line + ")");
  }
  return out;
}

std::vector<std::string> describe_rli(self_ptr self) {
  const auto& c = self->state.counters;
  std::vector<std::string> out{"updates received=" + std::to_string(c.received) +
                               " refused=" + std::to_string(c.refused) +
                               " forwarded=" + std::to_string(c.forwarded) +
                               " resyncs_asked=" + std::to_string(c.resyncs_asked) +
                               " persist_failures=" + std::to_string(c.persist_failures) +
                               " lrcs=" + std::to_string(self->state.rli->lrc_count())};
  for (const auto& parent : self->state.env->config.rls.forward_rlis)
    out.push_back("forward_to " + parent);
  return out;
}

void load_persisted(self_ptr self) {
  auto& st = self->state;
  storage::batch cleanup;
  auto report = load_lists(*st.env->db, *st.rli, now_u64(self), cleanup);
  if (!report) {
    // Soft state: start empty rather than not at all; the next updates rebuild it.
    LIB_LOG_ERROR("rli") << "cannot reload persisted RLI state: " << report.err().describe();
    return;
  }
  LIB_LOG_INFO("rli") << "reloaded " << report->lrcs_loaded << " LRC lists (" << report->lfns_loaded
                      << " LFNs); dropped " << report->lrcs_dropped << " stale or unreadable";
  if (!cleanup.empty()) st.env->committer->submit(std::move(cleanup), [](status) {});
}

rli_actor::behavior_type rli_behavior(self_ptr self, std::shared_ptr<node::node_env> env,
                                      caf::actor node) {
  self->state.env = env;
  self->state.node = std::move(node);
  rli_limits limits;
  limits.staleness_factor_permille = static_cast<uint32_t>(env->config.rls.staleness_permille);
  limits.persist_lists = true;
  self->state.rli.emplace(limits);
  load_persisted(self);
  self->delayed_send(self, expiry_tick, tick_atom_v);
  return {
      [=](rli_begin_atom atom, std::string& lrc, uint64_t generation, int64_t interval_ms) {
        on_update(self, caf::make_message(atom, std::move(lrc), generation, interval_ms), 0);
      },
      [=](rli_chunk_atom atom, std::string& lrc, uint64_t generation, uint32_t index,
          std::vector<std::string>& lfns) {
        on_update(self, caf::make_message(atom, std::move(lrc), generation, index, std::move(lfns)),
                  0);
      },
      [=](rli_end_atom atom, std::string& lrc, uint64_t generation, uint32_t count,
          int64_t interval_ms) {
        on_update(self, caf::make_message(atom, std::move(lrc), generation, count, interval_ms), 0);
      },
      [=](rli_incr_atom atom, std::string& lrc, uint64_t from, uint64_t to,
          std::vector<std::string>& added, std::vector<std::string>& removed, int64_t interval_ms) {
        on_update(self,
                  caf::make_message(atom, std::move(lrc), from, to, std::move(added),
                                    std::move(removed), interval_ms),
                  0);
      },
      [=](rli_bloom_atom atom, std::string& lrc, uint64_t generation, std::string& bits,
          int64_t interval_ms) {
        on_update(self,
                  caf::make_message(atom, std::move(lrc), generation, std::move(bits), interval_ms),
                  0);
      },
      [=](rli_fwd_atom, uint32_t hops, caf::message& inner) {
        on_update(self, std::move(inner), hops);
      },
      [=](rli_lost_atom, const std::vector<std::string>& lrcs) { forget_lost(self, lrcs); },
      [=](query_atom, const std::string& lfn) -> caf::result<std::vector<std::string>> {
        auto hits = self->state.rli->query_lfn(lfn, now_u64(self));
        if (!hits) return to_caf(hits.err());
        std::vector<std::string> out;
        for (const auto& hit : *hits) out.push_back(hit.maybe ? hit.lrc + " maybe" : hit.lrc);
        return out;
      },
      [=](bulk_atom, const std::vector<std::string>& lfns) -> caf::result<bulk_lrcs> {
        auto items = self->state.rli->bulk_query(lfns, now_u64(self));
        if (!items) return to_caf(items.err());
        bulk_lrcs out;
        for (auto& item : *items) {
          out.codes.push_back(static_cast<uint8_t>(item.code));
          out.messages.push_back(std::move(item.message));
          auto& lines = out.lrcs.emplace_back();
          for (const auto& hit : item.lrcs)
            lines.push_back(hit.maybe ? hit.lrc + " maybe" : hit.lrc);
        }
        return out;
      },
      [=](wildcard_atom, const std::string& pattern, uint64_t offset,
          uint64_t reslimit) -> caf::result<std::vector<std::string>> {
        auto page = self->state.rli->query_wildcard(pattern, now_u64(self), offset, reslimit);
        if (!page) return to_caf(page.err());
        return describe_wildcard(*page);
      },
      [=](list_atom) {
        std::vector<std::string> out;
        const auto now = now_ms(self);
        for (const auto& s : self->state.rli->lrcs(now_u64(self)))
          out.push_back(describe_lrc(s, now));
        return out;
      },
      [=](targets_atom) { return describe_rli(self); },
      [=](depth_atom) { return static_cast<uint64_t>(self->mailbox().size()); },
      [=](tick_atom) {
        static_cast<void>(self->state.rli->expire(now_u64(self)));
        persist_journal(self);
        persist(self, self->state.rli->take_refreshes());
        self->delayed_send(self, expiry_tick, tick_atom_v);
      },
  };
}

}  // namespace

rli_actor spawn_rli(caf::local_actor* spawner, std::shared_ptr<node::node_env> env,
                    caf::actor node) {
  return spawner->spawn(rli_behavior, std::move(env), std::move(node));
}

}  // namespace librarian::rls
