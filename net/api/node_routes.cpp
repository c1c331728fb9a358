// Node-level endpoints: ping, status, members, and the unauthenticated /healthz and /metrics.
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "actors/mcs/object_cache.hpp"
#include "actors/transfer/interface.hpp"
#include "net/api/api_context.hpp"
#include "net/data/server.hpp"

namespace librarian::net {
namespace {

using http::path_params;
using http::request;
using http::respond_fn;
using http::role;

nlohmann::json to_json(const node::node_status& st) {
  auto actors = nlohmann::json::array();
  for (const auto& a : st.actors)
    actors.push_back({{"name", a.name},
                      {"state", a.state},
                      {"restarts", a.restarts},
                      {"mailbox_depth", a.mailbox_depth}});
  return {{"name", st.name},
          {"version", st.version},
          {"incarnation", st.incarnation},
          {"first_started_unix_ms", st.first_started_unix_ms},
          {"started_unix_ms", st.started_unix_ms},
          {"uptime_ms", st.uptime_ms},
          {"actors", actors}};
}

nlohmann::json to_json(const node::member_info& m) {
  return {{"name", m.name},
          {"state", m.state},
          {"address", m.address},
          {"since_unix_ms", m.since_unix_ms},
          {"last_seen_unix_ms", m.last_seen_unix_ms},
          {"incarnation", m.incarnation}};
}

// Prometheus text format: one `# TYPE` line per family, then samples.
struct metrics_text {
  std::ostringstream out;
  void family(const char* name, const char* type, const char* help) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  }
  template <class V>
  void sample(const std::string& name_and_labels, V value) {
    out << name_and_labels << " " << value << "\n";
  }
  // A family of one unlabelled sample.
  template <class V>
  void single(const char* name, const char* type, const char* help, V value) {
    family(name, type, help);
    sample(name, value);
  }
};

void process_metrics(metrics_text& m) {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  double cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                 static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  m.single("process_cpu_seconds_total", "counter", "User and system CPU time spent.", cpu_s);
  long pages = 0;
  std::ifstream statm{"/proc/self/statm"};
  long size_pages = 0;
  statm >> size_pages >> pages;
  m.single("process_resident_memory_bytes", "gauge", "Resident memory size.",
           pages * sysconf(_SC_PAGESIZE));
  std::error_code ec;
  size_t fds = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++fds;
  m.single("process_open_fds", "gauge", "Open file descriptors.", fds);
}

void storage_metrics(metrics_text& m, const context_ptr& ctx) {
  const auto& db = *ctx->env->db;
  m.single("librarian_rocksdb_estimated_keys", "gauge", "RocksDB estimate of live keys.",
           db.int_property("rocksdb.estimate-num-keys").value_or(0));
  m.single("librarian_rocksdb_sst_bytes", "gauge", "Total size of SST files.",
           db.int_property("rocksdb.total-sst-files-size").value_or(0));
  m.single("librarian_rocksdb_memtable_bytes", "gauge", "Size of all memtables.",
           db.int_property("rocksdb.cur-size-all-mem-tables").value_or(0));
  // Background work still owed after a burst of writes (a bulk load): reads compete with it
  // for CPU and disk until it reaches zero.
  m.single("librarian_rocksdb_pending_compaction_bytes", "gauge",
           "Estimated bytes compaction must rewrite to bring every table within its targets.",
           db.int_property("rocksdb.estimate-pending-compaction-bytes").value_or(0));
  m.single("librarian_rocksdb_running_compactions", "gauge", "Compactions running now.",
           db.db_int_property("rocksdb.num-running-compactions").value_or(0));
  m.single("librarian_rocksdb_running_flushes", "gauge", "Memtable flushes running now.",
           db.db_int_property("rocksdb.num-running-flushes").value_or(0));
  auto stats = ctx->env->committer->stats();
  m.single("librarian_commit_batches_total", "counter", "Batches made durable by group commit.",
           stats.batches);
  m.single("librarian_commit_failed_batches_total", "counter", "Batches whose commit failed.",
           stats.failed_batches);
  m.single("librarian_commit_syncs_total", "counter", "WAL syncs (one per commit group).",
           stats.synced_groups);
  m.single("librarian_commit_bytes_total", "counter", "Bytes committed.", stats.bytes);
}

void mcs_metrics(metrics_text& m, const context_ptr& ctx) {
  const auto& cache = ctx->env->mcs_objects;
  if (!cache) return;
  auto st = cache->snapshot_stats();
  m.single("librarian_mcs_object_cache_entries", "gauge", "Objects in the MCS object cache.",
           st.entries);
  m.single("librarian_mcs_object_cache_bytes", "gauge",
           "Memory the MCS object cache holds (estimated).", st.bytes);
  m.single("librarian_mcs_object_cache_bytes_max", "gauge", "mcs.object_cache_mb, in bytes.",
           st.bytes_max);
  m.single("librarian_mcs_object_cache_hits_total", "counter",
           "Object reads of queries answered by the cache.", st.hits);
  m.single("librarian_mcs_object_cache_misses_total", "counter",
           "Object reads of queries that went to the db.", st.misses);
  m.single("librarian_mcs_object_cache_refused_total", "counter",
           "Objects not cached because the cache was full.", st.refused);
}

void http_metrics(metrics_text& m, const context_ptr& ctx) {
  auto* server = ctx->server.load();
  if (!server) return;
  auto stats = server->stats();
  m.family("librarian_http_responses_total", "counter", "HTTP responses by status class.");
  for (size_t i = 0; i < stats.responses_by_class.size(); ++i)
    m.sample("librarian_http_responses_total{class=\"" + std::to_string(i + 1) + "xx\"}",
             stats.responses_by_class[i]);
  m.single("librarian_http_bytes_in_total", "counter", "Request bytes read.", stats.bytes_in);
  m.single("librarian_http_bytes_out_total", "counter", "Response bytes written.", stats.bytes_out);
  m.single("librarian_http_connections_open", "gauge", "Open HTTP connections.",
           stats.connections_open);
  m.single("librarian_http_handler_timeouts_total", "counter", "Requests answered 504.",
           stats.handler_timeouts);
}

void data_metrics(metrics_text& m, const context_ptr& ctx) {
  const auto* server = ctx->env->data_server;
  if (!server) return;
  auto st = server->stats();
  m.single("librarian_data_bytes_received_total", "counter",
           "Bytes received and verified on the data channel.", st.bytes_received);
  m.single("librarian_data_bytes_sent_total", "counter", "Bytes sent on the data channel.",
           st.bytes_sent);
  m.family("librarian_data_transfers_total", "counter", "Data-channel transfers by outcome.");
  m.sample("librarian_data_transfers_total{outcome=\"completed\"}", st.transfers_completed);
  m.sample("librarian_data_transfers_total{outcome=\"failed\"}", st.transfers_failed);
  m.single("librarian_data_checksum_mismatches_total", "counter",
           "Transfers whose checksum did not verify.", st.checksum_mismatches);
  m.single("librarian_data_connections_rejected_total", "counter",
           "Data connections refused (bad ticket, too many).", st.connections_rejected);
  m.single("librarian_data_connections_open", "gauge", "Open data-channel connections.",
           st.connections_open);
}

void node_metrics(metrics_text& m, const node::node_status& st) {
  m.single("librarian_node_incarnation", "gauge", "How many times this node has started.",
           st.incarnation);
  m.single("librarian_node_uptime_seconds", "gauge", "Seconds since this incarnation started.",
           static_cast<double>(st.uptime_ms) / 1000.0);
  m.family("librarian_actor_mailbox_depth", "gauge", "Messages waiting, as of the last poll.");
  for (const auto& a : st.actors)
    m.sample("librarian_actor_mailbox_depth{actor=\"" + a.name + "\"}", a.mailbox_depth);
  m.family("librarian_actor_restarts_total", "counter", "Supervisor restarts of each actor.");
  for (const auto& a : st.actors)
    m.sample("librarian_actor_restarts_total{actor=\"" + a.name + "\"}", a.restarts);
}

void replication_metrics(metrics_text& m, const transfer::replication_report& r) {
  m.family("librarian_replication_transfers", "gauge",
           "Live replication transfers by direction and status.");
  for (const auto& c : r.outgoing)
    m.sample("librarian_replication_transfers{direction=\"outgoing\",status=\"" + c.name + "\"}",
             c.count);
  for (const auto& c : r.incoming)
    m.sample("librarian_replication_transfers{direction=\"incoming\",status=\"" + c.name + "\"}",
             c.count);
  m.family("librarian_replication_batches", "gauge", "Open send-queue batches by state.");
  for (const auto& c : r.batches)
    m.sample("librarian_replication_batches{state=\"" + c.name + "\"}", c.count);
  uint64_t total = 0, done = 0;
  for (const auto& b : r.active) {
    total += b.bytes_total;
    done += b.bytes_done;
  }
  m.family("librarian_replication_open_bytes", "gauge",
           "Bytes of open batches, and how many of them have moved.");
  m.sample("librarian_replication_open_bytes{part=\"total\"}", total);
  m.sample("librarian_replication_open_bytes{part=\"moved\"}", done);
  m.single("librarian_replication_overdue_transfers", "gauge",
           "Live transfers older than their hypervisor's age_in_days.", r.overdue.size());
  m.family("librarian_replication_events_total", "counter",
           "Replicator events since start: task runs (<task>_runs), batches, transfers, "
           "retries, bytes moved (docs/replication.md).");
  for (const auto& c : r.counters)
    m.sample("librarian_replication_events_total{event=\"" + c.name + "\"}", c.count);
  m.family("librarian_task_runs_total", "counter",
           "Background task runs by outcome: ok, failed, soft_timeout, disabled (peer switched "
           "off), overlap (skipped: the previous run still going), overrun (still going when its "
           "next period began).");
  for (const auto& t : r.tasks)
    for (const auto& o : t.outcomes)
      m.sample("librarian_task_runs_total{task=\"" + t.name + "\",outcome=\"" + o.name + "\"}",
               o.count);
  m.family("librarian_task_run_seconds", "summary",
           "How long background task runs took: the task's own search and decisions, not the "
           "transfers it starts.");
  for (const auto& t : r.tasks) {
    m.sample("librarian_task_run_seconds_sum{task=\"" + t.name + "\"}",
             static_cast<double>(t.micros_sum) / 1e6);
    m.sample("librarian_task_run_seconds_count{task=\"" + t.name + "\"}", t.runs);
  }
  m.family("librarian_task_run_seconds_max", "gauge", "The longest run of each background task.");
  for (const auto& t : r.tasks)
    m.sample("librarian_task_run_seconds_max{task=\"" + t.name + "\"}",
             static_cast<double>(t.micros_max) / 1e6);
}

void respond_metrics(const context_ptr& ctx, const node::node_status& st,
                     std::optional<std::pair<uint64_t, uint64_t>> lrc_counts,
                     std::optional<transfer::replication_report> replication,
                     const respond_fn& respond) {
  metrics_text m;
  process_metrics(m);
  node_metrics(m, st);
  if (replication) replication_metrics(m, *replication);
  if (lrc_counts) {
    m.single("librarian_lrc_lfns", "gauge", "LFNs in the local replica catalog.",
             lrc_counts->first);
    m.single("librarian_lrc_mappings", "gauge", "LFN-to-PFN mappings in the local replica catalog.",
             lrc_counts->second);
  }
  storage_metrics(m, ctx);
  http_metrics(m, ctx);
  mcs_metrics(m, ctx);
  data_metrics(m, ctx);
  http::response res;
  res.content_type = "text/plain; version=0.0.4";
  res.body = m.out.str();
  respond(std::move(res));
}

void metrics(const context_ptr& ctx, const request& req, const respond_fn& respond) {
  ask_actor(
      ctx, "node", caf::make_message(atoms::status_atom_v), req, respond,
      [=](const node::node_status& st) {
        // The catalog's counts are optional: a restarting LRC must not fail the scrape.
        auto node = ctx->node;
        auto timeout = ctx->actor_timeout;
        ctx->sys.spawn([=](caf::event_based_actor* self) {
          using counts = std::optional<std::pair<uint64_t, uint64_t>>;
          // Then the replicator's report, optional too.
          auto with_replication = [=](counts lrc) {
            self->request(node, timeout, atoms::ask_atom_v, std::string{"replicator"},
                          caf::make_message(atoms::report_atom_v))
                .then(
                    [=](const transfer::replication_report& r) {
                      respond_metrics(ctx, st, lrc, r, respond);
                    },
                    [=](caf::error&) { respond_metrics(ctx, st, lrc, std::nullopt, respond); });
          };
          self->request(node, timeout, atoms::ask_atom_v, std::string{"lrc"},
                        caf::make_message(atoms::count_atom_v))
              .then(
                  [=](uint64_t lfns, uint64_t mappings) {
                    with_replication(std::pair{lfns, mappings});
                  },
                  [=](caf::error&) { with_replication(std::nullopt); });
        });
      });
}

}  // namespace

void add_node_routes(http::router& r, const context_ptr& ctx) {
  r.add("GET", "/healthz", [ctx](request req, path_params, respond_fn respond) {
    ask_actor(
        ctx, "node", caf::make_message(atoms::status_atom_v), req,
        [=](http::response res) {
          // Any failure to answer means unhealthy: 503, whatever the cause.
          res.status = 503;
          respond(std::move(res));
        },
        [=](const node::node_status& st) {
          bool all_running = true;
          for (const auto& a : st.actors) all_running = all_running && a.state == "running";
          respond(http::json_response(all_running ? 200 : 503,
                                      {{"status", all_running ? "ok" : "degraded"},
                                       {"name", st.name},
                                       {"incarnation", st.incarnation}}));
        });
  });
  r.add("GET", "/metrics",
        [ctx](request req, path_params, respond_fn respond) { metrics(ctx, req, respond); });
  r.add("GET", "/api/v1/ping", [ctx](request req, path_params, respond_fn respond) {
    authorize(ctx, req, respond, role::readonly, [=](caller who) {
      respond(http::json_response(200, {{"name", ctx->env->config.name},
                                        {"version", node::version_text},
                                        {"user", who.name},
                                        {"role", http::name(who.role)}}));
    });
  });
  r.add("GET", "/api/v1/status", [ctx](request req, path_params, respond_fn respond) {
    authorize(ctx, req, respond, role::readonly, [=](caller) {
      ask_actor(
          ctx, "node", caf::make_message(atoms::status_atom_v), req, respond,
          [=](const node::node_status& st) { respond(http::json_response(200, to_json(st))); });
    });
  });
  r.add("GET", "/api/v1/members", [ctx](request req, path_params, respond_fn respond) {
    authorize(ctx, req, respond, role::readonly, [=](caller) {
      ask_actor(ctx, "membership", caf::make_message(atoms::members_atom_v), req, respond,
                [=](const std::vector<node::member_info>& members) {
                  auto list = nlohmann::json::array();
                  for (const auto& m : members) list.push_back(to_json(m));
                  respond(http::json_response(200, {{"members", list}}));
                });
    });
  });
}

}  // namespace librarian::net
