// The timed part of the replication suite: with every file already in A's catalog and transfers
// to B disabled, enable them and watch both nodes' /api/v1/replication reports until B has
// committed every file and nothing is live on either side; then check the outcome.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/replication/node_pair.hpp"
#include "bench/replication/source_files.hpp"
#include "runtime/expected.hpp"

namespace librarian::bench {

// Registers B as a librarian at A (the pair is already each other's cluster peer) and disables
// transfers to it, so files loaded now wait for set_transfers(pair, true).
[[nodiscard]] status register_and_pause(const node_pair& pair);

struct replication_timing {
  double first_at_b_s = 0;  // enable -> B has committed its first file
  double all_at_b_s = 0;    // enable -> B has committed every file
  double settled_s = 0;     // enable -> every file at B and nothing live on either side
  double cpu_a_s = 0;       // CPU used by each node between enable and settled
  double cpu_b_s = 0;
  uint64_t rss_peak_a_kib = 0;  // VmHWM since enable (since start if the reset was refused)
  uint64_t rss_peak_b_kib = 0;
  nlohmann::json counters_a;  // the replicators' counters when settled
  nlohmann::json counters_b;
  // Files that have arrived at B (STAGED) and wait for recv_clone to ingest them, over the polls:
  // a backlog that stays high means ingesting, not moving, is the limit.
  double b_staged_waiting_mean = 0;
  uint64_t b_staged_waiting_max = 0;
  // Where the time goes: seconds from enable until each pipeline counter first moved
  // ("a.batches_created", ..., "b.incoming_completed").
  nlohmann::json first_seen_s = nlohmann::json::object();
};

struct replication_limits {
  std::chrono::seconds stalled;  // no progress on either node for this long: give up
  std::chrono::seconds total;
};

// Enables transfers to B and waits until `files` files are committed at B and both sides settle.
[[nodiscard]] expected<replication_timing> replicate_all(node_pair& pair, size_t files,
                                                         const replication_limits& limits);

// Every file at B once, with its checksum and one instance, and A recording B's copy of each.
// Returns what A records beyond that ({"a_files_with_several_remote_records_at_b": N}): a
// figure to report, not a failed run.
[[nodiscard]] expected<nlohmann::json> check_replicated(const node_pair& pair,
                                                        const std::vector<source_file>& files);

}  // namespace librarian::bench
