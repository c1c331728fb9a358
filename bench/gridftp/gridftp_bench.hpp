// GridFTP server benchmark: our server (in process) and globus-gridftp-server, each serving the
// same globus-url-copy -p 4 runs on loopback, side by side in one run. Results are JSON for
// librarian-bench.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace librarian::bench {

// 2 GiB file (quick: 256 MiB) under work_dir; download to /dev/null (memory to memory: the
// source is in the page cache, the sink discards) and upload into the server's root (disk),
// 3 runs each, median GB/s; uploads also against globus -sync-writes, which syncs before range
// markers as ours always does. Never throws; missing Globus tools are reported as an "error".
[[nodiscard]] nlohmann::json bench_gridftp(const std::string& work_dir, bool quick);

}  // namespace librarian::bench
