// A real RocksDB in a temp dir with the librarian's and the LRC's tables; commits as the shell
// does (librarian rows + the LRC mapping in one batch).
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "actors/librarian/catalog_state.hpp"
#include "actors/rls/lrc_state.hpp"
#include "storage/db.hpp"

namespace librarian::lib::test {

struct catalog_db {
  std::filesystem::path dir;
  std::unique_ptr<storage::db> db;

  catalog_db() {
    static int counter = 0;
    dir = std::filesystem::temp_directory_path() /
          ("librarian-unit-lib-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir);
    open();
  }
  ~catalog_db() {
    db.reset();
    std::filesystem::remove_all(dir);
  }
  void open() {
    db.reset();
    auto tables = librarian_tables();
    for (auto& t : rls::lrc_tables()) tables.push_back(t);
    auto opened = storage::db::open({(dir / "db").string(), nullptr, tables});
    REQUIRE(opened.has_value());
    db = std::move(*opened);
  }
  void write(storage::row_list& rows) {
    storage::batch b;
    storage::append_rows(*db, rows, b);
    REQUIRE(db->write(b, storage::durability::sync).has_value());
    rows.clear();
  }
};

}  // namespace librarian::lib::test
