// fork_join_pool (see fork_join.hpp).
#include "runtime/fork_join.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>

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

// The helpers are an asio thread pool (as the API's KDF pool is): run() posts one claimer per
// helper asked; a claimer that starts after its job is done finds no part left.
struct fork_join_pool::impl {
  explicit impl(size_t n) : helpers(n), pool(n) {}
  size_t helpers;
  boost::asio::thread_pool pool;
};

fork_join_pool::fork_join_pool(size_t helpers) {
  LIB_ASSERT(helpers >= 1);
  impl_ = std::make_unique<impl>(helpers);
}

fork_join_pool::~fork_join_pool() {
  impl_->pool.join();
}

size_t fork_join_pool::helpers() const {
  return impl_->helpers;
}

void fork_join_pool::run(size_t parts, const std::function<void(size_t)>& part) {
  if (parts == 0) return;
  if (parts == 1) {
    part(0);
    return;
  }
  auto j = std::make_shared<job>(parts, part);
  try {
    for (size_t asked = 0; asked < std::min(parts - 1, impl_->helpers); ++asked)
      boost::asio::post(impl_->pool, [j] { j->work(); });
  } catch (...) {  // NOLINT(bugprone-empty-catch): fewer helpers asked; the caller does the rest
  }
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
