// storage_crash_writer DIR: writes record + index batches through the group committer from a few
// threads and prints "ack KEY" only from the done callback, i.e. only once the batch is durable.
// The crash test SIGKILLs it and checks that every acknowledged key survived.
#include <chrono>
#include <cstdio>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "storage/committer.hpp"
#include "storage/db.hpp"
#include "tests/integration/storage_crash/crash_layout.hpp"

using namespace librarian;
using namespace librarian::storage;

namespace {

constexpr int writer_threads = 3;
// Both bounds are far beyond what the test's ~1.5 s window uses, so the writer is killed mid-run.
constexpr int records_per_thread_max = 2'000'000 / writer_threads;
constexpr auto run_time_max = std::chrono::seconds{20};
constexpr std::ptrdiff_t in_flight_per_thread_max = 64;  // bounds the commit queue

std::string record_key(int thread, int seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "w%d-%010d", thread, seq);
  return buf;
}

void write_records(db& d, committer& c, int thread, std::chrono::steady_clock::time_point end) {
  const auto records = d.get_table("records");
  const auto index = d.get_table("index");
  const std::string value(100, static_cast<char>('a' + thread));
  std::counting_semaphore<in_flight_per_thread_max> slots{in_flight_per_thread_max};
  for (int seq = 0; seq < records_per_thread_max; ++seq) {
    if (std::chrono::steady_clock::now() >= end) break;
    slots.acquire();
    auto key = record_key(thread, seq);
    batch b;
    b.put(records, key, value);
    b.put(index, crash::index_key(key), "");
    c.submit(std::move(b), [key, &slots](status s) {
      // Only the committer thread runs callbacks, so lines never interleave.
      if (s) {
        std::printf("ack %s\n", key.c_str());
        std::fflush(stdout);
      } else {
        std::fprintf(stderr, "commit failed: %s\n", s.err().describe().c_str());
      }
      slots.release();
    });
  }
  // Wait for our last callbacks before `slots` goes away.
  for (std::ptrdiff_t i = 0; i < in_flight_per_thread_max; ++i) slots.acquire();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: storage_crash_writer DIR\n");
    return 2;
  }
  open_options options;
  options.path = std::string{argv[1]} + "/db";
  options.tables = crash::tables;
  auto opened = db::open(options);
  if (!opened) {
    std::fprintf(stderr, "%s\n", opened.err().describe().c_str());
    return 1;
  }
  auto& d = **opened;
  auto c = make_group_committer(d);
  const auto end = std::chrono::steady_clock::now() + run_time_max;
  std::vector<std::thread> threads;
  for (int t = 0; t < writer_threads; ++t)
    threads.emplace_back([&, t] { write_records(d, *c, t, end); });
  for (auto& th : threads) th.join();
  c->stop();
  return 0;
}
