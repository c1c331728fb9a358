// The LRC's side of soft state, per RLI target (no CAF, no I/O): what to send when a timer
// fires or an RLI asks for a resync, and how committed changes become one incremental update.
// The actor shell (lrc_actor.cpp) reads the catalog and sends; this decides.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "actors/rls/bloom.hpp"
#include "actors/rls/messages.hpp"
#include "runtime/config.hpp"

namespace librarian::rls {

// A position in an LRC's change history that grows across its restarts: the node's incarnation
// in the high bits, the change seq (< 2^40) in the low bits (rli_state.hpp, "Positions").
inline constexpr unsigned position_seq_bits = 40;
[[nodiscard]] inline uint64_t position_of(uint64_t incarnation, uint64_t seq) {
  return (incarnation << position_seq_bits) | seq;
}

// The LFN-level changes among `changes` (oldest first) netted per LFN -- the last change wins,
// so an LFN is in added or removed, never both -- keeping only LFNs `selected` accepts.
struct netted_changes {
  std::vector<std::string> added;
  std::vector<std::string> removed;
};
[[nodiscard]] netted_changes net_changes(const std::vector<change>& changes,
                                         const std::function<bool(const std::string&)>& selected);

enum class feed_action : uint8_t { none, full_list, incremental, bloom };

// Counters and times (unix ms, 0: never) for statistics.
struct feed_stats {
  uint64_t full_lists = 0;
  uint64_t incrementals = 0;
  uint64_t blooms = 0;
  uint64_t resyncs = 0;  // resync requests received
  int64_t last_full_ms = 0;
  int64_t last_incremental_ms = 0;
  int64_t last_bloom_ms = 0;
  uint64_t last_lfns = 0;  // LFNs in the last full list or Bloom filter
};

class rli_feed {
 public:
  explicit rli_feed(const rli_target_config& config) : config_(config) {}

  [[nodiscard]] const rli_target_config& config() const { return config_; }
  [[nodiscard]] rli_update_mode mode() const { return config_.mode; }

  // How often on_tick runs: interval_ms, but half that in immediate mode, where the RLI's state
  // is refreshed only by these updates (staleness is 1.2 x interval_ms): one lost heartbeat
  // must not expire it.
  [[nodiscard]] int64_t tick_interval_ms() const {
    return config_.mode == rli_update_mode::immediate
               ? std::max<int64_t>(config_.interval_ms / 2, 1)
               : config_.interval_ms;
  }
  // The periodic timer (tick_interval_ms): list -> full list; bloom -> filter; immediate ->
  // a full list when out of sync or full_interval_ms after the last one, else an incremental
  // (an empty one is the heartbeat that keeps the RLI's state fresh and detects lost updates).
  [[nodiscard]] feed_action on_tick(int64_t now_ms) const;
  // An RLI asked for a full list (it lost an increment). A full list starts at once unless one
  // started less than interval_ms / 2 ago (a burst of requests after a reordering costs one
  // list); then the next tick sends it.
  [[nodiscard]] feed_action on_resync(int64_t now_ms);
  // Changes became durable (count of them). Returns incremental when buffer_changes are waiting;
  // arm_flush tells the shell to start the buffer_ms timer.
  [[nodiscard]] feed_action on_durable(uint64_t changes, bool& arm_flush);

  // What the shell did.
  void full_list_started(int64_t now_ms, uint64_t generation, uint64_t durable_seq);
  void full_list_done(uint64_t lfns) { stats_.last_lfns = lfns; }
  void incremental_sent(int64_t now_ms, uint64_t through_seq, bool more);
  void bloom_sent(int64_t now_ms, uint64_t lfns);
  void flush_timer_fired() { flush_armed_ = false; }

  [[nodiscard]] uint64_t sent_seq() const { return sent_seq_; }
  // The change log before this seq is no longer needed by this target (it can be trimmed):
  // an immediate-mode target still needs the changes after sent_seq; the others (and an
  // immediate one before its first full list, which covers everything) need none.
  [[nodiscard]] uint64_t changes_needed_after(uint64_t durable_seq) const {
    if (config_.mode != rli_update_mode::immediate || !full_started_) return durable_seq;
    return std::min(sent_seq_, durable_seq);
  }
  [[nodiscard]] uint64_t streaming_generation() const { return streaming_generation_; }
  [[nodiscard]] bool in_sync() const { return in_sync_; }
  [[nodiscard]] const feed_stats& stats() const { return stats_; }
  // One line for `lrc targets` / rls-admin stats.
  [[nodiscard]] std::string describe(int64_t now_ms) const;

  // A Bloom filter being built a page at a time (the shell owns the scan).
  std::optional<bloom_filter> building;
  uint64_t building_id = 0;
  uint64_t building_generation = 0;
  uint64_t building_lfns = 0;
  uint64_t streamed_lfns = 0;  // LFNs sent so far in the full list being streamed

 private:
  rli_target_config config_;
  bool in_sync_ = false;      // no resync asked since the last full list started
  bool flush_armed_ = false;  // a buffer_ms timer is pending
  uint64_t sent_seq_ = 0;     // changes through this seq reached the target (or its list)
  uint64_t unsent_changes_ = 0;
  uint64_t streaming_generation_ = 0;
  int64_t last_full_start_ms_ = 0;
  bool full_started_ = false;
  feed_stats stats_;
};

}  // namespace librarian::rls
