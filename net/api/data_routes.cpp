// /api/v1/data: the control plane of the native data channel. A client asks here (authenticated,
// role-checked) for a ticket to put or get one path under the node's data roots, then moves the
// bytes on the data port with that ticket. stat/list/mkdir serve `librarian copy`'s -sync, -r and
// -cd.
#include <sys/stat.h>

#include <boost/asio/post.hpp>
#include <filesystem>
#include <system_error>

#include "net/api/api_context.hpp"
#include "net/data/checksum.hpp"
#include "net/data/confine.hpp"
#include "net/data/tickets.hpp"

namespace librarian::net {
namespace {

namespace fs = std::filesystem;
using http::path_params;
using http::request;
using http::respond_fn;
using http::role;

constexpr size_t list_entries_max = 100000;

void answer_error(const request& req, const respond_fn& respond, const error& err) {
  respond(http::error_response(err, req.request_id));
}

expected<uint64_t> uint_field(const nlohmann::json& body, const char* key, uint64_t fallback) {
  auto it = body.find(key);
  if (it == body.end()) return fallback;
  if (!it->is_number_unsigned())
    return fail(errc::invalid_argument,
                std::string{"field '"} + key + "' must be a non-negative integer");
  return it->get<uint64_t>();
}

expected<bool> bool_field(const nlohmann::json& body, const char* key, bool fallback) {
  auto it = body.find(key);
  if (it == body.end()) return fallback;
  if (!it->is_boolean())
    return fail(errc::invalid_argument, std::string{"field '"} + key + "' must be true or false");
  return it->get<bool>();
}

expected<fs::path> confined(const context_ptr& ctx, const std::string& path) {
  return data::confine_path(ctx->env->config.data.roots, path);
}

int64_t mtime_of(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec);
}

nlohmann::json stat_json(const struct stat& st) {
  return {{"exists", true},
          {"type", S_ISDIR(st.st_mode)   ? "dir"
                   : S_ISREG(st.st_mode) ? "file"
                                         : "other"},
          {"size", static_cast<uint64_t>(st.st_size)},
          {"mtime", mtime_of(st)}};
}

void issue_ticket(const context_ptr& ctx, const request& req, respond_fn respond, caller who,
                  const nlohmann::json& body, data::ticket_grant grant) {
  auto checked = confined(ctx, grant.path.string());
  if (!checked) return answer_error(req, respond, checked.err());
  grant.path = *checked;
  struct stat st {};
  const bool exists = ::lstat(grant.path.c_str(), &st) == 0;
  if (grant.tree) {
    // A tree ticket names a directory; its files are checked one by one as they are asked for.
    auto create_dirs = bool_field(body, "create_dirs", false);
    if (!create_dirs) return answer_error(req, respond, create_dirs.err());
    std::error_code ec;
    if (grant.mode == data::ticket_mode::put && *create_dirs)
      fs::create_directories(grant.path, ec);
    if (!fs::is_directory(grant.path, ec))
      return answer_error(
          req, respond,
          fail(errc::not_found, grant.path.string() + " is not a directory on this node"));
  } else if (grant.mode == data::ticket_mode::get) {
    if (!exists || !S_ISREG(st.st_mode))
      return answer_error(
          req, respond,
          fail(errc::not_found, grant.path.string() + " is not a regular file on this node"));
  } else {
    if (exists && !S_ISREG(st.st_mode))
      return answer_error(
          req, respond,
          fail(errc::conflict, grant.path.string() + " exists and is not a regular file"));
    auto create_dirs = bool_field(body, "create_dirs", false);
    if (!create_dirs) return answer_error(req, respond, create_dirs.err());
    std::error_code ec;
    if (*create_dirs) fs::create_directories(grant.path.parent_path(), ec);
    if (!fs::is_directory(grant.path.parent_path(), ec))
      return answer_error(
          req, respond,
          fail(errc::not_found, "directory " + grant.path.parent_path().string() +
                                    " does not exist (create it, or pass create_dirs / -cd)"));
  }
  const auto& cfg = ctx->env->config.data;
  grant.user = who.name;
  grant.ttl = std::chrono::seconds(cfg.ticket_ttl_s);
  auto ticket = ctx->env->data_tickets->issue(grant);
  if (!ticket) return answer_error(req, respond, ticket.err());
  nlohmann::json out = {{"ticket", *ticket},
                        {"host", ctx->env->config.listen.host},
                        {"data_port", ctx->env->data_port},
                        {"path", grant.path.string()},
                        {"expires_s", cfg.ticket_ttl_s}};
  if (exists) out["size"] = static_cast<uint64_t>(st.st_size);
  respond(http::json_response(201, out));
}

void post_ticket(const context_ptr& ctx, const request& req, respond_fn respond) {
  if (!ctx->env->data_tickets)
    return answer_error(
        req, respond,
        fail(errc::unavailable, "this node's data channel is off (listen.data_port is 0)"));
  auto body = read_json_object(req, {"mode", "path", "size", "offset", "length", "checksum_alg",
                                     "expected_checksum", "create_dirs", "tree"});
  if (!body) return answer_error(req, respond, body.err());
  auto mode = string_field(*body, "mode", true);
  auto path = string_field(*body, "path", true);
  if (!mode) return answer_error(req, respond, mode.err());
  if (!path) return answer_error(req, respond, path.err());
  if (*mode != "put" && *mode != "get")
    return answer_error(req, respond,
                        fail(errc::invalid_argument, "field 'mode' must be \"put\" or \"get\""));
  data::ticket_grant grant;
  grant.mode = *mode == "put" ? data::ticket_mode::put : data::ticket_mode::get;
  grant.path = *path;
  auto size = uint_field(*body, "size", 0);
  auto offset = uint_field(*body, "offset", 0);
  if (!size) return answer_error(req, respond, size.err());
  if (!offset) return answer_error(req, respond, offset.err());
  auto tree = bool_field(*body, "tree", false);
  if (!tree) return answer_error(req, respond, tree.err());
  grant.tree = *tree;
  if (grant.mode == data::ticket_mode::put && !grant.tree && !body->contains("size"))
    return answer_error(req, respond,
                        fail(errc::invalid_argument, "a put ticket needs the field 'size'"));
  grant.size = *size;
  grant.offset = *offset;
  if (body->contains("length")) {
    auto length = uint_field(*body, "length", 0);
    if (!length) return answer_error(req, respond, length.err());
    grant.length = *length;
  }
  auto alg = string_field(*body, "checksum_alg", false);
  if (!alg) return answer_error(req, respond, alg.err());
  if (!alg->empty()) {
    auto parsed = data::parse_checksum_alg(*alg);
    if (!parsed) return answer_error(req, respond, parsed.err());
    grant.alg = *parsed;
  }
  auto want = string_field(*body, "expected_checksum", false);
  if (!want) return answer_error(req, respond, want.err());
  if (!want->empty()) {
    auto parsed = data::parse_checksum(*want);
    if (!parsed) return answer_error(req, respond, parsed.err());
    grant.expected_checksum = data::format_checksum(parsed->alg, parsed->hex);
  }
  const role need = grant.mode == data::ticket_mode::put ? role::readwrite : role::readonly;
  authorize(ctx, req, respond, need, [=, body = *body](caller who) mutable {
    issue_ticket(ctx, req, respond, std::move(who), body, std::move(grant));
  });
}

void get_stat(const context_ptr& ctx, const request& req, respond_fn respond) {
  authorize(ctx, req, respond, role::readonly, [=](caller) {
    auto it = req.query.find("path");
    if (it == req.query.end())
      return answer_error(req, respond,
                          fail(errc::invalid_argument, "query parameter 'path' is required"));
    auto path = confined(ctx, it->second);
    if (!path) return answer_error(req, respond, path.err());
    struct stat st {};
    if (::stat(path->c_str(), &st) != 0)
      return respond(http::json_response(200, {{"exists", false}}));
    auto out = stat_json(st);
    auto alg_it = req.query.find("checksum");
    if (alg_it == req.query.end() || !S_ISREG(st.st_mode))
      return respond(http::json_response(200, out));
    auto alg = data::parse_checksum_alg(alg_it->second);
    if (!alg) return answer_error(req, respond, alg.err());
    // Hashing a large file takes seconds: off the HTTP I/O threads.
    boost::asio::post(ctx->kdf_pool, [=, p = *path, a = *alg]() mutable {
      auto sum = data::checksum_file(p, a);
      if (!sum) return answer_error(req, respond, sum.err());
      out["checksum"] = data::format_checksum(a, *sum);
      respond(http::json_response(200, out));
    });
  });
}

void get_list(const context_ptr& ctx, const request& req, respond_fn respond) {
  authorize(ctx, req, respond, role::readonly, [=](caller) {
    auto it = req.query.find("path");
    if (it == req.query.end())
      return answer_error(req, respond,
                          fail(errc::invalid_argument, "query parameter 'path' is required"));
    auto dir = confined(ctx, it->second);
    if (!dir) return answer_error(req, respond, dir.err());
    std::error_code ec;
    if (!fs::is_directory(*dir, ec))
      return answer_error(req, respond,
                          fail(errc::not_found, dir->string() + " is not a directory"));
    nlohmann::json entries = nlohmann::json::array();
    // Symlinks are listed as "other" and never followed: a listing must not leave the root.
    for (auto walk = fs::recursive_directory_iterator(
             *dir, fs::directory_options::skip_permission_denied, ec);
         !ec && walk != fs::recursive_directory_iterator(); walk.increment(ec)) {
      if (entries.size() >= list_entries_max)
        return answer_error(req, respond,
                            fail(errc::invalid_argument,
                                 "more than " + std::to_string(list_entries_max) +
                                     " entries under " + dir->string() + "; copy a smaller tree"));
      struct stat st {};
      if (::lstat(walk->path().c_str(), &st) != 0) continue;
      auto e = stat_json(st);
      if (S_ISLNK(st.st_mode)) e["type"] = "other";
      e["path"] = walk->path().lexically_relative(*dir).string();
      entries.push_back(std::move(e));
    }
    if (ec)
      return answer_error(
          req, respond,
          fail(errc::unavailable, "cannot list " + dir->string() + ": " + ec.message()));
    respond(http::json_response(200, {{"path", dir->string()}, {"entries", std::move(entries)}}));
  });
}

void post_mkdir(const context_ptr& ctx, const request& req, respond_fn respond) {
  auto body = read_json_object(req, {"path"});
  if (!body) return answer_error(req, respond, body.err());
  auto path = string_field(*body, "path", true);
  if (!path) return answer_error(req, respond, path.err());
  authorize(ctx, req, respond, role::readwrite, [=, p = *path](caller) {
    auto dir = confined(ctx, p);
    if (!dir) return answer_error(req, respond, dir.err());
    std::error_code ec;
    fs::create_directories(*dir, ec);
    if (ec)
      return answer_error(
          req, respond,
          fail(errc::unavailable, "cannot create " + dir->string() + ": " + ec.message()));
    respond(http::json_response(200, {{"path", dir->string()}}));
  });
}

}  // namespace

void add_data_routes(http::router& r, const context_ptr& ctx) {
  r.add("POST", "/api/v1/data/tickets",
        [ctx](request req, path_params, respond_fn respond) { post_ticket(ctx, req, respond); });
  r.add("GET", "/api/v1/data/stat",
        [ctx](request req, path_params, respond_fn respond) { get_stat(ctx, req, respond); });
  r.add("GET", "/api/v1/data/list",
        [ctx](request req, path_params, respond_fn respond) { get_list(ctx, req, respond); });
  r.add("POST", "/api/v1/data/mkdir",
        [ctx](request req, path_params, respond_fn respond) { post_mkdir(ctx, req, respond); });
}

}  // namespace librarian::net
