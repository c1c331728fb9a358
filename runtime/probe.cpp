#include "runtime/probe.hpp"

#include <mutex>

#include "runtime/assert.hpp"

namespace librarian::probe {
namespace {

std::mutex g_mutex;
std::map<std::string, uint64_t> g_counts;

}  // namespace

const std::vector<std::string>& declared() {
  static const std::vector<std::string> names{
      "node.actor_restarted",             // the supervisor restarted a crashed actor
      "node.actor_restarted_repeatedly",  // ... with backoff above the minimum
      "membership.peer_rejoined",         // a peer came back up after being down
      "membership.peer_new_incarnation",  // ... as a restarted process
      "transport.resubscribed",           // a restarted membership asked which peers are up
      "commit.reply_waited",              // a read-only reply waited behind a pending commit
      "commit.failed",                    // a commit failed and the actor stopped
      "users.duplicate_refused",          // a create of an existing user was refused
      "sim.message_dropped",              // the simulated network dropped a message
      "sim.message_duplicated",           // ... delivered one twice
      "sim.crash_mid_commit",             // a node crashed with commits in flight
      "sim.crash_during_recovery",        // a node crashed again within moments of a restart
      "sim.mover_stall",                  // a simulated mover task hung
      "sim.mover_submit_reply_lost",      // ... started, but its submit reply was lost
      "sim.mover_task_lost",              // ... was forgotten by the transfer service
      "sim.mover_corrupt",                // ... delivered a file with a flipped byte
      "sim.mover_truncate",               // ... delivered a file cut short
      "replication.batch_stalled",        // a batch's task made no progress and was cancelled
  };
  return names;
}

void hit(const char* name) {
  std::lock_guard guard{g_mutex};
  ++g_counts[name];
}

std::map<std::string, uint64_t> counts() {
  std::lock_guard guard{g_mutex};
  return g_counts;
}

void reset() {
  std::lock_guard guard{g_mutex};
  g_counts.clear();
}

}  // namespace librarian::probe
