// The node family's console catalog entries: node, users and membership messages.
#pragma once

#include "runtime/caf/catalog.hpp"

namespace librarian::node {

void add_console_messages(message_catalog& catalog);

// Stable text forms of the family's replies (also used by librarian-sim's checks).
[[nodiscard]] std::string to_text(const struct member_info& member);
[[nodiscard]] std::string to_text(const struct user_info& user);
[[nodiscard]] std::string to_text(const struct node_status& status);

}  // namespace librarian::node
