#include "actors/node/membership_state.hpp"

#include "runtime/probe.hpp"
#include "storage/codec.hpp"

namespace librarian::node {

membership_state::membership_state(const node_config& config, uint64_t incarnation, int64_t now_ms,
                                   storage::table peers)
    : self_name_(config.name), peers_(peers) {
  auto self_address = config.listen.host + ":" + std::to_string(config.listen.cluster_port);
  members_[config.name] = {config.name, self_address, "up", now_ms, now_ms, incarnation};
  for (const auto& peer : config.peers) {
    auto address = peer.host + ":" + std::to_string(peer.cluster_port);
    members_[peer.name] = {peer.name, address, "down", now_ms, 0, 0};
  }
}

status membership_state::load(const storage::db& db) {
  for (auto& [name, member] : members_) {
    if (name == self_name_) continue;
    auto row = db.get(peers_, name);
    if (!row) return row.err();
    if (!*row) continue;
    auto record = storage::decode<peer_record>(**row);
    if (!record) return fail(errc::internal, "peer row '" + name + "': " + record.err().message);
    member.last_seen_unix_ms = record->last_seen_unix_ms;
    member.incarnation = record->incarnation;
  }
  return {};
}

status membership_state::peer_up(const std::string& name, const std::string& address,
                                 uint64_t incarnation, int64_t now_ms, storage::batch& rows) {
  auto it = members_.find(name);
  if (it == members_.end() || name == self_name_)
    return fail(errc::forbidden, "'" + name + "' is not a configured peer of " + self_name_);
  auto& member = it->second;
  if (member.state != "up" && member.last_seen_unix_ms > 0) LIB_PROBE("membership.peer_rejoined");
  if (member.incarnation != 0 && member.incarnation != incarnation)
    LIB_PROBE("membership.peer_new_incarnation");
  if (member.state != "up" || member.incarnation != incarnation) member.since_unix_ms = now_ms;
  member.state = "up";
  member.incarnation = incarnation;
  member.last_seen_unix_ms = now_ms;
  if (!address.empty()) member.address = address;
  peer_record record{name, member.address, incarnation, now_ms};
  rows.put(peers_, name, storage::encode(record));
  return {};
}

void membership_state::peer_down(const std::string& name, int64_t now_ms) {
  auto it = members_.find(name);
  if (it == members_.end() || name == self_name_ || it->second.state == "down") return;
  it->second.state = "down";
  it->second.since_unix_ms = now_ms;
}

std::vector<member_info> membership_state::view(int64_t now_ms) const {
  std::vector<member_info> out;
  out.reserve(members_.size());
  for (const auto& [name, member] : members_) {
    out.push_back(member);
    if (name == self_name_) out.back().last_seen_unix_ms = now_ms;
  }
  return out;
}

}  // namespace librarian::node
