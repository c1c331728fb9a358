// The replication pipeline over HTTP: GET /api/v1/replication reports queues, active batches,
// transfers older than their hypervisor's age, and the replicator's counters
// (`librarian transfer-status CONN` prints it). READONLY may read it.
#include "actors/transfer/interface.hpp"
#include "actors/transfer/records.hpp"
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
  json tasks = json::array();
  for (const auto& t : r.tasks)
    tasks.push_back({{"task", t.name},
                     {"runs", t.runs},
                     {"seconds_total", static_cast<double>(t.micros_sum) / 1e6},
                     {"seconds_max", static_cast<double>(t.micros_max) / 1e6},
                     {"outcomes", counts(t.outcomes)}});
  return {{"node", r.node},
          {"tasks", tasks},
          {"outgoing", counts(r.outgoing)},
          {"incoming", counts(r.incoming)},
          {"batches", counts(r.batches)},
          {"active_batches", batches},
          {"overdue", overdue},
          {"counters", counts(r.counters)}};
}

// One file of a SneakerNet call: its fields, validated like any body.
expected<transfer::clone_item> file_of(const json& f, bool need_id, std::string* path) {
  if (!f.is_object())
    return fail(errc::invalid_argument, "each entry of 'files' must be an object");
  transfer::clone_item item;
  auto name = string_field(f, "name", true);
  if (!name) return name.err();
  item.name = *name;
  auto checksum = string_field(f, "checksum", true);
  if (!checksum) return checksum.err();
  item.checksum = *checksum;
  auto size = f.find("size");
  if (size == f.end() || !size->is_number_unsigned())
    return fail(errc::invalid_argument, "'" + item.name + "': size must be a non-negative integer");
  item.size = size->get<uint64_t>();
  if (need_id) {
    auto id = f.find("outgoing_transfer_id");
    if (id == f.end() || !id->is_number_unsigned() || id->get<uint64_t>() == 0)
      return fail(errc::invalid_argument,
                  "'" + item.name +
                      "': outgoing_transfer_id is missing (make the manifest with "
                      "get-store-manifest --destination-librarian)");
    item.source_id = id->get<uint64_t>();
  }
  if (path) {
    auto p = string_field(f, "instance_path", true);
    if (!p) return p.err();
    *path = *p;
  }
  return item;
}

constexpr size_t sneaker_files_max = 10000;

expected<json> files_of(const json& body) {
  auto it = body.find("files");
  if (it == body.end() || !it->is_array())
    return fail(errc::invalid_argument, "field 'files' must be an array");
  if (it->size() > sneaker_files_max)
    return fail(errc::invalid_argument,
                "at most " + std::to_string(sneaker_files_max) + " files per call");
  return *it;
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
  // Cancels every live outgoing transfer to a peer (remove-librarian --remove-outgoing-transfers,
  // cancel-transfers).
  r.add("POST", "/api/v1/replication/cancel", [ctx](request req, path_params, respond_fn respond) {
    authorize(ctx, req, respond, http::role::admin, [ctx, req, respond](const caller&) {
      auto body = read_json_object(req, {"peer"});
      if (!body) return respond(http::error_response(body.err(), req.request_id));
      auto peer = string_field(*body, "peer", true);
      if (!peer) return respond(http::error_response(peer.err(), req.request_id));
      if (peer->empty() || peer->size() > 64)
        return respond(http::error_response(
            fail(errc::invalid_argument, "field 'peer' must name a librarian (1-64 characters)"),
            req.request_id));
      ask_actor(ctx, "replicator", caf::make_message(atoms::cancel_atom_v, *peer), req, respond,
                [respond, peer = *peer](uint64_t n) {
                  respond(http::json_response(200, {{"peer", peer}, {"cancelled", n}}));
                });
    });
  });
  // SneakerNet at the source: outgoing transfers for a manifest's files (get-store-manifest).
  r.add(
      "POST", "/api/v1/replication/sneakernet/outgoing",
      [ctx](request req, path_params, respond_fn respond) {
        authorize(ctx, req, respond, http::role::admin, [ctx, req, respond](const caller&) {
          auto body = read_json_object(req, {"destination", "files"});
          if (!body) return respond(http::error_response(body.err(), req.request_id));
          auto dest = string_field(*body, "destination", true);
          auto files = files_of(*body);
          if (!dest || !files)
            return respond(http::error_response(!dest ? dest.err() : files.err(), req.request_id));
          transfer::clone_stage msg;
          msg.from = *dest;
          std::vector<std::string> paths;
          for (const auto& f : *files) {
            std::string path;
            auto item = file_of(f, false, &path);
            if (!item) return respond(http::error_response(item.err(), req.request_id));
            msg.items.push_back(std::move(*item));
            paths.push_back(std::move(path));
          }
          ask_actor(ctx, "replicator",
                    caf::make_message(atoms::sneaker_atom_v, std::move(msg), std::move(paths)), req,
                    respond, [respond](const transfer::clone_stage& out) {
                      json files = json::array();
                      for (const auto& i : out.items)
                        files.push_back({{"name", i.name}, {"outgoing_transfer_id", i.source_id}});
                      respond(http::json_response(200, {{"files", files}}));
                    });
        });
      });
  // SneakerNet at the destination: stage a drive's files (-> where to copy each), then say they
  // are copied (ingest-manifest).
  r.add("POST", "/api/v1/replication/sneakernet/stage",
        [ctx](request req, path_params, respond_fn respond) {
          authorize(ctx, req, respond, http::role::admin, [ctx, req, respond](const caller&) {
            auto body = read_json_object(req, {"source", "files"});
            if (!body) return respond(http::error_response(body.err(), req.request_id));
            auto source = string_field(*body, "source", true);
            auto files = files_of(*body);
            if (!source || !files)
              return respond(
                  http::error_response(!source ? source.err() : files.err(), req.request_id));
            transfer::clone_stage msg;
            msg.from = *source;
            for (const auto& f : *files) {
              auto item = file_of(f, true, nullptr);
              if (!item) return respond(http::error_response(item.err(), req.request_id));
              msg.items.push_back(std::move(*item));
            }
            ask_actor(ctx, "replicator", caf::make_message(atoms::sneaker_atom_v, std::move(msg)),
                      req, respond, [respond](const transfer::clone_staged& out) {
                        json items = json::array();
                        for (const auto& i : out.items)
                          items.push_back(
                              {{"outgoing_transfer_id", i.source_id},
                               {"incoming_id", i.incoming_id},
                               {"result", i.code == 0 ? std::string{"staged"}
                                                      : std::string{name(static_cast<errc>(
                                                            i.code <= errc_max ? i.code : 11))}},
                               {"message", i.message},
                               {"staging_path", i.staging_path}});
                        respond(http::json_response(200, {{"items", items}}));
                      });
          });
        });
  r.add("POST", "/api/v1/replication/sneakernet/staged",
        [ctx](request req, path_params, respond_fn respond) {
          authorize(ctx, req, respond, http::role::admin, [ctx, req, respond](const caller&) {
            auto body = read_json_object(req, {"source", "items"});
            if (!body) return respond(http::error_response(body.err(), req.request_id));
            auto source = string_field(*body, "source", true);
            if (!source) return respond(http::error_response(source.err(), req.request_id));
            auto it = body->find("items");
            if (it == body->end() || !it->is_array() || it->size() > sneaker_files_max)
              return respond(http::error_response(
                  fail(errc::invalid_argument, "field 'items' must be an array of at most " +
                                                   std::to_string(sneaker_files_max)),
                  req.request_id));
            transfer::clone_status msg;
            msg.from = *source;
            for (const auto& i : *it) {
              auto src = i.is_object() ? i.find("outgoing_transfer_id") : i.end();
              auto in = i.is_object() ? i.find("incoming_id") : i.end();
              if (!i.is_object() || src == i.end() || !src->is_number_unsigned() || in == i.end() ||
                  !in->is_number_unsigned())
                return respond(http::error_response(
                    fail(errc::invalid_argument,
                         "each item needs outgoing_transfer_id and incoming_id"),
                    req.request_id));
              msg.items.push_back({src->get<uint64_t>(), in->get<uint64_t>(), 0, "", 0});
            }
            ask_actor(ctx, "replicator", caf::make_message(atoms::sneaker_atom_v, std::move(msg)),
                      req, respond, [respond](const transfer::clone_status& out) {
                        json items = json::array();
                        for (const auto& i : out.items) {
                          auto st = transfer::status_from_byte(i.status);
                          items.push_back({{"outgoing_transfer_id", i.source_id},
                                           {"incoming_id", i.incoming_id},
                                           {"status", st ? std::string{transfer::name(*st)}
                                                         : std::string{"UNKNOWN"}},
                                           {"message", i.message}});
                        }
                        respond(http::json_response(200, {{"items", items}}));
                      });
          });
        });
}

}  // namespace librarian::net
