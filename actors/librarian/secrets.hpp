// Peer credentials at rest: AES-256-GCM with a 32-byte key from the node config
// (librarian.encryption_key_file), a fresh 12-byte nonce per seal, and the peer's name as
// associated data, so a sealed value copied onto another peer's row does not open.
#pragma once

#include <string>
#include <string_view>

#include "runtime/expected.hpp"

namespace librarian::lib {

inline constexpr size_t sealing_key_bytes = 32;

// nonce (12) || ciphertext || tag (16). key must be sealing_key_bytes long (asserted).
[[nodiscard]] std::string seal(std::string_view key, std::string_view plaintext,
                               std::string_view associated);
// errc::internal when the value was tampered with, sealed under another key or for another name.
[[nodiscard]] expected<std::string> unseal(std::string_view key, std::string_view sealed,
                                           std::string_view associated);

// Reads a key file: the base64 (standard alphabet) of exactly 32 bytes, surrounding whitespace
// ignored. Errors name the file.
[[nodiscard]] expected<std::string> load_sealing_key(const std::string& path);

}  // namespace librarian::lib
