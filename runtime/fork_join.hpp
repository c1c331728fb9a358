// A small pool of helper threads that lets one caller split a long read into parts run side by
// side. The caller always works on the parts itself too, and runs any part no helper has started
// by the time it is free, so a request never waits on a busy pool: at worst it runs alone, as it
// would without one. The caller blocks only while parts run, and parts must never wait on
// actors or on other callers, so it cannot deadlock (a bulk read may run on an HTTP thread, in
// an authorization continuation on an actor, or on the KDF pool: it blocked there before too).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

namespace librarian {

class fork_join_pool {
 public:
  // helpers >= 1 threads, started now and joined by the destructor.
  explicit fork_join_pool(size_t helpers);
  ~fork_join_pool();
  fork_join_pool(const fork_join_pool&) = delete;
  fork_join_pool& operator=(const fork_join_pool&) = delete;

  [[nodiscard]] size_t helpers() const;

  // Calls part(i) once for each i in [0, parts), on the caller's thread and the helpers', and
  // returns once every call has returned. If calls throw, the first exception is rethrown here,
  // after every call has finished (the others still run).
  void run(size_t parts, const std::function<void(size_t)>& part);

  // Helpers for a machine with `hardware_threads` (0: unknown): one fewer than the threads, at
  // least 1 and at most 7.
  [[nodiscard]] static size_t default_helpers(unsigned hardware_threads);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace librarian
