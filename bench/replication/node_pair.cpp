// Node configs, start-up and readiness for the replication suite's pair of nodes.
#include "bench/replication/node_pair.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <thread>

#include "bench/replication/interruption.hpp"
#include "bin/librarian/api_calls.hpp"
#include "runtime/crypto/crypto.hpp"

namespace librarian::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* host = "127.0.0.1";
constexpr const char* admin_user = "admin";
constexpr const char* admin_password = "bench-admin-password";
constexpr auto ready_limit = std::chrono::seconds(30);
constexpr auto ready_poll = std::chrono::milliseconds(50);
// A logical limit only: the disk is what actually bounds the store.
constexpr uint64_t store_capacity_bytes = 1ull << 40;

// A loopback port that was free a moment ago and that this process has not handed out before.
uint16_t free_port() {
  static std::set<uint16_t> handed_out;
  for (int attempt = 0; attempt < 100; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
    ::close(fd);
    if (ok && handed_out.insert(ntohs(a.sin_port)).second) return ntohs(a.sin_port);
  }
  return 0;
}

bool listening(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

json background_of(const std::string& name, const pair_settings& s) {
  const json every{{"every", s.queue_tasks_every}};
  if (name == "a")
    return {{"send_clone",
             {{{"destination_librarian", "b"},
               {"every", s.send_clone_every},
               {"send_batch_size", s.send_batch_size}}}},
            {"consume_queue", {every}},
            {"check_consumed_queue", {every}}};
  return {{"recv_clone", {every}}};
}

json config_of(const replication_node& n, const replication_node& peer, const fs::path& dir,
               const fs::path& key_file, const pair_settings& s) {
  return {{"name", n.name},
          {"data_dir", (dir / (n.name + "-db")).string()},
          {"log_level", "warn"},
          {"listen",
           {{"host", host},
            {"cluster_port", n.cluster_port},
            {"http_port", n.http_port},
            {"data_port", n.data_port}}},
          {"peers", {{{"name", peer.name}, {"host", host}, {"cluster_port", peer.cluster_port}}}},
          {"auth",
           {{"bootstrap_admin", {{"name", admin_user}, {"password", admin_password}}},
            {"kdf_iterations", 1000}}},
          {"stores",
           {{{"name", "main"},
             {"staging_path", (n.root / "staging").string()},
             {"store_path", (n.root / "store").string()},
             {"capacity_bytes", store_capacity_bytes}}}},
          {"data", {{"roots", {n.root.string()}}}},
          {"librarian", {{"encryption_key_file", key_file.string()}}},
          {"background", background_of(n.name, s)}};
}

replication_node plan_node(const std::string& name, const fs::path& dir) {
  replication_node n;
  n.name = name;
  n.cluster_port = free_port();
  n.http_port = free_port();
  n.data_port = free_port();
  n.root = dir / (name + "-files");
  n.log = dir / (name + ".log");
  n.conn = cli::connection{name, host, n.http_port, admin_user, admin_password, std::nullopt};
  return n;
}

status wait_ready(replication_node& n) {
  const auto deadline = std::chrono::steady_clock::now() + ready_limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (interruption_requested()) return fail(errc::unavailable, "interrupted");
    if (!n.proc->alive())
      return fail(errc::unavailable,
                  "librarian-node " + n.name + " exited at start; see " + n.log.string());
    auto health = cli::http_send(host, n.http_port, "GET", "/healthz", "", {},
                                 std::chrono::milliseconds(500));
    if (health && health->status == 200 && listening(n.data_port)) return {};
    std::this_thread::sleep_for(ready_poll);
  }
  return fail(errc::timeout,
              "librarian-node " + n.name + " not ready after 30 s; see " + n.log.string());
}

}  // namespace

expected<std::unique_ptr<node_pair>> start_pair(const fs::path& dir, const std::string& bin_dir,
                                                const pair_settings& settings) {
  const auto exe = bin_dir + "/librarian-node";
  if (::access(exe.c_str(), X_OK) != 0)
    return fail(errc::not_found, exe + " is not built (build the librarian-node target)");
  fs::create_directories(dir);
  const auto key_file = dir / "node.key";
  std::ofstream(key_file) << crypto::base64_encode(crypto::random_bytes(32)) << "\n";
  fs::permissions(key_file, fs::perms::owner_read | fs::perms::owner_write);
  auto pair = std::make_unique<node_pair>();
  pair->a = plan_node("a", dir);
  pair->b = plan_node("b", dir);
  for (auto* n : {&pair->a, &pair->b}) {
    const auto& peer = n == &pair->a ? pair->b : pair->a;
    if (n->cluster_port == 0 || n->http_port == 0 || n->data_port == 0)
      return fail(errc::unavailable, "no free loopback port");
    fs::create_directories(n->root);
    const auto cfg = dir / (n->name + ".json");
    std::ofstream(cfg) << config_of(*n, peer, dir, key_file, settings).dump(2);
    n->proc = std::make_unique<node_process>(
        std::vector<std::string>{exe, "--config", cfg.string()}, n->log.string());
  }
  for (auto* n : {&pair->a, &pair->b})
    if (auto ready = wait_ready(*n); !ready) return ready.err();
  return pair;
}

expected<json> call_node(const replication_node& node, std::string_view method,
                         std::string_view target, const std::optional<json>& body,
                         std::chrono::milliseconds timeout) {
  auto reply = cli::call_api(node.conn, method, target, body, timeout);
  if (!reply) return reply.err();
  return reply->value;
}

}  // namespace librarian::bench
