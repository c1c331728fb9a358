// The librarian over HTTP: uploads (stage, commit, cancel), files (get, best instance, search,
// validate), errors, stores and peer librarians. Every route checks its role before it reads
// anything, so a caller without rights learns nothing about what exists. Names travel in JSON
// bodies and query strings, never in the path: file names contain '/'.
#include <filesystem>

#include "actors/librarian/interface.hpp"
#include "net/api/api_context.hpp"
#include "net/data/checksum.hpp"
#include "net/data/tickets.hpp"

namespace librarian::net {

// docs/openapi.yaml, embedded at build time (net/api/openapi_document.cpp.in).
extern const std::string_view openapi_document;

namespace {

using http::path_params;
using http::request;
using http::respond_fn;
using http::role;
using json = nlohmann::json;

constexpr const char* librarian_name = "librarian";

void bad_request(const request& req, const respond_fn& respond, const error& err) {
  respond(http::error_response(err, req.request_id));
}

// Typed reads of body fields; the first problem is kept and reported.
class fields {
 public:
  explicit fields(const json& body) : body_(body) {}

  std::string text(const char* key, bool required = false) {
    auto out = string_field(body_, key, required);
    if (!out) return note(out.err()), std::string{};
    return *out;
  }
  uint64_t count(const char* key, bool required = false) {
    auto it = body_.find(key);
    if (it == body_.end()) {
      if (required)
        note(fail(errc::invalid_argument, std::string{"field '"} + key + "' is required"));
      return 0;
    }
    if (!it->is_number_unsigned())
      return note(fail(errc::invalid_argument,
                       std::string{"field '"} + key + "' must be a non-negative integer")),
             0;
    return it->get<uint64_t>();
  }
  int64_t time_ms(const char* key) {
    auto it = body_.find(key);
    if (it == body_.end()) return 0;
    if (!it->is_number_integer() || it->get<int64_t>() < 0)
      return note(fail(errc::invalid_argument,
                       std::string{"field '"} + key + "' must be a non-negative integer (ms)")),
             0;
    return it->get<int64_t>();
  }
  bool flag(const char* key, bool fallback, bool required = false) {
    auto it = body_.find(key);
    if (it == body_.end()) {
      if (required)
        note(fail(errc::invalid_argument, std::string{"field '"} + key + "' is required"));
      return fallback;
    }
    if (!it->is_boolean())
      return note(fail(errc::invalid_argument,
                       std::string{"field '"} + key + "' must be a boolean")),
             fallback;
    return it->get<bool>();
  }
  // An array of 1..max objects, each read with its own `fields` by `each` (which may note
  // problems through the fields it is given; the first one, prefixed by the item's index, wins).
  template <class Each>
  void objects(const char* key, size_t max, Each each) {
    auto it = body_.find(key);
    if (it == body_.end() || !it->is_array() || it->empty() || it->size() > max)
      return note(fail(errc::invalid_argument, std::string{"field '"} + key +
                                                   "' must be an array of 1 to " +
                                                   std::to_string(max) + " objects"));
    for (size_t i = 0; i < it->size(); ++i) {
      const auto& item = (*it)[i];
      if (!item.is_object())
        return note(fail(errc::invalid_argument,
                         std::string{key} + "[" + std::to_string(i) + "] is not an object"));
      fields f{item};
      each(f, item);
      if (f.problem())
        return note(fail(f.problem()->code, std::string{key} + "[" + std::to_string(i) +
                                                "]: " + f.problem()->message));
    }
  }
  void refuse(error e) { note(std::move(e)); }
  [[nodiscard]] const std::optional<error>& problem() const { return problem_; }

 private:
  void note(error e) {
    if (!problem_) problem_ = std::move(e);
  }
  const json& body_;
  std::optional<error> problem_;
};

json to_json(const lib::instance_info& i) {
  return {{"id", i.id},
          {"store", i.store},
          {"path", i.path},
          {"available", i.available},
          {"deletion_policy", i.deletion_policy},
          {"created_unix_ms", i.created_unix_ms},
          {"cached_checksum", i.cached_checksum},
          {"checksum_unix_ms", i.checksum_unix_ms}};
}

json to_json(const lib::file_info& f) {
  auto instances = json::array();
  for (const auto& i : f.instances) instances.push_back(to_json(i));
  auto remotes = json::array();
  for (const auto& r : f.remote_instances)
    remotes.push_back({{"librarian", r.librarian},
                       {"store_id", r.store_id},
                       {"copy_unix_ms", r.copy_unix_ms},
                       {"sender", r.sender}});
  return {{"name", f.name},         {"size", f.size},
          {"checksum", f.checksum}, {"uploader", f.uploader},
          {"source", f.source},     {"create_unix_ms", f.create_unix_ms},
          {"instances", instances}, {"remote_instances", remotes}};
}

json to_json(const lib::store_info& s) {
  return {{"name", s.name},
          {"type", s.type},
          {"staging_path", s.staging_path},
          {"store_path", s.store_path},
          {"ingestable", s.ingestable},
          {"enabled", s.enabled},
          {"capacity_bytes", s.capacity_bytes},
          {"used_bytes", s.used_bytes},
          {"reserved_bytes", s.reserved_bytes},
          {"free_bytes", s.free_bytes},
          {"instances", s.instances},
          {"report_full_fraction", s.report_full_fraction}};
}

json to_json(const lib::librarian_info& p) {
  json out{{"name", p.name},
           {"url", p.url},
           {"port", p.port},
           {"transfers_enabled", p.transfers_enabled},
           {"added_unix_ms", p.added_unix_ms},
           {"last_seen_unix_ms", p.last_seen_unix_ms},
           {"ping", p.ping_state}};
  if (p.rtt_us >= 0) out["rtt_ms"] = static_cast<double>(p.rtt_us) / 1000.0;
  if (!p.ping_error.empty()) out["ping_error"] = p.ping_error;
  return out;
}

json to_json(const lib::error_info& e) {
  return {{"id", e.id},
          {"severity", e.severity},
          {"category", e.category},
          {"message", e.message},
          {"caller", e.caller},
          {"raised_unix_ms", e.raised_unix_ms},
          {"cleared", e.cleared},
          {"cleared_unix_ms", e.cleared_unix_ms}};
}

json to_json(const lib::validation_item& v) {
  json out{{"librarian", v.librarian},
           {"store", v.store},
           {"instance_id", v.instance_id},
           {"path", v.path},
           {"original_checksum", v.original_checksum},
           {"original_size", v.original_size},
           {"current_checksum", v.current_checksum},
           {"current_size", v.current_size},
           {"match", v.match}};
  if (!v.problem.empty()) out["problem"] = v.problem;
  return out;
}

template <class T>
json list_of(const std::vector<T>& items) {
  auto out = json::array();
  for (const auto& i : items) out.push_back(to_json(i));
  return out;
}

// Native data-channel tickets for an upload's staging file or a download's instance. Issued here,
// in the API, rather than by the librarian actor, so the actor family stays free of the data
// plane (and simulable); a node without a data port offers only the local mover.
std::string data_ticket(const context_ptr& ctx, data::ticket_mode mode, const std::string& path,
                        uint64_t size, const std::string& checksum) {
  if (!ctx->env->data_tickets) return {};
  data::ticket_grant g;
  g.mode = mode;
  g.path = path;
  g.size = size;
  if (auto parsed = data::parse_checksum(checksum)) {
    g.alg = parsed->alg;
    g.expected_checksum = data::format_checksum(parsed->alg, parsed->hex);
  }
  g.ttl = std::chrono::seconds(ctx->env->config.data.ticket_ttl_s);
  // What the channel verified inline, the upload's commit need not read again (file_system
  // seals: they hold only while the file is unchanged).
  if (mode == data::ticket_mode::put)
    g.on_complete = [fs = ctx->env->fs](const std::filesystem::path& p, const std::string& sum) {
      fs->seal(p.string(), sum);
    };
  auto t = ctx->env->data_tickets->issue(std::move(g));
  return t ? *t : std::string{};
}

void add_data_offer(const context_ptr& ctx, json& out, const std::string& ticket) {
  if (ticket.empty()) {
    out["movers"] = json::array({"local"});
    return;
  }
  out["ticket"] = ticket;
  out["data_port"] = ctx->env->data_port;
  out["movers"] = json::array({"native", "local"});
}

// The common shape: authorize, read the body's allowed fields, build the message, ask the
// librarian, render the reply. `build` returns the payload or the error to answer with.
template <class Reply, class Build, class Render>
void call(const context_ptr& ctx, const request& req, const respond_fn& respond, role need,
          std::initializer_list<const char*> allowed, Build build, Render render) {
  std::vector<std::string> keys(allowed.begin(), allowed.end());
  authorize(ctx, req, respond, need, [=](caller who) {
    json body = json::object();
    if (req.method == "POST") {
      // read_json_object takes a literal list; this route's keys are checked here instead.
      nlohmann::json doc;
      try {
        doc = nlohmann::json::parse(req.body.empty() ? std::string{"{}"} : req.body);
      } catch (const nlohmann::json::parse_error& e) {
        return bad_request(
            req, respond,
            fail(errc::invalid_argument, std::string{"the body is not valid JSON: "} + e.what()));
      }
      if (!doc.is_object())
        return bad_request(req, respond,
                           fail(errc::invalid_argument, "the body must be a JSON object"));
      for (const auto& [key, value] : doc.items())
        if (std::find(keys.begin(), keys.end(), key) == keys.end())
          return bad_request(
              req, respond,
              fail(errc::invalid_argument, "unknown field '" + key + "' in the body"));
      body = std::move(doc);
    } else {
      for (const auto& [key, value] : req.query)
        if (std::find(keys.begin(), keys.end(), key) == keys.end())
          return bad_request(req, respond,
                             fail(errc::invalid_argument, "unknown query parameter '" + key + "'"));
      for (const auto& [key, value] : req.query) body[key] = value;
    }
    fields f{body};
    expected<caf::message> payload = build(f, who);
    if (f.problem()) return bad_request(req, respond, *f.problem());
    if (!payload) return bad_request(req, respond, payload.err());
    ask_actor(ctx, librarian_name, std::move(*payload), req, respond,
              [=](const Reply& reply) { respond(render(reply)); });
  });
}

void add_upload_routes(http::router& r, const context_ptr& ctx) {
  r.add("POST", "/api/v1/upload/stage", [ctx](request req, path_params, respond_fn respond) {
    call<lib::stage_reply>(
        ctx, req, respond, role::readappend,
        {"name", "size", "checksum", "deletion_policy", "store"},
        [](fields& f, const caller& who) -> expected<caf::message> {
          lib::stage_request s;
          s.name = f.text("name", true);
          s.size = f.count("size", true);
          s.checksum = f.text("checksum");  // or declared at commit
          s.deletion_policy = f.text("deletion_policy");
          if (s.deletion_policy.empty()) s.deletion_policy = "DISALLOWED";
          s.store = f.text("store");
          s.uploader = who.name;  // never from the body
          return caf::make_message(atoms::stage_atom_v, std::move(s));
        },
        [ctx, req](const lib::stage_reply& s) {
          json out{{"upload_id", s.upload_id},
                   {"name", s.name},
                   {"store", s.store},
                   {"staging_dir", s.staging_dir},
                   {"staging_file", s.staging_file},
                   {"already_present", s.already_present},
                   {"ticket", ""},
                   {"expires_unix_ms", s.expires_unix_ms}};
          std::string ticket;
          if (!s.already_present) {
            // The body passed validation in build(); the ticket binds the declared size and
            // checksum, so the data channel itself refuses other bytes.
            auto body = json::parse(req.body, nullptr, false);
            uint64_t size =
                body.is_object() && body.contains("size") && body["size"].is_number_unsigned()
                    ? body["size"].get<uint64_t>()
                    : 0;
            std::string sum =
                body.is_object() && body.contains("checksum") && body["checksum"].is_string()
                    ? body["checksum"].get<std::string>()
                    : std::string{};
            ticket = data_ticket(ctx, data::ticket_mode::put, s.staging_file, size, sum);
          }
          add_data_offer(ctx, out, ticket);
          return http::json_response(s.already_present ? 200 : 201, out);
        });
  });
  for (auto [path, is_commit] :
       {std::pair{"/api/v1/upload/commit", true}, std::pair{"/api/v1/upload/cancel", false}}) {
    r.add("POST", path, [ctx, is_commit](request req, path_params, respond_fn respond) {
      auto build = [is_commit](fields& f, const caller& who) -> expected<caf::message> {
        auto id = f.count("upload_id", true);
        bool admin = who.role == role::admin;
        if (is_commit)
          return caf::make_message(atoms::commit_atom_v, id, who.name, admin, f.text("checksum"));
        return caf::make_message(atoms::cancel_atom_v, id, who.name, admin);
      };
      if (is_commit)
        call<lib::file_info>(
            ctx, req, respond, role::readappend, {"upload_id", "checksum"}, build,
            [](const lib::file_info& f) { return http::json_response(200, to_json(f)); });
      else
        call<uint64_t>(ctx, req, respond, role::readappend, {"upload_id"}, build, [](uint64_t id) {
          return http::json_response(200, {{"upload_id", id}, {"cancelled", true}});
        });
    });
  }
}

// Many files at once (`librarian upload --each`): one request stages up to bulk_files_max, one
// commits them; small files travel under one tree ticket, large ones with a ticket each.
constexpr size_t bulk_files_max = 10000;
constexpr uint64_t tree_file_bytes_max = 16ull << 20;  // the data channel's pipelined-file limit

void add_bulk_upload_routes(http::router& r, const context_ptr& ctx) {
  r.add("POST", "/api/v1/upload/stage/bulk", [ctx](request req, path_params, respond_fn respond) {
    call<lib::bulk_stage_reply>(
        ctx, req, respond, role::readappend, {"files", "store", "deletion_policy"},
        [](fields& f, const caller& who) -> expected<caf::message> {
          auto policy = f.text("deletion_policy");
          if (policy.empty()) policy = "DISALLOWED";
          auto store = f.text("store");
          std::vector<lib::stage_request> reqs;
          f.objects("files", bulk_files_max, [&](fields& item, const json& raw) {
            for (const auto& [key, value] : raw.items())
              if (key != "name" && key != "size" && key != "checksum")
                item.refuse(fail(errc::invalid_argument,
                                 "unknown field '" + key + "' (name, size, checksum)"));
            lib::stage_request s;
            s.name = item.text("name", true);
            s.size = item.count("size", true);
            s.checksum = item.text("checksum");
            s.deletion_policy = policy;
            s.store = store;
            s.uploader = who.name;  // never from the body
            reqs.push_back(std::move(s));
          });
          return caf::make_message(atoms::stage_atom_v, std::move(reqs));
        },
        [ctx, req](const lib::bulk_stage_reply& b) {
          // The body passed validation in build(); it has each file's declared size.
          auto body = json::parse(req.body, nullptr, false);
          const json files = body.is_object() && body.contains("files") ? body["files"] : json{};
          json items = json::array();
          uint64_t staged = 0, present = 0, failed = 0;
          bool any_small = false;
          const std::filesystem::path group{b.group_dir};
          for (size_t i = 0; i < b.items.size(); ++i) {
            const auto& s = b.items[i];
            json item{{"name", s.name}};
            if (b.codes[i] != 0) {
              ++failed;
              item["code"] = std::string{name(static_cast<errc>(b.codes[i]))};
              item["error"] = b.messages[i];
            } else if (s.already_present) {
              ++present;
              item["already_present"] = true;
            } else {
              ++staged;
              item["upload_id"] = s.upload_id;
              item["staging_file"] = s.staging_file;
              auto rel = std::filesystem::path{s.staging_file}.lexically_relative(group);
              const bool under =
                  !b.group_dir.empty() && !rel.empty() && rel.native().rfind("..", 0) != 0;
              // The declared size decides: more than the tree limit gets a file ticket.
              uint64_t size = 0;
              std::string sum;
              if (files.is_array() && i < files.size() && files[i].is_object()) {
                size = files[i].value("size", uint64_t{0});
                auto c = files[i].find("checksum");
                if (c != files[i].end() && c->is_string()) sum = c->get<std::string>();
              }
              if (under && size <= tree_file_bytes_max) {
                item["relative"] = rel.string();
                any_small = true;
              } else {
                auto t = data_ticket(ctx, data::ticket_mode::put, s.staging_file, size, sum);
                if (!t.empty()) item["ticket"] = t;
              }
            }
            items.push_back(std::move(item));
          }
          json out{{"group_dir", b.group_dir},
                   {"staged", staged},
                   {"already_present", present},
                   {"failed", failed},
                   {"items", std::move(items)}};
          std::string ticket;
          if (any_small && ctx->env->data_tickets) {
            data::ticket_grant g;
            g.mode = data::ticket_mode::put;
            g.path = b.group_dir;
            g.tree = true;
            g.sync_each = false;  // the bulk commit syncs the batch at once
            g.ttl = std::chrono::seconds(ctx->env->config.data.ticket_ttl_s);
            g.on_complete = [fs = ctx->env->fs](const std::filesystem::path& p,
                                                const std::string& sum) {
              fs->seal(p.string(), sum);
            };
            auto t = ctx->env->data_tickets->issue(std::move(g));
            if (t) ticket = *t;
          }
          add_data_offer(ctx, out, ticket);
          return http::json_response(200, out);
        });
  });
  r.add("POST", "/api/v1/upload/commit/bulk", [ctx](request req, path_params, respond_fn respond) {
    call<lib::bulk_commit_reply>(
        ctx, req, respond, role::readappend, {"uploads"},
        [](fields& f, const caller& who) -> expected<caf::message> {
          lib::bulk_commit_request c;
          f.objects("uploads", bulk_files_max, [&](fields& item, const json& raw) {
            for (const auto& [key, value] : raw.items())
              if (key != "upload_id" && key != "checksum")
                item.refuse(fail(errc::invalid_argument,
                                 "unknown field '" + key + "' (upload_id, checksum)"));
            c.upload_ids.push_back(item.count("upload_id", true));
            c.checksums.push_back(item.text("checksum"));
          });
          return caf::make_message(atoms::commit_atom_v, std::move(c), who.name,
                                   who.role == role::admin);
        },
        [](const lib::bulk_commit_reply& b) {
          json items = json::array();
          uint64_t committed = 0, failed = 0;
          for (size_t i = 0; i < b.files.size(); ++i) {
            json item;
            if (b.codes[i] != 0) {
              ++failed;
              item = {{"code", std::string{name(static_cast<errc>(b.codes[i]))}},
                      {"error", b.messages[i]}};
            } else {
              ++committed;
              item = {{"name", b.files[i].name},
                      {"size", b.files[i].size},
                      {"checksum", b.files[i].checksum}};
            }
            items.push_back(std::move(item));
          }
          return http::json_response(
              200, {{"committed", committed}, {"failed", failed}, {"items", std::move(items)}});
        });
  });
}

void add_file_routes(http::router& r, const context_ptr& ctx) {
  r.add("GET", "/api/v1/files/get", [ctx](request req, path_params, respond_fn respond) {
    call<lib::file_info>(
        ctx, req, respond, role::readonly, {"name"},
        [](fields& f, const caller&) -> expected<caf::message> {
          return caf::make_message(atoms::lookup_atom_v, f.text("name", true));
        },
        [](const lib::file_info& f) { return http::json_response(200, to_json(f)); });
  });
  r.add("GET", "/api/v1/files/instance", [ctx](request req, path_params, respond_fn respond) {
    call<lib::instance_info>(
        ctx, req, respond, role::readonly, {"name"},
        [](fields& f, const caller&) -> expected<caf::message> {
          return caf::make_message(atoms::fetch_atom_v, f.text("name", true));
        },
        [ctx](const lib::instance_info& i) {
          auto out = to_json(i);
          std::error_code ec;
          // Directories (uploaded trees) travel with the local mover only.
          const bool regular = std::filesystem::is_regular_file(i.path, ec);
          add_data_offer(ctx, out,
                         regular ? data_ticket(ctx, data::ticket_mode::get, i.path, 0, "") : "");
          return http::json_response(200, out);
        });
  });
  r.add("POST", "/api/v1/files/search", [ctx](request req, path_params, respond_fn respond) {
    call<lib::file_page>(
        ctx, req, respond, role::readonly,
        {"name", "create_time_start_ms", "create_time_end_ms", "uploader", "source", "size_min",
         "size_max", "store", "checksum", "has_remote_at", "lacks_remote_at", "after",
         "max_results"},
        [](fields& f, const caller&) -> expected<caf::message> {
          lib::file_query q;
          q.name_glob = f.text("name");
          q.create_from_unix_ms = f.time_ms("create_time_start_ms");
          q.create_to_unix_ms = f.time_ms("create_time_end_ms");
          q.uploader = f.text("uploader");
          q.source = f.text("source");
          q.size_min = f.count("size_min");
          q.size_max = f.count("size_max");
          q.store = f.text("store");
          q.checksum = f.text("checksum");
          q.has_remote_at = f.text("has_remote_at");
          q.lacks_remote_at = f.text("lacks_remote_at");
          q.after = f.text("after");
          q.max_results = f.count("max_results");
          return caf::make_message(atoms::search_atom_v, std::move(q));
        },
        [](const lib::file_page& p) {
          json out{{"files", list_of(p.files)}, {"more", p.more}, {"truncated", p.truncated}};
          if (p.more) out["next_after"] = p.next_after;
          return http::json_response(200, out);
        });
  });
  r.add("POST", "/api/v1/files/validate", [ctx](request req, path_params, respond_fn respond) {
    call<std::vector<lib::validation_item>>(
        ctx, req, respond, role::readonly, {"name"},
        [](fields& f, const caller&) -> expected<caf::message> {
          return caf::make_message(atoms::validate_atom_v, f.text("name", true));
        },
        [](const std::vector<lib::validation_item>& items) {
          return http::json_response(200, {{"items", list_of(items)}});
        });
  });
}

void add_error_routes(http::router& r, const context_ptr& ctx) {
  r.add("POST", "/api/v1/errors/search", [ctx](request req, path_params, respond_fn respond) {
    call<std::vector<lib::error_info>>(
        ctx, req, respond, role::admin,
        {"id", "severity", "category", "create_time_start_ms", "create_time_end_ms",
         "include_resolved", "max_results"},
        [](fields& f, const caller&) -> expected<caf::message> {
          lib::error_query q;
          q.id = f.count("id");
          q.severity = f.text("severity");
          q.category = f.text("category");
          q.from_unix_ms = f.time_ms("create_time_start_ms");
          q.to_unix_ms = f.time_ms("create_time_end_ms");
          q.include_resolved = f.flag("include_resolved", false);
          q.max_results = f.count("max_results");
          return caf::make_message(atoms::errors_atom_v, std::move(q));
        },
        [](const std::vector<lib::error_info>& errors) {
          return http::json_response(200, {{"errors", list_of(errors)}});
        });
  });
  r.add("POST", "/api/v1/errors/clear", [ctx](request req, path_params, respond_fn respond) {
    call<lib::error_info>(
        ctx, req, respond, role::admin, {"id"},
        [](fields& f, const caller&) -> expected<caf::message> {
          return caf::make_message(atoms::clear_atom_v, f.count("id", true));
        },
        [](const lib::error_info& e) { return http::json_response(200, to_json(e)); });
  });
}

void add_admin_routes(http::router& r, const context_ptr& ctx) {
  r.add("GET", "/api/v1/admin/stores", [ctx](request req, path_params, respond_fn respond) {
    call<std::vector<lib::store_info>>(
        ctx, req, respond, role::admin, {},
        [](fields&, const caller&) -> expected<caf::message> {
          return caf::make_message(atoms::stores_atom_v);
        },
        [](const std::vector<lib::store_info>& stores) {
          return http::json_response(200, {{"stores", list_of(stores)}});
        });
  });
  r.add("POST", "/api/v1/admin/stores/state", [ctx](request req, path_params, respond_fn respond) {
    call<lib::store_info>(
        ctx, req, respond, role::admin, {"store", "enabled"},
        [](fields& f, const caller&) -> expected<caf::message> {
          auto store = f.text("store", true);
          auto enabled = f.flag("enabled", true, true);
          return caf::make_message(atoms::store_set_atom_v, store, enabled);
        },
        [](const lib::store_info& s) { return http::json_response(200, to_json(s)); });
  });
  r.add("POST", "/api/v1/admin/stores/import", [ctx](request req, path_params, respond_fn respond) {
    call<lib::import_report>(
        ctx, req, respond, role::admin, {"store", "under", "after", "files_max", "dry_run"},
        [](fields& f, const caller& who) -> expected<caf::message> {
          lib::import_request m;
          m.store = f.text("store", true);
          m.under = f.text("under");
          m.after = f.text("after");
          m.files_max = f.count("files_max");
          m.dry_run = f.flag("dry_run", false);
          m.uploader = who.name;
          return caf::make_message(atoms::import_atom_v, std::move(m));
        },
        [](const lib::import_report& r) {
          return http::json_response(200, {{"files_seen", r.files_seen},
                                           {"imported", r.imported},
                                           {"already_present", r.already_present},
                                           {"instances_added", r.instances_added},
                                           {"failed", r.failed},
                                           {"bytes_hashed", r.bytes_hashed},
                                           {"complete", r.complete},
                                           {"next_after", r.next_after},
                                           {"problems", r.problems}});
        });
  });
  r.add("POST", "/api/v1/admin/stores/manifest",
        [ctx](request req, path_params, respond_fn respond) {
          call<lib::manifest_page>(
              ctx, req, respond, role::admin,
              {"store", "destination_librarian", "disable_store",
               "mark_local_instances_as_unavailable", "after", "max_entries"},
              [](fields& f, const caller&) -> expected<caf::message> {
                lib::manifest_request m;
                m.store = f.text("store", true);
                m.destination_librarian = f.text("destination_librarian");
                m.disable_store = f.flag("disable_store", false);
                m.mark_unavailable = f.flag("mark_local_instances_as_unavailable", false);
                m.after = f.text("after");
                m.max_entries = f.count("max_entries");
                return caf::make_message(atoms::manifest_atom_v, std::move(m));
              },
              [](const lib::manifest_page& p) {
                auto files = json::array();
                for (const auto& e : p.entries)
                  files.push_back({{"name", e.name},
                                   {"create_unix_ms", e.create_unix_ms},
                                   {"size", e.size},
                                   {"checksum", e.checksum},
                                   {"uploader", e.uploader},
                                   {"source", e.source},
                                   {"instance_path", e.instance_path},
                                   {"deletion_policy", e.deletion_policy},
                                   {"instance_create_unix_ms", e.instance_create_unix_ms},
                                   {"instance_available", e.instance_available}});
                json out{{"librarian_name", p.librarian_name},
                         {"store_name", p.store_name},
                         {"destination_librarian", p.destination_librarian},
                         {"store_files", files},
                         {"more", p.more}};
                if (p.more) out["next_after"] = p.next_after;
                return http::json_response(200, out);
              });
        });
  r.add("GET", "/api/v1/admin/librarians", [ctx](request req, path_params, respond_fn respond) {
    call<std::vector<lib::librarian_info>>(
        ctx, req, respond, role::admin, {"ping"},
        [](fields& f, const caller&) -> expected<caf::message> {
          auto ping = f.text("ping");
          if (!ping.empty() && ping != "true" && ping != "false")
            return fail(errc::invalid_argument, "query parameter 'ping' must be true or false");
          return caf::make_message(atoms::peers_atom_v, ping == "true");
        },
        [](const std::vector<lib::librarian_info>& peers) {
          return http::json_response(200, {{"librarians", list_of(peers)}});
        });
  });
  r.add("POST", "/api/v1/admin/librarians/add",
        [ctx](request req, path_params, respond_fn respond) {
          call<lib::librarian_info>(
              ctx, req, respond, role::admin,
              {"name", "url", "port", "authenticator", "check_connection"},
              [](fields& f, const caller&) -> expected<caf::message> {
                lib::add_librarian_request a;
                a.name = f.text("name", true);
                a.url = f.text("url", true);
                auto port = f.count("port", true);
                if (port > 65535) return fail(errc::invalid_argument, "port must be 1..65535");
                a.port = static_cast<uint32_t>(port);
                a.authenticator = f.text("authenticator", true);
                a.check_connection = f.flag("check_connection", true);
                return caf::make_message(atoms::peer_add_atom_v, std::move(a));
              },
              [](const lib::librarian_info& p) { return http::json_response(201, to_json(p)); });
        });
  r.add("POST", "/api/v1/admin/librarians/remove",
        [ctx](request req, path_params, respond_fn respond) {
          call<lib::librarian_info>(
              ctx, req, respond, role::admin, {"name"},
              [](fields& f, const caller&) -> expected<caf::message> {
                return caf::make_message(atoms::remove_atom_v, f.text("name", true));
              },
              [](const lib::librarian_info& p) { return http::json_response(200, to_json(p)); });
        });
  r.add("POST", "/api/v1/admin/librarians/transfer_status",
        [ctx](request req, path_params, respond_fn respond) {
          call<lib::librarian_info>(
              ctx, req, respond, role::admin, {"name", "transfers_enabled"},
              [](fields& f, const caller&) -> expected<caf::message> {
                auto name = f.text("name", true);
                auto enabled = f.flag("transfers_enabled", true, true);
                return caf::make_message(atoms::transfers_atom_v, name, enabled);
              },
              [](const lib::librarian_info& p) { return http::json_response(200, to_json(p)); });
        });
}

}  // namespace

void add_librarian_routes(http::router& r, const context_ptr& ctx) {
  r.add("GET", "/api/v1/openapi.yaml", [ctx](request req, path_params, respond_fn respond) {
    authorize(ctx, req, respond, role::readonly, [respond](caller) {
      http::response res;
      res.content_type = "application/yaml";
      res.body = std::string{openapi_document};
      respond(std::move(res));
    });
  });
  add_upload_routes(r, ctx);
  add_bulk_upload_routes(r, ctx);
  add_file_routes(r, ctx);
  add_error_routes(r, ctx);
  add_admin_routes(r, ctx);
}

}  // namespace librarian::net
