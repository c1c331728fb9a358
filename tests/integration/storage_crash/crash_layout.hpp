// What the crash writer writes and the crash test checks: table names and the index key of a
// record.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace librarian::storage::crash {

inline const std::vector<std::string> tables{"records", "index"};

// Each acknowledged record must come with its index row (one batch, so both or neither).
[[nodiscard]] inline std::string index_key(std::string_view record_key) {
  return "i/" + std::string{record_key};
}

}  // namespace librarian::storage::crash
