// A real RocksDB in a temp dir with the LRC's tables, plus helpers that read both indexes whole.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "actors/rls/lrc_state.hpp"
#include "storage/db.hpp"
#include "storage/keys.hpp"

namespace librarian::rls::test {

struct lrc_db {
  std::filesystem::path dir;
  std::unique_ptr<storage::db> db;

  lrc_db() {
    static int counter = 0;
    dir = std::filesystem::temp_directory_path() /
          ("librarian-unit-rls-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir);
    open();
  }
  ~lrc_db() {
    db.reset();
    std::filesystem::remove_all(dir);
  }
  void open() {
    db.reset();
    // As the node opens them: name-prefixed filters on, so the LRC's reads go through them.
    storage::open_options o{(dir / "db").string(), nullptr, lrc_tables()};
    o.string_prefixed_tables = lrc_string_prefixed_tables();
    auto opened = storage::db::open(o);
    REQUIRE(opened.has_value());
    db = std::move(*opened);
  }
  // Commits as the shell does: write, then tell the state which writes are durable.
  void commit(lrc_state& state, storage::batch& rows,
              storage::durability d = storage::durability::sync) {
    uint64_t seq = state.last_seq();
    REQUIRE(db->write(rows, d).has_value());
    state.committed(seq);
    rows = storage::batch{};  // db::write leaves the batch as it was; start the next one empty
  }
};

inline lrc_state loaded_state(const storage::db& db, lrc_limits limits = {}) {
  lrc_state state{db, limits};
  REQUIRE(state.load().has_value());
  return state;
}

// Every (first, second) pair of an index table, read whole (tests only hold small tables).
inline std::set<std::pair<std::string, std::string>> read_index(const storage::db& db,
                                                                const char* table_name) {
  std::set<std::pair<std::string, std::string>> out;
  auto t = db.get_table(table_name);
  std::string after;
  for (int pages = 0; pages < 100000; ++pages) {
    auto page = db.scan_prefix(t, "", 1000, after);
    REQUIRE(page.has_value());
    for (const auto& row : page->rows) {
      storage::key_reader reader{row.key};
      auto first = reader.read_string();
      auto second = reader.read_string();
      REQUIRE(first.has_value());
      REQUIRE(second.has_value());
      REQUIRE(reader.done());
      CHECK(row.value.empty());
      out.emplace(*first, *second);
    }
    if (!page->more) break;
    after = page->rows.back().key;
  }
  return out;
}

// The forward mappings, after checking that the reverse index holds exactly their mirror.
inline std::set<std::pair<std::string, std::string>> consistent_mappings(const storage::db& db) {
  auto forward = read_index(db, lrc_mappings_table);
  std::set<std::pair<std::string, std::string>> mirrored;
  for (const auto& [pfn, lfn] : read_index(db, lrc_pfn_index_table)) mirrored.emplace(lfn, pfn);
  CHECK(forward == mirrored);
  return forward;
}

}  // namespace librarian::rls::test
