#include "actors/rls/lrc_actor.hpp"
#include "actors/node/route.hpp"

#include <caf/all.hpp>
#include <optional>
#include <set>

#include "actors/rls/glob.hpp"
#include "actors/rls/lrc_state.hpp"
#include "actors/rls/rli_feed.hpp"
#include "actors/rls/target_admin.hpp"
#include "runtime/caf/commit_tracker.hpp"
#include "runtime/caf/error.hpp"
#include "runtime/log.hpp"

namespace librarian::rls {
namespace {

// Bounds on one soft-state step, so a large catalog never holds the actor for long.
constexpr size_t incremental_changes_max = 5000;  // change rows read per incremental message
constexpr size_t bloom_page_lfns = 10000;         // LFNs added to a filter per step
constexpr size_t trim_rows_max = 10000;           // change rows deleted per trim
constexpr auto trim_interval = std::chrono::seconds(10);
constexpr size_t clear_step_mappings = 10000;  // mappings removed per batch by `clear`
// Feeds ever created (config + run-time adds, removed ones stay as tombstones so the indices in
// pending timer messages never point at another target).
constexpr size_t feeds_max = 1024;

struct lrc_shell {
  std::shared_ptr<node::node_env> env;
  caf::actor node;
  std::optional<lrc_state> lrc;
  commit_tracker commits;
  std::vector<std::vector<glob>> target_globs;  // per update target; empty: every LFN
  std::vector<rli_feed> feeds;                  // per update target
  std::vector<bool> active;                     // per update target: not removed at run time
  size_t config_targets = 0;                    // feeds [0, config_targets) come from the config
  uint64_t durable_seq = 0;                     // every change through it is committed
  uint64_t unlogged_through = 0;     // changes through it may be missing from the change log
  std::set<uint32_t> lists_waiting;  // targets whose full list waits for unlogged changes
  uint64_t bloom_builds = 0;
};

using self_ptr = lrc_actor::stateful_pointer<lrc_shell>;

int64_t now_ms(self_ptr self) {
  return self->state.env->clock->now_unix_ms();
}

uint64_t position(self_ptr self, uint64_t seq) {
  return position_of(self->state.env->incarnation, seq);
}

void send_incremental(self_ptr self, uint32_t target, bool heartbeat);

// Changes through seq are durable: the overlay forgets them, and immediate-mode targets may now
// hear of them (never before: commit before announce).
void changes_durable(self_ptr self, uint64_t seq) {
  auto& st = self->state;
  st.lrc->committed(seq);
  if (seq <= st.durable_seq) return;
  const uint64_t count = seq - st.durable_seq;
  st.durable_seq = seq;
  for (uint32_t i = 0; i < st.feeds.size(); ++i) {
    if (!st.active[i]) continue;
    bool arm_flush = false;
    if (st.feeds[i].on_durable(count, arm_flush) == feed_action::incremental)
      send_incremental(self, i, false);
    if (arm_flush)
      self->delayed_send(self, std::chrono::milliseconds(st.feeds[i].config().buffer_ms),
                         rli_flush_atom_v, i);
  }
}

// Replies once `rows` are durable and then tells the state machine which changes are on disk
// (its overlay of pending writes forgets them).
template <class T>
caf::typed_response_promise<T> reply_after_commit(self_ptr self, storage::batch rows,
                                                  expected<T> outcome) {
  auto seq = self->state.lrc->last_seq();
  return librarian::reply_after_commit(self, self->state.commits, *self->state.env->committer,
                                       std::move(rows), std::move(outcome),
                                       [self, seq] { changes_durable(self, seq); });
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
  node::send_to_node(self->state.node, self->state.env->config.name,
                     self->state.feeds.at(target).config().name, "rli", std::move(msg));
}

bool live_target(self_ptr self, uint32_t target) {
  return target < self->state.feeds.size() && self->state.active[target];
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
// holds the actor for long (requests interleave between chunks). A newer full update of the same
// target supersedes this one: its chain stops.
void send_next_chunk(self_ptr self, uint32_t target, uint64_t generation, uint32_t index,
                     const std::string& after) {
  auto& feed = self->state.feeds.at(target);
  if (feed.streaming_generation() != generation) return;
  const auto& t = feed.config();
  auto page = self->state.lrc->list_lfns(after, t.chunk_lfns);
  if (!page) {
    LIB_LOG_WARN("lrc") << "update of RLI " << t.name << " stopped: " << page.err().describe();
    return;
  }
  std::vector<std::string> lfns;
  for (auto& lfn : page->items)
    if (selected(self, target, lfn)) lfns.push_back(lfn);
  feed.streamed_lfns += lfns.size();
  auto last = page->items.empty() ? after : page->items.back();
  send_to_rli(self, target,
              caf::make_message(rli_chunk_atom_v, self->state.env->config.name, generation, index,
                                std::move(lfns)));
  if (page->more) {
    self->send(self, rli_next_atom_v, target, generation, index + 1, last);
    return;
  }
  feed.full_list_done(feed.streamed_lfns);
  send_to_rli(self, target,
              caf::make_message(rli_end_atom_v, self->state.env->config.name, generation, index + 1,
                                t.interval_ms));
}

// The change log is written only while an active target is in immediate mode: only its
// increments read the log, and every other target (and an immediate one before its first full
// list, which covers everything) needs none of it (rli_feed::changes_needed_after). Without an
// immediate target, each mutation writes two rows instead of three.
void update_change_log(self_ptr self) {
  auto& st = self->state;
  bool needed = false;
  for (uint32_t i = 0; i < st.feeds.size(); ++i)
    needed = needed || (st.active[i] && st.feeds[i].mode() == rli_update_mode::immediate);
  if (needed && !st.lrc->change_log()) st.unlogged_through = st.lrc->last_seq();
  st.lrc->set_change_log(needed);
}

void start_full_update(self_ptr self, uint32_t target) {
  auto& st = self->state;
  auto& feed = st.feeds.at(target);
  if (feed.mode() == rli_update_mode::immediate && st.durable_seq < st.unlogged_through) {
    // The increments after this list will read the log from its generation on, but changes
    // handed out before the log was turned on are not in it: the list must include them, so it
    // starts once they are durable (behind the pending commits). A list started now would miss
    // them until the next one.
    // One waiting list per target: a tick or resync meanwhile adds none.
    if (!st.lists_waiting.insert(target).second) return;
    st.commits.submit(self, *st.env->committer, storage::batch{},
                      [self, target](const status& done) {
                        self->state.lists_waiting.erase(target);
                        if (done && live_target(self, target) &&
                            self->state.durable_seq >= self->state.unlogged_through)
                          start_full_update(self, target);
                      });
    return;
  }
  // The generation is the position of the last durable change: the list read from the db
  // includes every change through it, and later ones follow as incrementals. Positions grow
  // even across a crash that lost writes the old incarnation had counted.
  auto generation = position(self, self->state.durable_seq);
  feed.full_list_started(now_ms(self), generation, self->state.durable_seq);
  feed.streamed_lfns = 0;
  send_to_rli(self, target,
              caf::make_message(rli_begin_atom_v, self->state.env->config.name, generation,
                                feed.config().interval_ms));
  send_next_chunk(self, target, generation, 0, "");
}

// The committed changes since the target last heard, netted, in one message (more follow at
// once if there are more than incremental_changes_max). heartbeat: send even if empty.
void send_incremental(self_ptr self, uint32_t target, bool heartbeat) {
  auto& st = self->state;
  auto& feed = st.feeds.at(target);
  const uint64_t from = feed.sent_seq();
  if (from >= st.durable_seq && !heartbeat) return;
  std::vector<change> changes;
  bool more = false;
  if (from < st.durable_seq) {
    auto page = st.lrc->changes_since(from, incremental_changes_max);
    if (!page) {
      LIB_LOG_WARN("lrc") << "incremental update of RLI " << feed.config().name
                          << " not sent: " << page.err().describe();
      return;
    }
    more = page->more;
    for (auto& c : page->items) {
      if (c.seq > st.durable_seq) {
        more = false;  // not durable yet: the next flush takes it
        break;
      }
      changes.push_back(std::move(c));
    }
  }
  const uint64_t through = changes.empty() ? from : changes.back().seq;
  auto netted =
      net_changes(changes, [&](const std::string& lfn) { return selected(self, target, lfn); });
  send_to_rli(self, target,
              caf::make_message(rli_incr_atom_v, st.env->config.name, position(self, from),
                                position(self, through), std::move(netted.added),
                                std::move(netted.removed), feed.config().interval_ms));
  feed.incremental_sent(now_ms(self), through, more);
  if (more) self->send(self, rli_flush_atom_v, target);
}

// A Bloom filter of the target's LFNs, built a page at a time (rli_bnext continues it).
void continue_bloom(self_ptr self, uint32_t target, uint64_t build, const std::string& after) {
  auto& feed = self->state.feeds.at(target);
  if (build != feed.building_id || !feed.building) return;  // superseded by a newer build
  auto page = self->state.lrc->list_lfns(after, bloom_page_lfns);
  if (!page) {
    LIB_LOG_WARN("lrc") << "Bloom filter for RLI " << feed.config().name
                        << " not built: " << page.err().describe();
    feed.building.reset();
    return;
  }
  for (const auto& lfn : page->items) {
    if (!selected(self, target, lfn)) continue;
    feed.building->insert(lfn);
    ++feed.building_lfns;
  }
  if (page->more && !page->items.empty()) {
    self->send(self, rli_bnext_atom_v, target, build, page->items.back());
    return;
  }
  send_to_rli(
      self, target,
      caf::make_message(rli_bloom_atom_v, self->state.env->config.name, feed.building_generation,
                        feed.building->serialize(), feed.config().interval_ms));
  feed.bloom_sent(now_ms(self), feed.building_lfns);
  feed.building.reset();
}

void start_bloom(self_ptr self, uint32_t target) {
  auto& feed = self->state.feeds.at(target);
  const auto& t = feed.config();
  // Sized for every LFN of the catalog (the patterns may keep fewer: fewer false hits).
  auto filter = bloom_filter::sized_for(std::max<uint64_t>(self->state.lrc->lfn_count(), 1),
                                        t.bloom_bits_per_lfn, t.bloom_hashes);
  if (!filter) {
    LIB_LOG_WARN("lrc") << "Bloom filter for RLI " << t.name << ": " << filter.err().describe();
    return;
  }
  feed.building = std::move(*filter);
  feed.building_id = ++self->state.bloom_builds;
  feed.building_generation = position(self, self->state.durable_seq);
  feed.building_lfns = 0;
  continue_bloom(self, target, feed.building_id, "");
}

void run_feed_action(self_ptr self, uint32_t target, feed_action action) {
  switch (action) {
    case feed_action::none:
      return;
    case feed_action::full_list:
      start_full_update(self, target);
      return;
    case feed_action::incremental:
      send_incremental(self, target, true);
      return;
    case feed_action::bloom:
      start_bloom(self, target);
      return;
  }
}

void on_rli_tick(self_ptr self, uint32_t target) {
  if (!live_target(self, target)) return;  // removed: its timer chain ends here
  auto& feed = self->state.feeds[target];
  run_feed_action(self, target, feed.on_tick(now_ms(self)));
  self->delayed_send(self, std::chrono::milliseconds(feed.tick_interval_ms()), rli_tick_atom_v,
                     target);
}

// An RLI lost an increment. From a direct target, that target gets a full list; from an RLI we
// do not update (a parent fed through forwarding), every immediate-mode target does, since the
// parent hears through one of them. on_resync limits how often.
void on_resync(self_ptr self, const std::string& rli) {
  auto& feeds = self->state.feeds;
  bool direct = false;
  for (uint32_t i = 0; i < feeds.size(); ++i)
    direct = direct || (self->state.active[i] && feeds[i].config().name == rli);
  LIB_LOG_DEBUG(self->state.env->config.name + "/lrc") << "resync asked by RLI " << rli;
  for (uint32_t i = 0; i < feeds.size(); ++i) {
    if (!self->state.active[i]) continue;
    if (direct && feeds[i].config().name != rli) continue;
    run_feed_action(self, i, feeds[i].on_resync(now_ms(self)));
  }
}

// The change log only feeds immediate-mode increments: rows every target has been sent (or
// that a full list will cover) go, at most trim_rows_max per tick; the next tick takes more.
void trim_change_log(self_ptr self) {
  auto& st = self->state;
  uint64_t needed_after = st.durable_seq;
  for (uint32_t i = 0; i < st.feeds.size(); ++i)
    if (st.active[i])
      needed_after = std::min(needed_after, st.feeds[i].changes_needed_after(st.durable_seq));
  storage::batch rows;
  auto trimmed = st.lrc->trim_changes(needed_after, trim_rows_max, rows);
  if (!trimmed) {
    LIB_LOG_WARN("lrc") << "change log not trimmed: " << trimmed.err().describe();
    return;
  }
  if (*trimmed == 0) return;
  st.commits.submit(self, *st.env->committer, std::move(rows), [](const status& done) {
    if (!done) LIB_LOG_WARN("lrc") << "change log not trimmed: " << done.err().describe();
  });
}

std::vector<std::string> describe_targets(self_ptr self) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < self->state.feeds.size(); ++i)
    if (self->state.active[i]) out.push_back(self->state.feeds[i].describe(now_ms(self)));
  return out;
}

// A new update target, its patterns parsed; its first update goes out soon.
void start_feed(self_ptr self, const rli_target_config& t) {
  auto& st = self->state;
  st.feeds.emplace_back(t);
  st.active.push_back(true);
  auto& globs = st.target_globs.emplace_back();
  for (const auto& p : t.patterns) {
    auto parsed = parse_glob(p, 4096);
    if (parsed)
      globs.push_back(std::move(*parsed));
    else
      LIB_LOG_ERROR("lrc") << "RLI " << t.name << ": pattern ignored: " << parsed.err().describe();
  }
  auto index = static_cast<uint32_t>(st.feeds.size() - 1);
  self->delayed_send(self, std::chrono::milliseconds(100), rli_tick_atom_v, index);
}

// The live run-time targets, as stored.
std::vector<rli_target_config> admin_targets(self_ptr self) {
  std::vector<rli_target_config> out;
  for (size_t i = self->state.config_targets; i < self->state.feeds.size(); ++i)
    if (self->state.active[i]) out.push_back(self->state.feeds[i].config());
  return out;
}

std::optional<uint32_t> live_target_named(self_ptr self, const std::string& name) {
  for (uint32_t i = 0; i < self->state.feeds.size(); ++i)
    if (self->state.active[i] && self->state.feeds[i].config().name == name) return i;
  return std::nullopt;
}

using lines_promise = caf::typed_response_promise<std::vector<std::string>>;

// rls-admin add: a new target, stored (so it survives a restart) before it is announced.
lines_promise add_target(self_ptr self, const std::string& name, const std::string& mode,
                         int64_t interval_ms, const std::vector<std::string>& patterns) {
  using result = expected<std::vector<std::string>>;
  auto target = make_admin_target(self->state.env->config, name, mode, interval_ms, patterns);
  if (!target) return reply_now(self, result{target.err()});
  if (live_target_named(self, name))
    return reply_now(self, result{fail(errc::already_exists,
                                       "RLI_EXIST: this LRC already updates RLI \"" + name +
                                           "\"; delete it first to change its settings")});
  auto stored = admin_targets(self);
  if (stored.size() >= admin_targets_max || self->state.feeds.size() >= feeds_max)
    return reply_now(self, result{fail(errc::invalid_argument,
                                       "BADARG: too many RLI targets added at run time (at most " +
                                           std::to_string(admin_targets_max) + ")")});
  stored.push_back(*target);
  storage::batch rows;
  write_admin_targets(*self->state.env->db, stored, rows);
  start_feed(self, *target);
  update_change_log(self);
  return reply_after_commit(self, std::move(rows), result{describe_targets(self)});
}

// rls-admin delete: the target stops at once (its timers end); config targets stay.
lines_promise remove_target(self_ptr self, const std::string& name) {
  using result = expected<std::vector<std::string>>;
  auto index = live_target_named(self, name);
  if (!index)
    return reply_now(self, result{fail(errc::not_found,
                                       "RLI_NEXIST: this LRC does not update "
                                       "RLI \"" +
                                           name + "\"")});
  if (*index < self->state.config_targets)
    return reply_now(self, result{fail(errc::conflict, "RLI \"" + name +
                                                           "\" is an update target in the "
                                                           "config file (" +
                                                           self->state.env->config.source +
                                                           "); remove it there")});
  self->state.active[*index] = false;
  self->state.feeds[*index].building.reset();
  update_change_log(self);
  storage::batch rows;
  write_admin_targets(*self->state.env->db, admin_targets(self), rows);
  return reply_after_commit(self, std::move(rows), result{describe_targets(self)});
}

bulk_outcome outcome_of(const std::vector<status>& results) {
  bulk_outcome out;
  out.codes.reserve(results.size());
  out.messages.reserve(results.size());
  for (const auto& st : results) {
    out.codes.push_back(st ? uint8_t{0} : static_cast<uint8_t>(st.err().code));
    out.messages.push_back(st ? std::string{} : st.err().message);
  }
  return out;
}

caf::typed_response_promise<bulk_outcome> run_bulk(self_ptr self, uint8_t verb,
                                                   const std::vector<mapping>& items) {
  auto& lrc = *self->state.lrc;
  storage::batch rows;
  expected<std::vector<status>> results =
      fail(errc::invalid_argument, "BADARG: unknown bulk operation " + std::to_string(verb));
  switch (static_cast<bulk_verb>(verb)) {
    case bulk_verb::create:
      results = lrc.bulk_create(items, rows);
      break;
    case bulk_verb::add:
      results = lrc.bulk_add(items, rows);
      break;
    case bulk_verb::remove:
      results = lrc.bulk_remove(items, rows);
      break;
  }
  if (!results) return reply_now(self, expected<bulk_outcome>{results.err()});
  return reply_after_commit(self, std::move(rows), expected<bulk_outcome>{outcome_of(*results)});
}

// rls-admin clear: a step of clear_step_mappings removals at a time, each committed before the
// next is read; requests interleave between steps. Answers with how many mappings it removed.
void clear_step(self_ptr self, caf::typed_response_promise<uint64_t> promise, uint64_t removed) {
  storage::batch rows;
  auto step = self->state.lrc->clear_some(clear_step_mappings, rows);
  if (!step) {
    promise.deliver(to_caf(step.err()));
    return;
  }
  auto seq = self->state.lrc->last_seq();
  auto total = removed + step->removed;
  self->state.commits.submit(
      self, *self->state.env->committer, std::move(rows),
      [self, promise, total, seq, more = step->more](const status& done) mutable {
        if (!done) {
          promise.deliver(to_caf(done.err()));
          self->quit(to_caf(done.err()));  // the supervisor restarts us from what is on disk
          return;
        }
        changes_durable(self, seq);
        if (more)
          clear_step(self, promise, total);
        else
          promise.deliver(total);
      });
}

lrc_actor::behavior_type lrc_behavior(self_ptr self, std::shared_ptr<node::node_env> env,
                                      caf::actor node) {
  self->state.env = env;
  self->state.node = std::move(node);
  // The first update soon after start (start_feed), so a restarted RLI or LRC is current quickly.
  for (const auto& t : env->config.rls.update_rlis) start_feed(self, t);
  self->state.config_targets = self->state.feeds.size();
  if (auto added = load_admin_targets(*env->db); !added) {
    LIB_LOG_ERROR("lrc") << "run-time RLI targets not loaded: " << added.err().describe();
  } else {
    for (const auto& t : *added)
      if (!live_target_named(self, t.name)) start_feed(self, t);
  }
  self->state.lrc.emplace(*env->db);
  if (auto st = self->state.lrc->load(); !st) {
    LIB_LOG_ERROR("lrc") << "cannot load the replica catalog: " << st.err().message;
    self->quit(to_caf(st.err()));  // typed behaviors cannot be empty; this one never runs
  }
  self->state.durable_seq = self->state.lrc->last_seq();  // load() read committed state only
  update_change_log(self);
  self->delayed_send(self, trim_interval, tick_atom_v);
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
      [=](rli_tick_atom, uint32_t target) { on_rli_tick(self, target); },
      [=](rli_next_atom, uint32_t target, uint64_t generation, uint32_t index,
          const std::string& after) {
        if (live_target(self, target)) send_next_chunk(self, target, generation, index, after);
      },
      [=](rli_flush_atom, uint32_t target) {
        if (!live_target(self, target)) return;
        self->state.feeds[target].flush_timer_fired();
        send_incremental(self, target, false);
      },
      [=](rli_bnext_atom, uint32_t target, uint64_t build, const std::string& after) {
        if (live_target(self, target)) continue_bloom(self, target, build, after);
      },
      [=](rli_resync_atom, const std::string& rli) { on_resync(self, rli); },
      [=](tick_atom) {
        trim_change_log(self);
        self->delayed_send(self, trim_interval, tick_atom_v);
      },
      [=](targets_atom) { return describe_targets(self); },
      [=](targets_atom, add_atom, const std::string& name, const std::string& mode,
          int64_t interval_ms, const std::vector<std::string>& patterns) {
        return add_target(self, name, mode, interval_ms, patterns);
      },
      [=](targets_atom, remove_atom, const std::string& name) { return remove_target(self, name); },
      [=](bulk_atom, uint8_t verb, const std::vector<mapping>& items) {
        return run_bulk(self, verb, items);
      },
      [=](clear_atom) {
        auto promise = self->make_response_promise<uint64_t>();
        clear_step(self, promise, 0);
        return promise;
      },
      [=](committed_atom, uint64_t token, uint8_t code, std::string& message) {
        self->state.commits.on_committed(token, code, std::move(message));
      },
      [=, &lrc](attach_atom, const std::vector<mapping>& items, const storage::row_list& extra) {
        storage::batch mapping_rows;
        if (auto st = lrc.attach_many(items, mapping_rows); !st) {
          // Refused before anything was appended: nothing to undo.
          if (mapping_rows.empty()) return reply_now(self, expected<uint64_t>{st.err()});
          self->quit(to_caf(st.err()));  // memory ran ahead of the disk: restart from it
          return reply_now(self, expected<uint64_t>{st.err()});
        }
        storage::batch rows;
        storage::append_rows(*self->state.env->db, extra, rows);
        rows.append(std::move(mapping_rows));
        return reply_after_commit(self, std::move(rows),
                                  expected<uint64_t>{static_cast<uint64_t>(items.size())});
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
