// `librarian copy SRC DST`: globus-url-copy's options and meanings over file://, lib://HOST[:PORT]
// (the native channel through a node's data port) and ftp://HOST:PORT (GridFTP).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace librarian::cli {

struct copy_arguments {
  std::string source;
  std::string destination;
  unsigned parallel = 4;              // -p
  unsigned concurrency = 1;           // -cc
  std::string block_size = "1M";      // -bs
  std::string tcp_buffer_size = "0";  // -tcp-bs
  bool recursive = false;             // -r
  bool create_dirs = false;           // -cd
  bool sync = false;                  // -sync
  int sync_level = 2;                 // -sync-level
  bool verify_checksum = false;  // -verify-checksum (the native channel always verifies inline)
  std::string checksum_alg = "xxh3";
  bool restart = false;                        // -rst
  unsigned restart_retries = 5;                // -rst-retries, 0 = forever
  double restart_interval_s = 0;               // -rst-interval, 0 = exponential backoff
  double stall_timeout_s = 600;                // -stall-timeout
  std::optional<uint64_t> partial_offset;      // -partial-offset
  std::optional<uint64_t> partial_length;      // -partial-length
  bool verbose = false;                        // -vb
  bool buffered_io = false;                    // -buffered-io: no O_DIRECT writes
  std::optional<std::string> connection_name;  // --conn: credentials for lib:// URLs
};

// Rewrites globus-url-copy's single-dash long options ("-cc 4", "-tcp-bs 8M") into the
// double-dash form the parser takes; everything else is left alone.
[[nodiscard]] std::vector<std::string> normalize_copy_options(std::vector<std::string> argv);

void add_copy_command(CLI::App& app, copy_arguments& args, bool& chosen);

// Runs the copy; returns the process exit code. `json` prints a JSON summary on stdout.
[[nodiscard]] int run_copy(const copy_arguments& args, bool json,
                           const std::optional<std::string>& config_path,
                           std::chrono::milliseconds api_timeout);

// "8M" -> 8388608; K, M, G (powers of 1024), plain bytes. nullopt on garbage.
[[nodiscard]] std::optional<uint64_t> parse_size(const std::string& text);

}  // namespace librarian::cli
