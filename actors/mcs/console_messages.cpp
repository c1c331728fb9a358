#include "actors/mcs/console_messages.hpp"

#include "actors/mcs/interface.hpp"

namespace librarian::mcs {
namespace {

using console::arg_type;
using console::value;

const std::string& text(const std::vector<value>& args, size_t i) {
  return std::get<std::string>(args.at(i));
}

}  // namespace

void add_console_messages(message_catalog& c) {
  auto reply = typed_ask<std::string>([](const std::string& json) { return json + "\n"; });
  c.add({{"mcs",
          "call",
          {{"USER", arg_type::string}, {"VERB", arg_type::string}, {"ARGS_JSON", arg_type::string}},
          "an MCS verb as USER with JSON arguments (see docs/api.md); prints the JSON reply"},
         [](const std::vector<value>& a) -> expected<caf::message> {
           return caf::make_message(mcs_atom_v, text(a, 0), std::vector<std::string>{}, false,
                                    text(a, 1), text(a, 2));
         },
         reply});
  c.add({{"mcs",
          "admin",
          {{"VERB", arg_type::string}, {"ARGS_JSON", arg_type::string}},
          "an MCS verb with admin rights (the console's operator sees everything)"},
         [](const std::vector<value>& a) -> expected<caf::message> {
           return caf::make_message(mcs_atom_v, std::string{"console"}, std::vector<std::string>{},
                                    true, text(a, 0), text(a, 1));
         },
         reply});
}

}  // namespace librarian::mcs
