// librarian-bench librarian: the catalog's own speed (no HTTP, no CLI): hashing uploads, recording
// files (File + Instance + index rows, synced batches) and searching by name prefix.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace librarian::bench {

[[nodiscard]] nlohmann::json bench_librarian(const std::string& dir, bool quick);

}  // namespace librarian::bench
