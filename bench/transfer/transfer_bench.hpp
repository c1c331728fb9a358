// `librarian-bench transfer`: 2 GiB memory-to-memory and disk-to-disk, 2,000 files of 64 KiB, and
// CPU per GiB, for `librarian copy` through a real node beside globus-url-copy against
// globus-gridftp-server and iperf3 -P 4, in the same run.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace librarian::bench {

// bin_dir holds librarian-node and librarian; work_dir is on the disk being measured.
[[nodiscard]] nlohmann::json bench_transfer(const std::string& work_dir, const std::string& bin_dir,
                                            bool quick);

// Issue 6's CLI figure: one 2 GiB file (256 MiB with quick) uploaded into a store with
// `librarian upload`, against `librarian copy -p 4` of the same file to the same node's disk.
[[nodiscard]] nlohmann::json bench_cli_upload(const std::string& work_dir,
                                              const std::string& bin_dir, bool quick);

}  // namespace librarian::bench
