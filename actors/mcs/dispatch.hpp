// The MCS's one request format, shared by HTTP, the console and tests: a verb (the seed's command
// words) and a JSON object of arguments in, a JSON object out. Parsing is strict -- unknown keys
// and wrong types are errors -- and lives here, without CAF, so it is unit-tested directly.
#pragma once

#include <string>
#include <string_view>

#include "actors/mcs/mcs_state.hpp"

namespace librarian::mcs {

// Verbs that change the catalog (the API asks READWRITE for them; the others need READONLY).
[[nodiscard]] bool is_write_verb(std::string_view verb);
// Verbs users may send (HTTP, CLI); the internal ones (register_file) come only from the node.
[[nodiscard]] bool is_known_verb(std::string_view verb);
[[nodiscard]] bool is_internal_verb(std::string_view verb);
// Verbs that only read (is_known_verb and not is_write_verb).
[[nodiscard]] bool is_read_verb(std::string_view verb);

// Runs one request. Mutations append their rows to `rows` (nothing on failure); the reply is
// the JSON text to send once those rows are durable.
[[nodiscard]] expected<std::string> dispatch(mcs_state& state, const call_ctx& c,
                                             const std::string& verb, const std::string& args_json,
                                             storage::batch& rows);
// Runs one reading verb (is_read_verb), which changes nothing; a read-only view
// (mcs_state::read_only_t) answers it as the actor's own state would from the same commits.
[[nodiscard]] expected<std::string> dispatch_read(const mcs_state& state, const call_ctx& c,
                                                  const std::string& verb,
                                                  const std::string& args_json);

inline constexpr size_t bulk_objects_max = 10000;  // objects per create_many request

}  // namespace librarian::mcs
