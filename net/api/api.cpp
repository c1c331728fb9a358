#include "net/api/api.hpp"

#include "net/api/api_context.hpp"
#include "runtime/crypto/crypto.hpp"

namespace librarian::net {
namespace {

class http_api_server final : public api_server {
 public:
  http_api_server(context_ptr ctx, std::unique_ptr<http::server> server)
      : ctx_(std::move(ctx)), server_(std::move(server)) {
    ctx_->server.store(server_.get());
  }
  ~http_api_server() override { stop(); }
  [[nodiscard]] uint16_t port() const override { return server_->port(); }
  void stop() override {
    server_->stop();
    ctx_->kdf_pool.join();
  }

 private:
  context_ptr ctx_;
  std::unique_ptr<http::server> server_;
};

}  // namespace

expected<std::unique_ptr<api_server>> start_api_server(caf::actor_system& sys, caf::actor node,
                                                       std::shared_ptr<node::node_env> env) {
  const auto& cfg = env->config;
  if (cfg.listen.http_port == 0) return std::unique_ptr<api_server>{};
  auto ctx = std::make_shared<api_context>(sys, std::move(node), env);
  ctx->actor_timeout = std::chrono::milliseconds(cfg.http.request_timeout_ms);
  ctx->dummy_hash = crypto::hash_password("not a real password", cfg.auth.kdf_iterations);
  http::router routes;
  add_node_routes(routes, ctx);
  add_user_routes(routes, ctx);
  add_rls_routes(routes, ctx);
  add_data_routes(routes, ctx);
  add_librarian_routes(routes, ctx);
  add_mcs_routes(routes, ctx);
  add_replication_routes(routes, ctx);
  http::server_options options;
  options.bind_address = cfg.listen.host;
  options.port = cfg.listen.http_port;
  options.threads = cfg.http.threads;
  options.body_max_bytes = cfg.http.body_max_bytes;
  options.read_timeout = std::chrono::milliseconds(cfg.http.read_timeout_ms);
  // The handler timeout sits just above the actor timeout so actors' own timeouts answer first.
  options.handler_timeout = std::chrono::milliseconds(cfg.http.request_timeout_ms + 1000);
  options.connections_max = cfg.http.connections_max;
  auto server = http::server::start(options, routes.as_handler());
  if (!server) {
    auto err = server.err();
    err.message += " (listen.http_port in " + cfg.source + ")";
    return err;
  }
  return std::unique_ptr<api_server>{std::make_unique<http_api_server>(ctx, std::move(*server))};
}

}  // namespace librarian::net
