// What a query needs of each match -- kind, name, version, owner, collection -- for every object
// of the catalog, in memory: an equality query returns ~100 matches, and reading their object
// rows from RocksDB (one random block each) was half of its cost (docs/benchmarks.md).
//
// Coherence with the readers' snapshots. Each entry carries `valid_from`, a RocksDB sequence
// number at or after the commit that wrote the row; a reader holding a snapshot with sequence
// `as_of` uses the entry only if valid_from <= as_of, and reads the db otherwise. The one writer
// (the MCS actor) keeps that true:
//   * it erases an object's entry when it writes or deletes the row, before the row is handed
//     to the group committer -- so before any snapshot can see the new row;
//   * it puts the entry back only once the row is durable, with valid_from read from the db
//     after the commit, and only if no newer write of the row is still pending.
// An entry a reader finds therefore holds the newest committed row as of any snapshot at or
// after valid_from: a later write would have erased it first. A missing entry only costs a db
// read. Readers never insert (a reader's row may be older than a write it cannot see).
//
// Bounded by bytes_max: past it, new objects are not cached (their queries read the db) until
// deletions make room; replacing an entry is always allowed.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace librarian::mcs {

class object_cache {
 public:
  struct object {
    uint8_t k = 0;
    std::string name;
    uint64_t version = 0;
    std::string owner;
    uint64_t container = 0;
  };
  struct stats {
    uint64_t entries = 0;
    uint64_t bytes = 0;
    uint64_t bytes_max = 0;
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t refused = 0;  // puts of new objects refused for lack of room
  };

  explicit object_cache(size_t bytes_max) : bytes_max_(bytes_max) {}
  object_cache(const object_cache&) = delete;
  object_cache& operator=(const object_cache&) = delete;

  // --- the writer --------------------------------------------------------------------------------
  void erase(uint64_t id);
  // Caches the object's committed row. Returns false when a new entry would exceed bytes_max.
  bool put(uint64_t id, object o, uint64_t valid_from);
  void clear();

  // --- readers (any thread) ----------------------------------------------------------------------
  // The object as a snapshot with sequence as_of sees it, if the cache can tell; false: read the
  // db. Counts one hit or miss.
  [[nodiscard]] bool get(uint64_t id, uint64_t as_of, object& out) const;
  // Hit and miss counts of lookups made without get() (a batch counts them once).
  void count(uint64_t hits, uint64_t misses) const {
    hits_.fetch_add(hits, std::memory_order_relaxed);
    misses_.fetch_add(misses, std::memory_order_relaxed);
  }
  // get() without counting, for a caller that counts a batch at once.
  [[nodiscard]] bool peek(uint64_t id, uint64_t as_of, object& out) const;

  [[nodiscard]] stats snapshot_stats() const;
  [[nodiscard]] size_t bytes_max() const { return bytes_max_; }

 private:
  struct entry {
    uint64_t valid_from = 0;
    object o;
  };
  // What an entry costs, roughly: the hash node, its bucket, the strings' heap blocks.
  static size_t cost(const object& o);
  static constexpr size_t shard_count = 64;
  struct alignas(64) shard {
    mutable std::shared_mutex mutex;
    std::unordered_map<uint64_t, entry> map;
  };
  [[nodiscard]] shard& shard_of(uint64_t id) const {
    // Ids are handed out in sequence: mix them so consecutive ids spread over the shards.
    return shards_[(id * 0x9E3779B97F4A7C15ull) >> 58];
  }
  size_t bytes_max_;
  std::atomic<size_t> bytes_{0};
  std::atomic<size_t> entries_{0};
  mutable std::atomic<uint64_t> hits_{0};
  mutable std::atomic<uint64_t> misses_{0};
  std::atomic<uint64_t> refused_{0};
  mutable std::array<shard, shard_count> shards_;
};

}  // namespace librarian::mcs
