#include "runtime/caf/catalog.hpp"

#include <algorithm>
#include <set>

namespace librarian {

std::vector<std::string> message_catalog::actors() const {
  std::set<std::string> names;
  for (const auto& e : entries_) names.insert(e.signature.actor);
  return {names.begin(), names.end()};
}

expected<std::string> message_catalog::help(std::string_view actor,
                                            std::string_view message) const {
  std::ostringstream out;
  if (actor.empty()) {
    out << "commands: send ACTOR MESSAGE ARGS..., ask ACTOR MESSAGE ARGS... [within D] [=> "
           "EXPECT],\n"
        << "          members, help [ACTOR [MESSAGE]], sleep D, set timeout D, echo TEXT, quit\n"
        << "actors and their messages (help ACTOR for arguments):\n";
    for (const auto& name : actors()) {
      out << "  " << name << ":";
      for (const auto& e : entries_)
        if (e.signature.actor == name) out << " " << e.signature.message;
      out << "\n";
    }
    return out.str();
  }
  bool any = false;
  for (const auto& e : entries_) {
    if (e.signature.actor != actor || (!message.empty() && e.signature.message != message))
      continue;
    out << console::help_line(e.signature) << "\n";
    any = true;
  }
  if (!any)
    return fail(errc::not_found, "no " + std::string{actor} +
                                     (message.empty() ? "" : " " + std::string{message}) +
                                     " in the catalog; `help` lists every actor");
  return out.str();
}

}  // namespace librarian

namespace librarian {

expected<prepared_message> prepare_message(const message_catalog& catalog, const std::string& actor,
                                           const std::string& message,
                                           const std::vector<console::token>& args) {
  const auto* entry = catalog.find(actor, message);
  if (!entry) {
    auto actors = catalog.actors();
    bool known_actor = std::find(actors.begin(), actors.end(), actor) != actors.end();
    if (!known_actor)
      return fail(errc::invalid_argument,
                  "unknown actor '" + actor + "'; `help` lists the actors and their messages");
    return fail(errc::invalid_argument, "actor '" + actor + "' has no message '" + message +
                                            "'; `help " + actor + "` lists its messages");
  }
  auto values = console::bind_args(entry->signature, args);
  if (!values) return values.err();
  auto payload = entry->build(*values);
  if (!payload) return payload.err();
  return prepared_message{entry, std::move(*payload)};
}

}  // namespace librarian
