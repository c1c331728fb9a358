// RLI soft state: validation first, then the change, so a refused update leaves nothing behind.
#include "actors/rls/rli_state.hpp"

#include <algorithm>
#include <iterator>
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
    if (!fresh(it->second, now_ms)) {
      journal_drop(it->first, it->second);
      it->second = lrc_entry{};
    }
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
  // Increments past the new generation, kept for an abandoned update, still apply after it.
  std::vector<incremental> kept;
  if ((*entry)->pending) {
    for (auto& changes : (*entry)->pending->incrementals)
      if (changes.to_seq > generation) kept.push_back(std::move(changes));
  }
  (*entry)->pending = pending_full{generation, {}, 0, std::nullopt, std::move(kept), now_ms};
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

bool rli_state::implicit_begin(lrc_entry* entry, uint64_t generation, uint64_t now_ms) {
  // Only for an LRC this RLI holds fresh state of (so its interval is known): an unknown LRC
  // must begin its update. An older generation than the list held is stale, as for begin.
  if (entry == nullptr || entry->interval_ms == 0) return false;
  if (entry->mode == rli_mode::list && generation < entry->last_seq) return false;
  std::vector<incremental> kept;
  if (entry->pending) {
    for (auto& changes : entry->pending->incrementals)
      if (changes.to_seq > generation) kept.push_back(std::move(changes));
  }
  entry->pending = pending_full{generation, {}, 0, std::nullopt, std::move(kept), now_ms};
  return true;
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
  if (match == pending_match::missing && !implicit_begin(entry, generation, now_ms)) {
    return no_pending_update(lrc, generation);
  }
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
  return try_complete(lrc, *entry, now_ms);
}

expected<update_outcome> rli_state::end_full_update(const std::string& lrc, uint64_t generation,
                                                    size_t chunk_count, uint64_t now_ms,
                                                    uint64_t interval_ms) {
  if (interval_ms != 0) {
    if (auto ok = validate_interval(interval_ms); !ok) return ok.err();
  }
  lrc_entry* entry = fresh_entry(lrc, now_ms);
  const auto match = match_pending(entry, generation);
  if (match == pending_match::ignore) return ignore_update(*entry, generation, now_ms);
  if (match == pending_match::missing && !implicit_begin(entry, generation, now_ms)) {
    return no_pending_update(lrc, generation);
  }
  pending_full& pending = *entry->pending;
  const bool count_changed = pending.chunk_count && *pending.chunk_count != chunk_count;
  const bool chunk_beyond =
      !pending.chunks.empty() && pending.chunks.rbegin()->first >= chunk_count;
  if (chunk_count > limits_.chunks_max || count_changed || chunk_beyond) {
    return fail(errc::invalid_argument, "BADARG: full update from " + lrc + " cannot have " +
                                            std::to_string(chunk_count) + " chunks");
  }
  pending.chunk_count = chunk_count;
  if (interval_ms != 0) entry->interval_ms = interval_ms;
  entry->last_refresh_ms = now_ms;
  return try_complete(lrc, *entry, now_ms);
}

expected<update_outcome> rli_state::try_complete(const std::string& lrc, lrc_entry& entry,
                                                 uint64_t now_ms) {
  pending_full& pending = *entry.pending;
  // Keys are unique and all below chunk_count, so equal sizes mean every chunk is in.
  if (!pending.chunk_count || pending.chunks.size() != *pending.chunk_count) {
    return update_outcome::pending;
  }
  std::set<std::string, std::less<>> lfns;
  for (auto& [index, chunk] : pending.chunks) {
    for (auto& lfn : chunk) lfns.insert(std::move(lfn));
  }
  // The journal gets the difference only: a periodic full list of an unchanged catalog writes
  // one meta row, not a million LFN rows.
  std::vector<std::string> added, removed;
  if (limits_.persist_lists) {
    std::set_difference(lfns.begin(), lfns.end(), entry.lfns.begin(), entry.lfns.end(),
                        std::back_inserter(added));
    std::set_difference(entry.lfns.begin(), entry.lfns.end(), lfns.begin(), lfns.end(),
                        std::back_inserter(removed));
  }
  auto incrementals = std::move(pending.incrementals);
  entry.lfns = std::move(lfns);
  entry.bloom.reset();
  entry.mode = rli_mode::list;
  entry.generation = pending.generation;
  entry.last_seq = pending.generation;
  entry.last_refresh_ms = now_ms;
  entry.pending.reset();
  journal(lrc, entry, std::move(added), std::move(removed));
  // Replay what arrived while the list streamed, in chain order (each pass applies one).
  std::sort(incrementals.begin(), incrementals.end(),
            [](const incremental& a, const incremental& b) { return a.from_seq < b.from_seq; });
  for (const auto& changes : incrementals) {
    if (changes.from_seq <= entry.last_seq && changes.to_seq > entry.last_seq) {
      apply_changes(lrc, entry, changes, now_ms);
    }
  }
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

void rli_state::apply_changes(const std::string& lrc, lrc_entry& entry, const incremental& changes,
                              uint64_t now_ms) {
  // Removals first, then additions: the sender nets its changes, so an LFN is in only one of
  // the two lists and the order only matters for a sloppy sender.
  std::vector<std::string> removed, added;
  for (const auto& lfn : changes.removed) {
    if (auto it = entry.lfns.find(lfn); it != entry.lfns.end()) {
      entry.lfns.erase(it);
      if (limits_.persist_lists) removed.push_back(lfn);
    }
  }
  for (const auto& lfn : changes.added) {
    if (!accepts(lfn)) {
      ++entry.lfns_rejected;
    } else if (entry.lfns.insert(lfn).second && limits_.persist_lists) {
      added.push_back(lfn);
    }
  }
  entry.last_seq = changes.to_seq;
  entry.last_refresh_ms = now_ms;
  journal(lrc, entry, std::move(added), std::move(removed));
}

expected<update_outcome> rli_state::apply_incremental(const std::string& lrc, uint64_t from_seq,
                                                      uint64_t to_seq,
                                                      const std::vector<std::string>& added,
                                                      const std::vector<std::string>& removed,
                                                      uint64_t now_ms, uint64_t interval_ms) {
  if (auto ok = validate_name(lrc, "LRC name"); !ok) return ok.err();
  if (auto ok = validate_interval(interval_ms); !ok) return ok.err();
  if (to_seq < from_seq) {
    return fail(errc::invalid_argument, "BADARG: incremental update from " + lrc + " ends at " +
                                            std::to_string(to_seq) + ", before its start " +
                                            std::to_string(from_seq));
  }
  lrc_entry* entry = fresh_entry(lrc, now_ms);
  const bool has_list = entry != nullptr && entry->mode == rli_mode::list;
  const bool streaming = entry != nullptr && entry->pending.has_value();
  if (!has_list && !streaming) {
    return fail(errc::not_found, "LRC_NEXIST: no current LFN list from " + lrc +
                                     "; it must send a full update first");
  }
  if (auto ok = validate_incremental(*entry, added, removed); !ok) return ok.err();
  incremental changes{from_seq, to_seq, added, removed};
  bool kept = false;
  if (streaming && to_seq > entry->pending->generation) {
    auto& kept_list = entry->pending->incrementals;
    if (kept_list.size() < limits_.pending_incrementals_max) {
      kept_list.push_back(changes);
      kept = true;
    }
  }
  if (has_list && to_seq <= entry->last_seq) {
    entry->last_refresh_ms = now_ms;  // a duplicate (or a heartbeat) still shows the LRC is alive
    return update_outcome::ignored;
  }
  if (has_list && from_seq <= entry->last_seq) {
    entry->interval_ms = interval_ms;
    apply_changes(lrc, *entry, changes, now_ms);
    return update_outcome::applied;
  }
  // A full update still streaming one interval after its begin has lost a chunk or its end:
  // waiting for it would wait forever, so the gap is refused and the LRC sends a new one.
  const bool stalled = streaming && now_ms - entry->pending->began_ms > entry->interval_ms;
  if (streaming && !stalled) {
    if (kept) {
      entry->last_refresh_ms = now_ms;
      return update_outcome::pending;
    }
    if (to_seq <= entry->pending->generation) {
      entry->last_refresh_ms = now_ms;  // the list being streamed covers it; the LRC is alive
      return update_outcome::ignored;
    }
  }
  return fail(errc::conflict, "incremental update (" + std::to_string(from_seq) + ", " +
                                  std::to_string(to_seq) + "] from " + lrc + " after position " +
                                  std::to_string(entry->last_seq) +
                                  ": updates were lost, a full update is needed");
}

expected<update_outcome> rli_state::set_bloom(const std::string& lrc, uint64_t generation,
                                              std::string_view bloom_bytes, uint64_t now_ms,
                                              uint64_t interval_ms) {
  if (auto ok = validate_name(lrc, "LRC name"); !ok) return ok.err();
  if (auto ok = validate_interval(interval_ms); !ok) return ok.err();
  auto filter = bloom_filter::deserialize(bloom_bytes, limits_.bloom_bits_max);
  if (!filter) return filter.err();
  if (lrc_entry* known = fresh_entry(lrc, now_ms);
      known != nullptr && known->mode == rli_mode::bloom && known->generation > generation) {
    known->last_refresh_ms = now_ms;  // a reordered older filter: the LRC is alive all the same
    return update_outcome::ignored;
  }
  auto entry = entry_for_update(lrc, now_ms);
  if (!entry) return entry.err();
  lrc_entry& target = **entry;
  if (target.mode == rli_mode::list) journal_drop(lrc, target);
  target.mode = rli_mode::bloom;
  target.bloom = std::move(*filter);
  target.lfns.clear();
  target.pending.reset();
  target.generation = generation;
  target.last_seq = generation;
  target.last_refresh_ms = now_ms;
  target.interval_ms = interval_ms;
  return update_outcome::applied;
}

expected<bool> rli_state::restore_list(const std::string& lrc, const rli_list_meta& meta,
                                       std::vector<std::string> lfns, uint64_t now_ms) {
  if (auto ok = validate_name(lrc, "LRC name"); !ok) return ok.err();
  if (auto ok = validate_interval(meta.interval_ms); !ok) return ok.err();
  if (lfns.size() > limits_.lfns_per_lrc_max) {
    return fail(errc::storage_full, "persisted list of " + lrc + " exceeds " +
                                        std::to_string(limits_.lfns_per_lrc_max) + " LFNs");
  }
  for (const auto& lfn : lfns) {
    if (auto ok = validate_name(lfn, "LFN"); !ok) return ok.err();
  }
  lrc_entry entry;
  entry.mode = rli_mode::list;
  entry.generation = meta.generation;
  entry.last_seq = meta.last_seq;
  entry.last_refresh_ms = meta.last_refresh_ms;
  entry.persisted_refresh_ms = meta.last_refresh_ms;
  entry.interval_ms = meta.interval_ms;
  entry.lfns_rejected = meta.lfns_rejected;
  if (!fresh(entry, now_ms)) return false;
  if (!lrcs_.contains(lrc) && lrcs_.size() >= limits_.lrcs_max) {
    return fail(errc::storage_full, "RLI already tracks " + std::to_string(limits_.lrcs_max) +
                                        " LRCs; not restoring " + lrc);
  }
  entry.lfns.insert(std::make_move_iterator(lfns.begin()), std::make_move_iterator(lfns.end()));
  lrcs_.insert_or_assign(lrc, std::move(entry));
  return true;
}

std::vector<rli_persist_op> rli_state::take_persist_ops() {
  return std::exchange(journal_, {});
}

std::vector<rli_persist_op> rli_state::take_refreshes() {
  std::vector<rli_persist_op> out;
  if (!limits_.persist_lists) return out;
  for (auto& [name, entry] : lrcs_) {
    if (entry.mode != rli_mode::list || entry.last_refresh_ms == entry.persisted_refresh_ms) {
      continue;
    }
    entry.persisted_refresh_ms = entry.last_refresh_ms;
    out.push_back({name, meta_of(entry), {}, {}});
  }
  return out;
}

rli_list_meta rli_state::meta_of(const lrc_entry& entry) {
  return {entry.generation, entry.last_seq, entry.last_refresh_ms, entry.interval_ms,
          entry.lfns_rejected};
}

void rli_state::journal(const std::string& lrc, lrc_entry& entry, std::vector<std::string> added,
                        std::vector<std::string> removed) {
  if (!limits_.persist_lists) return;
  entry.persisted_refresh_ms = entry.last_refresh_ms;
  journal_.push_back({lrc, meta_of(entry), std::move(added), std::move(removed)});
}

void rli_state::journal_drop(const std::string& lrc, const lrc_entry& entry) {
  if (!limits_.persist_lists || entry.mode != rli_mode::list) return;
  journal_.push_back({lrc, std::nullopt, {}, {entry.lfns.begin(), entry.lfns.end()}});
}

size_t rli_state::expire(uint64_t now_ms) {
  return std::erase_if(lrcs_, [&](auto& item) {
    if (fresh(item.second, now_ms)) return false;
    journal_drop(item.first, item.second);
    return true;
  });
}

expected<std::vector<lrc_hit>> rli_state::query_lfn(std::string_view lfn, uint64_t now_ms) const {
  if (auto ok = validate_name(lfn, "LFN"); !ok) return ok.err();
  std::vector<lrc_hit> hits;
  if (accepts(lfn)) {
    // The name is hashed once for every filter, and every filter's block starts loading before
    // any is tested, so the cache misses of many filters overlap instead of queueing.
    const bloom_key key = bloom_filter::key_of(lfn);
    for (const auto& [name, entry] : lrcs_) {
      if (entry.mode == rli_mode::bloom) entry.bloom->prefetch(key);
    }
    for (const auto& [name, entry] : lrcs_) {
      if (!fresh(entry, now_ms)) continue;
      if (entry.mode == rli_mode::list && entry.lfns.contains(lfn)) {
        hits.push_back({name, false});
      } else if (entry.mode == rli_mode::bloom && entry.bloom->possibly_contains(key)) {
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
