// The replication pipeline over HTTP: GET /api/v1/replication reports queues, active batches,
// transfers older than their hypervisor's age, and the replicator's counters
// (`librarian transfer-status CONN` prints it). READONLY may read it.
#include "actors/transfer/interface.hpp"
#include "net/api/api_context.hpp"

namespace librarian::net {
namespace {

using http::path_params;
using http::request;
using http::respond_fn;
using json = nlohmann::json;

json counts(const std::vector<transfer::named_count>& in) {
  json out = json::object();
  for (const auto& c : in) out[c.name] = c.count;
  return out;
}

json to_json(const transfer::replication_report& r) {
  json batches = json::array();
  for (const auto& b : r.active)
    batches.push_back({{"id", b.id},
                       {"destination", b.destination},
                       {"mover", b.mover},
                       {"state", b.state},
                       {"files", b.files},
                       {"bytes_total", b.bytes_total},
                       {"bytes_done", b.bytes_done},
                       {"retries", b.retries},
                       {"age_ms", b.age_ms},
                       {"rate_bytes_per_s", b.rate_bytes_per_s},
                       {"message", b.message}});
  json overdue = json::array();
  for (const auto& t : r.overdue)
    overdue.push_back({{"id", t.id},
                       {"direction", t.outgoing ? "outgoing" : "incoming"},
                       {"peer", t.peer},
                       {"file", t.file},
                       {"status", t.status},
                       {"age_ms", t.age_ms}});
  return {{"node", r.node},
          {"outgoing", counts(r.outgoing)},
          {"incoming", counts(r.incoming)},
          {"batches", counts(r.batches)},
          {"active_batches", batches},
          {"overdue", overdue},
          {"counters", counts(r.counters)}};
}

}  // namespace

void add_replication_routes(http::router& r, const context_ptr& ctx) {
  r.add("GET", "/api/v1/replication", [ctx](request req, path_params, respond_fn respond) {
    authorize(ctx, req, respond, http::role::readonly, [ctx, req, respond](const caller&) {
      ask_actor(ctx, "replicator", caf::make_message(atoms::report_atom_v), req, respond,
                [respond, id = req.request_id](const transfer::replication_report& rep) {
                  respond(http::json_response(200, to_json(rep)));
                });
    });
  });
}

}  // namespace librarian::net
