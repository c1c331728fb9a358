// Everything a node's actors may touch of the outside world, injected (DESIGN.md §4): storage,
// the wall clock, the seed, and how to spawn the transport. Production and simulation differ only
// in what they put here.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/node/messages.hpp"
#include "runtime/clock.hpp"
#include "runtime/config.hpp"
#include "runtime/fs.hpp"
#include "runtime/knobs.hpp"
#include "storage/committer.hpp"
#include "storage/db.hpp"

namespace librarian::data {
class ticket_registry;
class data_server;
}  // namespace librarian::data

namespace librarian::transfer {
class async_mover;
}  // namespace librarian::transfer

namespace librarian::mcs {
class object_cache;
}  // namespace librarian::mcs

namespace librarian::node {

inline constexpr const char* version_text = "0.1.0";
inline constexpr const char* node_table = "node";
inline constexpr const char* peers_table = "peers";

struct node_env {
  node_config config;
  storage::db* db = nullptr;
  storage::committer* committer = nullptr;
  wall_clock* clock = nullptr;
  uint64_t seed = 0;
  uint64_t incarnation = 0;  // set once begin_incarnation has committed it
  knobs tuning = knobs::defaults();
  // The native data channel's tickets (null when listen.data_port is 0, and in simulation):
  // whoever grants a transfer (the HTTP API, upload staging) issues one here.
  std::shared_ptr<data::ticket_registry> data_tickets;
  uint16_t data_port = 0;     // the port the data server actually listens on
  uint16_t gridftp_port = 0;  // the port this node's GridFTP server listens on (0: none)
  const data::data_server* data_server = nullptr;  // for /metrics; outlives the API
  // Stores and staging areas: the disk in production, a node's in-memory disk in simulation.
  std::shared_ptr<file_system> fs = posix_file_system();
  // Blocking work (hashing, file moves, mover calls) on threads of its own (production), or on
  // the actor system's scheduler (simulation: deterministic, in virtual time).
  bool worker_threads = true;
  // The MCS's in-memory object cache (mcs.object_cache_mb; null: none): kept by the mcs actor,
  // read by the HTTP API's catalog readers.
  std::shared_ptr<mcs::object_cache> mcs_objects;
  // Movers by name, ahead of the built-in ones (the simulator's "sim" mover).
  std::map<std::string, std::shared_ptr<transfer::async_mover>> movers;
  // The Globus mover when librarian.globus_enable (built, and its credentials read, at start-up).
  std::shared_ptr<transfer::async_mover> globus_mover;
  // Spawns this node's transport; `supervisor` is the node actor it reports to. The env is
  // passed in rather than captured, so the env does not own itself.
  std::function<caf::actor(caf::local_actor* spawner, caf::actor supervisor,
                           std::shared_ptr<node_env> env)>
      spawn_transport;
};

// Every column family the node family uses; the DB is opened with these.
[[nodiscard]] std::vector<std::string> node_tables();
// What every opener of a node's DB passes (the node, the simulator, offline tools, benchmarks):
// node_tables() and their tuning, so a table's options do not depend on who opened it last.
[[nodiscard]] storage::open_options node_db_options(std::string path, rocksdb::Env* env = nullptr);
// The MCS object cache the config asks for (mcs.enabled, mcs.object_cache_mb), or nullptr.
[[nodiscard]] std::shared_ptr<mcs::object_cache> make_mcs_object_cache(const node_config& cfg);

// Opens the DB's identity row, bumps the incarnation and syncs it, before any actor starts.

[[nodiscard]] expected<node_identity> begin_incarnation(storage::db& db, const std::string& name,
                                                        int64_t now_ms);

}  // namespace librarian::node
