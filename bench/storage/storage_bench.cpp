// Storage benchmarks (see storage_bench.hpp): the same generated records written (a) by raw
// RocksDB WriteBatches, (b) by our db::write, (c) through our group committer with durability,
// (d) by raw RocksDB with one synced write per record, single- and multi-threaded.
#include "bench/storage/storage_bench.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>
#include <semaphore>
#include <thread>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "storage/committer.hpp"
#include "storage/db.hpp"
#include "storage/keys.hpp"

namespace librarian::bench {
namespace {

using namespace librarian::storage;
using clock_type = std::chrono::steady_clock;

constexpr int repeats = 3;
constexpr size_t batch_records = 1000;
constexpr size_t value_bytes = 100;
constexpr int writer_threads = 4;
constexpr std::ptrdiff_t in_flight_per_thread_max = 256;

struct record {
  std::string key;
  std::string value;
  std::string index_key;
};

// Deterministic data: the same records for every case and every run.
std::vector<record> make_records(size_t count) {
  std::mt19937_64 rng{42};
  std::vector<record> out(count);
  for (size_t i = 0; i < count; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "rec/%010zu", i);
    out[i].key = name;
    out[i].value.resize(value_bytes);
    for (auto& c : out[i].value) c = static_cast<char>('a' + rng() % 26);
    append_u64(out[i].index_key, rng() % 1000);  // owner id, then the record key
    append_string(out[i].index_key, out[i].key);
  }
  return out;
}

// Raw RocksDB with the two column families our db would use.
struct raw_db {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;

  ~raw_db() {
    for (auto* h : handles) (void)db->DestroyColumnFamilyHandle(h);
    if (db) (void)db->Close();
  }
};

bool open_raw(const std::string& path, raw_db& out, std::string& why) {
  rocksdb::DBOptions o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs{
      {rocksdb::kDefaultColumnFamilyName, {}}, {"records", {}}, {"index", {}}};
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(o, path, cfs, &out.handles, &raw);
  if (!s.ok()) {
    why = s.ToString();
    return false;
  }
  out.db.reset(raw);
  return true;
}

std::unique_ptr<db> open_ours(const std::string& path, std::string& why) {
  open_options o;
  o.path = path;
  o.tables = {"records", "index"};
  auto d = db::open(o);
  if (!d) {
    why = d.err().describe();
    return nullptr;
  }
  return std::move(*d);
}

// One timed case: returns records/s, or a negative number with why set.
using case_fn = std::function<double(const std::string& path, std::string& why)>;

double timed(size_t records, const std::function<bool(std::string&)>& body, std::string& why) {
  const auto start = clock_type::now();
  if (!body(why)) return -1;
  const std::chrono::duration<double> secs = clock_type::now() - start;
  return static_cast<double>(records) / std::max(secs.count(), 1e-9);
}

double raw_batched(const std::vector<record>& recs, const std::string& path, std::string& why) {
  raw_db r;
  if (!open_raw(path, r, why)) return -1;
  return timed(
      recs.size(),
      [&](std::string& w) {
        for (size_t i = 0; i < recs.size(); i += batch_records) {
          rocksdb::WriteBatch b;
          for (size_t j = i; j < std::min(recs.size(), i + batch_records); ++j) {
            (void)b.Put(r.handles[1], recs[j].key, recs[j].value);
            (void)b.Put(r.handles[2], recs[j].index_key, "");
          }
          auto s = r.db->Write(rocksdb::WriteOptions{}, &b);
          if (!s.ok()) {
            w = s.ToString();
            return false;
          }
        }
        return true;
      },
      why);
}

double ours_batched(const std::vector<record>& recs, const std::string& path, std::string& why) {
  auto d = open_ours(path, why);
  if (!d) return -1;
  const auto records = d->get_table("records");
  const auto index = d->get_table("index");
  return timed(
      recs.size(),
      [&](std::string& w) {
        for (size_t i = 0; i < recs.size(); i += batch_records) {
          batch b;
          for (size_t j = i; j < std::min(recs.size(), i + batch_records); ++j) {
            b.put(records, recs[j].key, recs[j].value);
            b.put(index, recs[j].index_key, "");
          }
          if (auto s = d->write(b, durability::buffered); !s) {
            w = s.err().describe();
            return false;
          }
        }
        return true;
      },
      why);
}

// Many writers, one record per batch, each acknowledged only when durable.
double ours_group_sync(const std::vector<record>& recs, const std::string& path, std::string& why,
                       committer_stats& stats_out) {
  auto d = open_ours(path, why);
  if (!d) return -1;
  const auto records = d->get_table("records");
  const auto index = d->get_table("index");
  auto c = make_group_committer(*d);
  std::atomic<size_t> failures{0};
  const double rate = timed(
      recs.size(),
      [&](std::string&) {
        std::vector<std::thread> threads;
        for (int t = 0; t < writer_threads; ++t) {
          threads.emplace_back([&, t] {
            std::counting_semaphore<in_flight_per_thread_max> slots{in_flight_per_thread_max};
            for (size_t i = static_cast<size_t>(t); i < recs.size(); i += writer_threads) {
              slots.acquire();
              batch b;
              b.put(records, recs[i].key, recs[i].value);
              b.put(index, recs[i].index_key, "");
              c->submit(std::move(b), [&](status s) {
                if (!s) ++failures;
                slots.release();
              });
            }
            for (std::ptrdiff_t i = 0; i < in_flight_per_thread_max; ++i) slots.acquire();
          });
        }
        for (auto& th : threads) th.join();
        return true;
      },
      why);
  c->stop();
  stats_out = c->stats();
  if (failures.load() != 0) {
    why = std::to_string(failures.load()) + " group commits failed";
    return -1;
  }
  return rate;
}

double raw_sync(const std::vector<record>& recs, const std::string& path, std::string& why,
                int threads_count) {
  raw_db r;
  if (!open_raw(path, r, why)) return -1;
  std::atomic<bool> failed{false};
  rocksdb::WriteOptions wo;
  wo.sync = true;
  const double rate = timed(
      recs.size(),
      [&](std::string&) {
        std::vector<std::thread> threads;
        for (int t = 0; t < threads_count; ++t) {
          threads.emplace_back([&, t] {
            for (size_t i = static_cast<size_t>(t); i < recs.size(); i += threads_count) {
              rocksdb::WriteBatch b;
              (void)b.Put(r.handles[1], recs[i].key, recs[i].value);
              (void)b.Put(r.handles[2], recs[i].index_key, "");
              if (!r.db->Write(wo, &b).ok()) failed = true;
            }
          });
        }
        for (auto& th : threads) th.join();
        return true;
      },
      why);
  if (failed) {
    why = "a synced raw write failed";
    return -1;
  }
  return rate;
}

// Runs one case `repeats` times in fresh directories; fills result with runs and the median.
double run_case(const std::string& root, const std::string& name, size_t records, const case_fn& fn,
                nlohmann::json& result) {
  std::vector<double> rates;
  for (int rep = 0; rep < repeats; ++rep) {
    const auto path = root + "/" + name + "-" + std::to_string(rep);
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
    std::string why;
    const double rate = fn(path, why);
    std::filesystem::remove_all(path, ignored);
    if (rate < 0) {
      result[name] = {{"error", why}};
      return -1;
    }
    rates.push_back(rate);
  }
  std::vector<double> sorted = rates;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  result[name] = {{"records", records}, {"runs_ops_per_s", rates}, {"median_ops_per_s", median}};
  return median;
}

double ratio(double ours, double raw) {
  return ours > 0 && raw > 0 ? ours / raw : 0.0;
}

}  // namespace

nlohmann::json bench_storage(const std::string& work_dir, bool quick) {
  const size_t batched_records = quick ? 20'000 : 200'000;
  const size_t group_records = quick ? 5'000 : 50'000;
  const size_t raw_sync_records = quick ? 500 : 3'000;
  const std::string root = work_dir + "/storage_bench";
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) return {{"error", "cannot create " + root + ": " + ec.message()}};

  const auto recs = make_records(batched_records);
  const std::vector<record> group_recs(recs.begin(), recs.begin() + group_records);
  const std::vector<record> sync_recs(recs.begin(), recs.begin() + raw_sync_records);
  nlohmann::json results = nlohmann::json::object();
  committer_stats group_stats;

  auto a = run_case(
      root, "raw_write_batch_1000", batched_records,
      [&](auto& p, auto& w) { return raw_batched(recs, p, w); }, results);
  auto b = run_case(
      root, "ours_batch_1000", batched_records,
      [&](auto& p, auto& w) { return ours_batched(recs, p, w); }, results);
  auto c = run_case(
      root, "ours_group_commit_sync_4_threads", group_records,
      [&](auto& p, auto& w) { return ours_group_sync(group_recs, p, w, group_stats); }, results);
  auto d1 = run_case(
      root, "raw_sync_per_write_1_thread", raw_sync_records,
      [&](auto& p, auto& w) { return raw_sync(sync_recs, p, w, 1); }, results);
  auto d4 = run_case(
      root, "raw_sync_per_write_4_threads", raw_sync_records,
      [&](auto& p, auto& w) { return raw_sync(sync_recs, p, w, writer_threads); }, results);
  std::filesystem::remove_all(root, ec);

  // Averages of the last group-commit run: how many requests shared one WAL sync.
  const double batches_per_sync = group_stats.synced_groups
                                      ? static_cast<double>(group_stats.batches) /
                                            static_cast<double>(group_stats.synced_groups)
                                      : 0.0;
  return {
      {"params",
       {{"quick", quick},
        {"value_bytes", value_bytes},
        {"batch_records", batch_records},
        {"writer_threads", writer_threads},
        {"repeats", repeats},
        {"op", "one record + one index row"}}},
      {"results", results},
      {"group_commit",
       {{"batches_per_sync", batches_per_sync},
        {"largest_group_batches", group_stats.largest_group_batches}}},
      {"ratios",
       {{"ours_batch_vs_raw_batch", ratio(b, a)},
        {"group_commit_vs_raw_sync_1_thread", ratio(c, d1)},
        {"group_commit_vs_raw_sync_4_threads", ratio(c, d4)}}},
  };
}

}  // namespace librarian::bench
