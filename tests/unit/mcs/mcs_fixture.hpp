// A real RocksDB in a temp dir with the MCS's tables, a loaded state and helpers that commit
// the way the actor shell does.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "actors/mcs/mcs_state.hpp"
#include "storage/db.hpp"

namespace librarian::mcs::test {

struct mcs_db {
  std::filesystem::path dir;
  std::unique_ptr<storage::db> db;
  std::optional<mcs_state> state;
  int64_t now_us = 1700000000000000;

  explicit mcs_db(mcs_limits limits = {}) {
    static int counter = 0;
    dir = std::filesystem::temp_directory_path() /
          ("librarian-unit-mcs-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir);
    open(limits);
  }
  ~mcs_db() {
    state.reset();
    db.reset();
    std::filesystem::remove_all(dir);
  }
  void open(mcs_limits limits = {}) {
    state.reset();
    db.reset();
    auto opened = storage::db::open({(dir / "db").string(), nullptr, mcs_tables()});
    REQUIRE(opened.has_value());
    db = std::move(*opened);
    state.emplace(*db, limits);
    REQUIRE(state->load().has_value());
  }
  call_ctx as(const std::string& user, bool admin = false) {
    now_us += 1000000;
    return call_ctx{principal{user, {}, admin}, now_us};
  }
  // Commits as the shell does: write, then tell the state which writes are durable.
  void commit(storage::batch& rows) {
    uint64_t seq = state->last_seq();
    if (!rows.empty()) REQUIRE(db->write(rows, storage::durability::buffered).has_value());
    state->committed(seq);
    rows = storage::batch{};
  }
  // Runs one mutation and commits what it wrote; returns its status.
  template <class F>
  status run(F&& f) {
    storage::batch rows;
    status st = f(rows);
    if (!st) CHECK_MESSAGE(rows.empty(), "a failed mutation appended rows");
    commit(rows);
    return st;
  }
};

inline object_ref file(const std::string& name, uint64_t version = 0) {
  return {kind::file, name, version};
}
inline object_ref coll(const std::string& name) {
  return {kind::collection, name, 0};
}
inline object_ref view(const std::string& name) {
  return {kind::view, name, 0};
}

}  // namespace librarian::mcs::test
