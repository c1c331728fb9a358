// Every command form of the console language, and the world commands of the simulator.
#include <doctest/doctest.h>

#include "runtime/console/language.hpp"

using namespace librarian;
using namespace librarian::console;
using namespace std::chrono_literals;

namespace {
command parse(std::string_view line) {
  auto parsed = parse_line(line);
  if (!parsed) FAIL_CHECK(parsed.err().message);
  REQUIRE(parsed);
  REQUIRE(parsed->has_value());
  return **parsed;
}

std::string refusal(std::string_view line) {
  auto parsed = parse_line(line);
  REQUIRE_FALSE(parsed);
  CHECK(parsed.err().code == errc::invalid_argument);
  return parsed.err().message;
}

std::vector<std::string> arg_texts(const command& cmd) {
  std::vector<std::string> out;
  for (const auto& t : cmd.args) out.push_back(t.text);
  return out;
}
}  // namespace

TEST_CASE("blank and comment lines parse to nothing") {
  for (auto line : {"", "   ", "\t", "# comment", "  # indented comment"}) {
    auto parsed = parse_line(line);
    REQUIRE(parsed);
    CHECK_FALSE(parsed->has_value());
  }
}

TEST_CASE("send takes a target, a message and raw arguments") {
  auto cmd = parse(R"(send users create alice "pw 1" 42)");
  CHECK(cmd.kind == command_kind::send);
  CHECK(cmd.to == target{"", "users"});
  CHECK(cmd.message == "create");
  CHECK(arg_texts(cmd) == std::vector<std::string>{"alice", "pw 1", "42"});
  CHECK_FALSE(cmd.expect);
  CHECK(refusal("send users ping => ok").find("use ask") != std::string::npos);
}

TEST_CASE("a target may name its node") {
  auto cmd = parse("ask node-b/catalog get_file zen.1.uv");
  CHECK(cmd.to == target{"node-b", "catalog"});
  CHECK(cmd.message == "get_file");
  CHECK(refusal("ask a/b/c ping").starts_with("column 7: the actor of NODE/ACTOR must be a name"));
  CHECK(refusal("ask /users ping").starts_with("column 5: the node of NODE/ACTOR"));
  CHECK(refusal(R"(ask "users" ping)").starts_with("column 5: the actor must be a name"));
  CHECK(parse("ask 7/users ping").to == target{"7", "users"});
  CHECK(refusal(R"(ask "a/b" ping)").starts_with("column 5: the node of NODE/ACTOR"));
}

TEST_CASE("ask takes an optional timeout and expectation") {
  auto plain = parse("ask users list");
  CHECK(plain.kind == command_kind::ask);
  CHECK(plain.args.empty());
  CHECK_FALSE(plain.within);
  CHECK_FALSE(plain.expect);

  auto full = parse(R"(ask users get alice within 250ms => contains "READWRITE")");
  CHECK(arg_texts(full) == std::vector<std::string>{"alice"});
  CHECK(full.within == 250ms);
  REQUIRE(full.expect);
  CHECK(*full.expect == expectation{expectation_kind::contains, {}, "READWRITE"});

  auto error_expected = parse("ask users get zed => error not_found");
  REQUIRE(error_expected.expect);
  CHECK(error_expected.expect->code == errc::not_found);

  auto quoted_keywords = parse(R"(ask notes add "within" "=>")");
  CHECK(arg_texts(quoted_keywords) == std::vector<std::string>{"within", "=>"});
  CHECK_FALSE(quoted_keywords.expect);
}

TEST_CASE("ask refuses what it cannot read") {
  CHECK(refusal("ask").starts_with("missing TARGET or MESSAGE"));
  CHECK(refusal("ask users").starts_with("missing TARGET or MESSAGE"));
  CHECK(refusal("ask users get x within soon").starts_with("column 24: expected a duration"));
  CHECK(refusal("ask users get x =>").starts_with("missing expectation"));
  CHECK(refusal("ask users get x => error bogus").starts_with("column 26: unknown error code"));
  CHECK(refusal("ask users get a | b").starts_with("column 17: unexpected '|'"));
}

TEST_CASE("members, help, sleep, echo, set and quit") {
  auto members = parse("members => count 3");
  CHECK(members.kind == command_kind::members);
  CHECK(members.expect == expectation{expectation_kind::count, {}, {}, 3});
  CHECK(parse("members").kind == command_kind::members);
  CHECK(refusal("members all").starts_with("column 9: unexpected"));

  CHECK(parse("help").to.actor.empty());
  auto help = parse("help users create");
  CHECK(help.kind == command_kind::help);
  CHECK(help.to.actor == "users");
  CHECK(help.message == "create");
  CHECK(refusal("help a b c").starts_with("column 10: unexpected"));

  auto sleep = parse("sleep 2m");
  CHECK(sleep.kind == command_kind::sleep);
  CHECK(sleep.duration == 120000ms);
  CHECK(refusal("sleep").starts_with("sleep needs more operands"));
  CHECK(refusal("sleep 10").starts_with("column 7: expected a duration"));

  auto echo = parse(R"(echo hello   "big world"  # not this)");
  CHECK(echo.kind == command_kind::echo);
  CHECK(echo.text == "hello big world");

  auto set = parse("set timeout 5s");
  CHECK(set.kind == command_kind::set);
  CHECK(set.setting == "timeout");
  REQUIRE(set.setting_value);
  CHECK(set.setting_value->text == "5s");
  CHECK(refusal("set timeout").starts_with("set needs more operands"));

  CHECK(parse("quit").kind == command_kind::quit);
  CHECK(parse("exit").kind == command_kind::quit);
  CHECK(refusal("frobnicate x").starts_with("column 1: unknown command \"frobnicate\""));
}

TEST_CASE("world commands parse as their own kinds, marked simulator only") {
  auto advance = parse("advance 1h");
  CHECK(advance.kind == command_kind::advance);
  CHECK(advance.duration == 3600000ms);
  CHECK(parse("crash node-a").nodes == std::vector<std::string>{"node-a"});
  CHECK(parse("restart node-a").kind == command_kind::restart);
  CHECK(parse("isolate node-c").kind == command_kind::isolate);
  CHECK(parse("heal").kind == command_kind::heal);
  auto clog = parse("clog a b");
  CHECK(clog.kind == command_kind::clog);
  CHECK(clog.nodes == std::vector<std::string>{"a", "b"});
  CHECK(parse("unclog a b").kind == command_kind::unclog);
  auto fault = parse("fault drop 0.05");
  CHECK(fault.kind == command_kind::fault);
  CHECK(fault.setting == "drop");
  CHECK(fault.setting_value->kind == token_kind::number);

  for (auto kind :
       {command_kind::advance, command_kind::crash, command_kind::restart, command_kind::partition,
        command_kind::isolate, command_kind::heal, command_kind::clog, command_kind::unclog,
        command_kind::fault, command_kind::expect, command_kind::eventually})
    CHECK(is_simulator_only(kind));
  for (auto kind :
       {command_kind::send, command_kind::ask, command_kind::members, command_kind::help,
        command_kind::sleep, command_kind::echo, command_kind::set, command_kind::quit})
    CHECK_FALSE(is_simulator_only(kind));

  CHECK(refusal("crash").starts_with("crash needs more operands"));
  CHECK(refusal("clog a").starts_with("clog needs more operands"));
  CHECK(refusal("heal now").starts_with("column 6: unexpected"));
}

TEST_CASE("partition splits nodes into two sides") {
  auto cmd = parse("partition a,b | c");
  CHECK(cmd.kind == command_kind::partition);
  CHECK(cmd.nodes == std::vector<std::string>{"a", "b"});
  CHECK(cmd.other_side == std::vector<std::string>{"c"});
  CHECK(parse("partition a, b|c,d").other_side == std::vector<std::string>{"c", "d"});
  CHECK(refusal("partition a b").starts_with("partition needs '|'"));
  CHECK(refusal("partition a | ").starts_with("column 13: a side of the partition names no node"));
  CHECK(refusal("partition a,b | b").starts_with("node \"b\" is on both sides"));
}

TEST_CASE("expect and eventually wrap an ask or members") {
  auto expect = parse("expect ask node-a/users get alice => ok");
  CHECK(expect.kind == command_kind::expect);
  REQUIRE(expect.inner);
  CHECK(expect.inner->kind == command_kind::ask);
  CHECK(expect.inner->to == target{"node-a", "users"});
  CHECK(expect.inner->expect == expectation{expectation_kind::ok});

  auto implicit_ok = parse("expect members");
  REQUIRE(implicit_ok.inner);
  CHECK(implicit_ok.inner->expect == expectation{expectation_kind::ok});

  auto eventually = parse("eventually 30s members => count 3");
  CHECK(eventually.kind == command_kind::eventually);
  CHECK(eventually.duration == 30000ms);
  REQUIRE(eventually.inner);
  CHECK(eventually.inner->kind == command_kind::members);
  CHECK(eventually.inner->expect->count == 3);

  CHECK(refusal("expect crash a").starts_with("expect must be followed by ask or members"));
  CHECK(refusal("eventually ask users list").starts_with("column 12: expected a duration"));
  CHECK(refusal("eventually").starts_with("usage: eventually"));
}

TEST_CASE("keywords round-trip") {
  CHECK(keyword(command_kind::partition) == "partition");
  CHECK(keyword(command_kind::quit) == "quit");
  CHECK(keyword(command_kind::eventually) == "eventually");
}
