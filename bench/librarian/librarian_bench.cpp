#include "bench/librarian/librarian_bench.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "actors/librarian/catalog_state.hpp"
#include "actors/librarian/file_checksum.hpp"
#include "storage/db.hpp"

namespace librarian::bench {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

// Hashing speed of digest_path on one file, and of `xxhsum -H2` (xxh3-128) on the same file when
// it is installed: the tool a user would reach for.
nlohmann::json bench_checksum(const fs::path& dir, bool quick) {
  const uint64_t bytes = quick ? (64ull << 20) : (1ull << 30);
  auto path = dir / "checksum.bin";
  {
    std::ofstream out{path, std::ios::binary};
    std::mt19937_64 gen{42};
    std::vector<uint64_t> block(1 << 17);
    for (uint64_t written = 0; written < bytes; written += block.size() * 8) {
      for (auto& w : block) w = gen();
      out.write(reinterpret_cast<const char*>(block.data()),
                static_cast<std::streamsize>(block.size() * 8));
    }
  }
  static_cast<void>(lib::digest_path(path.string()));  // warm the page cache for both tools
  auto start = clock_type::now();
  auto d = lib::digest_path(path.string());
  auto ours = seconds_since(start);
  nlohmann::json out{{"bytes", bytes}, {"digest_path_gb_per_s", bytes / ours / 1e9}};
  if (!d) out["error"] = d.err().message;
  auto cmd = "xxhsum -H2 " + path.string() + " > /dev/null 2>&1";
  start = clock_type::now();
  if (std::system(cmd.c_str()) == 0) out["xxhsum_H2_gb_per_s"] = bytes / seconds_since(start) / 1e9;
  fs::remove(path);
  return out;
}

// Stage + finish_commit for n files, `per_batch` per synced write: the catalog side of an import
// (the bytes are not touched). Then name-prefix searches over the result.
nlohmann::json bench_catalog(const fs::path& dir, bool quick, uint64_t files) {
  const size_t n = files != 0 ? static_cast<size_t>(files) : quick ? 20'000 : 1'000'000;
  const size_t per_batch = 1000;
  auto db_dir = dir / "catalog-db";
  fs::remove_all(db_dir);
  auto opened = storage::db::open({db_dir.string(), nullptr, lib::librarian_tables()});
  if (!opened) return {{"error", opened.err().message}};
  auto& db = **opened;
  lib::catalog_limits limits;
  limits.uploads_open_max = per_batch + 1;
  lib::catalog_state state{db,
                           "bench",
                           {{"main", "local", "/stage", "/store", true, true, 1ull << 62, 1.0}},
                           limits,
                           ""};
  if (!state.load()) return {{"error", "load failed"}};
  auto start = clock_type::now();
  char name[64];
  for (size_t done = 0; done < n;) {
    storage::row_list rows;
    std::vector<uint64_t> ids;
    for (size_t i = 0; i < per_batch && done + i < n; ++i) {
      std::snprintf(name, sizeof name, "run%05zu/obs%07zu.dat", (done + i) / 1000, done + i);
      auto staged = state.stage(
          {name, 1024, "xxh3:::" + std::string(32, 'a'), "bench", "DISALLOWED", ""}, 1, rows);
      if (!staged) return {{"error", staged.err().message}};
      ids.push_back(staged->upload_id);
    }
    for (auto id : ids) {
      auto claimed = state.begin_commit(id, "bench", false);
      if (!claimed) return {{"error", claimed.err().message}};
      auto out = state.finish_commit(id, "/store/" + claimed->name, 2, rows);
      if (!out) return {{"error", out.err().message}};
      state.commit_settled(claimed->name);
    }
    storage::batch b;
    storage::append_rows(db, rows, b);
    if (auto st = db.write(b, storage::durability::sync); !st) return {{"error", st.err().message}};
    done += ids.size();
  }
  auto commit_s = seconds_since(start);
  const int searches = 200;
  std::mt19937 gen{7};
  start = clock_type::now();
  size_t found = 0;
  for (int i = 0; i < searches; ++i) {
    std::snprintf(name, sizeof name, "run%05zu/obs*",
                  static_cast<size_t>(gen() % std::max<size_t>(1, n / 1000)));
    auto page = state.search({.name_glob = name, .max_results = 100});
    if (!page) return {{"error", page.err().message}};
    found += page->files.size();
  }
  auto search_ms = seconds_since(start) * 1000 / searches;
  fs::remove_all(db_dir);
  return {{"files", n},
          {"files_per_batch", per_batch},
          {"commits_per_s", n / commit_s},
          {"search_prefix_page100_ms", search_ms},
          {"search_results_avg", static_cast<double>(found) / searches}};
}

}  // namespace

nlohmann::json bench_librarian(const std::string& dir, bool quick, uint64_t files) {
  fs::path root{dir};
  fs::create_directories(root);
  return {{"checksum", bench_checksum(root, quick)},
          {"catalog", bench_catalog(root, quick, files)}};
}

}  // namespace librarian::bench
