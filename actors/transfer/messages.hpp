// The replication protocol between two librarians' replicators (DESIGN.md §7), as plain structs.
// Every message is one-way over the cluster transport and may be lost, duplicated or reordered;
// the timers resend, and every handler is idempotent. A field from a peer is validated like any
// other input.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace librarian::transfer {

// A -> B: please stage these files (send_clone).
struct clone_item {
  uint64_t source_id = 0;  // A's outgoing transfer
  std::string name;
  uint64_t size = 0;
  std::string checksum;
  friend bool operator==(const clone_item&, const clone_item&) = default;
};
struct clone_stage {
  std::string from;
  uint64_t batch_id = 0;
  std::vector<clone_item> items;
  friend bool operator==(const clone_stage&, const clone_stage&) = default;
};

// B -> A: one answer per item. code: 0 staged, else a librarian::errc (already_exists: B has the
// file, with existing_checksum; conflict: another transfer or a different file holds the name).
struct clone_staged_item {
  uint64_t source_id = 0;
  uint64_t incoming_id = 0;
  uint8_t code = 0;
  std::string message;
  std::string relative;       // under batch_dir
  std::string staging_path;   // absolute at B
  std::string endpoint_path;  // staging_path as B's Globus endpoint sees it
  std::string existing_checksum;
  friend bool operator==(const clone_staged_item&, const clone_staged_item&) = default;
};
struct clone_staged {
  std::string from;
  uint64_t batch_id = 0;
  std::string batch_dir;
  std::string data_host;
  uint16_t data_port = 0;
  std::string destination_endpoint;
  std::vector<clone_staged_item> items;
  // The GridFTP server that serves the batch's staging directory ("ftp://host:port"; "" when B
  // has none): the gridftp mover's destination.
  std::string gridftp_url;
  friend bool operator==(const clone_staged&, const clone_staged&) = default;
};

// A -> B: data-channel tickets for a batch's files (native mover; tickets live in memory only, so
// each attempt asks again). B -> A: a tree ticket rooted at batch_dir, and a ticket of its own for
// each file too large for the tree (incoming id, ticket).
struct clone_ticket_ask {
  std::string from;
  uint64_t batch_id = 0;
  std::vector<uint64_t> incoming_ids;
  friend bool operator==(const clone_ticket_ask&, const clone_ticket_ask&) = default;
};
struct file_ticket {
  uint64_t incoming_id = 0;
  std::string ticket;
  friend bool operator==(const file_ticket&, const file_ticket&) = default;
};
struct clone_tickets {
  std::string from;
  uint64_t batch_id = 0;
  uint8_t code = 0;
  std::string message;
  std::string tree_ticket;
  std::vector<file_ticket> file_tickets;
  friend bool operator==(const clone_tickets&, const clone_tickets&) = default;
};

// Either way: statuses of transfers (A -> B: ONGOING, STAGED, FAILED, CANCELLED; B -> A: the
// callback, COMPLETED or FAILED). The receiver answers with its own status when they disagree, so
// a lost callback is resent on the next notification.
struct clone_status_item {
  uint64_t source_id = 0;
  uint64_t incoming_id = 0;
  uint8_t status = 0;  // xfer_status, or status_unknown
  std::string message;
  uint64_t store_id = 0;  // COMPLETED: the store at B
  friend bool operator==(const clone_status_item&, const clone_status_item&) = default;
};
struct clone_status {
  std::string from;
  std::vector<clone_status_item> items;
  friend bool operator==(const clone_status&, const clone_status&) = default;
};

// Hypervisors: "what do you know about these?" and its answer. outgoing = true when A asks B
// about its outgoing transfers (B answers with incoming status and whether it has the file).
struct clone_probe_item {
  uint64_t source_id = 0;
  uint64_t incoming_id = 0;
  std::string name;
  uint8_t status = 0xff;      // the answerer's status of the transfer (0xff: none known)
  std::string file_checksum;  // the answerer's committed file of that name, or ""
  friend bool operator==(const clone_probe_item&, const clone_probe_item&) = default;
};
struct clone_probe {
  std::string from;
  bool outgoing = true;
  bool answer = false;
  std::vector<clone_probe_item> items;
  friend bool operator==(const clone_probe&, const clone_probe&) = default;
};

// rolling_deletion: "do you hold a verified copy of these?" (the answerer recomputes each
// checksum) and its answer.
struct clone_verify_item {
  std::string name;
  std::string checksum;  // what the asker's catalog says
  bool ok = false;       // answer: a local instance here hashes to exactly that
  std::string message;
  friend bool operator==(const clone_verify_item&, const clone_verify_item&) = default;
};
struct clone_verify {
  std::string from;
  bool answer = false;
  std::vector<clone_verify_item> items;
  friend bool operator==(const clone_verify&, const clone_verify&) = default;
};

// corruption_fixer: "send me a good copy of this file" and the answer: a data-channel ticket to
// read the answerer's best instance (get mode), or why not.
struct clone_fetch {
  std::string from;
  bool answer = false;
  std::string name;
  std::string checksum;  // what the asker's catalog says it must hash to
  uint8_t code = 0;
  std::string message;
  std::string host;
  uint16_t port = 0;
  std::string ticket;
  uint64_t size = 0;
  friend bool operator==(const clone_fetch&, const clone_fetch&) = default;
};

// `librarian transfer-status`: what the replicator is doing.
struct batch_summary {
  uint64_t id = 0;
  std::string destination;
  std::string mover;
  std::string state;
  uint32_t files = 0;
  uint64_t bytes_total = 0;
  uint64_t bytes_done = 0;
  uint32_t retries = 0;
  int64_t age_ms = 0;
  double rate_bytes_per_s = 0;
  std::string message;
  friend bool operator==(const batch_summary&, const batch_summary&) = default;
};
struct transfer_summary {
  uint64_t id = 0;
  bool outgoing = true;
  std::string peer;
  std::string file;
  std::string status;
  int64_t age_ms = 0;
  friend bool operator==(const transfer_summary&, const transfer_summary&) = default;
};
struct named_count {
  std::string name;
  uint64_t count = 0;
  friend bool operator==(const named_count&, const named_count&) = default;
};
// One background task's runs since start. A run is the task's own work (its catalog search and
// its decisions), not the transfers it sets going; those have their own figures.
struct task_summary {
  std::string name;
  uint64_t runs = 0;  // finished runs
  uint64_t micros_sum = 0;
  uint64_t micros_max = 0;
  std::vector<named_count> outcomes;  // ok, failed, soft_timeout, disabled, overlap, overrun
  friend bool operator==(const task_summary&, const task_summary&) = default;
};
struct replication_report {
  std::string node;
  // Live counts by status name, per direction.
  std::vector<named_count> outgoing;
  std::vector<named_count> incoming;
  std::vector<named_count> batches;       // by state
  std::vector<batch_summary> active;      // batches not done
  std::vector<transfer_summary> overdue;  // live transfers older than their hypervisor's age
  std::vector<named_count> counters;      // totals since start
  std::vector<task_summary> tasks;        // the background tasks' runs since start
  friend bool operator==(const replication_report&, const replication_report&) = default;
};

}  // namespace librarian::transfer
