// The files the replication suite moves: a pool of incompressible, distinct files made once, and
// a fast loader that puts them into a node's catalog through the upload API (stage, link the
// pool file at the staging path, commit) instead of one `librarian upload` process per file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/replication/node_pair.hpp"
#include "runtime/expected.hpp"

namespace librarian::bench {

struct source_file {
  std::string name;  // the catalog name
  std::filesystem::path pool_path;
  uint64_t size = 0;
  std::string checksum;  // "xxh3:::HEX"
};

// Writes `count` files of `bytes` each under dir and syncs them, so their writeback does not
// run into the timed phases.
[[nodiscard]] expected<std::vector<source_file>> make_source_pool(const std::filesystem::path& dir,
                                                                  size_t count, uint64_t bytes);

// Uploads every file to the node with `clients` concurrent clients. The pool file is hard-linked
// at the staging path (no bytes written; copied if the link fails) and the commit verifies it as
// usual. Returns each file's instance path on the node, in the order of `files`.
[[nodiscard]] expected<std::vector<std::string>> load_into(const replication_node& node,
                                                           const std::vector<source_file>& files,
                                                           unsigned clients);

}  // namespace librarian::bench
