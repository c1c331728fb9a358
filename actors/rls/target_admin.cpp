#include "actors/rls/target_admin.hpp"

#include <algorithm>

#include "actors/rls/glob.hpp"
#include "actors/rls/lrc_state.hpp"
#include "storage/table.hpp"

namespace librarian::rls {
namespace {

constexpr const char* admin_targets_key = "admin_targets";
constexpr int64_t interval_ms_min = 100;
constexpr int64_t interval_ms_max = 24LL * 3600 * 1000;
constexpr size_t patterns_max = 100;
constexpr size_t pattern_bytes_max = 4096;

struct admin_target_row {
  std::string name;
  uint8_t mode = 0;
  int64_t interval_ms = 0;
  std::vector<std::string> patterns;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, mode, interval_ms, patterns);
  }
};

struct admin_targets_row {
  static constexpr uint8_t schema_version = 1;
  std::vector<admin_target_row> targets;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(targets);
  }
};

bool known_node(const node_config& cfg, const std::string& name) {
  if (name == cfg.name) return cfg.rls.rli;
  return std::any_of(cfg.peers.begin(), cfg.peers.end(),
                     [&](const auto& peer) { return peer.name == name; });
}

expected<rli_update_mode> mode_of(const std::string& mode) {
  if (mode == "list") return rli_update_mode::list;
  if (mode == "immediate") return rli_update_mode::immediate;
  if (mode == "bloom") return rli_update_mode::bloom;
  return fail(errc::invalid_argument,
              "BADARG: mode must be \"list\", \"immediate\" or \"bloom\", not \"" + mode + "\"");
}

}  // namespace

expected<rli_target_config> make_admin_target(const node_config& cfg, const std::string& name,
                                              const std::string& mode, int64_t interval_ms,
                                              const std::vector<std::string>& patterns) {
  if (name.empty()) return fail(errc::invalid_argument, "BADARG: the RLI's name is empty");
  if (!known_node(cfg, name))
    return fail(errc::invalid_argument,
                "BADARG: \"" + name +
                    "\" is neither one of this node's peers nor this node running an RLI "
                    "(\"rls\": {\"rli\": true}); peers are configured in " +
                    cfg.source);
  rli_target_config target;
  target.name = name;
  auto parsed_mode = mode_of(mode);
  if (!parsed_mode) return parsed_mode.err();
  target.mode = *parsed_mode;
  if (interval_ms < interval_ms_min || interval_ms > interval_ms_max)
    return fail(errc::invalid_argument,
                "BADARG: interval_ms must be " + std::to_string(interval_ms_min) + " to " +
                    std::to_string(interval_ms_max) + ", not " + std::to_string(interval_ms));
  target.interval_ms = interval_ms;
  if (target.mode == rli_update_mode::immediate)
    target.full_interval_ms = std::min<int64_t>(10 * interval_ms, 30LL * interval_ms_max);
  if (patterns.size() > patterns_max)
    return fail(errc::invalid_argument,
                "BADARG: at most " + std::to_string(patterns_max) + " patterns per target");
  for (const auto& p : patterns) {
    auto parsed = parse_glob(p, pattern_bytes_max);
    if (!parsed)
      return fail(errc::invalid_argument,
                  "BADARG: pattern \"" + p.substr(0, 128) + "\": " + parsed.err().message);
  }
  target.patterns = patterns;
  return target;
}

expected<std::vector<rli_target_config>> load_admin_targets(const storage::db& db) {
  auto row =
      storage::get_record<admin_targets_row>(db, db.get_table(lrc_meta_table), admin_targets_key);
  if (!row) return row.err();
  std::vector<rli_target_config> out;
  if (!row->has_value()) return out;
  for (const auto& t : (*row)->targets) {
    // Validated as carefully as a request: a record read from disk is outside input too.
    if (t.mode < 1 || t.mode > 3 || t.name.empty() || t.interval_ms < interval_ms_min ||
        t.interval_ms > interval_ms_max || out.size() >= admin_targets_max)
      return fail(errc::internal, "corrupt record: the LRC's run-time RLI targets");
    rli_target_config target;
    target.name = t.name;
    target.mode = static_cast<rli_update_mode>(t.mode - 1);
    target.interval_ms = t.interval_ms;
    if (target.mode == rli_update_mode::immediate)
      target.full_interval_ms = std::min<int64_t>(10 * t.interval_ms, 30LL * interval_ms_max);
    target.patterns = t.patterns;
    out.push_back(std::move(target));
  }
  return out;
}

void write_admin_targets(const storage::db& db, const std::vector<rli_target_config>& targets,
                         storage::batch& rows) {
  admin_targets_row row;
  for (const auto& t : targets)
    row.targets.push_back({t.name, static_cast<uint8_t>(static_cast<uint8_t>(t.mode) + 1),
                           t.interval_ms, t.patterns});
  storage::put_record(rows, db.get_table(lrc_meta_table), admin_targets_key, row);
}

}  // namespace librarian::rls
