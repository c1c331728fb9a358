// Spawns the replicator (interface.hpp): the replication pipeline's actor shell. Kept apart from
// the interface so the node includes no more CAF than it needs.
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/node/node_env.hpp"
#include "actors/transfer/interface.hpp"

namespace librarian::transfer {

// `node` routes requests to this node's librarian and messages to peers (through the transport).
[[nodiscard]] replicator_actor spawn_replicator(caf::local_actor* spawner,
                                                std::shared_ptr<node::node_env> env,
                                                caf::actor node);

}  // namespace librarian::transfer
