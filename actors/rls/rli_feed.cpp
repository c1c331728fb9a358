// Soft-state scheduling per RLI target (see rli_feed.hpp).
#include "actors/rls/rli_feed.hpp"

#include <map>

namespace librarian::rls {

netted_changes net_changes(const std::vector<change>& changes,
                           const std::function<bool(const std::string&)>& selected) {
  std::map<std::string, bool> last;  // LFN -> present after the last change
  for (const auto& c : changes) {
    if (!c.lfn_changed) continue;  // a PFN came or went; the LFN stayed
    last[c.lfn] = c.op == change_op::mapping_added;
  }
  netted_changes out;
  for (auto& [lfn, present] : last) {
    if (!selected(lfn)) continue;
    (present ? out.added : out.removed).push_back(lfn);
  }
  return out;
}

feed_action rli_feed::on_tick(int64_t now_ms) const {
  switch (config_.mode) {
    case rli_update_mode::list:
      return feed_action::full_list;
    case rli_update_mode::bloom:
      return feed_action::bloom;
    case rli_update_mode::immediate:
      if (!in_sync_ || !full_started_ || now_ms - last_full_start_ms_ >= config_.full_interval_ms)
        return feed_action::full_list;
      return feed_action::incremental;
  }
  return feed_action::none;
}

feed_action rli_feed::on_resync(int64_t now_ms) {
  ++stats_.resyncs;
  if (config_.mode != rli_update_mode::immediate) return feed_action::none;
  in_sync_ = false;
  if (full_started_ && now_ms - last_full_start_ms_ < config_.interval_ms / 2)
    return feed_action::none;
  return feed_action::full_list;
}

feed_action rli_feed::on_durable(uint64_t changes, bool& arm_flush) {
  arm_flush = false;
  if (config_.mode != rli_update_mode::immediate || !full_started_) return feed_action::none;
  unsent_changes_ += changes;
  if (unsent_changes_ >= config_.buffer_changes) return feed_action::incremental;
  if (unsent_changes_ > 0 && !flush_armed_) {
    flush_armed_ = true;
    arm_flush = true;
  }
  return feed_action::none;
}

void rli_feed::full_list_started(int64_t now_ms, uint64_t generation, uint64_t durable_seq) {
  in_sync_ = true;
  full_started_ = true;
  last_full_start_ms_ = now_ms;
  streaming_generation_ = generation;
  sent_seq_ = durable_seq;  // the list covers every change through it
  unsent_changes_ = 0;
  ++stats_.full_lists;
  stats_.last_full_ms = now_ms;
}

void rli_feed::incremental_sent(int64_t now_ms, uint64_t through_seq, bool more) {
  sent_seq_ = through_seq;
  if (!more) unsent_changes_ = 0;
  ++stats_.incrementals;
  stats_.last_incremental_ms = now_ms;
}

void rli_feed::bloom_sent(int64_t now_ms, uint64_t lfns) {
  ++stats_.blooms;
  stats_.last_bloom_ms = now_ms;
  stats_.last_lfns = lfns;
}

std::string rli_feed::describe(int64_t now_ms) const {
  auto ago = [now_ms](int64_t at) {
    return at == 0 ? std::string{"never"} : std::to_string(now_ms - at) + "ms_ago";
  };
  std::string line = config_.name + " mode=" + to_string(config_.mode) +
                     " interval_ms=" + std::to_string(config_.interval_ms);
  if (config_.mode == rli_update_mode::immediate) {
    line += " full_interval_ms=" + std::to_string(config_.full_interval_ms) +
            " in_sync=" + (in_sync_ ? "yes" : "no") + " sent_seq=" + std::to_string(sent_seq_) +
            " incrementals=" + std::to_string(stats_.incrementals) +
            " last_incremental=" + ago(stats_.last_incremental_ms) +
            " resyncs=" + std::to_string(stats_.resyncs);
  }
  if (config_.mode == rli_update_mode::bloom) {
    line += " blooms=" + std::to_string(stats_.blooms) + " last_bloom=" + ago(stats_.last_bloom_ms);
  } else {
    line += " full_lists=" + std::to_string(stats_.full_lists) +
            " last_full=" + ago(stats_.last_full_ms);
  }
  line += " lfns=" + std::to_string(stats_.last_lfns);
  if (!config_.patterns.empty()) line += " patterns=" + std::to_string(config_.patterns.size());
  return line;
}

}  // namespace librarian::rls
