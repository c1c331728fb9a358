// The MCS actor: the shell around mcs_state (spawned and supervised by the node actor).
#pragma once

#include <memory>

#include "actors/mcs/interface.hpp"
#include "actors/node/node_env.hpp"

namespace librarian::mcs {

[[nodiscard]] mcs_actor spawn_mcs(caf::local_actor* spawner, std::shared_ptr<node::node_env> env);

}  // namespace librarian::mcs
