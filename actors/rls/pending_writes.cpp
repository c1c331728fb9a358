// The overlay of not-yet-durable LRC mapping writes (see pending_writes.hpp).
#include "actors/rls/pending_writes.hpp"

#include "runtime/assert.hpp"

namespace librarian::rls {

std::optional<bool> pending_writes::find(std::string_view key) const {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  return it->second.present;
}

void pending_writes::record(const std::string& key, bool present, uint64_t seq) {
  // Callers check has_room first; overrunning the bound is a programming error.
  LIB_ASSERT(by_seq_.size() < entries_max_);
  LIB_ASSERT(by_seq_.empty() || by_seq_.back().first < seq);
  by_key_[key] = entry{present, seq};
  by_seq_.emplace_back(seq, key);
  bytes_ += key.size();
}

void pending_writes::committed(uint64_t seq_durable) {
  // Bounded by the queue's length (entries_max_).
  while (!by_seq_.empty() && by_seq_.front().first <= seq_durable) {
    auto& [seq, key] = by_seq_.front();
    auto it = by_key_.find(key);
    // A newer write to the same key is still pending: keep it.
    if (it != by_key_.end() && it->second.seq == seq) by_key_.erase(it);
    bytes_ -= key.size();
    by_seq_.pop_front();
  }
}

void pending_writes::clear() {
  by_key_.clear();
  by_seq_.clear();
  bytes_ = 0;
}

bool pending_writes::has_room(size_t entries, size_t key_bytes) const {
  return by_seq_.size() + entries <= entries_max_ && bytes_ + entries * key_bytes <= bytes_max_;
}

void pending_writes::for_each_with_prefix(
    std::string_view prefix, const std::function<void(const std::string&, bool)>& visit) const {
  // Bounded by the map's size (entries_max_).
  for (auto it = by_key_.lower_bound(prefix);
       it != by_key_.end() && std::string_view{it->first}.starts_with(prefix); ++it)
    visit(it->first, it->second.present);
}

}  // namespace librarian::rls
