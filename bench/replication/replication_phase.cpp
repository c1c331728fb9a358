// Enabling, watching and checking one replication run over the HTTP API.
#include "bench/replication/replication_phase.hpp"

#include <functional>
#include <thread>
#include <unordered_map>

#include "bench/replication/interruption.hpp"

namespace librarian::bench {
namespace {

using nlohmann::json;
using steady = std::chrono::steady_clock;

// Two small GETs per poll; adds at most this much to the measured time.
constexpr auto report_poll = std::chrono::milliseconds(50);
constexpr uint64_t search_page_files = 1000;
constexpr size_t search_pages_max = 100000;  // 100M files: far beyond any run of this suite

uint64_t counter(const json& report, const char* name) {
  auto it = report.find("counters");
  return it != report.end() && it->is_object() ? it->value(name, uint64_t{0}) : 0;
}

// The report's per-status counts hold live transfers only; settled ones leave memory.
uint64_t live(const json& report, const char* side) {
  uint64_t n = 0;
  if (auto it = report.find(side); it != report.end() && it->is_object())
    for (const auto& [status, count] : it->items()) n += count.get<uint64_t>();
  return n;
}

status set_transfers(const node_pair& pair, bool enabled) {
  auto r = call_node(pair.a, "POST", "/api/v1/admin/librarians/transfer_status",
                     json{{"name", "b"}, {"transfers_enabled", enabled}});
  if (!r) return r.err();
  return {};
}

// Anything that moves on either side counts as progress.
uint64_t progress_mark(const json& a, const json& b) {
  return counter(a, "batches_created") + counter(a, "batches_started") + counter(a, "bytes_moved") +
         counter(a, "transfers_completed") + counter(b, "stage_requests_received") +
         counter(b, "tickets_issued") + counter(b, "incoming_completed");
}

// The pipeline's steps in order: A makes batches and asks B to stage them, B stages, A asks for
// tickets, B issues them, A's mover moves, A tells B, B ingests, A records B's copy.
void note_first_seen(replication_timing& t, const json& a, const json& b, double elapsed_s) {
  static constexpr std::pair<char, const char*> steps[] = {
      {'a', "batches_created"},    {'b', "stage_requests_received"}, {'a', "batches_staged"},
      {'a', "batches_started"},    {'b', "tickets_issued"},          {'a', "batches_moved"},
      {'b', "incoming_completed"}, {'a', "transfers_completed"}};
  for (const auto& [side, name] : steps) {
    const auto key = std::string{side} + "." + name;
    if (!t.first_seen_s.contains(key) && counter(side == 'a' ? a : b, name) > 0)
      t.first_seen_s[key] = elapsed_s;
  }
}

// Folds one poll's reports into the timing: first and last file at B, B's backlog, the
// per-step timeline.
void observe(replication_timing& t, const json& a, const json& b, double elapsed_s, size_t files,
             uint64_t polls) {
  const uint64_t at_b = counter(b, "incoming_completed");
  if (at_b > 0 && t.first_at_b_s == 0) t.first_at_b_s = elapsed_s;
  if (at_b >= files && t.all_at_b_s == 0) t.all_at_b_s = elapsed_s;
  uint64_t waiting = 0;
  if (auto it = b.find("incoming"); it != b.end() && it->is_object())
    waiting = it->value("STAGED", uint64_t{0});
  t.b_staged_waiting_max = std::max(t.b_staged_waiting_max, waiting);
  t.b_staged_waiting_mean +=
      (static_cast<double>(waiting) - t.b_staged_waiting_mean) / static_cast<double>(polls);
  note_first_seen(t, a, b, elapsed_s);
}

// Every file committed at B, and no live transfer or batch on either side.
bool settled(const json& a, const json& b, size_t files) {
  auto batches = a.find("active_batches");
  return counter(b, "incoming_completed") >= files && live(a, "outgoing") == 0 &&
         live(b, "incoming") == 0 && batches != a.end() && batches->empty();
}

// Calls fn on every file of every page of a search; false from fn stops with that error.
status for_each_file(const replication_node& node, json query,
                     const std::function<status(const json&)>& fn) {
  query["max_results"] = search_page_files;
  for (size_t page = 0; page < search_pages_max; ++page) {
    auto r = call_node(node, "POST", "/api/v1/files/search", query);
    if (!r) return r.err();
    for (const auto& f : (*r)["files"])
      if (auto st = fn(f); !st) return st;
    if (!r->value("more", false)) return {};
    query["after"] = r->value("next_after", std::string{});
  }
  return fail(errc::internal, "the search on " + node.name + " did not end");
}

}  // namespace

status register_and_pause(const node_pair& pair) {
  auto added = call_node(pair.a, "POST", "/api/v1/admin/librarians/add",
                         json{{"name", "b"},
                              {"url", "http://127.0.0.1"},
                              {"port", pair.b.http_port},
                              {"authenticator", *pair.b.conn.user + ":" + *pair.b.conn.password},
                              {"check_connection", false}});
  if (!added) return added.err();
  return set_transfers(pair, false);
}

expected<replication_timing> replicate_all(node_pair& pair, size_t files,
                                           const replication_limits& limits) {
  replication_timing t;
  const double cpu_a = pair.a.proc->cpu_seconds(), cpu_b = pair.b.proc->cpu_seconds();
  static_cast<void>(pair.a.proc->reset_rss_peak());  // refused: the peak covers the loading too
  static_cast<void>(pair.b.proc->reset_rss_peak());
  if (auto st = set_transfers(pair, true); !st) return st.err();
  const auto start = steady::now();
  uint64_t mark = 0, polls = 0;
  auto moved_at = start;
  for (;;) {
    std::this_thread::sleep_for(report_poll);
    if (interruption_requested()) return fail(errc::unavailable, "interrupted");
    auto a = call_node(pair.a, "GET", "/api/v1/replication");
    auto b = call_node(pair.b, "GET", "/api/v1/replication");
    if (!a) return a.err();
    if (!b) return b.err();
    const auto now = steady::now();
    const double elapsed_s = std::chrono::duration<double>(now - start).count();
    observe(t, *a, *b, elapsed_s, files, ++polls);
    if (settled(*a, *b, files)) {
      t.settled_s = elapsed_s;
      t.cpu_a_s = pair.a.proc->cpu_seconds() - cpu_a;
      t.cpu_b_s = pair.b.proc->cpu_seconds() - cpu_b;
      t.rss_peak_a_kib = pair.a.proc->rss_peak_kib();
      t.rss_peak_b_kib = pair.b.proc->rss_peak_kib();
      t.counters_a = (*a)["counters"];
      t.counters_b = (*b)["counters"];
      return t;
    }
    if (auto m = progress_mark(*a, *b); m != mark) {
      mark = m;
      moved_at = now;
    }
    if (now - moved_at > limits.stalled || now - start > limits.total)
      return fail(errc::timeout,
                  "replication stalled at " + std::to_string(counter(*b, "incoming_completed")) +
                      " of " + std::to_string(files) + " files at b after " +
                      std::to_string(static_cast<int>(elapsed_s)) +
                      " s; a: " + a->dump().substr(0, 1500) + " b: " + b->dump().substr(0, 1500));
  }
}

expected<json> check_replicated(const node_pair& pair, const std::vector<source_file>& files) {
  std::unordered_map<std::string, const source_file*> wanted;
  for (const auto& f : files) wanted[f.name] = &f;
  size_t at_b = 0;
  auto st = for_each_file(pair.b, json::object(), [&](const json& f) -> status {
    auto it = wanted.find(f.value("name", std::string{}));
    if (it == wanted.end()) return {};
    if (f.value("checksum", std::string{}) != it->second->checksum || f["instances"].size() != 1)
      return fail(errc::checksum_mismatch, "b holds " + it->first + " as " + f.dump());
    ++at_b;
    return {};
  });
  if (!st) return st.err();
  size_t recorded_at_a = 0, recorded_twice = 0;
  json examples = json::array();
  st = for_each_file(pair.a, json{{"has_remote_at", "b"}}, [&](const json& f) -> status {
    if (!wanted.contains(f.value("name", std::string{}))) return {};
    ++recorded_at_a;
    size_t at_b_records = 0;
    for (const auto& r : f["remote_instances"]) at_b_records += r.value("librarian", "") == "b";
    if (at_b_records > 1 && recorded_twice++ < 2)
      examples.push_back({{"name", f["name"]}, {"remote_instances", f["remote_instances"]}});
    return {};
  });
  if (!st) return st.err();
  if (at_b != files.size() || recorded_at_a != files.size())
    return fail(errc::internal, "after replication b has " + std::to_string(at_b) +
                                    " and a records " + std::to_string(recorded_at_a) +
                                    " remote copies of " + std::to_string(files.size()) + " files");
  return json{{"a_files_with_several_remote_records_at_b", recorded_twice}, {"examples", examples}};
}

}  // namespace librarian::bench
