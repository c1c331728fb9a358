#include "actors/node/node_actor.hpp"

#include <algorithm>
#include <caf/all.hpp>
#include <map>
#include <set>

#include "actors/librarian/librarian_actor.hpp"
#include "actors/mcs/mcs_actor.hpp"
#include "actors/node/interface.hpp"
#include "actors/node/membership_actor.hpp"
#include "actors/node/users_actor.hpp"
#include "actors/rls/lrc_actor.hpp"
#include "actors/transfer/replicator_actor.hpp"
#include "runtime/caf/error.hpp"
#include "runtime/log.hpp"
#include "runtime/probe.hpp"

namespace librarian::node {
namespace {

using namespace std::chrono_literals;

struct child {
  caf::actor handle;
  std::string state = "running";
  uint32_t restarts = 0;
  uint32_t recent_restarts = 0;  // within restart_window of the last start; drives backoff
  uint64_t mailbox_depth = 0;    // as of the last poll
  caf::actor_clock::time_point started;
};

struct node_shell {
  std::shared_ptr<node_env> env;
  node_identity identity;
  int64_t started_unix_ms = 0;
  caf::actor_clock::time_point started;
  std::map<std::string, child> children;  // by name, ordered for stable output
  // Every child's address until its exit message (sent to us through the link) has arrived:
  // the down message may come first and clear `children`, and the exit must still be ignored.
  std::set<caf::actor_addr> linked_children;
  bool shutting_down = false;
};

using self_ptr = caf::stateful_actor<node_shell>*;

caf::actor spawn_child(self_ptr self, const std::string& name) {
  auto& env = self->state.env;
  caf::actor handle;
  if (name == "users")
    handle = caf::actor_cast<caf::actor>(spawn_users(self, env));
  else if (name == "membership")
    handle =
        caf::actor_cast<caf::actor>(spawn_membership(self, env, self->state.identity.incarnation));
  else if (name == "lrc")
    handle =
        caf::actor_cast<caf::actor>(rls::spawn_lrc(self, env, caf::actor_cast<caf::actor>(self)));
  else if (name == "rli")
    handle =
        caf::actor_cast<caf::actor>(rls::spawn_rli(self, env, caf::actor_cast<caf::actor>(self)));
  else if (name == "librarian")
    handle = caf::actor_cast<caf::actor>(
        lib::spawn_librarian(self, env, caf::actor_cast<caf::actor>(self)));
  else if (name == "mcs")
    handle = caf::actor_cast<caf::actor>(mcs::spawn_mcs(self, env));
  else if (name == "replicator")
    handle = caf::actor_cast<caf::actor>(
        transfer::spawn_replicator(self, env, caf::actor_cast<caf::actor>(self)));
  else if (name == "transport")
    handle = env->spawn_transport(self, caf::actor_cast<caf::actor>(self), env);
  LIB_ASSERT_MSG(handle != nullptr, "unknown child actor");
  // Linked: if the node dies, its actors die with it. Monitored: the supervisor restarts them.
  self->link_to(handle);
  self->monitor(handle);
  self->state.linked_children.insert(handle.address());
  return handle;
}

void start_child(self_ptr self, const std::string& name) {
  auto& entry = self->state.children[name];
  entry.handle = spawn_child(self, name);
  entry.state = "running";
  entry.started = self->clock().now();
  // A fresh membership view starts with every peer down; the transport knows which are up.
  auto transport = self->state.children.find("transport");
  if (name == "membership" && transport != self->state.children.end() &&
      transport->second.handle != nullptr)
    self->send(transport->second.handle, subscribe_atom_v);
}

std::vector<actor_status> actor_statuses(self_ptr self) {
  std::vector<actor_status> out;
  for (const auto& [name, entry] : self->state.children)
    out.push_back({name, entry.state, entry.restarts, entry.mailbox_depth});
  out.push_back({"node", self->state.shutting_down ? "stopping" : "running", 0,
                 static_cast<uint64_t>(self->mailbox().size())});
  return out;
}

node_status make_status(self_ptr self) {
  auto& st = self->state;
  auto uptime = self->clock().now() - st.started;
  return {st.env->config.name,
          version_text,
          st.identity.incarnation,
          st.identity.first_started_unix_ms,
          st.started_unix_ms,
          std::chrono::duration_cast<std::chrono::milliseconds>(uptime).count(),
          actor_statuses(self)};
}

void on_child_down(self_ptr self, const caf::down_msg& down) {
  auto& st = self->state;
  for (auto& [name, entry] : st.children) {
    if (entry.handle == nullptr || entry.handle.address() != down.source) continue;
    entry.handle = nullptr;
    if (st.shutting_down) {
      entry.state = "stopped";
      return;
    }
    auto now = self->clock().now();
    auto stayed_up = now - entry.started > st.env->tuning.restart_window;
    entry.recent_restarts = stayed_up ? 1 : entry.recent_restarts + 1;
    entry.restarts += 1;
    entry.state = "restarting";
    LIB_PROBE("node.actor_restarted");
    if (entry.recent_restarts > 1) LIB_PROBE("node.actor_restarted_repeatedly");
    const auto& cfg = st.env->config.supervisor;
    auto backoff_ms = cfg.restart_backoff_min_ms;
    for (uint32_t i = 1; i < entry.recent_restarts && backoff_ms < cfg.restart_backoff_max_ms; ++i)
      backoff_ms *= 2;
    backoff_ms = std::min(backoff_ms, cfg.restart_backoff_max_ms);
    LIB_LOG_WARN("node") << "actor " << name << " stopped (" << to_string(down.reason)
                         << "); restarting in " << backoff_ms << " ms";
    self->delayed_send(self, std::chrono::milliseconds(backoff_ms), restart_atom_v, name);
    return;
  }
}

caf::expected<caf::actor> route(self_ptr self, const std::string& name) {
  auto it = self->state.children.find(name);
  if (it == self->state.children.end()) {
    std::string known = "node";
    for (const auto& [candidate, entry] : self->state.children) known += ", " + candidate;
    return make_error(errc::not_found, "no actor named '" + name + "' on node " +
                                           self->state.env->config.name + " (actors: " + known +
                                           ")");
  }
  if (it->second.handle == nullptr)
    return make_error(errc::unavailable, "actor '" + name + "' is restarting; retry shortly");
  return it->second.handle;
}

caf::result<caf::message> ask_node_itself(self_ptr self, caf::message& payload) {
  if (payload.match_elements<status_atom>()) return caf::make_message(make_status(self));
  if (payload.match_elements<actors_atom>()) return caf::make_message(actor_statuses(self));
  if (payload.match_elements<crash_atom, std::string>()) {
    auto target = route(self, payload.get_as<std::string>(1));
    if (!target) return target.error();
    self->send_exit(*target, caf::exit_reason::kill);
    return caf::make_message();
  }
  return make_error(errc::invalid_argument,
                    "the node actor understands: status, actors, crash ACTOR");
}

// Mailbox sizes can only be read by their owner, so the node asks each actor periodically.
void poll_depths(self_ptr self) {
  for (auto& [name, entry] : self->state.children) {
    if (entry.handle == nullptr) continue;
    auto child_name = name;
    self->request(entry.handle, self->state.env->tuning.depth_poll_interval, depth_atom_v)
        .then([=](uint64_t depth) { self->state.children[child_name].mailbox_depth = depth; },
              [](caf::error&) {});
  }
  self->delayed_send(self, self->state.env->tuning.depth_poll_interval, tick_atom_v);
}

void shut_down(self_ptr self) {
  self->state.shutting_down = true;
  for (auto& [name, entry] : self->state.children)
    if (entry.handle != nullptr) self->send_exit(entry.handle, caf::exit_reason::user_shutdown);
  self->quit(caf::exit_reason::user_shutdown);
}

caf::behavior node_behavior(self_ptr self, std::shared_ptr<node_env> env, node_identity identity) {
  self->state.env = env;
  self->state.identity = identity;
  self->state.started_unix_ms = env->clock->now_unix_ms();
  self->state.started = self->clock().now();
  // Children's exits arrive as down messages (restart); only non-children may take us down.
  self->set_exit_handler([=](caf::exit_msg& msg) {
    if (self->state.linked_children.erase(msg.source) > 0) return;
    if (msg.reason) self->quit(msg.reason);
  });
  // A stray message (say, a reply nobody asked for) is logged and dropped; the default would
  // answer it with an error, which can take the sender down.
  self->set_default_handler(
      [](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
        LIB_LOG_WARN("node") << "dropped an unexpected message: " << to_string(x.content());
        return caf::message{};
      });
  self->set_down_handler([=](caf::down_msg& down) { on_child_down(self, down); });
  for (const auto& name : {"users", "lrc", "membership", "transport"}) start_child(self, name);
  if (env->config.rls.rli) start_child(self, "rli");
  start_child(self, "librarian");
  start_child(self, "replicator");
  if (env->config.mcs.enabled) start_child(self, "mcs");
  self->delayed_send(self, env->tuning.depth_poll_interval, tick_atom_v);
  LIB_LOG_INFO("node") << "node " << env->config.name << " started (incarnation "
                       << identity.incarnation << ")";
  return {
      [=](ask_atom, const std::string& name, caf::message& payload) -> caf::result<caf::message> {
        if (name == "node") return ask_node_itself(self, payload);
        auto target = route(self, name);
        if (!target) return target.error();
        return self->delegate(*target, std::move(payload));
      },
      [=](inject_atom, const std::string& name, caf::message& payload) -> caf::result<void> {
        if (name == "node") return make_error(errc::invalid_argument, "use ask for the node actor");
        auto target = route(self, name);
        if (!target) return target.error();
        // Anonymous: the actor's reply, if any, must not come back to the node.
        caf::anon_send(*target, std::move(payload));
        return caf::unit;
      },
      [=](deliver_atom, const std::string& peer, const std::string& name, caf::message& payload) {
        auto target = route(self, name);
        if (!target) {
          LIB_LOG_WARN("node") << "dropped a message from peer " << peer << " for unknown actor "
                               << name;
          return;
        }
        caf::anon_send(*target, std::move(payload));
      },
      [=](hello_atom atom, const std::string& peer, uint64_t incarnation,
          const std::string& address) -> caf::result<caf::message> {
        auto target = route(self, "transport");
        if (!target) return target.error();
        return self->delegate(*target, atom, peer, incarnation, address);
      },
      [=](status_atom) { return make_status(self); },
      [=](members_atom) -> caf::result<caf::message> {
        auto target = route(self, "membership");
        if (!target) return target.error();
        return self->delegate(*target, members_atom_v);
      },
      [=](restart_atom, const std::string& name) {
        if (self->state.shutting_down) return;
        LIB_LOG_INFO("node") << "restarting actor " << name;
        start_child(self, name);
      },
      [=](tick_atom) {
        if (!self->state.shutting_down) poll_depths(self);
      },
      [=](shutdown_atom) { shut_down(self); },
  };
}

caf::behavior gateway_behavior(caf::event_based_actor* self, caf::actor node) {
  // Only the public protocol passes; the node's supervision messages stay internal.
  return {
      [=](ask_atom atom, std::string& name, caf::message& payload) {
        return self->delegate(node, atom, std::move(name), std::move(payload));
      },
      [=](inject_atom atom, std::string& name, caf::message& payload) {
        return self->delegate(node, atom, std::move(name), std::move(payload));
      },
      [=](deliver_atom atom, std::string& peer, std::string& name, caf::message& payload) {
        self->send(node, atom, std::move(peer), std::move(name), std::move(payload));
      },
      [=](hello_atom atom, std::string& peer, uint64_t incarnation, std::string& address) {
        return self->delegate(node, atom, std::move(peer), incarnation, std::move(address));
      },
      [=](status_atom atom) { return self->delegate(node, atom); },
      [=](members_atom atom) { return self->delegate(node, atom); },
  };
}

}  // namespace

caf::actor spawn_node(caf::actor_system& sys, std::shared_ptr<node_env> env,
                      node_identity identity) {
  return sys.spawn(node_behavior, std::move(env), std::move(identity));
}

caf::actor spawn_gateway(caf::actor_system& sys, caf::actor node) {
  return sys.spawn(gateway_behavior, std::move(node));
}

}  // namespace librarian::node
