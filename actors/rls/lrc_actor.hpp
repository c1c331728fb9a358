// The LRC actor: the shell around lrc_state (spawned and supervised by the node actor).
#pragma once

#include <memory>

#include "actors/node/node_env.hpp"
#include "actors/rls/interface.hpp"

namespace librarian::rls {

// `node` routes its soft-state updates (to a local RLI, or to a peer's through the transport).
[[nodiscard]] lrc_actor spawn_lrc(caf::local_actor* spawner, std::shared_ptr<node::node_env> env,
                                  caf::actor node);
// `node` routes resync requests to LRCs and forwarded updates to parent RLIs.
[[nodiscard]] rli_actor spawn_rli(caf::local_actor* spawner, std::shared_ptr<node::node_env> env,
                                  caf::actor node);

}  // namespace librarian::rls
