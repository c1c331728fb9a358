// The one CAF type-ID block: every message type and atom of every actor family is listed here,
// and `register_types` (actors/types.cpp) adds them all to an actor_system_config. Every binary
// links it, so no node can receive a type it cannot decode (an unregistered type arrives as an
// empty message, silently).
#pragma once

#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/type_id.hpp>

namespace librarian::node {
struct member_info;
struct actor_status;
struct node_status;
struct user_info;
struct user_record;
struct token_record;
}  // namespace librarian::node

namespace librarian::rls {
struct mapping;
struct name_page;
struct mapping_page;
struct bulk_outcome;
struct bulk_lrcs;
}  // namespace librarian::rls

namespace librarian::lib {
struct stage_request;
struct stage_reply;
struct file_info;
struct file_query;
struct file_page;
struct instance_info;
struct store_info;
struct librarian_info;
struct add_librarian_request;
struct error_info;
struct error_query;
struct validation_item;
struct manifest_request;
struct manifest_page;
struct remote_dedupe_page;
struct bulk_stage_reply;
struct bulk_commit_request;
struct bulk_commit_reply;
struct import_request;
struct import_report;
struct import_batch;
}  // namespace librarian::lib

namespace librarian::transfer {
struct clone_item;
struct clone_stage;
struct clone_staged_item;
struct clone_staged;
struct clone_ticket_ask;
struct file_ticket;
struct clone_tickets;
struct clone_status_item;
struct clone_status;
struct clone_probe_item;
struct clone_probe;
struct clone_verify_item;
struct clone_verify;
struct clone_fetch;
struct batch_summary;
struct transfer_summary;
struct named_count;
struct replication_report;
}  // namespace librarian::transfer

namespace librarian::storage {
struct row_op;
}  // namespace librarian::storage

CAF_BEGIN_TYPE_ID_BLOCK(librarian, caf::first_custom_type_id)

CAF_ADD_TYPE_ID(librarian, (librarian::node::member_info))
CAF_ADD_TYPE_ID(librarian, (std::vector<librarian::node::member_info>))
CAF_ADD_TYPE_ID(librarian, (librarian::node::actor_status))
CAF_ADD_TYPE_ID(librarian, (std::vector<librarian::node::actor_status>))
CAF_ADD_TYPE_ID(librarian, (librarian::node::node_status))
CAF_ADD_TYPE_ID(librarian, (librarian::node::user_info))
CAF_ADD_TYPE_ID(librarian, (std::vector<librarian::node::user_info>))
CAF_ADD_TYPE_ID(librarian, (librarian::node::user_record))
CAF_ADD_TYPE_ID(librarian, (librarian::node::token_record))
CAF_ADD_TYPE_ID(librarian, (librarian::rls::mapping))
CAF_ADD_TYPE_ID(librarian, (librarian::rls::name_page))
CAF_ADD_TYPE_ID(librarian, (librarian::rls::mapping_page))
CAF_ADD_TYPE_ID(librarian, (std::vector<librarian::rls::mapping>))
CAF_ADD_TYPE_ID(librarian, (librarian::rls::bulk_outcome))
CAF_ADD_TYPE_ID(librarian, (librarian::rls::bulk_lrcs))
CAF_ADD_TYPE_ID(librarian, (std::vector<std::string>))
CAF_ADD_TYPE_ID(librarian, (librarian::lib::stage_request))
CAF_ADD_TYPE_ID(librarian, (librarian::lib::stage_reply))
CAF_ADD_TYPE_ID(librarian, (librarian::lib::file_info))
CAF_ADD_TYPE_ID(librarian, (librarian::lib::file_query))
CAF_ADD_TYPE_ID(librarian, (librarian::lib::file_page))
CAF_ADD_TYPE_ID(librarian, (librarian::lib::instance_info))
CAF_ADD_TYPE_ID(librarian, (librarian::lib::store_info))
CAF_ADD_TYPE_ID(librarian, (std::vector<librarian::lib::store_info>))
CAF_ADD_TYPE_ID(librarian, (librarian::lib::librarian_info))
CAF_ADD_TYPE_ID(librarian, (std::vector<librarian::lib::librarian_info>))
CAF_ADD_TYPE_ID(librarian, (librarian::lib::add_librarian_request))
CAF_ADD_TYPE_ID(librarian, (librarian::lib::error_info))
CAF_ADD_TYPE_ID(librarian, (std::vector<librarian::lib::error_info>))
CAF_ADD_TYPE_ID(librarian, (librarian::lib::error_query))
CAF_ADD_TYPE_ID(librarian, (librarian::lib::validation_item))
CAF_ADD_TYPE_ID(librarian, (std::vector<librarian::lib::validation_item>))
CAF_ADD_TYPE_ID(librarian, (librarian::storage::row_op))
CAF_ADD_TYPE_ID(librarian, (std::vector<librarian::storage::row_op>))
CAF_ADD_TYPE_ID(librarian, (librarian::lib::manifest_request))
CAF_ADD_TYPE_ID(librarian, (librarian::lib::manifest_page))
CAF_ADD_TYPE_ID(librarian, (librarian::transfer::clone_item))
CAF_ADD_TYPE_ID(librarian, (librarian::transfer::clone_stage))
CAF_ADD_TYPE_ID(librarian, (librarian::transfer::clone_staged_item))
CAF_ADD_TYPE_ID(librarian, (librarian::transfer::clone_staged))
CAF_ADD_TYPE_ID(librarian, (librarian::transfer::clone_ticket_ask))
CAF_ADD_TYPE_ID(librarian, (librarian::transfer::file_ticket))
CAF_ADD_TYPE_ID(librarian, (librarian::transfer::clone_tickets))
CAF_ADD_TYPE_ID(librarian, (librarian::transfer::clone_status_item))
CAF_ADD_TYPE_ID(librarian, (librarian::transfer::clone_status))
CAF_ADD_TYPE_ID(librarian, (librarian::transfer::clone_probe_item))
CAF_ADD_TYPE_ID(librarian, (librarian::transfer::clone_probe))
CAF_ADD_TYPE_ID(librarian, (librarian::transfer::clone_verify_item))
CAF_ADD_TYPE_ID(librarian, (librarian::transfer::clone_verify))
CAF_ADD_TYPE_ID(librarian, (librarian::transfer::clone_fetch))
CAF_ADD_TYPE_ID(librarian, (librarian::transfer::batch_summary))
CAF_ADD_TYPE_ID(librarian, (librarian::transfer::transfer_summary))
CAF_ADD_TYPE_ID(librarian, (librarian::transfer::named_count))
CAF_ADD_TYPE_ID(librarian, (librarian::transfer::replication_report))
CAF_ADD_TYPE_ID(librarian, (librarian::lib::remote_dedupe_page))
CAF_ADD_TYPE_ID(librarian, (std::vector<librarian::lib::stage_request>))
CAF_ADD_TYPE_ID(librarian, (librarian::lib::bulk_stage_reply))
CAF_ADD_TYPE_ID(librarian, (librarian::lib::bulk_commit_request))
CAF_ADD_TYPE_ID(librarian, (librarian::lib::bulk_commit_reply))
CAF_ADD_TYPE_ID(librarian, (librarian::lib::import_request))
CAF_ADD_TYPE_ID(librarian, (librarian::lib::import_report))
CAF_ADD_TYPE_ID(librarian, (librarian::lib::import_batch))

// Atoms are at most 10 characters in CAF 0.17.
CAF_ADD_ATOM(librarian, librarian::atoms, ping_atom, "ping")
CAF_ADD_ATOM(librarian, librarian::atoms, status_atom, "status")
CAF_ADD_ATOM(librarian, librarian::atoms, members_atom, "members")
CAF_ADD_ATOM(librarian, librarian::atoms, create_atom, "create")
CAF_ADD_ATOM(librarian, librarian::atoms, remove_atom, "remove")
CAF_ADD_ATOM(librarian, librarian::atoms, passwd_atom, "passwd")
CAF_ADD_ATOM(librarian, librarian::atoms, role_atom, "role")
CAF_ADD_ATOM(librarian, librarian::atoms, lookup_atom, "lookup")
CAF_ADD_ATOM(librarian, librarian::atoms, list_atom, "list")
CAF_ADD_ATOM(librarian, librarian::atoms, creds_atom, "creds")
CAF_ADD_ATOM(librarian, librarian::atoms, token_atom, "token")
CAF_ADD_ATOM(librarian, librarian::atoms, resolve_atom, "resolve")
CAF_ADD_ATOM(librarian, librarian::atoms, bootstrap_atom, "bootstrap")
CAF_ADD_ATOM(librarian, librarian::atoms, ask_atom, "ask")
CAF_ADD_ATOM(librarian, librarian::atoms, inject_atom, "inject")
CAF_ADD_ATOM(librarian, librarian::atoms, hello_atom, "hello")
CAF_ADD_ATOM(librarian, librarian::atoms, deliver_atom, "deliver")
CAF_ADD_ATOM(librarian, librarian::atoms, forward_atom, "forward")
CAF_ADD_ATOM(librarian, librarian::atoms, peer_up_atom, "peerup")
CAF_ADD_ATOM(librarian, librarian::atoms, peer_down_atom, "peerdown")
CAF_ADD_ATOM(librarian, librarian::atoms, tick_atom, "tick")
CAF_ADD_ATOM(librarian, librarian::atoms, committed_atom, "committed")
CAF_ADD_ATOM(librarian, librarian::atoms, shutdown_atom, "shutdown")
CAF_ADD_ATOM(librarian, librarian::atoms, restart_atom, "restart")
CAF_ADD_ATOM(librarian, librarian::atoms, connect_to_atom, "connectto")
CAF_ADD_ATOM(librarian, librarian::atoms, subscribe_atom, "subscribe")
CAF_ADD_ATOM(librarian, librarian::atoms, actors_atom, "actors")
CAF_ADD_ATOM(librarian, librarian::atoms, crash_atom, "crash")
CAF_ADD_ATOM(librarian, librarian::atoms, depth_atom, "depth")
CAF_ADD_ATOM(librarian, librarian::atoms, add_atom, "add")
CAF_ADD_ATOM(librarian, librarian::atoms, rename_atom, "rename")
CAF_ADD_ATOM(librarian, librarian::atoms, exists_atom, "exists")
CAF_ADD_ATOM(librarian, librarian::atoms, query_atom, "query")
CAF_ADD_ATOM(librarian, librarian::atoms, query_pfn_atom, "querypfn")
CAF_ADD_ATOM(librarian, librarian::atoms, wildcard_atom, "wildcard")
CAF_ADD_ATOM(librarian, librarian::atoms, count_atom, "count")
CAF_ADD_ATOM(librarian, librarian::atoms, rli_begin_atom, "rlibegin")
CAF_ADD_ATOM(librarian, librarian::atoms, rli_chunk_atom, "rlichunk")
CAF_ADD_ATOM(librarian, librarian::atoms, rli_end_atom, "rliend")
CAF_ADD_ATOM(librarian, librarian::atoms, rli_next_atom, "rlinext")
CAF_ADD_ATOM(librarian, librarian::atoms, rli_tick_atom, "rlitick")
CAF_ADD_ATOM(librarian, librarian::atoms, rli_incr_atom, "rliincr")
CAF_ADD_ATOM(librarian, librarian::atoms, rli_bloom_atom, "rlibloom")
CAF_ADD_ATOM(librarian, librarian::atoms, rli_resync_atom, "rliresync")
CAF_ADD_ATOM(librarian, librarian::atoms, rli_fwd_atom, "rlifwd")
CAF_ADD_ATOM(librarian, librarian::atoms, rli_flush_atom, "rliflush")
CAF_ADD_ATOM(librarian, librarian::atoms, rli_bnext_atom, "rlibnext")
CAF_ADD_ATOM(librarian, librarian::atoms, rli_lost_atom, "rlilost")
CAF_ADD_ATOM(librarian, librarian::atoms, targets_atom, "targets")
CAF_ADD_ATOM(librarian, librarian::atoms, stage_atom, "stage")
CAF_ADD_ATOM(librarian, librarian::atoms, commit_atom, "commit")
CAF_ADD_ATOM(librarian, librarian::atoms, cancel_atom, "cancel")
CAF_ADD_ATOM(librarian, librarian::atoms, fetch_atom, "fetch")
CAF_ADD_ATOM(librarian, librarian::atoms, search_atom, "search")
CAF_ADD_ATOM(librarian, librarian::atoms, validate_atom, "validate")
CAF_ADD_ATOM(librarian, librarian::atoms, stores_atom, "stores")
CAF_ADD_ATOM(librarian, librarian::atoms, store_set_atom, "storeset")
CAF_ADD_ATOM(librarian, librarian::atoms, peers_atom, "peers")
CAF_ADD_ATOM(librarian, librarian::atoms, peer_add_atom, "peeradd")
CAF_ADD_ATOM(librarian, librarian::atoms, transfers_atom, "transfers")
CAF_ADD_ATOM(librarian, librarian::atoms, errors_atom, "errors")
CAF_ADD_ATOM(librarian, librarian::atoms, clear_atom, "clear")
CAF_ADD_ATOM(librarian, librarian::atoms, reap_atom, "reap")
CAF_ADD_ATOM(librarian, librarian::atoms, attach_atom, "attach")
CAF_ADD_ATOM(librarian, librarian::atoms, mkdir_atom, "mkdir")
CAF_ADD_ATOM(librarian, librarian::atoms, verify_atom, "verify")
CAF_ADD_ATOM(librarian, librarian::atoms, digest_atom, "digest")
CAF_ADD_ATOM(librarian, librarian::atoms, sweep_atom, "sweep")
CAF_ADD_ATOM(librarian, librarian::atoms, prepare_atom, "prepare")
CAF_ADD_ATOM(librarian, librarian::atoms, integrity_atom, "integrity")
CAF_ADD_ATOM(librarian, librarian::atoms, mcs_atom, "mcs")
CAF_ADD_ATOM(librarian, librarian::atoms, manifest_atom, "manifest")
CAF_ADD_ATOM(librarian, librarian::atoms, have_atom, "have")
CAF_ADD_ATOM(librarian, librarian::atoms, remote_add_atom, "remoteadd")
CAF_ADD_ATOM(librarian, librarian::atoms, run_atom, "run")
CAF_ADD_ATOM(librarian, librarian::atoms, sneaker_atom, "sneaker")
CAF_ADD_ATOM(librarian, librarian::atoms, corrupt_atom, "corrupt")
CAF_ADD_ATOM(librarian, librarian::atoms, instance_add_atom, "instadd")
CAF_ADD_ATOM(librarian, librarian::atoms, instance_drop_atom, "instdrop")
CAF_ADD_ATOM(librarian, librarian::atoms, moved_atom, "moved")
CAF_ADD_ATOM(librarian, librarian::atoms, report_atom, "report")
CAF_ADD_ATOM(librarian, librarian::atoms, dedupe_atom, "dedupe")
CAF_ADD_ATOM(librarian, librarian::atoms, bulk_atom, "bulk")
CAF_ADD_ATOM(librarian, librarian::atoms, import_atom, "import")

CAF_END_TYPE_ID_BLOCK(librarian)

namespace librarian {
// Adds every type of the block (and the error category) to a config. Defined in actors/types.cpp.
void register_types(caf::actor_system_config& cfg);
}  // namespace librarian
