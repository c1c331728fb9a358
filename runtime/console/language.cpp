// Parser of the console language: tokens of one line into a `command`.
#include "runtime/console/language.hpp"

#include <algorithm>
#include <array>
#include <span>
#include <utility>

namespace librarian::console {
namespace {

using token_span = std::span<const token>;

struct keyword_row {
  command_kind kind;
  std::string_view word;
};

constexpr std::array<keyword_row, 19> keywords{{
    {command_kind::send, "send"},
    {command_kind::ask, "ask"},
    {command_kind::members, "members"},
    {command_kind::help, "help"},
    {command_kind::sleep, "sleep"},
    {command_kind::echo, "echo"},
    {command_kind::set, "set"},
    {command_kind::quit, "quit"},
    {command_kind::advance, "advance"},
    {command_kind::crash, "crash"},
    {command_kind::restart, "restart"},
    {command_kind::partition, "partition"},
    {command_kind::isolate, "isolate"},
    {command_kind::heal, "heal"},
    {command_kind::clog, "clog"},
    {command_kind::unclog, "unclog"},
    {command_kind::fault, "fault"},
    {command_kind::expect, "expect"},
    {command_kind::eventually, "eventually"},
}};

error bad_at(const token& at, std::string message) {
  return fail(errc::invalid_argument, "column " + std::to_string(at.column) + ": " + message);
}

error bad(std::string message) {
  return fail(errc::invalid_argument, std::move(message));
}

bool is_word(const token& tok, std::string_view text) {
  return tok.kind == token_kind::word && tok.text == text;
}

// Checks the operand count of a command; `shape` is its usage, shown when the count is wrong.
status want_operands(const command& cmd, token_span operands, size_t min, size_t max,
                     std::string_view shape) {
  if (operands.size() > max)
    return bad_at(operands[max],
                  "unexpected " + quoted(operands[max].text) + "; usage: " + std::string{shape});
  if (operands.size() < min)
    return bad(std::string{keyword(cmd.kind)} +
               " needs more operands; usage: " + std::string{shape});
  return {};
}

expected<std::string> read_name(const token& tok, std::string_view what) {
  auto parsed = parse_value(arg_type::name, tok);
  // Quoted names are refused so that a target or node always reads as a plain word.
  if (!parsed || tok.kind == token_kind::string)
    return bad_at(tok, std::string{what} + " must be a name (1-128 of A-Z a-z 0-9 . _ -), got " +
                           quoted(tok.text));
  return std::get<std::string>(*parsed);
}

expected<std::chrono::milliseconds> read_duration(const token& tok) {
  auto parsed = parse_duration(tok.text);
  if (!parsed) return bad_at(tok, parsed.err().message);
  return *parsed;
}

expected<target> read_target(const token& tok) {
  auto slash = tok.text.find('/');
  if (slash == std::string::npos) {
    auto actor = read_name(tok, "the actor");
    if (!actor) return actor.err();
    return target{{}, std::move(*actor)};
  }
  token node_part{tok.kind, tok.text.substr(0, slash), tok.column};
  token actor_part{tok.kind, tok.text.substr(slash + 1), tok.column + slash + 1};
  auto node = read_name(node_part, "the node of NODE/ACTOR");
  if (!node) return node.err();
  auto actor = read_name(actor_part, "the actor of NODE/ACTOR");
  if (!actor) return actor.err();
  return target{std::move(*node), std::move(*actor)};
}

// Splits off a trailing `=> EXPECTATION`; returns the tokens before it.
expected<token_span> take_expectation(command& cmd, token_span operands) {
  auto arrow = std::find_if(operands.begin(), operands.end(),
                            [](const token& t) { return is_word(t, "=>"); });
  if (arrow == operands.end()) return operands;
  auto parsed = parse_expectation(std::vector<token>(arrow + 1, operands.end()));
  if (!parsed) return parsed.err();
  cmd.expect = std::move(*parsed);
  return operands.first(static_cast<size_t>(arrow - operands.begin()));
}

status parse_message_send(command& cmd, token_span operands) {
  if (cmd.kind == command_kind::ask) {
    auto rest = take_expectation(cmd, operands);
    if (!rest) return rest.err();
    operands = *rest;
    if (operands.size() >= 2 && is_word(operands[operands.size() - 2], "within")) {
      auto limit = read_duration(operands.back());
      if (!limit) return limit.err();
      cmd.within = *limit;
      operands = operands.first(operands.size() - 2);
    }
  }
  auto shape = cmd.kind == command_kind::ask
                   ? "ask TARGET MESSAGE [ARG ...] [within DURATION] [=> EXPECTATION]"
                   : "send TARGET MESSAGE [ARG ...]";
  if (operands.size() < 2) return bad(std::string{"missing TARGET or MESSAGE; usage: "} + shape);
  for (const auto& tok : operands) {
    if (tok.kind == token_kind::bar) return bad_at(tok, "unexpected '|'; quote it to send it");
    if (cmd.kind == command_kind::send && is_word(tok, "=>"))
      return bad_at(tok, "send does not wait for a reply; use ask to check one");
  }
  auto to = read_target(operands[0]);
  if (!to) return to.err();
  auto message = read_name(operands[1], "the message");
  if (!message) return message.err();
  cmd.to = std::move(*to);
  cmd.message = std::move(*message);
  cmd.args.assign(operands.begin() + 2, operands.end());
  return {};
}

expected<std::vector<std::string>> read_side(token_span side, const token& near) {
  std::vector<std::string> nodes;
  for (const auto& tok : side) {
    std::string_view text = tok.text;
    size_t offset = 0;
    while (offset <= text.size()) {
      auto comma = std::min(text.find(',', offset), text.size());
      if (comma > offset) {
        token part{token_kind::word, std::string{text.substr(offset, comma - offset)},
                   tok.column + offset};
        auto node = read_name(part, "a node");
        if (!node) return node.err();
        nodes.push_back(std::move(*node));
      }
      offset = comma + 1;
    }
  }
  if (nodes.empty()) return bad_at(near, "a side of the partition names no node");
  return nodes;
}

status parse_partition(command& cmd, token_span operands) {
  constexpr std::string_view shape = "partition NODE[,NODE...] | NODE[,NODE...]";
  auto bar = std::find_if(operands.begin(), operands.end(),
                          [](const token& t) { return t.kind == token_kind::bar; });
  if (bar == operands.end())
    return bad("partition needs '|' between the sides; usage: " + std::string{shape});
  auto split = static_cast<size_t>(bar - operands.begin());
  auto left = read_side(operands.first(split), *bar);
  if (!left) return left.err();
  auto right = read_side(operands.subspan(split + 1), *bar);
  if (!right) return right.err();
  for (const auto& node : *left)
    if (std::find(right->begin(), right->end(), node) != right->end())
      return bad("node " + quoted(node) + " is on both sides of the partition");
  cmd.nodes = std::move(*left);
  cmd.other_side = std::move(*right);
  return {};
}

status parse_nodes(command& cmd, token_span operands, size_t count, std::string_view shape) {
  if (auto ok = want_operands(cmd, operands, count, count, shape); !ok) return ok;
  for (const auto& tok : operands) {
    auto node = read_name(tok, "the node");
    if (!node) return node.err();
    cmd.nodes.push_back(std::move(*node));
  }
  return {};
}

status parse_setting(command& cmd, token_span operands, std::string_view shape) {
  if (auto ok = want_operands(cmd, operands, 2, 2, shape); !ok) return ok;
  auto setting = read_name(operands[0], "the setting");
  if (!setting) return setting.err();
  if (operands[1].kind == token_kind::bar) return bad_at(operands[1], "unexpected '|'");
  cmd.setting = std::move(*setting);
  cmd.setting_value = operands[1];
  return {};
}

status parse_guarded(command& cmd, token_span operands) {
  if (cmd.kind == command_kind::eventually) {
    if (operands.empty()) return bad("usage: eventually DURATION ask|members ... => EXPECTATION");
    auto limit = read_duration(operands[0]);
    if (!limit) return limit.err();
    cmd.duration = *limit;
    operands = operands.subspan(1);
  }
  if (operands.empty() || !(is_word(operands[0], "ask") || is_word(operands[0], "members")))
    return bad(std::string{keyword(cmd.kind)} + " must be followed by ask or members");
  auto inner = parse_command(std::vector<token>(operands.begin(), operands.end()));
  if (!inner) return inner.err();
  if (!inner->expect) inner->expect = expectation{};
  cmd.inner = std::make_shared<const command>(std::move(*inner));
  return {};
}

status parse_simple(command& cmd, token_span operands) {
  switch (cmd.kind) {
    case command_kind::members: {
      auto rest = take_expectation(cmd, operands);
      if (!rest) return rest.err();
      return want_operands(cmd, *rest, 0, 0, "members [=> EXPECTATION]");
    }
    case command_kind::help: {
      if (auto ok = want_operands(cmd, operands, 0, 2, "help [ACTOR [MESSAGE]]"); !ok) return ok;
      if (!operands.empty()) {
        auto actor = read_name(operands[0], "the actor");
        if (!actor) return actor.err();
        cmd.to.actor = std::move(*actor);
      }
      if (operands.size() == 2) {
        auto message = read_name(operands[1], "the message");
        if (!message) return message.err();
        cmd.message = std::move(*message);
      }
      return {};
    }
    case command_kind::sleep:
    case command_kind::advance: {
      auto shape = cmd.kind == command_kind::sleep ? "sleep DURATION" : "advance DURATION";
      if (auto ok = want_operands(cmd, operands, 1, 1, shape); !ok) return ok;
      auto limit = read_duration(operands[0]);
      if (!limit) return limit.err();
      cmd.duration = *limit;
      return {};
    }
    case command_kind::echo:
      for (size_t i = 0; i < operands.size(); ++i) cmd.text += (i ? " " : "") + operands[i].text;
      return {};
    case command_kind::quit:
    case command_kind::heal:
      return want_operands(cmd, operands, 0, 0, keyword(cmd.kind));
    default:
      return bad("internal: no parser for " + std::string{keyword(cmd.kind)});
  }
}

status parse_operands(command& cmd, token_span operands) {
  switch (cmd.kind) {
    case command_kind::send:
    case command_kind::ask:
      return parse_message_send(cmd, operands);
    case command_kind::set:
      return parse_setting(cmd, operands, "set NAME VALUE");
    case command_kind::fault:
      return parse_setting(cmd, operands, "fault NAME VALUE");
    case command_kind::crash:
      return parse_nodes(cmd, operands, 1, "crash NODE");
    case command_kind::restart:
      return parse_nodes(cmd, operands, 1, "restart NODE");
    case command_kind::isolate:
      return parse_nodes(cmd, operands, 1, "isolate NODE");
    case command_kind::clog:
      return parse_nodes(cmd, operands, 2, "clog NODE NODE");
    case command_kind::unclog:
      return parse_nodes(cmd, operands, 2, "unclog NODE NODE");
    case command_kind::partition:
      return parse_partition(cmd, operands);
    case command_kind::expect:
    case command_kind::eventually:
      return parse_guarded(cmd, operands);
    default:
      return parse_simple(cmd, operands);
  }
}

}  // namespace

std::string_view keyword(command_kind kind) {
  for (const auto& row : keywords)
    if (row.kind == kind) return row.word;
  return "?";
}

bool is_simulator_only(command_kind kind) {
  return static_cast<int>(kind) >= static_cast<int>(command_kind::advance);
}

expected<command> parse_command(const std::vector<token>& tokens) {
  LIB_ASSERT(!tokens.empty());
  const token& head = tokens.front();
  command cmd;
  bool known = false;
  if (head.kind == token_kind::word) {
    for (const auto& row : keywords)
      if (row.word == head.text) {
        cmd.kind = row.kind;
        known = true;
      }
    if (head.text == "exit") {
      cmd.kind = command_kind::quit;
      known = true;
    }
  }
  if (!known)
    return bad_at(head, "unknown command " + quoted(head.text) +
                            " (send, ask, members, help, sleep, echo, set, quit; simulator only: "
                            "advance, crash, restart, partition, isolate, heal, clog, unclog, "
                            "fault, expect, eventually)");
  if (auto ok = parse_operands(cmd, token_span{tokens}.subspan(1)); !ok) return ok.err();
  return cmd;
}

expected<std::optional<command>> parse_line(std::string_view line) {
  auto tokens = tokenize(line);
  if (!tokens) return tokens.err();
  if (tokens->empty()) return std::optional<command>{};
  auto cmd = parse_command(*tokens);
  if (!cmd) return cmd.err();
  return std::optional<command>{std::move(*cmd)};
}

}  // namespace librarian::console
