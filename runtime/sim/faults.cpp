// World commands (partitions, clogs, fault rates) and the checkers.
#include <cstdlib>
#include <sstream>

#include "actors/node/console_messages.hpp"
#include "actors/node/interface.hpp"
#include "actors/node/users_state.hpp"
#include "actors/rls/lrc_state.hpp"
#include "runtime/caf/catalog.hpp"
#include "runtime/sim/world_impl.hpp"

namespace librarian::sim {
namespace {

expected<size_t> index_of(world_impl& w, const std::string& name) {
  auto* n = w.find(name);
  if (!n) return fail(errc::not_found, "no node named '" + name + "' in this world");
  return n->index;
}

expected<double> number(const std::string& name, const std::string& text, double min, double max) {
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || value < min || value > max)
    return fail(errc::invalid_argument, "fault " + name + " wants a number from " +
                                            std::to_string(min) + " to " + std::to_string(max) +
                                            ", got \"" + text + "\"");
  return value;
}

}  // namespace

status world::partition(const std::vector<std::string>& left,
                        const std::vector<std::string>& right) {
  auto& w = *impl_;
  std::vector<size_t> l, r;
  for (const auto& name : left) {
    auto i = index_of(w, name);
    if (!i) return i.err();
    l.push_back(*i);
  }
  for (const auto& name : right) {
    auto i = index_of(w, name);
    if (!i) return i.err();
    r.push_back(*i);
  }
  for (auto a : l)
    for (auto b : r) {
      w.cut.insert({a, b});
      w.cut.insert({b, a});
    }
  w.trace("partition");
  w.reevaluate_links();
  return {};
}

status world::isolate(const std::string& name) {
  std::vector<std::string> rest;
  for (const auto& other : node_names())
    if (other != name) rest.push_back(other);
  if (!has_node(name)) return fail(errc::not_found, "no node named '" + name + "' in this world");
  return partition({name}, rest);
}

void world::heal() {
  auto& w = *impl_;
  w.cut.clear();
  w.trace("heal");
  auto clogged = w.clogged;
  for (const auto& [from, to] : clogged)
    static_cast<void>(unclog(w.nodes[from].name, w.nodes[to].name));
  w.reevaluate_links();
}

status world::clog(const std::string& from, const std::string& to) {
  auto a = index_of(*impl_, from);
  auto b = index_of(*impl_, to);
  if (!a) return a.err();
  if (!b) return b.err();
  impl_->clogged.insert({*a, *b});
  impl_->trace("clog " + from + "->" + to);
  return {};
}

status world::unclog(const std::string& from, const std::string& to) {
  auto a = index_of(*impl_, from);
  auto b = index_of(*impl_, to);
  if (!a) return a.err();
  if (!b) return b.err();
  auto& w = *impl_;
  w.clogged.erase({*a, *b});
  w.trace("unclog " + from + "->" + to);
  // Held messages go out now, in the order they were sent.
  auto held = std::move(w.clogged_messages[{*a, *b}]);
  w.clogged_messages.erase({*a, *b});
  for (auto& deliver : held) w.schedule(milliseconds{0}, std::move(deliver));
  return {};
}

status world::set_fault(const std::string& name, const std::string& value) {
  auto& p = impl_->profile;
  auto set_int = [&](int64_t& field, double max) -> status {
    auto v = number(name, value, 0, max);
    if (!v) return v.err();
    field = static_cast<int64_t>(*v);
    p.delay_max_ms = std::max(p.delay_max_ms, p.delay_min_ms);
    return {};
  };
  impl_->trace("fault " + name + " " + value);
  if (name == "drop" || name == "duplicate") {
    auto v = number(name, value, 0, 1);
    if (!v) return v.err();
    (name == "drop" ? p.drop : p.duplicate) = *v;
    return {};
  }
  if (name == "delay_min_ms") return set_int(p.delay_min_ms, 600000);
  if (name == "delay_max_ms") return set_int(p.delay_max_ms, 600000);
  if (name == "disk_latency_max_ms") return set_int(p.disk_latency_max_ms, 600000);
  if (name == "detect_down_ms") return set_int(p.detect_down_ms, 600000);
  if (name == "random_crashes") return set_int(impl_->random_crashes, 1000);
  if (name == "random_partitions") return set_int(impl_->random_partitions, 1000);
  for (auto [key, field] :
       {std::pair{"mover_corrupt", &p.mover_corrupt},
        std::pair{"mover_truncate", &p.mover_truncate}, std::pair{"mover_stall", &p.mover_stall},
        std::pair{"mover_lost", &p.mover_lost}, std::pair{"mover_reply_lost", &p.mover_reply_lost}})
    if (name == key) {
      auto v = number(name, value, 0, 1);
      if (!v) return v.err();
      *field = *v;
      return {};
    }
  if (name == "mover_kbytes_per_ms") return set_int(p.mover_kbytes_per_ms, 1e9);
  if (name.rfind("disk_full.", 0) == 0) {
    auto* n = impl_->find(name.substr(10));
    if (!n) return fail(errc::not_found, "no node named '" + name.substr(10) + "'");
    auto v = number(name, value, 0, 1);
    if (!v) return v.err();
    n->files->set_full(*v != 0);
    return {};
  }
  if (name.rfind("cut.", 0) == 0) {
    // cut.FROM.TO: an asymmetric partition; with TCP both sides soon see the link down.
    auto rest = name.substr(4);
    auto dot = rest.find('.');
    if (dot == std::string::npos)
      return fail(errc::invalid_argument,
                  "fault cut.FROM.TO wants two node names, got \"" + name + "\"");
    auto from = index_of(*impl_, rest.substr(0, dot));
    auto to = index_of(*impl_, rest.substr(dot + 1));
    if (!from) return from.err();
    if (!to) return to.err();
    auto v = number(name, value, 0, 1);
    if (!v) return v.err();
    if (*v != 0)
      impl_->cut.insert({*from, *to});
    else
      impl_->cut.erase({*from, *to});
    impl_->reevaluate_links();
    return {};
  }
  if (name == "rls_layout") {
    if (value != "lists" && value != "modes" && value != "index")
      return fail(errc::invalid_argument,
                  "fault rls_layout wants lists, modes or index, got \"" + value + "\"");
    // The layout is node configuration: every live node restarts with it (as after a crash).
    impl_->rls_layout = value;
    for (const auto& node : node_names()) {
      if (!alive(node)) continue;
      if (auto st = crash(node); !st) return st;
      if (auto st = restart(node); !st) return st;
    }
    return {};
  }
  if (name.rfind("disk_fail.", 0) == 0) {
    auto* n = impl_->find(name.substr(10));
    if (!n) return fail(errc::not_found, "no node named '" + name.substr(10) + "'");
    auto v = number(name, value, 0, 1);
    if (!v) return v.err();
    n->disk_failing = *v != 0;
    if (n->disk_failing)
      n->disk->fail_writes_matching("", errc::storage_full);
    else
      n->disk->clear_write_failures();
    return {};
  }
  return fail(
      errc::invalid_argument,
      "unknown fault '" + name +
          "'; known: drop, duplicate, delay_min_ms, delay_max_ms, disk_latency_max_ms, "
          "detect_down_ms, random_crashes, random_partitions, disk_fail.NODE, disk_full.NODE, "
          "cut.FROM.TO, mover_corrupt, mover_truncate, mover_stall, mover_lost, "
          "mover_reply_lost, mover_kbytes_per_ms, rls_layout");
}

expected<std::string> world::members_text(const std::string& node, milliseconds timeout) {
  auto printer =
      typed_ask<std::vector<node::member_info>>([](const std::vector<node::member_info>& xs) {
        return print_lines(xs, [](const node::member_info& m) { return m.name + " " + m.state; });
      });
  auto* n = impl_->find(node);
  if (!n) return fail(errc::not_found, "no node named '" + node + "'");
  if (!n->alive) return fail(errc::unavailable, "node " + node + " is down");
  // Straight to the membership actor, as the gateway's `members` does.
  return ask_payload(node, "membership", caf::make_message(atoms::members_atom_v), printer,
                     timeout);
}

void world::record_ack(const std::string& node, const std::string& actor,
                       const std::string& message, const std::vector<std::string>& args,
                       const expected<std::string>& reply) {
  if (actor == "lrc" && args.size() >= 2 && reply) {
    auto& acked = impl_->acked_mappings[node];
    if (message == "create" || message == "add") acked.insert({args[0], args[1]});
    if (message == "remove") acked.erase({args[0], args[1]});
    if (message == "rename") {
      std::set<std::pair<std::string, std::string>> moved;
      for (auto it = acked.begin(); it != acked.end();) {
        if (it->first == args[0]) {
          moved.insert({args[1], it->second});
          it = acked.erase(it);
        } else {
          ++it;
        }
      }
      acked.insert(moved.begin(), moved.end());
    }
    return;
  }
  if (actor != "users" || args.empty()) return;
  auto& acked = impl_->acked_users[node];
  const auto& user = args[0];
  if (message == "create") {
    // The model knows the user exists: a second successful create is a broken guard.
    if (reply && acked.count(user))
      impl_->violations.push_back("node " + node + " acknowledged creating user '" + user +
                                  "', which it had already acknowledged creating");
    if (reply) acked.insert(user);
  } else if (message == "remove" && reply) {
    acked.erase(user);
  }
}

std::vector<std::string> world_impl::lost_acknowledged(node_slot& n) {
  std::vector<std::string> lost;
  if (!n.alive || !n.db) return lost;
  for (const auto& user : acked_users[n.name]) {
    auto row = n.db->get(n.db->get_table(node::users_table), user);
    if (!row || !*row)
      lost.push_back("node " + n.name + " lost user '" + user +
                     "' that it had acknowledged creating");
  }
  rls::lrc_state lrc{*n.db};
  if (auto st = lrc.load(); !st) {
    lost.push_back("node " + n.name + ": cannot load its replica catalog: " + st.err().describe());
    return lost;
  }
  for (const auto& [lfn, pfn] : acked_mappings[n.name]) {
    auto present = lrc.exists_mapping(lfn, pfn);
    if (!present || !*present)
      lost.push_back("node " + n.name + " lost mapping " + lfn + " -> " + pfn +
                     " that it had acknowledged");
  }
  return lost;
}

std::vector<std::string> world::check_safety() {
  auto& w = *impl_;
  for (auto& n : w.nodes) {
    for (auto& v : w.lost_acknowledged(n)) w.violations.push_back(std::move(v));
    for (auto& v : w.replica_violations(n)) w.violations.push_back(std::move(v));
  }
  auto out = w.violations;
  w.violations.clear();
  return out;
}

status world::preload_lrc(const std::string& node, const std::string& prefix, size_t count) {
  auto* n = impl_->find(node);
  if (!n) return fail(errc::not_found, "no node named '" + node + "' in this world");
  bool was_alive = n->alive;
  if (was_alive)
    if (auto st = crash(node); !st) return st;
  {
    auto db = storage::db::open(world_impl::db_options(*n));
    if (!db) return db.err();
    rls::lrc_state lrc{**db};
    if (auto st = lrc.load(); !st) return st;
    const size_t per_batch = 1000;
    for (size_t start = 0; start < count; start += per_batch) {
      std::vector<rls::mapping> items;
      for (size_t i = start; i < std::min(count, start + per_batch); ++i)
        items.push_back(
            {prefix + std::to_string(i), "sim://" + node + "/" + prefix + std::to_string(i)});
      storage::batch b;
      auto results = lrc.bulk_create(items, b);
      if (!results) return results.err();
      for (const auto& r : *results)
        if (!r) return r.err();
      if (auto st = (*db)->write(b, storage::durability::sync); !st) return st;
    }
  }
  return was_alive ? restart(node) : status{};
}

expected<std::map<std::string, uint64_t>> world::rli_lfn_counts(const std::string& node,
                                                                milliseconds timeout) {
  auto printer = typed_ask<std::vector<std::string>>([](const std::vector<std::string>& xs) {
    return print_lines(xs, [](const std::string& s) { return s; });
  });
  auto text = ask_payload(node, "rli", caf::make_message(atoms::list_atom_v), printer, timeout);
  if (!text) return text.err();
  std::map<std::string, uint64_t> out;
  std::istringstream lines{*text};
  std::string line;
  while (std::getline(lines, line)) {
    auto space = line.find(' ');
    auto at = line.find(" lfns=");
    if (space == std::string::npos || at == std::string::npos) continue;
    out[line.substr(0, space)] = std::strtoull(line.c_str() + at + 6, nullptr, 10);
  }
  return out;
}

// Liveness of soft state is "eventually": under continuing message loss an RLI may briefly
// forget an LRC whose update was lost, so each (RLI, LRC, LFN) must be seen listed at least once
// within a window of a few update intervals.
std::vector<std::string> world::check_rli_converged() {
  auto printer = typed_ask<std::vector<std::string>>([](const std::vector<std::string>& xs) {
    return print_lines(xs, [](const std::string& s) { return s; });
  });
  struct expectation {
    std::string rli, lrc, lfn, last;
  };
  std::vector<expectation> open;
  for (const auto& [lrc, mappings] : impl_->acked_mappings) {
    if (!alive(lrc)) continue;
    std::set<std::string> lfns;
    for (const auto& [lfn, pfn] : mappings) lfns.insert(lfn);
    for (const auto& rli : node_names())
      if (alive(rli))
        for (const auto& lfn : lfns) open.push_back({rli, lrc, lfn, ""});
  }
  constexpr int rounds_max = 60;  // 60 x 500 ms = 6 update intervals of the simulated config
  for (int round = 0; round < rounds_max && !open.empty(); ++round) {
    std::vector<expectation> still;
    for (auto& e : open) {
      auto text = ask_payload(e.rli, "rli", caf::make_message(atoms::query_atom_v, e.lfn), printer,
                              milliseconds{5000});
      // A Bloom-mode LRC is listed as "NAME maybe".
      if (text && (text->find(e.lrc + "\n") != std::string::npos ||
                   text->find(e.lrc + " maybe\n") != std::string::npos))
        continue;
      e.last = text ? *text : text.err().describe();
      still.push_back(std::move(e));
    }
    open = std::move(still);
    if (!open.empty()) advance(milliseconds{500});
  }
  std::vector<std::string> problems;
  for (const auto& e : open)
    problems.push_back("RLI " + e.rli + " never listed LRC " + e.lrc + " for " + e.lfn +
                       " within 30 s (last answer: " + e.last + ")");
  return problems;
}

std::vector<std::string> world::check_membership_converged() {
  std::vector<std::string> problems;
  for (const auto& name : node_names()) {
    if (!alive(name)) continue;
    auto text = members_text(name, milliseconds{5000});
    if (!text) {
      problems.push_back("members of " + name + ": " + text.err().describe());
      continue;
    }
    for (const auto& other : node_names()) {
      auto expected_line = other + (alive(other) ? " up" : " down");
      if (text->find(expected_line + "\n") == std::string::npos)
        problems.push_back("node " + name + " does not show '" + expected_line +
                           "' (it shows: " + *text + ")");
    }
  }
  return problems;
}

}  // namespace librarian::sim
