// Node-to-node messaging (DESIGN.md §4.1). Every message between nodes goes through a transport
// actor; production uses CAF remote actors over the middleman (this file), the simulator an
// in-process router with the same protocol:
//   (forward_atom, PEER, ACTOR, message)          deliver to ACTOR on PEER if PEER is up; else
//   dropped (hello_atom, PEER, incarnation, address) -> (NAME, incarnation)   inbound handshake
//   (subscribe_atom)   re-announce every peer that is up (after a membership restart)
// It reports (peer_up_atom, PEER, address, incarnation) and (peer_down_atom, PEER) to the node's
// "membership" actor through the node actor.
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/node/node_env.hpp"

namespace librarian::net {

// Connects to every configured peer's gateway with capped exponential backoff plus jitter,
// monitors it, and reconnects after it goes away.
[[nodiscard]] caf::actor spawn_middleman_transport(caf::local_actor* spawner, caf::actor node,
                                                   std::shared_ptr<node::node_env> env);

}  // namespace librarian::net
