// Pool generation (xorshift64* bytes, hashed as written) and the concurrent HTTP loader.
#include "bench/replication/source_files.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "bench/replication/interruption.hpp"
#include "net/data/checksum.hpp"

namespace librarian::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr auto load_call_timeout = std::chrono::seconds(60);

std::string file_name(size_t index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "bench/f%06zu.dat", index);
  return buf;
}

// Incompressible and distinct per seed, so no file's checksum matches another's.
expected<std::string> write_random_file(const fs::path& path, uint64_t bytes, uint64_t seed) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::vector<uint64_t> words(std::min<uint64_t>(bytes / 8 + 1, 64 * 1024));
  data::checksum_stream sum{data::checksum_alg::xxh3};
  uint64_t x = (seed * 0x9E3779B97F4A7C15ull) | 1;
  for (uint64_t done = 0; done < bytes;) {
    for (auto& w : words) {
      x ^= x >> 12;
      x ^= x << 25;
      x ^= x >> 27;
      w = x * 2685821657736338717ull;
    }
    const uint64_t n = std::min<uint64_t>(bytes - done, words.size() * 8);
    const std::string_view chunk{reinterpret_cast<const char*>(words.data()), n};
    sum.update(chunk);
    out.write(chunk.data(), static_cast<std::streamsize>(n));
    done += n;
  }
  out.close();
  if (!out) return fail(errc::internal, "cannot write " + path.string());
  return data::format_checksum(data::checksum_alg::xxh3, sum.hex_digest());
}

// Stage, link, commit; returns the instance path.
expected<std::string> load_one(const replication_node& node, const source_file& f) {
  auto staged = call_node(node, "POST", "/api/v1/upload/stage",
                          json{{"name", f.name}, {"size", f.size}, {"checksum", f.checksum}},
                          load_call_timeout);
  if (!staged) return staged.err();
  if (staged->value("already_present", false))
    return fail(errc::already_exists, f.name + " is already on node " + node.name);
  const auto staging_file = staged->value("staging_file", std::string{});
  std::error_code ec;
  fs::create_hard_link(f.pool_path, staging_file, ec);
  if (ec) fs::copy_file(f.pool_path, staging_file, ec);
  if (ec) return fail(errc::internal, "cannot place " + staging_file + ": " + ec.message());
  auto committed =
      call_node(node, "POST", "/api/v1/upload/commit",
                json{{"upload_id", staged->value("upload_id", uint64_t{0})}}, load_call_timeout);
  if (!committed) return committed.err();
  const auto& instances = (*committed)["instances"];
  if (!instances.is_array() || instances.empty())
    return fail(errc::internal, "the commit of " + f.name + " reported no instance");
  return instances[0].value("path", std::string{});
}

}  // namespace

expected<std::vector<source_file>> make_source_pool(const fs::path& dir, size_t count,
                                                    uint64_t bytes) {
  fs::create_directories(dir);
  std::vector<source_file> files;
  files.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    if (interruption_requested()) return fail(errc::unavailable, "interrupted");
    source_file f{file_name(i), dir / ("f" + std::to_string(i)), bytes, {}};
    auto sum = write_random_file(f.pool_path, bytes, i + 1);
    if (!sum) return sum.err();
    f.checksum = *sum;
    files.push_back(std::move(f));
  }
  ::sync();
  return files;
}

expected<std::vector<std::string>> load_into(const replication_node& node,
                                             const std::vector<source_file>& files,
                                             unsigned clients) {
  std::vector<std::string> paths(files.size());
  std::atomic<size_t> next{0};
  std::mutex first_error_mu;
  std::optional<error> first_error;
  auto client = [&] {
    for (size_t i = next++; i < files.size(); i = next++) {
      if (interruption_requested()) {
        std::lock_guard lock{first_error_mu};
        first_error = first_error.value_or(fail(errc::unavailable, "interrupted"));
        return;
      }
      auto path = load_one(node, files[i]);
      if (path) {
        paths[i] = std::move(*path);
        continue;
      }
      std::lock_guard lock{first_error_mu};
      if (!first_error) first_error = path.err();
      next = files.size();  // the others stop after their current file
    }
  };
  std::vector<std::thread> threads;
  for (unsigned c = 0; c < std::max(1u, clients); ++c) threads.emplace_back(client);
  for (auto& t : threads) t.join();
  if (first_error) return *first_error;
  return paths;
}

}  // namespace librarian::bench
