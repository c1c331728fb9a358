// Turns RocksDB statuses into librarian errors whose messages tell the operator what to fix.
// Internal to storage/: it includes RocksDB headers, which db.hpp keeps out of everyone else's way.
#pragma once

#include <string_view>

#include <rocksdb/status.h>

#include "runtime/error.hpp"

namespace librarian::storage {

// what: the operation that failed ("open", "write", "scan"); path: the DB directory.
[[nodiscard]] error from_rocks(const rocksdb::Status& s, std::string_view what,
                               std::string_view path);

}  // namespace librarian::storage
