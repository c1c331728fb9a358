#include "actors/librarian/secrets.hpp"

#include <openssl/evp.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "runtime/crypto/crypto.hpp"

namespace librarian::lib {
namespace {

constexpr int nonce_bytes = 12;
constexpr int tag_bytes = 16;

struct ctx_deleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, ctx_deleter>;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* bytes(std::string& s) {
  return reinterpret_cast<unsigned char*>(s.data());
}

}  // namespace

std::string seal(std::string_view key, std::string_view plaintext, std::string_view associated) {
  LIB_ASSERT(key.size() == sealing_key_bytes);
  auto nonce = crypto::random_bytes(nonce_bytes);
  cipher_ctx ctx{EVP_CIPHER_CTX_new()};
  LIB_ASSERT(ctx != nullptr);
  std::string out = nonce;
  out.resize(nonce_bytes + plaintext.size() + tag_bytes);
  int len = 0;
  bool ok = EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key), bytes(nonce)) &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(associated),
                              static_cast<int>(associated.size())) &&
            EVP_EncryptUpdate(ctx.get(), bytes(out) + nonce_bytes, &len, bytes(plaintext),
                              static_cast<int>(plaintext.size())) &&
            EVP_EncryptFinal_ex(ctx.get(), bytes(out) + nonce_bytes + len, &len) &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, tag_bytes,
                                bytes(out) + nonce_bytes + plaintext.size());
  LIB_ASSERT_MSG(ok, "AES-256-GCM encryption failed");
  return out;
}

expected<std::string> unseal(std::string_view key, std::string_view sealed,
                             std::string_view associated) {
  if (key.size() != sealing_key_bytes) return fail(errc::internal, "sealing key has a wrong size");
  if (sealed.size() < static_cast<size_t>(nonce_bytes + tag_bytes))
    return fail(errc::internal, "sealed credentials are truncated");
  auto nonce = sealed.substr(0, nonce_bytes);
  auto body = sealed.substr(nonce_bytes, sealed.size() - nonce_bytes - tag_bytes);
  std::string tag{sealed.substr(sealed.size() - tag_bytes)};
  cipher_ctx ctx{EVP_CIPHER_CTX_new()};
  LIB_ASSERT(ctx != nullptr);
  std::string out(body.size(), '\0');
  int len = 0;
  bool ok =
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key), bytes(nonce)) &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(associated),
                        static_cast<int>(associated.size())) &&
      EVP_DecryptUpdate(ctx.get(), bytes(out), &len, bytes(body), static_cast<int>(body.size())) &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, tag_bytes, bytes(tag)) &&
      EVP_DecryptFinal_ex(ctx.get(), bytes(out) + len, &len) > 0;
  if (!ok)
    return fail(errc::internal,
                "stored peer credentials do not decrypt: the encryption key changed or the row "
                "was tampered with; re-add the librarian");
  return out;
}

expected<std::string> load_sealing_key(const std::string& path) {
  std::ifstream in{path};
  if (!in) return fail(errc::invalid_argument, "cannot read the encryption key file " + path);
  std::stringstream text;
  text << in.rdbuf();
  auto s = text.str();
  auto first = s.find_first_not_of(" \t\r\n");
  auto last = s.find_last_not_of(" \t\r\n");
  if (first == std::string::npos) return fail(errc::invalid_argument, path + " is empty");
  auto key = crypto::base64_decode(s.substr(first, last - first + 1));
  if (!key || key->size() != sealing_key_bytes)
    return fail(errc::invalid_argument,
                path +
                    " must hold the base64 of exactly 32 random bytes (e.g. `openssl rand "
                    "-base64 32 > " +
                    path + "`)");
  return *key;
}

}  // namespace librarian::lib
