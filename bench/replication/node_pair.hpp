// Two real librarian-node processes on loopback, configured as
// tests/integration/replication/replication_test.py configures them: each is the other's peer,
// each has one store and one data root; A sends clones to B (send_clone, consume_queue,
// check_consumed_queue), B receives them (recv_clone). Both stop when the pair is destroyed.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bench/common/node_process.hpp"
#include "bin/librarian/client_config.hpp"
#include "runtime/expected.hpp"

namespace librarian::bench {

struct replication_node {
  std::string name;
  std::unique_ptr<node_process> proc;
  cli::connection conn;  // the bootstrap admin
  uint16_t cluster_port = 0;
  uint16_t http_port = 0;
  uint16_t data_port = 0;
  std::filesystem::path root;  // the data root; the store's staging and store dirs live under it
  std::filesystem::path log;
};

// The replication settings the suite runs with (reported beside the figures).
struct pair_settings {
  uint32_t send_batch_size = 128;
  std::string send_clone_every = "500ms";
  std::string queue_tasks_every = "200ms";  // consume_queue, check_consumed_queue, recv_clone
};

struct node_pair {
  replication_node a;
  replication_node b;
};

// Starts A and B under dir and waits until both answer /healthz and listen on their data ports.
[[nodiscard]] expected<std::unique_ptr<node_pair>> start_pair(const std::filesystem::path& dir,
                                                              const std::string& bin_dir,
                                                              const pair_settings& settings);

// One authenticated JSON call; a reply other than 2xx is an error.
[[nodiscard]] expected<nlohmann::json> call_node(
    const replication_node& node, std::string_view method, std::string_view target,
    const std::optional<nlohmann::json>& body = std::nullopt,
    std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace librarian::bench
