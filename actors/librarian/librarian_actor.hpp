// The librarian actor: the shell around catalog_state (spawned and supervised by the node actor),
// with detached workers for the blocking work (hashing, moving, removing, pinging).
#pragma once

#include <memory>

#include "actors/librarian/interface.hpp"
#include "actors/node/node_env.hpp"

namespace librarian::lib {

// `node` routes the LRC attach (ask "lrc"), so the instance and its mapping commit together.
[[nodiscard]] librarian_actor spawn_librarian(caf::local_actor* spawner,
                                              std::shared_ptr<node::node_env> env, caf::actor node);

}  // namespace librarian::lib
