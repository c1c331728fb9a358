// A flag set from the signal handler; sigaction so the previous handlers can be restored.
#include "bench/replication/interruption.hpp"

#include <signal.h>

#include <atomic>

namespace librarian::bench {
namespace {

std::atomic<bool> requested{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");
struct sigaction previous_int {};
struct sigaction previous_term {};

void on_signal(int) {
  requested = true;
}

}  // namespace

interruption_guard::interruption_guard() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  ::sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &previous_int);
  ::sigaction(SIGTERM, &sa, &previous_term);
}

interruption_guard::~interruption_guard() {
  ::sigaction(SIGINT, &previous_int, nullptr);
  ::sigaction(SIGTERM, &previous_term, nullptr);
}

bool interruption_requested() {
  return requested;
}

}  // namespace librarian::bench
