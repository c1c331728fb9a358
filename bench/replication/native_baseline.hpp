// The baseline of the replication suite: the same bytes copied from A's instances into B's data
// root by the native mover alone (actors/transfer/movers.cpp, the very code the replicator
// submits its batches to), on one tree ticket from B's data API, with no catalog on either side.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/replication/node_pair.hpp"
#include "bench/replication/source_files.hpp"
#include "runtime/expected.hpp"

namespace librarian::bench {

// Copies files[i] (read from sources[i]) to dest_dir on B, split into `batches` batches that are
// submitted at once (1: everything as one batch). Returns the seconds from the first submit until
// the last batch reported success; any failed file is an error. Gives up after `limit`.
[[nodiscard]] expected<double> native_copy_seconds(const replication_node& b,
                                                   const std::vector<source_file>& files,
                                                   const std::vector<std::string>& sources,
                                                   const std::filesystem::path& dest_dir,
                                                   unsigned batches, std::chrono::seconds limit);

}  // namespace librarian::bench
