// Password hashing, tokens and base64 in runtime/crypto.
#include <doctest/doctest.h>

#include "runtime/crypto/crypto.hpp"

namespace crypto = librarian::crypto;

namespace {
// Real deployments use kdf_iterations_default; tests stay fast with a tiny count.
constexpr uint32_t test_iterations = 1000;
}  // namespace

TEST_CASE("a hashed password verifies and a wrong one does not") {
  std::string encoded = crypto::hash_password("correct horse", test_iterations);
  CHECK(encoded.starts_with("pbkdf2-sha256$1000$"));
  CHECK(crypto::verify_password("correct horse", encoded));
  CHECK_FALSE(crypto::verify_password("correct horsf", encoded));
  CHECK_FALSE(crypto::verify_password("", encoded));
  CHECK(crypto::password_hash_iterations(encoded) == test_iterations);
}

TEST_CASE("the same password hashes differently each time (random salt)") {
  auto a = crypto::hash_password("pw", test_iterations);
  auto b = crypto::hash_password("pw", test_iterations);
  CHECK(a != b);
  CHECK(crypto::verify_password("pw", a));
  CHECK(crypto::verify_password("pw", b));
}

TEST_CASE("malformed password encodings are rejected, never trusted") {
  auto good = crypto::hash_password("pw", test_iterations);
  auto key_start = good.rfind('$') + 1;
  for (std::string bad : {
           std::string{""}, std::string{"pw"}, std::string{"pbkdf2-sha256$1000$"},
           std::string{"pbkdf2-sha256$1000$c2FsdA==$"},
           "argon2$1000$" + good.substr(good.find('$', 14) + 1),
           "pbkdf2-sha256$01000$" + good.substr(good.find('$', 14) + 1),
           "pbkdf2-sha256$-1$" + good.substr(good.find('$', 14) + 1),
           "pbkdf2-sha256$0$" + good.substr(good.find('$', 14) + 1),
           "pbkdf2-sha256$1000x$" + good.substr(good.find('$', 14) + 1), good + "$extra",
           good.substr(0, good.size() - 4),     // truncated key
           good.substr(0, key_start) + "!!!!",  // key not base64
       }) {
    CAPTURE(bad);
    CHECK_FALSE(crypto::verify_password("pw", bad));
    CHECK_FALSE(crypto::password_hash_iterations(bad).has_value());
  }
}

TEST_CASE("a tampered hash or salt fails verification") {
  auto good = crypto::hash_password("pw", test_iterations);
  auto key_start = good.rfind('$') + 1;
  std::string tampered_key = good;
  tampered_key[key_start] = tampered_key[key_start] == 'A' ? 'B' : 'A';
  CHECK_FALSE(crypto::verify_password("pw", tampered_key));
  auto salt_start = good.find('$', 14) + 1;
  std::string tampered_salt = good;
  tampered_salt[salt_start] = tampered_salt[salt_start] == 'A' ? 'B' : 'A';
  CHECK_FALSE(crypto::verify_password("pw", tampered_salt));
}

TEST_CASE("a record naming too many iterations is refused without running the KDF") {
  auto good = crypto::hash_password("pw", test_iterations);
  auto rest = good.substr(good.find('$', 14));
  auto huge = "pbkdf2-sha256$" + std::to_string(crypto::kdf_iterations_max + 1) + rest;
  CHECK_FALSE(crypto::verify_password("pw", huge));
  auto overflow = "pbkdf2-sha256$99999999999999999999" + rest;
  CHECK_FALSE(crypto::verify_password("pw", overflow));
}

TEST_CASE("base64 round-trips and decodes strictly") {
  for (std::string data : {std::string{""}, std::string{"f"}, std::string{"fo"}, std::string{"foo"},
                           std::string{"foob"}, std::string{"\xff\x00\xfe", 3}}) {
    CAPTURE(data);
    CHECK(crypto::base64_decode(crypto::base64_encode(data)) == data);
    auto url = crypto::base64_encode(data, crypto::base64_alphabet::url);
    CHECK(url.find('=') == std::string::npos);
    CHECK(crypto::base64_decode(url, crypto::base64_alphabet::url) == data);
  }
  CHECK(crypto::base64_encode("foobar") == "Zm9vYmFy");
  CHECK(crypto::base64_encode("fo") == "Zm8=");
  CHECK(crypto::base64_encode("\xfb\xff", crypto::base64_alphabet::url) == "-_8");
  CHECK(crypto::base64_encode("\xfb\xff") == "+/8=");
  CHECK_FALSE(crypto::base64_decode("Zm8").has_value());   // missing padding
  CHECK_FALSE(crypto::base64_decode("Zm9=").has_value());  // non-zero trailing bits
  CHECK_FALSE(crypto::base64_decode("Zm8=Zm8=").has_value());
  CHECK_FALSE(crypto::base64_decode("Zm 8=").has_value());
  CHECK_FALSE(crypto::base64_decode("-_8=").has_value());  // url alphabet in standard
  CHECK_FALSE(crypto::base64_decode("Z", crypto::base64_alphabet::url).has_value());
}

TEST_CASE("tokens are url-safe, distinct and of the requested strength") {
  auto a = crypto::random_token();
  auto b = crypto::random_token();
  CHECK(a != b);
  CHECK(a.size() == 43);
  CHECK(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
        std::string::npos);
  CHECK(crypto::base64_decode(a, crypto::base64_alphabet::url)->size() == 32);
}

TEST_CASE("sha256 and constant-time comparison") {
  CHECK(crypto::sha256_hex("") ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(crypto::sha256_hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(crypto::constant_time_equal("abc", "abc"));
  CHECK_FALSE(crypto::constant_time_equal("abc", "abd"));
  CHECK_FALSE(crypto::constant_time_equal("abc", "abcd"));
  CHECK(crypto::constant_time_equal("", ""));
}
