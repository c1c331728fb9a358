// The simulated world (DESIGN.md §10): N logical nodes in one actor system on CAF's test
// coordinator, a virtual clock stepped event by event, a seeded choice of which ready actor runs
// next, a simulated network (delay, drop, duplicate, reorder, clog, partitions), simulated disks
// (in-memory RocksDB that loses unsynced writes at a crash, injectable write failures) and
// checkers. One seed draws everything; the same seed and binary give the same trace hash.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "runtime/expected.hpp"
#include "runtime/knobs.hpp"
#include "runtime/random.hpp"

namespace librarian::sim {

using std::chrono::milliseconds;

// What the seed draws (unless a scenario pins it with `fault NAME VALUE`).
struct fault_profile {
  double drop = 0.0;       // per inter-node message
  double duplicate = 0.0;  // per inter-node message
  int64_t delay_min_ms = 1;
  int64_t delay_max_ms = 20;  // uniform between: reorders messages across links
  int64_t disk_latency_max_ms = 5;
  int64_t detect_down_ms = 1000;  // like cluster.connection_timeout_ms
  int64_t reconnect_ms = 200;     // like cluster.reconnect_min_ms
  // The simulated mover: per file, bytes corrupted or truncated on the way; per task, a stall
  // (never finishes), a task the service forgets, a submit reply lost after the task started.
  double mover_corrupt = 0.0;
  double mover_truncate = 0.0;
  double mover_stall = 0.0;
  double mover_lost = 0.0;  // per poll
  double mover_reply_lost = 0.0;
  int64_t mover_kbytes_per_ms = 10;  // bandwidth: 10 kB/ms = 10 MB/s
  knobs tuning;

  [[nodiscard]] static fault_profile draw(rng& r);
  [[nodiscard]] std::string describe() const;
};

struct world_options {
  uint64_t seed = 1;
  size_t nodes = 3;
  bool random_faults = true;  // draw the profile from the seed (else the quiet defaults)
  // Who clones to whom: "ring" (each node to the next, the last to the first; node a also runs
  // rolling_deletion), "pairs" (a -> b, c -> d, ...: each file gets one copy) or "none".
  std::string replication = "ring";
  uint32_t send_batch_size = 4;  // small batches: more of them, more interleavings
  // How LRCs update RLIs: "lists" (every LRC sends full lists in tiny chunks to every node's RLI
  // every 5 s: many messages, so loss and reordering matter), "modes" (immediate and Bloom targets
  // and an RLI hierarchy) or "index" (a deployment's layout: nodes a and b run the RLIs, every LRC
  // updates both in immediate mode with the default intervals and chunks).
  std::string rls_layout = "lists";
};

class world_impl;

class world {
 public:
  explicit world(world_options options);
  ~world();
  world(const world&) = delete;
  world& operator=(const world&) = delete;

  [[nodiscard]] uint64_t seed() const;
  [[nodiscard]] const fault_profile& profile() const;
  [[nodiscard]] std::vector<std::string> node_names() const;
  [[nodiscard]] bool has_node(const std::string& name) const;
  [[nodiscard]] bool alive(const std::string& name) const;
  [[nodiscard]] int64_t now_ms() const;  // virtual milliseconds since the start

  // Runs ready actors (in a seeded order) and fires timers in time order for `d` of virtual time.
  void advance(milliseconds d);

  [[nodiscard]] status crash(const std::string& name);
  [[nodiscard]] status restart(const std::string& name);
  [[nodiscard]] status partition(const std::vector<std::string>& left,
                                 const std::vector<std::string>& right);
  [[nodiscard]] status isolate(const std::string& name);
  void heal();
  [[nodiscard]] status clog(const std::string& from, const std::string& to);
  [[nodiscard]] status unclog(const std::string& from, const std::string& to);
  // drop, duplicate, delay_min_ms, delay_max_ms, disk_latency_max_ms, detect_down_ms,
  // disk_fail.NODE (0/1: every write fails with storage_full), cut.FROM.TO (0/1: one direction),
  // random_crashes (count over the next advance), random_partitions (count over the next advance).
  [[nodiscard]] status set_fault(const std::string& name, const std::string& value);

  // Asks ACTOR on NODE with a prepared payload and prints the typed reply with `ask` (a catalog
  // entry's); runs the world until the reply (or the timeout) comes.
  [[nodiscard]] expected<std::string> ask_payload(
      const std::string& node, const std::string& actor, const caf::message& payload,
      const std::function<void(caf::event_based_actor*, const caf::actor&, caf::message,
                               caf::timespan, std::function<void(expected<std::string>)>)>& ask,
      milliseconds timeout);
  // Fire and forget: hands (inject, ACTOR, payload) to the node and returns at once.
  [[nodiscard]] status send_payload(const std::string& node, const std::string& actor,
                                    const caf::message& payload);
  [[nodiscard]] expected<std::string> members_text(const std::string& node, milliseconds timeout);

  // Checkers. Each returns the violations found (empty: fine).
  [[nodiscard]] std::vector<std::string> check_safety();
  // After heal and restarts: every live node sees exactly the live nodes up.
  [[nodiscard]] std::vector<std::string> check_membership_converged();
  // After heal and restarts: every live RLI knows every live LRC's acknowledged LFNs.
  [[nodiscard]] std::vector<std::string> check_rli_converged();
  // After heal and restarts: every file a node acknowledged ingesting is at every live node,
  // intact, and each node's catalog records the copy at its successor in the replication ring.
  [[nodiscard]] std::vector<std::string> check_replication_converged();
  // The pseudo-actor `world` of scenarios (ask NODE/world MESSAGE ARGS...): upload NAME BYTES,
  // has NAME, transfers PEER on|off. See docs/simulation.md.
  // Ingests `count` files of `bytes` seeded bytes named PREFIX0, PREFIX1, ... at NODE, `window`
  // uploads in flight at a time, as world_message upload does one; returns how many were
  // acknowledged within `limit` of virtual time.
  [[nodiscard]] expected<size_t> ingest(const std::string& node, const std::string& prefix,
                                        size_t count, uint64_t bytes, size_t window,
                                        milliseconds limit);
  // Benchmarks: writes `count` LRC mappings PREFIX0 -> sim://NODE/PREFIX0, ... straight into
  // NODE's database (the node is stopped for it and restarted, so its actors load them as after
  // a crash). Not a scenario command: nothing is recorded for the durability checkers.
  [[nodiscard]] status preload_lrc(const std::string& node, const std::string& prefix,
                                   size_t count);
  // The LFN count NODE's RLI holds for each LRC it knows (fresh or not), from its `list` answer.
  [[nodiscard]] expected<std::map<std::string, uint64_t>> rli_lfn_counts(const std::string& node,
                                                                         milliseconds timeout);
  // How many files NODE's catalog records a copy of at PEER (a scan of the durable index).
  [[nodiscard]] expected<size_t> copies_recorded(const std::string& node, const std::string& peer);
  [[nodiscard]] expected<std::string> world_message(const std::string& node,
                                                    const std::string& message,
                                                    const std::vector<std::string>& args,
                                                    milliseconds timeout);
  // Records what the scripts were told, for the durability model (users create/remove acks).
  void record_ack(const std::string& node, const std::string& actor, const std::string& message,
                  const std::vector<std::string>& args, const expected<std::string>& reply);

  [[nodiscard]] uint64_t trace_hash() const;
  void trace(const std::string& event);

 private:
  std::unique_ptr<world_impl> impl_;
};

}  // namespace librarian::sim
