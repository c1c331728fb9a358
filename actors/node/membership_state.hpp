// The membership view's state machine (no CAF, no I/O): one row per configured peer plus this
// node, moved between up and down by transport events; what must persist goes into a batch.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "actors/node/messages.hpp"
#include "runtime/config.hpp"
#include "runtime/expected.hpp"
#include "storage/db.hpp"

namespace librarian::node {

class membership_state {
 public:
  membership_state(const node_config& config, uint64_t incarnation, int64_t now_ms,
                   storage::table peers);

  // Restores last-seen times and incarnations of peers from the DB (all start "down").
  [[nodiscard]] status load(const storage::db& db);
  // A peer answered our hello (or said hello to us). Unknown peers are refused.
  [[nodiscard]] status peer_up(const std::string& name, const std::string& address,
                               uint64_t incarnation, int64_t now_ms, storage::batch& rows);
  void peer_down(const std::string& name, int64_t now_ms);
  [[nodiscard]] std::vector<member_info> view(int64_t now_ms) const;

 private:
  std::string self_name_;
  std::map<std::string, member_info> members_;
  storage::table peers_;
};

}  // namespace librarian::node
