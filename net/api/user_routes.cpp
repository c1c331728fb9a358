// /api/v1/users: user management (ADMIN), self-service password changes and tokens.
#include <boost/asio/post.hpp>

#include "actors/node/users_state.hpp"
#include "net/api/api_context.hpp"
#include "runtime/crypto/crypto.hpp"

namespace librarian::net {
namespace {

using http::path_params;
using http::request;
using http::respond_fn;
using http::role;

nlohmann::json to_json(const node::user_info& user) {
  return {{"name", user.name}, {"role", user.role}, {"created_unix_ms", user.created_unix_ms}};
}

void answer_user(const context_ptr& ctx, std::string actor_name, caf::message payload,
                 const request& req, const respond_fn& respond, int status_ok) {
  ask_actor(ctx, std::move(actor_name), std::move(payload), req, respond,
            [=](const node::user_info& user) {
              ctx->password_cache.forget_user(user.name);
              ctx->users_seen.forget(user.name);
              respond(http::json_response(status_ok, to_json(user)));
            });
}

void bad_request(const request& req, const respond_fn& respond, const error& err) {
  respond(http::error_response(err, req.request_id));
}

void create_user(const context_ptr& ctx, const request& req, const respond_fn& respond) {
  authorize(ctx, req, respond, role::admin, [=](caller) {
    auto body = read_json_object(req, {"name", "password", "role"});
    if (!body) return bad_request(req, respond, body.err());
    auto name = string_field(*body, "name", true);
    auto password = string_field(*body, "password", true);
    auto role_name = string_field(*body, "role", true);
    for (auto* field : {&name, &password, &role_name})
      if (!*field) return bad_request(req, respond, field->err());
    auto role_value = http::role_from_name(*role_name);
    if (!role_value) return bad_request(req, respond, node::validate_role(*role_name).err());
    for (auto st : {node::validate_user_name(*name), node::validate_password(*password)})
      if (!st) return bad_request(req, respond, st.err());
    boost::asio::post(ctx->kdf_pool, [=] {
      node::user_record user{*name, std::string{http::name(*role_value)},
                             crypto::hash_password(*password, ctx->env->config.auth.kdf_iterations),
                             0, 0};
      answer_user(ctx, "users", caf::make_message(atoms::create_atom_v, std::move(user)), req,
                  respond, 201);
    });
  });
}

void change_password(const context_ptr& ctx, const request& req, const std::string& name,
                     const respond_fn& respond) {
  authorize_self_or_admin(ctx, req, respond, name, [=](caller) {
    auto body = read_json_object(req, {"password"});
    if (!body) return bad_request(req, respond, body.err());
    auto password = string_field(*body, "password", true);
    if (!password) return bad_request(req, respond, password.err());
    if (auto st = node::validate_password(*password); !st)
      return bad_request(req, respond, st.err());
    boost::asio::post(ctx->kdf_pool, [=] {
      auto hash = crypto::hash_password(*password, ctx->env->config.auth.kdf_iterations);
      answer_user(ctx, "users", caf::make_message(atoms::passwd_atom_v, name, hash), req, respond,
                  200);
    });
  });
}

void set_role(const context_ptr& ctx, const request& req, const std::string& name,
              const respond_fn& respond) {
  authorize(ctx, req, respond, role::admin, [=](caller who) {
    // Keeps a node from locking out its last administrator by accident.
    if (who.name == name)
      return bad_request(req, respond, fail(errc::conflict, "you cannot change your own role"));
    auto body = read_json_object(req, {"role"});
    if (!body) return bad_request(req, respond, body.err());
    auto role_name = string_field(*body, "role", true);
    if (!role_name) return bad_request(req, respond, role_name.err());
    auto role_value = http::role_from_name(*role_name);
    if (!role_value) return bad_request(req, respond, node::validate_role(*role_name).err());
    answer_user(ctx, "users",
                caf::make_message(atoms::role_atom_v, name, std::string{http::name(*role_value)}),
                req, respond, 200);
  });
}

void create_token(const context_ptr& ctx, const request& req, const std::string& name,
                  const respond_fn& respond) {
  authorize_self_or_admin(ctx, req, respond, name, [=](caller) {
    auto body = read_json_object(req, {"ttl_seconds"});
    if (!body) return bad_request(req, respond, body.err());
    auto ttl_max_s = ctx->env->config.auth.token_ttl_max_s;
    int64_t ttl_s = std::min<int64_t>(ttl_max_s, 30LL * 24 * 3600);
    if (body->contains("ttl_seconds")) {
      const auto& ttl = (*body)["ttl_seconds"];
      if (!ttl.is_number_integer() || ttl.get<int64_t>() < 60 || ttl.get<int64_t>() > ttl_max_s)
        return bad_request(
            req, respond,
            fail(errc::invalid_argument,
                 "ttl_seconds must be an integer from 60 to " + std::to_string(ttl_max_s)));
      ttl_s = ttl.get<int64_t>();
    }
    auto token = crypto::random_token(32);
    auto expires = ctx->env->clock->now_unix_ms() + ttl_s * 1000;
    node::token_record record{crypto::sha256_hex(token), name, 0, expires};
    ask_actor(ctx, "users", caf::make_message(atoms::token_atom_v, record), req, respond,
              [=](const node::token_record& stored) {
                respond(http::json_response(201, {{"token", token},
                                                  {"user", stored.user},
                                                  {"expires_unix_ms", stored.expires_unix_ms}}));
              });
  });
}

}  // namespace

void add_user_routes(http::router& r, const context_ptr& ctx) {
  r.add("GET", "/api/v1/users", [ctx](request req, path_params, respond_fn respond) {
    authorize(ctx, req, respond, role::admin, [=](caller) {
      ask_actor(ctx, "users", caf::make_message(atoms::list_atom_v), req, respond,
                [=](const std::vector<node::user_info>& users) {
                  auto list = nlohmann::json::array();
                  for (const auto& user : users) list.push_back(to_json(user));
                  respond(http::json_response(200, {{"users", list}}));
                });
    });
  });
  r.add("POST", "/api/v1/users",
        [ctx](request req, path_params, respond_fn respond) { create_user(ctx, req, respond); });
  r.add("GET", "/api/v1/users/{name}", [ctx](request req, path_params p, respond_fn respond) {
    auto name = p["name"];
    authorize_self_or_admin(ctx, req, respond, name, [=](caller) {
      answer_user(ctx, "users", caf::make_message(atoms::lookup_atom_v, name), req, respond, 200);
    });
  });
  r.add("DELETE", "/api/v1/users/{name}", [ctx](request req, path_params p, respond_fn respond) {
    auto name = p["name"];
    authorize(ctx, req, respond, role::admin, [=](caller who) {
      if (who.name == name)
        return bad_request(req, respond,
                           fail(errc::conflict, "you cannot delete your own account"));
      answer_user(ctx, "users", caf::make_message(atoms::remove_atom_v, name), req, respond, 200);
    });
  });
  r.add("PUT", "/api/v1/users/{name}/password",
        [ctx](request req, path_params p, respond_fn respond) {
          change_password(ctx, req, p["name"], respond);
        });
  r.add("PUT", "/api/v1/users/{name}/role", [ctx](request req, path_params p, respond_fn respond) {
    set_role(ctx, req, p["name"], respond);
  });
  r.add("POST", "/api/v1/users/{name}/tokens",
        [ctx](request req, path_params p, respond_fn respond) {
          create_token(ctx, req, p["name"], respond);
        });
}

}  // namespace librarian::net
