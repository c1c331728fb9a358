#include "bench/messaging/messaging_bench.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <chrono>
#include <cstring>
#include <future>
#include <thread>

#include "actors/node/interface.hpp"
#include "runtime/caf/system_config.hpp"

namespace librarian::bench {
namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

caf::behavior echo_server() {
  return {[](atoms::ping_atom, uint64_t n) { return n; }};
}

struct two_nodes {
  system_config server_cfg{server_options()};
  caf::actor_system server{server_cfg};
  system_config client_cfg{server_options()};
  caf::actor_system client{client_cfg};
  caf::actor echo;
  caf::actor remote;

  static system_options server_options() {
    system_options o;
    o.worker_threads = 1;  // two systems share two cores
    return o;
  }
  two_nodes() {
    echo = server.spawn(echo_server);
    auto port = server.middleman().publish(echo, 0, "127.0.0.1", true);
    if (!port) throw std::runtime_error("publish failed: " + server.render(port.error()));
    auto hdl = client.middleman().remote_actor("127.0.0.1", *port);
    if (!hdl) throw std::runtime_error("connect failed: " + client.render(hdl.error()));
    remote = *hdl;
  }
  ~two_nodes() {
    caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
    echo = nullptr;
    remote = nullptr;
  }
};

// One request outstanding at a time: round-trip latency bound.
double caf_sequential(two_nodes& nodes, uint64_t count) {
  caf::scoped_actor self{nodes.client};
  auto start = clock_type::now();
  for (uint64_t i = 0; i < count; ++i)
    self->request(nodes.remote, 5s, atoms::ping_atom_v, i)
        .receive([](uint64_t) {}, [](caf::error&) {});
  std::chrono::duration<double> took = clock_type::now() - start;
  return static_cast<double>(count) / took.count();
}

// `window` requests in flight from an event-based actor: throughput bound.
double caf_pipelined(two_nodes& nodes, uint64_t count, uint64_t window) {
  auto done = std::make_shared<std::promise<double>>();
  auto result = done->get_future();
  auto remote = nodes.remote;
  nodes.client.spawn([=](caf::event_based_actor* self) {
    auto sent = std::make_shared<uint64_t>(0);
    auto received = std::make_shared<uint64_t>(0);
    auto start = clock_type::now();
    auto send_one = std::make_shared<std::function<void()>>();
    *send_one = [=] {
      auto i = (*sent)++;
      self->request(remote, 30s, atoms::ping_atom_v, i).then([=](uint64_t) {
        if (++*received == count) {
          std::chrono::duration<double> took = clock_type::now() - start;
          done->set_value(static_cast<double>(count) / took.count());
          *send_one = nullptr;  // break the self-reference
          return;
        }
        if (*sent < count) (*send_one)();
      });
    };
    for (uint64_t i = 0; i < window && i < count; ++i) (*send_one)();
  });
  return result.get();
}

int tcp_listener(uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 1) != 0)
    throw std::runtime_error("tcp bind failed");
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

bool exact_io(int fd, char* buf, size_t n, bool write) {
  size_t done = 0;
  while (done < n) {
    auto r = write ? ::send(fd, buf + done, n - done, MSG_NOSIGNAL)
                   : ::recv(fd, buf + done, n - done, 0);
    if (r <= 0) return false;
    done += static_cast<size_t>(r);
  }
  return true;
}

// A blocking 16-byte request/response over one loopback TCP connection, TCP_NODELAY on both ends.
double tcp_sequential(uint64_t count) {
  uint16_t port = 0;
  int listener = tcp_listener(port);
  std::thread server([listener] {
    int conn = ::accept(listener, nullptr, nullptr);
    int one = 1;
    ::setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char buf[16];
    while (exact_io(conn, buf, sizeof buf, false) && exact_io(conn, buf, sizeof buf, true)) {
    }
    ::close(conn);
  });
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("tcp connect failed");
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char buf[16] = {};
  auto start = clock_type::now();
  for (uint64_t i = 0; i < count; ++i) {
    std::memcpy(buf, &i, sizeof i);
    if (!exact_io(fd, buf, sizeof buf, true) || !exact_io(fd, buf, sizeof buf, false)) break;
  }
  std::chrono::duration<double> took = clock_type::now() - start;
  ::close(fd);
  server.join();
  ::close(listener);
  return static_cast<double>(count) / took.count();
}

}  // namespace

nlohmann::json bench_messaging(bool quick) {
  const uint64_t sequential = quick ? 2000 : 20000;
  const uint64_t pipelined = quick ? 20000 : 200000;
  const uint64_t window = 64;
  try {
    std::vector<double> caf_seq, caf_pipe, tcp_seq;
    for (int run = 0; run < 3; ++run) {
      two_nodes nodes;
      caf_seq.push_back(caf_sequential(nodes, sequential));
      caf_pipe.push_back(caf_pipelined(nodes, pipelined, window));
      tcp_seq.push_back(tcp_sequential(sequential));
    }
    auto caf_rt = median(caf_seq);
    auto tcp_rt = median(tcp_seq);
    return {{"caf_remote_request_response_sequential_per_s", caf_rt},
            {"caf_remote_request_response_pipelined_per_s", median(caf_pipe)},
            {"caf_pipeline_window", window},
            {"raw_tcp_ping_pong_sequential_per_s", tcp_rt},
            {"caf_sequential_vs_raw_tcp_ratio", caf_rt / tcp_rt},
            {"round_trips_sequential", sequential},
            {"round_trips_pipelined", pipelined},
            {"runs", 3}};
  } catch (const std::exception& e) {
    return {{"error", e.what()}};
  }
}

}  // namespace librarian::bench
