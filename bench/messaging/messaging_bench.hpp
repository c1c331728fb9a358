// Messaging benchmarks: CAF request/response between two nodes over loopback TCP (the cluster's
// transport), against a plain blocking TCP ping-pong as the floor a hand-written protocol gets.
#pragma once

#include <nlohmann/json.hpp>

namespace librarian::bench {

// Each case runs 3 times; figures are medians. quick: fewer round trips.
[[nodiscard]] nlohmann::json bench_messaging(bool quick);

}  // namespace librarian::bench
