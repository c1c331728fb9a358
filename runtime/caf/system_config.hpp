// Actor-system setup shared by every binary: the middleman, every message type, the error
// category, and heartbeats with a connection timeout (off by default in CAF 0.17, which would
// leave a dead peer unnoticed on a half-open connection).
#pragma once

#include <chrono>

#include <caf/actor_system_config.hpp>

namespace librarian {

struct system_options {
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds connection_timeout{5000};
  size_t worker_threads = 0;  // 0: CAF's default (one per core)
  bool load_middleman = true;
  bool testing_scheduler = false;  // deterministic test coordinator (tests, simulation)
};

class system_config : public caf::actor_system_config {
 public:
  explicit system_config(const system_options& options = {});
};

}  // namespace librarian
