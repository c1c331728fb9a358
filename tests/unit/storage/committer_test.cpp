// Committers: every done is called once, after the data is durable; stop() drains, then refuses.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/committer.hpp"
#include "storage/fault_env.hpp"
#include "storage/keys.hpp"
#include "temp_dir.hpp"

using namespace librarian;
using namespace librarian::storage;
using librarian::storage::testing::temp_dir;

namespace {

std::unique_ptr<db> open_db(const std::string& path, rocksdb::Env* env = nullptr) {
  open_options o;
  o.path = path;
  o.env = env;
  o.tables = {"records", "index"};
  auto opened = db::open(o);
  REQUIRE_MESSAGE(opened, (opened ? "" : opened.err().describe()));
  return std::move(*opened);
}

std::string record_key(int thread, int seq) {
  std::string key;
  append_u64(key, static_cast<uint64_t>(thread));
  append_u64(key, static_cast<uint64_t>(seq));
  return key;
}

}  // namespace

TEST_CASE("group commit: many threads, every done ok, every row present") {
  temp_dir dir;
  auto d = open_db(dir.db_path());
  auto records = d->get_table("records");
  auto index = d->get_table("index");
  constexpr int threads_count = 4;
  constexpr int batches_per_thread = 500;
  std::atomic<int> ok_count{0};
  std::atomic<int> done_calls{0};
  {
    auto c = make_group_committer(*d, 64, 1u << 20);
    std::vector<std::thread> threads;
    for (int t = 0; t < threads_count; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < batches_per_thread; ++i) {
          batch b;
          b.put(records, record_key(t, i), "value");
          b.put(index, "idx" + record_key(t, i), "");
          c->submit(std::move(b), [&](status s) {
            ++done_calls;
            if (s) ++ok_count;
          });
        }
      });
    }
    for (auto& th : threads) th.join();
    c->stop();  // drains the queue before returning
    CHECK(done_calls.load() == threads_count * batches_per_thread);
    auto stats = c->stats();
    CHECK(stats.batches == threads_count * batches_per_thread);
    CHECK(stats.failed_batches == 0);
    CHECK(stats.synced_groups == stats.commits);
    CHECK(stats.commits <= stats.batches);
    CHECK(stats.bytes > 0);
    CHECK(stats.largest_group_batches <= 64);
    MESSAGE("groups: " << stats.commits << " for " << stats.batches << " batches");
  }
  CHECK(ok_count.load() == threads_count * batches_per_thread);
  for (int t = 0; t < threads_count; ++t)
    for (int i = 0; i < batches_per_thread; ++i) {
      REQUIRE(d->get(records, record_key(t, i))->has_value());
      REQUIRE(d->get(index, "idx" + record_key(t, i))->has_value());
    }
}

TEST_CASE("group commit calls done in submission order") {
  fault_env disk;
  auto d = open_db("/sim/order/db", disk.env());
  auto records = d->get_table("records");
  std::vector<int> order;
  std::mutex order_mutex;
  auto c = make_group_committer(*d, 8);
  for (int i = 0; i < 100; ++i) {
    batch b;
    b.put(records, record_key(0, i), "v");
    c->submit(std::move(b), [&, i](status s) {
      CHECK(s);
      std::lock_guard lock{order_mutex};
      order.push_back(i);
    });
  }
  c->stop();
  REQUIRE(order.size() == 100);
  for (int i = 0; i < 100; ++i) CHECK(order[static_cast<size_t>(i)] == i);
}

TEST_CASE("after stop, a committer refuses batches with unavailable") {
  fault_env disk;
  auto d = open_db("/sim/stop/db", disk.env());
  for (auto* kind : {"group", "inline"}) {
    CAPTURE(kind);
    auto c = std::string{kind} == "group" ? make_group_committer(*d) : make_inline_committer(*d);
    c->stop();
    c->stop();  // idempotent
    int calls = 0;
    batch b;
    b.put(d->get_table("records"), "late", "v");
    c->submit(std::move(b), [&](status s) {
      ++calls;
      REQUIRE_FALSE(s);
      CHECK(s.err().code == errc::unavailable);
    });
    CHECK(calls == 1);
    CHECK(c->stats().failed_batches == 1);
  }
  CHECK_FALSE(d->get(d->get_table("records"), "late")->has_value());
}

TEST_CASE("a failed group write reaches every done in the group") {
  fault_env disk;
  auto d = open_db("/sim/fail/db", disk.env());
  disk.fail_writes_matching("/sim/fail", errc::storage_full);
  std::atomic<int> full{0};
  {
    auto c = make_group_committer(*d);
    for (int i = 0; i < 20; ++i) {
      batch b;
      b.put(d->get_table("records"), record_key(1, i), "v");
      c->submit(std::move(b), [&](status s) {
        if (!s && s.err().code == errc::storage_full) ++full;
      });
    }
  }  // the destructor stops and drains
  CHECK(full.load() == 20);
}

TEST_CASE("the inline committer writes before submit returns") {
  fault_env disk;
  auto d = open_db("/sim/inline/db", disk.env());
  auto c = make_inline_committer(*d);
  bool called = false;
  batch b;
  b.put(d->get_table("records"), "k", "v");
  c->submit(std::move(b), [&](status s) {
    CHECK(s);
    called = true;
  });
  CHECK(called);
  CHECK(d->get(d->get_table("records"), "k")->has_value());
  CHECK(c->stats().synced_groups == 1);
}
