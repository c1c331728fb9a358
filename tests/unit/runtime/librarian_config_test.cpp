// The librarian's config keys: stores[] and librarian{} are read strictly, like the rest.
#include <doctest/doctest.h>

#include "runtime/config.hpp"

using namespace librarian;

namespace {

expected<node_config> parse_with(const std::string& extra) {
  return parse_node_config(R"({"name": "a", "data_dir": "/tmp/a", )" + extra + "}", "a.json");
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string problem(const std::string& extra) {
  auto cfg = parse_with(extra);
  REQUIRE_FALSE(cfg.has_value());
  CHECK(cfg.err().code == errc::invalid_argument);
  return cfg.err().message;
}

}  // namespace

TEST_CASE("stores and librarian settings are read with their defaults") {
  auto cfg = parse_with(R"("stores": [
      {"name": "main", "staging_path": "/s", "store_path": "/d", "capacity_bytes": 1000},
      {"name": "drive", "type": "sneakernet", "staging_path": "/s2", "store_path": "/d2",
       "capacity_bytes": 5, "ingestable": false, "enabled": false, "report_full_fraction": 0.5}],
    "librarian": {"upload_bytes_max": 77, "encryption_key_file": "/k",
                  "check_integrity": [{"store": "main", "every_s": 60}]})");
  REQUIRE_MESSAGE(cfg.has_value(), cfg.err().message);
  REQUIRE(cfg->stores.size() == 2);
  CHECK(cfg->stores[0].type == "local");
  CHECK(cfg->stores[0].ingestable);
  CHECK(cfg->stores[0].report_full_fraction == 1.0);
  CHECK(cfg->stores[1].type == "sneakernet");
  CHECK_FALSE(cfg->stores[1].enabled);
  CHECK(cfg->stores[1].report_full_fraction == 0.5);
  CHECK(cfg->librarian.upload_bytes_max == 77);
  CHECK(cfg->librarian.stage_ttl_s == 86400);
  CHECK(cfg->librarian.check_integrity.at(0).every_s == 60);
  CHECK(parse_with(R"("stores": [])")->stores.empty());
}

TEST_CASE("bad stores are explained with the key") {
  const std::string base = R"("staging_path": "/s", "store_path": "/d", "capacity_bytes": 1)";
  CHECK(contains(problem(R"("stores": [{"name": "a b", )" + base + "}]"), "stores[0].name"));
  CHECK(contains(problem(R"("stores": [{"name": "m", "type": "tape", )" + base + "}]"),
                 "\"local\" or \"sneakernet\""));
  CHECK(contains(problem(R"("stores": [{"name": "m", "staging_path": "rel", "store_path": "/d",
                                        "capacity_bytes": 1}])"),
                 "absolute path"));
  CHECK(contains(problem(R"("stores": [{"name": "m", "staging_path": "/a/../b",
                                        "store_path": "/d", "capacity_bytes": 1}])"),
                 "absolute path"));
  CHECK(contains(problem(R"("stores": [{"name": "m", "staging_path": "/d", "store_path": "/d",
                                        "capacity_bytes": 1}])"),
                 "must differ"));
  CHECK(contains(
      problem(R"("stores": [{"name": "m", )" + base + R"(}, {"name": "m", )" + base + "}]"),
      "listed twice"));
  CHECK(contains(problem(R"("stores": [{"name": "m", "staging_path": "/s", "store_path": "/d"}])"),
                 "capacity_bytes"));
  CHECK(contains(problem(R"("stores": [{"name": "m", "colour": "red", )" + base + "}]"), "colour"));
  CHECK(contains(problem(R"("stores": [{"name": "m", "report_full_fraction": 2, )" + base + "}]"),
                 "report_full_fraction"));
}

TEST_CASE("bad librarian settings are explained with the key") {
  CHECK(contains(problem(R"("librarian": {"stage_ttl_s": 0})"), "stage_ttl_s"));
  CHECK(contains(problem(R"("librarian": {"pingtimeout": 5})"), "pingtimeout"));
  CHECK(contains(problem(R"("librarian": {"check_integrity": [{"store": "nope"}]})"),
                 "not in stores"));
  CHECK(contains(problem(R"("librarian": {"check_integrity": [{"every_s": 5}]})"), "store"));
}
