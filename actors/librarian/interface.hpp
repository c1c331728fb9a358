// The librarian family's public contract: the librarian actor's typed handle and the CAF
// inspection of its messages. Other families (and the HTTP API) include only this header.
#pragma once

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/librarian/messages.hpp"
#include "runtime/type_ids.hpp"
#include "storage/row_op.hpp"

namespace librarian::lib {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_request& x) {
  return f(caf::meta::type_name("stage_request"), x.name, x.size, x.checksum, x.uploader,
           x.deletion_policy, x.store, x.group);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stage_reply& x) {
  return f(caf::meta::type_name("stage_reply"), x.upload_id, x.name, x.store, x.staging_dir,
           x.staging_file, x.already_present, x.ticket, x.expires_unix_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bulk_stage_reply& x) {
  return f(caf::meta::type_name("bulk_stage_reply"), x.group_dir, x.items, x.codes, x.messages);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bulk_commit_request& x) {
  return f(caf::meta::type_name("bulk_commit_request"), x.upload_ids, x.checksums);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bulk_commit_reply& x) {
  return f(caf::meta::type_name("bulk_commit_reply"), x.files, x.codes, x.messages);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, import_request& x) {
  return f(caf::meta::type_name("import_request"), x.store, x.under, x.after, x.files_max,
           x.dry_run, x.uploader);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, import_report& x) {
  return f(caf::meta::type_name("import_report"), x.files_seen, x.imported, x.already_present,
           x.instances_added, x.failed, x.bytes_hashed, x.complete, x.next_after, x.problems);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, import_batch& x) {
  return f(caf::meta::type_name("import_batch"), x.paths, x.sizes, x.checksums, x.errors,
           x.complete);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, instance_info& x) {
  return f(caf::meta::type_name("instance_info"), x.id, x.store, x.path, x.available,
           x.deletion_policy, x.created_unix_ms, x.cached_checksum, x.checksum_unix_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remote_instance_info& x) {
  return f(caf::meta::type_name("remote_instance_info"), x.librarian, x.store_id, x.copy_unix_ms,
           x.sender);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, file_info& x) {
  return f(caf::meta::type_name("file_info"), x.name, x.size, x.checksum, x.uploader, x.source,
           x.create_unix_ms, x.instances, x.remote_instances);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, file_query& x) {
  return f(caf::meta::type_name("file_query"), x.name_glob, x.create_from_unix_ms,
           x.create_to_unix_ms, x.uploader, x.source, x.size_min, x.size_max, x.store, x.checksum,
           x.has_remote_at, x.lacks_remote_at, x.after, x.max_results);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, file_page& x) {
  return f(caf::meta::type_name("file_page"), x.files, x.more, x.truncated, x.next_after);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, store_info& x) {
  return f(caf::meta::type_name("store_info"), x.name, x.type, x.staging_path, x.store_path,
           x.ingestable, x.enabled, x.capacity_bytes, x.used_bytes, x.reserved_bytes, x.free_bytes,
           x.instances, x.report_full_fraction);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, librarian_info& x) {
  return f(caf::meta::type_name("librarian_info"), x.name, x.url, x.port, x.transfers_enabled,
           x.added_unix_ms, x.last_seen_unix_ms, x.ping_state, x.rtt_us, x.ping_error);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, add_librarian_request& x) {
  return f(caf::meta::type_name("add_librarian_request"), x.name, x.url, x.port, x.authenticator,
           x.check_connection);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, error_info& x) {
  return f(caf::meta::type_name("error_info"), x.id, x.severity, x.category, x.message, x.caller,
           x.raised_unix_ms, x.cleared, x.cleared_unix_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, error_query& x) {
  return f(caf::meta::type_name("error_query"), x.id, x.severity, x.category, x.from_unix_ms,
           x.to_unix_ms, x.include_resolved, x.max_results);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, validation_item& x) {
  return f(caf::meta::type_name("validation_item"), x.librarian, x.store, x.instance_id, x.path,
           x.original_checksum, x.original_size, x.current_checksum, x.current_size, x.match,
           x.problem);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, manifest_request& x) {
  return f(caf::meta::type_name("manifest_request"), x.store, x.destination_librarian,
           x.disable_store, x.mark_unavailable, x.after, x.max_entries);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, manifest_entry& x) {
  return f(caf::meta::type_name("manifest_entry"), x.name, x.create_unix_ms, x.size, x.checksum,
           x.uploader, x.source, x.instance_path, x.deletion_policy, x.instance_create_unix_ms,
           x.instance_available);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remote_dedupe_page& x) {
  return f(caf::meta::type_name("remote_dedupe_page"), x.removed, x.index_repaired, x.next);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, manifest_page& x) {
  return f(caf::meta::type_name("manifest_page"), x.librarian_name, x.store_name,
           x.destination_librarian, x.entries, x.more, x.next_after);
}

using namespace librarian::atoms;

// The librarian: this node's catalog of files, stores, peers and errors (reference §2).
// Caller names and ADMIN-ness come from the API's authentication, never from a body.
using librarian_actor = caf::typed_actor<
    caf::replies_to<stage_atom, stage_request>::with<stage_reply>,
    // (upload id, caller, caller is ADMIN): verify the staged bytes, move them into the store and
    // record File + Instance + LRC mapping in one batch.
    caf::replies_to<commit_atom, uint64_t, std::string, bool>::with<file_info>,
    // The same with the checksum declared at commit (required when the stage had none).
    caf::replies_to<commit_atom, uint64_t, std::string, bool, std::string>::with<file_info>,
    // Bulk: many stages in one batch under one staging group; many commits recorded in one
    // batch with their LRC mappings (caller, caller is ADMIN). Per-item outcomes.
    caf::replies_to<stage_atom, std::vector<stage_request>>::with<bulk_stage_reply>,
    caf::replies_to<commit_atom, bulk_commit_request, std::string, bool>::with<bulk_commit_reply>,
    // Registers files already under a store's path (stores/import), a bounded number per call.
    caf::replies_to<import_atom, import_request>::with<import_report>,
    // The same, with rows of another family written in the same batch (recv_clone's transfer
    // status: the file and its COMPLETED transfer commit together).
    caf::replies_to<commit_atom, uint64_t, std::string, bool,
                    std::vector<storage::row_op>>::with<file_info>,
    // Committed files' checksums by name ("" for a name with no file).
    caf::replies_to<have_atom, std::vector<std::string>>::with<std::vector<std::string>>,
    // (file, librarian, store id at it, sender, extra rows): record a remote instance, with the
    // caller's rows in the same batch (the replicator's COMPLETED transfer).
    // (name, store, path): a verified copy now lives at path; record it as an instance (and its
    // LRC mapping, same batch). create_local_clone.
    caf::replies_to<instance_add_atom, std::string, std::string, std::string>::with<instance_info>,
    // (name, instance id, keep row as unavailable): commit the instance's end, drop its LRC
    // mapping, then delete its bytes; replies once they are gone. rolling_deletion.
    caf::replies_to<instance_drop_atom, std::string, uint64_t, bool>::with<instance_info>,
    // Instances with an open CorruptFile row, as manifest entries (name, size, the catalog's
    // checksum, instance_path): what corruption_fixer repairs. At most `max`.
    caf::replies_to<corrupt_atom, uint64_t>::with<manifest_page>,
    caf::replies_to<remote_add_atom, std::string, std::string, uint64_t, std::string,
                    std::vector<storage::row_op>>::with<bool>,
    // (cursor): one committed page of duplicate_remote_instance_hypervisor's pass.
    caf::replies_to<dedupe_atom, std::string>::with<remote_dedupe_page>,
    // (upload id, caller, caller is ADMIN): drop an open upload and its staging directory.
    caf::replies_to<cancel_atom, uint64_t, std::string, bool>::with<uint64_t>,
    caf::replies_to<lookup_atom, std::string>::with<file_info>,
    caf::replies_to<fetch_atom, std::string>::with<instance_info>,  // best local instance
    caf::replies_to<search_atom, file_query>::with<file_page>,
    caf::replies_to<validate_atom, std::string>::with<std::vector<validation_item>>,
    caf::replies_to<stores_atom>::with<std::vector<store_info>>,
    caf::replies_to<store_set_atom, std::string, bool>::with<store_info>,
    caf::replies_to<manifest_atom, manifest_request>::with<manifest_page>,
    caf::replies_to<peers_atom, bool>::with<std::vector<librarian_info>>,  // bool: ping them
    caf::replies_to<peer_add_atom, add_librarian_request>::with<librarian_info>,
    caf::replies_to<remove_atom, std::string>::with<librarian_info>,
    caf::replies_to<transfers_atom, std::string, bool>::with<librarian_info>,
    caf::replies_to<errors_atom, error_query>::with<std::vector<error_info>>,
    caf::replies_to<clear_atom, uint64_t>::with<error_info>,
    caf::replies_to<depth_atom>::with<uint64_t>,
    caf::reacts_to<committed_atom, uint64_t, uint8_t, std::string>, caf::reacts_to<reap_atom>,
    // check_integrity (task index, cursor): one batch of a pass over a store; the next batch and
    // the next pass are messages to itself.
    caf::reacts_to<integrity_atom, uint32_t, std::string>>;

}  // namespace librarian::lib
