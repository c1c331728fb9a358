// Data-channel tickets: the control plane (the HTTP API, the librarian's upload staging) grants
// one transfer of one path, and every connection of that transfer presents the ticket. A ticket is
// 128 random bits, valid until it expires or its transfer completes; it is never logged in full.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "net/data/checksum.hpp"
#include "runtime/expected.hpp"

namespace librarian::data {

enum class ticket_mode : uint8_t { put, get };

struct ticket_grant {
  ticket_mode mode = ticket_mode::get;
  std::filesystem::path path;  // absolute and already confined by whoever issued the grant
  uint64_t size = 0;           // put: the bytes the client will send
  uint64_t offset = 0;         // get: partial window
  std::optional<uint64_t> length;
  checksum_alg alg = checksum_alg::xxh3;
  std::string expected_checksum;  // put: "ALG:::HEX" the data must match, or ""
  std::string user;               // who asked, for logs
  unsigned streams_max = 32;
  // A tree ticket grants every file under `path` (a directory) to pipelined small-file requests on
  // its control connections, so a copy of many small files costs one ticket, not one per file.
  bool tree = false;
  // Tree puts: sync each file and its directory before answering (the default). A bulk upload
  // turns it off: its commit makes the whole batch durable at once (syncfs) before recording it,
  // which costs one flush instead of two per small file.
  bool sync_each = true;
  // Valid for `ttl` from issue: the registry stamps `expires` from its own clock, so callers
  // (actors among them, which must not read the machine's clock: DESIGN.md §4) pass a duration.
  std::chrono::milliseconds ttl{0};
  std::chrono::steady_clock::time_point expires;  // set by issue()
  // put: called once, after the file is verified and renamed into place (a tree ticket: once
  // for each file). On a data-server thread.
  std::function<void(const std::filesystem::path&, const std::string& checksum)> on_complete;
};

struct ticket_session;  // the server's per-transfer state (server.cpp)

class ticket_registry {
 public:
  using clock = std::chrono::steady_clock;
  explicit ticket_registry(size_t tickets_max = 100000) : tickets_max_(tickets_max) {}

  // Errors: invalid_argument without a positive ttl; unavailable when tickets_max live tickets
  // exist.
  [[nodiscard]] expected<std::string> issue(ticket_grant grant);
  // The grant and its session for a presented ticket; unauthenticated if unknown or expired.
  struct entry {
    ticket_grant grant;
    std::shared_ptr<ticket_session> session;
  };
  [[nodiscard]] expected<std::shared_ptr<entry>> find(const std::string& ticket);
  void retire(const std::string& ticket);
  [[nodiscard]] size_t live() const;

  // "3f2a…" (first 8 hex digits) for logs.
  [[nodiscard]] static std::string redact(const std::string& ticket);

 private:
  void purge_expired_locked(clock::time_point now);
  size_t tickets_max_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<entry>> entries_;
};

}  // namespace librarian::data
