// Maps RocksDB statuses to the closed librarian error list (see rocks_status.hpp).
#include "storage/rocks_status.hpp"

#include <string>

namespace librarian::storage {
namespace {

// RocksDB reports a held LOCK file as a plain IOError; its text is the only way to tell.
bool is_lock_error(const rocksdb::Status& s) {
  if (!s.IsIOError()) return false;
  const std::string text = s.ToString();
  return text.find("/LOCK") != std::string::npos || text.find("lock hold") != std::string::npos ||
         text.find("While lock file") != std::string::npos;
}

}  // namespace

error from_rocks(const rocksdb::Status& s, std::string_view what, std::string_view path) {
  const std::string db_path{path};
  const std::string op{what};
  if (is_lock_error(s))
    return fail(errc::unavailable,
                "the database at " + db_path +
                    " is in use by another process (another librarian-node with the same "
                    "data_dir?); stop it or choose another data_dir (" +
                    s.ToString() + ")");
  if (s.IsCorruption())
    return fail(errc::internal,
                "the database at " + db_path + " is corrupt (" + s.ToString() +
                    "); restore it from a backup, or run `librarian-node --config FILE --repair` "
                    "to salvage what is readable");
  if (s.IsNoSpace())
    return fail(errc::storage_full, op + " failed: no space left for the database at " + db_path +
                                        "; free disk space, then restart the node (" +
                                        s.ToString() + ")");
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut())
    return fail(errc::unavailable, op + " on the database at " + db_path +
                                       " could not proceed now; retry (" + s.ToString() + ")");
  return fail(errc::internal, op + " failed on the database at " + db_path + ": " + s.ToString());
}

}  // namespace librarian::storage
