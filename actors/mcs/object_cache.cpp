// The MCS object cache (see object_cache.hpp).
#include "actors/mcs/object_cache.hpp"

#include <mutex>

namespace librarian::mcs {
namespace {

size_t heap_bytes(const std::string& s) {
  // Short strings live inside the object (libstdc++ keeps up to 15 bytes in place).
  return s.size() > 15 ? s.capacity() + 1 : 0;
}

}  // namespace

size_t object_cache::cost(const object& o) {
  // The node (next pointer, key, cached hash-free entry) plus malloc's header, and a bucket.
  constexpr size_t node_bytes = sizeof(void*) + sizeof(uint64_t) + sizeof(entry) + 16;
  return node_bytes + sizeof(void*) + heap_bytes(o.name) + heap_bytes(o.owner);
}

void object_cache::erase(uint64_t id) {
  auto& s = shard_of(id);
  std::unique_lock lock{s.mutex};
  auto it = s.map.find(id);
  if (it == s.map.end()) return;
  bytes_.fetch_sub(cost(it->second.o), std::memory_order_relaxed);
  entries_.fetch_sub(1, std::memory_order_relaxed);
  s.map.erase(it);
}

bool object_cache::put(uint64_t id, object o, uint64_t valid_from) {
  auto& s = shard_of(id);
  size_t add = cost(o);
  std::unique_lock lock{s.mutex};
  auto it = s.map.find(id);
  if (it != s.map.end()) {
    bytes_.fetch_sub(cost(it->second.o), std::memory_order_relaxed);
    bytes_.fetch_add(add, std::memory_order_relaxed);
    it->second = entry{valid_from, std::move(o)};
    return true;
  }
  if (bytes_.load(std::memory_order_relaxed) + add > bytes_max_) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  bytes_.fetch_add(add, std::memory_order_relaxed);
  entries_.fetch_add(1, std::memory_order_relaxed);
  s.map.emplace(id, entry{valid_from, std::move(o)});
  return true;
}

void object_cache::clear() {
  for (auto& s : shards_) {
    std::unique_lock lock{s.mutex};
    s.map.clear();
  }
  bytes_.store(0, std::memory_order_relaxed);
  entries_.store(0, std::memory_order_relaxed);
}

bool object_cache::peek(uint64_t id, uint64_t as_of, object& out) const {
  auto& s = shard_of(id);
  std::shared_lock lock{s.mutex};
  auto it = s.map.find(id);
  if (it == s.map.end() || it->second.valid_from > as_of) return false;
  out = it->second.o;
  return true;
}

bool object_cache::get(uint64_t id, uint64_t as_of, object& out) const {
  bool hit = peek(id, as_of, out);
  count(hit ? 1 : 0, hit ? 0 : 1);
  return hit;
}

object_cache::stats object_cache::snapshot_stats() const {
  stats st;
  st.entries = entries_.load(std::memory_order_relaxed);
  st.bytes = bytes_.load(std::memory_order_relaxed);
  st.bytes_max = bytes_max_;
  st.hits = hits_.load(std::memory_order_relaxed);
  st.misses = misses_.load(std::memory_order_relaxed);
  st.refused = refused_.load(std::memory_order_relaxed);
  return st;
}

}  // namespace librarian::mcs
