// librarian-node: one node of a Librarian cluster. Opens the node's RocksDB, spawns its actors,
// publishes its gateway on the cluster port, serves the HTTP API, and shuts down cleanly (in
// bounded time) on SIGINT or SIGTERM.
#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "actors/node/interface.hpp"
#include "actors/node/node_actor.hpp"
#include "actors/transfer/movers.hpp"
#include "net/api/api.hpp"
#include "net/data/server.hpp"
#include "net/gridftp/server.hpp"
#include "net/transport/transport.hpp"
#include "runtime/caf/error.hpp"
#include "runtime/caf/system_config.hpp"
#include "runtime/config.hpp"
#include "runtime/crypto/crypto.hpp"
#include "runtime/log.hpp"
#include "storage/committer.hpp"
#include "storage/db.hpp"

namespace {

using namespace librarian;
using namespace std::chrono_literals;

constexpr auto shutdown_deadline = 15s;
// Outside the error-code range (0..12) so scripts can tell an overrun from a refusal.
constexpr int exit_shutdown_overrun = 70;

int fail_with(const error& err) {
  std::cerr << "librarian-node: " << err.describe() << "\n";
  return exit_code(err.code);
}

std::string db_path(const node_config& cfg) {
  return (std::filesystem::path{cfg.data_dir} / "db").string();
}

uint64_t choose_seed(const node_config& cfg) {
  if (cfg.seed) return *cfg.seed;
  // The only place a node draws entropy: the seed itself, which is logged so a run can be replayed.
  std::random_device device;
  return (uint64_t{device()} << 32) | device();
}

// Blocks SIGINT/SIGTERM in every thread (set before any thread starts); main waits for them.
sigset_t block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// A watchdog: if an orderly shutdown overruns, exit anyway rather than hang an operator's terminal.
void arm_shutdown_watchdog() {
  std::thread([] {
    std::this_thread::sleep_for(shutdown_deadline);
    std::fprintf(stderr, "librarian-node: shutdown took longer than %llds; exiting now\n",
                 static_cast<long long>(shutdown_deadline.count()));
    std::_Exit(exit_shutdown_overrun);
  }).detach();
}

struct run_options {
  std::string config_path;
  bool repair = false;
  bool check_only = false;
};

int run_node(const node_config& cfg, const sigset_t& signals,
             std::shared_ptr<transfer::async_mover> globus);

}  // namespace

int main(int argc, char** argv) {
  run_options options;
  CLI::App app{"librarian-node: runs one node of a Librarian cluster"};
  app.add_option("--config", options.config_path, "the node's JSON configuration file")->required();
  app.add_flag("--repair", options.repair,
               "repair the node's RocksDB after corruption (node must be stopped), then exit");
  app.add_flag("--check-config", options.check_only, "validate the configuration and exit");
  CLI11_PARSE(app, argc, argv);

  auto cfg = load_node_config(options.config_path);
  if (!cfg) return fail_with(cfg.err());
  // Credentials are checked now, not at the first batch (docs/globus.md); the replicator uses
  // this mover.
  std::shared_ptr<transfer::async_mover> globus;
  if (cfg->librarian.globus_enable) {
    auto mover = transfer::make_globus_mover(*cfg);
    if (!mover) return fail_with(mover.err());
    globus = *mover;
  }
  if (options.check_only) {
    std::cout << options.config_path << ": configuration is valid\n";
    return 0;
  }
  log::set_level(*log::level_from_name(cfg->log_level));
  log::set_node_name(cfg->name);
  if (options.repair) {
    auto st = storage::db::repair(db_path(*cfg));
    if (!st) return fail_with(st.err());
    std::cout << "repaired " << db_path(*cfg) << "\n";
    return 0;
  }
  auto signals = block_shutdown_signals();
  return run_node(*cfg, signals, std::move(globus));
}

namespace {

// Asks the users actor to create the configured first admin, if and only if no user exists yet.
void bootstrap_admin(caf::scoped_actor& self, const caf::actor& node, const node_config& cfg) {
  if (!cfg.auth.bootstrap_admin) return;
  const auto& admin = *cfg.auth.bootstrap_admin;
  node::user_record record{admin.name, "ADMIN",
                           crypto::hash_password(admin.password, cfg.auth.kdf_iterations), 0, 0};
  self->request(node, 30s, atoms::ask_atom_v, std::string{"users"},
                caf::make_message(atoms::bootstrap_atom_v, std::move(record)))
      .receive(
          [&](bool created) {
            if (created)
              LIB_LOG_INFO("node") << "created the bootstrap admin '" << admin.name << "'";
          },
          [&](const caf::error& err) {
            LIB_LOG_ERROR("node") << "bootstrap admin: " << from_caf(err).describe();
          });
}

// Waits for a shutdown signal or for the node actor to die on its own.
void wait_for_shutdown(caf::scoped_actor& self, const caf::actor& node, const sigset_t& signals) {
  self->monitor(node);
  bool node_down = false;
  for (;;) {
    timespec poll{0, 200'000'000};
    int signal_number = sigtimedwait(&signals, nullptr, &poll);
    if (signal_number > 0) {
      LIB_LOG_INFO("node") << "received signal " << signal_number << "; shutting down";
      return;
    }
    self->receive([&](const caf::down_msg&) { node_down = true; }, caf::after(0ms) >> [] {});
    if (node_down) {
      LIB_LOG_ERROR("node") << "the node actor stopped; shutting down";
      return;
    }
  }
}

// The GridFTP server runs on its own threads beside the actors (it needs none of them); null
// when disabled.
expected<std::unique_ptr<gridftp::server>> start_gridftp(const node_config& cfg) {
  if (!cfg.gridftp.enabled) return std::unique_ptr<gridftp::server>{};
  gridftp::server_options options;
  options.bind_address = cfg.listen.host;
  options.port = cfg.gridftp.port;
  options.roots = cfg.gridftp.roots;
  options.anonymous = cfg.gridftp.anonymous_user;
  options.password_file = cfg.gridftp.password_file;
  options.sessions_max = cfg.gridftp.sessions_max;
  options.marker_interval = std::chrono::milliseconds(cfg.gridftp.marker_interval_ms);
  options.data_timeout = std::chrono::milliseconds(cfg.gridftp.data_timeout_ms);
  options.direct_io = cfg.gridftp.direct_io;
  auto started = gridftp::server::start(std::move(options));
  if (!started) return started.err();
  return std::move(*started);
}

int serve(caf::actor_system& sys, const node_config& cfg, std::shared_ptr<node::node_env> env,
          const node::node_identity& identity, const sigset_t& signals,
          const gridftp::server* ftp) {
  auto node = node::spawn_node(sys, env, identity);
  auto gateway = node::spawn_gateway(sys, node);
  caf::scoped_actor self{sys};
  int rc = 0;
  auto port =
      sys.middleman().publish(gateway, cfg.listen.cluster_port, cfg.listen.host.c_str(), true);
  std::unique_ptr<net::api_server> api;
  if (!port) {
    std::cerr << "librarian-node: cannot listen on " << cfg.listen.host << ":"
              << cfg.listen.cluster_port << " (" << sys.render(port.error())
              << "); is the port in use? change listen.cluster_port in " << cfg.source << "\n";
    rc = exit_code(errc::unavailable);
  } else {
    bootstrap_admin(self, node, cfg);
    auto started = net::start_api_server(sys, node, env);
    if (!started) {
      std::cerr << "librarian-node: " << started.err().describe() << "\n";
      rc = exit_code(started.err().code);
    } else {
      api = std::move(*started);
      std::cout << "librarian-node " << cfg.name << " ready: cluster=" << cfg.listen.host << ":"
                << *port << " http="
                << (api ? cfg.listen.host + ":" + std::to_string(api->port()) : std::string{"off"})
                << " data="
                << (env->data_port ? cfg.listen.host + ":" + std::to_string(env->data_port)
                                   : std::string{"off"})
                << " incarnation=" << identity.incarnation
                << (ftp ? " gridftp=" + cfg.listen.host + ":" + std::to_string(ftp->port())
                        : std::string{})
                << std::endl;
      wait_for_shutdown(self, node, signals);
    }
  }
  arm_shutdown_watchdog();
  if (api) api->stop();
  self->send(node, atoms::shutdown_atom_v);
  self->wait_for(node);
  self->send_exit(gateway, caf::exit_reason::user_shutdown);
  self->wait_for(gateway);
  if (port) static_cast<void>(sys.middleman().unpublish(gateway, *port));
  return rc;
}

int run_node(const node_config& cfg, const sigset_t& signals,
             std::shared_ptr<transfer::async_mover> globus) {
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  if (ec)
    return fail_with(fail(errc::invalid_argument,
                          "cannot create data_dir " + cfg.data_dir + ": " + ec.message()));
  auto db_options = node::node_db_options(db_path(cfg));
  db_options.block_cache_bytes = static_cast<size_t>(cfg.storage.block_cache_mb) << 20;
  auto db = storage::db::open(db_options);
  if (!db) return fail_with(db.err());
  system_wall_clock clock;
  auto identity = node::begin_incarnation(**db, cfg.name, clock.now_unix_ms());
  if (!identity) return fail_with(identity.err());
  auto tuning = knobs::defaults();
  auto committer = storage::make_group_committer(**db, tuning.commit_group_batches_max,
                                                 tuning.commit_group_bytes_max);
  auto env = std::make_shared<node::node_env>();
  env->globus_mover = std::move(globus);
  env->config = cfg;
  env->db = db->get();
  env->committer = committer.get();
  env->clock = &clock;
  env->seed = choose_seed(cfg);
  env->incarnation = identity->incarnation;
  env->tuning = tuning;
  env->mcs_objects = node::make_mcs_object_cache(cfg);
  env->spawn_transport = [](caf::local_actor* spawner, caf::actor supervisor,
                            std::shared_ptr<node::node_env> node_env) {
    return net::spawn_middleman_transport(spawner, std::move(supervisor), std::move(node_env));
  };
  std::unique_ptr<data::data_server> data_server;
  if (cfg.listen.data_port != 0) {
    env->data_tickets = std::make_shared<data::ticket_registry>();
    data::data_server_options data_options;
    data_options.bind_address = cfg.listen.host;
    data_options.port = cfg.listen.data_port;
    data_options.connections_max = cfg.data.connections_max;
    data_options.stall_timeout = std::chrono::milliseconds(cfg.data.stall_timeout_ms);
    data_options.tcp_buffer_bytes = cfg.data.tcp_buffer_bytes;
    data_options.block_bytes_max = cfg.data.block_bytes_max;
    data_options.sync_every_bytes = cfg.data.sync_every_bytes;
    data_options.direct_io = cfg.data.direct_io;
    auto started = data::data_server::start(data_options, env->data_tickets);
    if (!started) {
      auto err = started.err();
      err.message += " (listen.data_port in " + cfg.source + ")";
      committer->stop();
      return fail_with(err);
    }
    data_server = std::move(*started);
    env->data_port = data_server->port();
    env->data_server = data_server.get();
  }
  // The GridFTP server, before any actor starts: the replicator names its port in stage answers.
  auto stop_servers = [&] {
    if (data_server) data_server->stop();
    committer->stop();
  };
  auto ftp_started = start_gridftp(cfg);
  if (!ftp_started) {
    stop_servers();
    return fail_with(ftp_started.err());
  }
  auto ftp = std::move(*ftp_started);
  if (ftp) env->gridftp_port = ftp->port();
  bool gridftp_mover = false;
  for (const auto& t : cfg.background.send_clone)
    gridftp_mover = gridftp_mover || t.mover == "gridftp";
  if (gridftp_mover) {
    transfer::gridftp_mover_options o;
    o.source_url = cfg.replication.gridftp_source_url;
    if (o.source_url.empty() && ftp)
      o.source_url = "ftp://" + cfg.listen.host + ":" + std::to_string(ftp->port());
    o.streams = cfg.replication.native_streams;
    o.stall_timeout_ms = cfg.data.stall_timeout_ms;
    if (!cfg.replication.gridftp_credentials_file.empty()) {
      auto login = transfer::read_gridftp_credentials(cfg.replication.gridftp_credentials_file);
      if (!login) {
        if (ftp) ftp->stop();
        stop_servers();
        return fail_with(login.err());
      }
      o.user = login->first;
      o.password = login->second;
    }
    auto mover = transfer::make_gridftp_mover(std::move(o));
    if (!mover) {
      if (ftp) ftp->stop();
      stop_servers();
      return fail_with(mover.err());
    }
    env->movers["gridftp"] = *mover;
  }
  LIB_LOG_INFO("node") << "starting node " << cfg.name << " incarnation " << identity->incarnation
                       << " seed " << env->seed << " data_dir " << cfg.data_dir;
  int rc = 0;
  {
    system_options options;
    options.heartbeat_interval = std::chrono::milliseconds(cfg.cluster.heartbeat_interval_ms);
    options.connection_timeout = std::chrono::milliseconds(cfg.cluster.connection_timeout_ms);
    options.scheduler =
        cfg.actors.work_stealing ? scheduler_policy::stealing : scheduler_policy::sharing;
    options.worker_threads = cfg.actors.threads;
    system_config sys_cfg{options};
    caf::actor_system sys{sys_cfg};
    rc = serve(sys, cfg, env, *identity, signals, ftp.get());
  }  // ~actor_system waits for every actor; all were told to stop above
  if (ftp) ftp->stop();
  if (data_server) data_server->stop();
  committer->stop();
  LIB_LOG_INFO("node") << "node " << cfg.name << " stopped";
  return rc;
}

}  // namespace
