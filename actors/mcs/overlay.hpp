// A read-your-writes view of the node's RocksDB for the MCS state machine. The actor shell
// group-commits asynchronously, so a request may be validated while earlier batches are still
// on their way to disk; every write goes both into the request's batch and into this bounded
// overlay, and every read (point or range) sees the db with the overlay laid over it. Once a
// batch is durable the shell calls committed(seq) and the overlay forgets its writes.
//
// Replies that read the overlay are still safe to send: the shell answers every request through
// the commit tracker, in order, behind the commits it depends on (commit before announce).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/expected.hpp"
#include "storage/db.hpp"

namespace rocksdb {
class Snapshot;
}  // namespace rocksdb

namespace librarian::mcs {

class overlay_store {
 public:
  overlay_store(storage::db& db, size_t entries_max, size_t bytes_max)
      : db_(db), entries_max_(entries_max), bytes_max_(bytes_max) {}

  [[nodiscard]] expected<std::optional<std::string>> get(storage::table t,
                                                         std::string_view key) const;
  // Point reads of many keys at once: the overlay's first, the rest in one RocksDB MultiGet
  // (sorted keys read neighbouring blocks once). out[i] answers keys[i].
  [[nodiscard]] status multi_get(storage::table t, const std::vector<std::string>& keys,
                                 std::vector<std::optional<std::string>>& out) const;
  // Which of the keys prefix + u64 big-endian id exist: the overlay's answer where it has one,
  // the rest in one RocksDB MultiGet. An equality condition probes thousands of candidates per
  // query, so the keys share one buffer instead of a string each. found[i] answers ids[i].
  [[nodiscard]] status probe_ids(storage::table t, std::string_view prefix,
                                 const std::vector<uint64_t>& ids, std::vector<bool>& found) const;
  // Rows of the db in [begin, end), counted up to cap without copying them (pending writes are
  // not counted: the planner's estimates need not be exact).
  [[nodiscard]] expected<size_t> count_db_rows(storage::table t, const std::string& begin,
                                               const std::string& end, size_t cap) const;
  // RocksDB's estimate of the bytes keys in [begin, end) take on disk and in memtables; a
  // planner's tie-breaker where counting rows stops at a cap.
  [[nodiscard]] uint64_t approximate_bytes(storage::table t, const std::string& begin,
                                           const std::string& end) const;
  // A mutation runs as one transaction: begin(), then puts and dels (visible to the
  // transaction's own reads at once), then finish() appends them all to the batch, or abort()
  // undoes them -- so a request that fails changes nothing, whatever it had written.
  void begin();
  void put(storage::table t, std::string_view key, std::string_view value);
  void del(storage::table t, std::string_view key);
  void finish(storage::batch& rows);
  void abort();
  [[nodiscard]] bool in_transaction() const { return open_; }

  [[nodiscard]] uint64_t last_seq() const { return seq_; }
  // Forgets every write of transactions <= seq_durable: the db holds them now.
  void committed(uint64_t seq_durable);
  void clear();
  // Whether the overlay has room for another transaction (each one is bounded by its caller).
  [[nodiscard]] bool has_room() const {
    return by_key_.size() < entries_max_ && bytes_ < bytes_max_;
  }
  [[nodiscard]] size_t size() const { return by_key_.size(); }

  // Rows with begin <= key < end (end empty: to the table's end), merged, in key order.
  class cursor {
   public:
    // The next row, or nullopt at the end. Each call reads at most one db page.
    [[nodiscard]] expected<std::optional<storage::kv>> next();

   private:
    friend class overlay_store;
    cursor(const overlay_store& s, storage::table t, std::string begin, std::string end,
           size_t page_rows)
        : store_(s),
          table_(t),
          lower_(std::move(begin)),
          end_(std::move(end)),
          page_rows_(page_rows) {}
    [[nodiscard]] status fill();
    const overlay_store& store_;
    storage::table table_;
    std::string lower_;  // every row still to return has key >= lower_
    std::string end_;
    size_t page_rows_;
    std::deque<storage::kv> db_rows_;
    bool db_done_ = false;
    std::string db_next_;  // where the next db page starts
    bool db_started_ = false;
  };
  [[nodiscard]] cursor scan(storage::table t, std::string begin, std::string end,
                            size_t page_rows = 256) const {
    check_readable(t);
    return cursor{*this, t, std::move(begin), std::move(end), page_rows};
  }
  [[nodiscard]] cursor scan_prefix(storage::table t, const std::string& prefix,
                                   size_t page_rows = 256) const;

  [[nodiscard]] const storage::db& db() const { return db_; }

  // Writes of table t go to the batch only, not to the overlay: for tables the writing
  // transactions never read back (the attribute index, the audit log), which only reading verbs
  // read -- and those read committed state (mcs_reader). Keeping their rows out of the overlay
  // saves an ordered insert and an erase per row. Reading such a table while its writes are
  // pending is a bug (asserted): the answer would miss them.
  void set_write_only(storage::table t) { write_only_.push_back(t.id); }

  // Whether a write of the key is still pending (in the overlay, not yet durable).
  [[nodiscard]] bool has_pending(storage::table t, std::string_view key) const {
    return !by_key_.empty() && by_key_.count(overlay_key(t, key)) != 0;
  }
  // The newest pending write of the key, if any: its value (nullptr: a delete) and the
  // transaction that made it.
  struct pending_write {
    const std::string* value = nullptr;
    uint64_t seq = 0;
  };
  [[nodiscard]] std::optional<pending_write> pending(storage::table t, std::string_view key) const;
  // The sequence number of the snapshot reads go through (the db's latest when there is none).
  [[nodiscard]] uint64_t snapshot_seq() const;

  // Every db read goes through this snapshot (nullptr: the latest state). A read-only view
  // (mcs_reader) sets one per request, so that a request's reads all see the same commits.
  void set_snapshot(const rocksdb::Snapshot* snapshot) { snapshot_ = snapshot; }

 private:
  [[nodiscard]] expected<std::optional<std::string>> db_get(storage::table t,
                                                            std::string_view key) const;
  [[nodiscard]] expected<storage::scan_page> db_scan(storage::table t, const std::string& begin,
                                                     const std::string& end, size_t limit) const;
  const rocksdb::Snapshot* snapshot_ = nullptr;
  [[nodiscard]] bool is_write_only(storage::table t) const {
    for (auto id : write_only_)
      if (id == t.id) return true;
    return false;
  }
  // Asserts that no write of a write-only table t is pending (see set_write_only).
  void check_readable(storage::table t) const;

  struct entry {
    std::optional<std::string> value;  // nullopt: deleted
    uint64_t seq = 0;
  };
  using entry_map = std::map<std::string, entry, std::less<>>;
  static std::string overlay_key(storage::table t, std::string_view key);
  void record(storage::table t, std::string_view key, std::optional<std::string> value);
  // A transaction's first write of a key: the entry, and what it held before (nothing: the
  // transaction made it). Later writes of the same key in the transaction need no undo.
  struct undo {
    entry_map::iterator at;
    std::optional<entry> previous;
  };
  bool open_ = false;
  storage::batch txn_rows_;  // the open transaction's writes, in order
  std::vector<undo> undo_;
  size_t bytes_at_begin_ = 0;
  size_t by_seq_at_begin_ = 0;

  storage::db& db_;
  size_t entries_max_;
  size_t bytes_max_;
  size_t bytes_ = 0;
  uint64_t seq_ = 0;
  entry_map by_key_;
  // (seq, entry) for each transaction's first write of a key, in write order, so committed()
  // drops a prefix without looking keys up. std::map iterators stay valid until the entry is
  // erased, and an entry is erased only through its newest record (or by the abort of the
  // transaction that made it, which pops that transaction's records first).
  std::deque<std::pair<uint64_t, entry_map::iterator>> by_seq_;
  std::vector<uint32_t> write_only_;  // table ids
  // The newest transaction that wrote a write-only table, and the newest durable one.
  uint64_t write_only_seq_ = 0;
  uint64_t durable_seq_ = 0;
};

}  // namespace librarian::mcs
