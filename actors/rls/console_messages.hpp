// The RLS family's console catalog entries (lrc ...).
#pragma once

#include "runtime/caf/catalog.hpp"

namespace librarian::rls {

void add_console_messages(message_catalog& catalog);

}  // namespace librarian::rls
