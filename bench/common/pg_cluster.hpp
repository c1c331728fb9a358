// A private PostgreSQL 15 cluster for the suites that compare against it (mcs, rls): initdb and
// pg_ctl in the suite's work directory, listening on loopback only (as the `postgres` user when we
// are root, since PostgreSQL refuses to run as root), and a libpq connection. Without libpq at
// build time (LIBRARIAN_BENCH_HAVE_LIBPQ unset) only the process helpers exist.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#ifdef LIBRARIAN_BENCH_HAVE_LIBPQ
#include <libpq-fe.h>
#endif

namespace librarian::bench {

// Debian's PostgreSQL 15 (package postgresql-15).
inline constexpr const char* pg_bin = "/usr/lib/postgresql/15/bin";

// A TCP port on 127.0.0.1 that was free a moment ago.
[[nodiscard]] uint16_t free_loopback_port();
// Runs argv with stdout and stderr appended to `log`; returns the pid, or -1.
[[nodiscard]] pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log);
// spawn_logged and wait: the exit code, or -1.
[[nodiscard]] int run_logged(const std::vector<std::string>& argv, const std::string& log);

#ifdef LIBRARIAN_BENCH_HAVE_LIBPQ

// Stopped (pg_ctl stop -m fast) by the destructor once started.
struct pg_cluster {
  std::filesystem::path data;
  std::string log;
  bool as_postgres = false;
  bool started = false;
  uint16_t port = 0;
  [[nodiscard]] std::vector<std::string> as_owner(std::vector<std::string> argv) const;
  pg_cluster() = default;
  pg_cluster(const pg_cluster&) = delete;
  pg_cluster& operator=(const pg_cluster&) = delete;
  ~pg_cluster();
};

// initdb in dir/pg and start it on a free loopback port with default settings except
// shared_buffers=256MB and max_connections=64 (fsync and synchronous commit stay on). Returns ""
// on success, else why PostgreSQL could not be started.
[[nodiscard]] std::string start_pg(pg_cluster& pg, const std::filesystem::path& dir);

// One connection as the cluster's superuser `bench` to database `postgres`.
struct pg_conn {
  PGconn* c = nullptr;
  explicit pg_conn(uint16_t port);
  ~pg_conn();
  pg_conn(const pg_conn&) = delete;
  pg_conn& operator=(const pg_conn&) = delete;
  [[nodiscard]] bool ok() const { return PQstatus(c) == CONNECTION_OK; }
  // Runs sql; returns the error text ("" on success) and the row count.
  [[nodiscard]] std::pair<std::string, int> exec(const std::string& sql);
  // A named prepared statement, run with text parameters.
  [[nodiscard]] std::string prepare(const std::string& name, const std::string& sql, int params);
  [[nodiscard]] std::pair<std::string, int> exec_prepared(const std::string& name,
                                                          const std::vector<const char*>& params);
};

// sql-quoted literal of s.
[[nodiscard]] std::string pg_quoted(PGconn* c, const std::string& s);

#endif

}  // namespace librarian::bench
