// The replication pipeline's rows on disk (cereal, leading schema-version byte; storage/codec.hpp)
// and its tables. Every transfer and batch lives here (RFT: a restarted node resumes from them).
// Live rows (not yet COMPLETED, FAILED or CANCELLED) are also marked in a *_live table, so start-up
// reads only what is in flight, never the whole history.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace librarian::transfer {

inline constexpr const char* outgoing_table = "rep_outgoing";            // u64 id
inline constexpr const char* outgoing_live_table = "rep_outgoing_live";  // u64 id (marker)
inline constexpr const char* incoming_table = "rep_incoming";            // u64 id
inline constexpr const char* incoming_live_table = "rep_incoming_live";  // u64 id (marker)
// source librarian, u64 source transfer id -> u64 incoming id: a repeated stage request finds the
// transfer it already made (idempotent submission).
inline constexpr const char* incoming_by_source_table = "rep_incoming_by_source";
inline constexpr const char* batches_table = "rep_batches";            // u64 id
inline constexpr const char* batches_live_table = "rep_batches_live";  // u64 id (marker)
inline constexpr const char* meta_table = "rep_meta";                  // counter name -> u64

[[nodiscard]] std::vector<std::string> replication_tables();

// Seed and reference statuses (hera_librarian.md §2). Values are stable: they are on disk and on
// the wire.
enum class xfer_status : uint8_t {
  initiated = 0,
  ongoing = 1,
  staged = 2,
  completed = 3,
  failed = 4,
  cancelled = 5,
};
inline constexpr uint8_t status_unknown = 0xff;  // on the wire: "no such transfer here"

[[nodiscard]] std::string_view name(xfer_status s);
[[nodiscard]] std::optional<xfer_status> status_from_byte(uint8_t b);
[[nodiscard]] bool terminal(xfer_status s);
// The transitions each side allows (docs/replication.md "Statuses"). Outgoing may complete from
// any live status (the hypervisor found the file at the peer: a lost callback); incoming may skip
// ahead to STAGED (the source says the bytes arrived).
[[nodiscard]] bool outgoing_transition_allowed(xfer_status from, xfer_status to);
[[nodiscard]] bool incoming_transition_allowed(xfer_status from, xfer_status to);

// A batch (one send-queue item) on the sending side.
enum class batch_state : uint8_t {
  staging = 0,    // asked the peer to stage; waiting for its answer
  queued = 1,     // staged at the peer; waiting for consume_queue
  ticketing = 2,  // asked the peer for data-channel tickets (native mover)
  active = 3,     // submitted to its mover; check_consumed_queue polls it
  done = 4,       // the mover finished; its transfers are STAGED (or failed one by one)
  failed = 5,
  cancelled = 6,
};
[[nodiscard]] std::string_view name(batch_state s);
[[nodiscard]] bool terminal(batch_state s);

struct outgoing_row {
  static constexpr uint8_t schema_version = 1;
  uint64_t id = 0;
  uint8_t status = 0;  // xfer_status
  std::string destination;
  std::string file;
  uint64_t size = 0;
  std::string checksum;
  std::string source_path;  // the local instance read
  uint64_t batch_id = 0;
  uint64_t remote_id = 0;     // the peer's incoming transfer id (0 until it answered)
  std::string dest_relative;  // under the batch's directory at the peer (native)
  std::string dest_path;      // absolute at the peer (local) or as its endpoint sees it (globus)
  int64_t start_unix_ms = 0;
  int64_t updated_unix_ms = 0;
  int64_t end_unix_ms = 0;
  std::string message;  // why it failed
  template <class Archive>
  void serialize(Archive& ar) {
    ar(id, status, destination, file, size, checksum, source_path, batch_id, remote_id,
       dest_relative, dest_path, start_unix_ms, updated_unix_ms, end_unix_ms, message);
  }
};

struct incoming_row {
  static constexpr uint8_t schema_version = 1;
  uint64_t id = 0;
  uint8_t status = 0;  // xfer_status
  std::string source;  // the sending librarian
  uint64_t source_transfer_id = 0;
  uint64_t source_batch_id = 0;
  std::string file;
  uint64_t size = 0;
  std::string checksum;
  std::string store;
  uint64_t upload_id = 0;    // the librarian's open upload that holds the staged bytes
  std::string batch_dir;     // absolute: the tree every file of the batch is staged under
  std::string staging_file;  // absolute
  int64_t start_unix_ms = 0;
  int64_t updated_unix_ms = 0;
  int64_t end_unix_ms = 0;
  std::string message;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(id, status, source, source_transfer_id, source_batch_id, file, size, checksum, store,
       upload_id, batch_dir, staging_file, start_unix_ms, updated_unix_ms, end_unix_ms, message);
  }
};

struct batch_row {
  static constexpr uint8_t schema_version = 1;
  uint64_t id = 0;
  uint8_t state = 0;  // batch_state
  std::string destination;
  std::string mover;
  int32_t priority = 0;
  std::vector<uint64_t> transfers;  // outgoing ids
  uint32_t retries = 0;
  int64_t next_attempt_unix_ms = 0;
  std::string submission_id;  // idempotency key of the current attempt
  std::string task_id;        // the mover's task
  // Where the peer staged it.
  std::string host;
  uint16_t port = 0;
  std::string batch_dir;
  std::string destination_endpoint;
  uint64_t bytes_total = 0;
  uint64_t bytes_done = 0;
  int64_t created_unix_ms = 0;
  int64_t updated_unix_ms = 0;
  int64_t started_unix_ms = 0;  // first submitted to the mover
  int64_t ended_unix_ms = 0;
  std::string message;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(id, state, destination, mover, priority, transfers, retries, next_attempt_unix_ms,
       submission_id, task_id, host, port, batch_dir, destination_endpoint, bytes_total, bytes_done,
       created_unix_ms, updated_unix_ms, started_unix_ms, ended_unix_ms, message);
  }
};

struct counter_row {
  static constexpr uint8_t schema_version = 1;
  uint64_t value = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(value);
  }
};

}  // namespace librarian::transfer
