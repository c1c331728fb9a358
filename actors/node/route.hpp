// One way for an actor to reach an actor of a node by name (DESIGN.md §4.1): its own node's
// actors through the node (inject), any other node's through the transport (forward). No reply:
// the sender is often typed, and a typed actor may not send to the dynamically typed node.
#pragma once

#include <caf/actor.hpp>
#include <caf/message.hpp>
#include <caf/send.hpp>
#include <string>

#include "runtime/type_ids.hpp"

namespace librarian::node {

inline void send_to_node(const caf::actor& own_node, const std::string& own_name,
                         const std::string& to_node, const std::string& actor, caf::message msg) {
  using namespace librarian::atoms;
  if (to_node == own_name) {
    caf::anon_send(own_node, inject_atom_v, actor, std::move(msg));
    return;
  }
  caf::anon_send(own_node, inject_atom_v, std::string{"transport"},
                 caf::make_message(forward_atom_v, to_node, actor, std::move(msg)));
}

}  // namespace librarian::node
