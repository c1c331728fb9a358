// librarian-bench: speed figures, each side by side with the tool a user would pick instead, in
// the same run. Never a pass/fail test: record the figures in docs/benchmarks.md.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <thread>

#include "bench/gridftp/gridftp_bench.hpp"
#include "bench/librarian/librarian_bench.hpp"
#include "bench/mcs/mcs_bench.hpp"
#include "bench/messaging/messaging_bench.hpp"
#include "bench/replication/replication_bench.hpp"
#include "bench/rls/rls_bench.hpp"
#include "bench/sim/sim_bench.hpp"
#include "bench/storage/storage_bench.hpp"
#include "bench/transfer/transfer_bench.hpp"

int main(int argc, char** argv) {
  std::string suite = "all";
  std::string work_dir;
  bool quick = false;
  bool json = false;
  CLI::App app{"librarian-bench: benchmark suites (see docs/benchmarks.md)"};
  uint64_t mcs_files = 0;
  bool librarian_only_catalog = false;
  app.add_option("suite", suite,
                 "storage, messaging, sim, transfer, librarian, gridftp, mcs, replication, rls, "
                 "rls-bloom, rls-http, sim-replication or all (gridftp, mcs, replication, rls, "
                 "rls-bloom, rls-http and sim-replication run only by name)")
      ->check(
          CLI::IsMember({"storage", "messaging", "sim", "transfer", "librarian", "gridftp", "mcs",
                         "replication", "rls", "rls-bloom", "rls-http", "sim-replication", "all"}));
  app.add_option("--mcs-files", mcs_files,
                 "files the mcs suite loads (default 1000000; 20000 quick)");
  int64_t mcs_object_cache_mb = -1;
  app.add_option("--mcs-object-cache-mb", mcs_object_cache_mb,
                 "the mcs suite's node: mcs.object_cache_mb (0 turns the cache off; default: the "
                 "node's default)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  bool mcs_skip_postgres = false;
  app.add_flag("--mcs-skip-postgres", mcs_skip_postgres,
               "the mcs suite measures the catalog alone (no PostgreSQL side, no ratios)");
  uint64_t replication_files = 0;
  app.add_option("--replication-files", replication_files,
                 "files of 1 MiB the replication suite moves (default 10000; 200 quick)");
  uint64_t sim_files = 0;
  app.add_option("--sim-files", sim_files,
                 "files the sim-replication suite replicates (default 1000000; 2000 quick)");
  uint64_t rls_mappings = 0;
  app.add_option("--rls-mappings", rls_mappings,
                 "mappings the rls suite loads into the LRC and PostgreSQL (default 1000000; "
                 "20000 quick)");
  uint64_t rls_large_mappings = 0;
  app.add_option("--rls-large-mappings", rls_large_mappings,
                 "mappings of the rls suite's large LRC (default 5000000; 100000 quick; the "
                 "issue's design target is 50000000)");
  uint64_t librarian_files = 0;
  app.add_option("--librarian-files", librarian_files,
                 "files the librarian suite's catalog holds for its commit and search figures "
                 "(default 1000000; 20000 quick; the issue's search target is over 10000000)");
  app.add_flag("--librarian-only-catalog", librarian_only_catalog,
               "run only the librarian suite's catalog figures (no node, no CLI)");
  app.add_flag("--quick", quick, "smaller runs, for a smoke test");
  app.add_flag("--json", json, "print one JSON object of figures");
  app.add_option("--work-dir", work_dir, "where the storage suite creates its databases");
  CLI11_PARSE(app, argc, argv);

  auto dir = work_dir.empty() ? std::filesystem::temp_directory_path() /
                                    ("librarian-bench-" + std::to_string(::getpid()))
                              : std::filesystem::path{work_dir};
  std::filesystem::create_directories(dir);
  nlohmann::json out;
  out["quick"] = quick;
  out["hardware_threads"] = std::thread::hardware_concurrency();
  if (suite == "storage" || suite == "all") {
    if (!json) std::cerr << "running storage suite...\n";
    out["storage"] = librarian::bench::bench_storage(dir.string(), quick);
  }
  if (suite == "messaging" || suite == "all") {
    if (!json) std::cerr << "running messaging suite...\n";
    out["messaging"] = librarian::bench::bench_messaging(quick);
  }
  if (suite == "sim" || suite == "all") {
    if (!json) std::cerr << "running sim suite...\n";
    out["sim"] = librarian::bench::bench_sim(quick);
  }
  if (suite == "transfer" || suite == "all") {
    if (!json) std::cerr << "running transfer suite...\n";
    // The node and CLI binaries sit next to this one (build/bin).
    auto bin_dir = std::filesystem::read_symlink("/proc/self/exe").parent_path().string();
    out["transfer"] = librarian::bench::bench_transfer(dir.string(), bin_dir, quick);
  }
  // Not part of "all": it needs the Globus tools and moves gigabytes.
  if (suite == "gridftp") {
    if (!json) std::cerr << "running gridftp suite...\n";
    out["gridftp"] = librarian::bench::bench_gridftp(dir.string(), quick);
  }
  if (suite == "librarian" || suite == "all") {
    if (!json) std::cerr << "running librarian suite...\n";
    out["librarian"] =
        librarian::bench::bench_librarian((dir / "librarian").string(), quick, librarian_files);
    auto bin_dir = std::filesystem::read_symlink("/proc/self/exe").parent_path().string();
    if (!librarian_only_catalog)
      out["librarian"]["cli_upload"] =
          librarian::bench::bench_cli_upload(dir.string(), bin_dir, quick);
  }
  // Only by name: it starts a node and a PostgreSQL cluster and loads a million files.
  if (suite == "mcs") {
    if (!json) std::cerr << "running mcs suite...\n";
    auto bin_dir = std::filesystem::absolute(argv[0]).parent_path().string();
    out["mcs"] = librarian::bench::bench_mcs(dir.string(), bin_dir, quick,
                                             {mcs_files, mcs_object_cache_mb, mcs_skip_postgres});
  }
  // Only by name: two nodes and about 30 GiB of disk traffic per repetition.
  if (suite == "replication") {
    if (!json) std::cerr << "running replication suite...\n";
    auto bin_dir = std::filesystem::read_symlink("/proc/self/exe").parent_path().string();
    out["replication"] =
        librarian::bench::bench_replication(dir.string(), bin_dir, quick, replication_files);
  }
  // Only by name: it starts two nodes and a PostgreSQL cluster and loads millions of mappings.
  if (suite == "rls") {
    if (!json) std::cerr << "running rls suite...\n";
    auto bin_dir = std::filesystem::read_symlink("/proc/self/exe").parent_path().string();
    out["rls"] =
        librarian::bench::bench_rls(dir.string(), bin_dir, quick, rls_mappings, rls_large_mappings);
  }
  // Only by name: the rls suite's in-process Bloom-filter figures alone (about 1 GiB of memory).
  if (suite == "rls-bloom") {
    if (!json) std::cerr << "running rls-bloom suite...\n";
    out["rls_bloom"] = librarian::bench::bench_rls_bloom(quick);
  }
  // Only by name: the rls suite's HTTP figures of one LRC node alone (no PostgreSQL).
  if (suite == "rls-http") {
    if (!json) std::cerr << "running rls-http suite...\n";
    auto bin_dir = std::filesystem::read_symlink("/proc/self/exe").parent_path().string();
    out["rls_http"] = librarian::bench::bench_rls_http(dir.string(), bin_dir, quick, rls_mappings);
  }
  // Only by name: a simulated 10-node cluster replicating a million files.
  if (suite == "sim-replication") {
    if (!json) std::cerr << "running sim-replication suite...\n";
    out["sim_replication"] = librarian::bench::bench_sim_replication(quick, sim_files);
  }
  if (work_dir.empty()) std::filesystem::remove_all(dir);
  std::cout << (json ? out.dump() : out.dump(2)) << "\n";
  bool failed =
      (out.contains("storage") && out["storage"].contains("error")) ||
      (out.contains("messaging") && out["messaging"].contains("error")) ||
      (out.contains("librarian") && out["librarian"]["catalog"].contains("error")) ||
      (out.contains("mcs") && out["mcs"]["mcs"].contains("error")) ||
      (out.contains("replication") && out["replication"].contains("error")) ||
      (out.contains("rls") &&
       (out["rls"]["ours"].contains("error") || out["rls"]["postgres"].contains("error"))) ||
      (out.contains("rls_http") &&
       (out["rls_http"].contains("error") || out["rls_http"]["ours"].contains("error") ||
        out["rls_http"]["ours"]["http"].contains("error"))) ||
      (out.contains("rls_bloom") &&
       (out["rls_bloom"]["ours"]["bloom_in_memory"].contains("error") ||
        out["rls_bloom"]["ours"]["rli_bloom_queries"].contains("error"))) ||
      (out.contains("sim_replication") && (out["sim_replication"].contains("error") ||
                                           !out["sim_replication"].value("converged", false)));
  return failed ? 1 : 0;
}
