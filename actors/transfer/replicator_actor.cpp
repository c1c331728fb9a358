// The replicator's shell: receives peers' messages and its own timers, asks replication_state what
// to do, commits, then announces (DESIGN.md §5). Catalog work goes to the librarian (through the
// node), messages to peers go through the transport, and blocking mover calls run on a small pool
// of detached threads whose results come back as (moved_atom, token).
#include "actors/transfer/replicator_actor.hpp"
#include "actors/node/route.hpp"

#include <caf/all.hpp>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "actors/librarian/interface.hpp"
#include "actors/transfer/movers.hpp"
#include "actors/transfer/replication_state.hpp"
#include "net/data/client.hpp"
#include "net/data/tickets.hpp"
#include "runtime/caf/commit_tracker.hpp"
#include "runtime/caf/error.hpp"
#include "runtime/log.hpp"
#include "runtime/planted.hpp"
#include "runtime/probe.hpp"
#include "runtime/random.hpp"

namespace librarian::transfer {
namespace {

using namespace std::chrono_literals;

enum class task_kind : uint8_t {
  send_clone = 0,
  consume_queue = 1,
  check_consumed_queue = 2,
  recv_clone = 3,
  outgoing_hypervisor = 4,
  incoming_hypervisor = 5,
  create_local_clone = 6,
  rolling_deletion = 7,
  corruption_fixer = 8,
  duplicate_hypervisor = 9,
};

const char* task_name(task_kind k) {
  switch (k) {
    case task_kind::send_clone:
      return "send_clone";
    case task_kind::consume_queue:
      return "consume_queue";
    case task_kind::check_consumed_queue:
      return "check_consumed_queue";
    case task_kind::recv_clone:
      return "recv_clone";
    case task_kind::outgoing_hypervisor:
      return "outgoing_transfer_hypervisor";
    case task_kind::incoming_hypervisor:
      return "incoming_transfer_hypervisor";
    case task_kind::create_local_clone:
      return "create_local_clone";
    case task_kind::rolling_deletion:
      return "rolling_deletion";
    case task_kind::corruption_fixer:
      return "corruption_fixer";
    case task_kind::duplicate_hypervisor:
      return "duplicate_remote_instance_hypervisor";
  }
  return "unknown";
}

constexpr size_t stage_items_max = 10000;  // per message from a peer
constexpr size_t probe_items_max = 1000;
constexpr size_t recv_in_flight_max = 64;
constexpr uint64_t tree_file_bytes_max = 16ull << 20;  // net/data's inline limit
constexpr size_t search_page = 1000;

// ----------------------------------------------------------------------------- the runner

// Detached threads for blocking mover calls. Each job returns a continuation to run on the actor;
// the runner parks it under a token and wakes the actor with (moved_atom, token). With no threads
// (the simulator) a job runs at once on the actor and its continuation still comes back as a
// message, so the order of events is the scheduler's, as with threads.
class runner {
 public:
  using continuation = std::function<void()>;
  using job = std::function<continuation()>;

  runner(caf::actor_addr owner, size_t threads)
      : shared_(std::make_shared<shared>()), inline_(threads == 0) {
    shared_->owner = std::move(owner);
    for (size_t i = 0; i < threads; ++i) std::thread([s = shared_] { loop(s); }).detach();
  }
  ~runner() {
    std::lock_guard lock{shared_->mu};
    shared_->stop = true;
    shared_->cv.notify_all();
  }
  void post(job j) {
    if (inline_) {
      static_cast<void>(finish(shared_, j()));
      return;
    }
    std::lock_guard lock{shared_->mu};
    shared_->jobs.push_back(std::move(j));
    shared_->cv.notify_one();
  }
  continuation take(uint64_t token) {
    std::lock_guard lock{shared_->mu};
    auto it = shared_->done.find(token);
    if (it == shared_->done.end()) return {};
    auto c = std::move(it->second);
    shared_->done.erase(it);
    return c;
  }

 private:
  struct shared {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<job> jobs;
    std::map<uint64_t, continuation> done;
    uint64_t next_token = 1;
    bool stop = false;
    caf::actor_addr owner;
  };
  static void loop(std::shared_ptr<shared> s) {
    for (;;) {
      job j;
      {
        std::unique_lock lock{s->mu};
        s->cv.wait(lock, [&] { return s->stop || !s->jobs.empty(); });
        if (s->stop) return;
        j = std::move(s->jobs.front());
        s->jobs.pop_front();
      }
      if (!finish(s, j())) return;
    }
  }
  // Parks c and wakes the owner; false once the runner is stopping.
  static bool finish(const std::shared_ptr<shared>& s, continuation c) {
    if (!c) return true;  // nothing to do on the actor
    uint64_t token = 0;
    {
      std::lock_guard lock{s->mu};
      if (s->stop) return false;
      token = s->next_token++;
      s->done[token] = std::move(c);
    }
    if (auto owner = caf::actor_cast<caf::actor>(s->owner))
      caf::anon_send(owner, atoms::moved_atom_v, token);
    return true;
  }
  std::shared_ptr<shared> shared_;
  bool inline_ = false;
};

// ------------------------------------------------------------------------------ the shell

struct task_timing {
  uint64_t runs = 0;
  uint64_t micros_sum = 0;
  uint64_t micros_max = 0;
  std::map<std::string, uint64_t> outcomes;
};

struct cooldown {
  uint32_t failures = 0;
  int64_t until_unix_ms = 0;
};

struct replicator_shell {
  std::shared_ptr<node::node_env> env;
  caf::actor node;
  std::optional<replication_state> rep;
  commit_tracker commits;
  std::unique_ptr<runner> blocking;
  std::map<std::string, std::shared_ptr<async_mover>> movers;
  // Memory-only bookkeeping (lost in a restart, rebuilt by the timers).
  std::map<uint64_t, int64_t> stage_sent;   // batch -> when its stage request last went out
  std::map<uint64_t, int64_t> ticket_sent;  // batch -> when its ticket request last went out
  std::set<uint64_t> busy_batches;          // a mover call for it is in flight
  // batch -> (bytes its task last reported, when that number last grew): stall detection.
  std::map<uint64_t, std::pair<uint64_t, int64_t>> progress_seen;
  std::set<uint64_t> recv_in_flight;  // incoming ids being ingested
  std::set<uint64_t> adopting;        // outgoing ids whose remote instance is being recorded
  std::set<std::pair<std::string, uint64_t>> staging_now;  // (source, batch) being staged here
  std::map<std::string, int64_t> notices_sent;             // peer -> STAGED notices last sent
  std::map<std::pair<std::string, std::string>, cooldown> cooldowns;  // (peer, file)
  std::map<uint32_t, std::string> send_cursor;                        // send_clone task -> after
  std::set<uint32_t> send_busy;
  std::set<std::string> disabled_peers;
  bool warned_no_recv = false;
  uint64_t sneaker_seq = 0;
  size_t recv_budget = 0;  // recv_clone: files this run may still start
  // (peer, file) -> when its transfer completed: a search answered before the completion is stale
  // and must not send the file again.
  std::map<std::pair<std::string, std::string>, int64_t> completed_at;
  // create_local_clone: names being copied; rolling_deletion: candidates waiting for their
  // peers' verification (name -> candidate).
  std::set<std::string> cloning;
  struct deletion_candidate {
    uint32_t task = 0;
    uint64_t instance_id = 0;
    std::string checksum;
    std::set<std::string> asked;
    std::set<std::string> verified;
    int64_t deadline_unix_ms = 0;
    bool dropping = false;
  };
  std::map<std::string, deletion_candidate> deleting;
  std::map<uint32_t, std::string> clone_cursor, deletion_cursor, dedupe_cursor;
  // corruption_fixer: name -> (instance path, checksum, when asked, how many peers tried).
  struct repair {
    std::string path;
    std::string checksum;
    int64_t asked_unix_ms = 0;
    uint32_t attempts = 0;
    bool downloading = false;
  };
  std::map<std::string, repair> repairs;
  std::map<std::string, uint64_t> counters;
  // Task runs: when each (kind, index) began its current run, and totals per task name. A run is
  // the task's own work: its catalog search and decisions, not the transfers it sets going.
  std::map<std::pair<uint8_t, uint32_t>, caf::actor_clock::time_point> run_began;
  std::map<std::string, task_timing> timings;
  std::optional<rng> random;  // forked from the node's seed (DESIGN.md §4.3)
};

using self_ptr = replicator_actor::stateful_pointer<replicator_shell>;

int64_t now_ms(self_ptr self) {
  return self->state.env->clock->now_unix_ms();
}

double jitter(self_ptr self) {
  return self->state.random->unit();
}

void count(self_ptr self, const std::string& name, uint64_t n = 1) {
  self->state.counters[name] += n;
}

// Task runs are timed on the actor's clock (virtual in the simulator, DESIGN.md §4).
void task_begin(self_ptr self, task_kind kind, uint32_t index) {
  auto key = std::make_pair(static_cast<uint8_t>(kind), index);
  auto now = self->clock().now();
  if (auto it = self->state.run_began.find(key); it != self->state.run_began.end()) {
    // Still going when its period came round again: that run counts as overrun.
    auto& t = self->state.timings[task_name(kind)];
    t.outcomes["overrun"] += 1;
  }
  self->state.run_began[key] = now;
}

void task_end(self_ptr self, task_kind kind, uint32_t index, const char* outcome) {
  auto key = std::make_pair(static_cast<uint8_t>(kind), index);
  auto it = self->state.run_began.find(key);
  if (it == self->state.run_began.end()) return;
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(self->clock().now() - it->second)
          .count();
  self->state.run_began.erase(it);
  auto& t = self->state.timings[task_name(kind)];
  t.runs += 1;
  t.micros_sum += static_cast<uint64_t>(std::max<int64_t>(0, micros));
  t.micros_max = std::max(t.micros_max, static_cast<uint64_t>(std::max<int64_t>(0, micros)));
  t.outcomes[outcome] += 1;
}

const replication_config& rcfg(self_ptr self) {
  return self->state.env->config.replication;
}

// Writes rows; `then` runs once they are durable. A failed commit reloads memory from disk.
void commit(self_ptr self, storage::row_list rows, std::function<void()> then) {
  storage::batch b;
  storage::append_rows(*self->state.env->db, rows, b);
  self->state.commits.submit(
      self, *self->state.env->committer, std::move(b), [self, then](const status& st) {
        if (!st) {
          LIB_LOG_ERROR("replicator") << "commit failed: " << st.err().message;
          if (auto again = self->state.rep->load(); !again) self->quit(to_caf(again.err()));
          return;
        }
        if (then) then();
      });
}

void to_peer(self_ptr self, const std::string& peer, caf::message msg) {
  node::send_to_node(self->state.node, self->state.env->config.name, peer, "replicator",
                     std::move(msg));
}

bool known_peer(self_ptr self, const std::string& name) {
  for (const auto& p : self->state.env->config.peers)
    if (p.name == name) return true;
  return false;
}

// Asks this node's librarian; `ok` gets the typed reply.
template <class Ok, class Err>
void ask_librarian(self_ptr self, caf::message msg, Ok ok, Err err) {
  self->request(self->state.node, caf::infinite, ask_atom_v, std::string{"librarian"},
                std::move(msg))
      .then(std::move(ok), std::move(err));
}

uint64_t store_id_of(const std::string& store) {
  uint64_t h = 14695981039346656037ULL;
  for (char c : store) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h >> 1;  // fits a signed 64-bit JSON integer
}

std::shared_ptr<async_mover> mover_for(self_ptr self, const std::string& name) {
  auto& m = self->state.movers[name];
  if (m) return m;
  if (auto given = self->state.env->movers.find(name); given != self->state.env->movers.end()) {
    m = given->second;
  } else if (name == "native") {
    native_mover_options o;
    o.streams = rcfg(self).native_streams;
    o.stall_timeout_ms = self->state.env->config.data.stall_timeout_ms;
    m = make_native_mover(o);
  } else if (name == "local") {
    m = make_local_mover();
  } else if (name == "globus") {
    m = self->state.env->globus_mover;  // built and checked at start-up; null without globus
  }
  return m;
}

runner& blocking(self_ptr self) {
  if (!self->state.blocking)
    self->state.blocking = std::make_unique<runner>(
        self->address(),
        self->state.env->worker_threads ? std::max<uint32_t>(1, rcfg(self).movers_threads) : 0);
  return *self->state.blocking;
}

// Refreshes which peers have transfers disabled (librarian-change-transfer-status), then runs
// `then`.
void refresh_peers(self_ptr self, std::function<void()> then) {
  ask_librarian(
      self, caf::make_message(peers_atom_v, false),
      [self, then](const std::vector<lib::librarian_info>& peers) {
        self->state.disabled_peers.clear();
        for (const auto& p : peers)
          if (!p.transfers_enabled) self->state.disabled_peers.insert(p.name);
        then();
      },
      [self, then](caf::error& err) {
        LIB_LOG_WARN("replicator") << "cannot read peers: " << from_caf(err).message;
        then();
      });
}

bool peer_enabled(self_ptr self, const std::string& peer) {
  return !self->state.disabled_peers.contains(peer);
}

void schedule(self_ptr self, task_kind kind, uint32_t index, int64_t every_ms) {
  self->delayed_send(self, std::chrono::milliseconds(every_ms), run_atom_v,
                     static_cast<uint8_t>(kind), index);
}

// ============================================================================ send_clone (A)

void send_stage(self_ptr self, uint64_t batch_id) {
  auto msg = self->state.rep->stage_message(batch_id);
  if (!msg) return;
  auto b = self->state.rep->batch(batch_id);
  if (!b) return;
  self->state.stage_sent[batch_id] = now_ms(self);
  count(self, "stage_requests_sent");
  to_peer(self, b->destination, caf::make_message(std::move(*msg)));
}

void send_clone_page(self_ptr self, uint32_t index, int64_t started_ms);

void send_clone_done(self_ptr self, uint32_t index, const char* outcome) {
  self->state.send_busy.erase(index);
  task_end(self, task_kind::send_clone, index, outcome);
}

void send_clone_page(self_ptr self, uint32_t index, int64_t started_ms) {
  const auto& t = self->state.env->config.background.send_clone.at(index);
  auto& rep = *self->state.rep;
  auto soft = t.soft_timeout_ms > 0 ? t.soft_timeout_ms : t.every_ms;
  // Enough staged ahead for this peer: more would only age in the queue.
  auto open_max = 2 * static_cast<size_t>(rcfg(self).max_batches_per_peer) + 2;
  if (!peer_enabled(self, t.destination_librarian)) return send_clone_done(self, index, "disabled");
  if (now_ms(self) - started_ms > soft) return send_clone_done(self, index, "soft_timeout");
  if (rep.open_batches(t.destination_librarian) >= open_max)
    return send_clone_done(self, index, "ok");  // enough staged ahead
  lib::file_query q;
  q.lacks_remote_at = t.destination_librarian;
  if (t.age_in_days > 0)
    q.create_from_unix_ms = now_ms(self) - static_cast<int64_t>(t.age_in_days * 86'400'000.0);
  q.after = self->state.send_cursor[index];
  q.max_results = search_page;
  auto asked_ms = now_ms(self);
  ask_librarian(
      self, caf::make_message(search_atom_v, q),
      [self, index, started_ms, asked_ms](const lib::file_page& page) {
        const auto& t = self->state.env->config.background.send_clone.at(index);
        auto& rep = *self->state.rep;
        auto now = now_ms(self);
        std::vector<send_candidate> picked;
        for (const auto& f : page.files) {
          if (rep.has_live_outgoing(t.destination_librarian, f.name)) continue;
          auto done = self->state.completed_at.find({t.destination_librarian, f.name});
          if (done != self->state.completed_at.end() && done->second >= asked_ms) continue;
          auto cd = self->state.cooldowns.find({t.destination_librarian, f.name});
          if (cd != self->state.cooldowns.end() && cd->second.until_unix_ms > now) continue;
          const lib::instance_info* best = nullptr;
          for (const auto& i : f.instances) {
            if (!i.available) continue;
            if (!best || (i.store == t.store_preference && best->store != t.store_preference))
              best = &i;
          }
          if (!best) continue;  // no local bytes to send
          picked.push_back({f.name, f.size, f.checksum, best->path});
        }
        self->state.send_cursor[index] = page.more ? page.next_after : std::string{};
        storage::row_list rows;
        std::vector<uint64_t> made;
        for (size_t start = 0; start < picked.size(); start += t.send_batch_size) {
          auto end = std::min(picked.size(), start + t.send_batch_size);
          std::vector<send_candidate> part(picked.begin() + static_cast<long>(start),
                                           picked.begin() + static_cast<long>(end));
          auto b = rep.create_batch(t.destination_librarian, t.mover, t.priority, part, now, rows);
          if (!b) continue;
          made.push_back(b->id);
          // Its request goes out once the rows are durable; until then it is not "unanswered".
          self->state.stage_sent[b->id] = now;
        }
        count(self, "batches_created", made.size());
        count(self, "batches_created_to_" + t.destination_librarian, made.size());
        auto more = page.more;
        commit(self, std::move(rows), [self, index, started_ms, made, more] {
          for (auto id : made) send_stage(self, id);
          if (more)
            send_clone_page(self, index, started_ms);
          else
            send_clone_done(self, index, "ok");
        });
      },
      [self, index](caf::error& err) {
        LIB_LOG_WARN("replicator") << "send_clone: search failed: " << from_caf(err).message;
        send_clone_done(self, index, "failed");
      });
}

void run_send_clone(self_ptr self, uint32_t index) {
  if (self->state.send_busy.contains(index)) {
    // The run still going keeps its start time; this one is recorded as skipped.
    auto& t = self->state.timings[task_name(task_kind::send_clone)];
    t.outcomes["overlap"] += 1;
    return count(self, "send_clone_overlaps");
  }
  // Completions older than any search still in flight are no longer needed.
  auto horizon = now_ms(self) - 10 * 60'000;
  std::erase_if(self->state.completed_at, [horizon](const auto& e) { return e.second < horizon; });
  self->state.send_busy.insert(index);
  refresh_peers(self, [self, index] {
    const auto& t = self->state.env->config.background.send_clone.at(index);
    if (!peer_enabled(self, t.destination_librarian)) {
      count(self, "send_clone_skipped_disabled");
      return send_clone_done(self, index, "disabled");
    }
    send_clone_page(self, index, now_ms(self));
  });
}

// Adopts transfers whose file the peer already has: records the remote instance and COMPLETED in
// one batch (the librarian commits both).
void adopt_remote(self_ptr self, uint64_t outgoing_id, uint64_t store_id) {
  auto& rep = *self->state.rep;
  if (self->state.adopting.contains(outgoing_id)) return;
  auto o = rep.outgoing(outgoing_id);
  if (!o) return;
  auto rows = rep.preview_outgoing(outgoing_id, xfer_status::completed, now_ms(self));
  if (!rows) return;
  self->state.adopting.insert(outgoing_id);
  ask_librarian(
      self,
      caf::make_message(remote_add_atom_v, o->file, o->destination, store_id,
                        self->state.env->config.name, std::move(*rows)),
      [self, outgoing_id, key = std::make_pair(o->destination, o->file)](bool) {
        self->state.adopting.erase(outgoing_id);
        self->state.completed_at[key] = now_ms(self);
        storage::row_list again;
        if (self->state.rep->complete_outgoing(outgoing_id, now_ms(self), again)) {
          count(self, "transfers_completed");
          commit(self, std::move(again), {});  // the batch's own settling, if any
        }
      },
      [self, outgoing_id](caf::error& err) {
        self->state.adopting.erase(outgoing_id);
        LIB_LOG_WARN("replicator") << "recording the remote instance of transfer " << outgoing_id
                                   << " failed: " << from_caf(err).message;
      });
}

// A file that just failed or was refused at a peer waits before send_clone tries it again:
// the retry backoff, doubled per failure, capped.
void cool_down(self_ptr self, const std::string& peer, const std::string& file) {
  auto& cd = self->state.cooldowns[{peer, file}];
  ++cd.failures;
  int64_t wait = rcfg(self).retry_backoff_min_ms << std::min<uint32_t>(cd.failures, 16);
  cd.until_unix_ms = now_ms(self) + std::min(wait, rcfg(self).retry_backoff_max_ms);
}

void fail_outgoing(self_ptr self, uint64_t id, const std::string& why, bool tell_peer) {
  auto& rep = *self->state.rep;
  auto o = rep.outgoing(id);
  if (!o) return;
  storage::row_list rows;
  if (!rep.fail_outgoing(id, why, now_ms(self), rows)) return;
  count(self, "transfers_failed");
  cool_down(self, o->destination, o->file);
  commit(self, std::move(rows), [self, o, why, tell_peer] {
    if (!tell_peer || o->remote_id == 0) return;
    clone_status msg;
    msg.from = self->state.env->config.name;
    msg.items.push_back({o->id, o->remote_id, static_cast<uint8_t>(xfer_status::failed), why, 0});
    to_peer(self, o->destination, caf::make_message(std::move(msg)));
  });
}

void on_staged(self_ptr self, const clone_staged& answer) {
  auto& rep = *self->state.rep;
  storage::row_list rows;
  auto out = rep.on_staged(answer, now_ms(self), rows);
  if (!out) {
    LIB_LOG_DEBUG("replicator") << "stage answer from " << answer.from
                                << " ignored: " << out.err().message;
    return;
  }
  self->state.stage_sent.erase(answer.batch_id);
  count(self, "batches_staged");
  for (const auto& refused : out->refused) {
    // Refused at the peer (a different file of that name there, no room, ...): not again at once.
    cool_down(self, answer.from, refused.second);
    count(self, "transfers_refused");
  }
  auto outcome = *out;
  auto peer = answer.from;
  commit(self, std::move(rows), [self, outcome, peer] {
    for (auto id : outcome.present) adopt_remote(self, id, 0);
  });
}

// ======================================================================== consume_queue (A)

void submit_batch(self_ptr self, uint64_t batch_id, const clone_tickets* tickets);

void run_consume_queue(self_ptr self, uint32_t) {
  refresh_peers(self, [self] {
    auto& rep = *self->state.rep;
    auto now = now_ms(self);
    auto ready =
        rep.ready_batches(now, [self](const std::string& p) { return peer_enabled(self, p); });
    for (auto id : ready) {
      auto b = rep.batch(id);
      if (!b) continue;
      if (rep.job_files(id).empty()) continue;  // everything adopted or failed; it settles
      bool native = b->mover == "native";
      storage::row_list rows;
      auto started = rep.start_batch(id, native, now, rows);
      if (!started) continue;
      count(self, "batches_started");
      if (native) self->state.ticket_sent[id] = now;  // asked once the rows are durable
      // Until its submit comes back, check_consumed_queue must not take the batch (active, no
      // task id yet) for one whose submit a restart lost, and start it over.
      self->state.busy_batches.insert(id);
      commit(self, std::move(rows), [self, id, native] {
        self->state.busy_batches.erase(id);
        if (!native) return submit_batch(self, id, nullptr);
        // Tickets live in the peer's memory: ask for fresh ones for every attempt.
        auto b = self->state.rep->batch(id);
        if (!b) return;
        clone_ticket_ask ask;
        ask.from = self->state.env->config.name;
        ask.batch_id = id;
        for (const auto& f : self->state.rep->job_files(id))
          ask.incoming_ids.push_back(f.remote_id);
        self->state.ticket_sent[id] = now_ms(self);
        to_peer(self, b->destination, caf::make_message(std::move(ask)));
      });
    }
  });
}

void attempt_failed(self_ptr self, uint64_t batch_id, bool retryable, const std::string& why) {
  auto& rep = *self->state.rep;
  storage::row_list rows;
  auto notices =
      rep.batch_attempt_failed(batch_id, retryable, why, jitter(self), now_ms(self), rows);
  if (!notices) return;
  count(self, retryable ? "batch_retries" : "batches_failed");
  auto b = rep.batch(batch_id);
  auto peer = b ? b->destination : std::string{};
  for (const auto& item : notices->items) {
    auto o = rep.outgoing(item.source_id);
    if (o) {
      auto& cd = self->state.cooldowns[{o->destination, o->file}];
      ++cd.failures;
      cd.until_unix_ms = now_ms(self) + rcfg(self).retry_backoff_min_ms;
    }
  }
  auto msg = *notices;
  LIB_LOG_WARN("replicator") << "batch " << batch_id << " to " << peer << ": " << why
                             << (retryable ? " (will retry)" : "");
  commit(self, std::move(rows), [self, peer, msg] {
    if (!msg.items.empty() && !peer.empty()) to_peer(self, peer, caf::make_message(msg));
  });
}

void submit_batch(self_ptr self, uint64_t batch_id, const clone_tickets* tickets) {
  auto& rep = *self->state.rep;
  auto b = rep.batch(batch_id);
  if (!b) return;
  auto mover = mover_for(self, b->mover);
  if (!mover)
    return attempt_failed(self, batch_id, false,
                          "mover '" + b->mover + "' is not available on this node");
  mover_batch job;
  job.batch_id = b->id;
  job.submission_id = b->submission_id;
  job.destination = b->destination;
  job.host = b->host;
  job.port = b->port;
  job.destination_endpoint = b->destination_endpoint;
  std::map<uint64_t, std::string> file_tickets;
  if (tickets) {
    job.tree_ticket = tickets->tree_ticket;
    for (const auto& ft : tickets->file_tickets) file_tickets[ft.incoming_id] = ft.ticket;
  }
  std::vector<uint64_t> ids;
  for (const auto& f : rep.job_files(batch_id)) {
    mover_file mf;
    mf.source_path = f.source_path;
    mf.dest_path = b->mover == "native" ? f.dest_relative : f.dest_path;
    mf.size = f.size;
    mf.checksum = f.checksum;
    if (auto t = file_tickets.find(f.remote_id); t != file_tickets.end()) mf.ticket = t->second;
    job.files.push_back(std::move(mf));
    ids.push_back(f.transfer_id);
  }
  if (job.files.empty()) return;
  self->state.busy_batches.insert(batch_id);
  blocking(self).post([self, mover, job, batch_id]() -> runner::continuation {
    auto task = mover->submit(job);
    return [self, task, batch_id] {
      self->state.busy_batches.erase(batch_id);
      if (!task) {
        auto err = task.err();
        if (err.code == errc::unavailable || err.code == errc::timeout) {
          // The mover may have started the task before the reply was lost: try again later with
          // the same submission id, which can never start a second one.
          count(self, "submit_retries");
          storage::row_list rows;
          if (!self->state.rep->batch_lost(batch_id, now_ms(self), rows,
                                           rcfg(self).retry_backoff_min_ms))
            return;
          return commit(self, std::move(rows), {});
        }
        return attempt_failed(self, batch_id, false, "submitting: " + err.describe());
      }
      storage::row_list rows;
      if (!self->state.rep->batch_submitted(batch_id, *task, now_ms(self), rows)) return;
      commit(self, std::move(rows), {});
    };
  });
}

void on_tickets(self_ptr self, const clone_tickets& t) {
  auto b = self->state.rep->batch(t.batch_id);
  if (!b || b->destination != t.from || b->state != static_cast<uint8_t>(batch_state::ticketing))
    return;  // a late or duplicate answer
  self->state.ticket_sent.erase(t.batch_id);
  if (t.code != 0) {
    bool again = t.code == static_cast<uint8_t>(errc::unavailable);
    return attempt_failed(self, t.batch_id, again, "the peer issued no tickets: " + t.message);
  }
  submit_batch(self, t.batch_id, &t);
}

// ================================================================= check_consumed_queue (A)

void poll_batch(self_ptr self, uint64_t batch_id) {
  auto b = self->state.rep->batch(batch_id);
  if (!b) return;
  auto mover = mover_for(self, b->mover);
  if (!mover) return;
  self->state.busy_batches.insert(batch_id);
  auto task_id = b->task_id;
  blocking(self).post([self, mover, task_id, batch_id]() -> runner::continuation {
    auto st = mover->poll(task_id);
    return [self, st, batch_id] {
      self->state.busy_batches.erase(batch_id);
      auto& rep = *self->state.rep;
      auto b = rep.batch(batch_id);
      if (!b || b->state != static_cast<uint8_t>(batch_state::active)) return;
      if (!st) {
        LIB_LOG_WARN("replicator") << "polling batch " << batch_id << ": " << st.err().message;
        if (st.err().code == errc::unauthenticated || st.err().code == errc::invalid_argument)
          attempt_failed(self, batch_id, false, "polling: " + st.err().describe());
        return;
      }
      storage::row_list rows;
      if (st->state != task_state::active) self->state.progress_seen.erase(batch_id);
      switch (st->state) {
        case task_state::active: {
          static_cast<void>(rep.note_progress(batch_id, st->bytes_done));
          auto now = now_ms(self);
          auto [seen, fresh] =
              self->state.progress_seen.try_emplace(batch_id, std::make_pair(st->bytes_done, now));
          if (fresh || st->bytes_done > seen->second.first) {
            seen->second = {st->bytes_done, now};
            return;
          }
          if (now - seen->second.second <= rcfg(self).stall_timeout_ms) return;
          // The task hangs: cancel it and start another attempt (a new submission id).
          self->state.progress_seen.erase(seen);
          count(self, "batches_stalled");
          LIB_PROBE("replication.batch_stalled");
          if (auto mover = mover_for(self, b->mover))
            blocking(self).post([mover, task = b->task_id]() -> runner::continuation {
              static_cast<void>(mover->cancel(task));
              return {};
            });
          return attempt_failed(self, batch_id, true,
                                "the " + b->mover + " task made no progress for " +
                                    std::to_string(rcfg(self).stall_timeout_ms) + " ms");
        }
        case task_state::unknown:
          count(self, "batches_lost");
          if (!rep.batch_lost(batch_id, now_ms(self), rows)) return;
          return commit(self, std::move(rows), {});
        case task_state::succeeded:
        case task_state::failed:
          break;
      }
      auto jobs = rep.job_files(batch_id);
      std::set<uint64_t> failed;
      for (auto i : st->failed_files)
        if (i < jobs.size()) failed.insert(jobs[i].transfer_id);
      bool whole = st->state == task_state::failed &&
                   (st->failed_files.empty() || failed.size() == jobs.size());
      auto why = st->failure ? st->failure->describe() : std::string{"the mover failed"};
      if (whole) return attempt_failed(self, batch_id, st->retryable, why);
      auto notices = rep.batch_succeeded(batch_id, failed, st->retryable, why, st->bytes_done,
                                         now_ms(self), rows);
      if (!notices) return;
      count(self, "batches_moved");
      count(self, "bytes_moved", st->bytes_done);
      auto peer = b->destination;
      auto msg = *notices;
      commit(self, std::move(rows), [self, peer, msg] {
        self->state.notices_sent[peer] = now_ms(self);
        if (!msg.items.empty()) to_peer(self, peer, caf::make_message(msg));
      });
    };
  });
}

void run_check_consumed_queue(self_ptr self, uint32_t) {
  auto& rep = *self->state.rep;
  auto now = now_ms(self);
  auto timeout = rcfg(self).peer_reply_timeout_ms;
  std::vector<uint64_t> stage_again, tickets_again, poll;
  for (const auto& [id, b] : rep.live_batches()) {
    if (self->state.busy_batches.contains(id)) continue;
    auto s = static_cast<batch_state>(b.state);
    if (s == batch_state::staging) {
      auto sent = self->state.stage_sent.find(id);
      if (sent == self->state.stage_sent.end() || now - sent->second > timeout)
        stage_again.push_back(id);
    } else if (s == batch_state::ticketing) {
      auto sent = self->state.ticket_sent.find(id);
      if (sent == self->state.ticket_sent.end() || now - sent->second > timeout)
        tickets_again.push_back(id);
    } else if (s == batch_state::active) {
      poll.push_back(id);
    }
  }
  for (auto id : stage_again) send_stage(self, id);
  for (auto id : tickets_again) {
    // The answer is lost, or the peer restarted: start the attempt over.
    storage::row_list rows;
    if (rep.batch_lost(id, now, rows)) commit(self, std::move(rows), {});
  }
  for (auto id : poll) {
    auto b = rep.batch(id);
    if (!b) continue;
    if (b->task_id.empty()) {
      // Submitted but never recorded (a restart in between): start over, same submission id.
      storage::row_list rows;
      if (rep.batch_lost(id, now, rows)) commit(self, std::move(rows), {});
      continue;
    }
    poll_batch(self, id);
  }
  // STAGED transfers the peer has not called back about: tell it again.
  for (auto& [peer, msg] : rep.staged_notices()) {
    auto last = self->state.notices_sent.find(peer);
    if (last != self->state.notices_sent.end() && now - last->second < timeout) continue;
    self->state.notices_sent[peer] = now;
    if (msg.items.size() > probe_items_max) msg.items.resize(probe_items_max);
    to_peer(self, peer, caf::make_message(std::move(msg)));
  }
}

// ======================================================================== receiving side (B)

// A stage request: one librarian upload per new file, all in one store, grouped in one staging
// directory per batch so one tree ticket covers it.
using staged_fn = std::function<void(const clone_staged&)>;

// Stages a batch here; `deliver` gets the answer once its rows are durable (to the peer over the
// transport, or to `librarian ingest-manifest` over HTTP).
void stage_here(self_ptr self, const clone_stage& req, staged_fn deliver) {
  auto& rep = *self->state.rep;
  auto key = std::make_pair(req.from, req.batch_id);
  if (self->state.staging_now.contains(key)) return;  // a duplicate while the first is staging
  count(self, "stage_requests_received");
  if (self->state.env->config.background.recv_clone.empty() && !self->state.warned_no_recv) {
    self->state.warned_no_recv = true;
    LIB_LOG_WARN("replicator") << "staging files from " << req.from
                               << ", but no recv_clone task is configured here: they will not be "
                                  "ingested (add background.recv_clone)";
  }
  struct run_state {
    clone_staged answer;
    std::vector<clone_item> fresh;
    size_t pending = 0;
    storage::row_list rows;
    std::string store;
    std::string batch_dir;
  };
  auto run = std::make_shared<run_state>();
  run->answer.from = self->state.env->config.name;
  run->answer.batch_id = req.batch_id;
  run->answer.data_host = self->state.env->config.listen.host;
  run->answer.data_port = self->state.env->data_port;
  auto group = "clone-" + req.from + "-" + std::to_string(req.batch_id);
  std::set<uint64_t> seen;
  for (const auto& item : req.items) {
    if (!seen.insert(item.source_id).second) continue;
    if (auto known = rep.incoming_by_source(req.from, item.source_id)) {
      clone_staged_item a{item.source_id, known->id, 0, "", "", known->staging_file, "", ""};
      auto st = static_cast<xfer_status>(known->status);
      if (st == xfer_status::completed) {
        a.code = static_cast<uint8_t>(errc::already_exists);
        a.existing_checksum = known->checksum;
      } else if (terminal(st)) {
        a.code = static_cast<uint8_t>(errc::conflict);
        a.message = known->message.empty() ? "the transfer failed here" : known->message;
      } else {
        a.relative = std::filesystem::path(known->staging_file)
                         .lexically_relative(known->batch_dir)
                         .string();
        run->batch_dir = known->batch_dir;
        run->store = known->store;  // so a re-answer carries the store's endpoint and paths
      }
      run->answer.items.push_back(std::move(a));
      continue;
    }
    run->fresh.push_back(item);
  }
  auto finish = [self, run, key, deliver] {
    self->state.staging_now.erase(key);
    run->answer.batch_dir = run->batch_dir;
    // Globus: the store's endpoint and the path it sees (the store's globus_root mapping).
    for (const auto& s : self->state.env->config.stores) {
      if (s.name != run->store) continue;
      run->answer.destination_endpoint = s.destination_endpoint;
      // GridFTP: the store's own server if it names one, else this node's.
      run->answer.gridftp_url = s.gridftp_url;
      if (s.gridftp_url.empty() && self->state.env->gridftp_port != 0)
        run->answer.gridftp_url = "ftp://" + self->state.env->config.listen.host + ":" +
                                  std::to_string(self->state.env->gridftp_port);
      for (auto& item : run->answer.items)
        if (!item.staging_path.empty())
          item.endpoint_path =
              s.globus_root.empty() || s.globus_root == "/"
                  ? item.staging_path
                  : s.globus_root + item.staging_path.substr(s.staging_path.size());
    }
    commit(self, std::move(run->rows), [run, deliver] { deliver(run->answer); });
  };
  if (run->fresh.empty()) {
    self->state.staging_now.insert(key);
    return finish();
  }
  self->state.staging_now.insert(key);
  uint64_t total = 0;
  for (const auto& i : run->fresh) total += i.size;
  // One store for the batch: the first ingestable, enabled one with room for all of it.
  ask_librarian(
      self, caf::make_message(stores_atom_v),
      [self, run, total, group, req, finish](const std::vector<lib::store_info>& stores) {
        for (const auto& s : stores)
          if (s.ingestable && s.enabled && s.free_bytes >= total && s.type == "local") {
            run->store = s.name;
            run->batch_dir = s.staging_path + "/" + group;
            break;
          }
        auto now = now_ms(self);
        if (run->store.empty()) {
          for (const auto& item : run->fresh) {
            auto why = "no ingestable, enabled store here has room for the batch (" +
                       std::to_string(total) + " bytes)";
            auto r = self->state.rep->refuse_incoming(req.from, item.source_id, item, why, now,
                                                      run->rows);
            run->answer.items.push_back({item.source_id, r ? r->id : 0,
                                         static_cast<uint8_t>(errc::storage_full), why, "", "", "",
                                         ""});
          }
          return finish();
        }
        std::string policy = "DISALLOWED";
        if (!self->state.env->config.background.recv_clone.empty())
          policy = self->state.env->config.background.recv_clone.front().deletion_policy;
        run->pending = run->fresh.size();
        for (const auto& item : run->fresh) {
          lib::stage_request sr;
          sr.name = item.name;
          sr.size = item.size;
          sr.checksum = item.checksum;
          sr.uploader = req.from;
          sr.deletion_policy = policy;
          sr.store = run->store;
          sr.group = group;
          auto one_done = [run, finish] {
            if (--run->pending == 0) finish();
          };
          ask_librarian(
              self, caf::make_message(stage_atom_v, sr),
              [self, run, item, from = req.from, batch = req.batch_id,
               one_done](const lib::stage_reply& reply) {
                auto now = now_ms(self);
                if (reply.already_present) {
                  run->answer.items.push_back({item.source_id, 0,
                                               static_cast<uint8_t>(errc::already_exists),
                                               "already here", "", "", "", item.checksum});
                  return one_done();
                }
                auto r = self->state.rep->create_incoming(
                    from, item.source_id, batch, item, run->store, reply.upload_id, run->batch_dir,
                    reply.staging_file, now, run->rows);
                if (!r) {
                  run->answer.items.push_back({item.source_id, 0,
                                               static_cast<uint8_t>(r.err().code), r.err().message,
                                               "", "", "", ""});
                  return one_done();
                }
                auto rel = std::filesystem::path(reply.staging_file)
                               .lexically_relative(run->batch_dir)
                               .string();
                run->answer.items.push_back(
                    {item.source_id, r->id, 0, "", rel, reply.staging_file, "", ""});
                one_done();
              },
              [self, run, item, from = req.from, one_done](caf::error& err) {
                auto e = from_caf(err);
                auto r = self->state.rep->refuse_incoming(from, item.source_id, item, e.message,
                                                          now_ms(self), run->rows);
                run->answer.items.push_back({item.source_id, r ? r->id : 0,
                                             static_cast<uint8_t>(e.code), e.message, "", "", "",
                                             ""});
                one_done();
              });
        }
      },
      [self, key](caf::error& err) {
        self->state.staging_now.erase(key);
        LIB_LOG_WARN("replicator") << "cannot read stores: " << from_caf(err).message;
      });
}

void on_stage(self_ptr self, const clone_stage& req) {
  if (!known_peer(self, req.from) || req.items.size() > stage_items_max) {
    LIB_LOG_WARN("replicator") << "stage request from '" << req.from
                               << "' refused: not a configured peer, or too many items";
    return;
  }
  stage_here(self, req, [self, from = req.from](const clone_staged& answer) {
    to_peer(self, from, caf::make_message(answer));
  });
}

void on_ticket_ask(self_ptr self, const clone_ticket_ask& ask) {
  if (!known_peer(self, ask.from)) return;
  auto& rep = *self->state.rep;
  clone_tickets reply;
  reply.from = self->state.env->config.name;
  reply.batch_id = ask.batch_id;
  auto& registry = self->state.env->data_tickets;
  auto refuse = [&](errc code, std::string why) {
    reply.code = static_cast<uint8_t>(code);
    reply.message = std::move(why);
    to_peer(self, ask.from, caf::make_message(reply));
  };
  if (!registry || self->state.env->data_port == 0)
    return refuse(errc::invalid_argument,
                  "this node's data channel is off (listen.data_port is 0); use another mover");
  auto ttl = std::chrono::milliseconds(self->state.env->config.data.ticket_ttl_s * 1000);
  // Files the channel verified as it wrote them are sealed, so their commits do not hash again.
  auto seal = [fs = self->state.env->fs](const std::filesystem::path& p, const std::string& sum) {
    fs->seal(p.string(), sum);
  };
  std::string batch_dir;
  bool any_small = false;
  for (auto id : ask.incoming_ids) {
    auto r = rep.incoming(id);
    if (!r || r->source != ask.from)
      return refuse(errc::not_found, "no transfer " + std::to_string(id) + " from you");
    auto st = static_cast<xfer_status>(r->status);
    if (st != xfer_status::initiated && st != xfer_status::ongoing)
      return refuse(errc::conflict,
                    "transfer " + std::to_string(id) + " is " + std::string{name(st)});
    if (!batch_dir.empty() && r->batch_dir != batch_dir)
      return refuse(errc::invalid_argument, "the transfers are not of one batch");
    batch_dir = r->batch_dir;
    if (r->size <= tree_file_bytes_max) {
      any_small = true;
      continue;
    }
    data::ticket_grant g;
    g.mode = data::ticket_mode::put;
    g.path = r->staging_file;
    g.size = r->size;
    g.expected_checksum = r->checksum;
    if (auto parsed = data::parse_checksum(r->checksum)) g.alg = parsed->alg;
    g.user = ask.from;
    g.ttl = ttl;
    g.on_complete = seal;
    auto ticket = registry->issue(std::move(g));
    if (!ticket) return refuse(ticket.err().code, ticket.err().message);
    reply.file_tickets.push_back({id, *ticket});
  }
  if (any_small) {
    data::ticket_grant g;
    g.mode = data::ticket_mode::put;
    g.path = batch_dir;
    g.tree = true;
    g.user = ask.from;
    g.ttl = ttl;
    g.on_complete = seal;
    auto ticket = registry->issue(std::move(g));
    if (!ticket) return refuse(ticket.err().code, ticket.err().message);
    reply.tree_ticket = *ticket;
  }
  // The source moves the bytes now: ONGOING here too.
  storage::row_list rows;
  for (auto id : ask.incoming_ids)
    static_cast<void>(rep.set_incoming(id, xfer_status::ongoing, "", now_ms(self), rows));
  count(self, "tickets_issued");
  commit(self, std::move(rows),
         [self, reply, from = ask.from] { to_peer(self, from, caf::make_message(reply)); });
}

void cancel_upload(self_ptr self, const incoming_row& r) {
  if (r.upload_id == 0) return;
  ask_librarian(
      self, caf::make_message(cancel_atom_v, r.upload_id, r.source, true), [](uint64_t) {},
      [](caf::error&) {});  // already gone: fine
}

void finish_incoming_failure(self_ptr self, uint64_t id, const std::string& why) {
  auto& rep = *self->state.rep;
  auto r = rep.incoming(id);
  if (!r) return;
  storage::row_list rows;
  if (!rep.set_incoming(id, xfer_status::failed, why, now_ms(self), rows)) return;
  count(self, "incoming_failed");
  cancel_upload(self, *r);
  commit(self, std::move(rows), [self, r, why] {
    clone_status back;
    back.from = self->state.env->config.name;
    back.items.push_back(
        {r->source_transfer_id, r->id, static_cast<uint8_t>(xfer_status::failed), why, 0});
    to_peer(self, r->source, caf::make_message(std::move(back)));
  });
}

void on_peer_status(self_ptr self, const clone_status& msg) {
  if (!known_peer(self, msg.from)) return;
  auto& rep = *self->state.rep;
  // Callbacks about our outgoing transfers (B -> A).
  auto news = rep.on_peer_status(msg);
  for (const auto& [id, store_id] : news.completed) adopt_remote(self, id, store_id);
  for (const auto& [id, why] : news.failed) fail_outgoing(self, id, why, false);
  // Notices about incoming transfers (A -> B): the statuses the source drives.
  std::vector<clone_status_item> to_b;
  for (const auto& item : msg.items)
    if (item.status != static_cast<uint8_t>(xfer_status::completed)) to_b.push_back(item);
  if (to_b.empty()) return;
  // Only items that name one of our incoming transfers from this peer are for the receiving
  // side; the rest were callbacks handled above.
  clone_status incoming_news;
  incoming_news.from = msg.from;
  clone_status unknown;
  unknown.from = self->state.env->config.name;
  for (const auto& item : to_b) {
    auto r = rep.incoming_by_source(msg.from, item.source_id);
    if (r && r->id == item.incoming_id)
      incoming_news.items.push_back(item);
    else if (!r && (item.status == static_cast<uint8_t>(xfer_status::ongoing) ||
                    item.status == static_cast<uint8_t>(xfer_status::staged)))
      // Only a source sends these: we never heard of the transfer (staging lost). Say so, and
      // the source fails it and sends the file again.
      unknown.items.push_back({item.source_id, item.incoming_id, status_unknown, "", 0});
  }
  if (!unknown.items.empty()) to_peer(self, msg.from, caf::make_message(unknown));
  if (incoming_news.items.empty()) return;
  std::vector<incoming_row> before;
  for (const auto& item : incoming_news.items)
    if (auto r = rep.incoming_by_source(msg.from, item.source_id)) before.push_back(*r);
  storage::row_list rows;
  auto back = rep.on_source_status(incoming_news, now_ms(self), rows);
  for (const auto& r : before) {
    auto now_row = rep.incoming(r.id);
    if (now_row &&
        (now_row->status == static_cast<uint8_t>(xfer_status::failed) ||
         now_row->status == static_cast<uint8_t>(xfer_status::cancelled)) &&
        r.status != now_row->status)
      cancel_upload(self, *now_row);
  }
  commit(self, std::move(rows), [self, back, from = msg.from] {
    if (!back.items.empty()) to_peer(self, from, caf::make_message(back));
  });
}

// ============================================================================= recv_clone (B)

void tell_completed(self_ptr self, const incoming_row& r) {
  clone_status back;
  back.from = self->state.env->config.name;
  back.items.push_back({r.source_transfer_id, r.id, static_cast<uint8_t>(xfer_status::completed),
                        "", store_id_of(r.store)});
  count(self, "callbacks_sent");
  to_peer(self, r.source, caf::make_message(std::move(back)));
}

// A batch's staging group goes once it is empty: each upload's directory goes with its commit or
// its cancel, and a live transfer still has its own, so rmdir refuses while any is left.
void remove_batch_dir_if_done(self_ptr self, const incoming_row& r) {
  if (r.batch_dir.empty()) return;
  blocking(self).post([fs = self->state.env->fs, dir = r.batch_dir]() -> runner::continuation {
    static_cast<void>(fs->remove(dir));  // refused while it is not empty
    return {};
  });
}

size_t pump_recv(self_ptr self, size_t budget);

void ingest(self_ptr self, uint64_t id) {
  auto& rep = *self->state.rep;
  auto r = rep.incoming(id);
  if (!r) return;
  auto rows = rep.preview_incoming(id, xfer_status::completed, now_ms(self));
  if (!rows) return;
  self->state.recv_in_flight.insert(id);
  // A planted bug (simulation only): tell the source before the file is committed here.
  if (planted::on("callback_before_commit")) tell_completed(self, *r);
  auto done = [self, id, r] {
    self->state.recv_in_flight.erase(id);
    storage::row_list again;  // already written in the librarian's batch
    bool completed =
        self->state.rep->set_incoming(id, xfer_status::completed, "", now_ms(self), again)
            .has_value();
    // The next STAGED file starts now, not at the next timer (recv_clone's budget permitting).
    if (self->state.recv_budget > 0)
      self->state.recv_budget -= std::min<size_t>(self->state.recv_budget, pump_recv(self, 1));
    if (!completed) return;
    count(self, "incoming_completed");
    tell_completed(self, *r);
    remove_batch_dir_if_done(self, *r);
  };
  ask_librarian(
      self, caf::make_message(commit_atom_v, r->upload_id, r->source, true, std::move(*rows)),
      [done](const lib::file_info&) { done(); },
      [self, id, r, done](caf::error& err) {
        auto e = from_caf(err);
        if (e.code != errc::not_found) {
          self->state.recv_in_flight.erase(id);
          return finish_incoming_failure(self, id, "ingest failed: " + e.describe());
        }
        // No such upload: committed before a crash (then the file is here), or the stage is gone.
        ask_librarian(
            self, caf::make_message(have_atom_v, std::vector<std::string>{r->file}),
            [self, id, r, done](const std::vector<std::string>& sums) {
              if (!sums.empty() && sums.front() == r->checksum) {
                auto rows =
                    self->state.rep->preview_incoming(id, xfer_status::completed, now_ms(self));
                if (!rows) {
                  self->state.recv_in_flight.erase(id);
                  return;
                }
                return commit(self, std::move(*rows), done);
              }
              self->state.recv_in_flight.erase(id);
              finish_incoming_failure(self, id, "the staged file is gone (staging lost)");
            },
            [self, id](caf::error&) { self->state.recv_in_flight.erase(id); });
      });
}

// Keeps up to recv_in_flight_max ingests going, and at most `budget` new ones.
size_t pump_recv(self_ptr self, size_t budget) {
  auto& rep = *self->state.rep;
  auto room = recv_in_flight_max > self->state.recv_in_flight.size()
                  ? recv_in_flight_max - self->state.recv_in_flight.size()
                  : 0;
  room = std::min(room, budget);
  size_t started = 0;
  if (room == 0) return 0;
  for (auto id : rep.staged_incoming(room + self->state.recv_in_flight.size())) {
    if (started >= room) break;
    if (self->state.recv_in_flight.contains(id)) continue;
    ingest(self, id);
    ++started;
  }
  return started;
}

void run_recv_clone(self_ptr self, uint32_t index) {
  const auto& t = self->state.env->config.background.recv_clone.at(index);
  self->state.recv_budget = t.files_per_run;  // this run's files, started as others finish
  self->state.recv_budget -=
      std::min<size_t>(self->state.recv_budget, pump_recv(self, t.files_per_run));
}

// ============================================================================ hypervisors

void run_outgoing_hypervisor(self_ptr self, uint32_t index) {
  const auto& t = self->state.env->config.background.outgoing_transfer_hypervisor.at(index);
  auto age = static_cast<int64_t>(t.age_in_days * 86'400'000.0);
  auto now = now_ms(self);
  std::map<std::string, clone_probe> probes;
  for (const auto& [id, o] : self->state.rep->live_outgoing()) {
    if (now - o.start_unix_ms <= age || self->state.adopting.contains(id)) continue;
    auto& p = probes[o.destination];
    if (p.items.size() >= probe_items_max) continue;
    p.from = self->state.env->config.name;
    p.outgoing = true;
    p.items.push_back({o.id, o.remote_id, o.file, status_unknown, ""});
  }
  for (auto& [peer, p] : probes) {
    count(self, "hypervisor_probes_sent");
    to_peer(self, peer, caf::make_message(std::move(p)));
  }
}

void run_incoming_hypervisor(self_ptr self, uint32_t index) {
  const auto& t = self->state.env->config.background.incoming_transfer_hypervisor.at(index);
  auto age = static_cast<int64_t>(t.age_in_days * 86'400'000.0);
  auto now = now_ms(self);
  std::map<std::string, clone_probe> probes;
  for (const auto& [id, r] : self->state.rep->live_incoming()) {
    if (now - r.start_unix_ms <= age || self->state.recv_in_flight.contains(id)) continue;
    auto& p = probes[r.source];
    if (p.items.size() >= probe_items_max) continue;
    p.from = self->state.env->config.name;
    p.outgoing = false;
    p.items.push_back({r.source_transfer_id, r.id, r.file, status_unknown, ""});
  }
  for (auto& [peer, p] : probes) {
    count(self, "hypervisor_probes_sent");
    to_peer(self, peer, caf::make_message(std::move(p)));
  }
}

// A probe from a peer's hypervisor, or the answer to ours.
void on_probe(self_ptr self, const clone_probe& p) {
  if (!known_peer(self, p.from) || p.items.size() > probe_items_max) return;
  auto& rep = *self->state.rep;
  if (!p.answer && p.outgoing) {
    // A asks B (us): our incoming status and whether the file is committed here.
    std::vector<std::string> names;
    for (const auto& item : p.items) names.push_back(item.name);
    auto reply = p;
    reply.from = self->state.env->config.name;
    reply.answer = true;
    for (auto& item : reply.items) {
      auto r = rep.incoming_by_source(p.from, item.source_id);
      item.status = r ? r->status : status_unknown;
      // Being ingested right now: not yet COMPLETED on disk.
      if (r && self->state.recv_in_flight.contains(r->id))
        item.status = static_cast<uint8_t>(xfer_status::staged);
    }
    ask_librarian(
        self, caf::make_message(have_atom_v, names),
        [self, reply, from = p.from](const std::vector<std::string>& sums) mutable {
          for (size_t i = 0; i < reply.items.size() && i < sums.size(); ++i)
            reply.items[i].file_checksum = sums[i];
          // Statuses read from memory: announced only once what is pending is durable.
          commit(self, {}, [self, reply, from] { to_peer(self, from, caf::make_message(reply)); });
        },
        [](caf::error&) {});
    return;
  }
  if (!p.answer && !p.outgoing) {
    // B asks A (us) about our outgoing transfers.
    auto reply = p;
    reply.from = self->state.env->config.name;
    reply.answer = true;
    for (auto& item : reply.items) {
      auto o = rep.outgoing(item.source_id);
      item.status = o && o->destination == p.from ? o->status : status_unknown;
      if (o && self->state.adopting.contains(o->id))
        item.status = static_cast<uint8_t>(xfer_status::staged);
    }
    commit(self, {},
           [self, reply, from = p.from] { to_peer(self, from, caf::make_message(reply)); });
    return;
  }
  auto now = now_ms(self);
  if (p.outgoing) {
    // B's answer about our outgoing transfers.
    for (const auto& item : p.items) {
      auto o = rep.outgoing(item.source_id);
      if (!o || o->destination != p.from || terminal(static_cast<xfer_status>(o->status))) continue;
      if (self->state.adopting.contains(o->id)) continue;
      auto v = reconcile_outgoing(*o, item.status, item.file_checksum);
      if (v.kind == verdict_kind::complete) {
        count(self, "hypervisor_completed");
        adopt_remote(self, o->id, 0);
      } else if (v.kind == verdict_kind::fail) {
        count(self, "hypervisor_failed");
        LIB_LOG_INFO("replicator") << "outgoing_transfer_hypervisor: transfer " << o->id << " ("
                                   << o->file << " to " << o->destination << "): " << v.why;
        fail_outgoing(self, o->id, "outgoing_transfer_hypervisor: " + v.why, true);
      }
    }
    return;
  }
  // A's answer about our incoming transfers.
  storage::row_list rows;
  for (const auto& item : p.items) {
    auto r = rep.incoming(item.incoming_id);
    if (!r || r->source != p.from || terminal(static_cast<xfer_status>(r->status))) continue;
    if (self->state.recv_in_flight.contains(r->id)) continue;
    auto v = reconcile_incoming(*r, item.status);
    if (v.kind == verdict_kind::fail) {
      count(self, "hypervisor_failed");
      LIB_LOG_INFO("replicator") << "incoming_transfer_hypervisor: transfer " << r->id << " ("
                                 << r->file << " from " << r->source << "): " << v.why;
      finish_incoming_failure(self, r->id, "incoming_transfer_hypervisor: " + v.why);
    } else if (v.kind == verdict_kind::adopt) {
      count(self, "hypervisor_adopted");
      static_cast<void>(rep.set_incoming(r->id, v.to, "", now, rows));
    }
  }
  commit(self, std::move(rows), {});
}

// ===================================================================== create_local_clone

std::string store_path_of(self_ptr self, const std::string& store) {
  for (const auto& s : self->state.env->config.stores)
    if (s.name == store) return s.store_path;
  return {};
}

void run_create_local_clone(self_ptr self, uint32_t index) {
  ask_librarian(
      self, caf::make_message(stores_atom_v),
      [self, index](const std::vector<lib::store_info>& stores) {
        const auto& t = self->state.env->config.background.create_local_clone.at(index);
        lib::file_query q;
        q.store = t.clone_from;
        if (t.age_in_days > 0)
          q.create_from_unix_ms = now_ms(self) - static_cast<int64_t>(t.age_in_days * 86'400'000.0);
        q.after = self->state.clone_cursor[index];
        q.max_results = std::min<uint32_t>(t.files_per_run, search_page);
        std::map<std::string, lib::store_info> by_name;
        for (const auto& s : stores) by_name[s.name] = s;
        ask_librarian(
            self, caf::make_message(search_atom_v, q),
            [self, index, by_name](const lib::file_page& page) mutable {
              const auto& t = self->state.env->config.background.create_local_clone.at(index);
              self->state.clone_cursor[index] = page.more ? page.next_after : std::string{};
              for (const auto& f : page.files) {
                if (self->state.cloning.contains(f.name)) continue;
                const lib::instance_info* from = nullptr;
                std::set<std::string> on;
                for (const auto& i : f.instances) {
                  on.insert(i.store);
                  if (i.store == t.clone_from && i.available) from = &i;
                }
                bool done = false;
                for (const auto& s : t.clone_to) done = done || on.contains(s);
                if (!from || done) continue;
                std::string target;
                for (const auto& s : t.clone_to) {
                  auto it = by_name.find(s);
                  if (it != by_name.end() && it->second.enabled &&
                      it->second.free_bytes >= f.size) {
                    target = s;
                    it->second.free_bytes -= f.size;
                    break;
                  }
                }
                if (target.empty()) {
                  count(self, "local_clone_no_room");
                  if (t.disable_store_on_full)
                    for (const auto& s : t.clone_to) {
                      auto it = by_name.find(s);
                      if (it == by_name.end() || !it->second.enabled) continue;
                      LIB_LOG_WARN("replicator")
                          << "create_local_clone: store " << s << " is full; disabling it";
                      it->second.enabled = false;
                      ask_librarian(
                          self, caf::make_message(store_set_atom_v, s, false),
                          [](const lib::store_info&) {}, [](caf::error&) {});
                    }
                  continue;
                }
                mover_file job{from->path, store_path_of(self, target) + "/" + f.name, f.size,
                               f.checksum, ""};
                self->state.cloning.insert(f.name);
                auto name = f.name;
                blocking(self).post([self, job, name, target]() -> runner::continuation {
                  // A missing directory fails the copy below, which reports it.
                  static_cast<void>(self->state.env->fs->create_directories(
                      std::filesystem::path(job.dest_path).parent_path().string()));
                  std::atomic<uint64_t> bytes{0};
                  auto st = copy_verified(job, bytes);
                  return [self, st, job, name, target] {
                    if (!st) {
                      self->state.cloning.erase(name);
                      count(self, "local_clone_failed");
                      LIB_LOG_WARN("replicator") << "create_local_clone of " << name << " to "
                                                 << target << ": " << st.err().describe();
                      return;
                    }
                    ask_librarian(
                        self, caf::make_message(instance_add_atom_v, name, target, job.dest_path),
                        [self, name](const lib::instance_info&) {
                          self->state.cloning.erase(name);
                          count(self, "local_clones");
                        },
                        [self, name, job](caf::error& err) {
                          self->state.cloning.erase(name);
                          count(self, "local_clone_failed");
                          LIB_LOG_WARN("replicator")
                              << "create_local_clone of " << name << ": " << from_caf(err).message;
                          // Not in the catalog: the copy goes (off this thread).
                          blocking(self).post([fs = self->state.env->fs,
                                               path = job.dest_path]() -> runner::continuation {
                            static_cast<void>(fs->remove(path));
                            return {};
                          });
                        });
                  };
                });
              }
              task_end(self, task_kind::create_local_clone, index, "ok");
            },
            [self, index](caf::error& err) {
              LIB_LOG_WARN("replicator") << "create_local_clone: " << from_caf(err).message;
              task_end(self, task_kind::create_local_clone, index, "failed");
            });
      },
      [self, index](caf::error& err) {
        LIB_LOG_WARN("replicator") << "create_local_clone: " << from_caf(err).message;
        task_end(self, task_kind::create_local_clone, index, "failed");
      });
}

// ======================================================================= rolling_deletion

void drop_candidate(self_ptr self, const std::string& name) {
  auto it = self->state.deleting.find(name);
  if (it == self->state.deleting.end() || it->second.dropping) return;
  const auto& t = self->state.env->config.background.rolling_deletion.at(it->second.task);
  it->second.dropping = true;
  ask_librarian(
      self,
      caf::make_message(instance_drop_atom_v, name, it->second.instance_id, t.mark_unavailable),
      [self, name](const lib::instance_info& inst) {
        self->state.deleting.erase(name);
        count(self, "rolling_deletions");
        LIB_LOG_INFO("replicator")
            << "rolling_deletion: deleted " << inst.path << " (" << name << ")";
      },
      [self, name](caf::error& err) {
        self->state.deleting.erase(name);
        LIB_LOG_WARN("replicator")
            << "rolling_deletion of " << name << ": " << from_caf(err).message;
      });
}

void run_rolling_deletion(self_ptr self, uint32_t index) {
  const auto& t = self->state.env->config.background.rolling_deletion.at(index);
  auto now = now_ms(self);
  // Candidates whose peers never answered: forget them; the next pass asks again.
  for (auto it = self->state.deleting.begin(); it != self->state.deleting.end();)
    if (!it->second.dropping && it->second.deadline_unix_ms < now)
      it = self->state.deleting.erase(it);
    else
      ++it;
  lib::file_query q;
  q.store = t.store_name;
  auto cutoff = now - static_cast<int64_t>(t.age_in_days * 86'400'000.0);
  q.create_to_unix_ms = cutoff;
  q.after = self->state.deletion_cursor[index];
  q.max_results = 200;
  ask_librarian(
      self, caf::make_message(search_atom_v, q),
      [self, index, cutoff](const lib::file_page& page) {
        const auto& t = self->state.env->config.background.rolling_deletion.at(index);
        self->state.deletion_cursor[index] = page.more ? page.next_after : std::string{};
        std::map<std::string, clone_verify> asks;
        for (const auto& f : page.files) {
          if (self->state.deleting.contains(f.name)) continue;
          const lib::instance_info* inst = nullptr;
          for (const auto& i : f.instances)
            if (i.store == t.store_name && i.available && i.created_unix_ms <= cutoff &&
                (t.force_deletion || i.deletion_policy == "ALLOWED"))
              inst = &i;
          if (!inst) continue;
          std::set<std::string> holders;
          for (const auto& r : f.remote_instances) holders.insert(r.librarian);
          if (holders.size() < t.number_of_remote_copies) continue;
          auto& c = self->state.deleting[f.name];
          c.task = index;
          c.instance_id = inst->id;
          c.checksum = f.checksum;
          c.deadline_unix_ms = now_ms(self) + 2 * rcfg(self).peer_reply_timeout_ms;
          if (!t.verify_downstream_checksums) {
            c.verified = holders;
            drop_candidate(self, f.name);
            continue;
          }
          for (const auto& h : holders) {
            if (!known_peer(self, h)) continue;  // cannot ask it: it does not count
            c.asked.insert(h);
            auto& ask = asks[h];
            ask.from = self->state.env->config.name;
            ask.items.push_back({f.name, f.checksum, false, ""});
          }
          if (c.asked.size() < t.number_of_remote_copies) self->state.deleting.erase(f.name);
        }
        for (auto& [peer, ask] : asks) {
          count(self, "verify_requests_sent");
          to_peer(self, peer, caf::make_message(std::move(ask)));
        }
        task_end(self, task_kind::rolling_deletion, index, "ok");
      },
      [self, index](caf::error& err) {
        LIB_LOG_WARN("replicator") << "rolling_deletion: " << from_caf(err).message;
        task_end(self, task_kind::rolling_deletion, index, "failed");
      });
}

// A peer asks us to verify copies (answer=false), or answers our request (answer=true).
void on_verify(self_ptr self, const clone_verify& v) {
  if (!known_peer(self, v.from) || v.items.size() > probe_items_max) return;
  if (!v.answer) {
    struct run_state {
      clone_verify reply;
      size_t pending = 0;
    };
    auto run = std::make_shared<run_state>();
    run->reply.from = self->state.env->config.name;
    run->reply.answer = true;
    run->reply.items = v.items;
    run->pending = v.items.size();
    if (run->pending == 0) return;
    auto me = self->state.env->config.name;
    for (size_t i = 0; i < v.items.size(); ++i) {
      auto done = [self, run, from = v.from] {
        if (--run->pending == 0) to_peer(self, from, caf::make_message(run->reply));
      };
      ask_librarian(
          self, caf::make_message(validate_atom_v, v.items[i].name),
          [run, i, me, done](const std::vector<lib::validation_item>& items) {
            auto& out = run->reply.items[i];
            for (const auto& item : items)
              if (item.librarian == me && item.match && item.current_checksum == out.checksum)
                out.ok = true;
            if (!out.ok) out.message = "no local instance here hashes to " + out.checksum;
            done();
          },
          [run, i, done](caf::error& err) {
            run->reply.items[i].message = from_caf(err).message;
            done();
          });
    }
    return;
  }
  for (const auto& item : v.items) {
    auto it = self->state.deleting.find(item.name);
    if (it == self->state.deleting.end() || !it->second.asked.contains(v.from)) continue;
    if (!item.ok || item.checksum != it->second.checksum) {
      // One bad downstream copy is enough to keep ours (the reference's bypass must not exist).
      count(self, "rolling_deletion_refused");
      LIB_LOG_WARN("replicator") << "rolling_deletion keeps " << item.name << ": " << v.from
                                 << " could not verify its copy (" << item.message << ")";
      self->state.deleting.erase(it);
      continue;
    }
    it->second.verified.insert(v.from);
    const auto& t = self->state.env->config.background.rolling_deletion.at(it->second.task);
    if (it->second.verified.size() >= t.number_of_remote_copies) drop_candidate(self, item.name);
  }
}

// ======================================================================= corruption_fixer

// Asks the next peer that should have a good copy of each corrupt file here for one.
void run_corruption_fixer(self_ptr self, uint32_t index) {
  ask_librarian(
      self, caf::make_message(corrupt_atom_v, uint64_t{16}),
      [self, index](const lib::manifest_page& page) {
        auto now = now_ms(self);
        for (const auto& e : page.entries) {
          auto& r = self->state.repairs[e.name];
          if (r.downloading || (r.asked_unix_ms != 0 &&
                                now - r.asked_unix_ms < 2 * rcfg(self).peer_reply_timeout_ms))
            continue;
          r.path = e.instance_path;
          r.checksum = e.checksum;
          auto name = e.name;
          auto source = e.source;
          ask_librarian(
              self, caf::make_message(lookup_atom_v, name),
              [self, name, source](const lib::file_info& f) {
                // Who should have it: the file's source, then the peers we sent it to.
                std::vector<std::string> holders;
                if (known_peer(self, source)) holders.push_back(source);
                for (const auto& ri : f.remote_instances)
                  if (known_peer(self, ri.librarian) &&
                      std::find(holders.begin(), holders.end(), ri.librarian) == holders.end())
                    holders.push_back(ri.librarian);
                auto& r = self->state.repairs[name];
                if (holders.empty()) {
                  count(self, "corruption_no_peer");
                  LIB_LOG_WARN("replicator") << "corruption_fixer: no peer is known to hold '"
                                             << name << "'; it needs a manual repair";
                  r.asked_unix_ms = now_ms(self);
                  return;
                }
                auto peer = holders[r.attempts++ % holders.size()];
                r.asked_unix_ms = now_ms(self);
                clone_fetch ask;
                ask.from = self->state.env->config.name;
                ask.name = name;
                ask.checksum = f.checksum;
                count(self, "corruption_fetches_asked");
                to_peer(self, peer, caf::make_message(std::move(ask)));
              },
              [](caf::error&) {});
        }
        task_end(self, task_kind::corruption_fixer, index, "ok");
      },
      [self, index](caf::error& err) {
        LIB_LOG_WARN("replicator") << "corruption_fixer: " << from_caf(err).message;
        task_end(self, task_kind::corruption_fixer, index, "failed");
      });
}

void on_fetch(self_ptr self, const clone_fetch& m) {
  if (!known_peer(self, m.from)) return;
  if (!m.answer) {
    // A peer's copy is corrupt: a ticket to read our best instance, after checking it is the same
    // file (the peer verifies the bytes it gets, too).
    auto reply = m;
    reply.from = self->state.env->config.name;
    reply.answer = true;
    auto refuse = [self, reply, to = m.from](errc code, std::string why) mutable {
      reply.code = static_cast<uint8_t>(code);
      reply.message = std::move(why);
      to_peer(self, to, caf::make_message(reply));
    };
    auto& registry = self->state.env->data_tickets;
    if (!registry || self->state.env->data_port == 0)
      return refuse(errc::unavailable, "the data channel is off here");
    ask_librarian(
        self, caf::make_message(lookup_atom_v, m.name),
        [self, reply, refuse, to = m.from](const lib::file_info& f) mutable {
          if (f.checksum != reply.checksum)
            return refuse(errc::conflict, "the file here has checksum " + f.checksum);
          const lib::instance_info* best = nullptr;
          for (const auto& i : f.instances)
            if (i.available && !best) best = &i;
          if (!best) return refuse(errc::not_found, "no available instance here");
          data::ticket_grant g;
          g.mode = data::ticket_mode::get;
          g.path = best->path;
          if (auto parsed = data::parse_checksum(f.checksum)) g.alg = parsed->alg;
          g.user = to;
          g.ttl = std::chrono::seconds(self->state.env->config.data.ticket_ttl_s);
          auto ticket = self->state.env->data_tickets->issue(std::move(g));
          if (!ticket) return refuse(ticket.err().code, ticket.err().message);
          reply.host = self->state.env->config.listen.host;
          reply.port = self->state.env->data_port;
          reply.ticket = *ticket;
          reply.size = f.size;
          count(self, "corruption_fetches_served");
          to_peer(self, to, caf::make_message(reply));
        },
        [refuse](caf::error& err) mutable {
          auto e = from_caf(err);
          refuse(e.code, e.message);
        });
    return;
  }
  auto it = self->state.repairs.find(m.name);
  if (it == self->state.repairs.end() || it->second.downloading) return;
  if (m.code != 0) {
    LIB_LOG_WARN("replicator") << "corruption_fixer: " << m.from << " cannot send '" << m.name
                               << "': " << m.message;
    it->second.asked_unix_ms = 0;  // the next run asks the next peer
    return;
  }
  it->second.downloading = true;
  auto path = it->second.path;
  auto checksum = it->second.checksum;
  auto name = m.name;
  data::data_endpoint from{m.host, m.port};
  auto ticket = m.ticket;
  blocking(self).post([self, from, ticket, path, checksum, name]() -> runner::continuation {
    // Next to the instance, verified, then renamed over it: the bad copy is replaced in one step.
    auto tmp = path + ".librarian-fix";
    data::transfer_options o;
    auto parsed = data::parse_checksum(checksum);
    if (parsed) o.alg = parsed->alg;
    auto report = data::get_file(from, ticket, tmp, o);
    status st;
    if (!report)
      st = report.err();
    else if (report->checksum != checksum)
      st = fail(errc::checksum_mismatch, "the copy from the peer hashes to " + report->checksum);
    auto& fs = *self->state.env->fs;
    if (st) st = fs.rename(tmp, path);
    if (!st)  // no partial copy or journal left in the store
      for (const auto& leftover : {tmp, tmp + ".librarian-part", tmp + ".librarian-journal"})
        static_cast<void>(fs.remove(leftover));
    return [self, st, name] {
      auto it = self->state.repairs.find(name);
      if (it != self->state.repairs.end()) {
        it->second.downloading = false;
        it->second.asked_unix_ms = 0;
      }
      if (!st) {
        count(self, "corruption_fix_failed");
        LIB_LOG_WARN("replicator")
            << "corruption_fixer: fetching '" << name << "': " << st.err().describe();
        return;
      }
      // Re-hash what is there now: a match resolves the CorruptFile row.
      ask_librarian(
          self, caf::make_message(validate_atom_v, name),
          [self, name](const std::vector<lib::validation_item>& items) {
            bool ok = false;
            for (const auto& i : items)
              ok = ok || (i.librarian == self->state.env->config.name && i.match);
            if (ok) {
              self->state.repairs.erase(name);
              count(self, "corruption_fixed");
              LIB_LOG_INFO("replicator") << "corruption_fixer: repaired '" << name << "'";
            }
          },
          [](caf::error&) {});
    };
  });
}

// ============================================================================== SneakerNet

caf::typed_response_promise<clone_stage> sneaker_outgoing(self_ptr self, clone_stage req,
                                                          const std::vector<std::string>& paths) {
  auto rp = self->make_response_promise<clone_stage>();
  if (paths.size() != req.items.size() || req.items.size() > stage_items_max) {
    rp.deliver(make_error(errc::invalid_argument, "one instance path per file, at most " +
                                                      std::to_string(stage_items_max) + " files"));
    return rp;
  }
  std::vector<send_candidate> files;
  for (size_t i = 0; i < req.items.size(); ++i)
    files.push_back({req.items[i].name, req.items[i].size, req.items[i].checksum, paths[i]});
  storage::row_list rows;
  auto ids = self->state.rep->sneakernet_transfers(req.from, files, now_ms(self), rows);
  if (!ids) {
    rp.deliver(to_caf(ids.err()));
    return rp;
  }
  for (size_t i = 0; i < req.items.size(); ++i) req.items[i].source_id = (*ids)[i];
  count(self, "sneakernet_transfers", req.items.size());
  commit(self, std::move(rows), [rp, req]() mutable { rp.deliver(req); });
  return rp;
}

caf::typed_response_promise<clone_staged> sneaker_stage(self_ptr self, clone_stage req) {
  auto rp = self->make_response_promise<clone_staged>();
  if (!valid_node_name(req.from) || req.from == self->state.env->config.name ||
      req.items.size() > stage_items_max) {
    rp.deliver(make_error(errc::invalid_argument,
                          "the manifest's librarian_name must be another librarian's name, and a "
                          "call takes at most " +
                              std::to_string(stage_items_max) + " files"));
    return rp;
  }
  for (const auto& item : req.items)
    if (item.source_id == 0) {
      rp.deliver(make_error(errc::invalid_argument,
                            "'" + item.name +
                                "' has no outgoing_transfer_id: make the manifest with "
                                "get-store-manifest --destination-librarian"));
      return rp;
    }
  // A group of its own per call, so calls never wait on each other.
  req.batch_id = (static_cast<uint64_t>(now_ms(self)) << 8) | (self->state.sneaker_seq++ & 0xff);
  count(self, "sneakernet_stage_calls");
  stage_here(self, req, [rp](const clone_staged& answer) mutable { rp.deliver(answer); });
  return rp;
}

caf::typed_response_promise<clone_status> sneaker_staged(self_ptr self, const clone_status& msg) {
  auto rp = self->make_response_promise<clone_status>();
  clone_status news;
  news.from = msg.from;
  for (auto item : msg.items) {
    item.status = static_cast<uint8_t>(xfer_status::staged);  // all this call may say
    news.items.push_back(item);
  }
  storage::row_list rows;
  auto now = now_ms(self);
  // Its own answer (terminal statuses the source missed) is not needed: the caller gets every
  // status below.
  static_cast<void>(self->state.rep->on_source_status(news, now, rows));
  commit(self, std::move(rows), [self, rp, msg]() mutable {
    clone_status out;
    out.from = self->state.env->config.name;
    for (const auto& item : msg.items) {
      auto r = self->state.rep->incoming_by_source(msg.from, item.source_id);
      out.items.push_back({item.source_id, r ? r->id : 0, r ? r->status : status_unknown,
                           r ? r->message : "no such transfer here", 0});
    }
    rp.deliver(out);
  });
  return rp;
}

// ================================================================================= cancel

caf::typed_response_promise<uint64_t> cancel_peer(self_ptr self, const std::string& peer) {
  auto rp = self->make_response_promise<uint64_t>();
  storage::row_list rows;
  auto why = "cancelled by an operator (transfers to " + peer + ")";
  auto c = self->state.rep->cancel_to(peer, why, now_ms(self), rows);
  if (rows.empty()) {
    rp.deliver(uint64_t{0});
    return rp;
  }
  count(self, "transfers_cancelled", c.transfers);
  LIB_LOG_INFO("replicator") << "cancelled " << c.transfers << " transfers and " << c.batches
                             << " batches to " << peer;
  commit(self, std::move(rows), [self, rp, c, peer]() mutable {
    // The movers stop what still runs; the peer drops its stages (best effort: it may be gone).
    for (const auto& [mover_name, task] : c.tasks)
      if (auto mover = mover_for(self, mover_name))
        blocking(self).post([mover, task = task]() -> runner::continuation {
          static_cast<void>(mover->cancel(task));
          return {};
        });
    if (!c.notices.items.empty() && known_peer(self, peer))
      to_peer(self, peer, caf::make_message(c.notices));
    rp.deliver(c.transfers);
  });
  return rp;
}

// ==================================================== duplicate_remote_instance_hypervisor

// A pass over the remote instances, a committed page at a time, until it ends or its soft
// timeout: duplicates of one (file, peer) are deleted (the oldest stays) and the by-librarian
// index is made to match. The catalog never writes a duplicate itself (add_remote_instance keeps
// one row per pair); this repairs databases written otherwise (imports, older versions).
void dedupe_page(self_ptr self, uint32_t index, std::string cursor, int64_t started_ms) {
  const auto& t = self->state.env->config.background.duplicate_remote_instance_hypervisor.at(index);
  auto soft = t.soft_timeout_ms > 0 ? t.soft_timeout_ms : t.every_ms;
  ask_librarian(
      self, caf::make_message(dedupe_atom_v, cursor),
      [self, index, started_ms, soft](const lib::remote_dedupe_page& page) {
        if (page.removed > 0) {
          count(self, "remote_duplicates_removed", page.removed);
          LIB_LOG_WARN("replicator") << "duplicate_remote_instance_hypervisor: deleted "
                                     << page.removed << " duplicate remote instance rows";
        }
        if (page.index_repaired > 0) count(self, "remote_index_repaired", page.index_repaired);
        if (page.next.empty()) {
          self->state.dedupe_cursor.erase(index);
          return task_end(self, task_kind::duplicate_hypervisor, index, "ok");
        }
        self->state.dedupe_cursor[index] = page.next;
        if (now_ms(self) - started_ms > soft)  // the next run goes on from here
          return task_end(self, task_kind::duplicate_hypervisor, index, "soft_timeout");
        dedupe_page(self, index, page.next, started_ms);
      },
      [self, index](caf::error& err) {
        LIB_LOG_WARN("replicator")
            << "duplicate_remote_instance_hypervisor: " << from_caf(err).message;
        self->state.dedupe_cursor.erase(index);  // a bad cursor must not stick
        task_end(self, task_kind::duplicate_hypervisor, index, "failed");
      });
}

void run_duplicate_hypervisor(self_ptr self, uint32_t index) {
  dedupe_page(self, index, self->state.dedupe_cursor[index], now_ms(self));
}

// ================================================================================ behavior

void run_task(self_ptr self, task_kind kind, uint32_t index) {
  const auto& bg = self->state.env->config.background;
  int64_t every = 0;
  // A send_clone still paging keeps its run (the new one is counted as an overlap).
  if (kind != task_kind::send_clone || !self->state.send_busy.contains(index))
    task_begin(self, kind, index);
  switch (kind) {
    case task_kind::send_clone:
      every = bg.send_clone.at(index).every_ms;
      run_send_clone(self, index);
      break;
    case task_kind::consume_queue:
      every = bg.consume_queue.at(index).every_ms;
      run_consume_queue(self, index);
      break;
    case task_kind::check_consumed_queue:
      every = bg.check_consumed_queue.at(index).every_ms;
      run_check_consumed_queue(self, index);
      break;
    case task_kind::recv_clone:
      every = bg.recv_clone.at(index).every_ms;
      run_recv_clone(self, index);
      break;
    case task_kind::outgoing_hypervisor:
      every = bg.outgoing_transfer_hypervisor.at(index).every_ms;
      run_outgoing_hypervisor(self, index);
      break;
    case task_kind::incoming_hypervisor:
      every = bg.incoming_transfer_hypervisor.at(index).every_ms;
      run_incoming_hypervisor(self, index);
      break;
    case task_kind::create_local_clone:
      every = bg.create_local_clone.at(index).every_ms;
      run_create_local_clone(self, index);
      break;
    case task_kind::rolling_deletion:
      every = bg.rolling_deletion.at(index).every_ms;
      run_rolling_deletion(self, index);
      break;
    case task_kind::corruption_fixer:
      every = bg.corruption_fixer.at(index).every_ms;
      run_corruption_fixer(self, index);
      break;
    case task_kind::duplicate_hypervisor:
      every = bg.duplicate_remote_instance_hypervisor.at(index).every_ms;
      run_duplicate_hypervisor(self, index);
      break;
  }
  switch (kind) {
    // These decide from memory and send; their run is over when they return.
    case task_kind::consume_queue:
    case task_kind::check_consumed_queue:
    case task_kind::recv_clone:
    case task_kind::outgoing_hypervisor:
    case task_kind::incoming_hypervisor:
      task_end(self, kind, index, "ok");
      break;
    default:  // the others end when their catalog search has been answered and acted on
      break;
  }
  count(self, std::string{task_name(kind)} + "_runs");
  schedule(self, kind, index, every);
}

replicator_actor::behavior_type replicator_behavior(self_ptr self,
                                                    std::shared_ptr<node::node_env> env,
                                                    caf::actor node) {
  self->state.env = env;
  self->state.node = std::move(node);
  self->state.random.emplace(rng{env->seed}.fork("replicator"));
  self->state.rep.emplace(*env->db, env->config.name, env->config.replication);
  if (auto st = self->state.rep->load(); !st) {
    LIB_LOG_ERROR("replicator") << "cannot load replication state: " << st.err().message;
    self->quit(to_caf(st.err()));
  }
  // Every task runs once soon after start (the reference runs them all at start-up), then on its
  // period; a small stagger keeps them from firing in lockstep.
  const auto& bg = env->config.background;
  auto arm = [&](task_kind kind, size_t n) {
    for (uint32_t i = 0; i < n; ++i)
      schedule(self, kind, i, 50 + static_cast<int64_t>(jitter(self) * 200));
  };
  arm(task_kind::send_clone, bg.send_clone.size());
  arm(task_kind::consume_queue, bg.consume_queue.size());
  arm(task_kind::check_consumed_queue, bg.check_consumed_queue.size());
  arm(task_kind::recv_clone, bg.recv_clone.size());
  arm(task_kind::outgoing_hypervisor, bg.outgoing_transfer_hypervisor.size());
  arm(task_kind::incoming_hypervisor, bg.incoming_transfer_hypervisor.size());
  arm(task_kind::create_local_clone, bg.create_local_clone.size());
  arm(task_kind::rolling_deletion, bg.rolling_deletion.size());
  arm(task_kind::corruption_fixer, bg.corruption_fixer.size());
  arm(task_kind::duplicate_hypervisor, bg.duplicate_remote_instance_hypervisor.size());
  return {
      [=](clone_stage& m) { on_stage(self, m); },
      [=](clone_staged& m) {
        if (known_peer(self, m.from)) on_staged(self, m);
      },
      [=](clone_ticket_ask& m) { on_ticket_ask(self, m); },
      [=](clone_tickets& m) {
        if (known_peer(self, m.from)) on_tickets(self, m);
      },
      [=](clone_status& m) { on_peer_status(self, m); },
      [=](clone_probe& m) { on_probe(self, m); },
      [=](clone_verify& m) { on_verify(self, m); },
      [=](clone_fetch& m) { on_fetch(self, m); },
      [=](sneaker_atom, clone_stage& req, const std::vector<std::string>& paths) {
        return sneaker_outgoing(self, std::move(req), paths);
      },
      [=](sneaker_atom, clone_stage& req) { return sneaker_stage(self, std::move(req)); },
      [=](sneaker_atom, const clone_status& msg) { return sneaker_staged(self, msg); },
      [=](run_atom, uint8_t kind, uint32_t index) {
        if (kind > static_cast<uint8_t>(task_kind::duplicate_hypervisor)) return;
        run_task(self, static_cast<task_kind>(kind), index);
      },
      [=](cancel_atom, const std::string& peer) { return cancel_peer(self, peer); },
      [=](moved_atom, uint64_t token) {
        if (!self->state.blocking) return;
        if (auto c = self->state.blocking->take(token)) c();
      },
      [=](report_atom) -> replication_report {
        const auto& bg = self->state.env->config.background;
        int64_t out_age = 0, in_age = 0;
        if (!bg.outgoing_transfer_hypervisor.empty())
          out_age = static_cast<int64_t>(bg.outgoing_transfer_hypervisor.front().age_in_days *
                                         86'400'000.0);
        if (!bg.incoming_transfer_hypervisor.empty())
          in_age = static_cast<int64_t>(bg.incoming_transfer_hypervisor.front().age_in_days *
                                        86'400'000.0);
        auto r = self->state.rep->report(now_ms(self), out_age, in_age);
        for (const auto& [k, v] : self->state.counters) r.counters.push_back({k, v});
        for (const auto& [name, t] : self->state.timings) {
          task_summary ts{name, t.runs, t.micros_sum, t.micros_max, {}};
          for (const auto& [o, n] : t.outcomes) ts.outcomes.push_back({o, n});
          r.tasks.push_back(std::move(ts));
        }
        return r;
      },
      [=](depth_atom) { return static_cast<uint64_t>(self->mailbox().size()); },
      [=](committed_atom, uint64_t token, uint8_t code, std::string& message) {
        self->state.commits.on_committed(token, code, std::move(message));
      },
  };
}

}  // namespace

replicator_actor spawn_replicator(caf::local_actor* spawner, std::shared_ptr<node::node_env> env,
                                  caf::actor node) {
  return spawner->spawn(replicator_behavior, std::move(env), std::move(node));
}

}  // namespace librarian::transfer
