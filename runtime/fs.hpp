// The file-system seam (DESIGN.md §4): every file operation the librarian and the replicator do on
// stores and staging areas goes through a `file_system`, so production uses the disk and the
// simulator an in-memory tree per node that it can inspect, corrupt and fill. No CAF here.
//
// Paths are absolute and '/'-separated. Errors: not_found (a missing path or parent), conflict
// (a directory that is not empty, a file where a directory is wanted), forbidden, storage_full,
// invalid_argument (a relative path), internal.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/expected.hpp"

namespace librarian {

enum class file_kind : uint8_t {
  none,       // nothing there
  regular,    // a regular file
  directory,  // a directory
  other,      // a symlink, device, socket...: never ours to read
};

struct dir_entry {
  std::string name;  // the last component
  file_kind kind = file_kind::none;
};

// Sequential reads of one open file.
class file_reader {
 public:
  virtual ~file_reader() = default;
  // Up to n bytes into buf; 0 at the end.
  [[nodiscard]] virtual expected<size_t> read(char* buf, size_t n) = 0;
};

class file_system {
 public:
  virtual ~file_system() = default;
  // What is at path, without following a symlink.
  [[nodiscard]] virtual file_kind kind(const std::string& path) const = 0;
  [[nodiscard]] virtual expected<uint64_t> file_size(const std::string& path) const = 0;
  // Creates dir and its parents; an existing directory is fine.
  [[nodiscard]] virtual status create_directories(const std::string& dir) = 0;
  // Renames a file or a directory; an existing file at `to` is replaced. Both on one file system.
  [[nodiscard]] virtual status rename(const std::string& from, const std::string& to) = 0;
  // Removes a file or an empty directory (conflict if it is not empty). Missing is fine.
  [[nodiscard]] virtual status remove(const std::string& path) = 0;
  // Removes a file or a whole tree. Missing is fine.
  [[nodiscard]] virtual status remove_all(const std::string& path) = 0;
  // The entries of a directory, in no particular order.
  [[nodiscard]] virtual expected<std::vector<dir_entry>> list(const std::string& dir) const = 0;
  [[nodiscard]] virtual expected<std::unique_ptr<file_reader>> open_read(
      const std::string& path) const = 0;
  // Creates or replaces a whole file and syncs it; its directory must exist.
  [[nodiscard]] virtual status write_file(const std::string& path, std::string_view bytes) = 0;

  // Durability. sync_dir: a directory's entries (a rename into it) are on disk. sync_all: every
  // write to the file system holding path is on disk (syncfs), one flush for a whole batch.
  // The defaults (the in-memory disk) have nothing to flush.
  [[nodiscard]] virtual status sync_dir(const std::string& dir);
  [[nodiscard]] virtual status sync_all(const std::string& path);

  // Seals. Whoever verified a file's checksum while writing it (the data channel verifies what
  // it receives inline) records the checksum here together with the file's identity; whoever
  // would read the whole file again to hash it (the upload commit) takes the seal instead, as
  // long as the file has not changed since (same device, inode, size, modification and change
  // times). A seal is used up when taken. The default keeps none, so every reader hashes.
  virtual void seal(const std::string& path, const std::string& checksum);
  // The checksum sealed for path if the file is unchanged since; nullopt otherwise.
  [[nodiscard]] virtual std::optional<std::string> take_seal(const std::string& path);
};

// The machine's file system (std::filesystem and stdio). One shared instance.
[[nodiscard]] std::shared_ptr<file_system> posix_file_system();

// A whole file system in memory: the simulator's disks (one per node, surviving its crashes) and
// unit tests. Thread-safe. `/` always exists.
class memory_file_system final : public file_system {
 public:
  memory_file_system();
  [[nodiscard]] file_kind kind(const std::string& path) const override;
  [[nodiscard]] expected<uint64_t> file_size(const std::string& path) const override;
  [[nodiscard]] status create_directories(const std::string& dir) override;
  [[nodiscard]] status rename(const std::string& from, const std::string& to) override;
  [[nodiscard]] status remove(const std::string& path) override;
  [[nodiscard]] status remove_all(const std::string& path) override;
  [[nodiscard]] expected<std::vector<dir_entry>> list(const std::string& dir) const override;
  [[nodiscard]] expected<std::unique_ptr<file_reader>> open_read(
      const std::string& path) const override;
  [[nodiscard]] status write_file(const std::string& path, std::string_view bytes) override;

  // -- for the simulator and tests ------------------------------------------------------------
  // A file's whole contents.
  [[nodiscard]] expected<std::string> read_all(const std::string& path) const;
  // Every regular file below dir (recursively), by full path.
  [[nodiscard]] std::vector<std::string> files_under(const std::string& dir) const;
  // Writes refused with storage_full while set (reads and removals still work).
  void set_full(bool full);
  // Bytes held in files.
  [[nodiscard]] uint64_t bytes_used() const;

 private:
  struct node {
    file_kind kind = file_kind::directory;
    std::shared_ptr<const std::string> bytes;  // regular files; shared with open readers
  };
  [[nodiscard]] static expected<std::string> normal(const std::string& path);
  [[nodiscard]] bool has_children(const std::string& dir) const;
  [[nodiscard]] status parent_is_dir(const std::string& path) const;

  mutable std::mutex mu_;
  std::map<std::string, node> nodes_;  // by normalised absolute path; "/" is the root
  bool full_ = false;
};

// Reads a whole (small) file through any file system.
[[nodiscard]] expected<std::string> read_whole_file(const file_system& fs, const std::string& path,
                                                    uint64_t max_bytes);

}  // namespace librarian
