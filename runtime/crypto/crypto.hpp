// Password hashing (PBKDF2-HMAC-SHA256, self-describing encoding), random tokens, SHA-256 and
// base64: the small set of primitives the HTTP API needs to keep credentials safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace librarian::crypto {

// OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256. Tests pass a small count instead.
inline constexpr uint32_t kdf_iterations_default = 210'000;
// A stored hash naming more iterations than this is rejected, so one bad record cannot make
// every login burn minutes of CPU.
inline constexpr uint32_t kdf_iterations_max = 10'000'000;
inline constexpr size_t kdf_salt_bytes = 16;
inline constexpr size_t kdf_key_bytes = 32;

// "pbkdf2-sha256$<iterations>$<salt, base64>$<key, base64>". The scheme and parameters travel
// with the hash so they can be raised later without invalidating stored passwords.
// Requires 1 <= iterations <= kdf_iterations_max.
[[nodiscard]] std::string hash_password(std::string_view password,
                                        uint32_t iterations = kdf_iterations_default);

// False for a wrong password and for any malformed or out-of-bounds encoding; never throws.
[[nodiscard]] bool verify_password(std::string_view password, std::string_view encoded);

// The iteration count of a well-formed encoding, so callers can rehash weak records on login.
[[nodiscard]] std::optional<uint32_t> password_hash_iterations(std::string_view encoded);

// Lower-case hex of SHA-256(data).
[[nodiscard]] std::string sha256_hex(std::string_view data);
// Raw 32-byte HMAC-SHA256(key, data).
[[nodiscard]] std::string hmac_sha256(std::string_view key, std::string_view data);

// `count` bytes from OpenSSL's CSPRNG. Secrets need real entropy, so this is deliberately not
// the seeded generator node logic uses.
[[nodiscard]] std::string random_bytes(size_t count);
// `bytes` random bytes as unpadded url-safe base64 (43 characters for the default 32).
[[nodiscard]] std::string random_token(size_t bytes = 32);

enum class base64_alphabet : uint8_t {
  standard,  // RFC 4648 §4, with '=' padding (HTTP Basic, stored hashes)
  url,       // RFC 4648 §5, without padding (tokens, safe in URLs and headers)
};

[[nodiscard]] std::string base64_encode(std::string_view bytes,
                                        base64_alphabet alphabet = base64_alphabet::standard);
// Strict: rejects characters outside the alphabet, wrong padding and non-zero trailing bits,
// so one value has exactly one encoding.
[[nodiscard]] std::optional<std::string> base64_decode(
    std::string_view text, base64_alphabet alphabet = base64_alphabet::standard);

// Compares in time independent of where the inputs differ (length is not hidden).
[[nodiscard]] bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace librarian::crypto
