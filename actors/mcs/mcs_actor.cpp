// The MCS actor shell: one request -> one state machine call -> its rows to the group committer,
// and the reply only once they are durable (commit before announce). The one thing it adds is
// query --all-nodes: the same query sent to every peer's catalog through the transport, the
// answers merged, and a peer that does not answer in time reported instead of failing the query.
#include "actors/mcs/mcs_actor.hpp"

#include <caf/all.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "actors/mcs/dispatch.hpp"
#include "actors/mcs/mcs_state.hpp"
#include "actors/mcs/reader.hpp"
#include "actors/node/route.hpp"
#include "runtime/caf/commit_tracker.hpp"
#include "runtime/caf/error.hpp"
#include "runtime/log.hpp"

namespace librarian::mcs {
namespace {

using nlohmann::json;

constexpr int64_t fanout_timeout_ms_default = 3000;
// Below the HTTP API's 10 s wait for an actor, so a slow peer is reported rather than the whole
// request timing out.
constexpr int64_t fanout_timeout_ms_max = 8000;
constexpr size_t fanouts_in_flight_max = 1000;

// One query --all-nodes in flight: this node's answer and each peer's, until all are in or the
// deadline passes.
struct fanout {
  caf::typed_response_promise<std::string> promise;
  std::optional<json> local;
  std::map<std::string, json> answers;  // peer -> its reply, or {"error", "message"}
  std::set<std::string> waiting;
  int64_t timeout_ms = 0;
};

struct mcs_shell {
  std::shared_ptr<node::node_env> env;
  caf::actor node;
  std::optional<mcs_state> catalog;
  // Reading verbs read committed state through it, as the HTTP API's reads do (reader.hpp).
  std::unique_ptr<mcs_reader> reader;
  commit_tracker commits;
  std::map<uint64_t, fanout> fanouts;
  uint64_t next_fanout = 1;
  // The object cache's fill, while it runs (warm_step).
  int64_t warm_started_ms = 0;
  size_t warm_cached = 0;
};

using self_ptr = mcs_actor::stateful_pointer<mcs_shell>;

// One verb as the catalog runs it: writes on the catalog (their rows appended to `rows`), reads
// from committed state -- the catalog's overlay does not hold every pending write a read could
// need (overlay.hpp, set_write_only), and no client has been told of those yet anyway.
expected<std::string> run_verb(self_ptr self, const call_ctx& c, const std::string& verb,
                               const std::string& args, storage::batch& rows) {
  auto& st = self->state;
  if (!is_write_verb(verb)) return st.reader->read(c.who, verb, args);
  return dispatch(*st.catalog, c, verb, args, rows);
}

std::string json_text(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Every node's items (each tagged with its node), counts summed; `nodes` says per node what it
// answered or why it did not.
std::string merge_answers(const std::string& own_name, const fanout& f) {
  json items = json::array();
  json nodes = json::object();
  uint64_t count = 0;
  bool more = false;
  bool truncated = false;
  auto add = [&](const std::string& name, const json& answer) {
    if (answer.contains("error")) {
      nodes[name] = answer;
      return;
    }
    for (auto item : answer.value("items", json::array())) {
      item["node"] = name;
      items.push_back(std::move(item));
    }
    count += answer.value("count", uint64_t{0});
    more = more || answer.value("more", false);
    truncated = truncated || answer.value("truncated", false);
    nodes[name] = json{{"count", answer.value("count", uint64_t{0})},
                       {"more", answer.value("more", false)},
                       {"plan", answer.value("plan", std::string{})}};
  };
  add(own_name, *f.local);
  for (const auto& [peer, answer] : f.answers) add(peer, answer);
  return json_text(json{{"items", items},
                        {"count", count},
                        {"more", more},
                        {"truncated", truncated},
                        {"nodes", nodes}});
}

void finish_if_complete(self_ptr self, uint64_t token) {
  auto it = self->state.fanouts.find(token);
  if (it == self->state.fanouts.end() || !it->second.local || !it->second.waiting.empty()) return;
  it->second.promise.deliver(merge_answers(self->state.env->config.name, it->second));
  self->state.fanouts.erase(it);
}

json error_json(const error& e) {
  return json{{"error", std::string{name(e.code)}}, {"message", e.message}};
}

// query with "all_nodes": true. The local query answers as any query does (behind pending
// commits); every configured peer gets (mcs, origin, token, user, groups, arguments) and answers
// with (mcs, token, peer, code, reply). Peers run it as the same user name, never as an admin:
// each node's own grants decide what that user sees there.
caf::typed_response_promise<std::string> start_fanout(self_ptr self, const call_ctx& c, json args) {
  auto promise = self->make_response_promise<std::string>();
  int64_t timeout_ms = fanout_timeout_ms_default;
  if (args.contains("timeout_ms")) {
    const auto& t = args["timeout_ms"];
    if (!t.is_number_unsigned() || t.get<uint64_t>() < 1 ||
        t.get<uint64_t>() > static_cast<uint64_t>(fanout_timeout_ms_max)) {
      promise.deliver(to_caf(fail(errc::invalid_argument,
                                  "timeout_ms is 1 to " + std::to_string(fanout_timeout_ms_max))));
      return promise;
    }
    timeout_ms = t.get<int64_t>();
  }
  args.erase("all_nodes");
  args.erase("timeout_ms");
  auto& st = self->state;
  if (st.fanouts.size() >= fanouts_in_flight_max) {
    promise.deliver(
        to_caf(fail(errc::unavailable, "too many --all-nodes queries in flight; retry")));
    return promise;
  }
  auto text = json_text(args);
  storage::batch none;
  auto local = run_verb(self, c, "query", text, none);
  if (!local) {  // a bad query is refused here, before any peer is asked
    promise.deliver(to_caf(local.err()));
    return promise;
  }
  auto token = st.next_fanout++;
  auto& f = st.fanouts[token];
  f.promise = promise;
  f.timeout_ms = timeout_ms;
  const auto& own = st.env->config.name;
  for (const auto& peer : st.env->config.peers) {
    f.waiting.insert(peer.name);
    node::send_to_node(st.node, own, peer.name, "mcs",
                       caf::make_message(mcs_atom_v, own, token, c.who.user, c.who.groups, text));
  }
  // The local answer, like every reply, goes out behind the commits handed off before it.
  st.commits.submit(self, *st.env->committer, storage::batch{},
                    [self, token, reply = *local](const status& durable) {
                      auto it = self->state.fanouts.find(token);
                      if (it == self->state.fanouts.end()) return;
                      it->second.local =
                          durable ? json::parse(reply, nullptr, false) : error_json(durable.err());
                      finish_if_complete(self, token);
                    });
  self->delayed_send(self, std::chrono::milliseconds(timeout_ms), tick_atom_v, token);
  return promise;
}

// A peer's fan-out query: run it as that user (no admin rights), answer once what it read is
// durable. Only configured peers are answered.
void answer_peer(self_ptr self, const std::string& origin, uint64_t token, std::string user,
                 std::vector<std::string> groups, const std::string& args) {
  auto& st = self->state;
  bool known = false;
  for (const auto& peer : st.env->config.peers) known = known || peer.name == origin;
  if (!known) {
    LIB_LOG_WARN("mcs") << "ignored an all-nodes query from '" << origin
                        << "', which is not a configured peer";
    return;
  }
  call_ctx c{principal{std::move(user), std::move(groups), false},
             st.env->clock->now_unix_ms() * 1000};
  storage::batch none;
  auto reply = run_verb(self, c, "query", args, none);
  st.commits.submit(self, *st.env->committer, storage::batch{},
                    [self, origin, token, reply](const status& durable) {
                      const auto& own = self->state.env->config.name;
                      const auto answer = durable ? reply : expected<std::string>{durable.err()};
                      auto code = answer ? uint8_t{0} : static_cast<uint8_t>(answer.err().code);
                      auto body = answer ? *answer : answer.err().message;
                      node::send_to_node(
                          self->state.node, own, origin, "mcs",
                          caf::make_message(mcs_atom_v, token, own, code, std::move(body)));
                    });
}

void on_peer_answer(self_ptr self, uint64_t token, const std::string& peer, uint8_t code,
                    const std::string& body) {
  auto it = self->state.fanouts.find(token);
  if (it == self->state.fanouts.end() || it->second.waiting.erase(peer) == 0) return;  // late
  if (code != 0) {
    it->second.answers[peer] = error_json(fail(static_cast<errc>(code), body));
  } else {
    auto parsed = json::parse(body, nullptr, false);
    it->second.answers[peer] =
        parsed.is_object() ? parsed
                           : error_json(fail(errc::internal, "the peer's answer is not JSON"));
  }
  finish_if_complete(self, token);
}

void on_fanout_deadline(self_ptr self, uint64_t token) {
  auto it = self->state.fanouts.find(token);
  if (it == self->state.fanouts.end()) return;
  auto& f = it->second;
  for (const auto& peer : f.waiting)
    f.answers[peer] =
        error_json(fail(errc::unavailable, "no answer within " + std::to_string(f.timeout_ms) +
                                               " ms (the peer is down, unreachable or busy)"));
  f.waiting.clear();
  // The local answer may still wait behind a commit; it finishes the query when it comes.
  finish_if_complete(self, token);
}

// query --all-nodes is recognised without parsing every query: only a body naming it is parsed.
std::optional<json> all_nodes_args(const std::string& verb, const std::string& args) {
  if (verb != "query" || args.find("\"all_nodes\"") == std::string::npos) return std::nullopt;
  auto j = json::parse(args, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("all_nodes")) return std::nullopt;
  return j;
}

// Queries go on without the cache (they read every match from the db); the readers share it, so
// it is emptied too.
void drop_object_cache(self_ptr self) {
  self->state.catalog->use_object_cache(nullptr);
  self->state.env->mcs_objects->clear();
}

// Objects per step of the object cache's fill: about 50 ms each (a million took about a second
// in one go), so a request waits at most about that long behind a step.
constexpr size_t warm_step_objects = 50'000;

// One step of the fill; the next is a message to ourselves, so requests -- writes too -- are
// served between steps instead of waiting for the whole catalog to be read.
void warm_step(self_ptr self, uint64_t from_id) {
  auto& st = self->state;
  auto& catalog = *st.catalog;
  if (!catalog.caches_objects()) return;  // dropped meanwhile (a failed commit)
  auto step = catalog.warm_object_cache_step(from_id, warm_step_objects);
  if (!step) {
    LIB_LOG_WARN("mcs") << "object cache off: " << step.err().message;
    drop_object_cache(self);
    return;
  }
  st.warm_cached += step->cached;
  if (step->next_id) {
    self->send(self, run_atom_v, *step->next_id);
    return;
  }
  LIB_LOG_INFO("mcs") << "object cache filled: " << st.warm_cached << " of "
                      << catalog.object_count() << " objects in "
                      << st.env->clock->now_unix_ms() - st.warm_started_ms << " ms"
                      << (step->full ? " (mcs.object_cache_mb is full)" : "");
}

// Starts the fill once the start's barrier is through (see mcs_behavior).
void fill_object_cache(self_ptr self, const status& flushed) {
  if (!flushed) {
    LIB_LOG_WARN("mcs") << "object cache off: " << flushed.err().message;
    drop_object_cache(self);
    return;
  }
  self->state.warm_started_ms = self->state.env->clock->now_unix_ms();
  self->state.warm_cached = 0;
  warm_step(self, 0);
}

mcs_actor::behavior_type mcs_behavior(self_ptr self, std::shared_ptr<node::node_env> env,
                                      caf::actor node) {
  self->state.env = env;
  self->state.node = std::move(node);
  self->state.catalog.emplace(*env->db);
  self->state.reader = std::make_unique<mcs_reader>(*env->db, mcs_limits{}, env->mcs_objects);
  // Only a slower conjunction without it: worth a warning, not a failed start.
  if (auto tuned = tune_mcs_tables(*env->db); !tuned) LIB_LOG_WARN("mcs") << tuned.err().message;
  if (auto st = self->state.catalog->load(); !st) {
    LIB_LOG_ERROR("mcs") << "cannot load the metadata catalog: " << st.err().message;
    self->quit(to_caf(st.err()));  // typed behaviors cannot be empty; this one never runs
  } else if (env->mcs_objects) {
    // The cache is kept from now on, and filled once every batch handed to the committer before
    // now -- those of this actor's previous incarnation, if it was restarted -- is durable: the
    // fill reads snapshots, which must not miss a write that is still on its way. Until then it
    // is empty, and while the fill runs (in steps, between requests) partly so: readers read the
    // db for what it does not hold yet.
    env->mcs_objects->clear();
    self->state.catalog->use_object_cache(env->mcs_objects);
    self->state.commits.barrier(
        self, *env->committer, [self](const status& flushed) { fill_object_cache(self, flushed); });
  }
  return {
      [=](mcs_atom, std::string& user, std::vector<std::string>& groups, bool admin,
          const std::string& verb, const std::string& args) {
        auto& catalog = *self->state.catalog;
        // Timestamps come from the injected wall clock, so simulation controls them.
        call_ctx c{principal{std::move(user), std::move(groups), admin},
                   self->state.env->clock->now_unix_ms() * 1000};
        if (auto fan = all_nodes_args(verb, args)) {
          const auto& flag = (*fan)["all_nodes"];
          if (!flag.is_boolean()) {
            auto promise = self->make_response_promise<std::string>();
            promise.deliver(
                to_caf(fail(errc::invalid_argument, "argument 'all_nodes' must be true or false")));
            return promise;
          }
          if (flag.get<bool>()) return start_fanout(self, c, std::move(*fan));
          fan->erase("all_nodes");
          if (fan->contains("timeout_ms")) fan->erase("timeout_ms");
          storage::batch none;
          auto reply = run_verb(self, c, verb, json_text(*fan), none);
          return reply_after_commit(self, self->state.commits, *self->state.env->committer,
                                    storage::batch{}, std::move(reply));
        }
        storage::batch rows;
        auto reply = run_verb(self, c, verb, args, rows);
        // The node's own announcements get no answer anyone reads: say here when one fails.
        if (!reply && is_internal_verb(verb))
          LIB_LOG_WARN("mcs") << verb << " failed: " << reply.err().message;
        auto seq = catalog.last_seq();
        return reply_after_commit(self, self->state.commits, *self->state.env->committer,
                                  std::move(rows), std::move(reply),
                                  [self, seq] { self->state.catalog->committed(seq); });
      },
      [=](mcs_atom, const std::string& origin, uint64_t token, std::string& user,
          std::vector<std::string>& groups, const std::string& args) {
        answer_peer(self, origin, token, std::move(user), std::move(groups), args);
      },
      [=](mcs_atom, uint64_t token, const std::string& peer, uint8_t code,
          const std::string& body) { on_peer_answer(self, token, peer, code, body); },
      [=](tick_atom, uint64_t token) { on_fanout_deadline(self, token); },
      [=](run_atom, uint64_t from_id) { warm_step(self, from_id); },
      [=](depth_atom) { return static_cast<uint64_t>(self->mailbox().size()); },
      [=](committed_atom, uint64_t token, uint8_t code, std::string& message) {
        if (code != 0 && self->state.catalog->caches_objects()) {
          // The actor stops for this (reply_after_commit), but the continuations queued behind
          // the failed batch still run, and their committed() would cache the failed batch's rows
          // from the overlay. Readers share the cache: empty it now; the next incarnation fills
          // it again from the db.
          drop_object_cache(self);
        }
        self->state.commits.on_committed(token, code, std::move(message));
      },
  };
}

}  // namespace

mcs_actor spawn_mcs(caf::local_actor* spawner, std::shared_ptr<node::node_env> env) {
  // The spawner is the node actor: the fan-out reaches peers through it (node/route.hpp).
  return spawner->spawn(mcs_behavior, std::move(env), caf::actor_cast<caf::actor>(spawner));
}

}  // namespace librarian::mcs
