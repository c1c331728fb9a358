// `librarian-bench replication` (issue 7's performance section): 10,000 files of 1 MiB cloned
// from node A to node B on loopback by the replication pipeline, beside the native mover copying
// the same bytes without the catalog; the ratio, the catalog's overhead per file and each node's
// peak RSS. Run by name only (it moves 30 GiB per repetition).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace librarian::bench {

// bin_dir holds librarian-node; work_dir is on the disk being measured and needs room for about
// two copies of the files (20 GiB, 400 MiB with quick). files: 0 for the default (10,000; 200
// with quick).
[[nodiscard]] nlohmann::json bench_replication(const std::string& work_dir,
                                               const std::string& bin_dir, bool quick,
                                               uint64_t files = 0);

}  // namespace librarian::bench
