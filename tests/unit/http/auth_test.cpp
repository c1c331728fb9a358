// Roles, Authorization header parsing and the verified-password cache.
#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "net/http/auth.hpp"
#include "runtime/crypto/crypto.hpp"

using namespace librarian::net::http;
namespace crypto = librarian::crypto;

TEST_CASE("roles are ordered as the reference librarian's AuthLevel") {
  CHECK(allows(role::admin, role::readwrite));
  CHECK(allows(role::readwrite, role::readappend));
  CHECK(allows(role::readappend, role::callback));
  CHECK(allows(role::callback, role::readonly));
  CHECK(allows(role::readonly, role::none));
  CHECK(allows(role::readonly, role::readonly));
  CHECK_FALSE(allows(role::readonly, role::callback));
  CHECK_FALSE(allows(role::readwrite, role::admin));
  CHECK_FALSE(allows(role::none, role::readonly));
}

TEST_CASE("role names round-trip, case-insensitively") {
  for (auto r :
       {role::none, role::readonly, role::callback, role::readappend, role::readwrite, role::admin})
    CHECK(role_from_name(name(r)) == r);
  CHECK(name(role::readappend) == "READAPPEND");
  CHECK(role_from_name("admin") == role::admin);
  CHECK(role_from_name("ReadOnly") == role::readonly);
  CHECK_FALSE(role_from_name("root").has_value());
  CHECK_FALSE(role_from_name("").has_value());
}

TEST_CASE("Authorization headers parse to basic, bearer, none or malformed") {
  CHECK(parse_authorization("") == credentials{no_credentials{}});
  CHECK(parse_authorization("   ") == credentials{no_credentials{}});
  auto basic = "Basic " + crypto::base64_encode("alice:s3cret:with:colons");
  CHECK(parse_authorization(basic) ==
        credentials{basic_credentials{"alice", "s3cret:with:colons"}});
  CHECK(parse_authorization("basic " + crypto::base64_encode("bob:")) ==
        credentials{basic_credentials{"bob", ""}});
  CHECK(parse_authorization("Bearer abc-DEF_123.~+/==") ==
        credentials{bearer_credentials{"abc-DEF_123.~+/=="}});
  CHECK(parse_authorization("BEARER tok") == credentials{bearer_credentials{"tok"}});
  for (std::string bad : {
           std::string{"Basic"},
           std::string{"Basic !!!"},
           "Basic " + crypto::base64_encode("nocolon"),
           "Basic " + crypto::base64_encode(":password"),
           "Basic " + crypto::base64_encode("ev\nil:pw"),
           std::string{"Bearer a b"},
           std::string{"Bearer =abc"},
           std::string{"Bearer a=b"},
           std::string{"Digest username=x"},
           std::string(9000, 'a'),
       }) {
    CAPTURE(bad);
    CHECK(std::holds_alternative<malformed_credentials>(parse_authorization(bad)));
  }
}

TEST_CASE("the verified cache skips the KDF only for the same password and stored hash") {
  verified_cache cache(8, std::chrono::seconds{60});
  auto now = verified_cache::clock::time_point{} + std::chrono::hours{1};
  auto stored = crypto::hash_password("pw", 1000);
  CHECK_FALSE(cache.contains("alice", "pw", stored, now));
  CHECK(cache.verify("alice", "pw", stored, now));
  CHECK(cache.contains("alice", "pw", stored, now));
  CHECK_FALSE(cache.contains("alice", "wrong", stored, now));
  CHECK_FALSE(cache.verify("alice", "wrong", stored, now));
  CHECK(cache.size() == 1);  // failures are not remembered
  // The stored hash changed (password reset): the old entry no longer counts.
  auto restored = crypto::hash_password("pw", 1000);
  CHECK_FALSE(cache.contains("alice", "pw", restored, now));
  // Another user with the same password is a different key.
  CHECK_FALSE(cache.contains("bob", "pw", stored, now));
  // Entries expire.
  CHECK_FALSE(cache.contains("alice", "pw", stored, now + std::chrono::seconds{61}));
  cache.forget_user("alice");
  CHECK_FALSE(cache.contains("alice", "pw", stored, now));
}

TEST_CASE("the verified cache stays within its bound") {
  verified_cache cache(4, std::chrono::seconds{60});
  auto now = verified_cache::clock::time_point{} + std::chrono::hours{1};
  for (int i = 0; i < 20; ++i)
    cache.remember("user" + std::to_string(i), "pw", "hash", now + std::chrono::milliseconds{i});
  CHECK(cache.size() == 4);
  // The most recent survive; the oldest were evicted.
  CHECK(cache.contains("user19", "pw", "hash", now + std::chrono::seconds{1}));
  CHECK_FALSE(cache.contains("user0", "pw", "hash", now + std::chrono::seconds{1}));
  cache.clear();
  CHECK(cache.size() == 0);
}

TEST_CASE("the verified cache is safe under concurrent use") {
  verified_cache cache(16, std::chrono::seconds{60});
  auto stored = crypto::hash_password("pw", 100);
  auto now = verified_cache::clock::now();
  std::vector<std::thread> threads;
  std::atomic<int> accepted{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (cache.verify("u" + std::to_string((t + i) % 8), "pw", stored, now)) accepted++;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(accepted == 200);
  CHECK(cache.size() <= 16);
}

TEST_CASE("prepared_hmac equals the one-shot HMAC-SHA256, on every thread") {
  using librarian::net::http::prepared_hmac;
  for (std::string key :
       {std::string{}, std::string{"k"}, std::string(32, '\x7f'), std::string(64, 'a')}) {
    prepared_hmac keyed{key};
    for (std::string data : {std::string{}, std::string{"alice\0pw", 8}, std::string(1000, 'x')})
      CHECK(keyed.mac(data) == librarian::crypto::hmac_sha256(key, data));
    std::string from_thread;
    std::thread t{[&] { from_thread = keyed.mac("abc"); }};
    t.join();
    CHECK(from_thread == librarian::crypto::hmac_sha256(key, "abc"));
  }
}
