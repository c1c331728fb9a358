// The simulated network: message delivery with delay (FIFO per link), drop, duplication and
// clogging; link
// liveness as each node's failure detector would see it; partitions.
#include <algorithm>

#include "actors/node/interface.hpp"
#include "runtime/probe.hpp"
#include "runtime/sim/world_impl.hpp"

namespace librarian::sim {

bool world_impl::connected(size_t a, size_t b) const {
  return nodes[a].alive && nodes[b].alive && !cut.count({a, b}) && !cut.count({b, a});
}

void world_impl::route(size_t from, const std::string& to, const std::string& actor,
                       caf::message msg) {
  node_slot* dest = find(to);
  if (!dest) return;
  auto link = std::make_pair(from, dest->index);
  auto label = nodes[from].name + "->" + to + "/" + actor;
  // One direction may be cut (an asymmetric partition): only this direction's messages are lost.
  if (!nodes[from].alive || !dest->alive || cut.count(link)) return trace("lost " + label);
  if (chaos.chance(profile.drop)) {
    LIB_PROBE("sim.message_dropped");
    return trace("drop " + label);
  }
  int copies = chaos.chance(profile.duplicate) ? 2 : 1;
  if (copies == 2) LIB_PROBE("sim.message_duplicated");
  auto incarnation = dest->incarnation;
  auto index = dest->index;
  auto sender = nodes[from].name;
  for (int i = 0; i < copies; ++i) {
    auto drawn = static_cast<int64_t>(chaos.uniform(static_cast<uint64_t>(profile.delay_min_ms),
                                                    static_cast<uint64_t>(profile.delay_max_ms)));
    auto& last = link_last_delivery_ms[link];
    auto at = std::max(now_ms() + drawn, last);
    last = at;
    auto delay = milliseconds{at - now_ms()};
    auto deliver = [this, index, incarnation, sender, actor, msg, label] {
      auto& slot = nodes[index];
      // A message in flight to a crashed incarnation is lost with it.
      if (!slot.alive || slot.incarnation != incarnation) return trace("lost " + label);
      trace("deliver " + label);
      caf::anon_send(slot.node, atoms::deliver_atom_v, sender, actor, msg);
    };
    if (clogged.count(link)) {
      clogged_messages[link].push_back(deliver);
      continue;
    }
    schedule(delay, deliver);
  }
}

void world_impl::notify_link(size_t observer, size_t peer, bool up, uint64_t generation) {
  auto& obs = nodes[observer];
  if (!obs.alive || obs.transport == nullptr) return;
  if (link_generation[{observer, peer}] != generation) return;  // superseded
  auto& p = nodes[peer];
  if (up) {
    obs.told_up.insert(p.name);
    auto address = "sim:" + std::to_string(7100 + p.index);
    caf::anon_send(obs.transport, atoms::peer_up_atom_v, p.name, address,
                   p.env ? p.env->incarnation : uint64_t{0});
  } else {
    obs.told_up.erase(p.name);
    caf::anon_send(obs.transport, atoms::peer_down_atom_v, p.name);
  }
}

// Compares every link with what its observer believes and schedules the failure detector's
// verdict: down after detect_down_ms (a crash closes sockets at once: faster), up after a
// reconnect delay.
void world_impl::reevaluate_links() {
  for (size_t a = 0; a < nodes.size(); ++a) {
    if (!nodes[a].alive) continue;
    for (size_t b = 0; b < nodes.size(); ++b) {
      if (a == b) continue;
      bool now_up = connected(a, b);
      auto key = std::make_pair(a, b);
      auto believed = link_view.find(key);
      if (believed != link_view.end() && believed->second == now_up) continue;
      link_view[key] = now_up;
      auto generation = ++link_generation[key];
      int64_t delay_ms =
          now_up
              ? static_cast<int64_t>(chaos.uniform(1, static_cast<uint64_t>(profile.reconnect_ms)))
          : nodes[b].alive ? profile.detect_down_ms
                           : static_cast<int64_t>(chaos.uniform(1, 50));
      schedule(milliseconds{delay_ms},
               [this, a, b, now_up, generation] { notify_link(a, b, now_up, generation); });
    }
  }
}

void world_impl::transport_started(size_t node) {
  // A fresh transport believes nothing: every link of this node is re-evaluated from scratch.
  for (size_t b = 0; b < nodes.size(); ++b) {
    if (b == node) continue;
    link_view.erase({node, b});
  }
  nodes[node].told_up.clear();
  reevaluate_links();
}

// -- the simulated transport actor -------------------------------------------------------------

namespace {

struct sim_transport_state {
  std::shared_ptr<node::node_env> env;
  caf::actor node;
  world_impl* world = nullptr;
  size_t index = 0;
  std::map<std::string, std::pair<std::string, uint64_t>> up;  // peer -> (address, incarnation)
};

void tell_membership(caf::stateful_actor<sim_transport_state>* self, caf::message event) {
  self->send(self->state.node, atoms::inject_atom_v, std::string{"membership"}, std::move(event));
}

}  // namespace

caf::actor spawn_sim_transport(caf::local_actor* spawner, caf::actor node,
                               std::shared_ptr<node::node_env> env, world_impl* world,
                               size_t index) {
  auto handle =
      spawner->spawn([=](caf::stateful_actor<sim_transport_state>* self) -> caf::behavior {
        self->state.env = env;
        self->state.node = node;
        self->state.world = world;
        self->state.index = index;
        for (const auto& peer : env->config.peers)
          tell_membership(self, caf::make_message(atoms::peer_down_atom_v, peer.name));
        return {
            [=](atoms::forward_atom, const std::string& peer, const std::string& actor,
                caf::message& payload) {
              // As in production: a peer this node believes down gets nothing.
              if (!self->state.up.count(peer)) return world->trace("unsent " + peer + "/" + actor);
              world->route(index, peer, actor, std::move(payload));
            },
            [=](atoms::peer_up_atom, const std::string& peer, const std::string& address,
                uint64_t incarnation) {
              self->state.up[peer] = {address, incarnation};
              tell_membership(self,
                              caf::make_message(atoms::peer_up_atom_v, peer, address, incarnation));
            },
            [=](atoms::peer_down_atom, const std::string& peer) {
              self->state.up.erase(peer);
              tell_membership(self, caf::make_message(atoms::peer_down_atom_v, peer));
            },
            [=](atoms::subscribe_atom) {
              LIB_PROBE("transport.resubscribed");
              for (const auto& [peer, info] : self->state.up)
                tell_membership(
                    self, caf::make_message(atoms::peer_up_atom_v, peer, info.first, info.second));
            },
            [=](atoms::hello_atom, const std::string&, uint64_t,
                const std::string&) -> caf::result<std::string, uint64_t> {
              return {self->state.env->config.name, self->state.env->incarnation};
            },
            [=](atoms::depth_atom) { return static_cast<uint64_t>(self->mailbox().size()); },
        };
      });
  world->nodes[index].transport = handle;
  world->transport_started(index);
  return handle;
}

}  // namespace librarian::sim
