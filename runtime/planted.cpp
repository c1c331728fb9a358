#include "runtime/planted.hpp"

#include <atomic>
#include <mutex>
#include <set>

namespace librarian::planted {
namespace {

std::mutex g_mutex;
std::set<std::string, std::less<>> g_enabled;
std::atomic<bool> g_any{false};  // the fast path: nothing planted

}  // namespace

void enable(std::string name) {
  std::lock_guard guard{g_mutex};
  g_enabled.insert(std::move(name));
  g_any = true;
}

void clear() {
  std::lock_guard guard{g_mutex};
  g_enabled.clear();
  g_any = false;
}

bool on(std::string_view name) {
  if (!g_any.load(std::memory_order_relaxed)) return false;
  std::lock_guard guard{g_mutex};
  return g_enabled.count(name) > 0;
}

bool known(std::string_view name) {
  return name == "announce_before_commit" || name == "ignore_duplicate_guard" ||
         name == "skip_ingest_verify" || name == "callback_before_commit";
}

}  // namespace librarian::planted
