// Plain message structs of the RLS family (no CAF): mappings, result pages, change-log entries.
// A later interface.hpp makes them CAF-inspectable; nothing here depends on CAF.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/error.hpp"

namespace librarian::rls {

// One LFN -> PFN mapping of a Local Replica Catalog.
struct mapping {
  std::string lfn;
  std::string pfn;
  friend bool operator==(const mapping&, const mapping&) = default;
  friend auto operator<=>(const mapping&, const mapping&) = default;
};

// A page of names (the PFNs of one LFN, or the LFNs of one PFN). more: a further page exists at
// offset + items.size() (RLS ends such a batch with its "\x01" continuation marker).
struct name_page {
  std::vector<std::string> items;
  bool more = false;
  friend bool operator==(const name_page&, const name_page&) = default;
};

// A page of wildcard results. truncated: the scan stopped at its row budget before reaching the
// end of the pattern's range, so later matches may exist even if more is false -- a narrower
// literal prefix makes the query cheaper.
struct mapping_page {
  std::vector<mapping> items;
  bool more = false;
  bool truncated = false;
  friend bool operator==(const mapping_page&, const mapping_page&) = default;
};

// One item of a bulk LFN query: its PFNs, or why there are none (code != ok).
struct bulk_query_item {
  std::string lfn;
  errc code = errc::ok;
  std::string message;
  std::vector<std::string> pfns;
  bool more = false;
  friend bool operator==(const bulk_query_item&, const bulk_query_item&) = default;
};

// The three bulk mutations of the LRC (globus-rls-cli's `bulk create`, `bulk add`,
// `bulk delete`).
enum class bulk_verb : uint8_t { create = 1, add = 2, remove = 3 };

// Per-item outcome of a bulk mutation: codes[i] is items[i]'s errc (0: done), messages[i] why it
// failed (empty when done). One bad item does not fail the others.
struct bulk_outcome {
  std::vector<uint8_t> codes;
  std::vector<std::string> messages;
  friend bool operator==(const bulk_outcome&, const bulk_outcome&) = default;
};

// Per-LFN answer of an RLI bulk query: codes[i] is lfns[i]'s errc (0: answered), messages[i]
// why not, lrcs[i] the fresh LRCs holding it ("NAME", or "NAME maybe" from a Bloom-mode LRC).
struct bulk_lrcs {
  std::vector<uint8_t> codes;
  std::vector<std::string> messages;
  std::vector<std::vector<std::string>> lrcs;
  friend bool operator==(const bulk_lrcs&, const bulk_lrcs&) = default;
};

enum class change_op : uint8_t { mapping_added = 1, mapping_removed = 2 };

// One mutation in the LRC's change log, the source of incremental soft-state updates.
// lfn_changed: this change created the LFN (added) or removed its last mapping (removed) -- the
// only changes an RLI, which indexes LFNs, has to hear about.
struct change {
  uint64_t seq = 0;
  change_op op = change_op::mapping_added;
  std::string lfn;
  std::string pfn;
  bool lfn_changed = false;
  friend bool operator==(const change&, const change&) = default;
};

// more: entries past the last one returned exist; ask again from items.back().seq.
struct change_page {
  std::vector<change> items;
  bool more = false;
};

struct lrc_counts {
  uint64_t lfns = 0;
  uint64_t mappings = 0;
  uint64_t next_seq = 1;  // the sequence number the next change will get
};

}  // namespace librarian::rls
