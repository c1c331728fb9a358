// Plain message structs of the node family (no CAF): membership, node status, users, tokens.
// They are CAF-inspectable (interface.hpp) and cereal-serializable for storage.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace librarian::node {

// One line of the membership view. `state` is "up" or "down".
struct member_info {
  std::string name;
  std::string address;  // host:cluster_port
  std::string state;
  int64_t since_unix_ms = 0;
  int64_t last_seen_unix_ms = 0;
  uint64_t incarnation = 0;  // how many times that node has started
  friend bool operator==(const member_info&, const member_info&) = default;
};

struct actor_status {
  std::string name;
  std::string state;  // running | restarting | stopped
  uint32_t restarts = 0;
  uint64_t mailbox_depth = 0;  // as of the node's last poll
  friend bool operator==(const actor_status&, const actor_status&) = default;
};

struct node_status {
  std::string name;
  std::string version;
  uint64_t incarnation = 0;
  int64_t first_started_unix_ms = 0;
  int64_t started_unix_ms = 0;
  int64_t uptime_ms = 0;
  std::vector<actor_status> actors;
  friend bool operator==(const node_status&, const node_status&) = default;
};

// What anyone may learn about a user (never the password hash).
struct user_info {
  std::string name;
  std::string role;  // NONE | READONLY | CALLBACK | READAPPEND | READWRITE | ADMIN
  int64_t created_unix_ms = 0;
  friend bool operator==(const user_info&, const user_info&) = default;
};

// A user as stored. The password travels only as a slow-KDF hash.
struct user_record {
  static constexpr uint8_t schema_version = 1;
  std::string name;
  std::string role;
  std::string password_hash;
  int64_t created_unix_ms = 0;
  int64_t password_changed_unix_ms = 0;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, role, password_hash, created_unix_ms, password_changed_unix_ms);
  }
  friend bool operator==(const user_record&, const user_record&) = default;
};

// A bearer token as stored: only its SHA-256 leaves the process that minted it.
struct token_record {
  static constexpr uint8_t schema_version = 1;
  std::string token_sha256;
  std::string user;
  int64_t created_unix_ms = 0;
  int64_t expires_unix_ms = 0;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(token_sha256, user, created_unix_ms, expires_unix_ms);
  }
  friend bool operator==(const token_record&, const token_record&) = default;
};

// Node identity, persisted: incarnation grows by one at every start.
struct node_identity {
  static constexpr uint8_t schema_version = 1;
  std::string name;
  uint64_t incarnation = 0;
  int64_t first_started_unix_ms = 0;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, incarnation, first_started_unix_ms);
  }
};

// The last thing known about a peer, persisted so the view survives restarts.
struct peer_record {
  static constexpr uint8_t schema_version = 1;
  std::string name;
  std::string address;
  uint64_t incarnation = 0;
  int64_t last_seen_unix_ms = 0;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, address, incarnation, last_seen_unix_ms);
  }
};

[[nodiscard]] inline user_info public_view(const user_record& user) {
  return {user.name, user.role, user.created_unix_ms};
}

}  // namespace librarian::node
