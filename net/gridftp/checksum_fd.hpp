// CKSM over an already opened (and confined) file descriptor, so the bytes hashed are the file
// that was checked, not whatever a path names a moment later.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "net/data/checksum.hpp"
#include "runtime/expected.hpp"

namespace librarian::gridftp {

// Hex digest of [offset, offset+length) (length nullopt = to the end). invalid_argument when the
// range reaches past the end of the file.
[[nodiscard]] expected<std::string> checksum_fd(int fd, data::checksum_alg alg, uint64_t offset,
                                                std::optional<uint64_t> length);

}  // namespace librarian::gridftp
