// fork_join_pool: every part runs exactly once, on several threads, and a caller never waits for
// a helper that is busy elsewhere.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "runtime/fork_join.hpp"

using namespace librarian;

TEST_CASE("fork_join_pool runs every part exactly once and returns after the last") {
  fork_join_pool pool{3};
  CHECK(pool.helpers() == 3);
  for (size_t parts : {0, 1, 2, 3, 4, 7, 50}) {
    for (int round = 0; round < 200; ++round) {
      std::vector<std::atomic<int>> runs(parts);
      std::atomic<int> finished{0};
      pool.run(parts, [&](size_t i) {
        runs[i].fetch_add(1);
        finished.fetch_add(1);
      });
      // run() returned: every part has finished, none twice.
      CHECK(finished.load() == static_cast<int>(parts));
      for (auto& r : runs) CHECK(r.load() == 1);
    }
  }
}

TEST_CASE("fork_join_pool spreads parts over the caller and its helpers") {
  fork_join_pool pool{1};
  std::mutex mutex;
  std::set<std::thread::id> threads;
  // Each part waits (bounded) until two parts are running at once, so one part must be on the
  // helper; the wait is cut short after 10 s so a broken pool fails instead of hanging.
  std::atomic<int> running{0};
  std::atomic<bool> overlapped{false};
  pool.run(2, [&](size_t) {
    {
      std::lock_guard lock{mutex};
      threads.insert(std::this_thread::get_id());
    }
    running.fetch_add(1);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (running.load() < 2 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
    overlapped = overlapped || running.load() == 2;
  });
  CHECK(overlapped.load());
  CHECK(threads.size() == 2);
  CHECK(threads.count(std::this_thread::get_id()) == 1);
}

TEST_CASE("a caller runs the parts itself while the only helper is busy") {
  fork_join_pool pool{1};
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<bool> helper_holding{false};
  // Another caller's job: the helper's part holds it until released; the caller's own part
  // waits (bounded) until the helper is holding, so the helper surely takes a part.
  auto other = std::async(std::launch::async, [&] {
    const auto caller = std::this_thread::get_id();
    pool.run(2, [&](size_t) {
      if (std::this_thread::get_id() != caller) {
        helper_holding = true;
        released.wait_for(std::chrono::seconds(10));
        return;
      }
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!helper_holding.load() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    });
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!helper_holding.load() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  REQUIRE(helper_holding.load());
  // This caller's parts must all run here, without waiting for the helper.
  std::atomic<int> done{0};
  auto start = std::chrono::steady_clock::now();
  pool.run(8, [&](size_t) { done.fetch_add(1); });
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(done.load() == 8);
  CHECK(took < std::chrono::seconds(5));  // not held until the release below
  release.set_value();
  other.get();
}

TEST_CASE("a part that throws: every other part still runs, then run() rethrows") {
  fork_join_pool pool{2};
  for (int round = 0; round < 100; ++round) {
    std::vector<std::atomic<int>> runs(9);
    bool thrown = false;
    try {
      pool.run(9, [&](size_t i) {
        runs[i].fetch_add(1);
        if (i % 4 == 1) throw std::runtime_error("part " + std::to_string(i));
      });
    } catch (const std::runtime_error& e) {
      thrown = std::string{e.what()}.starts_with("part ");
    }
    CHECK(thrown);
    for (auto& r : runs) CHECK(r.load() == 1);
  }
}

TEST_CASE("default helper counts") {
  CHECK(fork_join_pool::default_helpers(0) == 1);
  CHECK(fork_join_pool::default_helpers(1) == 1);
  CHECK(fork_join_pool::default_helpers(2) == 1);
  CHECK(fork_join_pool::default_helpers(4) == 3);
  CHECK(fork_join_pool::default_helpers(64) == 7);
}
