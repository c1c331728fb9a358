#include "actors/node/console_messages.hpp"

#include "actors/node/interface.hpp"
#include "actors/node/users_state.hpp"
#include "runtime/crypto/crypto.hpp"

namespace librarian::node {
namespace {

using console::arg_type;
using console::value;

const std::string& text_arg(const std::vector<value>& args, size_t i) {
  return std::get<std::string>(args.at(i));
}

// Passwords are hashed here, in the console process: the plain text never crosses the wire.
expected<std::string> password_hash(const std::string& password) {
  if (auto st = validate_password(password); !st) return st.err();
  return crypto::hash_password(password);
}

template <class... Ts>
expected<caf::message> message_of(Ts&&... xs) {
  return caf::make_message(std::forward<Ts>(xs)...);
}

void add_node_entries(message_catalog& c) {
  c.add({{"node", "status", {}, "this node's name, incarnation, uptime and actors"},
         [](const std::vector<value>&) { return message_of(status_atom_v); },
         typed_ask<node_status>([](const node_status& st) { return to_text(st); })});
  c.add({{"node", "actors", {}, "the supervised actors: NAME STATE restarts=N mailbox=N"},
         [](const std::vector<value>&) { return message_of(actors_atom_v); },
         typed_ask<std::vector<actor_status>>([](const std::vector<actor_status>& xs) {
           return print_lines(xs, [](const actor_status& a) {
             return a.name + " " + a.state + " restarts=" + std::to_string(a.restarts) +
                    " mailbox=" + std::to_string(a.mailbox_depth);
           });
         })});
  c.add({{"node",
          "crash",
          {{"ACTOR", arg_type::name}},
          "kill one actor to exercise the supervisor (it restarts from disk)"},
         [](const std::vector<value>& a) { return message_of(crash_atom_v, text_arg(a, 0)); },
         empty_ask()});
  c.add({{"membership", "members", {}, "one line per member: NAME STATE ADDRESS incarnation=N"},
         [](const std::vector<value>&) { return message_of(members_atom_v); },
         typed_ask<std::vector<member_info>>([](const std::vector<member_info>& xs) {
           return print_lines(xs, [](const member_info& m) { return to_text(m); });
         })});
}

void add_user_entries(message_catalog& c) {
  auto print_user = typed_ask<user_info>([](const user_info& u) { return to_text(u); });
  c.add(
      {{"users",
        "create",
        {{"NAME", arg_type::name}, {"PASSWORD", arg_type::string}, {"ROLE", arg_type::role}},
        "create a user (the password is hashed before it is sent)"},
       [](const std::vector<value>& a) -> expected<caf::message> {
         auto hash = password_hash(text_arg(a, 1));
         if (!hash) return hash.err();
         return message_of(create_atom_v, user_record{text_arg(a, 0), text_arg(a, 2), *hash, 0, 0});
       },
       print_user});
  c.add({{"users", "remove", {{"NAME", arg_type::name}}, "delete a user and their tokens"},
         [](const std::vector<value>& a) { return message_of(remove_atom_v, text_arg(a, 0)); },
         print_user});
  c.add({{"users",
          "passwd",
          {{"NAME", arg_type::name}, {"PASSWORD", arg_type::string}},
          "set a user's password"},
         [](const std::vector<value>& a) -> expected<caf::message> {
           auto hash = password_hash(text_arg(a, 1));
           if (!hash) return hash.err();
           return message_of(passwd_atom_v, text_arg(a, 0), *hash);
         },
         print_user});
  c.add(
      {{"users", "role", {{"NAME", arg_type::name}, {"ROLE", arg_type::role}}, "set a user's role"},
       [](const std::vector<value>& a) {
         return message_of(role_atom_v, text_arg(a, 0), text_arg(a, 1));
       },
       print_user});
  c.add({{"users", "lookup", {{"NAME", arg_type::name}}, "one user: NAME ROLE created=MS"},
         [](const std::vector<value>& a) { return message_of(lookup_atom_v, text_arg(a, 0)); },
         print_user});
  c.add({{"users", "list", {}, "every user, one per line"},
         [](const std::vector<value>&) { return message_of(list_atom_v); },
         typed_ask<std::vector<user_info>>([](const std::vector<user_info>& xs) {
           return print_lines(xs, [](const user_info& u) { return to_text(u); });
         })});
}

}  // namespace

std::string to_text(const member_info& m) {
  return m.name + " " + m.state + " " + m.address + " incarnation=" + std::to_string(m.incarnation);
}

std::string to_text(const user_info& u) {
  return u.name + " " + u.role + " created=" + std::to_string(u.created_unix_ms);
}

std::string to_text(const node_status& st) {
  std::string out = "name=" + st.name + "\nversion=" + st.version +
                    "\nincarnation=" + std::to_string(st.incarnation) +
                    "\nfirst_started_unix_ms=" + std::to_string(st.first_started_unix_ms) +
                    "\nstarted_unix_ms=" + std::to_string(st.started_unix_ms) +
                    "\nuptime_ms=" + std::to_string(st.uptime_ms) + "\n";
  for (const auto& a : st.actors)
    out += "actor " + a.name + " " + a.state + " restarts=" + std::to_string(a.restarts) + "\n";
  return out;
}

void add_console_messages(message_catalog& catalog) {
  add_node_entries(catalog);
  add_user_entries(catalog);
}

}  // namespace librarian::node
