// The MCS family's console catalog entries (mcs call / mcs admin).
#pragma once

#include "runtime/caf/catalog.hpp"

namespace librarian::mcs {

void add_console_messages(message_catalog& catalog);

}  // namespace librarian::mcs
