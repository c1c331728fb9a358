// The product's console catalog: every actor family's injectable messages.
#include "runtime/caf/catalog.hpp"
#include "actors/mcs/console_messages.hpp"
#include "actors/node/console_messages.hpp"
#include "actors/rls/console_messages.hpp"

namespace librarian {

const message_catalog& product_catalog() {
  static const message_catalog catalog = [] {
    message_catalog c;
    node::add_console_messages(c);
    rls::add_console_messages(c);
    mcs::add_console_messages(c);
    return c;
  }();
  return catalog;
}

}  // namespace librarian
