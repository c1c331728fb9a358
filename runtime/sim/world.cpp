#include <algorithm>
#include <sstream>

#include "actors/node/interface.hpp"
#include "actors/node/node_actor.hpp"
#include "actors/node/users_state.hpp"
#include "runtime/caf/error.hpp"
#include "runtime/log.hpp"
#include "runtime/probe.hpp"
#include "runtime/sim/world_impl.hpp"

namespace librarian::sim {
namespace {

using namespace std::chrono_literals;

constexpr int64_t epoch_unix_ms = 1'700'000'000'000;  // virtual time zero, as wall time
constexpr uint64_t steps_max = 50'000'000;            // a runaway simulation is a bug

system_options sim_system_options() {
  system_options o;
  o.load_middleman = false;
  o.testing_scheduler = true;
  return o;
}

std::string node_name(size_t i) {
  std::string name(1, static_cast<char>('a' + i % 26));
  if (i >= 26) name += std::to_string(i / 26);
  return name;
}

}  // namespace

// -- fault profile ---------------------------------------------------------------------------

fault_profile fault_profile::draw(rng& r) {
  fault_profile p;
  // Each fault is absent in a good share of seeds, so quiet and stormy runs both happen.
  p.drop = r.chance(0.5) ? 0.0 : 0.001 * static_cast<double>(r.uniform(1, 100));
  p.duplicate = r.chance(0.5) ? 0.0 : 0.001 * static_cast<double>(r.uniform(1, 50));
  p.delay_min_ms = static_cast<int64_t>(r.uniform(0, 5));
  p.delay_max_ms = p.delay_min_ms +
                   static_cast<int64_t>(r.chance(0.2) ? r.uniform(100, 2000) : r.uniform(1, 50));
  p.disk_latency_max_ms =
      static_cast<int64_t>(r.chance(0.2) ? r.uniform(50, 500) : r.uniform(0, 10));
  p.detect_down_ms = static_cast<int64_t>(r.uniform(200, 3000));
  p.reconnect_ms = static_cast<int64_t>(r.uniform(10, 1000));
  // The mover's faults come from a stream of their own, so drawing them leaves the others alone.
  auto mover_rng = r.fork("mover");
  auto rate = [&mover_rng](double max) {
    return mover_rng.chance(0.5) ? 0.0 : max * mover_rng.unit();
  };
  p.mover_corrupt = rate(0.1);
  p.mover_truncate = rate(0.05);
  p.mover_stall = rate(0.05);
  p.mover_lost = rate(0.02);
  p.mover_reply_lost = rate(0.1);
  p.mover_kbytes_per_ms = static_cast<int64_t>(mover_rng.chance(0.2) ? mover_rng.uniform(1, 5)
                                                                     : mover_rng.uniform(10, 1000));
  auto knob_rng = r.fork("knobs");
  p.tuning = knobs::randomized(knob_rng);
  return p;
}

std::string fault_profile::describe() const {
  std::ostringstream out;
  out << "drop=" << drop << " duplicate=" << duplicate << " delay_ms=" << delay_min_ms << ".."
      << delay_max_ms << " disk_latency_max_ms=" << disk_latency_max_ms
      << " detect_down_ms=" << detect_down_ms << " reconnect_ms=" << reconnect_ms
      << " mover_corrupt=" << mover_corrupt << " mover_truncate=" << mover_truncate
      << " mover_stall=" << mover_stall << " mover_lost=" << mover_lost
      << " mover_reply_lost=" << mover_reply_lost << " mover_kbytes_per_ms=" << mover_kbytes_per_ms
      << " " << tuning.describe();
  return out.str();
}

// -- clock and disk ---------------------------------------------------------------------------

int64_t virtual_wall_clock::now_unix_ms() const {
  auto since = sched_.clock().now().time_since_epoch();
  return epoch_unix_ms + std::chrono::duration_cast<std::chrono::milliseconds>(since).count();
}

void sim_committer::submit(storage::batch b, done_fn done) {
  queue_.push_back({std::move(b), std::move(done)});
  // Completions keep submission order: each lands no earlier than the one before it.
  auto latency = static_cast<int64_t>(world_.chaos.uniform(0, world_.profile.disk_latency_max_ms));
  auto at = std::max(world_.now_ms() + latency, last_completion_ms_);
  last_completion_ms_ = at;
  auto node = node_;
  auto incarnation = incarnation_;
  auto* world = &world_;
  world_.schedule(milliseconds{at - world_.now_ms()}, [world, node, incarnation] {
    auto& slot = world->nodes[node];
    if (slot.alive && slot.incarnation == incarnation && slot.committer)
      slot.committer->complete_front();
  });
}

void sim_committer::complete_front() {
  if (queue_.empty()) return;
  auto front = std::move(queue_.front());
  queue_.pop_front();
  auto st = db_.write(front.rows, storage::durability::sync);
  if (st) {
    stats_.batches += 1;
    stats_.commits += 1;
    stats_.synced_groups += 1;
    stats_.bytes += front.rows.bytes();
  } else {
    stats_.failed_batches += 1;
  }
  front.done(std::move(st));
}

// -- world ------------------------------------------------------------------------------------

world_impl::world_impl(world_options opts)
    : options(opts),
      chaos(opts.seed),
      cfg(sim_system_options()),
      sys(cfg),
      sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
      clock(sched),
      rls_layout(opts.rls_layout) {
  auto profile_rng = chaos.fork("profile");
  if (opts.random_faults) profile = fault_profile::draw(profile_rng);
  nodes.resize(opts.nodes);
  for (size_t i = 0; i < opts.nodes; ++i) {
    nodes[i].name = node_name(i);
    nodes[i].index = i;
    nodes[i].disk = std::make_unique<storage::fault_env>();
    nodes[i].db_env = without_options_files(nodes[i].disk->env());
  }
  for (auto& n : nodes)
    if (auto st = start_node(n); !st)
      violations.push_back("start " + n.name + ": " + st.err().describe());
}

world_impl::~world_impl() {
  for (auto& n : nodes) stop_node_actors(n);
  sched.run();
  world_events.clear();
  // Drain what is left (timers of dead actors are dropped on delivery).
  while (!sched.clock().schedule().empty()) {
    sched.clock().trigger_timeout();
    sched.run();
  }
  for (auto& n : nodes) {
    n.env.reset();
    n.committer.reset();
    n.db.reset();
  }
}

int64_t world_impl::now_ms() const {
  auto since = sched.clock().now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::milliseconds>(since).count();
}

void world_impl::schedule(milliseconds delay, std::function<void()> event) {
  world_events.emplace(std::make_pair(sched.clock().now() + delay, next_event++), std::move(event));
}

bool world_impl::run_until(const std::function<bool()>& pred, milliseconds limit) {
  auto& clk = sched.clock();
  auto end = clk.now() + limit;
  for (;;) {
    // A seeded choice of which ready actor runs next.
    while (!sched.jobs.empty()) {
      auto k = chaos.uniform(0, sched.jobs.size() - 1);
      std::rotate(sched.jobs.begin(), sched.jobs.begin() + static_cast<long>(k),
                  sched.jobs.begin() + static_cast<long>(k) + 1);
      sched.run_once();
      LIB_ASSERT_MSG(++steps < steps_max, "the simulation does not settle");
      if (pred()) return true;
    }
    if (pred()) return true;
    // The next world event or CAF timer (the world's first at the same time), unless past `end`.
    auto& timers = clk.schedule();
    bool event_next =
        !world_events.empty() &&
        (timers.empty() || world_events.begin()->first.first <= timers.begin()->first);
    if (event_next) {
      auto due = world_events.begin()->first.first;
      if (due > end) break;
      if (clk.current_time < due) clk.current_time = due;
      auto event = std::move(world_events.begin()->second);
      world_events.erase(world_events.begin());
      event();
      continue;
    }
    if (timers.empty() || timers.begin()->first > end) break;
    clk.trigger_timeout();  // jumps the clock to the next timer
  }
  if (clk.current_time < end) clk.current_time = end;
  return pred();
}

void world_impl::advance(milliseconds d) {
  // Random crashes and partitions asked for by `fault` land at seeded times inside this window.
  for (; random_crashes > 0; --random_crashes) {
    auto victim = chaos.uniform(0, nodes.size() - 1);
    auto at =
        milliseconds{static_cast<int64_t>(chaos.uniform(0, static_cast<uint64_t>(d.count())))};
    auto down_for = milliseconds{static_cast<int64_t>(chaos.uniform(1, 2000))};
    schedule(at, [this, victim, down_for] {
      if (!nodes[victim].alive) return;
      static_cast<void>(crash(nodes[victim].name));
      schedule(down_for, [this, victim] { static_cast<void>(restart(nodes[victim].name)); });
    });
  }
  for (; random_partitions > 0; --random_partitions) {
    auto at =
        milliseconds{static_cast<int64_t>(chaos.uniform(0, static_cast<uint64_t>(d.count())))};
    auto lasting = milliseconds{static_cast<int64_t>(chaos.uniform(100, 5000))};
    schedule(at, [this, lasting] {
      std::vector<size_t> left, right;
      for (size_t i = 0; i < nodes.size(); ++i) (chaos.chance(0.5) ? left : right).push_back(i);
      trace("random_partition");
      for (auto a : left)
        for (auto b : right) {
          cut.insert({a, b});
          cut.insert({b, a});
        }
      reevaluate_links();
      schedule(lasting, [this] {
        cut.clear();
        trace("random_heal");
        reevaluate_links();
      });
    });
  }
  run_until([] { return false; }, d);
}

node_slot* world_impl::find(const std::string& name) {
  for (auto& n : nodes)
    if (n.name == name) return &n;
  return nullptr;
}

// The "modes" layout (nodes 0, 1, 2 = a, b, c): every RLI hears from every LRC, but by different
// routes. a's RLI gets a and c in immediate mode and b as a Bloom filter, and forwards all of it
// to c's RLI, which hears from a and b only that way (a hierarchy); b's RLI gets b in immediate
// mode and a and c as Bloom filters. Further nodes send full lists everywhere.
void world_impl::add_mixed_rls_targets(size_t index, node_config& cfg) const {
  auto target = [&](size_t to, rli_update_mode mode) {
    rli_target_config t;
    t.name = nodes.at(to).name;
    t.mode = mode;
    t.chunk_lfns = 2;
    t.interval_ms = mode == rli_update_mode::bloom ? 3000 : 2000;
    if (mode == rli_update_mode::immediate) {
      t.full_interval_ms = 10000;
      t.buffer_ms = 1000;
      t.buffer_changes = 3;
    }
    if (mode == rli_update_mode::bloom) t.bloom_hashes = 7;
    cfg.rls.update_rlis.push_back(std::move(t));
  };
  switch (index) {
    case 0:
      target(0, rli_update_mode::immediate);
      target(1, rli_update_mode::bloom);
      cfg.rls.forward_rlis.push_back(nodes.at(2).name);
      return;
    case 1:
      target(1, rli_update_mode::immediate);
      target(0, rli_update_mode::bloom);
      return;
    case 2:
      target(2, rli_update_mode::immediate);
      target(0, rli_update_mode::immediate);
      target(1, rli_update_mode::bloom);
      return;
    default:
      for (size_t i = 0; i < nodes.size(); ++i) target(i, rli_update_mode::list);
      return;
  }
}

node_config world_impl::config_for(const node_slot& n) const {
  node_config cfg;
  cfg.name = n.name;
  cfg.data_dir = "/sim/" + n.name;
  cfg.listen.host = "sim";
  cfg.listen.cluster_port = static_cast<uint16_t>(7100 + n.index);
  for (const auto& other : nodes)
    if (other.index != n.index)
      cfg.peers.push_back({other.name, "sim", static_cast<uint16_t>(7100 + other.index)});
  // Every node runs an RLI, and every LRC keeps every RLI informed (its own included).
  cfg.rls.rli = true;
  if (rls_layout == "modes" && nodes.size() >= 3) {
    add_mixed_rls_targets(n.index, cfg);
  } else if (rls_layout == "index") {
    cfg.rls.rli = n.index < 2;
    for (size_t i = 0; i < std::min<size_t>(2, nodes.size()); ++i) {
      rli_target_config target;
      target.name = nodes[i].name;
      target.mode = rli_update_mode::immediate;
      cfg.rls.update_rlis.push_back(std::move(target));
    }
  } else {
    for (const auto& other : nodes) {
      rli_target_config target;
      target.name = other.name;
      target.interval_ms = 5000;
      target.chunk_lfns = 2;  // tiny chunks: many messages, so reordering and loss matter
      cfg.rls.update_rlis.push_back(std::move(target));
    }
  }
  cfg.supervisor.restart_backoff_min_ms = 10;
  cfg.supervisor.restart_backoff_max_ms = 1000;
  // One store per node, and a replication ring: each node clones its files to the next with the
  // simulated mover, on short virtual-time periods.
  store_entry_config store;
  store.name = "main";
  store.staging_path = "/sim/" + n.name + "/staging";
  store.store_path = "/sim/" + n.name + "/store";
  store.capacity_bytes = uint64_t{1} << 30;
  cfg.stores.push_back(store);
  bool pairs = options.replication == "pairs";
  if (nodes.size() > 1 && options.replication != "none") {
    auto& bg = cfg.background;
    if (!pairs || (n.index % 2 == 0 && n.index + 1 < nodes.size())) {
      send_clone_task send;
      send.destination_librarian = nodes[(n.index + 1) % nodes.size()].name;
      send.mover = "sim";
      send.send_batch_size = options.send_batch_size;
      send.every_ms = 2000;
      bg.send_clone.push_back(send);
    }
    consume_queue_task consume;
    consume.every_ms = 500;
    bg.consume_queue.push_back(consume);
    check_consumed_queue_task check;
    check.every_ms = 500;
    bg.check_consumed_queue.push_back(check);
    recv_clone_task recv;
    recv.every_ms = 500;
    bg.recv_clone.push_back(recv);
    hypervisor_task hyper;
    hyper.every_ms = 3000;
    hyper.age_in_days = 5.0 / 86400;  // transfers older than 5 s
    bg.outgoing_transfer_hypervisor.push_back(hyper);
    bg.incoming_transfer_hypervisor.push_back(hyper);
    auto& rep = cfg.replication;
    rep.retry_backoff_min_ms = 100;
    rep.retry_backoff_max_ms = 2000;
    rep.peer_reply_timeout_ms = 1500;
    rep.max_async_send_retries = 4;
    rep.stall_timeout_ms = 4000;
    // The first node frees its store once its successor verified a copy (older than 10 s).
    if (n.index == 0 && nodes.size() >= 3 && !pairs) {
      rolling_deletion_task del;
      del.store_name = "main";
      del.age_in_days = 10.0 / 86400;
      del.number_of_remote_copies = 1;
      del.every_ms = 2000;
      bg.rolling_deletion.push_back(del);
    }
  }
  return cfg;
}

storage::open_options world_impl::db_options(const node_slot& n) {
  auto o = node::node_db_options("/sim/" + n.name + "/db", n.db_env.get());
  o.file_opening_threads = 1;
  o.block_cache_bytes = 1u << 20;  // tiny DBs; a 32 MiB cache per node is wasted memory
  o.write_buffer_bytes = 1u << 20;
  return o;
}

status world_impl::start_node(node_slot& n) {
  auto opened = storage::db::open(db_options(n));
  if (!opened) return opened.err();
  n.db = std::move(*opened);
  auto identity = node::begin_incarnation(*n.db, n.name, clock.now_unix_ms());
  if (!identity) {
    n.db.reset();
    return identity.err();
  }
  n.incarnation += 1;
  n.committer = std::make_unique<sim_committer>(*this, n.index, n.incarnation, *n.db);
  auto env = std::make_shared<node::node_env>();
  env->config = config_for(n);
  env->db = n.db.get();
  env->committer = n.committer.get();
  env->clock = &clock;
  env->seed = chaos.fork("node." + n.name + "." + std::to_string(n.incarnation)).next();
  env->incarnation = identity->incarnation;
  env->tuning = profile.tuning;
  env->mcs_objects = node::make_mcs_object_cache(env->config);
  env->fs = n.files;
  env->worker_threads = false;
  env->movers["sim"] = make_sim_mover(*this, n.index, n.incarnation);
  auto* world = this;
  auto index = n.index;
  env->spawn_transport = [world, index](caf::local_actor* spawner, caf::actor supervisor,
                                        std::shared_ptr<node::node_env> node_env) {
    return spawn_sim_transport(spawner, std::move(supervisor), std::move(node_env), world, index);
  };
  n.env = env;
  n.alive = true;
  n.started_ms = now_ms();
  n.told_up.clear();
  n.node = node::spawn_node(sys, env, *identity);
  trace("start " + n.name + " incarnation " + std::to_string(identity->incarnation));
  return {};
}

void world_impl::stop_node_actors(node_slot& n) {
  if (n.node == nullptr) return;
  // Kill: no orderly shutdown. Linked children die with the node actor.
  caf::anon_send_exit(n.node, caf::exit_reason::kill);
  n.node = nullptr;
  n.transport = nullptr;
  sched.run();  // let the exits land before the disk goes away
}

status world_impl::crash(const std::string& name) {
  auto* n = find(name);
  if (!n) return fail(errc::not_found, "no node named '" + name + "'");
  if (!n->alive) return fail(errc::conflict, "node " + name + " is already down");
  if (n->committer && n->committer->pending() > 0) LIB_PROBE("sim.crash_mid_commit");
  if (now_ms() - n->started_ms < 500) LIB_PROBE("sim.crash_during_recovery");
  trace("crash " + name);
  n->alive = false;
  stop_node_actors(*n);
  n->disk->power_cut();
  n->env.reset();
  n->committer.reset();  // what it had not written is lost
  n->db.reset();
  n->disk->drop_unsynced();
  reevaluate_links();
  return {};
}

status world_impl::restart(const std::string& name) {
  auto* n = find(name);
  if (!n) return fail(errc::not_found, "no node named '" + name + "'");
  if (n->alive) return fail(errc::conflict, "node " + name + " is running; crash it first");
  trace("restart " + name);
  if (auto st = start_node(*n); !st) return st;
  reevaluate_links();
  // What the node acknowledged before the crash must still be there.
  for (auto& v : lost_acknowledged(*n))
    violations.push_back(v + " (after restart at " + std::to_string(now_ms()) + " ms)");
  for (auto& v : replica_violations(*n))
    violations.push_back(v + " (after restart at " + std::to_string(now_ms()) + " ms)");
  return {};
}

void world_impl::trace(const std::string& event) {
  auto mix = [this](std::string_view text) {
    for (unsigned char c : text) trace_state = (trace_state ^ c) * 0x100000001b3ULL;
  };
  mix(std::to_string(now_ms()));
  mix(" ");
  mix(event);
  mix("\n");
}

// -- the public face ---------------------------------------------------------------------------

world::world(world_options options) : impl_(std::make_unique<world_impl>(options)) {}
world::~world() = default;
uint64_t world::seed() const {
  return impl_->options.seed;
}
const fault_profile& world::profile() const {
  return impl_->profile;
}
int64_t world::now_ms() const {
  return impl_->now_ms();
}
void world::advance(milliseconds d) {
  impl_->advance(d);
}
status world::crash(const std::string& name) {
  return impl_->crash(name);
}
status world::restart(const std::string& name) {
  return impl_->restart(name);
}
uint64_t world::trace_hash() const {
  return impl_->trace_state;
}
void world::trace(const std::string& event) {
  impl_->trace(event);
}

std::vector<std::string> world::node_names() const {
  std::vector<std::string> out;
  for (const auto& n : impl_->nodes) out.push_back(n.name);
  return out;
}

bool world::has_node(const std::string& name) const {
  return impl_->find(name) != nullptr;
}

bool world::alive(const std::string& name) const {
  auto* n = impl_->find(name);
  return n && n->alive;
}

status world::send_payload(const std::string& node, const std::string& actor,
                           const caf::message& payload) {
  auto* n = impl_->find(node);
  if (!n) return fail(errc::not_found, "no node named '" + node + "'");
  if (!n->alive) return fail(errc::unavailable, "node " + node + " is down");
  impl_->trace("send " + node + "/" + actor);
  caf::anon_send(n->node, atoms::inject_atom_v, actor, payload);
  return {};
}

expected<std::string> world::ask_payload(
    const std::string& node, const std::string& actor, const caf::message& payload,
    const std::function<void(caf::event_based_actor*, const caf::actor&, caf::message,
                             caf::timespan, std::function<void(expected<std::string>)>)>& ask,
    milliseconds timeout) {
  auto* n = impl_->find(node);
  if (!n) return fail(errc::not_found, "no node named '" + node + "'");
  if (!n->alive) return fail(errc::unavailable, "node " + node + " is down");
  auto reply = std::make_shared<std::optional<expected<std::string>>>();
  auto dest = n->node;
  auto request = caf::make_message(atoms::ask_atom_v, actor, payload);
  impl_->sys.spawn([=](caf::event_based_actor* self) {
    ask(self, dest, request, caf::timespan{timeout},
        [reply](expected<std::string> r) { *reply = std::move(r); });
  });
  impl_->run_until([reply] { return reply->has_value(); }, timeout + milliseconds{1});
  if (!reply->has_value()) return fail(errc::timeout, "no reply within the timeout");
  auto out = std::move(**reply);
  impl_->trace("reply " + node + "/" + actor + " " + (out ? *out : out.err().describe()));
  return out;
}

}  // namespace librarian::sim
