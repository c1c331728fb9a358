// RLI soft state: validation first, then the change, so a refused update leaves nothing behind.
#include "actors/rls/rli_state.hpp"

#include <algorithm>
#include <utility>

#include "runtime/assert.hpp"

namespace librarian::rls {

namespace {

// Error lists name at most this many LRCs, so a reply stays small with lrcs_max senders.
constexpr size_t lrcs_named_max = 10;

[[nodiscard]] std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < lrcs_named_max; ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  if (names.size() > lrcs_named_max) {
    out += " and " + std::to_string(names.size() - lrcs_named_max) + " more";
  }
  return out;
}

}  // namespace

rli_state::rli_state(rli_limits limits) : limits_(limits) {
  LIB_ASSERT(limits_.staleness_factor_permille >= 1000);
  LIB_ASSERT(limits_.reslimit_default > 0 && limits_.reslimit_default <= limits_.reslimit_max);
}

status rli_state::set_accept_patterns(const std::vector<std::string>& patterns) {
  if (patterns.size() > limits_.patterns_max) {
    return fail(errc::invalid_argument,
                "BADARG: at most " + std::to_string(limits_.patterns_max) + " partition patterns");
  }
  std::vector<glob> parsed;
  parsed.reserve(patterns.size());
  for (const auto& pattern : patterns) {
    auto one = parse_glob(pattern, limits_.name_bytes_max);
    if (!one) return one.err();
    parsed.push_back(std::move(*one));
  }
  accept_patterns_ = std::move(parsed);
  return {};
}

bool rli_state::accepts(std::string_view lfn) const {
  if (accept_patterns_.empty()) return true;
  return std::any_of(accept_patterns_.begin(), accept_patterns_.end(),
                     [&](const glob& pattern) { return glob_match(pattern, lfn); });
}

status rli_state::validate_name(std::string_view name, const char* what) const {
  if (name.empty() || name.size() > limits_.name_bytes_max) {
    return fail(errc::invalid_argument, std::string("BADARG: ") + what + " must be 1.." +
                                            std::to_string(limits_.name_bytes_max) + " bytes");
  }
  if (name.find('\0') != std::string_view::npos) {
    return fail(errc::invalid_argument, std::string("BADARG: ") + what + " contains NUL");
  }
  return {};
}

status rli_state::validate_interval(uint64_t interval_ms) const {
  if (interval_ms == 0 || interval_ms > limits_.interval_ms_max) {
    return fail(errc::invalid_argument, "BADARG: update interval must be 1.." +
                                            std::to_string(limits_.interval_ms_max) + " ms");
  }
  return {};
}

bool rli_state::fresh(const lrc_entry& entry, uint64_t now_ms) const {
  // interval_ms <= interval_ms_max keeps the product far from overflow.
  const uint64_t bound_ms = entry.interval_ms * limits_.staleness_factor_permille / 1000;
  return now_ms <= entry.last_refresh_ms || now_ms - entry.last_refresh_ms <= bound_ms;
}

rli_state::lrc_entry* rli_state::fresh_entry(const std::string& lrc, uint64_t now_ms) {
  auto it = lrcs_.find(lrc);
  if (it == lrcs_.end() || !fresh(it->second, now_ms)) return nullptr;
  return &it->second;
}

expected<rli_state::lrc_entry*> rli_state::entry_for_update(const std::string& lrc,
                                                            uint64_t now_ms) {
  auto it = lrcs_.find(lrc);
  if (it != lrcs_.end()) {
    // A stale LRC starts over: its old generation and list no longer bind it.
    if (!fresh(it->second, now_ms)) it->second = lrc_entry{};
    return &it->second;
  }
  if (lrcs_.size() >= limits_.lrcs_max) {
    return fail(errc::storage_full, "RLI already tracks " + std::to_string(limits_.lrcs_max) +
                                        " LRCs; refusing updates from " + lrc);
  }
  return &lrcs_.emplace(lrc, lrc_entry{}).first->second;
}

expected<update_outcome> rli_state::begin_full_update(const std::string& lrc, uint64_t generation,
                                                      uint64_t now_ms, uint64_t interval_ms) {
  if (auto ok = validate_name(lrc, "LRC name"); !ok) return ok.err();
  if (auto ok = validate_interval(interval_ms); !ok) return ok.err();
  if (lrc_entry* known = fresh_entry(lrc, now_ms)) {
    const bool older_than_list = known->mode == rli_mode::list && generation < known->last_seq;
    const bool not_newer_than_pending = known->pending && generation <= known->pending->generation;
    if (not_newer_than_pending) {
      known->last_refresh_ms = now_ms;  // a redelivered begin still shows the LRC is alive
      return update_outcome::ignored;
    }
    // An older generation than the list we hold does not refresh it: if the LRC really went
    // back (it lost writes), its list expires and the next update is taken afresh.
    if (older_than_list) return update_outcome::ignored;
  }
  auto entry = entry_for_update(lrc, now_ms);
  if (!entry) return entry.err();
  (*entry)->pending = pending_full{generation, {}, 0, std::nullopt};
  (*entry)->last_refresh_ms = now_ms;
  (*entry)->interval_ms = interval_ms;
  return update_outcome::pending;
}

rli_state::pending_match rli_state::match_pending(const lrc_entry* entry, uint64_t generation) {
  if (entry == nullptr) return pending_match::missing;
  if (entry->pending) {
    if (entry->pending->generation == generation) return pending_match::current;
    if (entry->pending->generation > generation) return pending_match::ignore;  // superseded
  }
  // A late or redelivered message of an update that has already completed.
  if (entry->mode == rli_mode::list && entry->generation >= generation) {
    return pending_match::ignore;
  }
  return pending_match::missing;
}

error rli_state::no_pending_update(const std::string& lrc, uint64_t generation) {
  return fail(errc::not_found, "LRC_NEXIST: no full update of generation " +
                                   std::to_string(generation) + " in progress from " + lrc);
}

update_outcome rli_state::ignore_update(lrc_entry& entry, uint64_t generation, uint64_t now_ms) {
  // The LRC is re-sending the very list we hold: it is alive and the list is current.
  if (entry.mode == rli_mode::list && entry.generation == generation)
    entry.last_refresh_ms = now_ms;
  return update_outcome::ignored;
}

expected<update_outcome> rli_state::add_chunk(const std::string& lrc, uint64_t generation,
                                              size_t chunk_index, std::vector<std::string> lfns,
                                              uint64_t now_ms) {
  lrc_entry* entry = fresh_entry(lrc, now_ms);
  const auto match = match_pending(entry, generation);
  if (match == pending_match::ignore) return ignore_update(*entry, generation, now_ms);
  if (match == pending_match::missing) return no_pending_update(lrc, generation);
  pending_full& pending = *entry->pending;
  if (chunk_index >= limits_.chunks_max ||
      (pending.chunk_count && chunk_index >= *pending.chunk_count)) {
    return fail(errc::invalid_argument,
                "BADARG: chunk index " + std::to_string(chunk_index) + " out of range");
  }
  if (lfns.size() > limits_.chunk_lfns_max) {
    return fail(errc::invalid_argument, "BADARG: chunk of " + std::to_string(lfns.size()) +
                                            " LFNs exceeds " +
                                            std::to_string(limits_.chunk_lfns_max));
  }
  if (pending.chunks.contains(chunk_index)) return update_outcome::ignored;  // redelivered
  for (const auto& lfn : lfns) {
    if (auto ok = validate_name(lfn, "LFN"); !ok) return ok.err();
  }
  const auto rejected = std::erase_if(lfns, [&](const std::string& lfn) { return !accepts(lfn); });
  if (pending.lfn_count + lfns.size() > limits_.lfns_per_lrc_max) {
    return fail(errc::storage_full, "full update from " + lrc + " exceeds " +
                                        std::to_string(limits_.lfns_per_lrc_max) + " LFNs");
  }
  entry->lfns_rejected += rejected;
  pending.lfn_count += lfns.size();
  pending.chunks.emplace(chunk_index, std::move(lfns));
  entry->last_refresh_ms = now_ms;
  return try_complete(*entry, now_ms);
}

expected<update_outcome> rli_state::end_full_update(const std::string& lrc, uint64_t generation,
                                                    size_t chunk_count, uint64_t now_ms) {
  lrc_entry* entry = fresh_entry(lrc, now_ms);
  const auto match = match_pending(entry, generation);
  if (match == pending_match::ignore) return ignore_update(*entry, generation, now_ms);
  if (match == pending_match::missing) return no_pending_update(lrc, generation);
  pending_full& pending = *entry->pending;
  const bool count_changed = pending.chunk_count && *pending.chunk_count != chunk_count;
  const bool chunk_beyond =
      !pending.chunks.empty() && pending.chunks.rbegin()->first >= chunk_count;
  if (chunk_count > limits_.chunks_max || count_changed || chunk_beyond) {
    return fail(errc::invalid_argument, "BADARG: full update from " + lrc + " cannot have " +
                                            std::to_string(chunk_count) + " chunks");
  }
  pending.chunk_count = chunk_count;
  entry->last_refresh_ms = now_ms;
  return try_complete(*entry, now_ms);
}

expected<update_outcome> rli_state::try_complete(lrc_entry& entry, uint64_t now_ms) {
  pending_full& pending = *entry.pending;
  // Keys are unique and all below chunk_count, so equal sizes mean every chunk is in.
  if (!pending.chunk_count || pending.chunks.size() != *pending.chunk_count) {
    return update_outcome::pending;
  }
  std::set<std::string, std::less<>> lfns;
  for (auto& [index, chunk] : pending.chunks) {
    for (auto& lfn : chunk) lfns.insert(std::move(lfn));
  }
  entry.lfns = std::move(lfns);
  entry.bloom.reset();
  entry.mode = rli_mode::list;
  entry.generation = pending.generation;
  entry.last_seq = pending.generation;
  entry.last_refresh_ms = now_ms;
  entry.pending.reset();
  return update_outcome::applied;
}

status rli_state::validate_incremental(const lrc_entry& entry,
                                       const std::vector<std::string>& added,
                                       const std::vector<std::string>& removed) const {
  if (added.size() + removed.size() > limits_.incremental_lfns_max) {
    return fail(errc::invalid_argument, "BADARG: incremental update exceeds " +
                                            std::to_string(limits_.incremental_lfns_max) + " LFNs");
  }
  for (const auto& lfn : added) {
    if (auto ok = validate_name(lfn, "LFN"); !ok) return ok;
  }
  for (const auto& lfn : removed) {
    if (auto ok = validate_name(lfn, "LFN"); !ok) return ok;
  }
  // Conservative (ignores duplicates and removals) so the check needs no lookups.
  if (entry.lfns.size() + added.size() > limits_.lfns_per_lrc_max) {
    return fail(errc::storage_full,
                "incremental update exceeds " + std::to_string(limits_.lfns_per_lrc_max) + " LFNs");
  }
  return {};
}

expected<update_outcome> rli_state::apply_incremental(const std::string& lrc, uint64_t seq,
                                                      const std::vector<std::string>& added,
                                                      const std::vector<std::string>& removed,
                                                      uint64_t now_ms, uint64_t interval_ms) {
  if (auto ok = validate_interval(interval_ms); !ok) return ok.err();
  lrc_entry* entry = fresh_entry(lrc, now_ms);
  if (entry == nullptr || entry->mode != rli_mode::list) {
    return fail(errc::not_found, "LRC_NEXIST: no current LFN list from " + lrc +
                                     "; it must send a full update first");
  }
  if (seq <= entry->last_seq) {
    entry->last_refresh_ms = now_ms;  // a duplicate still shows the LRC is alive
    return update_outcome::ignored;
  }
  if (seq != entry->last_seq + 1) {
    return fail(errc::conflict, "incremental update " + std::to_string(seq) + " from " + lrc +
                                    " after " + std::to_string(entry->last_seq) +
                                    ": updates were lost, a full update is needed");
  }
  if (auto ok = validate_incremental(*entry, added, removed); !ok) return ok.err();
  // Removals first, then additions: the sender nets its changes, so order matters only for an
  // LFN removed and re-created within one buffer, which must end up present.
  for (const auto& lfn : removed) {
    if (auto it = entry->lfns.find(lfn); it != entry->lfns.end()) entry->lfns.erase(it);
  }
  for (const auto& lfn : added) {
    if (accepts(lfn)) {
      entry->lfns.insert(lfn);
    } else {
      ++entry->lfns_rejected;
    }
  }
  entry->last_seq = seq;
  entry->last_refresh_ms = now_ms;
  entry->interval_ms = interval_ms;
  return update_outcome::applied;
}

status rli_state::set_bloom(const std::string& lrc, std::string_view bloom_bytes, uint64_t now_ms,
                            uint64_t interval_ms) {
  if (auto ok = validate_name(lrc, "LRC name"); !ok) return ok;
  if (auto ok = validate_interval(interval_ms); !ok) return ok;
  auto filter = bloom_filter::deserialize(bloom_bytes, limits_.bloom_bits_max);
  if (!filter) return filter.err();
  auto entry = entry_for_update(lrc, now_ms);
  if (!entry) return entry.err();
  lrc_entry& target = **entry;
  target.mode = rli_mode::bloom;
  target.bloom = std::move(*filter);
  target.lfns.clear();
  target.generation = 0;
  target.last_seq = 0;
  target.last_refresh_ms = now_ms;
  target.interval_ms = interval_ms;
  return {};
}

size_t rli_state::expire(uint64_t now_ms) {
  return std::erase_if(lrcs_, [&](const auto& item) { return !fresh(item.second, now_ms); });
}

expected<std::vector<lrc_hit>> rli_state::query_lfn(std::string_view lfn, uint64_t now_ms) const {
  if (auto ok = validate_name(lfn, "LFN"); !ok) return ok.err();
  std::vector<lrc_hit> hits;
  if (accepts(lfn)) {
    for (const auto& [name, entry] : lrcs_) {
      if (!fresh(entry, now_ms)) continue;
      if (entry.mode == rli_mode::list && entry.lfns.contains(lfn)) {
        hits.push_back({name, false});
      } else if (entry.mode == rli_mode::bloom && entry.bloom->possibly_contains(lfn)) {
        hits.push_back({name, true});
      }
    }
  }
  if (hits.empty()) {
    return fail(errc::not_found, "LFN_NEXIST: no LRC known to hold " + std::string(lfn));
  }
  return hits;
}

expected<std::vector<rli_bulk_item>> rli_state::bulk_query(const std::vector<std::string>& lfns,
                                                           uint64_t now_ms) const {
  if (lfns.size() > limits_.bulk_items_max) {
    return fail(errc::invalid_argument, "BADARG: bulk query of more than " +
                                            std::to_string(limits_.bulk_items_max) + " LFNs");
  }
  std::vector<rli_bulk_item> items;
  items.reserve(lfns.size());
  for (const auto& lfn : lfns) {
    rli_bulk_item item{lfn, errc::ok, {}, {}};
    auto hits = query_lfn(lfn, now_ms);
    if (hits) {
      item.lrcs = std::move(*hits);
    } else {
      item.code = hits.err().code;
      item.message = hits.err().message;
    }
    items.push_back(std::move(item));
  }
  return items;
}

expected<size_t> rli_state::checked_reslimit(size_t offset, size_t reslimit) const {
  if (offset > limits_.offset_max) {
    return fail(errc::invalid_argument,
                "BADARG: offset exceeds " + std::to_string(limits_.offset_max));
  }
  if (reslimit > limits_.reslimit_max) {
    return fail(errc::invalid_argument,
                "BADARG: reslimit exceeds " + std::to_string(limits_.reslimit_max));
  }
  return reslimit == 0 ? limits_.reslimit_default : reslimit;
}

void rli_state::scan_wildcard(const glob& pattern, const std::string& lrc, const lrc_entry& entry,
                              size_t& scanned, std::vector<rli_mapping>& matches,
                              bool& truncated) const {
  // The set is ordered, so only the literal prefix's range needs scanning.
  for (auto it = entry.lfns.lower_bound(pattern.literal_prefix);
       it != entry.lfns.end() && it->starts_with(pattern.literal_prefix); ++it) {
    if (scanned >= limits_.wildcard_rows_scanned_max) {
      truncated = true;
      return;
    }
    ++scanned;
    if (glob_match(pattern, *it) && accepts(*it)) matches.push_back({*it, lrc});
  }
}

expected<rli_wildcard_page> rli_state::query_wildcard(std::string_view pattern, uint64_t now_ms,
                                                      size_t offset, size_t reslimit) const {
  auto parsed = parse_glob(pattern, limits_.name_bytes_max);
  if (!parsed) return parsed.err();
  auto limit = checked_reslimit(offset, reslimit);
  if (!limit) return limit.err();
  rli_wildcard_page page;
  std::vector<rli_mapping> matches;
  size_t scanned = 0;
  size_t list_lrcs = 0;
  for (const auto& [name, entry] : lrcs_) {
    if (!fresh(entry, now_ms)) continue;
    if (entry.mode == rli_mode::bloom) page.skipped_bloom_lrcs.push_back(name);
    if (entry.mode != rli_mode::list) continue;
    ++list_lrcs;
    scan_wildcard(*parsed, name, entry, scanned, matches, page.truncated);
  }
  if (list_lrcs == 0 && !page.skipped_bloom_lrcs.empty()) {
    return fail(errc::invalid_argument,
                "BADARG: wildcard queries need LFN-list updates; these LRCs send Bloom filters: " +
                    join_names(page.skipped_bloom_lrcs));
  }
  std::sort(matches.begin(), matches.end());
  const size_t begin = std::min(offset, matches.size());
  const size_t end = std::min(matches.size(), begin + *limit);
  page.items.assign(std::make_move_iterator(matches.begin() + static_cast<std::ptrdiff_t>(begin)),
                    std::make_move_iterator(matches.begin() + static_cast<std::ptrdiff_t>(end)));
  page.more = end < matches.size();
  return page;
}

std::vector<rli_lrc_summary> rli_state::lrcs(uint64_t now_ms) const {
  std::vector<rli_lrc_summary> out;
  out.reserve(lrcs_.size());
  for (const auto& [name, entry] : lrcs_) {
    rli_lrc_summary summary;
    summary.lrc = name;
    summary.mode = entry.mode;
    summary.lfn_count = entry.mode == rli_mode::bloom ? entry.bloom->item_count()
                                                      : static_cast<uint64_t>(entry.lfns.size());
    summary.generation = entry.generation;
    summary.last_seq = entry.last_seq;
    summary.last_refresh_ms = entry.last_refresh_ms;
    summary.interval_ms = entry.interval_ms;
    summary.stale = !fresh(entry, now_ms);
    summary.full_update_pending = entry.pending.has_value();
    summary.lfns_rejected = entry.lfns_rejected;
    out.push_back(std::move(summary));
  }
  return out;
}

}  // namespace librarian::rls
