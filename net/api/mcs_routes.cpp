// /api/v1/mcs/{verb}: the Metadata Catalog over HTTP. Every verb is a POST whose body is the verb's
// JSON arguments (actors/mcs/dispatch.hpp; docs/api.md); the reply is the catalog's JSON answer.
// Names travel in bodies, never in the path (logical names contain '/').
// Roles: reading verbs need READONLY, changing verbs READWRITE; ADMIN sees and changes everything.
// Per-object permissions apply on top, inside the catalog.
//
// Reading verbs are answered on the thread that authorized the request, from a snapshot of the
// catalog's committed rows (actors/mcs/reader.hpp), instead of asking the MCS actor: they change
// nothing, a write is visible there once it is durable (so nothing uncommitted is announced),
// and the hand-offs to the actor and back cost far more than an equality query
// (docs/benchmarks.md). Writes and query --all-nodes still go through the actor.
#include <memory>

#include "actors/mcs/dispatch.hpp"
#include "actors/mcs/interface.hpp"
#include "actors/mcs/reader.hpp"
#include "actors/rls/interface.hpp"
#include "net/api/api_context.hpp"

namespace librarian::net {
namespace {

using http::path_params;
using http::request;
using http::respond_fn;
using http::role;

// The node delegates (ask, "mcs", message) to its supervised MCS actor.
constexpr const char* mcs_name = "mcs";
constexpr size_t body_bytes_max = 8u << 20;  // a bulk create of 10,000 files fits

// query with "locate": true joins each matching logical file with its replicas from this
// node's LRC (the same LFNs): one LRC request after another, over at most one page of results.
struct locate_job {
  nlohmann::json reply;
  size_t next = 0;
};

void locate_next(caf::event_based_actor* self, const context_ptr& ctx,
                 const std::shared_ptr<locate_job>& job, const respond_fn& respond) {
  auto& items = job->reply["items"];
  while (job->next < items.size() && items[job->next].value("kind", "") != "l") ++job->next;
  if (job->next >= items.size()) {
    respond(http::json_response(200, job->reply));
    self->quit();
    return;
  }
  auto lfn = items[job->next].value("name", "");
  auto payload = caf::make_message(atoms::query_atom_v, lfn, uint64_t{0}, uint64_t{0});
  self->request(ctx->node, ctx->actor_timeout, atoms::ask_atom_v, std::string{"lrc"}, payload)
      .then(
          [=](const rls::name_page& page) {
            job->reply["items"][job->next]["replicas"] = page.items;
            ++job->next;
            locate_next(self, ctx, job, respond);
          },
          [=](caf::error& err) {
            auto e = from_caf(err);
            // No mapping is an empty list; any other failure is reported on the item.
            auto& item = job->reply["items"][job->next];
            item["replicas"] = nlohmann::json::array();
            if (e.code != errc::not_found) item["replicas_error"] = e.message;
            ++job->next;
            locate_next(self, ctx, job, respond);
          });
}

// Takes "locate" out of a query's body (the catalog itself knows nothing of replicas). Most
// queries do not name it: they go to the catalog untouched, without a parse here.
expected<bool> take_locate(std::string& body) {
  if (body.find("\"locate\"") == std::string::npos) return false;
  auto j = nlohmann::json::parse(body.empty() ? std::string{"{}"} : body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("locate")) return false;
  if (!j["locate"].is_boolean())
    return fail(errc::invalid_argument, "argument 'locate' must be true or false");
  bool locate = j["locate"].get<bool>();
  if (locate && j.contains("all_nodes") && j["all_nodes"] == true)
    return fail(errc::invalid_argument,
                "locate joins with this node's replica catalog only: use it without all_nodes");
  j.erase("locate");
  body = j.dump();
  return locate;
}

// The catalog's reply, with each match's replicas when the query asked to locate them.
void answer(const context_ptr& ctx, const request& req, const respond_fn& respond, bool locate,
            std::string reply) {
  if (!locate) {
    // The catalog's reply is already compact JSON: pass it on without parsing it again.
    http::response res;
    res.body = std::move(reply);
    return respond(std::move(res));
  }
  auto body = nlohmann::json::parse(reply, nullptr, false);
  if (body.is_discarded())
    return respond(http::error_response(fail(errc::internal, "the catalog's reply is not JSON"),
                                        req.request_id));
  if (!body.contains("items")) return respond(http::json_response(200, body));
  auto job = std::make_shared<locate_job>(locate_job{std::move(body), 0});
  ctx->sys.spawn([=](caf::event_based_actor* self) { locate_next(self, ctx, job, respond); });
}

using reader_ptr = std::shared_ptr<mcs::mcs_reader>;

void call(const context_ptr& ctx, const reader_ptr& reader, const request& req,
          const respond_fn& respond, const std::string& verb) {
  if (!mcs::is_known_verb(verb))
    return respond(http::error_response(
        fail(errc::not_found, "no MCS verb '" + verb.substr(0, 32) + "' (see docs/api.md)"),
        req.request_id));
  auto need = mcs::is_write_verb(verb) ? role::readwrite : role::readonly;
  authorize(ctx, req, respond, need, [=](caller who) {
    if (req.body.size() > body_bytes_max)
      return respond(http::error_response(
          fail(errc::invalid_argument, "the request body is larger than 8 MiB"), req.request_id));
    bool admin = who.role == role::admin;
    auto args = req.body;
    bool locate = false;
    if (verb == "query") {
      auto taken = take_locate(args);
      if (!taken) return respond(http::error_response(taken.err(), req.request_id));
      locate = *taken;
    }
    // query --all-nodes (or a body that names all_nodes at all) is the actor's: it fans out.
    bool fans_out = verb == "query" && args.find("\"all_nodes\"") != std::string::npos;
    if (reader && mcs::is_read_verb(verb) && !fans_out) {
      auto reply = reader->read(mcs::principal{who.name, {}, admin}, verb, args);
      if (!reply) return respond(http::error_response(reply.err(), req.request_id));
      return answer(ctx, req, respond, locate, std::move(*reply));
    }
    auto payload = caf::make_message(atoms::mcs_atom_v, who.name, std::vector<std::string>{}, admin,
                                     verb, args);
    ask_actor(ctx, mcs_name, std::move(payload), req, respond,
              [=](const std::string& reply) { answer(ctx, req, respond, locate, reply); });
  });
}

}  // namespace

void add_mcs_routes(http::router& r, const context_ptr& ctx) {
  // Without a catalog on this node, every verb goes to the node, which says so.
  reader_ptr reader;
  if (ctx->env->config.mcs.enabled)
    reader =
        std::make_shared<mcs::mcs_reader>(*ctx->env->db, mcs::mcs_limits{}, ctx->env->mcs_objects);
  r.add("POST", "/api/v1/mcs/{verb}",
        [ctx, reader](request req, path_params p, respond_fn respond) {
          call(ctx, reader, req, respond, p.at("verb"));
        });
}

}  // namespace librarian::net
