// The Local Replica Catalog's state machine (see lrc_state.hpp for the consistency rule).
#include "actors/rls/lrc_state.hpp"

#include <algorithm>
#include <limits>
#include <memory>
#include <numeric>
#include <set>

#include <rocksdb/iterator.h>

#include "actors/rls/glob.hpp"
#include "runtime/fork_join.hpp"
#include "storage/codec.hpp"
#include "storage/keys.hpp"
#include "storage/table.hpp"

namespace librarian::rls {
namespace {

constexpr const char* counts_key = "counters";
constexpr size_t shown_bytes_max = 128;  // names in error messages are cut to this

// The counters row, rewritten in every mutating batch so counts are O(1) after a restart.
struct counts_row {
  static constexpr uint8_t schema_version = 1;
  uint64_t next_seq = 1;
  uint64_t lfns = 0;
  uint64_t mappings = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(next_seq, lfns, mappings);
  }
};

struct change_row {
  static constexpr uint8_t schema_version = 1;
  uint8_t op = 0;
  std::string lfn;
  std::string pfn;
  bool lfn_changed = false;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(op, lfn, pfn, lfn_changed);
  }
};

// Names never contain NUL, so a name's escaped key form is its own bytes plus the terminator,
// and the raw literal prefix of a pattern is also a prefix of the encoded keys it can match.
std::string pair_key(const std::string& first, const std::string& second) {
  std::string key;
  storage::append_string(key, first);
  storage::append_string(key, second);
  return key;
}

// The second name of a pair key, from what follows the first name's encoding.
expected<std::string> read_pair_second(std::string_view rest) {
  storage::key_reader reader{rest};
  auto second = reader.read_string();
  if (!second) return second.err();
  if (!reader.done())
    return fail(errc::internal, "corrupt key: trailing bytes in an LRC index key");
  return second;
}

expected<std::pair<std::string, std::string>> read_pair_key(std::string_view key) {
  storage::key_reader reader{key};
  auto first = reader.read_string();
  if (!first) return first.err();
  auto second = read_pair_second(reader.rest());
  if (!second) return second.err();
  return std::pair{std::move(*first), std::move(*second)};
}

std::string shown(const std::string& name) {
  if (name.size() <= shown_bytes_max) return "'" + name + "'";
  return "'" + name.substr(0, shown_bytes_max) + "...' (" + std::to_string(name.size()) + " bytes)";
}

enum class scan_end : uint8_t { done, stopped, budget };

// Visits the rows under prefix in key order, a page at a time, until visit returns false (stopped),
// the range ends (done) or rows_max rows were visited with more left (budget).
template <class Visit>
expected<scan_end> scan_bounded(const storage::db& db, storage::table t, std::string_view prefix,
                                size_t page_rows, size_t rows_max, Visit&& visit) {
  std::string after;
  size_t seen = 0;
  // Bounded: each pass visits at least one row and seen never exceeds rows_max.
  for (;;) {
    size_t want = std::min(page_rows, rows_max - seen);
    if (want == 0) return scan_end::budget;
    auto page = db.scan_prefix(t, prefix, want, after);
    if (!page) return page.err();
    for (const auto& row : page->rows) {
      ++seen;
      expected<bool> go = visit(row);
      if (!go) return go.err();
      if (!*go) return scan_end::stopped;
    }
    if (!page->more || page->rows.empty()) return scan_end::done;
    after = page->rows.back().key;
  }
}

}  // namespace

std::vector<std::string> lrc_tables() {
  return {lrc_mappings_table, lrc_pfn_index_table, lrc_changes_table, lrc_meta_table};
}

std::set<std::string> lrc_string_prefixed_tables() {
  return {lrc_mappings_table, lrc_pfn_index_table};
}

lrc_state::lrc_state(const storage::db& db, lrc_limits limits)
    : db_(db),
      limits_(limits),
      mappings_(db.get_table(lrc_mappings_table)),
      pfn_index_(db.get_table(lrc_pfn_index_table)),
      changes_(db.get_table(lrc_changes_table)),
      meta_(db.get_table(lrc_meta_table)),
      pending_(limits.pending_entries_max, limits.pending_bytes_max) {}

status lrc_state::load() {
  pending_.clear();
  auto row = storage::get_record<counts_row>(db_, meta_, counts_key);
  if (!row) return row.err();
  if (!row->has_value()) {
    auto any = db_.scan_prefix(mappings_, "", 1);
    if (!any) return any.err();
    if (!any->rows.empty())
      return fail(errc::internal, "the LRC's counters row is missing but mappings exist");
    counts_ = {};
    return {};
  }
  const auto& stored = **row;
  if (stored.next_seq == 0 || stored.lfns > stored.mappings)
    return fail(errc::internal, "corrupt record: the LRC's counters row is inconsistent");
  counts_ = {stored.lfns, stored.mappings, stored.next_seq};
  return {};
}

status lrc_state::validate_name(const std::string& name, const char* what) const {
  if (name.empty())
    return fail(errc::invalid_argument, std::string{"BADARG: "} + what + " must not be empty");
  if (name.size() > limits_.name_bytes_max)
    return fail(errc::invalid_argument, std::string{"BADARG: "} + what + " has at most " +
                                            std::to_string(limits_.name_bytes_max) +
                                            " bytes (got " + std::to_string(name.size()) + ")");
  if (name.find('\0') != std::string::npos)
    return fail(errc::invalid_argument,
                std::string{"BADARG: "} + what + " must not contain a NUL byte");
  return {};
}

status lrc_state::check_room(size_t writes, size_t key_bytes) const {
  if (!pending_.has_room(writes, key_bytes))
    return fail(errc::unavailable,
                "too many LRC changes are waiting to be committed; retry in a moment");
  return {};
}

expected<bool> lrc_state::mapping_pending_or_db(const std::string& lfn,
                                                const std::string& pfn) const {
  auto key = pair_key(lfn, pfn);
  if (auto pending = pending_.find(key)) return *pending;
  auto row = db_.get(mappings_, key);
  if (!row) return row.err();
  return row->has_value();
}

expected<size_t> lrc_state::count_pfns(const std::string& lfn, size_t cap) const {
  auto prefix = storage::string_key(lfn);
  std::set<std::string> overlaid;  // keys whose pending write overrides the db
  size_t count = 0;
  pending_.for_each_with_prefix(prefix, [&](const std::string& key, bool present) {
    overlaid.insert(key);
    count += present ? 1 : 0;
  });
  if (count >= cap) return cap;
  // Enough db rows to find the missing ones even if every overlaid key shows up among them.
  size_t rows_max = cap - count + overlaid.size();
  if (bulk_reader_) {
    auto& it = *bulk_reader_;
    const rocksdb::Slice wanted{prefix};
    size_t seen = 0;
    for (it.Seek(wanted); it.Valid() && it.key().starts_with(wanted) && seen < rows_max;
         it.Next()) {
      ++seen;
      if (overlaid.empty() || !overlaid.count(it.key().ToString())) ++count;
      if (count >= cap) break;
    }
    if (!it.status().ok())
      return fail(errc::unavailable,
                  "reading the LRC's mappings failed: " + it.status().ToString());
    return std::min(count, cap);
  }
  auto end = scan_bounded(db_, mappings_, prefix, limits_.scan_page_rows, rows_max,
                          [&](const storage::kv& row) -> expected<bool> {
                            if (!overlaid.count(row.key)) ++count;
                            return count < cap;
                          });
  if (!end) return end.err();
  return std::min(count, cap);
}

expected<std::vector<std::string>> lrc_state::list_pfns(const std::string& lfn, size_t max) const {
  auto prefix = storage::string_key(lfn);
  std::set<std::string> keys;
  std::set<std::string> deleted;
  pending_.for_each_with_prefix(prefix, [&](const std::string& key, bool present) {
    (present ? keys : deleted).insert(key);
  });
  size_t rows_max = max + keys.size() + deleted.size() + 1;
  auto end = scan_bounded(db_, mappings_, prefix, limits_.scan_page_rows, rows_max,
                          [&](const storage::kv& row) -> expected<bool> {
                            if (!deleted.count(row.key)) keys.insert(row.key);
                            return true;
                          });
  if (!end) return end.err();
  if (*end == scan_end::budget || keys.size() > max)
    return fail(errc::invalid_argument, "BADARG: LFN " + shown(lfn) + " has more than " +
                                            std::to_string(max) +
                                            " mappings, more than one rename may move");
  std::vector<std::string> pfns;
  pfns.reserve(keys.size());
  for (const auto& key : keys) {
    auto pair = read_pair_key(key);
    if (!pair) return pair.err();
    pfns.push_back(std::move(pair->second));
  }
  return pfns;
}

void lrc_state::log_change(change_op op, const std::string& lfn, const std::string& pfn,
                           bool lfn_changed, storage::batch& rows) {
  if (log_changes_) {
    change_row row{static_cast<uint8_t>(op), lfn, pfn, lfn_changed};
    storage::put_record(rows, changes_, storage::u64_key(counts_.next_seq), row);
  }
  ++counts_.next_seq;  // the seq still orders the overlay's writes and the updates' positions
}

void lrc_state::put_mapping(const std::string& lfn, const std::string& pfn, bool lfn_created,
                            storage::batch& rows) {
  auto key = pair_key(lfn, pfn);
  // The forward row, its reverse index row and the change row go in the same batch.
  rows.put(mappings_, key, "");
  rows.put(pfn_index_, pair_key(pfn, lfn), "");
  pending_.record(key, true, counts_.next_seq);
  log_change(change_op::mapping_added, lfn, pfn, lfn_created, rows);
  ++counts_.mappings;
  if (lfn_created) ++counts_.lfns;
}

void lrc_state::drop_mapping(const std::string& lfn, const std::string& pfn, bool lfn_removed,
                             storage::batch& rows) {
  auto key = pair_key(lfn, pfn);
  rows.del(mappings_, key);
  rows.del(pfn_index_, pair_key(pfn, lfn));
  pending_.record(key, false, counts_.next_seq);
  log_change(change_op::mapping_removed, lfn, pfn, lfn_removed, rows);
  LIB_ASSERT(counts_.mappings > 0);
  --counts_.mappings;
  if (lfn_removed) {
    LIB_ASSERT(counts_.lfns > 0);
    --counts_.lfns;
  }
}

void lrc_state::write_counts(storage::batch& rows) const {
  storage::put_record(rows, meta_, counts_key,
                      counts_row{counts_.next_seq, counts_.lfns, counts_.mappings});
}

}  // namespace librarian::rls

namespace librarian::rls {

status lrc_state::missing_mapping(const std::string& lfn, const std::string& pfn) const {
  auto n = count_pfns(lfn, 1);
  if (!n) return n.err();
  if (*n == 0) return fail(errc::not_found, "LFN_NEXIST: LFN " + shown(lfn) + " does not exist");
  return fail(errc::not_found, "MAPPING_NEXIST: LFN " + shown(lfn) + " has no PFN " + shown(pfn));
}

status lrc_state::create_one(const std::string& lfn, const std::string& pfn, storage::batch& rows) {
  if (auto st = validate_name(lfn, "an LFN"); !st) return st;
  if (auto st = validate_name(pfn, "a PFN"); !st) return st;
  if (auto st = check_room(1, lfn.size() + pfn.size() + 4); !st) return st;
  auto n = count_pfns(lfn, 1);
  if (!n) return n.err();
  if (*n > 0) return fail(errc::already_exists, "LFN_EXIST: LFN " + shown(lfn) + " already exists");
  put_mapping(lfn, pfn, true, rows);
  return {};
}

status lrc_state::add_one(const std::string& lfn, const std::string& pfn, storage::batch& rows) {
  if (auto st = validate_name(lfn, "an LFN"); !st) return st;
  if (auto st = validate_name(pfn, "a PFN"); !st) return st;
  if (auto st = check_room(1, lfn.size() + pfn.size() + 4); !st) return st;
  auto n = count_pfns(lfn, 1);
  if (!n) return n.err();
  if (*n == 0) return fail(errc::not_found, "LFN_NEXIST: LFN " + shown(lfn) + " does not exist");
  auto has = mapping_pending_or_db(lfn, pfn);
  if (!has) return has.err();
  if (*has)
    return fail(errc::already_exists,
                "MAPPING_EXIST: LFN " + shown(lfn) + " already has PFN " + shown(pfn));
  put_mapping(lfn, pfn, false, rows);
  return {};
}

status lrc_state::remove_one(const std::string& lfn, const std::string& pfn, storage::batch& rows) {
  if (auto st = validate_name(lfn, "an LFN"); !st) return st;
  if (auto st = validate_name(pfn, "a PFN"); !st) return st;
  if (auto st = check_room(1, lfn.size() + pfn.size() + 4); !st) return st;
  auto has = mapping_pending_or_db(lfn, pfn);
  if (!has) return has.err();
  if (!*has) return missing_mapping(lfn, pfn);
  auto n = count_pfns(lfn, 2);
  if (!n) return n.err();
  drop_mapping(lfn, pfn, *n == 1, rows);  // the LFN goes with its last PFN
  return {};
}

status lrc_state::create(const std::string& lfn, const std::string& pfn, storage::batch& rows) {
  auto st = create_one(lfn, pfn, rows);
  if (st) write_counts(rows);
  return st;
}

status lrc_state::add(const std::string& lfn, const std::string& pfn, storage::batch& rows) {
  auto st = add_one(lfn, pfn, rows);
  if (st) write_counts(rows);
  return st;
}

status lrc_state::remove(const std::string& lfn, const std::string& pfn, storage::batch& rows) {
  auto st = remove_one(lfn, pfn, rows);
  if (st) write_counts(rows);
  return st;
}

status lrc_state::attach_many(const std::vector<mapping>& items, storage::batch& rows) {
  if (items.size() > limits_.bulk_items_max)
    return fail(errc::invalid_argument, "BADARG: " + std::to_string(items.size()) +
                                            " mappings at once; at most " +
                                            std::to_string(limits_.bulk_items_max));
  size_t key_bytes_max = 0;
  for (const auto& m : items) {
    if (auto st = validate_name(m.lfn, "an LFN"); !st) return st;
    if (auto st = validate_name(m.pfn, "a PFN"); !st) return st;
    key_bytes_max = std::max(key_bytes_max, m.lfn.size() + m.pfn.size() + 4);
  }
  if (auto st = check_room(items.size(), key_bytes_max); !st) return st;
  for (const auto& m : items) {
    auto st = add_one(m.lfn, m.pfn, rows);
    if (!st && st.err().code == errc::not_found) st = create_one(m.lfn, m.pfn, rows);
    if (!st && st.err().code != errc::already_exists) return st;
  }
  write_counts(rows);
  return {};
}

status lrc_state::rename_lfn(const std::string& old_lfn, const std::string& new_lfn,
                             storage::batch& rows) {
  if (auto st = validate_name(old_lfn, "an LFN"); !st) return st;
  if (auto st = validate_name(new_lfn, "the new LFN"); !st) return st;
  if (old_lfn == new_lfn) return fail(errc::invalid_argument, "BADARG: the new LFN is the old one");
  auto pfns = list_pfns(old_lfn, limits_.rename_mappings_max);
  if (!pfns) return pfns.err();
  if (pfns->empty())
    return fail(errc::not_found, "LFN_NEXIST: LFN " + shown(old_lfn) + " does not exist");
  auto taken = count_pfns(new_lfn, 1);
  if (!taken) return taken.err();
  if (*taken > 0)
    return fail(errc::already_exists, "LFN_EXIST: LFN " + shown(new_lfn) + " already exists");
  size_t key_bytes_max = std::max(old_lfn.size(), new_lfn.size()) + limits_.name_bytes_max + 4;
  if (auto st = check_room(2 * pfns->size(), key_bytes_max); !st) return st;
  for (size_t i = 0; i < pfns->size(); ++i) {
    drop_mapping(old_lfn, (*pfns)[i], i + 1 == pfns->size(), rows);
    put_mapping(new_lfn, (*pfns)[i], i == 0, rows);
  }
  write_counts(rows);
  return {};
}

status lrc_state::rename_pfn(const std::string& lfn, const std::string& old_pfn,
                             const std::string& new_pfn, storage::batch& rows) {
  if (auto st = validate_name(lfn, "an LFN"); !st) return st;
  if (auto st = validate_name(old_pfn, "a PFN"); !st) return st;
  if (auto st = validate_name(new_pfn, "the new PFN"); !st) return st;
  if (old_pfn == new_pfn) return fail(errc::invalid_argument, "BADARG: the new PFN is the old one");
  size_t key_bytes = lfn.size() + std::max(old_pfn.size(), new_pfn.size()) + 4;
  if (auto st = check_room(2, key_bytes); !st) return st;
  auto has_old = mapping_pending_or_db(lfn, old_pfn);
  if (!has_old) return has_old.err();
  if (!*has_old) return missing_mapping(lfn, old_pfn);
  auto has_new = mapping_pending_or_db(lfn, new_pfn);
  if (!has_new) return has_new.err();
  if (*has_new)
    return fail(errc::already_exists,
                "MAPPING_EXIST: LFN " + shown(lfn) + " already has PFN " + shown(new_pfn));
  // Add before drop so that each change-log entry, applied alone, never shows the LFN vanishing.
  put_mapping(lfn, new_pfn, false, rows);
  drop_mapping(lfn, old_pfn, false, rows);
  write_counts(rows);
  return {};
}

expected<std::vector<status>> lrc_state::run_bulk(const std::vector<mapping>& items, bulk_op op,
                                                  storage::batch& rows) {
  if (items.size() > limits_.bulk_items_max)
    return fail(errc::invalid_argument, "BADARG: a bulk request has at most " +
                                            std::to_string(limits_.bulk_items_max) +
                                            " items (got " + std::to_string(items.size()) + ")");
  std::vector<status> results;
  results.reserve(items.size());
  bool changed = false;
  bulk_reader_ = db_.name_iterator(mappings_);
  struct reader_reset {
    std::unique_ptr<rocksdb::Iterator>& reader;
    ~reader_reset() { reader.reset(); }
  } reset_at_exit{bulk_reader_};
  for (const auto& item : items) {
    results.push_back((this->*op)(item.lfn, item.pfn, rows));
    changed = changed || results.back().has_value();
  }
  if (changed) write_counts(rows);
  return results;
}

expected<std::vector<status>> lrc_state::bulk_create(const std::vector<mapping>& items,
                                                     storage::batch& rows) {
  return run_bulk(items, &lrc_state::create_one, rows);
}

expected<std::vector<status>> lrc_state::bulk_add(const std::vector<mapping>& items,
                                                  storage::batch& rows) {
  return run_bulk(items, &lrc_state::add_one, rows);
}

expected<std::vector<status>> lrc_state::bulk_remove(const std::vector<mapping>& items,
                                                     storage::batch& rows) {
  return run_bulk(items, &lrc_state::remove_one, rows);
}

expected<lrc_state::clear_step> lrc_state::clear_some(size_t max_items, storage::batch& rows) {
  if (max_items == 0 || max_items > limits_.bulk_items_max)
    return fail(errc::invalid_argument, "BADARG: a clear step removes 1 to " +
                                            std::to_string(limits_.bulk_items_max) + " mappings");
  auto page = db_.scan_range(mappings_, "", "", max_items);
  if (!page) return page.err();
  std::vector<mapping> items;
  items.reserve(page->rows.size());
  for (const auto& row : page->rows) {
    auto key = read_pair_key(row.key);
    if (!key) return key.err();
    items.push_back({std::move(key->first), std::move(key->second)});
  }
  auto results = bulk_remove(items, rows);
  if (!results) return results.err();
  clear_step step;
  for (const auto& st : *results) step.removed += st ? 1 : 0;
  step.more = page->more;
  return step;
}

}  // namespace librarian::rls

namespace librarian::rls {

expected<bool> lrc_state::exists_lfn(const std::string& lfn) const {
  if (auto st = validate_name(lfn, "an LFN"); !st) return st.err();
  auto page = db_.scan_prefix(mappings_, storage::string_key(lfn), 1);
  if (!page) return page.err();
  return !page->rows.empty();
}

expected<bool> lrc_state::exists_pfn(const std::string& pfn) const {
  if (auto st = validate_name(pfn, "a PFN"); !st) return st.err();
  auto page = db_.scan_prefix(pfn_index_, storage::string_key(pfn), 1);
  if (!page) return page.err();
  return !page->rows.empty();
}

expected<bool> lrc_state::exists_mapping(const std::string& lfn, const std::string& pfn) const {
  if (auto st = validate_name(lfn, "an LFN"); !st) return st.err();
  if (auto st = validate_name(pfn, "a PFN"); !st) return st.err();
  auto row = db_.get(mappings_, pair_key(lfn, pfn));
  if (!row) return row.err();
  return row->has_value();
}

expected<size_t> lrc_state::checked_reslimit(size_t offset, size_t reslimit) const {
  if (reslimit == 0) reslimit = limits_.reslimit_default;
  if (reslimit > limits_.reslimit_max)
    return fail(errc::invalid_argument, "BADARG: reslimit is at most " +
                                            std::to_string(limits_.reslimit_max) + " (got " +
                                            std::to_string(reslimit) + ")");
  if (offset > limits_.offset_max)
    return fail(errc::invalid_argument, "BADARG: offset is at most " +
                                            std::to_string(limits_.offset_max) +
                                            "; narrow the query instead");
  return reslimit;
}

expected<name_page> lrc_state::query_names(side by, const std::string& name, size_t offset,
                                           size_t reslimit) const {
  const bool by_lfn = by == side::lfn;
  if (auto st = validate_name(name, by_lfn ? "an LFN" : "a PFN"); !st) return st.err();
  auto limit = checked_reslimit(offset, reslimit);
  if (!limit) return limit.err();
  name_page page;
  size_t seen = 0;
  // offset + limit rows, plus one to learn whether there is more.
  auto end = scan_bounded(db_, by_lfn ? mappings_ : pfn_index_, storage::string_key(name),
                          limits_.scan_page_rows, offset + *limit + 1,
                          [&](const storage::kv& row) -> expected<bool> {
                            if (++seen <= offset) return true;
                            if (page.items.size() == *limit) {
                              page.more = true;
                              return false;
                            }
                            auto pair = read_pair_key(row.key);
                            if (!pair) return pair.err();
                            page.items.push_back(std::move(pair->second));
                            return true;
                          });
  if (!end) return end.err();
  if (seen == 0)
    return fail(errc::not_found, by_lfn ? "LFN_NEXIST: LFN " + shown(name) + " does not exist"
                                        : "PFN_NEXIST: PFN " + shown(name) + " does not exist");
  return page;
}

expected<name_page> lrc_state::query_lfn(const std::string& lfn, size_t offset,
                                         size_t reslimit) const {
  return query_names(side::lfn, lfn, offset, reslimit);
}

expected<name_page> lrc_state::query_pfn(const std::string& pfn, size_t offset,
                                         size_t reslimit) const {
  return query_names(side::pfn, pfn, offset, reslimit);
}

expected<mapping_page> lrc_state::query_wildcard(side by, const std::string& pattern, size_t offset,
                                                 size_t reslimit) const {
  // Every literal byte may be escaped, so a pattern for the longest name is twice as long.
  auto parsed = parse_glob(pattern, 2 * limits_.name_bytes_max);
  if (!parsed) return parsed.err();
  auto limit = checked_reslimit(offset, reslimit);
  if (!limit) return limit.err();
  const bool by_lfn = by == side::lfn;
  mapping_page page;
  size_t matched = 0;
  std::string last_name;  // a name's rows are adjacent, so match each name once
  bool last_matched = false;
  auto visit = [&](const storage::kv& row) -> expected<bool> {
    auto pair = read_pair_key(row.key);
    if (!pair) return pair.err();
    if (pair->first != last_name) {
      last_name = pair->first;
      last_matched = glob_match(*parsed, last_name);
    }
    if (!last_matched || ++matched <= offset) return true;
    if (page.items.size() == *limit) {
      page.more = true;
      return false;
    }
    page.items.push_back(by_lfn ? mapping{std::move(pair->first), std::move(pair->second)}
                                : mapping{std::move(pair->second), std::move(pair->first)});
    return true;
  };
  auto end = scan_bounded(db_, by_lfn ? mappings_ : pfn_index_, parsed->literal_prefix,
                          limits_.scan_page_rows, limits_.wildcard_rows_scanned_max, visit);
  if (!end) return end.err();
  if (*end == scan_end::budget) {
    page.truncated = true;
    page.more = true;
  }
  return page;
}

expected<mapping_page> lrc_state::query_lfn_wildcard(const std::string& pattern, size_t offset,
                                                     size_t reslimit) const {
  return query_wildcard(side::lfn, pattern, offset, reslimit);
}

expected<mapping_page> lrc_state::query_pfn_wildcard(const std::string& pattern, size_t offset,
                                                     size_t reslimit) const {
  return query_wildcard(side::pfn, pattern, offset, reslimit);
}

expected<std::vector<bulk_query_item>> lrc_state::bulk_query_lfn(
    const std::vector<std::string>& lfns, size_t reslimit) const {
  if (lfns.size() > limits_.bulk_items_max)
    return fail(errc::invalid_argument, "BADARG: a bulk request has at most " +
                                            std::to_string(limits_.bulk_items_max) +
                                            " items (got " + std::to_string(lfns.size()) + ")");
  auto limit = checked_reslimit(0, reslimit);
  if (!limit) return limit.err();
  // The LFNs are visited in byte order: sorted seeks touch neighbouring blocks. A large request
  // is cut into runs of neighbours, each read through one RocksDB iterator (creating one costs
  // more than a seek), side by side on the read pool's threads when there is one. Every
  // iterator reads the same snapshot, so every item sees the same committed state.
  std::vector<size_t> order(lfns.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return lfns[a] < lfns[b]; });
  // Several parts per thread, taken by whichever thread is free, so a helper that starts late
  // or a run of slower names does not leave one thread finishing alone.
  constexpr size_t part_items_min = 128;  // below this a part costs more than it saves
  constexpr size_t parts_per_thread = 4;
  const size_t n = lfns.size();
  size_t parts = 1;
  if (read_pool_ != nullptr && n >= 2 * part_items_min)
    parts = std::min((read_pool_->helpers() + 1) * parts_per_thread, n / part_items_min);
  const auto snapshot = parts > 1 ? db_.snapshot() : nullptr;
  std::vector<bulk_query_item> items(n);
  std::vector<status> outcomes(parts);
  auto read_part = [&](size_t part) {
    auto it = db_.name_iterator(mappings_, snapshot.get());
    for (size_t k = n * part / parts; k < n * (part + 1) / parts; ++k) {
      const size_t index = order[k];
      auto& item = items[index];
      item.lfn = lfns[index];
      if (auto st = validate_name(item.lfn, "an LFN"); !st) {
        item.code = st.err().code;
        item.message = st.err().message;
        continue;
      }
      const std::string prefix = storage::string_key(item.lfn);
      const rocksdb::Slice wanted{prefix};
      for (it->Seek(wanted); it->Valid() && it->key().starts_with(wanted); it->Next()) {
        if (item.pfns.size() == *limit) {
          item.more = true;
          break;
        }
        // The key is the LFN's encoding (`wanted`), then the PFN's: only the PFN is decoded.
        auto pfn = read_pair_second(
            std::string_view{it->key().data() + wanted.size(), it->key().size() - wanted.size()});
        if (!pfn) {
          outcomes[part] = pfn.err();
          return;
        }
        item.pfns.push_back(std::move(*pfn));
      }
      if (!it->status().ok()) {
        outcomes[part] = fail(errc::unavailable,
                              "reading the LRC's mappings failed: " + it->status().ToString());
        return;
      }
      if (item.pfns.empty()) {
        item.code = errc::not_found;
        item.message = "LFN_NEXIST: LFN " + shown(item.lfn) + " does not exist";
      }
    }
  };
  if (parts == 1)
    read_part(0);
  else
    read_pool_->run(parts, read_part);
  for (auto& outcome : outcomes)
    if (!outcome) return outcome.err();
  return items;
}

expected<name_page> lrc_state::list_lfns(const std::string& after, size_t limit) const {
  limit = std::clamp<size_t>(limit, 1, limits_.reslimit_max);
  std::string begin;
  if (!after.empty()) {
    // Past every key of `after`: its mappings all start with its encoding.
    auto next = storage::prefix_successor(storage::string_key(after));
    if (!next) return name_page{};
    begin = *next;
  }
  name_page out;
  for (;;) {
    // One row per name still wanted, plus one to learn whether there are more: a small page
    // (a soft-state chunk) reads a few rows, not a whole scan page.
    auto want = std::min(limits_.scan_page_rows, limit - out.items.size() + 1);
    auto page = db_.scan_range(mappings_, begin, "", want);
    if (!page) return page.err();
    for (const auto& row : page->rows) {
      auto key = read_pair_key(row.key);
      if (!key) return key.err();
      if (!out.items.empty() && out.items.back() == key->first) continue;
      if (out.items.size() == limit) {
        out.more = true;
        return out;
      }
      out.items.push_back(std::move(key->first));
    }
    if (!page->more || page->rows.empty()) return out;
    begin = page->rows.back().key;
    begin.push_back('\0');  // the smallest key after the last one read
  }
}

expected<change_page> lrc_state::changes_since(uint64_t after_seq, size_t limit) const {
  if (limit == 0 || limit > limits_.changes_page_max)
    return fail(errc::invalid_argument, "BADARG: a change page has 1 to " +
                                            std::to_string(limits_.changes_page_max) + " entries");
  change_page out;
  if (after_seq == std::numeric_limits<uint64_t>::max()) return out;
  auto page = db_.scan_range(changes_, storage::u64_key(after_seq + 1), "", limit);
  if (!page) return page.err();
  out.more = page->more;
  out.items.reserve(page->rows.size());
  for (const auto& row : page->rows) {
    storage::key_reader reader{row.key};
    auto seq = reader.read_u64();
    if (!seq) return seq.err();
    auto value = storage::decode<change_row>(row.value);
    if (!value) return value.err();
    bool known_op = value->op == static_cast<uint8_t>(change_op::mapping_added) ||
                    value->op == static_cast<uint8_t>(change_op::mapping_removed);
    if (!reader.done() || !known_op)
      return fail(errc::internal, "corrupt record: change " + std::to_string(*seq));
    out.items.push_back({*seq, static_cast<change_op>(value->op), std::move(value->lfn),
                         std::move(value->pfn), value->lfn_changed});
  }
  return out;
}

expected<size_t> lrc_state::trim_changes(uint64_t upto_seq, size_t rows_max,
                                         storage::batch& rows) const {
  if (rows_max == 0 || rows_max > limits_.changes_page_max)
    return fail(
        errc::invalid_argument,
        "BADARG: trim 1 to " + std::to_string(limits_.changes_page_max) + " change rows at a time");
  std::string end = upto_seq == std::numeric_limits<uint64_t>::max()
                        ? std::string{}
                        : storage::u64_key(upto_seq + 1);
  auto page = db_.scan_range(changes_, "", end, rows_max);
  if (!page) return page.err();
  for (const auto& row : page->rows) rows.del(changes_, row.key);
  return page->rows.size();
}

}  // namespace librarian::rls
