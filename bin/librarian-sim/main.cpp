// librarian-sim: runs a scenario (console language plus world commands) against a whole
// simulated cluster, for one seed or a sweep of seeds. Each run prints its seed and drawn fault
// profile first; a failing seed prints the one command that replays it. docs/simulation.md.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "runtime/log.hpp"
#include "runtime/planted.hpp"
#include "runtime/probe.hpp"
#include "runtime/sim/executor.hpp"

namespace {

using namespace librarian;
using namespace std::chrono_literals;

struct options {
  std::string scenario;
  uint64_t seed = 1;
  std::string seeds;  // A..B
  size_t nodes = 3;
  std::string plant_bug;
  bool quiet_faults = false;
  bool verbose = false;
  bool check_determinism = false;
  int64_t settle_s = 30;
  std::string log_level = "off";
};

struct outcome {
  bool passed = true;
  uint64_t trace = 0;
  std::string why;
};

std::string replay_command(const options& o, uint64_t seed) {
  std::ostringstream cmd;
  cmd << "librarian-sim " << o.scenario << " --seed " << seed << " --nodes " << o.nodes;
  if (!o.plant_bug.empty()) cmd << " --plant-bug " << o.plant_bug;
  if (o.quiet_faults) cmd << " --quiet-faults";
  return cmd.str();
}

// One seed: the script (safety checked as it runs), then heal, restart every crashed node,
// settle, and check safety and liveness again.
outcome run_seed(const options& o, const std::string& script, uint64_t seed, bool print) {
  sim::world w{{seed, o.nodes, !o.quiet_faults}};
  log::set_time_source([&w] { return int64_t{1'700'000'000'000} + w.now_ms(); });
  if (print)
    std::cout << "seed " << seed << " nodes " << o.nodes << " profile: " << w.profile().describe()
              << std::endl;
  sim::sim_executor exec{w};
  std::istringstream in{script};
  std::ostringstream script_out, script_err;
  int rc = console::run_script(in, o.scenario, exec, print ? std::cout : script_out,
                               print ? std::cerr : script_err);
  outcome result;
  if (rc != 0) {
    result.passed = false;
    result.why = "the scenario failed (exit " + std::to_string(rc) + ") " + script_err.str();
  }
  auto violations = w.check_safety();
  w.heal();
  for (const auto& name : w.node_names())
    if (!w.alive(name)) static_cast<void>(w.restart(name));
  auto settle_from_ms = w.now_ms();
  w.advance(std::chrono::seconds{o.settle_s});
  if (o.verbose)
    std::cout << "settled from " << settle_from_ms << " ms to " << w.now_ms() << " ms" << std::endl;
  for (auto& v : w.check_safety()) violations.push_back(v);
  for (auto& v : w.check_membership_converged()) violations.push_back("liveness: " + v);
  for (auto& v : w.check_rli_converged()) violations.push_back("liveness: " + v);
  for (auto& v : w.check_replication_converged()) violations.push_back("liveness: " + v);
  std::set<std::string> reported;  // a violation found at a restart is found again at the end
  for (const auto& v : violations) {
    if (!reported.insert(v).second) continue;
    result.passed = false;
    result.why += (result.why.empty() ? "" : "\n  ") + v;
  }
  result.trace = w.trace_hash();
  log::set_time_source(nullptr);
  return result;
}

bool parse_seeds(const options& o, uint64_t& first, uint64_t& last) {
  if (o.seeds.empty()) {
    first = last = o.seed;
    return true;
  }
  auto dots = o.seeds.find("..");
  if (dots == std::string::npos) return false;
  try {
    first = std::stoull(o.seeds.substr(0, dots));
    last = std::stoull(o.seeds.substr(dots + 2));
  } catch (...) {
    return false;
  }
  return first <= last && last - first < 1'000'000;
}

void report_probes() {
  auto counts = probe::counts();
  std::vector<std::string> never;
  std::cout << "coverage probes:\n";
  for (const auto& name : probe::declared()) {
    auto it = counts.find(name);
    if (it == counts.end()) {
      never.push_back(name);
      continue;
    }
    std::cout << "  hit   " << name << " x" << it->second << "\n";
  }
  for (const auto& name : never) std::cout << "  never " << name << "\n";
}

int run(const options& o) {
  std::ifstream file{o.scenario};
  if (!file) {
    std::cerr << "librarian-sim: cannot read scenario " << o.scenario << "\n";
    return 1;
  }
  std::stringstream buffer;
  buffer << file.rdbuf();
  uint64_t first = 0, last = 0;
  if (!parse_seeds(o, first, last)) {
    std::cerr << "librarian-sim: --seeds wants A..B with A <= B, got \"" << o.seeds << "\"\n";
    return 1;
  }
  bool single = first == last;
  uint64_t passed = 0, failed = 0;
  for (uint64_t seed = first; seed <= last; ++seed) {
    auto result = run_seed(o, buffer.str(), seed, single || o.verbose);
    if (result.passed && o.check_determinism) {
      auto again = run_seed(o, buffer.str(), seed, false);
      if (again.trace != result.trace) {
        result.passed = false;
        result.why = "not deterministic: trace hashes differ between two runs of the same seed";
      }
    }
    if (result.passed) {
      ++passed;
      if (single || o.verbose)
        std::cout << "seed " << seed << ": ok trace=" << std::hex << result.trace << std::dec
                  << "\n";
    } else {
      ++failed;
      std::cout << "seed " << seed << ": FAILED\n  " << result.why
                << "\n  reproduce: " << replay_command(o, seed) << "\n";
    }
  }
  if (o.verbose || !single) report_probes();
  std::cout << "sim: " << passed << " passed, " << failed << " failed\n";
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{
      "librarian-sim: deterministic simulation of a Librarian cluster (docs/simulation.md)"};
  app.add_option("scenario", o.scenario, "scenario script (console language + world commands)")
      ->required();
  auto* seed = app.add_option("--seed", o.seed, "run this one seed");
  app.add_option("--seeds", o.seeds, "run seeds A..B (inclusive)")->excludes(seed);
  app.add_option("--nodes", o.nodes, "number of nodes (a, b, c, ...)")->check(CLI::Range(1, 64));
  app.add_option("--plant-bug", o.plant_bug, "turn on a planted bug (tests of the checkers)");
  app.add_flag("--quiet-faults", o.quiet_faults, "no random faults: only the scenario's own");
  app.add_flag("--verbose", o.verbose, "print every seed's profile and output");
  app.add_flag("--check-determinism", o.check_determinism, "run every seed twice, compare traces");
  app.add_option("--settle-seconds", o.settle_s, "virtual time to settle after healing")
      ->check(CLI::Range(1, 3600));
  app.add_option("--log-level", o.log_level, "node log level (default off)");
  CLI11_PARSE(app, argc, argv);
  auto level = log::level_from_name(o.log_level);
  if (!level) {
    std::cerr << "librarian-sim: --log-level must be trace, debug, info, warn, error or off\n";
    return 1;
  }
  log::set_level(*level);
  if (!o.plant_bug.empty()) {
    if (!planted::known(o.plant_bug)) {
      std::cerr << "librarian-sim: unknown planted bug '" << o.plant_bug
                << "'; known: announce_before_commit, ignore_duplicate_guard, skip_ingest_verify, "
                   "callback_before_commit\n";
      return 1;
    }
    planted::enable(o.plant_bug);
  }
  return run(o);
}
