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
// Layout: object ids are handed out in sequence, so the entries live in a table indexed by id --
// pages of 64 fixed 128-byte slots, name and owner inline when they fit -- found through a
// two-level directory, not a hash map: a lookup is one cache miss, and read_objects prefetches a
// query's slots before reading any (a hash map of 1,000,000 entries cost ~400 ns a lookup, a
// third of the node's CPU in an equality-query profile). Deleted objects leave free slots; a
// page goes when its last object does.
//
// Bounded by bytes_max (pages, plus the heap text of names that do not fit inline): past it,
// objects that need a new page are not cached (their queries read the db) until deletions free
// pages; replacing an entry is always allowed.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

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

  explicit object_cache(size_t bytes_max);
  ~object_cache();
  object_cache(const object_cache&) = delete;
  object_cache& operator=(const object_cache&) = delete;

  // --- the writer --------------------------------------------------------------------------------
  void erase(uint64_t id);
  // Caches the object's committed row. Returns false when it would exceed bytes_max.
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
  // Starts loading id's slot into the CPU cache (no lock, no effect on the contents): call for a
  // batch of ids before peeking them, so their memory latencies overlap.
  void prefetch(uint64_t id) const;

  [[nodiscard]] stats snapshot_stats() const;
  [[nodiscard]] size_t bytes_max() const { return bytes_max_; }

  // The ids the table can hold: 2^34 (larger ids are never cached).
  static constexpr uint64_t id_limit = uint64_t{1} << 34;

 private:
  struct long_text {
    std::string name;
    std::string owner;
    size_t charged = 0;  // what put() added to bytes_ for it
  };
  struct slot {
    uint64_t valid_from = 0;
    uint64_t version = 0;
    uint64_t container = 0;
    long_text* heap = nullptr;  // when name + owner do not fit in `text`
    uint8_t used = 0;
    uint8_t k = 0;
    uint8_t owner_len = 0;
    uint16_t name_len = 0;
    char text[86];
  };
  static_assert(sizeof(slot) == 128);
  static constexpr unsigned slot_bits = 6;  // 64 slots, 8 KiB a page
  static constexpr unsigned dir_bits = 14;  // 16,384 pages (a million ids) per directory
  struct page {
    alignas(64) slot slots[size_t{1} << slot_bits];
    unsigned used = 0;
  };
  struct directory {
    std::atomic<page*> pages[size_t{1} << dir_bits] = {};
  };
  static constexpr size_t top_size = size_t{1} << (34 - slot_bits - dir_bits);
  static constexpr size_t stripe_count = 64;
  struct alignas(64) stripe {
    mutable std::shared_mutex mutex;
  };

  // The page holding page index pi, or nullptr. Readers call it with pi's stripe locked.
  [[nodiscard]] page* find_page(uint64_t pi) const;
  [[nodiscard]] stripe& stripe_of(uint64_t pi) const { return stripes_[pi % stripe_count]; }
  void release(page* p, uint64_t pi);  // with the stripe locked exclusively
  static size_t text_bytes(const object& o);

  size_t bytes_max_;
  std::atomic<size_t> bytes_{0};
  std::atomic<size_t> entries_{0};
  mutable std::atomic<uint64_t> hits_{0};
  mutable std::atomic<uint64_t> misses_{0};
  std::atomic<uint64_t> refused_{0};
  std::mutex directories_mutex_;  // the writer allocating a directory
  std::unique_ptr<std::atomic<directory*>[]> top_;
  mutable std::array<stripe, stripe_count> stripes_;
};

}  // namespace librarian::mcs
