// librarian-bench librarian: the catalog's own speed (no HTTP, no CLI): hashing uploads, recording
// files (File + Instance + index rows, synced batches) and searching by name prefix.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace librarian::bench {

// files: the catalog figures' file count (0: 1,000,000, or 20,000 quick).
[[nodiscard]] nlohmann::json bench_librarian(const std::string& dir, bool quick,
                                             uint64_t files = 0);

}  // namespace librarian::bench
