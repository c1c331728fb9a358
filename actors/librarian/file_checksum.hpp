// Checksums of uploaded files and directories, as the catalog stores them ("xxh3:::<32 hex>",
// xxh3-128). Shared by the node (verification at commit, validate-file) and the CLI (the client
// computes the checksum it declares at stage time). Blocking file I/O: never call it on an actor.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "runtime/expected.hpp"
#include "runtime/fs.hpp"

namespace librarian::lib {

inline constexpr std::string_view checksum_prefix = "xxh3:::";

struct content_digest {
  std::string checksum;  // "xxh3:::<hex>"
  uint64_t size = 0;     // bytes of file contents (for a directory: the sum over its files)
  bool directory = false;
};

// Bounds on a directory walk, so a hostile or accidental tree cannot run without end.
struct digest_limits {
  uint64_t entries_max = 1'000'000;
  uint32_t depth_max = 64;
};

// progress(bytes_done) is called now and then while hashing (for progress bars); may be empty.
using progress_fn = std::function<void(uint64_t)>;

// A regular file: xxh3-128 of its bytes (the reference librarian's value for single files).
// A directory: xxh3-128 over its entries in byte order of their relative paths, each entry
// contributing its kind, relative path and (for files) size and contents -- unlike the reference,
// which hashes only the sorted file digests, renames, moves and empty directories change ours.
// Symlinks and special files are refused (invalid_argument): what they point to is not ours.
[[nodiscard]] expected<content_digest> digest_path(const file_system& fs, const std::string& path,
                                                   const progress_fn& progress = {},
                                                   digest_limits limits = {});
// The same on the machine's file system.
[[nodiscard]] expected<content_digest> digest_path(const std::string& path,
                                                   const progress_fn& progress = {},
                                                   digest_limits limits = {});

// True for "xxh3:::" followed by exactly 32 lower-case hex digits.
[[nodiscard]] bool valid_checksum(std::string_view checksum);

}  // namespace librarian::lib
