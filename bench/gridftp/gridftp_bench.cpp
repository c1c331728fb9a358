#include "bench/gridftp/gridftp_bench.hpp"

#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "net/gridftp/server.hpp"

namespace librarian::bench {
namespace {

namespace fs = std::filesystem;

bool on_path(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// globus-gridftp-server in its own process group, anonymous on loopback, port parsed from its
// stdout ("Server listening at localhost:PORT").
struct globus_server {
  pid_t pid = -1;
  int port = 0;
  ~globus_server() {
    if (pid > 0) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  bool start(const std::string& log, bool sync_writes) {
    int out[2];
    if (::pipe(out) != 0) return false;
    pid = ::fork();
    if (pid == 0) {
      ::setsid();
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::close(out[1]);
      std::vector<const char*> argv{"globus-gridftp-server",
                                    "-aa",
                                    "-p",
                                    "0",
                                    "-control-interface",
                                    "127.0.0.1",
                                    "-data-interface",
                                    "127.0.0.1",
                                    "-no-chdir",
                                    "-d",
                                    "error",
                                    "-l",
                                    log.c_str()};
      // globus flushes before range markers only with -sync-writes (off by default); ours
      // always syncs, so this is the like-for-like comparison for uploads.
      if (sync_writes) argv.push_back("-sync-writes");
      if (::geteuid() == 0) {
        argv.push_back("-anonymous-user");
        argv.push_back("nobody");
      }
      argv.push_back(nullptr);
      ::execvp(argv[0], const_cast<char* const*>(argv.data()));
      ::_exit(127);
    }
    ::close(out[1]);
    FILE* in = ::fdopen(out[0], "r");
    char line[256];
    bool ok = false;
    // The server prints its port at once; a bounded number of lines is read.
    for (int i = 0; i < 20 && std::fgets(line, sizeof line, in); ++i) {
      std::string text{line};
      auto at = text.find("Server listening at ");
      if (at == std::string::npos) continue;
      port = std::atoi(text.substr(text.rfind(':') + 1).c_str());
      ok = port > 0;
      break;
    }
    std::fclose(in);
    return ok;
  }
};

double run_seconds(const std::string& command) {
  auto start = std::chrono::steady_clock::now();
  int rc = std::system(("timeout 900 " + command + " >/dev/null 2>&1").c_str());
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return rc == 0 ? s : -1;
}

nlohmann::json measure(const std::string& command, uint64_t bytes, int runs) {
  std::vector<double> gbps;
  for (int i = 0; i < runs; ++i) {
    double s = run_seconds(command);
    if (s <= 0) return {{"error", "failed: " + command}};
    gbps.push_back(static_cast<double>(bytes) / s / 1e9);
  }
  std::sort(gbps.begin(), gbps.end());
  return {{"gb_per_s_median", gbps[gbps.size() / 2]}, {"runs", gbps}};
}

}  // namespace

nlohmann::json bench_gridftp(const std::string& work_dir, bool quick) {
  nlohmann::json out;
  if (!on_path("globus-url-copy") || !on_path("globus-gridftp-server")) {
    out["error"] = "globus-url-copy or globus-gridftp-server not installed";
    return out;
  }
  const uint64_t bytes = quick ? (256ull << 20) : (2ull << 30);
  const int runs = 3;
  fs::path root = fs::path{work_dir} / "gridftp-root";
  fs::create_directories(root / "dst");
  // Sessions of a root-run globus server are 'nobody': they must reach and write these.
  fs::permissions(work_dir, fs::perms::all, fs::perm_options::add);
  fs::permissions(root, fs::perms::all, fs::perm_options::add);
  fs::permissions(root / "dst", fs::perms::all, fs::perm_options::add);
  fs::path file = root / "source.bin";
  {
    std::ofstream f{file, std::ios::binary};
    std::mt19937_64 rng{42};
    std::vector<uint64_t> block(1 << 17);
    for (uint64_t written = 0; written < bytes; written += block.size() * 8) {
      for (auto& v : block) v = rng();
      f.write(reinterpret_cast<const char*>(block.data()),
              static_cast<std::streamsize>(block.size() * 8));
    }
  }
  fs::permissions(file, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read |
                            fs::perms::owner_write);
  gridftp::server_options options;
  options.roots = {root.string()};
  options.anonymous = true;
  auto ours = gridftp::server::start(options);
  if (!ours) {
    out["error"] = ours.err().describe();
    return out;
  }
  globus_server globus, globus_sync;
  if (!globus.start((root.parent_path() / "gfs.log").string(), false) ||
      !globus_sync.start((root.parent_path() / "gfs-sync.log").string(), true)) {
    out["error"] = "globus-gridftp-server did not start";
    return out;
  }
  auto url = [&](int port, const fs::path& path) {
    return "ftp://127.0.0.1:" + std::to_string(port) + path.string();
  };
  // Warm the page cache so both servers read from memory.
  static_cast<void>(run_seconds("cat " + file.string()));
  out["bytes"] = bytes;
  out["command"] =
      "globus-url-copy -p 4 ftp://127.0.0.1:PORT/FILE file:///dev/null (download); "
      "globus-url-copy -p 4 file:///FILE ftp://127.0.0.1:PORT/DST (upload)";
  for (auto [name, port] : {std::pair<std::string, int>{"librarian", (*ours)->port()},
                            std::pair<std::string, int>{"globus", globus.port},
                            std::pair<std::string, int>{"globus_sync_writes", globus_sync.port}}) {
    if (name != "globus_sync_writes")
      out[name]["download_to_dev_null"] =
          measure("globus-url-copy -p 4 " + url(port, file) + " file:///dev/null", bytes, runs);
    out[name]["upload_to_disk"] = measure("globus-url-copy -p 4 file://" + file.string() + " " +
                                              url(port, root / "dst" / (name + ".bin")),
                                          bytes, runs);
    fs::remove(root / "dst" / (name + ".bin"));
  }
  auto ratio = [&](const char* other, const char* figure) {
    auto& a = out["librarian"][figure];
    auto& b = out[other][figure];
    if (a.contains("gb_per_s_median") && b.contains("gb_per_s_median"))
      out[std::string{"ratio_librarian_over_"} + other][figure] =
          a["gb_per_s_median"].get<double>() / b["gb_per_s_median"].get<double>();
  };
  ratio("globus", "download_to_dev_null");
  ratio("globus", "upload_to_disk");
  ratio("globus_sync_writes", "upload_to_disk");
  (*ours)->stop();
  fs::remove(file);
  return out;
}

}  // namespace librarian::bench
