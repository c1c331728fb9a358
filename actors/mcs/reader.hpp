// The catalog's reading verbs answered outside the MCS actor, from committed state (the HTTP
// API calls it on its own threads). Reads change nothing, so they need not queue behind the
// actor's writes; each request reads one RocksDB snapshot, so it sees every commit before it and
// none after, through the same state-machine code as the actor -- the same answers, the same
// authorization (a caller without read rights learns nothing), groups read from the db.
// What it cannot see are writes not yet durable, which no client has been told of either.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "actors/mcs/mcs_state.hpp"

namespace librarian::mcs {

class mcs_reader {
 public:
  // db must outlive the reader and have been opened with mcs_tables(). cache: the object cache
  // the MCS actor keeps (object_cache.hpp), or nullptr.
  explicit mcs_reader(storage::db& db, mcs_limits limits = {},
                      std::shared_ptr<object_cache> cache = nullptr);

  // One reading verb (is_read_verb) with its JSON arguments, as dispatch_read answers it.
  // Thread-safe: concurrent calls each use a view of their own.
  [[nodiscard]] expected<std::string> read(const principal& who, const std::string& verb,
                                           const std::string& args_json);

 private:
  [[nodiscard]] std::unique_ptr<mcs_state> take_view();
  void return_view(std::unique_ptr<mcs_state> view);

  // Views kept between calls (their attribute-definition caches stay warm); one per concurrent
  // reader thread is enough, more are dropped.
  static constexpr size_t idle_views_max = 16;
  storage::db& db_;
  mcs_limits limits_;
  std::shared_ptr<object_cache> cache_;
  std::mutex mutex_;  // guards idle_
  std::vector<std::unique_ptr<mcs_state>> idle_;
};

}  // namespace librarian::mcs
