// The PostgreSQL cluster helper (see pg_cluster.hpp) and the process helpers it needs.
#include "bench/common/pg_cluster.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

extern char** environ;

namespace librarian::bench {

namespace fs = std::filesystem;

uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

int run_logged(const std::vector<std::string>& argv, const std::string& log) {
  auto pid = spawn_logged(argv, log);
  if (pid < 0) return -1;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#ifdef LIBRARIAN_BENCH_HAVE_LIBPQ

std::vector<std::string> pg_cluster::as_owner(std::vector<std::string> argv) const {
  if (!as_postgres) return argv;
  std::vector<std::string> out{"/usr/sbin/runuser", "-u", "postgres", "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

pg_cluster::~pg_cluster() {
  if (started)
    (void)run_logged(
        as_owner({std::string{pg_bin} + "/pg_ctl", "-D", data.string(), "-m", "fast", "stop"}),
        log);
}

std::string start_pg(pg_cluster& pg, const fs::path& dir) {
  if (::access((std::string{pg_bin} + "/initdb").c_str(), X_OK) != 0)
    return std::string{"PostgreSQL 15 is not installed ("} + pg_bin + "/initdb missing)";
  pg.data = dir / "pg";
  pg.log = (dir / "pg.log").string();
  pg.port = free_loopback_port();
  fs::create_directories(pg.data);
  // PostgreSQL refuses to run as root: hand the directory to the postgres user.
  if (::geteuid() == 0) {
    auto* pw = ::getpwnam("postgres");
    if (pw == nullptr) return "running as root and there is no 'postgres' user to run PostgreSQL";
    pg.as_postgres = true;
    for (auto p = pg.data; p != p.root_path() && p != fs::temp_directory_path();
         p = p.parent_path())
      if (::chown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0) return "cannot chown " + p.string();
    ::chmod(dir.c_str(), 0755);
    std::ofstream{pg.log};
    if (::chown(pg.log.c_str(), pw->pw_uid, pw->pw_gid) != 0) return "cannot chown the log";
  }
  if (run_logged(pg.as_owner({std::string{pg_bin} + "/initdb", "-D", pg.data.string(), "-U",
                              "bench", "-A", "trust"}),
                 pg.log) != 0)
    return "initdb failed (see " + pg.log + ")";
  auto opts = "-p " + std::to_string(pg.port) + " -k " + pg.data.string() +
              " -c listen_addresses=127.0.0.1 -c shared_buffers=256MB -c max_connections=64";
  if (run_logged(pg.as_owner({std::string{pg_bin} + "/pg_ctl", "-D", pg.data.string(), "-o", opts,
                              "-w", "-l", (pg.data / "server.log").string(), "start"}),
                 pg.log) != 0)
    return "pg_ctl start failed (see " + pg.log + ")";
  pg.started = true;
  return {};
}

pg_conn::pg_conn(uint16_t port) {
  auto info = "host=127.0.0.1 port=" + std::to_string(port) + " user=bench dbname=postgres";
  c = PQconnectdb(info.c_str());
}

pg_conn::~pg_conn() {
  PQfinish(c);
}

std::pair<std::string, int> pg_conn::exec(const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  auto st = PQresultStatus(r);
  std::string err = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? "" : PQerrorMessage(c);
  int rows = st == PGRES_TUPLES_OK ? PQntuples(r) : 0;
  PQclear(r);
  return {err, rows};
}

std::string pg_conn::prepare(const std::string& name, const std::string& sql, int params) {
  PGresult* r = PQprepare(c, name.c_str(), sql.c_str(), params, nullptr);
  std::string err = PQresultStatus(r) == PGRES_COMMAND_OK ? "" : PQerrorMessage(c);
  PQclear(r);
  return err;
}

std::pair<std::string, int> pg_conn::exec_prepared(const std::string& name,
                                                   const std::vector<const char*>& params) {
  PGresult* r = PQexecPrepared(c, name.c_str(), static_cast<int>(params.size()), params.data(),
                               nullptr, nullptr, 0);
  auto st = PQresultStatus(r);
  std::string err = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? "" : PQerrorMessage(c);
  int rows = st == PGRES_TUPLES_OK ? PQntuples(r) : 0;
  PQclear(r);
  return {err, rows};
}

std::string pg_quoted(PGconn* c, const std::string& s) {
  char* q = PQescapeLiteral(c, s.data(), s.size());
  std::string out = q;
  PQfreemem(q);
  return out;
}

#endif

}  // namespace librarian::bench
