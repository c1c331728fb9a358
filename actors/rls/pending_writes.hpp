// The LRC's overlay of mapping writes that are in a batch but not yet durable. The actor shell
// group-commits asynchronously, so a request may be validated before the previous batch lands;
// checking the overlay first lets it see its own pending writes (create x; create x -> exists).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace librarian::rls {

class pending_writes {
 public:
  pending_writes(size_t entries_max, size_t bytes_max)
      : entries_max_(entries_max), bytes_max_(bytes_max) {}

  // true: present; false: deleted; nullopt: no pending write, the db is current for this key.
  [[nodiscard]] std::optional<bool> find(std::string_view key) const;
  // The newest write to a key wins; seq is the change-log number of the write.
  void record(const std::string& key, bool present, uint64_t seq);
  // Forgets every write with seq <= seq_durable: the db now holds it.
  void committed(uint64_t seq_durable);
  void clear();

  // Whether `entries` more writes of up to `key_bytes` each fit under the bounds.
  [[nodiscard]] bool has_room(size_t entries, size_t key_bytes) const;
  // Calls visit(key, present) for every pending key starting with prefix, in key order.
  void for_each_with_prefix(std::string_view prefix,
                            const std::function<void(const std::string&, bool)>& visit) const;

  [[nodiscard]] size_t size() const { return by_key_.size(); }
  [[nodiscard]] size_t queued() const { return by_seq_.size(); }

 private:
  struct entry {
    bool present = false;
    uint64_t seq = 0;
  };
  size_t entries_max_;
  size_t bytes_max_;
  size_t bytes_ = 0;  // key bytes held by by_seq_ (by_key_ holds at most as many)
  std::map<std::string, entry, std::less<>> by_key_;
  // Writes in seq order, so committed() drops a prefix without walking the whole map.
  std::deque<std::pair<uint64_t, std::string>> by_seq_;
};

}  // namespace librarian::rls
