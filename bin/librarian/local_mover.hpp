// The `local` mover: the client copies bytes itself when the node's staging directory (upload)
// or instance (download) is reachable on this host's file system, as the reference librarian's
// local transfer manager does. The native network mover comes with the data channel.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "runtime/expected.hpp"

namespace librarian::cli {

using copy_progress = std::function<void(uint64_t bytes_done)>;

// Copies a regular file or a directory tree (regular files and directories only) to dst, which
// must not exist; its parent must. On failure the partial copy is removed.
[[nodiscard]] status copy_tree(const std::string& src, const std::string& dst,
                               const copy_progress& progress);

// A one-line progress bar on stderr when it is a terminal; silent otherwise.
class progress_bar {
 public:
  progress_bar(std::string label, uint64_t total_bytes);
  ~progress_bar();
  void update(uint64_t done_bytes);
  void finish();

 private:
  std::string label_;
  uint64_t total_;
  bool enabled_;
  int last_permille_ = -1;
  bool finished_ = false;
};

}  // namespace librarian::cli
