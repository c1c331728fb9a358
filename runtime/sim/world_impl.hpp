// Internals of the simulated world, shared by its translation units (not a public header).
#pragma once

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <deque>

#include "actors/node/node_env.hpp"
#include "actors/transfer/mover.hpp"
#include "runtime/caf/system_config.hpp"
#include "runtime/fs.hpp"
#include "runtime/sim/world.hpp"
#include "storage/fault_env.hpp"

namespace librarian::sim {

class world_impl;

// Wall time of the simulated nodes: a fixed epoch plus the virtual clock.
class virtual_wall_clock final : public wall_clock {
 public:
  explicit virtual_wall_clock(caf::scheduler::test_coordinator& sched) : sched_(sched) {}
  [[nodiscard]] int64_t now_unix_ms() const override;

 private:
  caf::scheduler::test_coordinator& sched_;
};

// A disk with latency: batches complete in order, disk_latency after submission, written with
// a sync. A crash abandons what has not completed: those writes are lost, as on a real disk.
class sim_committer final : public storage::committer {
 public:
  sim_committer(world_impl& world, size_t node_index, uint64_t incarnation, storage::db& db)
      : world_(world), node_(node_index), incarnation_(incarnation), db_(db) {}
  void submit(storage::batch b, done_fn done) override;
  void stop() override {}
  [[nodiscard]] storage::committer_stats stats() const override { return stats_; }
  void complete_front();
  [[nodiscard]] size_t pending() const { return queue_.size(); }

 private:
  struct item {
    storage::batch rows;
    done_fn done;
  };
  world_impl& world_;
  size_t node_;
  uint64_t incarnation_;
  storage::db& db_;
  std::deque<item> queue_;
  int64_t last_completion_ms_ = 0;
  storage::committer_stats stats_;
};

struct node_slot {
  std::string name;
  size_t index = 0;
  std::unique_ptr<storage::fault_env> disk;  // survives crashes; what was synced survives
  std::shared_ptr<rocksdb::Env> db_env;      // `disk` without RocksDB's OPTIONS files
  // The stores' and staging areas' files: survive crashes (files are written whole and synced).
  std::shared_ptr<memory_file_system> files = std::make_shared<memory_file_system>();
  std::unique_ptr<storage::db> db;  // null while crashed
  std::unique_ptr<sim_committer> committer;
  std::shared_ptr<node::node_env> env;
  caf::actor node;
  caf::actor transport;
  bool alive = false;
  uint64_t incarnation = 0;  // bumps at every (re)start; stale events check it
  int64_t started_ms = -1;
  std::set<std::string> told_up;  // peers its transport has been told are up
  bool disk_failing = false;
};

class world_impl {
 public:
  explicit world_impl(world_options options);
  ~world_impl();

  // -- time and scheduling ------------------------------------------------------------------
  void advance(milliseconds d);
  // Runs until pred() or `limit` of virtual time passed; true if pred() held.
  bool run_until(const std::function<bool()>& pred, milliseconds limit);
  void schedule(milliseconds delay, std::function<void()> event);
  [[nodiscard]] int64_t now_ms() const;

  // -- nodes ---------------------------------------------------------------------------------
  [[nodiscard]] node_slot* find(const std::string& name);
  [[nodiscard]] status start_node(node_slot& n);
  // How every simulated node's RocksDB is opened (start_node, world::preload_lrc).
  [[nodiscard]] static storage::open_options db_options(const node_slot& n);
  void stop_node_actors(node_slot& n);
  [[nodiscard]] status crash(const std::string& name);
  [[nodiscard]] status restart(const std::string& name);

  // -- network -------------------------------------------------------------------------------
  void route(size_t from, const std::string& to, const std::string& actor, caf::message msg);
  void transport_started(size_t node);
  void reevaluate_links();
  [[nodiscard]] bool connected(size_t a, size_t b) const;
  void notify_link(size_t observer, size_t peer, bool up, uint64_t generation);

  // -- state ----------------------------------------------------------------------------------
  world_options options;
  rng chaos;  // the world's one generator: every fault and every scheduling choice
  fault_profile profile;
  system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  virtual_wall_clock clock;
  std::vector<node_slot> nodes;
  std::set<std::pair<size_t, size_t>> cut;      // (from, to): messages and liveness blocked
  std::set<std::pair<size_t, size_t>> clogged;  // (from, to): messages held until unclogged
  std::map<std::pair<size_t, size_t>, std::vector<std::function<void()>>> clogged_messages;
  std::map<std::pair<size_t, size_t>, bool> link_view;  // what observer->peer currently believes
  std::map<std::pair<size_t, size_t>, uint64_t> link_generation;
  // Per link, when its last message is delivered: a link is FIFO, like the TCP connection CAF
  // uses, so messages reorder only across links.
  std::map<std::pair<size_t, size_t>, int64_t> link_last_delivery_ms;
  // World events (message deliveries, disk completions, faults, failure-detector verdicts) on
  // virtual time, by (time, order scheduled). run_until fires each itself when no actor is ready
  // and it is due no later than the next CAF timer: as a job of an actor of its own, each event
  // cost a delayed message, a clock entry and a scheduled job.
  std::map<std::pair<caf::actor_clock::time_point, uint64_t>, std::function<void()>> world_events;
  uint64_t next_event = 1;
  uint64_t trace_state = 0xcbf29ce484222325ULL;
  int64_t random_crashes = 0;
  int64_t random_partitions = 0;
  // How LRCs update RLIs (config_for; world_options::rls_layout says what each means);
  // `fault rls_layout NAME` restarts every node with it.
  std::string rls_layout = "lists";
  uint64_t steps = 0;
  // The durability model: users each node acknowledged creating (and not removing).
  std::map<std::string, std::set<std::string>> acked_users;
  // ... and LRC mappings (lfn, pfn) each node acknowledged adding (and not removing).
  std::map<std::string, std::set<std::pair<std::string, std::string>>> acked_mappings;
  // ... and files each node acknowledged ingesting (name -> checksum), which replication must
  // bring to every other node.
  std::map<std::string, std::map<std::string, std::string>> acked_files;
  [[nodiscard]] std::vector<std::string> replica_violations(node_slot& n);
  [[nodiscard]] std::vector<std::string> lost_acknowledged(node_slot& n);
  std::vector<std::string> violations;

  void trace(const std::string& event);
  [[nodiscard]] node_config config_for(const node_slot& n) const;
  void add_mixed_rls_targets(size_t index, node_config& cfg) const;
};

// The Env simulated nodes open their DBs on: `disk`, except that RocksDB cannot create its
// OPTIONS files. RocksDB writes one (every table's options, serialized, then parsed back and
// verified) at every DB::Open, and with ~40 tables that was a third of a simulation's time. Nothing
// reads them (they are for RocksDB's tools), and RocksDB carries on without one: it logs the
// failure and the open succeeds (fail_if_options_file_error is off). Nor info LOG files: RocksDB
// formats all those options into its LOG too; simulated nodes' DBs get a logger that drops all.
[[nodiscard]] std::shared_ptr<rocksdb::Env> without_options_files(rocksdb::Env* disk);

// The simulated mover ("sim"): bytes between nodes' in-memory disks in virtual time, with faults.
[[nodiscard]] std::shared_ptr<transfer::async_mover> make_sim_mover(world_impl& world, size_t node,
                                                                    uint64_t incarnation);

// The simulated transport: the production transport's protocol over the world's network.
[[nodiscard]] caf::actor spawn_sim_transport(caf::local_actor* spawner, caf::actor node,
                                             std::shared_ptr<node::node_env> env, world_impl* world,
                                             size_t index);

}  // namespace librarian::sim
