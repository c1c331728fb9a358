#include "runtime/config.hpp"

#include <cstdlib>
#include <set>

#include "runtime/json_reader.hpp"
#include "runtime/log.hpp"

namespace librarian {
namespace {

constexpr int64_t port_max = 65535;
constexpr int64_t hour_ms = 3600LL * 1000;

void read_listen(json_reader& r, listen_config& out) {
  r.optional("host", out.host);
  r.optional_int("cluster_port", out.cluster_port, 1, port_max);
  r.optional_int("http_port", out.http_port, 0, port_max);
  r.optional_int("data_port", out.data_port, 0, port_max);
  r.reject_unknown_keys();
  if (out.host.empty()) r.error("host", "must not be empty");
  // Two services cannot share a port; 0 (disabled) may repeat.
  if (out.http_port != 0 && out.http_port == out.cluster_port)
    r.error("http_port",
            "must differ from cluster_port (" + std::to_string(out.cluster_port) + ")");
  if (out.data_port != 0 && (out.data_port == out.cluster_port || out.data_port == out.http_port))
    r.error("data_port", "must differ from cluster_port and http_port");
}

void read_peers(json_reader& root, node_config& out) {
  std::set<std::string> names;
  for (auto& r : root.array_of_objects("peers")) {
    peer_config peer;
    r.required("name", peer.name);
    r.required("host", peer.host);
    r.required_int("cluster_port", peer.cluster_port, 1, port_max);
    r.reject_unknown_keys();
    if (!peer.name.empty() && !valid_node_name(peer.name))
      r.error("name", "must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}, got \"" + peer.name + "\"");
    if (!names.insert(peer.name).second)
      r.error("name", "peer \"" + peer.name + "\" is listed twice");
    if (peer.name == out.name) r.error("name", "a node cannot list itself as a peer");
    if (peer.host == out.listen.host && peer.cluster_port == out.listen.cluster_port)
      r.error("cluster_port", "peer \"" + peer.name + "\" has this node's own address");
    out.peers.push_back(std::move(peer));
  }
}

void read_cluster(json_reader& r, cluster_config& out) {
  r.optional_int("heartbeat_interval_ms", out.heartbeat_interval_ms, 10, hour_ms);
  r.optional_int("connection_timeout_ms", out.connection_timeout_ms, 20, hour_ms);
  r.optional_int("reconnect_min_ms", out.reconnect_min_ms, 1, hour_ms);
  r.optional_int("reconnect_max_ms", out.reconnect_max_ms, 1, hour_ms);
  r.optional_int("connect_timeout_ms", out.connect_timeout_ms, 10, hour_ms);
  r.reject_unknown_keys();
  if (out.connection_timeout_ms <= out.heartbeat_interval_ms)
    r.error("connection_timeout_ms", "must be larger than heartbeat_interval_ms (" +
                                         std::to_string(out.heartbeat_interval_ms) + ")");
  if (out.reconnect_max_ms < out.reconnect_min_ms)
    r.error("reconnect_max_ms", "must be at least reconnect_min_ms");
}

void read_actors(json_reader& r, actors_config& out) {
  std::string scheduler = "sharing";
  r.optional("scheduler", scheduler);
  if (scheduler == "stealing")
    out.work_stealing = true;
  else if (scheduler != "sharing")
    r.error("scheduler", "must be \"sharing\" or \"stealing\", got \"" + scheduler + "\"");
  r.optional_int("threads", out.threads, 0, 256);
  r.reject_unknown_keys();
}

void read_http(json_reader& r, http_config& out) {
  r.optional_int("threads", out.threads, 1, 64);
  r.optional_int("body_max_bytes", out.body_max_bytes, 1024, int64_t{1} << 30);
  r.optional_int("request_timeout_ms", out.request_timeout_ms, 100, hour_ms);
  r.optional_int("read_timeout_ms", out.read_timeout_ms, 100, hour_ms);
  r.optional_int("connections_max", out.connections_max, 1, 100000);
  r.reject_unknown_keys();
}

// The API's rule for user names (actors/node/users_state.cpp validate_user_name).
bool valid_user_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '@';
    if (!ok) return false;
  }
  return true;
}

void read_auth(json_reader& r, auth_config& out) {
  r.optional_int("kdf_iterations", out.kdf_iterations, 1000, 10000000);
  r.optional_int("token_ttl_max_s", out.token_ttl_max_s, 60, 10LL * 365 * 24 * 3600);
  if (r.has("bootstrap_admin")) {
    if (auto admin = r.object("bootstrap_admin")) {
      bootstrap_admin_config cfg;
      admin->required("name", cfg.name);
      if (!cfg.name.empty() && !valid_user_name(cfg.name))
        admin->error("name", "a user name has 1 to 64 letters, digits, '.', '_', '-' or '@'");
      admin->optional("password", cfg.password);
      admin->optional("password_env", cfg.password_env);
      admin->reject_unknown_keys();
      if (cfg.password.empty() == cfg.password_env.empty())
        admin->error("password", "give exactly one of password or password_env");
      if (!cfg.password.empty() && (cfg.password.size() < 8 || cfg.password.size() > 1024))
        admin->error("password", "must have 8 to 1024 characters");
      if (!cfg.password_env.empty()) {
        const char* from_env = std::getenv(cfg.password_env.c_str());
        if (!from_env || !*from_env)
          admin->error("password_env", "environment variable " + cfg.password_env + " is not set");
        else if (auto size = std::string_view{from_env}.size(); size < 8 || size > 1024)
          admin->error("password_env",
                       "the password in " + cfg.password_env + " must have 8 to 1024 characters");
        else
          cfg.password = from_env;
      }
      out.bootstrap_admin = std::move(cfg);
    }
  }
  r.reject_unknown_keys();
}

void read_supervisor(json_reader& r, supervisor_config& out) {
  r.optional_int("restart_backoff_min_ms", out.restart_backoff_min_ms, 1, hour_ms);
  r.optional_int("restart_backoff_max_ms", out.restart_backoff_max_ms, 1, hour_ms);
  r.reject_unknown_keys();
  if (out.restart_backoff_max_ms < out.restart_backoff_min_ms)
    r.error("restart_backoff_max_ms", "must be at least restart_backoff_min_ms");
}

bool known_node(const node_config& cfg, const std::string& name) {
  if (name == cfg.name) return true;
  for (const auto& peer : cfg.peers)
    if (peer.name == name) return true;
  return false;
}

void read_rli_mode(json_reader& t, rli_target_config& target) {
  std::string mode = "list";
  t.optional("mode", mode);
  if (mode == "list")
    target.mode = rli_update_mode::list;
  else if (mode == "immediate")
    target.mode = rli_update_mode::immediate;
  else if (mode == "bloom")
    target.mode = rli_update_mode::bloom;
  else
    t.error("mode", "must be \"list\", \"immediate\" or \"bloom\", got \"" + mode + "\"");
}

rli_target_config read_rli_target(json_reader& t, const node_config& out) {
  rli_target_config target;
  t.required("name", target.name);
  read_rli_mode(t, target);
  t.optional_int("interval_ms", target.interval_ms, 100, 24 * hour_ms);
  t.optional_int("full_interval_ms", target.full_interval_ms, 100, 30 * 24 * hour_ms);
  t.optional_int("buffer_ms", target.buffer_ms, 1, hour_ms);
  t.optional_int("buffer_changes", target.buffer_changes, 1, 10000);
  t.optional_int("bloom_bits_per_lfn", target.bloom_bits_per_lfn, 1, 64);
  t.optional_int("bloom_hashes", target.bloom_hashes, 1, 32);
  t.optional_int("chunk_lfns", target.chunk_lfns, 1, 10000);
  if (t.has("patterns")) {
    for (auto& p : t.string_array("patterns")) target.patterns.push_back(std::move(p));
  }
  t.reject_unknown_keys();
  const bool immediate = target.mode == rli_update_mode::immediate;
  const bool bloom = target.mode == rli_update_mode::bloom;
  for (const char* key : {"full_interval_ms", "buffer_ms", "buffer_changes"})
    if (!immediate && t.has(key)) t.error(key, "applies only to \"mode\": \"immediate\"");
  for (const char* key : {"bloom_bits_per_lfn", "bloom_hashes"})
    if (!bloom && t.has(key)) t.error(key, "applies only to \"mode\": \"bloom\"");
  if (immediate && target.full_interval_ms == 0)
    target.full_interval_ms = std::min<int64_t>(10 * target.interval_ms, 30 * 24 * hour_ms);
  if (immediate && target.full_interval_ms < target.interval_ms)
    t.error("full_interval_ms",
            "must be at least interval_ms (" + std::to_string(target.interval_ms) + ")");
  if (!target.name.empty() && !known_node(out, target.name))
    t.error("name", "\"" + target.name + "\" is neither this node nor one of its peers");
  return target;
}

void read_rls(json_reader& r, node_config& out) {
  auto& rls = out.rls;
  r.optional("rli", rls.rli);
  r.optional_int("staleness_permille", rls.staleness_permille, 1000, 10000);
  std::set<std::string> names;
  for (auto& t : r.array_of_objects("update_rlis")) {
    auto target = read_rli_target(t, out);
    if (!names.insert(target.name).second)
      t.error("name", "RLI \"" + target.name + "\" is listed twice");
    rls.update_rlis.push_back(std::move(target));
  }
  if (r.has("forward_rlis")) {
    std::set<std::string> parents;
    for (auto& name : r.string_array("forward_rlis")) {
      if (name == out.name)
        r.error("forward_rlis", "an RLI cannot forward to itself (\"" + name + "\")");
      else if (!known_node(out, name))
        r.error("forward_rlis", "\"" + name + "\" is not one of this node's peers");
      if (!parents.insert(name).second) r.error("forward_rlis", "\"" + name + "\" is listed twice");
      rls.forward_rlis.push_back(std::move(name));
    }
    if (!rls.forward_rlis.empty() && !rls.rli)
      r.error("forward_rlis", "needs \"rli\": true (only an RLI forwards updates)");
  }
  r.reject_unknown_keys();
}

void read_data(json_reader& r, data_config& out) {
  if (r.has("roots")) {
    for (auto& root : r.string_array("roots")) {
      if (root.empty() || root.front() != '/')
        r.error("roots", "\"" + root + "\" must be an absolute directory path");
      out.roots.push_back(std::move(root));
    }
  }
  r.optional_int("stall_timeout_ms", out.stall_timeout_ms, 100, 24 * hour_ms);
  r.optional_int("tcp_buffer_bytes", out.tcp_buffer_bytes, 0, int64_t{1} << 30);
  r.optional_int("block_bytes_max", out.block_bytes_max, int64_t{4096}, int64_t{1} << 30);
  r.optional_int("sync_every_bytes", out.sync_every_bytes, int64_t{1} << 20, int64_t{1} << 40);
  r.optional_int("ticket_ttl_s", out.ticket_ttl_s, 10, 30LL * 24 * 3600);
  r.optional_int("connections_max", out.connections_max, 4, 100000);
  r.optional("direct_io", out.direct_io);
  r.reject_unknown_keys();
}

void read_gridftp(json_reader& r, node_config& out) {
  auto& g = out.gridftp;
  r.optional("enabled", g.enabled);
  r.optional_int("port", g.port, 0, port_max);
  if (r.has("roots"))
    for (auto& root : r.string_array("roots")) g.roots.push_back(std::move(root));
  r.optional("anonymous_user", g.anonymous_user);
  r.optional("password_file", g.password_file);
  r.optional_int("marker_interval_ms", g.marker_interval_ms, 100, hour_ms);
  r.optional_int("data_timeout_ms", g.data_timeout_ms, 100, hour_ms);
  r.optional_int("sessions_max", g.sessions_max, 1, 10000);
  r.optional("direct_io", g.direct_io);
  r.reject_unknown_keys();
  for (const auto& root : g.roots)
    if (root.empty() || root.front() != '/')
      r.error("roots", "\"" + root + "\" is not an absolute path");
  if (g.enabled && g.roots.empty())
    r.error("roots", "an enabled GridFTP server needs at least one root");
  if (g.enabled && !g.anonymous_user && g.password_file.empty())
    r.error("password_file", "give a password_file or set anonymous_user, or nobody can log in");
  const auto& l = out.listen;
  if (g.enabled && g.port != 0 &&
      (g.port == l.cluster_port || g.port == l.http_port || g.port == l.data_port))
    r.error("port", "must differ from the listen ports");
}

// "ftp://host:port", nothing more: the GridFTP server that serves some paths.
bool gridftp_endpoint(const std::string& u) {
  if (!u.starts_with("ftp://")) return false;
  auto rest = u.substr(6);
  auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size()) return false;
  auto host = rest.substr(0, colon);
  if (host.find_first_of("/@ ") != std::string::npos) return false;
  auto port = rest.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
  auto n = std::stoul(port);
  return n >= 1 && n <= 65535;
}

bool absolute_clean_path(const std::string& p) {
  if (p.size() < 2 || p.front() != '/' || p.back() == '/') return false;
  return p.find("/../") == std::string::npos && !p.ends_with("/..") &&
         p.find("//") == std::string::npos;
}

void read_stores(json_reader& root, node_config& out) {
  std::set<std::string> names;
  for (auto& r : root.array_of_objects("stores")) {
    store_entry_config s;
    r.required("name", s.name);
    r.optional("type", s.type);
    r.required("staging_path", s.staging_path);
    r.required("store_path", s.store_path);
    r.optional("ingestable", s.ingestable);
    r.optional("enabled", s.enabled);
    r.required_int("capacity_bytes", s.capacity_bytes, 1, std::numeric_limits<int64_t>::max());
    r.optional("report_full_fraction", s.report_full_fraction, 0.01, 1.0);
    r.optional("destination_endpoint", s.destination_endpoint);
    r.optional("globus_root", s.globus_root);
    r.optional("gridftp_url", s.gridftp_url);
    r.reject_unknown_keys();
    if (!s.gridftp_url.empty() && !gridftp_endpoint(s.gridftp_url))
      r.error("gridftp_url",
              "must be ftp://HOST:PORT (no user, no path), got \"" + s.gridftp_url + "\"");
    if (!s.globus_root.empty() && !absolute_clean_path(s.globus_root) && s.globus_root != "/")
      r.error("globus_root", "must be an absolute path without a trailing '/', '//' or '..'");
    if (!s.name.empty() && !valid_node_name(s.name))
      r.error("name", "must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}, got \"" + s.name + "\"");
    if (!names.insert(s.name).second) r.error("name", "store \"" + s.name + "\" is listed twice");
    if (s.type != "local" && s.type != "sneakernet")
      r.error("type", "must be \"local\" or \"sneakernet\", got \"" + s.type + "\"");
    for (auto [key, path] :
         {std::pair{"staging_path", &s.staging_path}, std::pair{"store_path", &s.store_path}})
      if (!path->empty() && !absolute_clean_path(*path))
        r.error(key, "must be an absolute path without a trailing '/', '//' or '..'");
    if (!s.staging_path.empty() && s.staging_path == s.store_path)
      r.error("staging_path", "must differ from store_path");
    out.stores.push_back(std::move(s));
  }
}

void read_librarian(json_reader& r, librarian_section_config& out) {
  r.optional_int("upload_bytes_max", out.upload_bytes_max, 1, std::numeric_limits<int64_t>::max());
  r.optional_int("stage_ttl_s", out.stage_ttl_s, 1, 365LL * 24 * 3600);
  r.optional_int("reaper_interval_s", out.reaper_interval_s, 1, 24 * 3600);
  r.optional_int("search_results_max", out.search_results_max, 1, 100000);
  r.optional("encryption_key_file", out.encryption_key_file);
  r.optional_int("ping_timeout_ms", out.ping_timeout_ms, 10, hour_ms);
  for (auto& t : r.array_of_objects("check_integrity")) {
    integrity_task_config task;
    t.required("store", task.store);
    t.optional_int("every_s", task.every_s, 1, 365LL * 24 * 3600);
    t.optional_int("age_in_days", task.age_in_days, 0, 100000);
    t.reject_unknown_keys();
    out.check_integrity.push_back(std::move(task));
  }
  r.optional("globus_enable", out.globus_enable);
  r.optional("globus_client_id", out.globus_client_id);
  r.optional("globus_client_native_app", out.globus_client_native_app);
  r.optional("globus_local_endpoint_id", out.globus_local_endpoint_id);
  r.optional("globus_client_secret_file", out.globus_client_secret_file);
  r.optional("globus_local_root", out.globus_local_root);
  r.optional("globus_auth_url", out.globus_auth_url);
  r.optional("globus_transfer_url", out.globus_transfer_url);
  r.optional("globus_encrypt_transfers", out.globus_encrypt_transfers);
  r.reject_unknown_keys();
  if (out.globus_enable) {
    // Without credentials the backend cannot work: say so at start-up, not at the first batch.
    for (auto [key, value] :
         {std::pair{"globus_client_id", &out.globus_client_id},
          std::pair{"globus_local_endpoint_id", &out.globus_local_endpoint_id},
          std::pair{"globus_client_secret_file", &out.globus_client_secret_file}})
      if (value->empty())
        r.error(key, "is required when globus_enable is true (see docs/globus.md)");
  }
  for (auto [key, url] : {std::pair{"globus_auth_url", &out.globus_auth_url},
                          std::pair{"globus_transfer_url", &out.globus_transfer_url}})
    if (!url->starts_with("https://") && !url->starts_with("http://"))
      r.error(key, "must be an http:// or https:// URL, got \"" + *url + "\"");
}

// ---- background tasks

// Reads `every` and `soft_timeout` (durations, see parse_duration_ms).
void read_duration(json_reader& r, std::string_view key, int64_t& out, int64_t min_ms) {
  const auto* v = r.raw(key);
  if (!v) return;
  std::optional<int64_t> ms;
  if (v->is_string())
    ms = parse_duration_ms(v->get<std::string>());
  else if (v->is_number() && v->get<double>() >= 0 && v->get<double>() < 1e12)
    ms = static_cast<int64_t>(v->get<double>() * 1000);
  if (!ms)
    return r.error(key,
                   "must be a duration such as \"01:00:00\", \"1 day, 00:00:00\", \"30s\", "
                   "\"500ms\", \"5m\", \"2h\", \"1d\" or a number of seconds");
  if (*ms < min_ms)
    return r.error(key, "must be at least " + std::to_string(min_ms) + " ms, got " +
                            std::to_string(*ms) + " ms");
  out = *ms;
}

void read_schedule(json_reader& r, task_schedule& out) {
  read_duration(r, "every", out.every_ms, 10);
  read_duration(r, "soft_timeout", out.soft_timeout_ms, 0);
  // The reference's common field; accepted so its configs load, and otherwise unused.
  std::string task_name;
  r.optional("task_name", task_name);
}

template <class Task, class Read>
void read_tasks(json_reader& bg, std::string_view key, std::vector<Task>& out, Read read) {
  for (auto& t : bg.array_of_objects(key)) {
    Task task;
    read_schedule(t, task);
    read(t, task);
    t.reject_unknown_keys();
    out.push_back(std::move(task));
  }
}

bool known_store(const node_config& cfg, const std::string& name) {
  for (const auto& s : cfg.stores)
    if (s.name == name) return true;
  return false;
}

void read_background(json_reader& bg, node_config& cfg) {
  auto& out = cfg.background;
  constexpr double days_max = 100000;
  read_tasks(bg, "send_clone", out.send_clone, [&](json_reader& t, send_clone_task& task) {
    t.required("destination_librarian", task.destination_librarian);
    t.optional("age_in_days", task.age_in_days, 0, days_max);
    t.optional("store_preference", task.store_preference);
    // A peer takes at most 10,000 items per stage request, and Globus as many per task.
    t.optional_int("send_batch_size", task.send_batch_size, 1, 10000);
    t.optional("mover", task.mover);
    t.optional_int("priority", task.priority, -1000000, 1000000);
    // The reference's rate limit of a log line; accepted so its configs load.
    if (const auto* v = t.raw("warn_disabled_timer"); v && !v->is_null() && !v->is_number())
      t.error("warn_disabled_timer", "expected a number or null");
    if (task.destination_librarian == cfg.name)
      t.error("destination_librarian", "a node cannot send clones to itself");
    if (task.mover != "native" && task.mover != "local" && task.mover != "globus" &&
        task.mover != "gridftp")
      t.error("mover", "must be \"native\", \"local\", \"gridftp\" or \"globus\", got \"" +
                           task.mover + "\"");
    if (task.mover == "globus" && !cfg.librarian.globus_enable)
      t.error("mover", "is \"globus\" but librarian.globus_enable is false");
    if (!task.store_preference.empty() && !known_store(cfg, task.store_preference))
      t.error("store_preference",
              "names store \"" + task.store_preference + "\", which is not in stores");
  });
  read_tasks(bg, "consume_queue", out.consume_queue, [](json_reader&, consume_queue_task&) {});
  read_tasks(bg, "check_consumed_queue", out.check_consumed_queue,
             [](json_reader& t, check_consumed_queue_task&) {
               std::string complete_status = "STAGED";
               t.optional("complete_status", complete_status);
               if (complete_status != "STAGED")
                 t.error("complete_status", "only \"STAGED\" is supported");
             });
  // The reference's own spelling (recieve_clone) and its documentation's (receive_clone) both
  // name recv_clone.
  for (const char* key : {"recv_clone", "receive_clone", "recieve_clone"})
    read_tasks(bg, key, out.recv_clone, [](json_reader& t, recv_clone_task& task) {
      t.optional("deletion_policy", task.deletion_policy);
      t.optional_int("files_per_run", task.files_per_run, 1, 1000000);
      if (task.deletion_policy != "DISALLOWED" && task.deletion_policy != "ALLOWED")
        t.error("deletion_policy", "must be \"DISALLOWED\" or \"ALLOWED\"");
    });
  auto hypervisor = [&](json_reader& t, hypervisor_task& task) {
    t.optional("age_in_days", task.age_in_days, 0, days_max);
  };
  read_tasks(bg, "outgoing_transfer_hypervisor", out.outgoing_transfer_hypervisor, hypervisor);
  read_tasks(bg, "incoming_transfer_hypervisor", out.incoming_transfer_hypervisor, hypervisor);
  read_tasks(bg, "duplicate_remote_instance_hypervisor", out.duplicate_remote_instance_hypervisor,
             [](json_reader&, task_schedule&) {});
  read_tasks(bg, "corruption_fixer", out.corruption_fixer, [](json_reader&, task_schedule&) {});
  read_tasks(
      bg, "create_local_clone", out.create_local_clone,
      [&](json_reader& t, create_local_clone_task& task) {
        t.optional("age_in_days", task.age_in_days, 0, days_max);
        t.required("clone_from", task.clone_from);
        // A store name or a list of them.
        if (const auto* v = t.raw("clone_to"); v && v->is_string())
          task.clone_to.push_back(v->get<std::string>());
        else if (v && v->is_array())
          for (const auto& item : *v)
            if (item.is_string()) task.clone_to.push_back(item.get<std::string>());
        if (task.clone_to.empty())
          t.error("clone_to", "is required: a store name or a list of store names");
        t.optional_int("files_per_run", task.files_per_run, 1, 1000000);
        t.optional("disable_store_on_full", task.disable_store_on_full);
        for (const auto& s : task.clone_to)
          if (!known_store(cfg, s) || s == task.clone_from)
            t.error("clone_to", "names \"" + s + "\", which is not another configured store");
        if (!task.clone_from.empty() && !known_store(cfg, task.clone_from))
          t.error("clone_from", "names store \"" + task.clone_from + "\", which is not in stores");
      });
  read_tasks(bg, "rolling_deletion", out.rolling_deletion,
             [&](json_reader& t, rolling_deletion_task& task) {
               t.required("store_name", task.store_name);
               t.optional("age_in_days", task.age_in_days, 0, days_max);
               t.optional_int("number_of_remote_copies", task.number_of_remote_copies, 1, 1000);
               t.optional("verify_downstream_checksums", task.verify_downstream_checksums);
               t.optional("mark_unavailable", task.mark_unavailable);
               t.optional("force_deletion", task.force_deletion);
               if (!task.store_name.empty() && !known_store(cfg, task.store_name))
                 t.error("store_name",
                         "names store \"" + task.store_name + "\", which is not in stores");
             });
  // check_integrity may live here too (the reference's place); it joins librarian.check_integrity.
  for (auto& t : bg.array_of_objects("check_integrity")) {
    task_schedule sched;
    sched.every_ms = 24 * hour_ms;
    read_schedule(t, sched);
    integrity_task_config task;
    t.required("store_name", task.store);
    if (!task.store.empty() && !known_store(cfg, task.store))
      t.error("store_name", "names store \"" + task.store + "\", which is not in stores");
    double age = 0;
    t.optional("age_in_days", age, 0, days_max);
    task.age_in_days = static_cast<int64_t>(age);
    task.every_s = std::max<int64_t>(1, sched.every_ms / 1000);
    t.reject_unknown_keys();
    cfg.librarian.check_integrity.push_back(std::move(task));
  }
  bg.reject_unknown_keys();
}

void read_replication(json_reader& r, replication_config& out) {
  r.optional_int("max_async_inflight_transfers", out.max_async_inflight_transfers, 1, 100000);
  r.optional_int("max_batches_per_peer", out.max_batches_per_peer, 1, 100000);
  r.optional_int("max_async_send_retries", out.max_async_send_retries, 0, 1000);
  r.optional_int("retry_backoff_min_ms", out.retry_backoff_min_ms, 1, 24 * hour_ms);
  r.optional_int("retry_backoff_max_ms", out.retry_backoff_max_ms, 1, 24 * hour_ms);
  r.optional_int("peer_reply_timeout_ms", out.peer_reply_timeout_ms, 10, 24 * hour_ms);
  r.optional_int("stall_timeout_ms", out.stall_timeout_ms, 100, 7 * 24 * hour_ms);
  r.optional_int("native_streams", out.native_streams, 1, 64);
  r.optional_int("movers_threads", out.movers_threads, 1, 64);
  r.optional("gridftp_source_url", out.gridftp_source_url);
  r.optional("gridftp_credentials_file", out.gridftp_credentials_file);
  r.reject_unknown_keys();
  if (!out.gridftp_source_url.empty() && !gridftp_endpoint(out.gridftp_source_url))
    r.error("gridftp_source_url",
            "must be ftp://HOST:PORT (no user, no path), got \"" + out.gridftp_source_url + "\"");
  if (out.retry_backoff_max_ms < out.retry_backoff_min_ms)
    r.error("retry_backoff_max_ms", "must be at least retry_backoff_min_ms");
}

void read_mcs(json_reader& r, mcs_config& out) {
  r.optional("enabled", out.enabled);
  r.optional_int("object_cache_mb", out.object_cache_mb, 0, int64_t{1} << 20);
  r.reject_unknown_keys();
}

void read_storage(json_reader& r, storage_config& out) {
  r.optional_int("block_cache_mb", out.block_cache_mb, 8, int64_t{1} << 20);
  r.reject_unknown_keys();
}

void read_root(json_reader& root, node_config& out) {
  root.required("name", out.name);
  if (!out.name.empty() && !valid_node_name(out.name))
    root.error("name", "must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}, got \"" + out.name + "\"");
  root.required("data_dir", out.data_dir);
  root.optional("log_level", out.log_level);
  if (!log::level_from_name(out.log_level))
    root.error("log_level", "must be one of trace, debug, info, warn, error, off");
  if (root.has("seed")) {
    uint64_t seed = 0;
    root.optional_int("seed", seed, 0, std::numeric_limits<int64_t>::max());
    out.seed = seed;
  }
  if (auto r = root.object("listen")) read_listen(*r, out.listen);
  read_peers(root, out);
  if (auto r = root.object("cluster")) read_cluster(*r, out.cluster);
  if (auto r = root.object("actors")) read_actors(*r, out.actors);
  if (auto r = root.object("http")) read_http(*r, out.http);
  if (auto r = root.object("auth")) read_auth(*r, out.auth);
  if (auto r = root.object("supervisor")) read_supervisor(*r, out.supervisor);
  if (auto r = root.object("rls")) read_rls(*r, out);
  if (auto r = root.object("data")) read_data(*r, out.data);
  if (auto r = root.object("gridftp")) read_gridftp(*r, out);
  read_stores(root, out);
  if (auto r = root.object("librarian")) {
    read_librarian(*r, out.librarian);
    for (const auto& task : out.librarian.check_integrity) {
      bool known = false;
      for (const auto& s : out.stores) known = known || s.name == task.store;
      if (!task.store.empty() && !known)
        r->error("check_integrity", "names store \"" + task.store + "\", which is not in stores");
    }
  }
  if (auto r = root.object("background")) {
    read_background(*r, out);
    // Replication messages travel over the cluster transport: the destination must be a peer.
    for (const auto& t : out.background.send_clone) {
      bool peer = false;
      for (const auto& p : out.peers) peer = peer || p.name == t.destination_librarian;
      if (!t.destination_librarian.empty() && !peer)
        r->error("send_clone", "destination_librarian \"" + t.destination_librarian +
                                   "\" is not in peers (replication travels over the cluster "
                                   "transport; add it to peers)");
    }
  }
  if (auto r = root.object("replication")) read_replication(*r, out.replication);
  for (const auto& t : out.background.send_clone)
    if (t.mover == "gridftp" && out.replication.gridftp_source_url.empty() && !out.gridftp.enabled)
      root.error("background",
                 "a send_clone task uses the gridftp mover, but this node runs no GridFTP server "
                 "(gridftp.enabled) and names none (replication.gridftp_source_url)");
  if (auto r = root.object("mcs")) read_mcs(*r, out.mcs);
  if (auto r = root.object("storage")) read_storage(*r, out.storage);
  root.reject_unknown_keys();
}

}  // namespace

const char* to_string(rli_update_mode mode) {
  switch (mode) {
    case rli_update_mode::list:
      return "list";
    case rli_update_mode::immediate:
      return "immediate";
    case rli_update_mode::bloom:
      return "bloom";
  }
  return "unknown";
}

bool valid_node_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  auto ok = [](char c, bool first) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    return alnum || (!first && (c == '.' || c == '_' || c == '-'));
  };
  for (size_t i = 0; i < name.size(); ++i)
    if (!ok(name[i], i == 0)) return false;
  return true;
}

bool background_config::any() const {
  return !send_clone.empty() || !consume_queue.empty() || !check_consumed_queue.empty() ||
         !recv_clone.empty() || !outgoing_transfer_hypervisor.empty() ||
         !incoming_transfer_hypervisor.empty() || !duplicate_remote_instance_hypervisor.empty() ||
         !create_local_clone.empty() || !rolling_deletion.empty() || !corruption_fixer.empty();
}

std::optional<int64_t> parse_duration_ms(std::string_view text) {
  auto digits = [](std::string_view s, int64_t& out) {
    if (s.empty() || s.size() > 12) return false;
    out = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    return true;
  };
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  int64_t days = 0;
  // "D day(s), HH:MM:SS"
  if (auto comma = text.find(','); comma != std::string_view::npos) {
    auto head = text.substr(0, comma);
    auto space = head.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    auto unit = head.substr(space + 1);
    if ((unit != "day" && unit != "days") || !digits(head.substr(0, space), days))
      return std::nullopt;
    text.remove_prefix(comma + 1);
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  }
  if (text.find(':') != std::string_view::npos) {
    // HH:MM:SS[.fff]
    auto c1 = text.find(':');
    auto c2 = text.find(':', c1 + 1);
    if (c2 == std::string_view::npos) return std::nullopt;
    int64_t h = 0, m = 0, sec = 0, frac_ms = 0;
    auto secs = text.substr(c2 + 1);
    auto dot = secs.find('.');
    if (dot != std::string_view::npos) {
      auto frac = secs.substr(dot + 1);
      if (frac.empty() || frac.size() > 6 || !digits(frac, frac_ms)) return std::nullopt;
      for (size_t i = frac.size(); i < 3; ++i) frac_ms *= 10;
      for (size_t i = 3; i < frac.size(); ++i) frac_ms /= 10;
      secs = secs.substr(0, dot);
    }
    if (!digits(text.substr(0, c1), h) || !digits(text.substr(c1 + 1, c2 - c1 - 1), m) ||
        !digits(secs, sec) || m >= 60 || sec >= 60)
      return std::nullopt;
    return ((days * 24 + h) * 60 + m) * 60'000 + sec * 1000 + frac_ms;
  }
  if (days != 0) return std::nullopt;
  struct unit {
    std::string_view suffix;
    int64_t ms;
  };
  for (auto u : {unit{"ms", 1}, unit{"s", 1000}, unit{"m", 60'000}, unit{"h", 3'600'000},
                 unit{"d", 86'400'000}}) {
    if (!text.ends_with(u.suffix)) continue;
    int64_t n = 0;
    if (!digits(text.substr(0, text.size() - u.suffix.size()), n)) continue;
    return n * u.ms;
  }
  return std::nullopt;
}

expected<node_config> parse_node_config(const std::string& json_text, const std::string& source) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::parse_error& e) {
    return fail(errc::invalid_argument, source + ": not valid JSON: " + e.what());
  }
  if (!doc.is_object())
    return fail(errc::invalid_argument, source + ": the configuration must be a JSON object");
  node_config out;
  out.source = source;
  std::vector<std::string> errors;
  json_reader root{doc, "", source, errors};
  read_root(root, out);
  if (!errors.empty()) {
    std::string text = errors.front();
    for (size_t i = 1; i < errors.size(); ++i) text += "\n" + errors[i];
    return fail(errc::invalid_argument, text);
  }
  return out;
}

expected<node_config> load_node_config(const std::string& path) {
  std::string problem;
  auto doc = read_json_file(path, problem);
  if (!doc) return fail(errc::invalid_argument, problem);
  return parse_node_config(doc->dump(), path);
}

}  // namespace librarian
