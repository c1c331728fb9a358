// The MCS's read-your-writes view of the db (see overlay.hpp).
#include "actors/mcs/overlay.hpp"

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
  auto it = by_key_.find(overlay_key(t, key));
  if (it != by_key_.end()) return it->second.value;
  return db_.get(t, key);
}

void overlay_store::record(storage::table t, std::string_view key,
                           std::optional<std::string> value) {
  LIB_ASSERT_MSG(open_, "an MCS write outside a transaction");
  auto okey = overlay_key(t, key);
  bytes_ += okey.size() + (value ? value->size() : 0);
  auto it = by_key_.find(okey);
  undo_.push_back({okey, it == by_key_.end() ? std::nullopt : std::optional<entry>{it->second}});
  staged_.push_back({t, std::string{key}, value});
  by_seq_.emplace_back(seq_, okey);
  by_key_[std::move(okey)] = entry{std::move(value), seq_};
}

void overlay_store::begin() {
  LIB_ASSERT_MSG(!open_, "nested MCS transactions");
  open_ = true;
  ++seq_;
  bytes_at_begin_ = bytes_;
}

void overlay_store::put(storage::table t, std::string_view key, std::string_view value) {
  record(t, key, std::string{value});
}

void overlay_store::del(storage::table t, std::string_view key) {
  record(t, key, std::nullopt);
}

void overlay_store::finish(storage::batch& rows) {
  LIB_ASSERT(open_);
  for (auto& op : staged_) {
    if (op.value)
      rows.put(op.table, op.key, *op.value);
    else
      rows.del(op.table, op.key);
  }
  staged_.clear();
  undo_.clear();
  open_ = false;
}

void overlay_store::abort() {
  LIB_ASSERT(open_);
  // Newest first, so a key written twice gets back its state from before the transaction.
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
    if (it->previous)
      by_key_[it->okey] = *it->previous;
    else
      by_key_.erase(it->okey);
    by_seq_.pop_back();
  }
  bytes_ = bytes_at_begin_;
  staged_.clear();
  undo_.clear();
  open_ = false;
}

void overlay_store::committed(uint64_t seq_durable) {
  // Bounded by the queue's length; each pass pops one entry.
  while (!by_seq_.empty() && by_seq_.front().first <= seq_durable) {
    auto& [seq, okey] = by_seq_.front();
    auto it = by_key_.find(okey);
    // A newer write to the same key stays until its own batch is durable.
    if (it != by_key_.end() && it->second.seq <= seq_durable) {
      bytes_ -= std::min(bytes_, okey.size() + (it->second.value ? it->second.value->size() : 0));
      by_key_.erase(it);
    } else {
      bytes_ -= std::min(bytes_, okey.size());
    }
    by_seq_.pop_front();
  }
  if (by_seq_.empty()) bytes_ = 0;
}

void overlay_store::clear() {
  LIB_ASSERT(!open_);
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
  auto page = store_.db_.scan_range(table_, db_next_, end_, page_rows_);
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
