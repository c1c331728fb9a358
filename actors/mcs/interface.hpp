// The MCS family's public contract: the catalog actor's typed handle. Requests carry the caller
// (user, groups, admin), a verb and its JSON arguments (actors/mcs/dispatch.hpp), and are answered
// with a JSON text once whatever they wrote is durable. Other families include only this header.
#pragma once

#include <caf/message.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/type_ids.hpp"

namespace librarian::mcs {

using namespace librarian::atoms;

using mcs_actor = caf::typed_actor<
    // (mcs, user, groups, admin, verb, arguments as a JSON object) -> reply as a JSON object
    caf::replies_to<mcs_atom, std::string, std::vector<std::string>, bool, std::string,
                    std::string>::with<std::string>,
    caf::replies_to<depth_atom>::with<uint64_t>,
    caf::reacts_to<committed_atom, uint64_t, uint8_t, std::string>,
    // query --all-nodes between catalogs, through the transport (no CAF replies across nodes):
    // a peer's query (mcs, origin node, token, user, groups, query arguments) ...
    caf::reacts_to<mcs_atom, std::string, uint64_t, std::string, std::vector<std::string>,
                   std::string>,
    // ... its answer (mcs, token, answering node, error code or 0, reply JSON or error message),
    caf::reacts_to<mcs_atom, uint64_t, std::string, uint8_t, std::string>,
    // and the deadline of fan-out `token`.
    caf::reacts_to<tick_atom, uint64_t>,
    // The actor's own: the next step of filling the object cache, from this object id on.
    caf::reacts_to<run_atom, uint64_t>>;

// What the librarian sends the catalog (through the node, without waiting for an answer) once a
// file it registered -- an upload or an arriving replica -- is durable: the logical file gets the
// default attributes size, checksum, uploader, source and create_time, as its uploader, who owns
// it unless it was already described in the catalog.
inline caf::message register_file_message(const std::string& name, uint64_t size,
                                          const std::string& checksum, const std::string& uploader,
                                          const std::string& source, int64_t create_unix_ms) {
  nlohmann::json args{{"name", name},         {"size", size},
                      {"checksum", checksum}, {"uploader", uploader},
                      {"source", source},     {"create_unix_ms", create_unix_ms}};
  return caf::make_message(mcs_atom_v, uploader, std::vector<std::string>{}, true,
                           std::string{"register_file"},
                           args.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace librarian::mcs
