// RLI list state in RocksDB: one row per (LRC, LFN) and one meta row per LRC, kept in step with
// rli_state by its journal; a restart reloads the fresh lists and deletes the stale ones.
#include "actors/rls/rli_store.hpp"

#include <utility>

#include "storage/keys.hpp"
#include "storage/table.hpp"

namespace librarian::rls {
namespace {

constexpr size_t load_page_rows = 10'000;

std::string list_key(const std::string& lrc, const std::string& lfn) {
  std::string key;
  storage::append_string(key, lrc);
  storage::append_string(key, lfn);
  return key;
}

// Deletes every row of one LRC (its list under the LRC's key prefix, and its meta row).
expected<size_t> delete_lrc_rows(const storage::db& db, storage::table lists, storage::table meta,
                                 const std::string& meta_key, storage::batch& cleanup) {
  cleanup.del(meta, meta_key);
  size_t deleted = 0;
  std::string after;
  for (;;) {
    auto page = db.scan_prefix(lists, meta_key, load_page_rows, after);
    if (!page) return page.err();
    for (const auto& row : page->rows) cleanup.del(lists, row.key);
    deleted += page->rows.size();
    if (!page->more || page->rows.empty()) return deleted;
    after = page->rows.back().key;
  }
}

// The LFNs persisted for one LRC; an error if a key does not decode.
expected<std::vector<std::string>> read_list(const storage::db& db, storage::table lists,
                                             const std::string& prefix, size_t lfns_max) {
  std::vector<std::string> lfns;
  std::string after;
  for (;;) {
    auto page = db.scan_prefix(lists, prefix, load_page_rows, after);
    if (!page) return page.err();
    for (const auto& row : page->rows) {
      storage::key_reader reader{std::string_view{row.key}.substr(prefix.size())};
      auto lfn = reader.read_string();
      if (!lfn) return lfn.err();
      if (!reader.done()) return fail(errc::internal, "corrupt key: trailing bytes in an RLI row");
      if (lfns.size() >= lfns_max)
        return fail(errc::storage_full, "more than " + std::to_string(lfns_max) + " LFNs");
      lfns.push_back(std::move(*lfn));
    }
    if (!page->more || page->rows.empty()) return lfns;
    after = page->rows.back().key;
  }
}

}  // namespace

std::vector<std::string> rli_tables() {
  return {rli_lists_table, rli_meta_table};
}

void persist_ops(const storage::db& db, const std::vector<rli_persist_op>& ops,
                 storage::batch& rows) {
  auto lists = db.get_table(rli_lists_table);
  auto meta = db.get_table(rli_meta_table);
  for (const auto& op : ops) {
    const auto meta_key = storage::string_key(op.lrc);
    if (op.meta)
      storage::put_record(rows, meta, meta_key, *op.meta);
    else
      rows.del(meta, meta_key);
    for (const auto& lfn : op.removed) rows.del(lists, list_key(op.lrc, lfn));
    for (const auto& lfn : op.added) rows.put(lists, list_key(op.lrc, lfn), "");
  }
}

expected<rli_load_report> load_lists(const storage::db& db, rli_state& rli, uint64_t now_ms,
                                     storage::batch& cleanup) {
  auto lists = db.get_table(rli_lists_table);
  auto meta = db.get_table(rli_meta_table);
  rli_load_report report;
  std::string after;
  for (;;) {
    auto page = db.scan_prefix(meta, "", 100, after);
    if (!page) return page.err();
    for (const auto& row : page->rows) {
      storage::key_reader reader{row.key};
      auto lrc = reader.read_string();
      auto record = storage::decode<rli_list_meta>(row.value);
      expected<bool> loaded = false;
      size_t lfn_count = 0;
      if (lrc && reader.done() && record) {
        auto lfns = read_list(db, lists, row.key, rli_limits{}.lfns_per_lrc_max);
        if (!lfns && lfns.err().code != errc::internal && lfns.err().code != errc::storage_full)
          return lfns.err();  // the db cannot be read: give up, keep the rows
        if (lfns) {
          lfn_count = lfns->size();
          loaded = rli.restore_list(*lrc, *record, std::move(*lfns), now_ms);
        }
      }
      if (loaded && *loaded) {
        ++report.lrcs_loaded;
        report.lfns_loaded += lfn_count;
        continue;
      }
      ++report.lrcs_dropped;
      auto deleted = delete_lrc_rows(db, lists, meta, row.key, cleanup);
      if (!deleted) return deleted.err();
    }
    if (!page->more || page->rows.empty()) return report;
    after = page->rows.back().key;
  }
}

}  // namespace librarian::rls
