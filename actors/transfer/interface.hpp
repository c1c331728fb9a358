// The transfer family's public contract: the replicator's typed handle and the CAF inspection of
// its messages (the replication protocol between librarians, messages.hpp).
#pragma once

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/transfer/messages.hpp"
#include "runtime/type_ids.hpp"

namespace librarian::transfer {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, clone_item& x) {
  return f(caf::meta::type_name("clone_item"), x.source_id, x.name, x.size, x.checksum);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, clone_stage& x) {
  return f(caf::meta::type_name("clone_stage"), x.from, x.batch_id, x.items);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, clone_staged_item& x) {
  return f(caf::meta::type_name("clone_staged_item"), x.source_id, x.incoming_id, x.code, x.message,
           x.relative, x.staging_path, x.endpoint_path, x.existing_checksum);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, clone_staged& x) {
  return f(caf::meta::type_name("clone_staged"), x.from, x.batch_id, x.batch_dir, x.data_host,
           x.data_port, x.destination_endpoint, x.items, x.gridftp_url);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, clone_ticket_ask& x) {
  return f(caf::meta::type_name("clone_ticket_ask"), x.from, x.batch_id, x.incoming_ids);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, file_ticket& x) {
  return f(caf::meta::type_name("file_ticket"), x.incoming_id, x.ticket);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, clone_tickets& x) {
  return f(caf::meta::type_name("clone_tickets"), x.from, x.batch_id, x.code, x.message,
           x.tree_ticket, x.file_tickets);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, clone_status_item& x) {
  return f(caf::meta::type_name("clone_status_item"), x.source_id, x.incoming_id, x.status,
           x.message, x.store_id);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, clone_status& x) {
  return f(caf::meta::type_name("clone_status"), x.from, x.items);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, clone_probe_item& x) {
  return f(caf::meta::type_name("clone_probe_item"), x.source_id, x.incoming_id, x.name, x.status,
           x.file_checksum);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, clone_probe& x) {
  return f(caf::meta::type_name("clone_probe"), x.from, x.outgoing, x.answer, x.items);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, clone_verify_item& x) {
  return f(caf::meta::type_name("clone_verify_item"), x.name, x.checksum, x.ok, x.message);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, clone_verify& x) {
  return f(caf::meta::type_name("clone_verify"), x.from, x.answer, x.items);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, clone_fetch& x) {
  return f(caf::meta::type_name("clone_fetch"), x.from, x.answer, x.name, x.checksum, x.code,
           x.message, x.host, x.port, x.ticket, x.size);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, batch_summary& x) {
  return f(caf::meta::type_name("batch_summary"), x.id, x.destination, x.mover, x.state, x.files,
           x.bytes_total, x.bytes_done, x.retries, x.age_ms, x.rate_bytes_per_s, x.message);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, transfer_summary& x) {
  return f(caf::meta::type_name("transfer_summary"), x.id, x.outgoing, x.peer, x.file, x.status,
           x.age_ms);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, named_count& x) {
  return f(caf::meta::type_name("named_count"), x.name, x.count);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_summary& x) {
  return f(caf::meta::type_name("task_summary"), x.name, x.runs, x.micros_sum, x.micros_max,
           x.outcomes);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replication_report& x) {
  return f(caf::meta::type_name("replication_report"), x.node, x.outgoing, x.incoming, x.batches,
           x.active, x.overdue, x.counters, x.tasks);
}

using namespace librarian::atoms;

// The replicator: the replication pipeline of this node (DESIGN.md §7). Peers' messages arrive
// through the transport; the background tasks are messages to itself on timers.
using replicator_actor = caf::typed_actor<
    caf::reacts_to<clone_stage>, caf::reacts_to<clone_staged>, caf::reacts_to<clone_ticket_ask>,
    caf::reacts_to<clone_tickets>, caf::reacts_to<clone_status>, caf::reacts_to<clone_probe>,
    caf::reacts_to<clone_verify>, caf::reacts_to<clone_fetch>,
    // SneakerNet. At the source: (destination in `from`, files, their instance paths) -> the same
    // files with their outgoing transfer ids in source_id. At the destination: stage files a
    // drive brings (-> where to copy them), then mark them copied (-> the statuses here).
    caf::replies_to<sneaker_atom, clone_stage, std::vector<std::string>>::with<clone_stage>,
    caf::replies_to<sneaker_atom, clone_stage>::with<clone_staged>,
    caf::replies_to<sneaker_atom, clone_status>::with<clone_status>,
    // (task kind, index in its config list): one run of a background task.
    caf::reacts_to<run_atom, uint8_t, uint32_t>,
    // A blocking mover call finished on the runner; its continuation is waiting in the shell.
    caf::reacts_to<moved_atom, uint64_t>, caf::replies_to<report_atom>::with<replication_report>,
    // Cancels every live outgoing transfer to a peer (-> how many), e.g. before removing it.
    caf::replies_to<cancel_atom, std::string>::with<uint64_t>,
    caf::replies_to<depth_atom>::with<uint64_t>,
    caf::reacts_to<committed_atom, uint64_t, uint8_t, std::string>>;

}  // namespace librarian::transfer
