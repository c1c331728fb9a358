// Runs the console language against a simulated world: the console's commands plus the world
// commands (advance, crash, restart, partition, isolate, heal, clog, unclog, fault).
#pragma once

#include "runtime/console/repl.hpp"
#include "runtime/sim/world.hpp"

namespace librarian::sim {

class sim_executor final : public console::executor {
 public:
  explicit sim_executor(world& w);
  [[nodiscard]] expected<std::string> run(const console::command& cmd) override;
  [[nodiscard]] bool runs_world_commands() const override { return true; }

 private:
  [[nodiscard]] expected<std::string> deliver(const console::command& cmd);
  [[nodiscard]] expected<std::string> world_command(const console::command& cmd);
  [[nodiscard]] expected<std::string> apply_setting(const console::command& cmd);

  world& world_;
  std::string default_node_;
  milliseconds timeout_{5000};
};

}  // namespace librarian::sim
