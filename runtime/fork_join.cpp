// fork_join_pool (see fork_join.hpp).
#include "runtime/fork_join.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/assert.hpp"

namespace librarian {
namespace {

// One run(): parts are claimed by whoever comes first, caller or helper.
struct job {
  job(size_t n, const std::function<void(size_t)>& f) : parts(n), part(f) {}

  // Claims and runs parts until none is left. A part that throws still counts as finished, so
  // run() never returns (or unwinds) while a helper is inside a part.
  void work() noexcept {
    for (size_t i = next.fetch_add(1); i < parts; i = next.fetch_add(1)) {
      std::exception_ptr thrown;
      try {
        part(i);
      } catch (...) {
        thrown = std::current_exception();
      }
      std::lock_guard lock{mutex};
      if (thrown && !first_exception) first_exception = thrown;
      if (++finished == parts) all_done.notify_all();
    }
  }

  const size_t parts;
  // Valid while run() waits: a helper calls it only for a part it claimed, and run() returns
  // only once every claimed part has finished.
  const std::function<void(size_t)>& part;
  std::atomic<size_t> next{0};
  std::mutex mutex;
  std::condition_variable all_done;
  size_t finished = 0;                 // guarded by mutex
  std::exception_ptr first_exception;  // guarded by mutex
};

}  // namespace

struct fork_join_pool::impl {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::shared_ptr<job>> queue;  // one entry per helper asked to join a job
  bool stopping = false;
  std::vector<std::thread> threads;

  void loop() {
    for (;;) {
      std::shared_ptr<job> j;
      {
        std::unique_lock lock{mutex};
        wake.wait(lock, [this] { return stopping || !queue.empty(); });
        if (queue.empty()) return;
        j = std::move(queue.front());
        queue.pop_front();
      }
      j->work();
    }
  }
};

fork_join_pool::fork_join_pool(size_t helpers) : impl_(std::make_unique<impl>()) {
  LIB_ASSERT(helpers >= 1);
  impl_->threads.reserve(helpers);
  try {
    for (size_t i = 0; i < helpers; ++i) impl_->threads.emplace_back([this] { impl_->loop(); });
  } catch (...) {
    stop_and_join();  // the threads already started, before the error propagates
    throw;
  }
}

fork_join_pool::~fork_join_pool() {
  stop_and_join();
}

void fork_join_pool::stop_and_join() noexcept {
  {
    std::lock_guard lock{impl_->mutex};
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
}

size_t fork_join_pool::helpers() const {
  return impl_->threads.size();
}

void fork_join_pool::run(size_t parts, const std::function<void(size_t)>& part) {
  if (parts == 0) return;
  if (parts == 1) {
    part(0);
    return;
  }
  auto j = std::make_shared<job>(parts, part);
  size_t asked = 0;  // helpers told about the job; if queueing fails the caller runs it all
  try {
    std::lock_guard lock{impl_->mutex};
    for (; asked < std::min(parts - 1, impl_->threads.size()); ++asked) impl_->queue.push_back(j);
  } catch (...) {  // NOLINT(bugprone-empty-catch): fewer helpers asked; the caller does the rest
  }
  if (asked == 1)
    impl_->wake.notify_one();
  else if (asked > 1)
    impl_->wake.notify_all();
  j->work();
  // Every part is claimed; wait for those a helper is still running.
  std::unique_lock lock{j->mutex};
  j->all_done.wait(lock, [&] { return j->finished == parts; });
  if (j->first_exception) std::rethrow_exception(j->first_exception);
}

size_t fork_join_pool::default_helpers(unsigned hardware_threads) {
  if (hardware_threads <= 2) return 1;
  return std::min<size_t>(hardware_threads - 1, 7);
}

}  // namespace librarian
