// The node actor: supervisor and router of one node. It spawns the node's actors (users,
// membership, transport), restarts a crashed one with capped exponential backoff, routes
// console/API/peer messages to actors by name, and shuts everything down in order.
//
// Protocol (dynamically typed, because it routes arbitrary payloads):
//   (ask_atom, ACTOR, message)     -> the actor's reply (or not_found for an unknown actor)
//   (inject_atom, ACTOR, message)  -> () once handed over; the actor's reply is dropped
//   (deliver_atom, PEER, ACTOR, message)  a peer's message for one of our actors
//   (hello_atom, PEER, incarnation, address) -> (NAME, incarnation)  peer handshake
//   (status_atom)                  -> node_status
//   (members_atom)                 -> std::vector<member_info>
//   (crash_atom, ACTOR)            -> ()  kills the actor to exercise the supervisor
//   (shutdown_atom)                -> ()  stops every actor, then itself
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/node/messages.hpp"
#include "actors/node/node_env.hpp"

namespace librarian::node {

[[nodiscard]] caf::actor spawn_node(caf::actor_system& sys, std::shared_ptr<node_env> env,
                                    node_identity identity);

// The published front door on the cluster port: passes only the public protocol to the node.
[[nodiscard]] caf::actor spawn_gateway(caf::actor_system& sys, caf::actor node);

}  // namespace librarian::node
