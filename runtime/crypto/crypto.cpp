// OpenSSL-backed implementation of the credential primitives declared in crypto.hpp.
#include "runtime/crypto/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <charconv>

#include "runtime/assert.hpp"

namespace librarian::crypto {
namespace {

constexpr std::string_view scheme_pbkdf2_sha256 = "pbkdf2-sha256";
constexpr std::string_view chars_standard =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view chars_url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
// Salts longer than this in a stored record are treated as corruption, not honoured.
constexpr size_t salt_bytes_max = 64;

const unsigned char* bytes_of(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

std::string pbkdf2_sha256(std::string_view password, std::string_view salt, uint32_t iterations) {
  std::string key(kdf_key_bytes, '\0');
  int ok =
      PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), bytes_of(salt),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                        static_cast<int>(key.size()), reinterpret_cast<unsigned char*>(key.data()));
  // Fails only on allocation failure or invalid parameters, both programmer errors here.
  LIB_ASSERT_MSG(ok == 1, "PKCS5_PBKDF2_HMAC failed");
  return key;
}

struct parsed_hash {
  uint32_t iterations = 0;
  std::string salt;
  std::string key;
};

// Splits "scheme$iter$salt$key"; nullopt on anything unexpected, including out-of-bound counts.
std::optional<parsed_hash> parse_hash(std::string_view encoded) {
  std::array<std::string_view, 4> parts;
  for (size_t i = 0; i < parts.size(); ++i) {
    size_t dollar = encoded.find('$');
    bool last = i + 1 == parts.size();
    if (last != (dollar == std::string_view::npos)) return std::nullopt;
    parts[i] = encoded.substr(0, dollar);
    encoded = last ? std::string_view{} : encoded.substr(dollar + 1);
  }
  if (parts[0] != scheme_pbkdf2_sha256) return std::nullopt;
  parsed_hash out;
  const char* end = parts[1].data() + parts[1].size();
  auto [ptr, ec] = std::from_chars(parts[1].data(), end, out.iterations);
  if (ec != std::errc{} || ptr != end || parts[1].empty() || parts[1][0] == '0')
    return std::nullopt;
  if (out.iterations < 1 || out.iterations > kdf_iterations_max) return std::nullopt;
  auto salt = base64_decode(parts[2]);
  auto key = base64_decode(parts[3]);
  if (!salt || !key || salt->empty() || salt->size() > salt_bytes_max) return std::nullopt;
  if (key->size() != kdf_key_bytes) return std::nullopt;
  out.salt = std::move(*salt);
  out.key = std::move(*key);
  return out;
}

int decode_char(char c, std::string_view alphabet) {
  size_t pos = alphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

}  // namespace

std::string hash_password(std::string_view password, uint32_t iterations) {
  LIB_ASSERT(iterations >= 1 && iterations <= kdf_iterations_max);
  std::string salt = random_bytes(kdf_salt_bytes);
  std::string key = pbkdf2_sha256(password, salt, iterations);
  std::string out{scheme_pbkdf2_sha256};
  out += '$';
  out += std::to_string(iterations);
  out += '$';
  out += base64_encode(salt);
  out += '$';
  out += base64_encode(key);
  return out;
}

bool verify_password(std::string_view password, std::string_view encoded) {
  auto parsed = parse_hash(encoded);
  if (!parsed) return false;
  return constant_time_equal(pbkdf2_sha256(password, parsed->salt, parsed->iterations),
                             parsed->key);
}

std::optional<uint32_t> password_hash_iterations(std::string_view encoded) {
  auto parsed = parse_hash(encoded);
  if (!parsed) return std::nullopt;
  return parsed->iterations;
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  unsigned int size = 0;
  int ok = EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr);
  LIB_ASSERT_MSG(ok == 1 && size == digest.size(), "EVP_Digest(sha256) failed");
  constexpr std::string_view hex = "0123456789abcdef";
  std::string out;
  out.reserve(digest.size() * 2);
  for (unsigned char byte : digest) {
    out += hex[byte >> 4];
    out += hex[byte & 0x0f];
  }
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  unsigned int size = 0;
  auto* result = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), bytes_of(data),
                      data.size(), reinterpret_cast<unsigned char*>(out.data()), &size);
  LIB_ASSERT_MSG(result != nullptr && size == out.size(), "HMAC(sha256) failed");
  return out;
}

std::string random_bytes(size_t count) {
  std::string out(count, '\0');
  if (count == 0) return out;
  // RAND_bytes fails only if the OS entropy source is broken; continuing would hand out
  // predictable salts and tokens, so crash instead.
  int ok = RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count));
  LIB_ASSERT_MSG(ok == 1, "RAND_bytes failed: no entropy source");
  return out;
}

std::string random_token(size_t bytes) {
  return base64_encode(random_bytes(bytes), base64_alphabet::url);
}

std::string base64_encode(std::string_view bytes, base64_alphabet alphabet) {
  std::string_view chars = alphabet == base64_alphabet::url ? chars_url : chars_standard;
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t group = (uint32_t{static_cast<uint8_t>(bytes[i])} << 16) |
                     (uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8) |
                     uint32_t{static_cast<uint8_t>(bytes[i + 2])};
    for (int shift = 18; shift >= 0; shift -= 6) out += chars[(group >> shift) & 0x3f];
  }
  size_t rest = bytes.size() - i;
  if (rest == 0) return out;
  uint32_t group = uint32_t{static_cast<uint8_t>(bytes[i])} << 16;
  if (rest == 2) group |= uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8;
  out += chars[(group >> 18) & 0x3f];
  out += chars[(group >> 12) & 0x3f];
  if (rest == 2) out += chars[(group >> 6) & 0x3f];
  if (alphabet == base64_alphabet::standard) out.append(3 - rest, '=');
  return out;
}

std::optional<std::string> base64_decode(std::string_view text, base64_alphabet alphabet) {
  std::string_view chars = alphabet == base64_alphabet::url ? chars_url : chars_standard;
  if (alphabet == base64_alphabet::standard) {
    if (text.size() % 4 != 0) return std::nullopt;
    size_t padding = 0;
    while (padding < 2 && !text.empty() && text.back() == '=') {
      text.remove_suffix(1);
      ++padding;
    }
  }
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t group = 0;
  int bits = 0;
  for (char c : text) {
    int value = decode_char(c, chars);
    if (value < 0) return std::nullopt;
    group = (group << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((group >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero, otherwise two different texts would decode to the same bytes.
  if ((group & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace librarian::crypto
