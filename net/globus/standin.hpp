// A LOCAL STAND-IN for the Globus Auth and Transfer API v0.10 surface the librarian uses -- not
// Globus, and not a Globus endpoint. It serves plain HTTP on loopback, issues bearer tokens for
// configured clients, and performs a task's copies itself on a background thread: for each item
// it copies to a temporary name, fsyncs, verifies the size and (verify_checksum, or an
// external_checksum) an md5/adler32/xxh3 checksum, then renames. Endpoints are directories on
// this machine; an endpoint path is absolute and resolved under the endpoint's root, so a root
// of "/" gives the same-absolute-path rule. Tasks live in memory only. Fault switches let tests
// reach the failure paths (expired tokens, quota, transient faults, slow tasks, the task limit).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/expected.hpp"

namespace librarian::globus {

struct standin_options {
  uint16_t port = 0;                                  // on 127.0.0.1; 0 = ephemeral
  std::map<std::string, std::string> endpoints;       // endpoint id → root directory
  std::map<std::string, std::string> clients;         // confidential app: client id → secret
  std::map<std::string, std::string> refresh_tokens;  // native app: client id → refresh token
  std::chrono::seconds token_ttl{3600};               // expires_in of every access token
  // Tokens stop working this long after issue whatever expires_in promised (a revocation).
  std::optional<std::chrono::seconds> revoke_tokens_after;
  // Fault codes for the next tasks, one per task in submission order: QUOTA_EXCEEDED (FAILED,
  // with fail_on_quota_errors), INACTIVE (the task goes INACTIVE), or any other code such as
  // CONNECTION_RESET or PERMISSION_DENIED (the task stays ACTIVE with one fault and stalls, as a
  // Globus task does while it keeps retrying).
  std::vector<std::string> fail_next_tasks;
  uint64_t slow_bytes_per_s = 0;   // 0 = as fast as the disk goes
  size_t active_tasks_max = 100;   // Globus's limit on a user's pending tasks
  size_t tasks_kept_max = 10'000;  // finished tasks beyond this are forgotten, oldest first
};

class globus_standin {
 public:
  struct counters {
    uint64_t tokens_issued = 0;
    uint64_t tasks_created = 0;
    uint64_t duplicate_submissions = 0;
    uint64_t files_copied = 0;
    uint64_t files_skipped = 0;
    uint64_t bytes_copied = 0;
    uint64_t unauthorized_requests = 0;
  };

  // Checks the options (every endpoint root an existing directory, at least one client) and
  // starts serving. errc::invalid_argument naming the option, errc::unavailable when the port
  // cannot be bound.
  [[nodiscard]] static expected<std::unique_ptr<globus_standin>> start(standin_options options);
  ~globus_standin();  // stop()
  globus_standin(const globus_standin&) = delete;
  globus_standin& operator=(const globus_standin&) = delete;

  [[nodiscard]] uint16_t port() const;
  // Stops serving, cancels running copies and joins their threads. Idempotent.
  void stop();
  [[nodiscard]] counters stats() const;

  struct state;  // defined in standin.cpp
  explicit globus_standin(std::unique_ptr<state> s);

 private:
  std::unique_ptr<state> state_;
};

[[nodiscard]] nlohmann::json to_json(const globus_standin::counters& c);

}  // namespace librarian::globus
