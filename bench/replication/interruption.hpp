// SIGINT and SIGTERM while the replication suite runs: instead of dying with two nodes and up to
// 20 GiB of files behind, every wait loop of the suite sees the request and returns an error, so
// the nodes are stopped and the work directory removed on the way out.
#pragma once

namespace librarian::bench {

class interruption_guard {
 public:
  // Installs the handlers; the destructor puts the previous ones back.
  interruption_guard();
  ~interruption_guard();
  interruption_guard(const interruption_guard&) = delete;
  interruption_guard& operator=(const interruption_guard&) = delete;
};

// True once SIGINT or SIGTERM arrived while a guard was installed.
[[nodiscard]] bool interruption_requested();

}  // namespace librarian::bench
