// Registers the one type-ID block (runtime/type_ids.hpp) and the error category. Every message
// struct's full definition and inspect() are visible here through the families' interfaces.
#include <caf/actor_system_config.hpp>

#include "actors/librarian/interface.hpp"
#include "actors/node/interface.hpp"
#include "actors/rls/interface.hpp"
#include "actors/transfer/interface.hpp"
#include "runtime/caf/error.hpp"
#include "runtime/type_ids.hpp"
#include "storage/row_op.hpp"

namespace librarian {

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::librarian>();
  cfg.add_error_category(
      error_category, [](uint8_t code, caf::atom_value, const caf::message& context) {
        auto text = std::string{"librarian: "};
        text += name(code <= errc_max ? static_cast<errc>(code) : errc::internal);
        if (context.match_elements<std::string>())
          text += " (" + context.get_as<std::string>(0) + ")";
        return text;
      });
}

}  // namespace librarian
