// The closed error enum as a CAF error category, so errors cross actors and nodes typed.
#pragma once

#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>

#include "runtime/error.hpp"

namespace librarian {

inline constexpr caf::atom_value error_category = caf::atom("librarian");

// Found by ADL: lets CAF convert an errc into a caf::error.
[[nodiscard]] caf::error make_error(errc code);
[[nodiscard]] caf::error make_error(errc code, std::string message);
[[nodiscard]] caf::error to_caf(const error& err);
// Errors of other categories (CAF's own: timeouts, dead peers) are mapped to the closest code.
[[nodiscard]] error from_caf(const caf::error& err);

}  // namespace librarian
