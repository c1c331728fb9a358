// The users actor: the shell around users_state (spawned and supervised by the node actor).
#pragma once

#include <memory>

#include "actors/node/interface.hpp"
#include "actors/node/node_env.hpp"

namespace librarian::node {

[[nodiscard]] users_actor spawn_users(caf::local_actor* spawner, std::shared_ptr<node_env> env);

}  // namespace librarian::node
