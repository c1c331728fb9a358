// Roles, Authorization header parsing and the verified-password cache.
#include "net/http/auth.hpp"

#include <array>
#include <cctype>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "runtime/assert.hpp"
#include "runtime/crypto/crypto.hpp"

namespace librarian::net::http {
namespace {

constexpr std::array<std::string_view, 6> role_names{"NONE",       "READONLY",  "CALLBACK",
                                                     "READAPPEND", "READWRITE", "ADMIN"};
// Longer Authorization values are rejected before decoding anything.
constexpr size_t authorization_bytes_max = 8192;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// RFC 7235 token68: the only shape a Bearer token may have.
bool is_token68(std::string_view text) {
  size_t i = 0;
  for (; i < text.size(); ++i) {
    char c = text[i];
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
              c == '~' || c == '+' || c == '/';
    if (!ok) break;
  }
  if (i == 0) return false;
  for (; i < text.size(); ++i)
    if (text[i] != '=') return false;
  return true;
}

bool has_control_char(std::string_view text) {
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return true;
  }
  return false;
}

credentials parse_basic(std::string_view encoded) {
  auto decoded = crypto::base64_decode(encoded);
  if (!decoded) return malformed_credentials{"Basic credentials are not valid base64"};
  size_t colon = decoded->find(':');
  if (colon == std::string::npos) return malformed_credentials{"Basic credentials lack a ':'"};
  basic_credentials out{decoded->substr(0, colon), decoded->substr(colon + 1)};
  if (out.user.empty()) return malformed_credentials{"Basic credentials have an empty user"};
  if (has_control_char(out.user))
    return malformed_credentials{"Basic credentials have control characters in the user"};
  return out;
}

}  // namespace

std::string_view name(role r) {
  auto index = static_cast<size_t>(r);
  LIB_ASSERT(index < role_names.size());
  return role_names[index];
}

std::optional<role> role_from_name(std::string_view text) {
  for (size_t i = 0; i < role_names.size(); ++i)
    if (iequals(text, role_names[i])) return static_cast<role>(i);
  return std::nullopt;
}

bool allows(role have, role need) {
  return static_cast<uint8_t>(have) >= static_cast<uint8_t>(need);
}

credentials parse_authorization(std::string_view header_value) {
  if (header_value.size() > authorization_bytes_max)
    return malformed_credentials{"Authorization header is too long"};
  std::string_view text = trim(header_value);
  if (text.empty()) return no_credentials{};
  size_t space = text.find(' ');
  if (space == std::string_view::npos)
    return malformed_credentials{"Authorization header has a scheme but no credentials"};
  std::string_view scheme = text.substr(0, space);
  std::string_view value = trim(text.substr(space + 1));
  if (value.empty() || value.find_first_of(" \t") != std::string_view::npos)
    return malformed_credentials{"Authorization credentials must be one token"};
  if (iequals(scheme, "basic")) return parse_basic(value);
  if (iequals(scheme, "bearer")) {
    if (!is_token68(value)) return malformed_credentials{"Bearer token has invalid characters"};
    return bearer_credentials{std::string{value}};
  }
  return malformed_credentials{"unsupported Authorization scheme; use Basic or Bearer"};
}

struct prepared_hmac::states {
  EVP_MD_CTX* inner = nullptr;  // SHA-256 after absorbing key ^ ipad
  EVP_MD_CTX* outer = nullptr;  // SHA-256 after absorbing key ^ opad
};

prepared_hmac::prepared_hmac(std::string_view key) : states_(std::make_unique<states>()) {
  constexpr size_t block = 64;
  LIB_ASSERT(key.size() <= block);
  std::array<unsigned char, block> ipad{}, opad{};
  for (size_t i = 0; i < block; ++i) {
    auto k = i < key.size() ? static_cast<unsigned char>(key[i]) : uint8_t{0};
    ipad[i] = static_cast<unsigned char>(k ^ 0x36);
    opad[i] = static_cast<unsigned char>(k ^ 0x5c);
  }
  states_->inner = EVP_MD_CTX_new();
  states_->outer = EVP_MD_CTX_new();
  bool ok = states_->inner != nullptr && states_->outer != nullptr &&
            EVP_DigestInit_ex(states_->inner, EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(states_->inner, ipad.data(), block) == 1 &&
            EVP_DigestInit_ex(states_->outer, EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(states_->outer, opad.data(), block) == 1;
  OPENSSL_cleanse(ipad.data(), block);
  OPENSSL_cleanse(opad.data(), block);
  LIB_ASSERT_MSG(ok, "SHA-256 is not available from OpenSSL");
}

prepared_hmac::~prepared_hmac() {
  EVP_MD_CTX_free(states_->inner);
  EVP_MD_CTX_free(states_->outer);
}

std::string prepared_hmac::mac(std::string_view data) const {
  struct ctx_deleter {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  thread_local std::unique_ptr<EVP_MD_CTX, ctx_deleter> scratch{EVP_MD_CTX_new()};
  std::array<unsigned char, EVP_MAX_MD_SIZE> inner_hash{};
  std::string out(32, '\0');
  unsigned int inner_size = 0, outer_size = 0;
  auto* c = scratch.get();
  bool ok = c != nullptr && EVP_MD_CTX_copy_ex(c, states_->inner) == 1 &&
            EVP_DigestUpdate(c, data.data(), data.size()) == 1 &&
            EVP_DigestFinal_ex(c, inner_hash.data(), &inner_size) == 1 &&
            EVP_MD_CTX_copy_ex(c, states_->outer) == 1 &&
            EVP_DigestUpdate(c, inner_hash.data(), inner_size) == 1 &&
            EVP_DigestFinal_ex(c, reinterpret_cast<unsigned char*>(out.data()), &outer_size) == 1;
  LIB_ASSERT_MSG(ok && inner_size == 32 && outer_size == 32, "HMAC-SHA256 failed");
  return out;
}

verified_cache::verified_cache(size_t entries_max, std::chrono::seconds ttl)
    : keyed_(crypto::random_bytes(32)), entries_max_(entries_max), ttl_(ttl) {
  LIB_ASSERT(entries_max_ >= 1);
}

std::string verified_cache::key_of(std::string_view user, std::string_view password) const {
  std::string material{user};
  material += '\0';  // "ab"+"c" and "a"+"bc" must not collide
  material += password;
  return keyed_.mac(material);
}

bool verified_cache::contains(std::string_view user, std::string_view password,
                              std::string_view stored_hash, clock::time_point now) const {
  std::string key = key_of(user, password);
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.expires <= now) return false;
  return it->second.user == user &&
         crypto::constant_time_equal(it->second.stored_hash, stored_hash);
}

void verified_cache::remember(std::string_view user, std::string_view password,
                              std::string_view stored_hash, clock::time_point now) {
  std::string key = key_of(user, password);
  std::lock_guard lock(mutex_);
  if (entries_.size() >= entries_max_ && !entries_.contains(key)) evict_locked(now);
  entries_[key] = entry{std::string{user}, std::string{stored_hash}, now + ttl_};
}

bool verified_cache::verify(std::string_view user, std::string_view password,
                            std::string_view stored_hash, clock::time_point now) {
  if (contains(user, password, stored_hash, now)) return true;
  // The KDF runs outside the lock so concurrent logins do not serialize on it.
  if (!crypto::verify_password(password, stored_hash)) return false;
  remember(user, password, stored_hash, now);
  return true;
}

void verified_cache::evict_locked(clock::time_point now) {
  std::erase_if(entries_, [now](const auto& item) { return item.second.expires <= now; });
  if (entries_.size() < entries_max_) return;
  // Still full of live entries: drop the one closest to expiry (bounded scan of entries_max_).
  auto oldest = entries_.begin();
  for (auto it = entries_.begin(); it != entries_.end(); ++it)
    if (it->second.expires < oldest->second.expires) oldest = it;
  entries_.erase(oldest);
}

void verified_cache::forget_user(std::string_view user) {
  std::lock_guard lock(mutex_);
  std::erase_if(entries_, [user](const auto& item) { return item.second.user == user; });
}

void verified_cache::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
}

size_t verified_cache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace librarian::net::http
