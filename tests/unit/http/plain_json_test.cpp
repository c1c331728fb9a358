// The plain bulk-body readers: what they accept means the same as nlohmann's parse, and anything
// outside the plain shape is left to nlohmann.
#include <doctest/doctest.h>

#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "net/http/plain_json.hpp"

using namespace librarian::net::http;
using pairs = std::vector<std::pair<std::string, std::string>>;
using strings = std::vector<std::string>;

namespace {

// What a route reading the body with nlohmann takes from it, when the body has the plain shape.
std::optional<pairs> by_nlohmann(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.size() != 1 || !j.contains("m") || !j["m"].is_array())
    return std::nullopt;
  pairs out;
  for (const auto& item : j["m"]) {
    if (!item.is_object() || item.size() != 2 || !item.contains("lfn") || !item.contains("pfn") ||
        !item["lfn"].is_string() || !item["pfn"].is_string())
      return std::nullopt;
    out.emplace_back(item["lfn"].get<std::string>(), item["pfn"].get<std::string>());
  }
  return out;
}

}  // namespace

TEST_CASE("plain_pair_array reads the plain shape, fields in either order, blanks anywhere") {
  auto r = plain_pair_array(R"({"m":[{"lfn":"a","pfn":"x"}, { "pfn" : "y" ,"lfn":"b" }]})", "m",
                            "lfn", "pfn", 10);
  REQUIRE(r);
  CHECK(*r == pairs{{"a", "x"}, {"b", "y"}});
  CHECK(plain_pair_array(" \n{ \"m\" :\t[ ] }\r\n", "m", "lfn", "pfn", 10) == pairs{});
  auto spaces = plain_pair_array(R"({"m":[{"lfn":"a b/c?*","pfn":""}]})", "m", "lfn", "pfn", 10);
  REQUIRE(spaces);
  CHECK(*spaces == pairs{{"a b/c?*", ""}});
}

TEST_CASE("plain_pair_array leaves every other body to the full parser") {
  for (const char* body : {
           "", "[]",
           R"({"m":[{"lfn":"a","pfn":"x"}]} x)",                 // trailing bytes
           R"({"m":[{"lfn":"a","pfn":"x"},]})",                  // trailing comma
           R"({"m":[{"lfn":"a","pfn":"x"}])",                    // cut short
           R"({"m":[{"lfn":"a"}]})",                             // a field missing
           R"({"m":[{"lfn":"a","pfn":"x","size":1}]})",          // another field
           R"({"m":[{"lfn":"a","lfn":"x"}]})",                   // a duplicate field
           R"({"m":[{"lfn":"a\"b","pfn":"x"}]})",                // an escape
           R"({"m":[{"lfn":"a\u0041","pfn":"x"}]})",             // a unicode escape
           "{\"m\":[{\"lfn\":\"caf\xc3\xa9\",\"pfn\":\"x\"}]}",  // non-ASCII
           "{\"m\":[{\"lfn\":\"a\tb\",\"pfn\":\"x\"}]}",         // a raw control byte
           R"({"m":[{"lfn":1,"pfn":"x"}]})",                     // a number
           R"({"m":["a"]})",                                     // not an object
           R"({"m":[{"lfn":"a","pfn":"x"}],"reslimit":3})",      // another top-level field
           R"({"other":[]})",                                    // another array name
       }) {
    CAPTURE(body);
    CHECK_FALSE(plain_pair_array(body, "m", "lfn", "pfn", 10));
  }
  // More items than allowed: the full parser words the error.
  CHECK_FALSE(plain_pair_array(R"({"m":[{"lfn":"a","pfn":"x"},{"lfn":"b","pfn":"y"}]})", "m", "lfn",
                               "pfn", 1));
}

TEST_CASE("plain_string_array reads names and nothing else") {
  CHECK(plain_string_array(R"({"lfns":["a", "b c"]})", "lfns", 10) == strings{"a", "b c"});
  CHECK(plain_string_array(R"({"lfns":[]})", "lfns", 10) == strings{});
  CHECK_FALSE(plain_string_array(R"({"lfns":["a",1]})", "lfns", 10));
  CHECK_FALSE(plain_string_array(R"({"lfns":["a\n"]})", "lfns", 10));
  CHECK_FALSE(plain_string_array(R"({"lfns":["a"],"reslimit":1})", "lfns", 10));
  CHECK_FALSE(plain_string_array(R"({"lfns":["a","b"]})", "lfns", 1));
}

TEST_CASE("whatever the plain reader accepts, nlohmann reads the same way") {
  // Random bodies near the plain shape: pieces drawn from valid and invalid fragments.
  std::mt19937 rng{20261123};
  const std::vector<std::string> names = {
      "\"a\"", "\"lfn://x/y\"", "\"\"", "\"a\\\"b\"", "\"\xc3\xa9\"", "1", "null", "\"p q\""};
  const std::vector<std::string> blanks = {"", " ", "\n", "\t ", "x"};
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  int accepted = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string body = pick(blanks) + "{" + pick(blanks) + "\"m\":[";
    int items = static_cast<int>(rng() % 4);
    for (int i = 0; i < items; ++i) {
      if (i) body += rng() % 20 ? "," : ",,";
      bool swap = rng() % 2;
      std::string first = swap ? "\"pfn\"" : "\"lfn\"", second = swap ? "\"lfn\"" : "\"pfn\"";
      if (rng() % 15 == 0) second = first;
      body += "{" + pick(blanks) + first + ":" + pick(names) + "," + second + pick(blanks) + ":" +
              pick(names) + (rng() % 15 == 0 ? ",\"z\":\"1\"" : "") + "}";
    }
    body += "]" + pick(blanks) + "}" + (rng() % 10 == 0 ? pick(blanks) : "");
    auto plain = plain_pair_array(body, "m", "lfn", "pfn", 10);
    if (!plain) continue;
    ++accepted;
    CAPTURE(body);
    auto full = by_nlohmann(body);
    REQUIRE(full);
    CHECK(*plain == *full);
  }
  CHECK(accepted > 100);  // the generator does reach the plain shape
}
