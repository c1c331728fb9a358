#include "net/data/direct_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace librarian::data {

direct_writer::direct_writer(int fd) {
  if (fd < 0) return;
  // The same file, not the same open file description: O_DIRECT on the caller's descriptor
  // would apply to its unaligned writes too.
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  fd_ = ::open(self.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
  active_ = fd_ >= 0;
}

direct_writer::~direct_writer() {
  if (fd_ >= 0) ::close(fd_);
}

direct_writer::result direct_writer::write(const uint8_t* p, size_t n, uint64_t offset) {
  if (!active() || n == 0 || offset % alignment != 0 || n % alignment != 0 ||
      reinterpret_cast<uintptr_t>(p) % alignment != 0)
    return {};
  for (bool first = true; n > 0; first = false) {
    ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EINVAL && first) {
      active_ = false;  // this file system takes no direct writes after all
      return {};
    }
    if (w < 0) return {false, errno};
    if (w == 0) return {false, ENOSPC};
    p += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
    // A short write (near a full disk) continues only while it stays aligned.
    if (n > 0 && static_cast<uint64_t>(w) % alignment != 0) return {false, EIO};
  }
  return {true, 0};
}

}  // namespace librarian::data
