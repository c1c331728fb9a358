// The replication pipeline's state machine (no CAF, no I/O): outgoing transfers, incoming transfers
// and batches over RocksDB. Like the librarian's catalog_state, every mutation validates first,
// then appends the rows to write to a storage::row_list the actor shell commits; a refused mutation
// appends nothing and changes nothing. Live rows are held in memory (authoritative); terminal rows
// leave memory and stay on disk as history. If a commit fails the shell calls load() again.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "actors/transfer/messages.hpp"
#include "actors/transfer/records.hpp"
#include "runtime/config.hpp"
#include "runtime/expected.hpp"
#include "storage/db.hpp"
#include "storage/row_op.hpp"

namespace librarian::transfer {

// A file send_clone chose for a peer, with the local instance to read.
struct send_candidate {
  std::string name;
  uint64_t size = 0;
  std::string checksum;
  std::string source_path;
};

// ---- hypervisor decisions (docs/replication.md, "What the hypervisors reconcile")
enum class verdict_kind : uint8_t { leave, complete, fail, adopt };
struct verdict {
  verdict_kind kind = verdict_kind::leave;
  xfer_status to = xfer_status::failed;  // adopt: the status to take
  std::string why;
};
// A asked B about an outgoing transfer: B's incoming status (or status_unknown) and B's committed
// file of that name (checksum, or "").
[[nodiscard]] verdict reconcile_outgoing(const outgoing_row& mine, uint8_t peer_status,
                                         const std::string& peer_file_checksum);
// B asked A about an incoming transfer: A's outgoing status (or status_unknown).
[[nodiscard]] verdict reconcile_incoming(const incoming_row& mine, uint8_t peer_status);

// The submission id of a batch's attempt: stable for (node, batch, attempt), different per attempt,
// UUID-shaped (Globus wants one).
[[nodiscard]] std::string submission_id_for(const std::string& node, uint64_t batch_id,
                                            uint32_t attempt);

class replication_state {
 public:
  replication_state(const storage::db& db, std::string node_name, replication_config cfg);

  [[nodiscard]] status load();

  // ================================================================= sending side (A)
  [[nodiscard]] bool has_live_outgoing(const std::string& destination,
                                       const std::string& file) const;
  // Batches to this peer not yet done (staging, queued, ticketing or active).
  [[nodiscard]] size_t open_batches(const std::string& destination) const;
  // New batch in `staging` with one INITIATED outgoing transfer per candidate (skipping files
  // with a live transfer to the peer). not_found if nothing is left to send.
  [[nodiscard]] expected<batch_row> create_batch(const std::string& destination,
                                                 const std::string& mover, int32_t priority,
                                                 const std::vector<send_candidate>& files,
                                                 int64_t now_unix_ms, storage::row_list& rows);
  // The stage request for a batch in `staging` (resent until the peer answers).
  [[nodiscard]] expected<clone_stage> stage_message(uint64_t batch_id) const;

  // SneakerNet (get-store-manifest --destination-librarian): one ONGOING outgoing transfer per
  // file, the bytes travelling on a drive; the peer's ingest-manifest names these ids and its
  // callback completes them. A file with a live transfer to the peer keeps it (a re-run is safe).
  // Returns the ids in the order of `files`.
  [[nodiscard]] expected<std::vector<uint64_t>> sneakernet_transfers(
      const std::string& destination, const std::vector<send_candidate>& files, int64_t now_unix_ms,
      storage::row_list& rows);

  // The peer's answer. Staged items get their remote id and paths; the batch becomes `queued`.
  // Refused items fail; items the peer already has are returned in `present` for the shell to
  // adopt (it records the remote instance, then calls complete_outgoing).
  struct staged_outcome {
    std::vector<uint64_t> present;  // outgoing ids whose file the peer has with our checksum
    std::vector<std::pair<uint64_t, std::string>> refused;  // (outgoing id, file) now FAILED
  };
  [[nodiscard]] expected<staged_outcome> on_staged(const clone_staged& answer, int64_t now_unix_ms,
                                                   storage::row_list& rows);

  // consume_queue: queued batches whose time has come, highest priority then oldest first, within
  // the global and per-peer limits. peer_enabled says whether a destination takes transfers now.
  [[nodiscard]] std::vector<uint64_t> ready_batches(
      int64_t now_unix_ms, const std::function<bool(const std::string&)>& peer_enabled) const;
  // Batch moves: queued -> ticketing (native) or -> active (the others). Sets a new submission id.
  [[nodiscard]] expected<batch_row> start_batch(uint64_t batch_id, bool needs_tickets,
                                                int64_t now_unix_ms, storage::row_list& rows);
  // The peer issued tickets: ticketing -> active. Returns the mover job's files.
  [[nodiscard]] expected<batch_row> batch_submitted(uint64_t batch_id, const std::string& task_id,
                                                    int64_t now_unix_ms, storage::row_list& rows);
  // The mover job as the mover interface wants it.
  struct job_file {
    uint64_t transfer_id = 0;
    std::string source_path;
    std::string dest_relative;
    std::string dest_path;
    uint64_t size = 0;
    std::string checksum;
    uint64_t remote_id = 0;
  };
  [[nodiscard]] std::vector<job_file> job_files(uint64_t batch_id) const;

  // The mover finished the batch: every transfer of it still live becomes STAGED (except the
  // failed ones, listed by outgoing id). Returns the STAGED notices for the peer.
  [[nodiscard]] expected<clone_status> batch_succeeded(
      uint64_t batch_id, const std::set<uint64_t>& failed_ids, bool failed_retryable,
      const std::string& why, uint64_t bytes_done, int64_t now_unix_ms, storage::row_list& rows);
  // The attempt failed as a whole. Retryable and retries left: back to queued after a backoff
  // (jitter drawn by the caller, in [0,1)). Otherwise the batch and its live transfers fail;
  // returns the FAILED notices for the peer.
  [[nodiscard]] expected<clone_status> batch_attempt_failed(uint64_t batch_id, bool retryable,
                                                            const std::string& why, double jitter,
                                                            int64_t now_unix_ms,
                                                            storage::row_list& rows);
  // The mover lost the task (a restart), or could not be reached to submit it: back to queued
  // without counting a retry, after delay_ms. The submission id stays the same.
  [[nodiscard]] status batch_lost(uint64_t batch_id, int64_t now_unix_ms, storage::row_list& rows,
                                  int64_t delay_ms = 0);
  [[nodiscard]] status note_progress(uint64_t batch_id, uint64_t bytes_done);

  // Callbacks and hypervisor verdicts on the sending side.
  [[nodiscard]] status complete_outgoing(uint64_t id, int64_t now_unix_ms, storage::row_list& rows);
  // Cancels every live outgoing transfer to `peer` (an operator's remove-librarian
  // --remove-outgoing-transfers, or cancel-transfers) and its batches: CANCELLED, batches
  // `cancelled`. Returns what to tell the peer and which mover tasks to cancel.
  struct cancellation {
    clone_status notices;                                    // CANCELLED, for the peer
    std::vector<std::pair<std::string, std::string>> tasks;  // (mover, task id) still running
    uint64_t transfers = 0;
    uint64_t batches = 0;
  };
  [[nodiscard]] cancellation cancel_to(const std::string& peer, const std::string& why, int64_t now,
                                       storage::row_list& rows);
  [[nodiscard]] status fail_outgoing(uint64_t id, const std::string& why, int64_t now_unix_ms,
                                     storage::row_list& rows);
  // A status from the peer about our outgoing transfers: what to do (the shell adopts COMPLETED
  // ones through the librarian first).
  struct peer_news {
    std::vector<std::pair<uint64_t, uint64_t>> completed;  // (outgoing id, store id at peer)
    std::vector<std::pair<uint64_t, std::string>> failed;  // (outgoing id, why)
  };
  [[nodiscard]] peer_news on_peer_status(const clone_status& msg) const;

  // The rows a change would write, without making it: for changes committed by another actor in
  // its own batch (the librarian's remote instance, its ingest). Apply the change itself once that
  // batch is durable.
  [[nodiscard]] expected<storage::row_list> preview_outgoing(uint64_t id, xfer_status to,
                                                             int64_t now_unix_ms) const;
  [[nodiscard]] expected<storage::row_list> preview_incoming(uint64_t id, xfer_status to,
                                                             int64_t now_unix_ms) const;

  [[nodiscard]] std::optional<outgoing_row> outgoing(uint64_t id) const;
  [[nodiscard]] std::optional<batch_row> batch(uint64_t id) const;
  [[nodiscard]] const std::map<uint64_t, batch_row>& live_batches() const { return batches_; }
  [[nodiscard]] const std::map<uint64_t, outgoing_row>& live_outgoing() const { return outgoing_; }
  // STAGED transfers grouped by peer: notices to send again until the peer calls back.
  [[nodiscard]] std::map<std::string, clone_status> staged_notices() const;

  // ================================================================= receiving side (B)
  [[nodiscard]] std::optional<incoming_row> incoming_by_source(const std::string& source,
                                                               uint64_t source_id) const;
  // A new INITIATED incoming transfer for a staged upload.
  [[nodiscard]] expected<incoming_row> create_incoming(
      const std::string& source, uint64_t source_id, uint64_t source_batch_id,
      const clone_item& item, const std::string& store, uint64_t upload_id,
      const std::string& batch_dir, const std::string& staging_file, int64_t now_unix_ms,
      storage::row_list& rows);
  // A failed or refused stage is remembered too, so a resent request gets the same answer.
  [[nodiscard]] expected<incoming_row> refuse_incoming(const std::string& source,
                                                       uint64_t source_id, const clone_item& item,
                                                       const std::string& why, int64_t now_unix_ms,
                                                       storage::row_list& rows);
  [[nodiscard]] status set_incoming(uint64_t id, xfer_status to, const std::string& why,
                                    int64_t now_unix_ms, storage::row_list& rows);
  [[nodiscard]] std::optional<incoming_row> incoming(uint64_t id) const;
  [[nodiscard]] const std::map<uint64_t, incoming_row>& live_incoming() const { return incoming_; }
  // Statuses from the source: transitions applied (rows), and what to tell the source back
  // (terminal statuses it may have missed).
  [[nodiscard]] clone_status on_source_status(const clone_status& msg, int64_t now_unix_ms,
                                              storage::row_list& rows);
  // STAGED transfers for recv_clone, oldest first.
  [[nodiscard]] std::vector<uint64_t> staged_incoming(size_t max) const;

  // The report for transfer-status and /metrics.
  [[nodiscard]] replication_report report(int64_t now_unix_ms, int64_t outgoing_age_ms,
                                          int64_t incoming_age_ms) const;
  [[nodiscard]] const std::string& node_name() const { return node_; }
  [[nodiscard]] const replication_config& config() const { return cfg_; }

 private:
  void put_outgoing(const outgoing_row& r, storage::row_list& rows);
  void put_incoming(const incoming_row& r, storage::row_list& rows);
  void put_batch(const batch_row& r, storage::row_list& rows);
  void put_counter(const char* name, uint64_t value, storage::row_list& rows) const;
  // Ends the batch when none of its transfers is live.
  void settle_batch(uint64_t batch_id, int64_t now_unix_ms, storage::row_list& rows);
  [[nodiscard]] expected<std::optional<incoming_row>> read_incoming(uint64_t id) const;

  const storage::db& db_;
  std::string node_;
  replication_config cfg_;
  std::map<uint64_t, outgoing_row> outgoing_;                                 // live
  std::map<std::pair<std::string, std::string>, uint64_t> outgoing_by_file_;  // (dest, file)
  std::map<uint64_t, incoming_row> incoming_;                                 // live
  std::map<std::pair<std::string, uint64_t>, uint64_t> incoming_by_source_;   // live
  std::map<uint64_t, batch_row> batches_;                                     // live
  uint64_t next_outgoing_id_ = 1;
  uint64_t next_incoming_id_ = 1;
  uint64_t next_batch_id_ = 1;
};

}  // namespace librarian::transfer
