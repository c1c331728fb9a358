// The Replica Location Index's state machine (no CAF, no threads, no clock: callers pass now_ms):
// per-LRC soft state (a full LFN list kept current by incremental updates, or a Bloom filter),
// expiry, partition patterns and the queries "which LRCs may hold this LFN?".
//
// Soft-state rules:
//  * Each LRC is in list mode or Bloom mode, whichever its last complete update used.
//  * Positions: an LRC numbers its committed changes; a position is (incarnation << 40) | change
//    seq, so positions grow across the LRC's restarts. A full list carries the position it
//    reflects (its generation); an incremental carries the positions (from, to] it covers, with
//    the LRC's changes in between netted per LFN (an LFN is in added or removed, not both).
//  * A full list update streams chunks of one generation: begin_full_update, add_chunk (any
//    order, duplicates ignored), end_full_update. (If the begin is lost, a chunk or the end of a
//    newer generation from an LRC already known and fresh starts the update; an LRC never heard
//    of must begin it.) The new list replaces the old one only once
//    every chunk 0..chunk_count-1 is in; until then the old list keeps answering. If
//    end_full_update arrives before the last chunks, the update completes when they do (add_chunk
//    then returns applied). A newer begin abandons an unfinished update.
//  * An incremental (from, to] applies to a complete list whose position p has from <= p < to:
//    the netted changes of (from, to] turn the state at any p in that range into the state at
//    to, so overlapping increments (the same LRC heard through two paths) are fine. to <= p is a
//    duplicate (ignored, but it refreshes: the LRC is alive; an empty increment (p, p] is the
//    LRC's heartbeat); from > p is a gap: refused (conflict), nothing changes, and the LRC must
//    send a full list. Incrementals that arrive while a full update is streaming are kept (at
//    most pending_incrementals_max) and replayed onto the new list when it completes; but a full
//    update that began more than one interval ago has lost a message, and then a gap is refused
//    as above so the LRC sends a new one.
//  * A Bloom filter carries a generation too; an older one than the filter held is ignored.
//  * State is fresh while now_ms - last refresh <= staleness_factor x the sender's interval
//    (default 1.2x, RLS's rule); one ms later it is stale: queries skip it and expire() drops it.
//    A stale LRC is treated as unknown, so an LRC whose generation restarted (lost its db) is
//    accepted again once its old state has expired.
//  * Persistence (limits.persist_lists): list state is journalled as rli_persist_ops the shell
//    writes to RocksDB (take_persist_ops after every call; take_refreshes now and then), and
//    restore_list reloads it after a restart. Bloom filters live in memory only.
//  * Every update that fails changes nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "actors/rls/bloom.hpp"
#include "actors/rls/glob.hpp"
#include "runtime/expected.hpp"

namespace librarian::rls {

struct rli_limits {
  size_t lrcs_max = 1000;                // LRCs (senders) one RLI tracks
  size_t lfns_per_lrc_max = 10'000'000;  // list entries per LRC, complete or pending
  size_t name_bytes_max = 4096;          // LFN and LRC names
  size_t chunk_lfns_max = 10'000;        // LFNs per full-update chunk
  size_t chunks_max = 100'000;           // chunks per full update (chunk_index < chunks_max)
  size_t incremental_lfns_max = 10'000;  // added + removed per incremental update
  size_t bulk_items_max = 10'000;        // LFNs per bulk query
  size_t patterns_max = 1'000;           // partition patterns
  size_t reslimit_default = 1'000;       // when a wildcard query passes reslimit 0
  size_t reslimit_max = 100'000;
  size_t offset_max = 1'000'000;
  size_t wildcard_rows_scanned_max = 1'000'000;         // list entries a wildcard query may examine
  uint64_t interval_ms_max = 30ull * 24 * 3600 * 1000;  // a sender's update interval
  uint32_t staleness_factor_permille = 1200;            // 1.2 x interval
  uint64_t bloom_bits_max = bloom_bits_max_default;     // largest filter accepted from a peer
  size_t pending_incrementals_max = 64;  // kept per LRC while its full update streams
  bool persist_lists = false;            // journal list changes for the shell (rli_persist_op)
};

// What a list-mode LRC's state is besides its LFNs: the row the shell persists per LRC.
struct rli_list_meta {
  static constexpr uint8_t schema_version = 1;
  uint64_t generation = 0;
  uint64_t last_seq = 0;  // the position the list reflects
  uint64_t last_refresh_ms = 0;
  uint64_t interval_ms = 0;
  uint64_t lfns_rejected = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(generation, last_seq, last_refresh_ms, interval_ms, lfns_rejected);
  }
};

// One change to persist, in order. meta empty: the LRC is gone (delete its meta row and the
// removed LFNs, which are then all it had). Otherwise write meta, delete removed, put added.
struct rli_persist_op {
  std::string lrc;
  std::optional<rli_list_meta> meta;
  std::vector<std::string> added;
  std::vector<std::string> removed;
};

enum class rli_mode : uint8_t { none, list, bloom };  // none: only an unfinished full update

// What an update did. ignored: a duplicate or stale message (not an error: redelivery is normal).
enum class update_outcome : uint8_t { applied, pending, ignored };

// An LRC that may hold an LFN. maybe: the answer comes from a Bloom filter (possible false hit).
struct lrc_hit {
  std::string lrc;
  bool maybe = false;
  friend bool operator==(const lrc_hit&, const lrc_hit&) = default;
};

struct rli_bulk_item {
  std::string lfn;
  errc code = errc::ok;
  std::string message;
  std::vector<lrc_hit> lrcs;
};

struct rli_mapping {
  std::string lfn;
  std::string lrc;
  friend bool operator==(const rli_mapping&, const rli_mapping&) = default;
  friend auto operator<=>(const rli_mapping&, const rli_mapping&) = default;
};

// Wildcard results ordered by LFN then LRC. Bloom-mode LRCs cannot be enumerated: they are
// skipped and named in skipped_bloom_lrcs so the caller can say so; if every fresh LRC is in
// Bloom mode the query fails instead (there is nothing it could answer from).
struct rli_wildcard_page {
  std::vector<rli_mapping> items;
  bool more = false;
  bool truncated = false;  // stopped at wildcard_rows_scanned_max: later matches may exist
  std::vector<std::string> skipped_bloom_lrcs;
};

struct rli_lrc_summary {
  std::string lrc;
  rli_mode mode = rli_mode::none;
  uint64_t lfn_count = 0;  // list entries, or the items the Bloom filter's sender counted
  uint64_t generation = 0;
  uint64_t last_seq = 0;
  uint64_t last_refresh_ms = 0;
  uint64_t interval_ms = 0;
  bool stale = false;
  bool full_update_pending = false;
  uint64_t lfns_rejected = 0;  // outside the partition patterns, dropped on receipt
};

class rli_state {
 public:
  explicit rli_state(rli_limits limits = {});

  // Partitioning: only LFNs matching one of the globs are kept and answered for; empty accepts
  // all. Entries already held that no longer match are hidden from queries at once and dropped
  // by the next full update. Errors (invalid_argument): a bad pattern or too many; nothing changes.
  [[nodiscard]] status set_accept_patterns(const std::vector<std::string>& patterns);
  [[nodiscard]] bool accepts(std::string_view lfn) const;

  [[nodiscard]] expected<update_outcome> begin_full_update(const std::string& lrc,
                                                           uint64_t generation, uint64_t now_ms,
                                                           uint64_t interval_ms);
  [[nodiscard]] expected<update_outcome> add_chunk(const std::string& lrc, uint64_t generation,
                                                   size_t chunk_index,
                                                   std::vector<std::string> lfns, uint64_t now_ms);
  // interval_ms (0: not given) updates the sender's interval, as begin does.
  [[nodiscard]] expected<update_outcome> end_full_update(const std::string& lrc,
                                                         uint64_t generation, size_t chunk_count,
                                                         uint64_t now_ms, uint64_t interval_ms = 0);
  // The changes of positions (from_seq, to_seq] (see the rules above). Errors: not_found
  // (LRC_NEXIST: no list to apply it to) and conflict (a gap): the LRC must send a full list.
  [[nodiscard]] expected<update_outcome> apply_incremental(const std::string& lrc,
                                                           uint64_t from_seq, uint64_t to_seq,
                                                           const std::vector<std::string>& added,
                                                           const std::vector<std::string>& removed,
                                                           uint64_t now_ms, uint64_t interval_ms);
  // Replaces the LRC's state with the filter (it switches the LRC to Bloom mode), unless the
  // LRC's current filter has a newer generation (ignored: a reordered message).
  [[nodiscard]] expected<update_outcome> set_bloom(const std::string& lrc, uint64_t generation,
                                                   std::string_view bloom_bytes, uint64_t now_ms,
                                                   uint64_t interval_ms);

  // After a restart: the persisted list of one LRC. Stale state is not loaded (false: the shell
  // deletes its rows); a bad record is an error and loads nothing.
  [[nodiscard]] expected<bool> restore_list(const std::string& lrc, const rli_list_meta& meta,
                                            std::vector<std::string> lfns, uint64_t now_ms);
  // The journal since the last call (empty unless limits.persist_lists).
  [[nodiscard]] std::vector<rli_persist_op> take_persist_ops();
  // Meta rows of list-mode LRCs refreshed since their last persisted row (so a restart knows
  // how fresh they are); cheap to call every second.
  [[nodiscard]] std::vector<rli_persist_op> take_refreshes();

  // Drops the LRC's state without journalling it (the shell deletes its rows itself).
  void forget(const std::string& lrc) { lrcs_.erase(lrc); }
  // Drops every stale LRC; returns how many.
  size_t expire(uint64_t now_ms);

  // The fresh LRCs that may hold lfn, by LRC name; not_found (LFN_NEXIST) if none.
  [[nodiscard]] expected<std::vector<lrc_hit>> query_lfn(std::string_view lfn,
                                                         uint64_t now_ms) const;
  // One item per LFN; a bad or unknown LFN fails only its own item.
  [[nodiscard]] expected<std::vector<rli_bulk_item>> bulk_query(
      const std::vector<std::string>& lfns, uint64_t now_ms) const;
  [[nodiscard]] expected<rli_wildcard_page> query_wildcard(std::string_view pattern,
                                                           uint64_t now_ms, size_t offset,
                                                           size_t reslimit) const;

  [[nodiscard]] std::vector<rli_lrc_summary> lrcs(uint64_t now_ms) const;
  [[nodiscard]] size_t lrc_count() const { return lrcs_.size(); }

 private:
  struct incremental {
    uint64_t from_seq = 0;
    uint64_t to_seq = 0;
    std::vector<std::string> added;
    std::vector<std::string> removed;
  };
  struct pending_full {
    uint64_t generation = 0;
    std::map<size_t, std::vector<std::string>> chunks;
    size_t lfn_count = 0;
    std::optional<size_t> chunk_count;      // set by end_full_update
    std::vector<incremental> incrementals;  // arrived while streaming, replayed on completion
    uint64_t began_ms = 0;
  };
  struct lrc_entry {
    rli_mode mode = rli_mode::none;
    std::set<std::string, std::less<>> lfns;  // ordered: wildcard scans start at the prefix
    std::optional<bloom_filter> bloom;
    uint64_t generation = 0;
    uint64_t last_seq = 0;
    uint64_t last_refresh_ms = 0;
    uint64_t interval_ms = 0;
    uint64_t lfns_rejected = 0;
    uint64_t persisted_refresh_ms = 0;  // last_refresh_ms in the last persisted meta row
    std::optional<pending_full> pending;
  };

  // How a chunk or end message relates to the LRC's unfinished full update: late and superseded
  // messages are ignored (redelivery is normal), anything else without its begin is an error.
  enum class pending_match : uint8_t { current, ignore, missing };
  [[nodiscard]] static pending_match match_pending(const lrc_entry* entry, uint64_t generation);
  // A chunk or end of a newer generation from a fresh, known LRC whose begin was lost starts
  // the update all the same; false (nothing changed) otherwise.
  [[nodiscard]] bool implicit_begin(lrc_entry* entry, uint64_t generation, uint64_t now_ms);
  [[nodiscard]] static error no_pending_update(const std::string& lrc, uint64_t generation);
  // A stale or redelivered update message; a copy of the list already held refreshes it.
  static update_outcome ignore_update(lrc_entry& entry, uint64_t generation, uint64_t now_ms);

  [[nodiscard]] status validate_name(std::string_view name, const char* what) const;
  [[nodiscard]] status validate_interval(uint64_t interval_ms) const;
  [[nodiscard]] bool fresh(const lrc_entry& entry, uint64_t now_ms) const;
  // The entry of a fresh LRC, or nullptr (unknown or stale).
  [[nodiscard]] lrc_entry* fresh_entry(const std::string& lrc, uint64_t now_ms);
  // The LRC's entry, creating it (or resetting a stale one) when the bound allows.
  [[nodiscard]] expected<lrc_entry*> entry_for_update(const std::string& lrc, uint64_t now_ms);
  [[nodiscard]] expected<update_outcome> try_complete(const std::string& lrc, lrc_entry& entry,
                                                      uint64_t now_ms);
  [[nodiscard]] status validate_incremental(const lrc_entry& entry,
                                            const std::vector<std::string>& added,
                                            const std::vector<std::string>& removed) const;
  [[nodiscard]] expected<size_t> checked_reslimit(size_t offset, size_t reslimit) const;
  // Applies a validated incremental that chains onto the list (from <= last_seq < to).
  void apply_changes(const std::string& lrc, lrc_entry& entry, const incremental& changes,
                     uint64_t now_ms);
  // Journal: the entry's current meta with these LFN changes; its whole list gone.
  void journal(const std::string& lrc, lrc_entry& entry, std::vector<std::string> added,
               std::vector<std::string> removed);
  void journal_drop(const std::string& lrc, const lrc_entry& entry);
  [[nodiscard]] static rli_list_meta meta_of(const lrc_entry& entry);
  void scan_wildcard(const glob& pattern, const std::string& lrc, const lrc_entry& entry,
                     size_t& scanned, std::vector<rli_mapping>& matches, bool& truncated) const;

  rli_limits limits_;
  std::vector<glob> accept_patterns_;
  std::map<std::string, lrc_entry, std::less<>> lrcs_;
  std::vector<rli_persist_op> journal_;
};

}  // namespace librarian::rls
