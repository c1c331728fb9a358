// Actor-system setup shared by every binary: the middleman, every message type, the error
// category, and heartbeats with a connection timeout (off by default in CAF 0.17, which would
// leave a dead peer unnoticed on a half-open connection).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include <caf/actor_system_config.hpp>

namespace librarian {

// How CAF runs actors on its worker threads.
enum class scheduler_policy : uint8_t {
  // One queue that idle workers wait on: a message wakes a worker at once. The default: on the
  // small machines we run on, request/response chains between actors (HTTP -> actor -> commit ->
  // reply) are bound by wake-up latency, and sharing halves it.
  sharing,
  // A queue per worker; an idle worker polls and sleeps 50 us between polls before it blocks,
  // so a message to an idle worker can wait that long at each hop. Scales better on many cores.
  stealing,
};

struct system_options {
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds connection_timeout{5000};
  size_t worker_threads = 0;  // 0: CAF's default (one per core)
  scheduler_policy scheduler = scheduler_policy::sharing;
  bool load_middleman = true;
  bool testing_scheduler = false;  // deterministic test coordinator (tests, simulation)
};

class system_config : public caf::actor_system_config {
 public:
  explicit system_config(const system_options& options = {});
};

}  // namespace librarian
