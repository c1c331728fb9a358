#include "actors/node/users_actor.hpp"

#include <caf/all.hpp>

#include "actors/node/users_state.hpp"
#include "runtime/caf/commit_tracker.hpp"
#include "runtime/caf/error.hpp"
#include "runtime/log.hpp"

namespace librarian::node {
namespace {

struct users_shell {
  std::shared_ptr<node_env> env;
  users_state users;
  commit_tracker commits;
};

using self_ptr = users_actor::stateful_pointer<users_shell>;

template <class T>
caf::typed_response_promise<T> reply_after_commit(self_ptr self, storage::batch rows,
                                                  expected<T> outcome) {
  return librarian::reply_after_commit(self, self->state.commits, *self->state.env->committer,
                                       std::move(rows), std::move(outcome));
}

users_actor::behavior_type users_behavior(self_ptr self, std::shared_ptr<node_env> env) {
  self->state.env = env;
  auto& db = *env->db;
  self->state.users.bind_tables(db.get_table(users_table), db.get_table(tokens_table));
  if (auto st = self->state.users.load(db, env->tuning.load_page_rows); !st) {
    LIB_LOG_ERROR("users") << "cannot load the user table: " << st.err().message;
    // Typed behaviors cannot be empty: quit now and return the behavior, which never runs.
    self->quit(to_caf(st.err()));
  }
  LIB_LOG_DEBUG("users") << "loaded " << self->state.users.user_count() << " users";
  auto now = [env] { return env->clock->now_unix_ms(); };
  auto& users = self->state.users;
  return {
      [=, &users](create_atom, const user_record& user) {
        storage::batch rows;
        auto outcome = users.create(user, now(), rows);
        return reply_after_commit(self, std::move(rows), std::move(outcome));
      },
      [=, &users](remove_atom, const std::string& name) {
        storage::batch rows;
        auto outcome = users.remove(name, rows);
        return reply_after_commit(self, std::move(rows), std::move(outcome));
      },
      [=, &users](passwd_atom, const std::string& name, const std::string& hash) {
        storage::batch rows;
        auto outcome = users.set_password(name, hash, now(), rows);
        return reply_after_commit(self, std::move(rows), std::move(outcome));
      },
      [=, &users](role_atom, const std::string& name, const std::string& role) {
        storage::batch rows;
        auto outcome = users.set_role(name, role, rows);
        return reply_after_commit(self, std::move(rows), std::move(outcome));
      },
      [=, &users](lookup_atom, const std::string& name) {
        auto found = users.find(name);
        expected<user_info> outcome =
            found ? expected<user_info>{public_view(*found)} : expected<user_info>{found.err()};
        return reply_after_commit(self, storage::batch{}, std::move(outcome));
      },
      [=, &users](list_atom) {
        return reply_after_commit(self, storage::batch{},
                                  expected<std::vector<user_info>>{users.list()});
      },
      [=, &users](creds_atom, const std::string& name) {
        return reply_after_commit(self, storage::batch{}, users.find(name));
      },
      [=, &users](token_atom, const token_record& token) {
        storage::batch rows;
        auto outcome = users.add_token(token, now(), rows);
        return reply_after_commit(self, std::move(rows), std::move(outcome));
      },
      [=, &users](resolve_atom, const std::string& token_sha256) {
        return reply_after_commit(self, storage::batch{}, users.resolve_token(token_sha256, now()));
      },
      [=, &users](bootstrap_atom, const user_record& admin) {
        storage::batch rows;
        auto outcome = users.bootstrap(admin, now(), rows);
        return reply_after_commit(self, std::move(rows), std::move(outcome));
      },
      [=](depth_atom) { return static_cast<uint64_t>(self->mailbox().size()); },
      [=](committed_atom, uint64_t token, uint8_t code, std::string& message) {
        self->state.commits.on_committed(token, code, std::move(message));
      },
  };
}

}  // namespace

users_actor spawn_users(caf::local_actor* spawner, std::shared_ptr<node_env> env) {
  return spawner->spawn(users_behavior, std::move(env));
}

}  // namespace librarian::node
