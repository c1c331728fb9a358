// The node's HTTP/JSON API (/api/v1, /healthz, /metrics): routes, authentication and role checks
// in front of the node's actors. Requests become actor messages; no handler blocks a thread.
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/node/node_env.hpp"
#include "runtime/expected.hpp"

namespace librarian::net {

class api_server {
 public:
  virtual ~api_server() = default;
  [[nodiscard]] virtual uint16_t port() const = 0;
  virtual void stop() = 0;
};

// nullptr (and no error) when listen.http_port is 0.
[[nodiscard]] expected<std::unique_ptr<api_server>> start_api_server(
    caf::actor_system& sys, caf::actor node, std::shared_ptr<node::node_env> env);

}  // namespace librarian::net
