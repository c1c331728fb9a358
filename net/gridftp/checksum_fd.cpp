#include "net/gridftp/checksum_fd.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <vector>

#include "net/gridftp/paths.hpp"

namespace librarian::gridftp {

expected<std::string> checksum_fd(int fd, data::checksum_alg alg, uint64_t offset,
                                  std::optional<uint64_t> length) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_error(errno, "fstat");
  auto size = static_cast<uint64_t>(st.st_size);
  if (offset > size)
    return fail(errc::invalid_argument, "checksum offset past the end of the file");
  uint64_t end = length ? offset + *length : size;
  if (end > size) return fail(errc::invalid_argument, "checksum range past the end of the file");
  data::checksum_stream sum{alg};
  std::vector<uint8_t> buffer(1 << 20);
  // Bounded by the file size: every pass reads at least one byte or fails.
  for (uint64_t at = offset; at < end;) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), end - at));
    ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(errno, "read");
    if (n == 0) return fail(errc::internal, "the file shrank while it was being hashed");
    sum.update(std::span<const uint8_t>{buffer.data(), static_cast<size_t>(n)});
    at += static_cast<uint64_t>(n);
  }
  return sum.hex_digest();
}

}  // namespace librarian::gridftp
