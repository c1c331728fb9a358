// Paths from clients are confined to configured roots: absolute, no "..", no control characters,
// and no symlink on the way that leads outside the root.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/expected.hpp"

namespace librarian::data {

// Returns the path to use. Errors are invalid_argument (malformed) or forbidden (outside every
// root, or through a symlink that leaves it); with no roots configured everything is forbidden.
[[nodiscard]] expected<std::filesystem::path> confine_path(const std::vector<std::string>& roots,
                                                           std::string_view requested);

}  // namespace librarian::data
