#include "runtime/sim/executor.hpp"

#include "runtime/caf/catalog.hpp"
#include "runtime/console/tokenizer.hpp"

namespace librarian::sim {

sim_executor::sim_executor(world& w) : world_(w), default_node_(w.node_names().front()) {}

expected<std::string> sim_executor::run(const console::command& cmd) {
  using kind = console::command_kind;
  switch (cmd.kind) {
    case kind::ask:
    case kind::send:
      return deliver(cmd);
    case kind::members:
      return world_.members_text(default_node_, timeout_);
    case kind::help:
      return product_catalog().help(cmd.to.actor, cmd.message);
    case kind::set:
      return apply_setting(cmd);
    case kind::sleep:
    case kind::advance:
      world_.advance(cmd.duration);
      return std::string{};
    default:
      return world_command(cmd);
  }
}

expected<std::string> sim_executor::deliver(const console::command& cmd) {
  const auto& node = cmd.to.node.empty() ? default_node_ : cmd.to.node;
  if (!world_.has_node(node)) return fail(errc::not_found, "no node named '" + node + "'");
  if (cmd.to.actor == "world") {  // the world's own messages (upload, has)
    std::vector<std::string> args;
    for (const auto& token : cmd.args) args.push_back(token.text);
    if (cmd.kind == console::command_kind::send)
      return fail(errc::invalid_argument, "the world answers `ask` only");
    return world_.world_message(node, cmd.message, args, cmd.within.value_or(timeout_));
  }
  auto prepared = prepare_message(product_catalog(), cmd.to.actor, cmd.message, cmd.args);
  if (!prepared) return prepared.err();
  if (cmd.kind == console::command_kind::send) {
    auto st = world_.send_payload(node, cmd.to.actor, prepared->payload);
    if (!st) return st.err();
    return std::string{};
  }
  auto timeout = cmd.within.value_or(timeout_);
  auto reply =
      world_.ask_payload(node, cmd.to.actor, prepared->payload, prepared->entry->ask, timeout);
  std::vector<std::string> args;
  for (const auto& token : cmd.args) args.push_back(token.text);
  world_.record_ack(node, cmd.to.actor, cmd.message, args, reply);
  return reply;
}

expected<std::string> sim_executor::world_command(const console::command& cmd) {
  using kind = console::command_kind;
  status st;
  switch (cmd.kind) {
    case kind::crash:
      st = world_.crash(cmd.nodes.at(0));
      break;
    case kind::restart:
      st = world_.restart(cmd.nodes.at(0));
      break;
    case kind::partition:
      st = world_.partition(cmd.nodes, cmd.other_side);
      break;
    case kind::isolate:
      st = world_.isolate(cmd.nodes.at(0));
      break;
    case kind::heal:
      world_.heal();
      break;
    case kind::clog:
      st = world_.clog(cmd.nodes.at(0), cmd.nodes.at(1));
      break;
    case kind::unclog:
      st = world_.unclog(cmd.nodes.at(0), cmd.nodes.at(1));
      break;
    case kind::fault:
      st = world_.set_fault(cmd.setting, cmd.setting_value ? cmd.setting_value->text : "");
      break;
    default:
      return fail(errc::invalid_argument, "this command is not available here");
  }
  if (!st) return st.err();
  return std::string{};
}

expected<std::string> sim_executor::apply_setting(const console::command& cmd) {
  auto text = cmd.setting_value ? cmd.setting_value->text : std::string{};
  if (cmd.setting == "timeout") {
    auto d = console::parse_duration(text);
    if (!d) return d.err();
    timeout_ = *d;
    return std::string{};
  }
  if (cmd.setting == "node") {
    if (!world_.has_node(text)) return fail(errc::not_found, "no node named '" + text + "'");
    default_node_ = text;
    return std::string{};
  }
  return fail(errc::invalid_argument,
              "unknown setting '" + cmd.setting + "'; known: timeout, node");
}

}  // namespace librarian::sim
