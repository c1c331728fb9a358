#include "net/transport/transport.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <map>

#include "actors/node/interface.hpp"
#include "runtime/caf/error.hpp"
#include "runtime/log.hpp"
#include "runtime/probe.hpp"
#include "runtime/random.hpp"

namespace librarian::net {
namespace {

using namespace librarian::atoms;

enum class phase { idle, connecting, up };

struct peer_link {
  peer_config config;
  phase state = phase::idle;
  caf::actor gateway;        // the peer's published gateway while up
  uint32_t failures = 0;     // consecutive, drives the backoff
  uint64_t generation = 0;   // bumps on every attempt so stale replies and timers are ignored
  uint64_t incarnation = 0;  // the peer's, from its hello reply
};

struct transport_shell {
  std::shared_ptr<node::node_env> env;
  caf::actor node;
  std::map<std::string, peer_link> peers;
  std::optional<rng> jitter{std::nullopt};
  std::string self_address;
};

using self_ptr = caf::stateful_actor<transport_shell>*;

void attempt(self_ptr self, const std::string& name);

void tell_membership(self_ptr self, caf::message event) {
  self->send(self->state.node, inject_atom_v, std::string{"membership"}, std::move(event));
}

std::chrono::milliseconds backoff(self_ptr self, uint32_t failures) {
  const auto& cfg = self->state.env->config.cluster;
  int64_t delay_ms = cfg.reconnect_min_ms;
  for (uint32_t i = 1; i < failures && delay_ms < cfg.reconnect_max_ms; ++i) delay_ms *= 2;
  delay_ms = std::min(delay_ms, cfg.reconnect_max_ms);
  // +-25% jitter so restarted nodes do not reconnect in lockstep.
  auto spread = static_cast<uint64_t>(delay_ms / 2);
  auto offset = static_cast<int64_t>(self->state.jitter->uniform(0, spread)) - delay_ms / 4;
  return std::chrono::milliseconds(std::max<int64_t>(1, delay_ms + offset));
}

void schedule_retry(self_ptr self, const std::string& name) {
  auto& link = self->state.peers[name];
  link.state = phase::idle;
  link.failures += 1;
  self->delayed_send(self, backoff(self, link.failures), connect_to_atom_v, name, link.generation);
}

void on_connected(self_ptr self, const std::string& name, uint64_t generation, caf::actor gateway,
                  const std::string& their_name, uint64_t their_incarnation) {
  auto& link = self->state.peers[name];
  if (link.generation != generation) return;
  if (their_name != name) {
    LIB_LOG_ERROR("transport") << "the node at " << link.config.host << ":"
                               << link.config.cluster_port << " says it is '" << their_name
                               << "', but the config expects '" << name << "'; fix the peers list";
    return schedule_retry(self, name);
  }
  link.state = phase::up;
  link.failures = 0;
  link.gateway = gateway;
  link.incarnation = their_incarnation;
  self->monitor(gateway);
  auto address = link.config.host + ":" + std::to_string(link.config.cluster_port);
  tell_membership(self, caf::make_message(peer_up_atom_v, name, address, their_incarnation));
}

void attempt(self_ptr self, const std::string& name) {
  auto& link = self->state.peers[name];
  link.state = phase::connecting;
  auto generation = ++link.generation;
  const auto& cfg = self->state.env->config;
  auto timeout = std::chrono::milliseconds(cfg.cluster.connect_timeout_ms);
  auto mm = self->system().middleman().actor_handle();
  auto on_error = [=](const caf::error& err) {
    if (self->state.peers[name].generation != generation) return;
    LIB_LOG_DEBUG("transport") << "cannot reach peer " << name << ": " << to_string(err);
    schedule_retry(self, name);
  };
  self->request(mm, timeout, caf::connect_atom_v, link.config.host, link.config.cluster_port)
      .then(
          [=](const caf::node_id&, caf::strong_actor_ptr& remote, const std::set<std::string>&) {
            if (!remote) return on_error(caf::make_error(caf::sec::no_actor_published_at_port));
            auto gateway = caf::actor_cast<caf::actor>(remote);
            self->request(gateway, timeout, hello_atom_v, cfg.name, self->state.env->incarnation,
                          self->state.self_address)
                .then(
                    [=](const std::string& their_name, uint64_t their_incarnation) {
                      on_connected(self, name, generation, gateway, their_name, their_incarnation);
                    },
                    on_error);
          },
          on_error);
}

void on_gateway_down(self_ptr self, const caf::down_msg& down) {
  for (auto& [name, link] : self->state.peers) {
    if (link.gateway == nullptr || link.gateway.address() != down.source) continue;
    link.gateway = nullptr;
    link.generation += 1;
    tell_membership(self, caf::make_message(peer_down_atom_v, name));
    schedule_retry(self, name);
    return;
  }
}

caf::behavior transport_behavior(self_ptr self, caf::actor node,
                                 std::shared_ptr<node::node_env> env) {
  auto& st = self->state;
  st.env = env;
  st.node = std::move(node);
  st.jitter.emplace(rng{env->seed}.fork("transport.jitter"));
  st.self_address = env->config.listen.host + ":" + std::to_string(env->config.listen.cluster_port);
  for (const auto& peer : env->config.peers) st.peers[peer.name].config = peer;
  for (auto& [name, link] : st.peers) {
    // A restarted transport knows no connection: clear what an earlier one reported as up, so a
    // peer that died meanwhile is not left up forever. Reconnects report it up again.
    tell_membership(self, caf::make_message(peer_down_atom_v, name));
    attempt(self, name);
  }
  self->set_down_handler([=](caf::down_msg& down) { on_gateway_down(self, down); });
  return {
      [=](forward_atom, const std::string& peer, std::string& actor, caf::message& payload) {
        auto it = self->state.peers.find(peer);
        if (it == self->state.peers.end() || it->second.state != phase::up) {
          LIB_LOG_DEBUG("transport")
              << "dropped a message for " << peer << "/" << actor << ": peer not up";
          return;
        }
        self->send(it->second.gateway, deliver_atom_v, self->state.env->config.name,
                   std::move(actor), std::move(payload));
      },
      [=](hello_atom, const std::string& peer, uint64_t,
          const std::string&) -> caf::result<std::string, uint64_t> {
        auto it = self->state.peers.find(peer);
        if (it == self->state.peers.end())
          return make_error(errc::forbidden, "'" + peer + "' is not a configured peer of " +
                                                 self->state.env->config.name);
        // A peer that talks to us is alive: connect back now instead of waiting out a backoff.
        if (it->second.state == phase::idle) attempt(self, peer);
        return {self->state.env->config.name, self->state.env->incarnation};
      },
      [=](depth_atom) { return static_cast<uint64_t>(self->mailbox().size()); },
      // A restarted membership actor starts with every peer down: tell it which are up.
      [=](subscribe_atom) {
        LIB_PROBE("transport.resubscribed");
        for (const auto& [name, link] : self->state.peers) {
          if (link.state != phase::up) continue;
          auto address = link.config.host + ":" + std::to_string(link.config.cluster_port);
          tell_membership(self, caf::make_message(peer_up_atom_v, name, address, link.incarnation));
        }
      },
      [=](connect_to_atom, const std::string& peer, uint64_t generation) {
        auto it = self->state.peers.find(peer);
        if (it == self->state.peers.end() || it->second.generation != generation ||
            it->second.state != phase::idle)
          return;
        attempt(self, peer);
      },
  };
}

}  // namespace

caf::actor spawn_middleman_transport(caf::local_actor* spawner, caf::actor node,
                                     std::shared_ptr<node::node_env> env) {
  return spawner->spawn(transport_behavior, std::move(node), std::move(env));
}

}  // namespace librarian::net
