// The membership actor: the shell around membership_state.
#pragma once

#include <memory>

#include "actors/node/interface.hpp"
#include "actors/node/node_env.hpp"

namespace librarian::node {

[[nodiscard]] membership_actor spawn_membership(caf::local_actor* spawner,
                                                std::shared_ptr<node_env> env,
                                                uint64_t incarnation);

}  // namespace librarian::node
