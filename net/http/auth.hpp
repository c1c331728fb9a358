// Who may do what over HTTP: the reference librarian's roles, parsing of the Authorization header
// (Basic and Bearer), and a cache that spares repeated Basic logins the slow password KDF.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

namespace librarian::net::http {

// Ordered as the reference's AuthLevel (hera_librarian.md §4.2): a route needs a minimum role and
// every higher role passes, so e.g. a CALLBACK peer may also read, and READAPPEND may call back.
// Differences from the reference: a caller whose role is too low gets 403 forbidden (401 is kept
// for missing or wrong credentials), and NONE grants nothing beyond unauthenticated endpoints.
enum class role : uint8_t { none = 0, readonly, callback, readappend, readwrite, admin };

// "NONE", "READONLY", "CALLBACK", "READAPPEND", "READWRITE", "ADMIN" — the reference's spelling.
[[nodiscard]] std::string_view name(role r);
// Case-insensitive; nullopt for anything else.
[[nodiscard]] std::optional<role> role_from_name(std::string_view text);
// True when a caller holding `have` may call a route that needs `need`.
[[nodiscard]] bool allows(role have, role need);

struct no_credentials {
  friend bool operator==(const no_credentials&, const no_credentials&) = default;
};
struct basic_credentials {
  std::string user;
  std::string password;
  friend bool operator==(const basic_credentials&, const basic_credentials&) = default;
};
struct bearer_credentials {
  std::string token;
  friend bool operator==(const bearer_credentials&, const bearer_credentials&) = default;
};
struct malformed_credentials {
  std::string reason;  // for the 401 message; never echoes the secret
  friend bool operator==(const malformed_credentials&, const malformed_credentials&) = default;
};
using credentials =
    std::variant<no_credentials, basic_credentials, bearer_credentials, malformed_credentials>;

// Parses an Authorization header value; an absent or blank header is no_credentials.
[[nodiscard]] credentials parse_authorization(std::string_view header_value);

// Remembers (user, password) pairs recently verified against a stored hash. A hit requires the
// same stored hash, so a password change or user re-creation invalidates it. Keys are
// HMAC-SHA256 under a per-process random key rather than plain SHA-256, so a memory dump does
// not yield fast-hash targets for offline guessing. Thread-safe; bounded to entries_max.
// HMAC-SHA256 under one fixed key with the key's inner and outer pad states computed once: the
// one-shot HMAC() of OpenSSL 3 fetches the algorithm and builds parameters on every call, which
// cost a tenth of a small authenticated request's CPU. Thread-safe (per-thread scratch context).
class prepared_hmac {
 public:
  explicit prepared_hmac(std::string_view key);  // at most 64 bytes (SHA-256's block)
  ~prepared_hmac();
  prepared_hmac(const prepared_hmac&) = delete;
  prepared_hmac& operator=(const prepared_hmac&) = delete;
  [[nodiscard]] std::string mac(std::string_view data) const;

 private:
  struct states;
  std::unique_ptr<states> states_;
};

class verified_cache {
 public:
  using clock = std::chrono::steady_clock;

  explicit verified_cache(size_t entries_max = 4096,
                          std::chrono::seconds ttl = std::chrono::seconds{300});

  // True when the pair was verified against `stored_hash` and has not expired at `now`.
  [[nodiscard]] bool contains(std::string_view user, std::string_view password,
                              std::string_view stored_hash, clock::time_point now) const;
  void remember(std::string_view user, std::string_view password, std::string_view stored_hash,
                clock::time_point now);
  // A hit skips the KDF; a miss runs crypto::verify_password and remembers only a success.
  [[nodiscard]] bool verify(std::string_view user, std::string_view password,
                            std::string_view stored_hash, clock::time_point now);
  // Drops every entry of `user` (on delete, password change, role change).
  void forget_user(std::string_view user);
  void clear();
  [[nodiscard]] size_t size() const;

 private:
  struct entry {
    std::string user;
    std::string stored_hash;
    clock::time_point expires;
  };
  [[nodiscard]] std::string key_of(std::string_view user, std::string_view password) const;
  void evict_locked(clock::time_point now);

  const prepared_hmac keyed_;  // under a per-process random secret
  const size_t entries_max_;
  const std::chrono::seconds ttl_;
  mutable std::mutex mutex_;  // guards entries_
  std::unordered_map<std::string, entry> entries_;
};

}  // namespace librarian::net::http
