// The node's one RocksDB: tables (column families), batches, bounded scans and durable writes.
// RocksDB headers stay out of this header (pimpl + forward declarations) because every actor that
// touches state includes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/expected.hpp"

namespace rocksdb {
class Env;
class DB;
class ColumnFamilyHandle;
class WriteBatch;
class Iterator;
class Snapshot;
}  // namespace rocksdb

namespace librarian::storage {

// sync = fdatasync the WAL before returning (commit before announce); buffered = the write survives
// a process crash but may be lost in a machine crash.
enum class durability : uint8_t { sync, buffered };

// A cheap, copyable reference to an open column family. Valid while its db lives.
struct table {
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  uint32_t id = 0;
  bool string_prefixed = false;  // listed in open_options::string_prefixed_tables
};

struct open_options {
  std::string path;             // data_dir/db
  rocksdb::Env* env = nullptr;  // nullptr = rocksdb::Env::Default(); simulation passes a mem env
  std::vector<std::string> tables;  // column families to open/create ("default" is implicit)
  bool create_if_missing = true;
  size_t block_cache_bytes = 32u << 20;
  // Threads RocksDB starts per table to load its files at open. 1 loads them inline: the
  // simulator opens many small DBs and must not start (non-deterministic) threads each time.
  int file_opening_threads = 4;
  // Per-table memtable size before a flush (0: RocksDB's 64 MiB). The simulator runs dozens of
  // tables per node on in-memory disks and keeps them small.
  size_t write_buffer_bytes = 0;
  // Mutable options set on some tables as they open (table -> {RocksDB option name: value}).
  // Setting them here rather than with SetOptions after the open spares a rewrite and
  // re-verification of the OPTIONS file, which costs as much as the open itself with ~40 tables
  // (the simulator opens a node's DB at every restart).
  std::map<std::string, std::unordered_map<std::string, std::string>> tuned_tables;
  // Tables whose keys all start with a string component (append_string), such as a name and
  // then what it maps to. Their filters -- the table files' and a memtable one -- also hold that
  // leading component, so a scan_prefix of exactly one whole component (every row of one name)
  // skips each sorted run and memtable that has no row for it: the common "is this name taken?"
  // and "what does this name map to?" reads touch one run instead of all of them. Other scans of
  // these tables are unchanged. A table may be added to or dropped from this list between opens:
  // files written under another setting are read without their prefix filter.
  std::set<std::string> string_prefixed_tables;
};

struct kv {
  std::string key;
  std::string value;
  friend bool operator==(const kv&, const kv&) = default;
};

// more: another row exists past the limit, so the caller can page on with start_after.
struct scan_page {
  std::vector<kv> rows;
  bool more = false;
};

// Changes to any number of tables, applied atomically by db::write. Movable, not copyable.
class batch {
 public:
  batch();
  ~batch();
  batch(batch&&) noexcept;
  batch& operator=(batch&&) noexcept;
  batch(const batch&) = delete;
  batch& operator=(const batch&) = delete;

  void put(table t, std::string_view key, std::string_view value);
  void del(table t, std::string_view key);
  [[nodiscard]] size_t count() const;
  [[nodiscard]] size_t bytes() const;
  [[nodiscard]] bool empty() const;

  // Moves other's operations behind ours (they apply after ours, in order). Copies this batch's
  // bytes once, so to merge many batches use concat, which is linear in the total.
  void append(batch&& other);
  // One batch holding all parts' operations in order; used by group commit.
  [[nodiscard]] static batch concat(std::vector<batch>& parts);

  // Reorders the operations by table, then key, keeping the order of operations on the same key
  // (a stable sort), which leaves what the batch does unchanged: it applies atomically. RocksDB
  // inserts a batch's rows into its memtables one by one, and a row that follows its neighbour
  // in key order is placed next to the previous insert, where one in random order searches the
  // memtable from its top (cache misses at every level). For a producer whose rows arrive in
  // random key order (index rows of attribute values, names in no particular order) and whose
  // batches are large; it runs on the caller's thread, not the committer's. A batch holding an
  // operation other than put and delete (see raw()) is left as it is.
  void sort_by_key();

  // For callers that need an operation this wrapper lacks (Merge, DeleteRange).
  rocksdb::WriteBatch& raw();

 private:
  // Allocated lazily so a moved-from batch stays a valid, empty batch.
  std::unique_ptr<rocksdb::WriteBatch> impl_;
};

class db {
 public:
  [[nodiscard]] static expected<std::unique_ptr<db>> open(const open_options& options);
  // Salvages what it can of a corrupt DB (rocksdb::RepairDB); run with no node using the path.
  [[nodiscard]] static status repair(const std::string& path, rocksdb::Env* env = nullptr);

  struct impl;
  // Only open() can make the tag, so only open() constructs a db (through make_unique).
  class private_tag {
    explicit private_tag() = default;
    friend class db;
  };
  db(private_tag, std::unique_ptr<impl> state);
  ~db();  // destroys the column family handles, then closes
  db(const db&) = delete;
  db& operator=(const db&) = delete;

  // Asserts that the table was opened: asking for an unknown table is a programming error.
  [[nodiscard]] table get_table(std::string_view name) const;
  [[nodiscard]] bool has_table(std::string_view name) const;

  [[nodiscard]] expected<std::optional<std::string>> get(table t, std::string_view key) const;

  // Bounded scans (limit >= 1, asserted); rows in byte order of their keys.
  // scan_prefix: keys starting with prefix and, if start_after is not empty, greater than it.
  [[nodiscard]] expected<scan_page> scan_prefix(table t, std::string_view prefix, size_t limit,
                                                std::string_view start_after = {}) const;
  // scan_range: keys in [begin, end_exclusive); an empty end_exclusive means "to the table's end".
  [[nodiscard]] expected<scan_page> scan_range(table t, std::string_view begin,
                                               std::string_view end_exclusive, size_t limit) const;

  // An iterator for a reader that seeks whole leading strings only (every row of one name, then
  // of another): on a string-prefixed table each seek skips the sorted runs without that name,
  // as scan_prefix of one whole string does. It reads `at`, or else one implicit snapshot for its
  // lifetime.
  [[nodiscard]] std::unique_ptr<rocksdb::Iterator> name_iterator(
      table t, const rocksdb::Snapshot* at = nullptr) const;
  // The current state, held until the last copy goes: for reads split across iterators (or
  // threads) that must all see the same commits.
  [[nodiscard]] std::shared_ptr<const rocksdb::Snapshot> snapshot() const;

  [[nodiscard]] status write(batch& b, durability d);

  [[nodiscard]] std::string path() const;
  // A RocksDB integer property (e.g. "rocksdb.estimate-num-keys") summed over all tables;
  // nullopt if no table knows it.
  [[nodiscard]] std::optional<uint64_t> int_property(std::string_view name) const;
  // A RocksDB integer property of the whole database, counted once (e.g.
  // "rocksdb.num-running-compactions"); nullopt if RocksDB does not know it.
  [[nodiscard]] std::optional<uint64_t> db_int_property(std::string_view name) const;

  // For what this wrapper lacks (Flush, properties per table, checkpoints).
  rocksdb::DB* raw();

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace librarian::storage
