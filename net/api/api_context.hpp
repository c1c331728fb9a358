// Shared plumbing of the API routes: asking the node's actors without blocking, authentication,
// role checks and JSON body reading.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <caf/all.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "actors/node/interface.hpp"
#include "actors/node/node_env.hpp"
#include "net/http/auth.hpp"
#include "net/http/message.hpp"
#include "net/http/router.hpp"
#include "net/http/server.hpp"
#include "runtime/caf/error.hpp"
#include "runtime/fork_join.hpp"

namespace librarian::net {

struct caller {
  std::string name;
  http::role role = http::role::none;
};

// Users recently read from the users actor (role and password hash), so a Basic request whose
// password the verified cache already holds is authorized on the HTTP thread, without the round
// trip through the node and users actors and the KDF pool that dominated small requests
// (docs/benchmarks.md). API changes to a user forget it at once; a change made another way
// (the console) takes effect within ttl. Thread-safe; bounded to entries_max.
class recent_users {
 public:
  using clock = std::chrono::steady_clock;
  struct entry {
    std::string role;
    std::string password_hash;
    clock::time_point expires;
  };
  explicit recent_users(std::chrono::milliseconds ttl = std::chrono::milliseconds{1000},
                        size_t entries_max = 4096)
      : ttl_(ttl), entries_max_(entries_max) {}

  [[nodiscard]] std::optional<entry> find(const std::string& name, clock::time_point now) const {
    std::lock_guard lock{mutex_};
    auto it = entries_.find(name);
    if (it == entries_.end() || it->second.expires <= now) return std::nullopt;
    return it->second;
  }
  void remember(const std::string& name, std::string role, std::string password_hash,
                clock::time_point now) {
    std::lock_guard lock{mutex_};
    if (entries_.size() >= entries_max_ && !entries_.contains(name)) entries_.clear();
    entries_[name] = {std::move(role), std::move(password_hash), now + ttl_};
  }
  void forget(const std::string& name) {
    std::lock_guard lock{mutex_};
    entries_.erase(name);
  }

 private:
  const std::chrono::milliseconds ttl_;
  const size_t entries_max_;
  mutable std::mutex mutex_;  // guards entries_
  std::unordered_map<std::string, entry> entries_;
};

struct api_context {
  api_context(caf::actor_system& system, caf::actor node_actor, std::shared_ptr<node::node_env> e)
      : sys(system), node(std::move(node_actor)), env(std::move(e)) {}

  caf::actor_system& sys;
  caf::actor node;
  std::shared_ptr<node::node_env> env;
  http::verified_cache password_cache;
  recent_users users_seen;
  // The slow KDF runs here, never on an actor or an HTTP I/O thread.
  boost::asio::thread_pool kdf_pool{2};
  // Large reads split across these and the HTTP thread that serves them (bulk LFN queries).
  fork_join_pool read_pool{fork_join_pool::default_helpers(std::thread::hardware_concurrency())};
  std::chrono::milliseconds actor_timeout{10000};
  std::string dummy_hash;  // verified against for unknown users, so timing does not tell
  std::atomic<http::server*> server{nullptr};
};

using context_ptr = std::shared_ptr<api_context>;

// Sends (ask, ACTOR, payload) to the node from a one-shot actor; `on_reply` takes the reply's
// typed elements; errors answer the HTTP request with the mapped status, after `map_error`
// (for a route that can say more than the actor's own message).
struct keep_error {
  error operator()(error err) const { return err; }
};

template <class OnReply, class MapError = keep_error>
void ask_actor(const context_ptr& ctx, std::string actor, caf::message payload,
               const http::request& req, http::respond_fn respond, OnReply on_reply,
               MapError map_error = {}) {
  auto node = ctx->node;
  auto timeout = ctx->actor_timeout;
  auto request_id = req.request_id;
  ctx->sys.spawn([=](caf::event_based_actor* self) {
    self->request(node, timeout, atoms::ask_atom_v, actor, payload)
        .then(on_reply, [=](caf::error& err) {
          respond(http::error_response(map_error(from_caf(err)), request_id));
        });
  });
}

// Authenticates the request (Basic or Bearer), checks the caller has at least `need`, then
// calls `next`. Failures answer 401 (who are you?) or 403 (not allowed) and never say whether
// the addressed resource exists.
void authorize(const context_ptr& ctx, const http::request& req, http::respond_fn respond,
               http::role need, std::function<void(caller)> next);

// ADMIN, or the user named in the path acting on their own account.
void authorize_self_or_admin(const context_ptr& ctx, const http::request& req,
                             http::respond_fn respond, const std::string& user,
                             std::function<void(caller)> next);

// The body as a JSON object whose keys are all in `allowed`; otherwise an error to answer with.
[[nodiscard]] expected<nlohmann::json> read_json_object(const http::request& req,
                                                        std::initializer_list<const char*> allowed);
[[nodiscard]] expected<std::string> string_field(const nlohmann::json& body, const char* key,
                                                 bool required);

void add_user_routes(http::router& r, const context_ptr& ctx);
void add_node_routes(http::router& r, const context_ptr& ctx);
void add_rls_routes(http::router& r, const context_ptr& ctx);
void add_data_routes(http::router& r, const context_ptr& ctx);
void add_librarian_routes(http::router& r, const context_ptr& ctx);
void add_mcs_routes(http::router& r, const context_ptr& ctx);
void add_replication_routes(http::router& r, const context_ptr& ctx);

}  // namespace librarian::net
