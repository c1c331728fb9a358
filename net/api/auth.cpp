// Authentication and authorization of API requests against the users actor.
#include <optional>

#include <boost/asio/post.hpp>

#include "net/api/api_context.hpp"
#include "runtime/crypto/crypto.hpp"

namespace librarian::net {
namespace {

void unauthenticated(const http::request& req, const http::respond_fn& respond,
                     const std::string& why) {
  auto res = http::error_response(fail(errc::unauthenticated, why), req.request_id);
  res.headers.emplace_back("WWW-Authenticate", "Basic realm=\"librarian\", Bearer");
  respond(std::move(res));
}

void check_role(const http::request& req, const http::respond_fn& respond, http::role need,
                caller who, const std::function<void(caller)>& next) {
  if (!http::allows(who.role, need)) {
    respond(http::error_response(
        fail(errc::forbidden, "user '" + who.name + "' has role " +
                                  std::string{http::name(who.role)} + "; this needs " +
                                  std::string{http::name(need)} + " or higher"),
        req.request_id));
    return;
  }
  next(std::move(who));
}

caller caller_of(const node::user_record& user) {
  return {user.name, http::role_from_name(user.role).value_or(http::role::none)};
}

// The fast path: user and password both recently verified, so no hand-off at all.
std::optional<caller> recently_verified(const context_ptr& ctx,
                                        const http::basic_credentials& creds) {
  auto now = http::verified_cache::clock::now();
  auto seen = ctx->users_seen.find(creds.user, now);
  if (!seen || !ctx->password_cache.contains(creds.user, creds.password, seen->password_hash, now))
    return std::nullopt;
  return caller{creds.user, http::role_from_name(seen->role).value_or(http::role::none)};
}

// The slow path: the user's record from the users actor, the password through the KDF pool.
void authenticate_basic(const context_ptr& ctx, const http::request& req, http::respond_fn respond,
                        http::basic_credentials creds, std::function<void(caller)> next) {
  auto node = ctx->node;
  auto timeout = ctx->actor_timeout;
  ctx->sys.spawn([=](caf::event_based_actor* self) {
    auto name = creds.user;
    self->request(node, timeout, atoms::ask_atom_v, std::string{"users"},
                  caf::make_message(atoms::creds_atom_v, name))
        .then(
            [=](const node::user_record& user) {
              boost::asio::post(ctx->kdf_pool, [=] {
                auto now = http::verified_cache::clock::now();
                if (!ctx->password_cache.verify(creds.user, creds.password, user.password_hash,
                                                now))
                  return unauthenticated(req, respond, "wrong user name or password");
                ctx->users_seen.remember(user.name, user.role, user.password_hash, now);
                next(caller_of(user));
              });
            },
            [=](caf::error& err) {
              auto problem = from_caf(err);
              if (problem.code != errc::not_found)
                return respond(http::error_response(problem, req.request_id));
              // Spend the same KDF time as for a real user: timing must not reveal names.
              boost::asio::post(ctx->kdf_pool, [=] {
                static_cast<void>(crypto::verify_password(creds.password, ctx->dummy_hash));
                unauthenticated(req, respond, "wrong user name or password");
              });
            });
  });
}

void authenticate_bearer(const context_ptr& ctx, const http::request& req, http::respond_fn respond,
                         const std::string& token, std::function<void(caller)> next) {
  ask_actor(
      ctx, "users", caf::make_message(atoms::resolve_atom_v, crypto::sha256_hex(token)), req,
      [=](http::response res) {
        if (res.status == 401) return unauthenticated(req, respond, "unknown or expired token");
        respond(std::move(res));
      },
      [=](const node::user_record& user) { next(caller_of(user)); });
}

}  // namespace

void authorize(const context_ptr& ctx, const http::request& req, http::respond_fn respond,
               http::role need, std::function<void(caller)> next) {
  auto header = req.header("authorization").value_or("");
  auto creds = http::parse_authorization(header);
  const auto* basic = std::get_if<http::basic_credentials>(&creds);
  // Answered on this thread, before any continuation copies the request: most requests.
  if (basic) {
    if (auto who = recently_verified(ctx, *basic))
      return check_role(req, respond, need, std::move(*who), next);
  }
  auto checked = [=](caller who) { check_role(req, respond, need, std::move(who), next); };
  if (basic) return authenticate_basic(ctx, req, respond, *basic, checked);
  if (auto* bearer = std::get_if<http::bearer_credentials>(&creds))
    return authenticate_bearer(ctx, req, respond, bearer->token, checked);
  if (auto* bad = std::get_if<http::malformed_credentials>(&creds))
    return unauthenticated(req, respond, "malformed Authorization header: " + bad->reason);
  unauthenticated(req, respond, "this endpoint needs credentials (HTTP Basic or a bearer token)");
}

void authorize_self_or_admin(const context_ptr& ctx, const http::request& req,
                             http::respond_fn respond, const std::string& user,
                             std::function<void(caller)> next) {
  // NONE is a disabled account: it may not even manage itself.
  authorize(ctx, req, respond, http::role::readonly, [=](caller who) {
    if (who.role == http::role::admin || who.name == user) return next(std::move(who));
    respond(http::error_response(
        fail(errc::forbidden, "only an ADMIN may act on another user's account"), req.request_id));
  });
}

expected<nlohmann::json> read_json_object(const http::request& req,
                                          std::initializer_list<const char*> allowed) {
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(req.body.empty() ? std::string{"{}"} : req.body);
  } catch (const nlohmann::json::parse_error& e) {
    return fail(errc::invalid_argument, std::string{"the body is not valid JSON: "} + e.what());
  }
  if (!body.is_object()) return fail(errc::invalid_argument, "the body must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    bool known = false;
    for (const char* name : allowed) known = known || key == name;
    if (!known) return fail(errc::invalid_argument, "unknown field '" + key + "' in the body");
  }
  return body;
}

expected<std::string> string_field(const nlohmann::json& body, const char* key, bool required) {
  auto it = body.find(key);
  if (it == body.end()) {
    if (required)
      return fail(errc::invalid_argument, std::string{"field '"} + key + "' is required");
    return std::string{};
  }
  if (!it->is_string())
    return fail(errc::invalid_argument, std::string{"field '"} + key + "' must be a string");
  return it->get<std::string>();
}

}  // namespace librarian::net
