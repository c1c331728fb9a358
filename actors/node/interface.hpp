// The node family's public contract: its actors' typed handles and the CAF inspection of its
// messages. Other families include only this header.
#pragma once

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/node/messages.hpp"
#include "runtime/type_ids.hpp"

namespace librarian::node {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_info& x) {
  return f(caf::meta::type_name("member_info"), x.name, x.address, x.state, x.since_unix_ms,
           x.last_seen_unix_ms, x.incarnation);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor_status& x) {
  return f(caf::meta::type_name("actor_status"), x.name, x.state, x.restarts, x.mailbox_depth);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_status& x) {
  return f(caf::meta::type_name("node_status"), x.name, x.version, x.incarnation,
           x.first_started_unix_ms, x.started_unix_ms, x.uptime_ms, x.actors);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_info& x) {
  return f(caf::meta::type_name("user_info"), x.name, x.role, x.created_unix_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_record& x) {
  return f(caf::meta::type_name("user_record"), x.name, x.role, x.password_hash, x.created_unix_ms,
           x.password_changed_unix_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_record& x) {
  return f(caf::meta::type_name("token_record"), x.token_sha256, x.user, x.created_unix_ms,
           x.expires_unix_ms);
}

using namespace librarian::atoms;

// The user table: accounts, roles, password hashes and bearer tokens.
using users_actor =
    caf::typed_actor<caf::replies_to<create_atom, user_record>::with<user_info>,
                     caf::replies_to<remove_atom, std::string>::with<user_info>,
                     caf::replies_to<passwd_atom, std::string, std::string>::with<user_info>,
                     caf::replies_to<role_atom, std::string, std::string>::with<user_info>,
                     caf::replies_to<lookup_atom, std::string>::with<user_info>,
                     caf::replies_to<list_atom>::with<std::vector<user_info>>,
                     // In-process only (not in the console catalog): what authentication needs.
                     caf::replies_to<creds_atom, std::string>::with<user_record>,
                     caf::replies_to<token_atom, token_record>::with<token_record>,
                     caf::replies_to<resolve_atom, std::string>::with<user_record>,
                     // Creates the user as ADMIN if and only if no user exists yet; answers whether
                     // it did.
                     caf::replies_to<bootstrap_atom, user_record>::with<bool>,
                     // Mailbox depth, polled by the node for /metrics.
                     caf::replies_to<depth_atom>::with<uint64_t>,
                     caf::reacts_to<committed_atom, uint64_t, uint8_t, std::string>>;

// The membership view: one row per configured peer plus this node.
using membership_actor =
    caf::typed_actor<caf::replies_to<members_atom>::with<std::vector<member_info>>,
                     caf::replies_to<depth_atom>::with<uint64_t>,
                     caf::reacts_to<peer_up_atom, std::string, std::string, uint64_t>,
                     caf::reacts_to<peer_down_atom, std::string>,
                     caf::reacts_to<committed_atom, uint64_t, uint8_t, std::string>>;

}  // namespace librarian::node
