// The MCS's read-your-writes view of the db (see overlay.hpp).
#include "actors/mcs/overlay.hpp"

#include <rocksdb/db.h>

#include <algorithm>
#include <memory>

#include "runtime/assert.hpp"
#include "storage/keys.hpp"

namespace librarian::mcs {

std::string overlay_store::overlay_key(storage::table t, std::string_view key) {
  std::string out;
  out.reserve(4 + key.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((t.id >> shift) & 0xff));
  out.append(key);
  return out;
}

expected<std::optional<std::string>> overlay_store::get(storage::table t,
                                                        std::string_view key) const {
  check_readable(t);
  if (!by_key_.empty()) {
    auto it = by_key_.find(overlay_key(t, key));
    if (it != by_key_.end()) return it->second.value;
  }
  return db_get(t, key);
}

expected<std::optional<std::string>> overlay_store::db_get(storage::table t,
                                                           std::string_view key) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  std::string value;
  auto s = db_.raw()->Get(ro, t.handle, rocksdb::Slice{key.data(), key.size()}, &value);
  if (s.IsNotFound()) return std::optional<std::string>{};
  if (!s.ok()) return fail(errc::internal, "cannot read " + db_.path() + ": " + s.ToString());
  return std::optional<std::string>{std::move(value)};
}

expected<storage::scan_page> overlay_store::db_scan(storage::table t, const std::string& begin,
                                                    const std::string& end, size_t limit) const {
  LIB_ASSERT_MSG(limit >= 1, "scan limit must be at least 1");
  storage::scan_page page;
  if (!end.empty() && end <= begin) return page;
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  rocksdb::Slice upper{end};
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it{db_.raw()->NewIterator(ro, t.handle)};
  for (it->Seek(begin); it->Valid(); it->Next()) {
    if (page.rows.size() == limit) {
      page.more = true;
      break;
    }
    page.rows.push_back(storage::kv{it->key().ToString(), it->value().ToString()});
  }
  if (!it->status().ok())
    return fail(errc::internal, "cannot read " + db_.path() + ": " + it->status().ToString());
  return page;
}

status overlay_store::multi_get(storage::table t, const std::vector<std::string>& keys,
                                std::vector<std::optional<std::string>>& out) const {
  check_readable(t);
  out.assign(keys.size(), std::nullopt);
  std::vector<size_t> from_db;
  from_db.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!by_key_.empty()) {
      auto it = by_key_.find(overlay_key(t, keys[i]));
      if (it != by_key_.end()) {
        out[i] = it->second.value;
        continue;
      }
    }
    from_db.push_back(i);
  }
  if (from_db.empty()) return {};
  std::vector<rocksdb::Slice> slices;
  slices.reserve(from_db.size());
  bool sorted = true;
  for (size_t j = 0; j < from_db.size(); ++j) {
    slices.emplace_back(keys[from_db[j]]);
    if (j > 0 && keys[from_db[j - 1]] >= keys[from_db[j]]) sorted = false;
  }
  std::vector<rocksdb::PinnableSlice> values(from_db.size());
  std::vector<rocksdb::Status> statuses(from_db.size());
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  db_.raw()->MultiGet(ro, t.handle, from_db.size(), slices.data(), values.data(), statuses.data(),
                      sorted);
  for (size_t j = 0; j < from_db.size(); ++j) {
    if (statuses[j].IsNotFound()) continue;
    if (!statuses[j].ok())
      return fail(errc::internal, "cannot read " + db_.path() + ": " + statuses[j].ToString());
    out[from_db[j]] = values[j].ToString();
  }
  return {};
}

status overlay_store::probe_ids(storage::table t, std::string_view prefix,
                                const std::vector<uint64_t>& ids, std::vector<bool>& found) const {
  check_readable(t);
  found.assign(ids.size(), false);
  const size_t key_bytes = prefix.size() + 8;
  std::string buffer;
  buffer.reserve(ids.size() * key_bytes);
  std::vector<size_t> from_db;
  from_db.reserve(ids.size());
  bool sorted = true;
  for (size_t i = 0; i < ids.size(); ++i) {
    size_t at = buffer.size();
    buffer.append(prefix);
    storage::append_u64(buffer, ids[i]);
    if (!by_key_.empty()) {
      auto pending = by_key_.find(overlay_key(t, std::string_view{buffer}.substr(at)));
      if (pending != by_key_.end()) {
        found[i] = pending->second.value.has_value();
        buffer.resize(at);
        continue;
      }
    }
    if (!from_db.empty() && ids[from_db.back()] >= ids[i]) sorted = false;
    from_db.push_back(i);
  }
  if (from_db.empty()) return {};
  std::vector<rocksdb::Slice> keys;
  keys.reserve(from_db.size());
  for (size_t j = 0; j < from_db.size(); ++j)
    keys.emplace_back(buffer.data() + j * key_bytes, key_bytes);
  std::vector<rocksdb::PinnableSlice> values(from_db.size());
  std::vector<rocksdb::Status> statuses(from_db.size());
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  db_.raw()->MultiGet(ro, t.handle, keys.size(), keys.data(), values.data(), statuses.data(),
                      sorted);
  for (size_t j = 0; j < from_db.size(); ++j) {
    if (statuses[j].IsNotFound()) continue;
    if (!statuses[j].ok())
      return fail(errc::internal, "cannot read " + db_.path() + ": " + statuses[j].ToString());
    found[from_db[j]] = true;
  }
  return {};
}

expected<size_t> overlay_store::count_db_rows(storage::table t, const std::string& begin,
                                              const std::string& end, size_t cap) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  rocksdb::Slice upper{end};
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it{db_.raw()->NewIterator(ro, t.handle)};
  size_t n = 0;
  for (it->Seek(begin); it->Valid() && n < cap; it->Next()) ++n;
  if (!it->status().ok())
    return fail(errc::internal, "cannot read " + db_.path() + ": " + it->status().ToString());
  return n;
}

uint64_t overlay_store::approximate_bytes(storage::table t, const std::string& begin,
                                          const std::string& end) const {
  rocksdb::Range range{begin, end};
  uint64_t bytes = 0;
  rocksdb::SizeApproximationOptions options;
  options.include_memtables = true;
  options.include_files = true;
  if (!db_.raw()->GetApproximateSizes(options, t.handle, &range, 1, &bytes).ok()) return 0;
  return bytes;
}

std::optional<overlay_store::pending_write> overlay_store::pending(storage::table t,
                                                                   std::string_view key) const {
  if (by_key_.empty()) return std::nullopt;
  auto it = by_key_.find(overlay_key(t, key));
  if (it == by_key_.end()) return std::nullopt;
  return pending_write{it->second.value ? &*it->second.value : nullptr, it->second.seq};
}

uint64_t overlay_store::snapshot_seq() const {
  return snapshot_ ? snapshot_->GetSequenceNumber() : db_.raw()->GetLatestSequenceNumber();
}

void overlay_store::record(storage::table t, std::string_view key,
                           std::optional<std::string> value) {
  LIB_ASSERT_MSG(open_, "an MCS write outside a transaction");
  if (value)
    txn_rows_.put(t, key, *value);
  else
    txn_rows_.del(t, key);
  if (is_write_only(t)) {
    write_only_seq_ = seq_;
    return;
  }
  auto okey = overlay_key(t, key);
  bytes_ += okey.size() + (value ? value->size() : 0);
  auto it = by_key_.lower_bound(okey);
  if (it != by_key_.end() && it->first == okey) {
    if (it->second.seq != seq_) {
      undo_.push_back({it, it->second});
      by_seq_.emplace_back(seq_, it);
    }
    it->second = entry{std::move(value), seq_};
    return;
  }
  it = by_key_.emplace_hint(it, std::move(okey), entry{std::move(value), seq_});
  undo_.push_back({it, std::nullopt});
  by_seq_.emplace_back(seq_, it);
}

void overlay_store::begin() {
  LIB_ASSERT_MSG(!open_, "nested MCS transactions");
  open_ = true;
  ++seq_;
  bytes_at_begin_ = bytes_;
  by_seq_at_begin_ = by_seq_.size();
}

void overlay_store::put(storage::table t, std::string_view key, std::string_view value) {
  record(t, key, std::string{value});
}

void overlay_store::del(storage::table t, std::string_view key) {
  record(t, key, std::nullopt);
}

void overlay_store::finish(storage::batch& rows) {
  LIB_ASSERT(open_);
  rows.append(std::move(txn_rows_));
  txn_rows_ = storage::batch{};
  undo_.clear();
  open_ = false;
}

void overlay_store::abort() {
  LIB_ASSERT(open_);
  // This transaction's records are the queue's tail: drop them before any entry they name.
  while (by_seq_.size() > by_seq_at_begin_) by_seq_.pop_back();
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
    if (it->previous)
      it->at->second = std::move(*it->previous);
    else
      by_key_.erase(it->at);
  }
  bytes_ = bytes_at_begin_;
  txn_rows_ = storage::batch{};
  undo_.clear();
  open_ = false;
}

void overlay_store::check_readable(storage::table t) const {
  LIB_ASSERT_MSG(write_only_seq_ <= durable_seq_ || !is_write_only(t),
                 "a read of a write-only MCS table while its writes are pending");
}

void overlay_store::committed(uint64_t seq_durable) {
  durable_seq_ = std::max(durable_seq_, seq_durable);
  // Bounded by the queue's length; each pass pops one record.
  while (!by_seq_.empty() && by_seq_.front().first <= seq_durable) {
    auto [seq, it] = by_seq_.front();
    by_seq_.pop_front();
    // A newer write of the same key stays until its own batch is durable (its record, later in
    // the queue, erases the entry then).
    if (it->second.seq != seq) continue;
    bytes_ -=
        std::min(bytes_, it->first.size() + (it->second.value ? it->second.value->size() : 0));
    by_key_.erase(it);
  }
  if (by_seq_.empty()) bytes_ = 0;
}

void overlay_store::clear() {
  LIB_ASSERT(!open_);
  durable_seq_ = seq_;
  by_key_.clear();
  by_seq_.clear();
  bytes_ = 0;
}

overlay_store::cursor overlay_store::scan_prefix(storage::table t, const std::string& prefix,
                                                 size_t page_rows) const {
  auto end = storage::prefix_successor(prefix);
  return scan(t, prefix, end ? *end : std::string{}, page_rows);
}

status overlay_store::cursor::fill() {
  if (!db_rows_.empty() || db_done_) return {};
  if (!db_started_) {
    db_next_ = lower_;
    db_started_ = true;
  }
  auto page = store_.db_scan(table_, db_next_, end_, page_rows_);
  if (!page) return page.err();
  for (auto& row : page->rows) db_rows_.push_back(std::move(row));
  if (!page->more || db_rows_.empty()) db_done_ = true;
  if (!db_rows_.empty()) db_next_ = db_rows_.back().key + std::string(1, '\0');
  return {};
}

expected<std::optional<storage::kv>> overlay_store::cursor::next() {
  // Bounded: every pass consumes a db row or an overlay entry, or returns.
  for (;;) {
    if (auto st = fill(); !st) return st.err();
    if (!db_rows_.empty() && db_rows_.front().key < lower_) {
      db_rows_.pop_front();
      continue;
    }
    const storage::kv* from_db = db_rows_.empty() ? nullptr : &db_rows_.front();
    if (store_.by_key_.empty()) {
      // Nothing pending (the common case for reads): the db's rows as they come.
      if (!from_db) return std::optional<storage::kv>{};
      storage::kv row = std::move(db_rows_.front());
      db_rows_.pop_front();
      lower_.assign(row.key);
      lower_.push_back('\0');
      return std::optional<storage::kv>{std::move(row)};
    }
    auto prefix = overlay_key(table_, "");
    auto it = store_.by_key_.lower_bound(overlay_key(table_, lower_));
    bool have_ov = it != store_.by_key_.end() && it->first.compare(0, 4, prefix) == 0;
    std::string ov_key = have_ov ? it->first.substr(4) : std::string{};
    if (have_ov && !end_.empty() && ov_key >= end_) have_ov = false;
    if (!from_db && !have_ov) return std::optional<storage::kv>{};
    if (have_ov && (!from_db || ov_key <= from_db->key)) {
      if (from_db && ov_key == from_db->key) db_rows_.pop_front();
      lower_ = ov_key + std::string(1, '\0');
      if (!it->second.value) continue;  // deleted and not yet durable
      return std::optional<storage::kv>{storage::kv{std::move(ov_key), *it->second.value}};
    }
    storage::kv row = std::move(db_rows_.front());
    db_rows_.pop_front();
    lower_ = row.key + std::string(1, '\0');
    return std::optional<storage::kv>{std::move(row)};
  }
}

}  // namespace librarian::mcs
