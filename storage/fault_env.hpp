// A simulated disk for deterministic tests: an in-memory rocksdb::Env that remembers what was
// synced, so a simulated power cut loses exactly the writes a real one could, and that can inject
// write errors (disk full, I/O error) on chosen files.
//
// Model and limits (what a real file system may do that this does not):
//  * A file keeps, after drop_unsynced(), the bytes it had at its last Sync/Fsync; RangeSync and
//    Close do not count. A file created since the last fsync of its directory is deleted.
//  * A rename or link onto a NEW name is lost unless the directory is fsynced afterwards; a rename
//    that REPLACES an existing name is treated as durable at once (a real disk may keep the old
//    file), and deletions are durable at once (a real disk may resurrect the file). After
//    power_cut() deletions, renames, links and the re-creation of an existing file fail:
//    nothing reaches a disk without power.
//  * Unsynced data is dropped entirely, never partially or torn; no reordering within a file.
//  * Only writable files are tracked; random-read-write files (not used by our DB) are not.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/error.hpp"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace librarian::storage {

struct drop_report {
  uint64_t files_truncated = 0;
  uint64_t files_deleted = 0;
  uint64_t bytes_dropped = 0;
};

class fault_env {
 public:
  fault_env();  // over rocksdb::NewMemEnv(rocksdb::Env::Default())
  ~fault_env();
  fault_env(const fault_env&) = delete;
  fault_env& operator=(const fault_env&) = delete;

  // Pass to open_options.env. Lives as long as this object.
  [[nodiscard]] rocksdb::Env* env();

  // Writes (create, append, sync) to files whose path contains path_substring fail from now on:
  // errc::storage_full reports "no space", anything else a plain I/O error.
  void fail_writes_matching(std::string path_substring, errc code);
  void clear_write_failures();

  // The power goes out: syncs stop counting, so closing the DB afterwards cannot make more data
  // durable. Then destroy the db and call drop_unsynced().
  void power_cut();
  // Throws away everything not durable (see the model above) and powers back on. Call with no DB
  // open on this env.
  drop_report drop_unsynced();

  struct state;

 private:
  std::unique_ptr<rocksdb::Env> mem_env_;
  std::shared_ptr<state> state_;
  std::unique_ptr<rocksdb::Env> env_;
};

}  // namespace librarian::storage
