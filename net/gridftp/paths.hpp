// Confinement of client paths to the configured roots. Clients name real absolute paths (as with
// globus-gridftp-server's -restrict-paths), so the same URL works against either server; a path
// is served only when it lies under a root. The walk from the root opens every directory with
// O_NOFOLLOW, and every final open or *at() call refuses symlinks too: a symlink anywhere under a
// root is refused even when it points inside, so no race with a swapped link can escape a root.
#pragma once

#include <sys/stat.h>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/expected.hpp"

namespace librarian::gridftp {

// An owned file descriptor (closed on destruction).
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  ~unique_fd() { reset(); }
  unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.release();
    }
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset();

 private:
  int fd_ = -1;
};

// A confined path, ready for *at() calls: the opened parent directory and the last component
// ("." when the path is a root itself).
struct located_path {
  unique_fd dir;
  std::string leaf;
  std::string path;  // the normalized absolute path, for replies and logs
  [[nodiscard]] bool is_root() const { return leaf == "."; }
};

class path_jail {
 public:
  // Each root must be an existing directory; it is canonicalized (realpath) once here.
  [[nodiscard]] static expected<path_jail> make(const std::vector<std::string>& roots);

  // The normalized absolute form of client_path (relative ones resolve against cwd). Refuses
  // ".." components (invalid_argument), over-long paths, and paths outside every root
  // (forbidden). Does not touch the file system.
  [[nodiscard]] expected<std::string> normalize(std::string_view client_path,
                                                std::string_view cwd) const;
  // Normalizes, then opens the parent directory by walking from the root with O_NOFOLLOW.
  // not_found when a directory on the way is missing; forbidden for a symlink on the way.
  [[nodiscard]] expected<located_path> locate(std::string_view client_path,
                                              std::string_view cwd) const;

  // The parent of a normalized path, never above its root (CDUP).
  [[nodiscard]] std::string parent(std::string_view normalized) const;
  [[nodiscard]] const std::vector<std::string>& roots() const { return roots_; }

 private:
  std::vector<std::string> roots_;
};

// Operations on located paths; every one refuses symlinks (forbidden) and maps errno to errc.
[[nodiscard]] expected<struct stat> stat_at(const located_path& at);
// Opens a regular file for reading.
[[nodiscard]] expected<unique_fd> open_read(const located_path& at);
// Opens (creating with mode 0644) `name` in at.dir for writing; truncates when asked.
[[nodiscard]] expected<unique_fd> open_write(const located_path& at, const std::string& name,
                                             bool truncate);
// Opens a directory for listing.
[[nodiscard]] expected<unique_fd> open_dir(const located_path& at);

// errno → errc for file-system calls (ENOENT → not_found, EACCES → forbidden, ENOSPC →
// storage_full).
[[nodiscard]] error errno_error(int err, const std::string& what);

}  // namespace librarian::gridftp
