// The Local Replica Catalog's state machine (no CAF, no I/O of its own): validates each request
// against the catalog in RocksDB, appends the rows to write to a batch the actor shell commits, and
// answers queries with bounded, paged index scans. It holds no copy of the catalog, only counters
// and a bounded overlay of pending writes, so it scales to millions of mappings.
//
// Consistency rule for the shell (group commit is asynchronous):
//  * Mutations see committed state plus every write already handed out in a batch (the overlay),
//    so requests may be validated back to back while earlier batches are still being committed.
//  * After a batch is durable, the shell calls committed(seq) with the last_seq() it read right
//    after building that batch; the overlay then forgets those writes.
//  * If a commit fails, the shell fails every in-flight request, waits for the in-flight batches to
//    finish (or drops them), and calls reload(): the overlay is cleared and the counters re-read.
//  * A mutation that fails appends nothing and changes nothing: every read happens before the
//    first write. (errc::unavailable means the overlay is full: retry after the next commit.)
//  * Queries (exists_*, query_*, changes_since) read only the db, i.e. committed state, so a reply
//    never announces something a crash could still lose (commit before announce). The counts
//    include pending writes: they are statistics, not announcements.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <rocksdb/iterator.h>

#include "actors/rls/messages.hpp"
#include "actors/rls/pending_writes.hpp"
#include "runtime/expected.hpp"
#include "storage/db.hpp"

namespace librarian {
class fork_join_pool;
}  // namespace librarian

namespace librarian::rls {

inline constexpr const char* lrc_mappings_table = "lrc_mappings";    // (lfn, pfn) -> ""
inline constexpr const char* lrc_pfn_index_table = "lrc_pfn_index";  // (pfn, lfn) -> ""
inline constexpr const char* lrc_changes_table = "lrc_changes";      // u64 seq -> change row
inline constexpr const char* lrc_meta_table = "lrc_meta";            // "counters" -> counters row

// The column families the LRC needs; the node adds them to its open_options.
[[nodiscard]] std::vector<std::string> lrc_tables();
// The LRC tables keyed by a name first (open_options::string_prefixed_tables): every read of one
// LFN's or one PFN's rows then skips the sorted runs without it.
[[nodiscard]] std::set<std::string> lrc_string_prefixed_tables();

struct lrc_limits {
  size_t name_bytes_max = 4096;
  size_t reslimit_default = 1000;      // when a query passes reslimit 0
  size_t reslimit_max = 100000;        // a larger reslimit is BADARG, as RLS's result_limit
  size_t offset_max = 1000000;         // offsets are skipped by scanning, so they are bounded too
  size_t bulk_items_max = 10000;       // per bulk request
  size_t rename_mappings_max = 10000;  // PFNs one rename_lfn may move (one batch)
  size_t wildcard_rows_scanned_max = 1000000;  // rows a wildcard query may examine
  size_t scan_page_rows = 1000;                // rows per db read while scanning
  size_t changes_page_max = 10000;
  size_t pending_entries_max = 200000;
  size_t pending_bytes_max = 256u << 20;
};

class lrc_state {
 public:
  // db must outlive the state; it must have been opened with lrc_tables().
  explicit lrc_state(const storage::db& db, lrc_limits limits = {});

  // Reads the counters row (a fresh db starts empty) and clears the overlay.
  [[nodiscard]] status load();
  // After a failed commit (see the consistency rule above).
  [[nodiscard]] status reload() { return load(); }
  // The shell's commit callback: every write with seq <= seq_durable is now in the db.
  void committed(uint64_t seq_durable) { pending_.committed(seq_durable); }
  // The seq of the newest change handed out (0 if none yet): the token for committed().
  [[nodiscard]] uint64_t last_seq() const { return counts_.next_seq - 1; }
  [[nodiscard]] size_t pending_writes_count() const { return pending_.size(); }

  // Mutations. Names: 1..name_bytes_max bytes, no NUL. Error messages start with the RLS status
  // name (LFN_EXIST, LFN_NEXIST, MAPPING_EXIST, MAPPING_NEXIST, BADARG).
  [[nodiscard]] status create(const std::string& lfn, const std::string& pfn, storage::batch& rows);
  [[nodiscard]] status add(const std::string& lfn, const std::string& pfn, storage::batch& rows);
  // The LFN goes with its last PFN.
  [[nodiscard]] status remove(const std::string& lfn, const std::string& pfn, storage::batch& rows);
  // Moves every mapping of old_lfn (at most rename_mappings_max) to new_lfn, which must not exist.
  [[nodiscard]] status rename_lfn(const std::string& old_lfn, const std::string& new_lfn,
                                  storage::batch& rows);
  [[nodiscard]] status rename_pfn(const std::string& lfn, const std::string& old_pfn,
                                  const std::string& new_pfn, storage::batch& rows);

  // Bulk: one status per item, in order; failed items append nothing, good ones go into rows
  // (one batch). Items see the effects of earlier items of the same request. The request as a
  // whole fails (nothing appended) only when it has more than bulk_items_max items.
  [[nodiscard]] expected<std::vector<status>> bulk_create(const std::vector<mapping>& items,
                                                          storage::batch& rows);
  [[nodiscard]] expected<std::vector<status>> bulk_add(const std::vector<mapping>& items,
                                                       storage::batch& rows);
  [[nodiscard]] expected<std::vector<status>> bulk_remove(const std::vector<mapping>& items,
                                                          storage::batch& rows);

  // The librarian's many new instances at once (bulk upload, import): each (LFN, PFN) is added,
  // creating the LFN if new; a mapping already there is fine. All or nothing as far as the
  // caller can tell: names and room are checked for every item before any is appended, so an
  // error afterwards is a storage failure (the actor then restarts from what is durable).
  [[nodiscard]] status attach_many(const std::vector<mapping>& items, storage::batch& rows);

  // Clearing the catalog (rls-admin clear), a bounded step at a time: removes up to max_items
  // (1..bulk_items_max) of the first committed mappings, as bulk_remove would (change rows
  // included while the log is on, so immediate-mode RLIs hear of it). Call again only after rows
  // are committed: the scan reads committed state. more: the step saw max_items mappings, so more
  // may remain.
  struct clear_step {
    size_t removed = 0;
    bool more = false;
  };
  [[nodiscard]] expected<clear_step> clear_some(size_t max_items, storage::batch& rows);

  // Queries on committed state.
  [[nodiscard]] expected<bool> exists_lfn(const std::string& lfn) const;
  [[nodiscard]] expected<bool> exists_pfn(const std::string& pfn) const;
  [[nodiscard]] expected<bool> exists_mapping(const std::string& lfn, const std::string& pfn) const;
  // PFNs of an LFN in byte order; not_found (LFN_NEXIST) if the LFN has none. reslimit 0 = default.
  [[nodiscard]] expected<name_page> query_lfn(const std::string& lfn, size_t offset,
                                              size_t reslimit) const;
  // LFNs of a PFN; not_found (PFN_NEXIST) if none.
  [[nodiscard]] expected<name_page> query_pfn(const std::string& pfn, size_t offset,
                                              size_t reslimit) const;
  // Mappings whose LFN (resp. PFN) matches the pattern, ordered by LFN then PFN (resp. PFN then
  // LFN). No match is an empty page, not an error.
  [[nodiscard]] expected<mapping_page> query_lfn_wildcard(const std::string& pattern, size_t offset,
                                                          size_t reslimit) const;
  [[nodiscard]] expected<mapping_page> query_pfn_wildcard(const std::string& pattern, size_t offset,
                                                          size_t reslimit) const;
  // Up to reslimit PFNs for each LFN; a bad or unknown LFN fails only its own item. Every item
  // reads the same committed state.
  [[nodiscard]] expected<std::vector<bulk_query_item>> bulk_query_lfn(
      const std::vector<std::string>& lfns, size_t reslimit) const;
  // Lets bulk_query_lfn split a large request across the pool's threads (nullptr: it does not).
  // For a read-only view on HTTP threads; the pool must outlive this state.
  void use_read_pool(fork_join_pool* pool) { read_pool_ = pool; }

  [[nodiscard]] uint64_t lfn_count() const { return counts_.lfns; }
  [[nodiscard]] uint64_t mapping_count() const { return counts_.mappings; }

  // Whether mutations append change rows, the log that changes_since reads (on by default).
  // The shell turns it off while no update target reads it: the rows would only be trimmed
  // again. Seqs advance either way, so a stretch of them may have no rows.
  void set_change_log(bool on) { log_changes_ = on; }
  [[nodiscard]] bool change_log() const { return log_changes_; }

  // Distinct committed LFNs in byte order after `after` ("" = from the first), at most `limit`
  // (keyset paging: each page costs only its own rows). For full soft-state updates to RLIs.
  [[nodiscard]] expected<name_page> list_lfns(const std::string& after, size_t limit) const;
  // Committed changes with seq > after_seq, oldest first, at most limit (1..changes_page_max).
  [[nodiscard]] expected<change_page> changes_since(uint64_t after_seq, size_t limit) const;
  // Deletes up to rows_max change rows with seq <= upto_seq (once every RLI target has them).
  // Returns how many it deleted; fewer than rows_max means it reached upto_seq.
  [[nodiscard]] expected<size_t> trim_changes(uint64_t upto_seq, size_t rows_max,
                                              storage::batch& rows) const;

 private:
  enum class side : uint8_t { lfn, pfn };
  using bulk_op = status (lrc_state::*)(const std::string&, const std::string&, storage::batch&);

  [[nodiscard]] status validate_name(const std::string& name, const char* what) const;
  [[nodiscard]] status check_room(size_t writes, size_t key_bytes) const;
  // Pending-aware reads used to validate mutations.
  [[nodiscard]] expected<bool> mapping_pending_or_db(const std::string& lfn,
                                                     const std::string& pfn) const;
  // Distinct current PFNs of an LFN, counting at most cap of them.
  [[nodiscard]] expected<size_t> count_pfns(const std::string& lfn, size_t cap) const;
  [[nodiscard]] expected<std::vector<std::string>> list_pfns(const std::string& lfn,
                                                             size_t max) const;
  // Writes: both index rows, the change row and the overlay entry.
  void put_mapping(const std::string& lfn, const std::string& pfn, bool lfn_created,
                   storage::batch& rows);
  void drop_mapping(const std::string& lfn, const std::string& pfn, bool lfn_removed,
                    storage::batch& rows);
  void log_change(change_op op, const std::string& lfn, const std::string& pfn, bool lfn_changed,
                  storage::batch& rows);
  void write_counts(storage::batch& rows) const;

  // The single mutations without the counters row, which the public calls write once.
  [[nodiscard]] status create_one(const std::string& lfn, const std::string& pfn,
                                  storage::batch& rows);
  [[nodiscard]] status add_one(const std::string& lfn, const std::string& pfn,
                               storage::batch& rows);
  [[nodiscard]] status remove_one(const std::string& lfn, const std::string& pfn,
                                  storage::batch& rows);
  [[nodiscard]] status missing_mapping(const std::string& lfn, const std::string& pfn) const;
  [[nodiscard]] expected<std::vector<status>> run_bulk(const std::vector<mapping>& items,
                                                       bulk_op op, storage::batch& rows);
  [[nodiscard]] expected<size_t> checked_reslimit(size_t offset, size_t reslimit) const;
  [[nodiscard]] expected<name_page> query_names(side by, const std::string& name, size_t offset,
                                                size_t reslimit) const;
  [[nodiscard]] expected<mapping_page> query_wildcard(side by, const std::string& pattern,
                                                      size_t offset, size_t reslimit) const;

  const storage::db& db_;
  lrc_limits limits_;
  storage::table mappings_;
  storage::table pfn_index_;
  storage::table changes_;
  storage::table meta_;
  lrc_counts counts_;
  pending_writes pending_;
  bool log_changes_ = true;
  // During run_bulk: one iterator over the mappings for every item's existence check (creating
  // one per item cost more than the check). Its snapshot is the bulk's start; whatever commits
  // meanwhile is still in the overlay, which is consulted first.
  std::unique_ptr<rocksdb::Iterator> bulk_reader_;
  fork_join_pool* read_pool_ = nullptr;
};

}  // namespace librarian::rls
