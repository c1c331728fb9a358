// Node configuration: every mistake is an error naming the key and the file.
#include <doctest/doctest.h>

#include "runtime/config.hpp"

using namespace librarian;

namespace {

std::string error_of(const std::string& json) {
  auto cfg = parse_node_config(json, "node.json");
  REQUIRE_FALSE(cfg.has_value());
  CHECK(cfg.err().code == errc::invalid_argument);
  return cfg.err().message;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a minimal config takes every documented default") {
  auto cfg = parse_node_config(R"({"name": "a", "data_dir": "/tmp/a"})", "a.json");
  REQUIRE(cfg.has_value());
  CHECK(cfg->name == "a");
  CHECK(cfg->listen.host == "127.0.0.1");
  CHECK(cfg->listen.cluster_port == 7100);
  CHECK(cfg->listen.http_port == 7180);
  CHECK(cfg->cluster.heartbeat_interval_ms == 1000);
  CHECK(cfg->cluster.connection_timeout_ms == 5000);
  CHECK(cfg->http.body_max_bytes == 1u << 20);
  CHECK_FALSE(cfg->actors.work_stealing);
  CHECK(cfg->actors.threads == 0);
  CHECK(cfg->auth.kdf_iterations == 210000);
  CHECK_FALSE(cfg->auth.bootstrap_admin.has_value());
  CHECK_FALSE(cfg->seed.has_value());
  CHECK(cfg->peers.empty());
}

TEST_CASE("a full config is read") {
  auto cfg = parse_node_config(R"({
    "name": "b", "data_dir": "d", "log_level": "debug", "seed": 42,
    "listen": {"host": "::1", "cluster_port": 1, "http_port": 0, "data_port": 3},
    "peers": [{"name": "a", "host": "h", "cluster_port": 9}],
    "cluster": {"heartbeat_interval_ms": 100, "connection_timeout_ms": 500},
    "http": {"threads": 4, "body_max_bytes": 4096},
    "actors": {"scheduler": "stealing", "threads": 3},
    "auth": {"bootstrap_admin": {"name": "root", "password": "pw-pw-pw-pw"}, "kdf_iterations": 5000},
    "supervisor": {"restart_backoff_min_ms": 5}
  })",
                               "b.json");
  REQUIRE(cfg.has_value());
  CHECK(cfg->seed == 42u);
  CHECK(cfg->listen.http_port == 0);
  CHECK(cfg->peers.at(0).cluster_port == 9);
  CHECK(cfg->auth.bootstrap_admin->password == "pw-pw-pw-pw");
  CHECK(cfg->supervisor.restart_backoff_min_ms == 5);
  CHECK(cfg->actors.work_stealing);
  CHECK(cfg->actors.threads == 3u);
}

TEST_CASE("unknown keys are named with their path and the file") {
  auto text = error_of(R"({"name": "a", "data_dir": "d", "listen": {"htp_port": 1}})");
  CHECK(contains(text, "node.json"));
  CHECK(contains(text, "listen.htp_port"));
  CHECK(contains(text, "unknown key"));
  CHECK(contains(error_of(R"({"name": "a", "data_dir": "d", "colour": 1})"), "'colour'"));
}

TEST_CASE("wrong types, missing keys and bad values are explained") {
  CHECK(contains(error_of(R"({"data_dir": "d"})"), "'name': is required"));
  CHECK(contains(error_of(R"({"name": 3, "data_dir": "d"})"), "expected a string, got an integer"));
  CHECK(contains(error_of(R"({"name": "a", "data_dir": "d", "listen": {"cluster_port": "80"}})"),
                 "listen.cluster_port': expected an integer, got a string"));
  CHECK(contains(error_of(R"({"name": "a", "data_dir": "d", "listen": {"cluster_port": 70000}})"),
                 "must be between 1 and 65535"));
  CHECK(contains(error_of(R"({"name": "a b", "data_dir": "d"})"), "must match"));
  CHECK(contains(error_of(R"({"name": "a", "data_dir": "d", "log_level": "loud"})"), "log_level"));
  CHECK(contains(
      error_of(
          R"({"name": "a", "data_dir": "d", "peers": [{"name": "a", "host": "h", "cluster_port": 1}]})"),
      "cannot list itself"));
  CHECK(contains(
      error_of(
          R"({"name": "a", "data_dir": "d", "peers": [{"name": "b", "host": "h", "cluster_port": 1}, {"name": "b", "host": "h", "cluster_port": 2}]})"),
      "listed twice"));
  CHECK(contains(
      error_of(
          R"({"name": "a", "data_dir": "d", "cluster": {"heartbeat_interval_ms": 500, "connection_timeout_ms": 400}})"),
      "larger than heartbeat_interval_ms"));
  CHECK(contains(
      error_of(R"({"name": "a", "data_dir": "d", "auth": {"bootstrap_admin": {"name": "x"}}})"),
      "exactly one of password or password_env"));
  CHECK(contains(error_of("[1, 2]"), "must be a JSON object"));
  CHECK(contains(error_of("{\"name\": "), "not valid JSON"));
}

TEST_CASE("the actors section names a CAF scheduler policy") {
  CHECK(contains(error_of(R"({"name": "a", "data_dir": "d", "actors": {"scheduler": "fifo"}})"),
                 "actors.scheduler': must be \"sharing\" or \"stealing\", got \"fifo\""));
  CHECK(contains(error_of(R"({"name": "a", "data_dir": "d", "actors": {"threads": 1000}})"),
                 "actors.threads"));
}

TEST_CASE("every problem of a config is reported at once") {
  auto text = error_of(R"({"data_dir": 5, "listen": {"cluster_port": 0}})");
  CHECK(contains(text, "'name'"));
  CHECK(contains(text, "'data_dir'"));
  CHECK(contains(text, "listen.cluster_port"));
}

TEST_CASE("ports, peers and the bootstrap password are checked against each other") {
  CHECK(contains(
      error_of(
          R"({"name": "a", "data_dir": "d", "listen": {"cluster_port": 7000, "http_port": 7000}})"),
      "listen.http_port': must differ from cluster_port"));
  CHECK(contains(
      error_of(
          R"({"name": "a", "data_dir": "d", "listen": {"cluster_port": 7000, "http_port": 7001, "data_port": 7001}})"),
      "listen.data_port"));
  CHECK(contains(
      error_of(
          R"({"name": "a", "data_dir": "d", "listen": {"cluster_port": 7000}, "peers": [{"name": "b", "host": "127.0.0.1", "cluster_port": 7000}]})"),
      "own address"));
  CHECK(contains(
      error_of(
          R"({"name": "a", "data_dir": "d", "auth": {"bootstrap_admin": {"name": "x", "password": "short"}}})"),
      "auth.bootstrap_admin.password': must have 8 to 1024 characters"));
  auto disabled = parse_node_config(
      R"({"name": "a", "data_dir": "d", "listen": {"http_port": 0, "data_port": 0}})", "a.json");
  CHECK(disabled.has_value());
}

TEST_CASE("the rls section names RLIs among this node and its peers") {
  auto cfg = parse_node_config(R"({"name": "a", "data_dir": "d",
    "peers": [{"name": "c", "host": "h", "cluster_port": 9}],
    "rls": {"rli": true, "update_rlis": [{"name": "c", "interval_ms": 5000, "patterns": ["lfn://obs/*"]},
                                          {"name": "a"}]}})",
                               "a.json");
  REQUIRE(cfg.has_value());
  CHECK(cfg->rls.rli);
  REQUIRE(cfg->rls.update_rlis.size() == 2);
  CHECK(cfg->rls.update_rlis[0].interval_ms == 5000);
  CHECK(cfg->rls.update_rlis[0].patterns == std::vector<std::string>{"lfn://obs/*"});
  CHECK(cfg->rls.update_rlis[1].interval_ms == 30000);
  CHECK(contains(
      error_of(R"({"name": "a", "data_dir": "d", "rls": {"update_rlis": [{"name": "zz"}]}})"),
      "rls.update_rlis[0].name"));
  CHECK(contains(
      error_of(
          R"({"name": "a", "data_dir": "d", "rls": {"update_rlis": [{"name": "a", "patterns": [3]}]}})"),
      "patterns[0]"));
  CHECK(contains(error_of(R"({"name": "a", "data_dir": "d", "rls": {"rli": "yes"}})"), "rls.rli"));
}

TEST_CASE("RLI update modes, their keys and the forwarding list are validated") {
  auto cfg = parse_node_config(R"({"name": "a", "data_dir": "d",
    "peers": [{"name": "b", "host": "h", "cluster_port": 9}, {"name": "c", "host": "h", "cluster_port": 10}],
    "rls": {"rli": true, "forward_rlis": ["c"],
            "update_rlis": [{"name": "a", "mode": "immediate", "interval_ms": 2000, "buffer_ms": 500,
                             "buffer_changes": 7},
                            {"name": "b", "mode": "bloom", "bloom_bits_per_lfn": 16, "bloom_hashes": 11},
                            {"name": "c"}]}})",
                               "a.json");
  REQUIRE(cfg.has_value());
  const auto& t = cfg->rls.update_rlis;
  REQUIRE(t.size() == 3);
  CHECK(t[0].mode == rli_update_mode::immediate);
  CHECK(t[0].full_interval_ms == 20000);  // 10 x interval_ms by default
  CHECK(t[0].buffer_ms == 500);
  CHECK(t[0].buffer_changes == 7);
  CHECK(t[1].mode == rli_update_mode::bloom);
  CHECK(t[1].bloom_bits_per_lfn == 16);
  CHECK(t[1].bloom_hashes == 11);
  CHECK(t[2].mode == rli_update_mode::list);
  CHECK(t[2].bloom_hashes == 7);
  CHECK(cfg->rls.forward_rlis == std::vector<std::string>{"c"});
  auto rls_error = [](const std::string& rls) {
    return error_of(R"({"name": "a", "data_dir": "d", "peers": [{"name": "b", "host": "h",
        "cluster_port": 9}], "rls": )" +
                    rls + "}");
  };
  CHECK(contains(rls_error(R"({"update_rlis": [{"name": "a", "mode": "fast"}]})"),
                 "rls.update_rlis[0].mode"));
  CHECK(contains(rls_error(R"({"update_rlis": [{"name": "a", "buffer_ms": 5}]})"),
                 "applies only to \"mode\": \"immediate\""));
  CHECK(contains(
      rls_error(R"({"update_rlis": [{"name": "a", "mode": "immediate", "bloom_hashes": 3}]})"),
      "rls.update_rlis[0].bloom_hashes"));
  CHECK(contains(
      rls_error(R"({"update_rlis": [{"name": "a", "mode": "bloom", "bloom_hashes": 33}]})"),
      "rls.update_rlis[0].bloom_hashes"));
  CHECK(contains(
      rls_error(R"({"update_rlis": [{"name": "a", "mode": "bloom", "bloom_bits_per_lfn": 0}]})"),
      "bloom_bits_per_lfn"));
  CHECK(
      contains(rls_error(R"({"update_rlis": [{"name": "a", "mode": "immediate", "interval_ms": 5000,
                 "full_interval_ms": 1000}]})"),
               "full_interval_ms"));
  CHECK(contains(rls_error(R"({"update_rlis": [{"name": "a", "chunk_lfns": 20000}]})"),
                 "chunk_lfns"));
  CHECK(contains(rls_error(R"({"rli": true, "forward_rlis": ["a"]})"), "itself"));
  CHECK(contains(rls_error(R"({"rli": true, "forward_rlis": ["zz"]})"),
                 "not one of this node's peers"));
  CHECK(contains(rls_error(R"({"rli": true, "forward_rlis": ["b", "b"]})"), "listed twice"));
  CHECK(contains(rls_error(R"({"forward_rlis": ["b"]})"), "needs \"rli\": true"));
}

TEST_CASE("the gridftp section is off by default, read strictly when present") {
  auto plain = parse_node_config(R"({"name": "a", "data_dir": "/tmp/a"})", "a.json");
  REQUIRE(plain.has_value());
  CHECK_FALSE(plain->gridftp.enabled);
  auto cfg = parse_node_config(R"({"name": "a", "data_dir": "/tmp/a", "gridftp": {
      "enabled": true, "port": 0, "roots": ["/srv/a", "/srv/b"], "anonymous_user": true,
      "marker_interval_ms": 250}})",
                               "a.json");
  REQUIRE(cfg.has_value());
  CHECK(cfg->gridftp.enabled);
  CHECK(cfg->gridftp.port == 0);
  CHECK(cfg->gridftp.roots.size() == 2);
  CHECK(cfg->gridftp.marker_interval_ms == 250);
  CHECK(contains(error_of(R"({"name": "a", "data_dir": "/x", "gridftp": {"enabled": true,
      "anonymous_user": true}})"),
                 "gridftp.roots"));
  CHECK(contains(error_of(R"({"name": "a", "data_dir": "/x", "gridftp": {"enabled": true,
      "roots": ["relative"], "anonymous_user": true}})"),
                 "absolute"));
  CHECK(contains(error_of(R"({"name": "a", "data_dir": "/x", "gridftp": {"enabled": true,
      "roots": ["/r"]}})"),
                 "password_file"));
  CHECK(contains(error_of(R"({"name": "a", "data_dir": "/x", "gridftp": {"enabld": true}})"),
                 "gridftp.enabld"));
}

TEST_CASE("direct I/O of received data is on by default and can be turned off per server") {
  auto plain = parse_node_config(R"({"name": "a", "data_dir": "/tmp/a"})", "a.json");
  REQUIRE(plain.has_value());
  CHECK(plain->data.direct_io);
  CHECK(plain->gridftp.direct_io);
  auto off = parse_node_config(R"({"name": "a", "data_dir": "/tmp/a", "data": {"direct_io": false},
      "gridftp": {"enabled": true, "roots": ["/r"], "anonymous_user": true, "direct_io": false}})",
                               "a.json");
  REQUIRE_MESSAGE(off.has_value(), off.err().describe());
  CHECK_FALSE(off->data.direct_io);
  CHECK_FALSE(off->gridftp.direct_io);
  CHECK(contains(error_of(R"({"name": "a", "data_dir": "/x", "data": {"direct_io": "no"}})"),
                 "data.direct_io"));
}

TEST_CASE("the storage section sizes the block cache") {
  auto plain = parse_node_config(R"({"name": "a", "data_dir": "d"})", "a.json");
  REQUIRE(plain.has_value());
  CHECK(plain->storage.block_cache_mb == 256);
  auto sized = parse_node_config(
      R"({"name": "a", "data_dir": "d", "storage": {"block_cache_mb": 2048}})", "a.json");
  REQUIRE(sized.has_value());
  CHECK(sized->storage.block_cache_mb == 2048);
  CHECK(contains(error_of(R"({"name": "a", "data_dir": "d", "storage": {"block_cache_mb": 1}})"),
                 "storage.block_cache_mb"));
  CHECK(contains(error_of(R"({"name": "a", "data_dir": "d", "storage": {"cache": 1}})"),
                 "storage.cache"));
}
