// xxh3-128 (libxxhash), md5 (OpenSSL EVP) and adler32 (below, RFC 1950) behind one streaming type.
#include "net/data/checksum.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <vector>

namespace librarian::data {
namespace {

constexpr char hex_chars[] = "0123456789abcdef";

std::string to_hex(const uint8_t* p, size_t n) {
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = hex_chars[p[i] >> 4];
    out[2 * i + 1] = hex_chars[p[i] & 0xf];
  }
  return out;
}

size_t digest_hex_length(checksum_alg alg) {
  switch (alg) {
    case checksum_alg::xxh3:
      return 32;
    case checksum_alg::md5:
      return 32;
    case checksum_alg::adler32:
      return 8;
  }
  return 0;
}

// Adler-32 with the usual deferral of the modulo: 5552 is the largest n for which the sums
// cannot overflow 32 bits before reduction.
struct adler32_state {
  uint32_t a = 1, b = 0;
  void update(const uint8_t* p, size_t n) {
    constexpr uint32_t mod = 65521;
    while (n > 0) {
      size_t chunk = std::min<size_t>(n, 5552);
      n -= chunk;
      for (size_t i = 0; i < chunk; ++i) {
        a += p[i];
        b += a;
      }
      p += chunk;
      a %= mod;
      b %= mod;
    }
  }
};

}  // namespace

struct checksum_stream::impl {
  XXH3_state_t* xxh = nullptr;
  EVP_MD_CTX* md5 = nullptr;
  adler32_state adler;
  bool finished = false;
  ~impl() {
    if (xxh) XXH3_freeState(xxh);
    if (md5) EVP_MD_CTX_free(md5);
  }
};

std::string_view name(checksum_alg alg) {
  switch (alg) {
    case checksum_alg::xxh3:
      return "xxh3";
    case checksum_alg::md5:
      return "md5";
    case checksum_alg::adler32:
      return "adler32";
  }
  return "unknown";
}

expected<checksum_alg> parse_checksum_alg(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "xxh3" || lower == "xxh3-128" || lower == "xxh128") return checksum_alg::xxh3;
  if (lower == "md5") return checksum_alg::md5;
  if (lower == "adler32") return checksum_alg::adler32;
  return fail(errc::invalid_argument,
              "unknown checksum algorithm '" + std::string(text) + "': use xxh3, md5 or adler32");
}

checksum_stream::checksum_stream(checksum_alg alg) : alg_(alg), impl_(std::make_unique<impl>()) {
  switch (alg) {
    case checksum_alg::xxh3:
      impl_->xxh = XXH3_createState();
      LIB_ASSERT(impl_->xxh != nullptr);
      XXH3_128bits_reset(impl_->xxh);
      break;
    case checksum_alg::md5:
      impl_->md5 = EVP_MD_CTX_new();
      LIB_ASSERT(impl_->md5 != nullptr);
      LIB_ASSERT(EVP_DigestInit_ex(impl_->md5, EVP_md5(), nullptr) == 1);
      break;
    case checksum_alg::adler32:
      break;
  }
}

checksum_stream::~checksum_stream() = default;
checksum_stream::checksum_stream(checksum_stream&&) noexcept = default;
checksum_stream& checksum_stream::operator=(checksum_stream&&) noexcept = default;

void checksum_stream::update(std::span<const uint8_t> bytes) {
  LIB_ASSERT_MSG(!impl_->finished, "checksum_stream updated after hex_digest()");
  bytes_ += bytes.size();
  switch (alg_) {
    case checksum_alg::xxh3:
      XXH3_128bits_update(impl_->xxh, bytes.data(), bytes.size());
      break;
    case checksum_alg::md5:
      LIB_ASSERT(EVP_DigestUpdate(impl_->md5, bytes.data(), bytes.size()) == 1);
      break;
    case checksum_alg::adler32:
      impl_->adler.update(bytes.data(), bytes.size());
      break;
  }
}

void checksum_stream::update(std::string_view bytes) {
  update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

std::string checksum_stream::hex_digest() {
  LIB_ASSERT_MSG(!impl_->finished, "hex_digest() called twice");
  impl_->finished = true;
  switch (alg_) {
    case checksum_alg::xxh3: {
      XXH128_canonical_t canon;
      XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(impl_->xxh));
      return to_hex(canon.digest, sizeof canon.digest);
    }
    case checksum_alg::md5: {
      uint8_t out[EVP_MAX_MD_SIZE];
      unsigned len = 0;
      LIB_ASSERT(EVP_DigestFinal_ex(impl_->md5, out, &len) == 1);
      return to_hex(out, len);
    }
    case checksum_alg::adler32: {
      uint32_t v = (impl_->adler.b << 16) | impl_->adler.a;
      uint8_t out[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                        static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
      return to_hex(out, 4);
    }
  }
  return {};
}

std::string format_checksum(checksum_alg alg, std::string_view hex) {
  return std::string(name(alg)) + ":::" + std::string(hex);
}

expected<parsed_checksum> parse_checksum(std::string_view text) {
  auto sep = text.find(":::");
  if (sep == std::string_view::npos)
    return fail(errc::invalid_argument,
                "checksum '" + std::string(text.substr(0, 80)) +
                    "' is not of the form ALG:::HEX (e.g. xxh3:::<32 hex>)");
  auto alg = parse_checksum_alg(text.substr(0, sep));
  if (!alg) return alg.err();
  std::string hex(text.substr(sep + 3));
  if (hex.size() != digest_hex_length(*alg))
    return fail(errc::invalid_argument, "a " + std::string(name(*alg)) + " checksum has " +
                                            std::to_string(digest_hex_length(*alg)) +
                                            " hex digits, got " + std::to_string(hex.size()));
  for (char& c : hex) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      return fail(errc::invalid_argument, "checksum digest has a non-hex character");
  }
  return parsed_checksum{*alg, std::move(hex)};
}

expected<std::string> checksum_file(const std::filesystem::path& path, checksum_alg alg,
                                    uint64_t offset, std::optional<uint64_t> length) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(errno == ENOENT ? errc::not_found : errc::unavailable,
                "cannot open " + path.string() + ": " + std::strerror(errno));
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  checksum_stream sum(alg);
  std::vector<uint8_t> buf(1u << 20);
  uint64_t pos = offset;
  uint64_t left = length.value_or(UINT64_MAX);
  while (left > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
    ssize_t got = ::pread(fd, buf.data(), want, static_cast<off_t>(pos));
    if (got < 0) {
      if (errno == EINTR) continue;
      // An I/O error must fail the checksum, never produce a digest of what happened to be read
      // (gridcf/gct#215).
      int e = errno;
      ::close(fd);
      return fail(errc::unavailable, "read error in " + path.string() + ": " + std::strerror(e));
    }
    if (got == 0) break;
    sum.update(std::span<const uint8_t>(buf.data(), static_cast<size_t>(got)));
    pos += static_cast<uint64_t>(got);
    left -= static_cast<uint64_t>(got);
  }
  ::close(fd);
  if (length && left > 0)
    return fail(errc::invalid_argument, "range " + std::to_string(offset) + "+" +
                                            std::to_string(*length) + " runs past the end of " +
                                            path.string());
  return sum.hex_digest();
}

}  // namespace librarian::data
