// The transfer suite. Every tool moves the same files over loopback with 4 streams; each figure
// is the median of several runs (one with --quick), and ratios are computed within this run.
#include "bench/transfer/transfer_bench.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <thread>

#include "bench/transfer/process.hpp"

namespace librarian::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
constexpr double gib = 1024.0 * 1024 * 1024;

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool wait_listening(uint16_t port, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool have(const std::string& tool) {
  return run_process({"sh", "-c", "command -v " + tool}, std::chrono::seconds(5)).exit_code == 0;
}

// Incompressible bytes, fast: xorshift64*, 4 MiB at a time.
void write_random_file(const fs::path& path, uint64_t bytes, uint64_t seed) {
  std::ofstream out(path, std::ios::binary);
  std::vector<uint64_t> buf(512 * 1024);
  uint64_t x = seed | 1;
  for (uint64_t done = 0; done < bytes;) {
    for (auto& w : buf) {
      x ^= x >> 12;
      x ^= x << 25;
      x ^= x >> 27;
      w = x * 2685821657736338717ull;
    }
    const uint64_t n = std::min<uint64_t>(bytes - done, buf.size() * 8);
    out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(n));
    done += n;
  }
}

void warm_page_cache(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> buf(4 << 20);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
  }
}

struct figure {
  std::vector<double> rates;  // units per second
  std::vector<double> cpu;    // CPU seconds per GiB (or per run)
  std::string error;
  json to_json(const char* unit) const {
    if (rates.empty()) return {{"error", error.empty() ? "not run" : error}};
    json j{{unit, median(rates)}, {"runs", rates.size()}};
    if (!cpu.empty()) j["cpu_s_per_gib"] = median(cpu);
    return j;
  }
  double value() const { return rates.empty() ? 0 : median(rates); }
};

double ratio(const figure& a, const figure& b) {
  return a.value() > 0 && b.value() > 0 ? a.value() / b.value() : 0;
}

struct node_under_test {
  std::unique_ptr<server_process> proc;
  std::string client_config;
  uint16_t data_port = 0;
  std::string error;
};

node_under_test start_node(const fs::path& dir, const std::string& bin_dir,
                           const std::vector<std::string>& roots, json stores = json::array()) {
  node_under_test n;
  const uint16_t http = free_port(), cluster = free_port();
  n.data_port = free_port();
  json cfg{{"name", "bench"},
           {"data_dir", (dir / "node-db").string()},
           {"log_level", "warn"},
           {"listen",
            {{"host", "127.0.0.1"},
             {"cluster_port", cluster},
             {"http_port", http},
             {"data_port", n.data_port}}},
           {"auth",
            {{"kdf_iterations", 1000},
             {"bootstrap_admin", {{"name", "bench"}, {"password", "bench-password"}}}}},
           {"data", {{"roots", roots}}}};
  if (!stores.empty()) cfg["stores"] = std::move(stores);
  std::ofstream(dir / "node.json") << cfg.dump(2);
  json client{{"connections",
               {{"bench",
                 {{"host", "127.0.0.1"},
                  {"port", http},
                  {"user", "bench"},
                  {"password", "bench-password"}}}}}};
  n.client_config = (dir / "client.cfg").string();
  std::ofstream(n.client_config) << client.dump(2);
  fs::permissions(n.client_config, fs::perms::owner_read | fs::perms::owner_write);
  n.proc = std::make_unique<server_process>(
      std::vector<std::string>{bin_dir + "/librarian-node", "--config",
                               (dir / "node.json").string()},
      (dir / "node.log").string());
  if (!wait_listening(http, std::chrono::seconds(20)) ||
      !wait_listening(n.data_port, std::chrono::seconds(5)))
    n.error = "librarian-node did not start; see " + (dir / "node.log").string();
  return n;
}

}  // namespace

json bench_cli_upload(const std::string& work_dir, const std::string& bin_dir, bool quick) {
  const fs::path dir = fs::path(work_dir) / "cli-upload";
  fs::create_directories(dir);
  const uint64_t bytes = quick ? (256ull << 20) : (2ull << 30);
  const int runs = quick ? 1 : 3;
  const auto deadline = std::chrono::seconds(300);
  json out{{"file_bytes", bytes}, {"runs", runs}};
  const fs::path src = dir / "src.bin";
  write_random_file(src, bytes, 7);
  json stores = json::array({{{"name", "main"},
                              {"staging_path", (dir / "staging").string()},
                              {"store_path", (dir / "store").string()},
                              {"capacity_bytes", 1ull << 42}}});
  auto node = start_node(dir, bin_dir, {dir.string()}, stores);
  if (!node.error.empty()) {
    out["error"] = node.error;
    return out;
  }
  const std::string lib = "lib://127.0.0.1:" + std::to_string(node.data_port);
  auto cli = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{bin_dir + "/librarian", "--config", node.client_config};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, deadline);
  };
  warm_page_cache(src);
  // Both write the same bytes durably into the node's disk: `librarian copy` to a path under
  // data.roots (the channel alone), `librarian upload` into the store (hash at the client,
  // stage, the channel, commit: verify and move into the store, File + Instance + LRC rows).
  figure copy_up, upload;
  for (int r = 0; r < runs; ++r) {
    const fs::path dst = dir / ("copied-" + std::to_string(r) + ".bin");
    auto res = cli({"copy", "--json", "-p", "4", "-bs", "4M", src.string(), lib + dst.string()});
    if (res.exit_code != 0) {
      copy_up.error = "librarian copy failed: " + res.out.substr(0, 500);
      break;
    }
    copy_up.rates.push_back(static_cast<double>(bytes) / res.wall_s / 1e9);
    fs::remove(dst);
  }
  for (int r = 0; r < runs; ++r) {
    auto res = cli({"upload", "bench", src.string(), "bench/big-" + std::to_string(r) + ".bin"});
    if (res.exit_code != 0) {
      upload.error = "librarian upload failed: " + res.out.substr(0, 500);
      break;
    }
    upload.rates.push_back(static_cast<double>(bytes) / res.wall_s / 1e9);
  }
  out["librarian_copy_upload"] = copy_up.to_json("GB/s");
  out["librarian_upload"] = upload.to_json("GB/s");
  if (copy_up.error.empty() && upload.error.empty()) out["upload_vs_copy"] = ratio(upload, copy_up);
  out["target_upload_vs_copy"] = 0.8;

  // Many small files in one invocation (`upload --each`), against what a user of the reference
  // client does: one `librarian upload` per file (a loop, timed over a subset).
  const int small = quick ? 2000 : 10000;
  const int loop_files = quick ? 50 : 200;
  const fs::path tree = dir / "small";
  for (int i = 0; i < small; ++i) {
    auto sub = tree / ("d" + std::to_string(i % 100));
    if (i < 100) fs::create_directories(sub);
    write_random_file(sub / ("f" + std::to_string(i) + ".dat"), 1024, 5000 + i);
  }
  figure each, loop;
  for (int r = 0; r < runs; ++r) {
    auto res = cli({"upload", "bench", tree.string(), "each-" + std::to_string(r), "--each"});
    if (res.exit_code != 0) {
      each.error = "librarian upload --each failed: " + res.out.substr(0, 500);
      break;
    }
    each.rates.push_back(small / res.wall_s);
  }
  {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < loop_files && loop.error.empty(); ++i) {
      auto f = tree / ("d" + std::to_string(i % 100)) / ("f" + std::to_string(i) + ".dat");
      auto res = cli({"upload", "bench", f.string(), "loop/" + std::to_string(i)});
      if (res.exit_code != 0) loop.error = "librarian upload failed: " + res.out.substr(0, 500);
    }
    if (loop.error.empty())
      loop.rates.push_back(
          loop_files /
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  out["upload_each_small_files"] = small;
  out["upload_each_files_per_s"] = each.to_json("files/s");
  out["upload_loop_files_per_s"] = loop.to_json("files/s");
  if (each.error.empty() && loop.error.empty()) out["each_vs_loop"] = ratio(each, loop);
  out["target_upload_each_files_per_s"] = 2000;

  // Importing a tree already in the store: small files (catalog-bound) and one big file
  // (checksum-bound), each run a fresh directory so every file is new.
  const int import_small = quick ? 20000 : 100000;
  const uint64_t import_big = quick ? (256ull << 20) : (1ull << 30);
  figure imp_small, imp_big;
  for (int r = 0; r < runs; ++r) {
    const auto under = "import-" + std::to_string(r);
    const fs::path base = dir / "store" / under;
    for (int i = 0; i < import_small; ++i) {
      auto sub = base / "small" / ("d" + std::to_string(i / 1000));
      if (i % 1000 == 0) fs::create_directories(sub);
      std::ofstream(sub / ("f" + std::to_string(i))) << std::string(1000, 'a' + i % 26) << i;
    }
    // An existing tree is on disk, not waiting in the page cache to be written.
    static_cast<void>(run_process({"sync"}, deadline));
    auto res = cli(
        {"--json", "import-store-tree", "bench", "--store", "main", "--under", under + "/small"});
    if (res.exit_code != 0) {
      imp_small.error = "import-store-tree failed: " + res.out.substr(0, 500);
      break;
    }
    imp_small.rates.push_back(import_small / res.wall_s);
    fs::create_directories(base / "big");
    write_random_file(base / "big" / "big.bin", import_big, 77 + r);
    static_cast<void>(run_process({"sync"}, deadline));
    warm_page_cache(base / "big" / "big.bin");
    res =
        cli({"--json", "import-store-tree", "bench", "--store", "main", "--under", under + "/big"});
    if (res.exit_code != 0) {
      imp_big.error = "import-store-tree failed: " + res.out.substr(0, 500);
      break;
    }
    imp_big.rates.push_back(static_cast<double>(import_big) / res.wall_s / 1e9);
  }
  node.proc.reset();
  out["import_small_files"] = import_small;
  out["import_small_files_per_s"] = imp_small.to_json("files/s");
  out["import_big_file_bytes"] = import_big;
  out["import_big_gb_per_s"] = imp_big.to_json("GB/s");
  out["target_import_files_per_s"] = 20000;
  out["target_import_gb_per_s"] = 2.0;
  fs::remove_all(dir);
  return out;
}

json bench_transfer(const std::string& work_dir, const std::string& bin_dir, bool quick) {
  const fs::path dir = fs::path(work_dir) / "transfer";
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::all & ~fs::perms::group_write & ~fs::perms::others_write);
  const fs::path shm =
      fs::exists("/dev/shm")
          ? fs::path("/dev/shm") / ("librarian-bench-" + std::to_string(::getpid()))
          : dir / "shm";
  fs::create_directories(shm);
  const uint64_t big_bytes = quick ? (256ull << 20) : (2ull << 30);
  const int small_count = quick ? 200 : 2000;
  const int runs = quick ? 1 : 3;
  const auto deadline = std::chrono::seconds(300);
  json out{{"big_file_bytes", big_bytes},
           {"small_files", small_count},
           {"small_file_bytes", 65536},
           {"runs", runs},
           {"streams", 4}};

  const fs::path src = dir / "src.bin";
  write_random_file(src, big_bytes, 42);
  const fs::path small = shm / "small";
  fs::create_directories(small);
  for (int i = 0; i < small_count; ++i)
    write_random_file(small / ("f" + std::to_string(i)), 65536, 1000 + i);

  // The physical ceiling.
  figure iperf;
  if (have("iperf3")) {
    for (int r = 0; r < runs; ++r) {
      const uint16_t port = free_port();
      server_process server({"iperf3", "-s", "-1", "-p", std::to_string(port)},
                            (dir / "iperf3.log").string());
      // Not probed with a connect: "-1" makes the server serve exactly one client.
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      auto res = run_process({"iperf3", "-c", "127.0.0.1", "-p", std::to_string(port), "-P", "4",
                              "-t", quick ? "2" : "4", "-J"},
                             std::chrono::seconds(30));
      try {
        auto j = json::parse(res.out);
        iperf.rates.push_back(j["end"]["sum_received"]["bits_per_second"].get<double>() / 8 / 1e9);
      } catch (const std::exception& e) {
        iperf.error = std::string("iperf3 output: ") + e.what();
      }
    }
  } else {
    iperf.error = "iperf3 not installed (apt-get install iperf3)";
  }

  // The disk's durable write ceiling (what a transfer that fsyncs can reach at best).
  figure disk_ceiling;
  {
    const fs::path probe = dir / "dd.bin";
    auto res = run_process(
        {"dd", "if=" + src.string(), "of=" + probe.string(), "bs=4M", "conv=fdatasync"}, deadline);
    if (res.exit_code == 0)
      disk_ceiling.rates.push_back(static_cast<double>(big_bytes) / res.wall_s / 1e9);
    else
      disk_ceiling.error = "dd failed";
    fs::remove(probe);
  }

  // Ours: a real node and `librarian copy`.
  figure ours_mem, ours_disk, ours_small;
  auto node = start_node(dir, bin_dir, {dir.string(), shm.string()});
  if (node.error.empty()) {
    const std::string lib = "lib://127.0.0.1:" + std::to_string(node.data_port);
    auto copy = [&](std::vector<std::string> args) {
      std::vector<std::string> argv{bin_dir + "/librarian", "--config", node.client_config, "copy",
                                    "--json"};
      argv.insert(argv.end(), args.begin(), args.end());
      return run_process(argv, deadline);
    };
    warm_page_cache(src);
    for (int r = 0; r < runs; ++r) {
      double node_cpu = node.proc->cpu_seconds();
      auto res = copy({"-p", "4", "-bs", "4M", lib + src.string(), "/dev/null"});
      node_cpu = node.proc->cpu_seconds() - node_cpu;
      if (res.exit_code != 0) {
        ours_mem.error = "librarian copy failed: " + res.out;
        break;
      }
      ours_mem.rates.push_back(static_cast<double>(big_bytes) / res.wall_s / 1e9);
      ours_mem.cpu.push_back((res.cpu_s + node_cpu) / (static_cast<double>(big_bytes) / gib));
    }
    for (int r = 0; r < runs; ++r) {
      const fs::path dst = dir / "dst-ours.bin";
      fs::remove(dst);
      double node_cpu = node.proc->cpu_seconds();
      auto res = copy({"-p", "4", "-bs", "4M", lib + src.string(), dst.string()});
      node_cpu = node.proc->cpu_seconds() - node_cpu;
      if (res.exit_code != 0) {
        ours_disk.error = "librarian copy failed: " + res.out;
        break;
      }
      ours_disk.rates.push_back(static_cast<double>(big_bytes) / res.wall_s / 1e9);
      ours_disk.cpu.push_back((res.cpu_s + node_cpu) / (static_cast<double>(big_bytes) / gib));
      fs::remove(dst);
    }
    for (int r = 0; r < runs; ++r) {
      const fs::path dst = shm / ("out-ours-" + std::to_string(r));
      auto res = copy({"-r", "-cc", "4", lib + small.string(), dst.string()});
      if (res.exit_code != 0) {
        ours_small.error = "librarian copy -r failed: " + res.out.substr(0, 500);
        break;
      }
      ours_small.rates.push_back(small_count / res.wall_s);
      fs::remove_all(dst);
    }
  } else {
    ours_mem.error = ours_disk.error = ours_small.error = node.error;
  }
  node.proc.reset();

  // The peer a user would pick instead: globus-url-copy against globus-gridftp-server.
  figure g_mem, g_mem_tuned, g_disk, g_verify, g_small;
  if (have("globus-gridftp-server") && have("globus-url-copy")) {
    const uint16_t port = free_port();
    std::vector<std::string> argv{"globus-gridftp-server",
                                  "-aa",
                                  "-p",
                                  std::to_string(port),
                                  "-control-interface",
                                  "127.0.0.1",
                                  "-data-interface",
                                  "127.0.0.1",
                                  "-d",
                                  "0"};
    if (::geteuid() == 0) argv.insert(argv.begin() + 2, {"-anonymous-user", "nobody"});
    server_process gfs(argv, (dir / "gridftp.log").string());
    if (wait_listening(port, std::chrono::seconds(10))) {
      const std::string ftp = "ftp://127.0.0.1:" + std::to_string(port);
      auto guc = [&](figure& f, std::vector<std::string> args, const fs::path& dst,
                     uint64_t bytes) {
        for (int r = 0; r < runs; ++r) {
          std::vector<std::string> cmd{"globus-url-copy"};
          cmd.insert(cmd.end(), args.begin(), args.end());
          if (!dst.empty() && dst != "/dev/null") fs::remove(dst);
          auto res = run_process(cmd, deadline);
          if (res.exit_code != 0) {
            f.error = "globus-url-copy exited " + std::to_string(res.exit_code);
            return;
          }
          f.rates.push_back(static_cast<double>(bytes) / res.wall_s / 1e9);
        }
      };
      warm_page_cache(src);
      guc(g_mem, {"-p", "4", ftp + src.string(), "file:///dev/null"}, "/dev/null", big_bytes);
      guc(g_mem_tuned,
          {"-fast", "-p", "4", "-bs", "4M", "-tcp-bs", "8M", ftp + src.string(),
           "file:///dev/null"},
          "/dev/null", big_bytes);
      const fs::path gdst = dir / "dst-guc.bin";
      guc(g_disk, {"-p", "4", ftp + src.string(), "file://" + gdst.string()}, gdst, big_bytes);
      guc(g_verify, {"-p", "4", "-verify-checksum", ftp + src.string(), "file://" + gdst.string()},
          gdst, big_bytes);
      fs::remove(gdst);
      for (int r = 0; r < runs; ++r) {
        const fs::path dst = shm / ("out-guc-" + std::to_string(r));
        auto res = run_process({"globus-url-copy", "-r", "-cd", "-fast", "-cc", "4", "-pp",
                                ftp + small.string() + "/", "file://" + dst.string() + "/"},
                               deadline);
        if (res.exit_code != 0) {
          g_small.error = "globus-url-copy -r exited " + std::to_string(res.exit_code);
          break;
        }
        g_small.rates.push_back(small_count / res.wall_s);
        fs::remove_all(dst);
      }
    } else {
      g_mem.error = "globus-gridftp-server did not start; see " + (dir / "gridftp.log").string();
    }
  } else {
    g_mem.error =
        "globus-gridftp-server or globus-url-copy not installed (globus-gridftp-server-progs, "
        "globus-gass-copy-progs)";
  }

  out["iperf3_p4"] = iperf.to_json("gb_per_s");
  out["memory_to_memory"] = {
      {"librarian", ours_mem.to_json("gb_per_s")},
      {"globus_url_copy_p4", g_mem.to_json("gb_per_s")},
      {"globus_url_copy_p4_fast_bs4M_tcpbs8M", g_mem_tuned.to_json("gb_per_s")},
      {"ratio_vs_globus_p4", ratio(ours_mem, g_mem)},
      {"ratio_vs_globus_tuned", ratio(ours_mem, g_mem_tuned)},
      {"ratio_vs_iperf3", ratio(ours_mem, iperf)}};
  out["disk_to_disk"] = {{"librarian_inline_xxh3_durable", ours_disk.to_json("gb_per_s")},
                         {"globus_url_copy_p4", g_disk.to_json("gb_per_s")},
                         {"globus_url_copy_p4_verify_checksum", g_verify.to_json("gb_per_s")},
                         {"dd_conv_fdatasync_ceiling", disk_ceiling.to_json("gb_per_s")},
                         {"ratio_vs_dd_fdatasync", ratio(ours_disk, disk_ceiling)},
                         {"ratio_vs_globus", ratio(ours_disk, g_disk)},
                         {"ratio_vs_globus_verify", ratio(ours_disk, g_verify)},
                         {"ratio_vs_iperf3", ratio(ours_disk, iperf)}};
  out["small_files"] = {{"librarian_cc4", ours_small.to_json("files_per_s")},
                        {"globus_url_copy_cc4_pp", g_small.to_json("files_per_s")},
                        {"ratio", ratio(ours_small, g_small)}};
  fs::remove_all(shm);
  fs::remove_all(dir);
  return out;
}

}  // namespace librarian::bench
