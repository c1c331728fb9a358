// The MCS family's public contract: the catalog actor's typed handle. Requests carry the caller
// (user, groups, admin), a verb and its JSON arguments (actors/mcs/dispatch.hpp), and are answered
// with a JSON text once whatever they wrote is durable. Other families include only this header.
#pragma once

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
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
    caf::reacts_to<committed_atom, uint64_t, uint8_t, std::string>>;

}  // namespace librarian::mcs
