// The RLS family's public contract: the LRC actor's typed handle and the CAF inspection of its
// messages. Other families include only this header.
#pragma once

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/rls/messages.hpp"
#include "runtime/type_ids.hpp"
#include "storage/row_op.hpp"

namespace librarian::rls {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mapping& x) {
  return f(caf::meta::type_name("mapping"), x.lfn, x.pfn);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, name_page& x) {
  return f(caf::meta::type_name("name_page"), x.items, x.more);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, mapping_page& x) {
  return f(caf::meta::type_name("mapping_page"), x.items, x.more, x.truncated);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bulk_outcome& x) {
  return f(caf::meta::type_name("bulk_outcome"), x.codes, x.messages);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bulk_lrcs& x) {
  return f(caf::meta::type_name("bulk_lrcs"), x.codes, x.messages, x.lrcs);
}

using namespace librarian::atoms;

// The Local Replica Catalog: LFN <-> PFN mappings of this node (Globus RLS's LRC).
using lrc_actor = caf::typed_actor<
    caf::replies_to<create_atom, std::string, std::string>::with<mapping>,  // LFN_EXIST
    caf::replies_to<add_atom, std::string, std::string>::with<mapping>,     // LFN_NEXIST
    caf::replies_to<remove_atom, std::string, std::string>::with<mapping>,  // MAPPING_NEXIST
    caf::replies_to<rename_atom, std::string, std::string>::with<mapping>,  // LFN old -> new
    caf::replies_to<exists_atom, std::string>::with<bool>,                  // LFN exists?
    // (LFN, offset, reslimit) -> its PFNs; (PFN, offset, reslimit) -> its LFNs
    caf::replies_to<query_atom, std::string, uint64_t, uint64_t>::with<name_page>,
    caf::replies_to<query_pfn_atom, std::string, uint64_t, uint64_t>::with<name_page>,
    // (LFN pattern with * and ?, offset, reslimit) -> mappings
    caf::replies_to<wildcard_atom, std::string, uint64_t, uint64_t>::with<mapping_page>,
    caf::replies_to<count_atom>::with<uint64_t, uint64_t>,  // (LFNs, mappings)
    caf::replies_to<depth_atom>::with<uint64_t>,
    caf::reacts_to<committed_atom, uint64_t, uint8_t, std::string>,
    // (LFN, PFN, rows): adds the mapping (creating the LFN if new) and commits it in ONE batch
    // with the caller's rows -- how the librarian records an instance and its LRC mapping
    // atomically. Nothing is written if the mapping is refused.
    caf::replies_to<attach_atom, std::string, std::string, storage::row_list>::with<mapping>,
    // The same for many mappings in one batch (bulk upload, import): how many were attached.
    caf::replies_to<attach_atom, std::vector<mapping>, storage::row_list>::with<uint64_t>,
    // Soft state to RLIs (per update target T; rli_feed.hpp): the periodic timer, the next chunk
    // of a full list, the buffer timer of immediate mode, the next page of a Bloom build.
    caf::reacts_to<rli_tick_atom, uint32_t>,
    caf::reacts_to<rli_next_atom, uint32_t, uint64_t, uint32_t, std::string>,
    caf::reacts_to<rli_flush_atom, uint32_t>,
    caf::reacts_to<rli_bnext_atom, uint32_t, uint64_t, std::string>,
    // Trims the change log of what no update target still needs (a timer).
    caf::reacts_to<tick_atom>,
    // (RLI name): that RLI lost an incremental update and needs a full list.
    caf::reacts_to<rli_resync_atom, std::string>,
    // One line per update target: mode, sync state, last updates sent.
    caf::replies_to<targets_atom>::with<std::vector<std::string>>,
    // rls-admin: (RLI, mode, interval_ms, patterns) a new update target, stored; or remove one
    // added at run time. Both answer with the targets' lines.
    caf::replies_to<targets_atom, add_atom, std::string, std::string, int64_t,
                    std::vector<std::string>>::with<std::vector<std::string>>,
    caf::replies_to<targets_atom, remove_atom, std::string>::with<std::vector<std::string>>,
    // (bulk_verb, items): bulk create/add/delete, one status per item, one batch.
    caf::replies_to<bulk_atom, uint8_t, std::vector<mapping>>::with<bulk_outcome>,
    // rls-admin clear: removes every mapping (RLIs hear of it); how many it removed.
    caf::replies_to<clear_atom>::with<uint64_t>>;

// The Replica Location Index: which LRCs (sites) hold which LFNs, from the LRCs' soft state.
using rli_actor = caf::typed_actor<
    // (LRC, generation, interval_ms), (LRC, generation, chunk, LFNs),
    // (LRC, generation, chunks, interval_ms)
    caf::reacts_to<rli_begin_atom, std::string, uint64_t, int64_t>,
    caf::reacts_to<rli_chunk_atom, std::string, uint64_t, uint32_t, std::vector<std::string>>,
    caf::reacts_to<rli_end_atom, std::string, uint64_t, uint32_t, int64_t>,
    // (LRC, from position, to position, added LFNs, removed LFNs, interval_ms): immediate mode
    caf::reacts_to<rli_incr_atom, std::string, uint64_t, uint64_t, std::vector<std::string>,
                   std::vector<std::string>, int64_t>,
    // (LRC, generation, serialized Bloom filter, interval_ms)
    caf::reacts_to<rli_bloom_atom, std::string, uint64_t, std::string, int64_t>,
    // (hops, one of the five update messages above) from a child RLI (hierarchy)
    caf::reacts_to<rli_fwd_atom, uint32_t, caf::message>,
    // (LRCs) whose journal could not be written: forget them (sent by the shell to itself)
    caf::reacts_to<rli_lost_atom, std::vector<std::string>>,
    // this RLI's statistics: received, refused, forwarded, parents
    caf::replies_to<targets_atom>::with<std::vector<std::string>>,
    // LFN -> the fresh LRCs that hold it ("NAME", or "NAME maybe" for a Bloom-mode LRC)
    caf::replies_to<query_atom, std::string>::with<std::vector<std::string>>,
    // LFNs -> per LFN the same answer, or why not (bulk query; one bad LFN fails only itself)
    caf::replies_to<bulk_atom, std::vector<std::string>>::with<bulk_lrcs>,
    // (pattern, offset, reslimit) -> "LFN LRC" lines of list-mode state, then "(more)" and
    // "(skipped Bloom-mode LRCs: ...)" lines; BADARG when only Bloom state is held
    caf::replies_to<wildcard_atom, std::string, uint64_t, uint64_t>::with<std::vector<std::string>>,
    // one line per LRC known: "NAME lfns=N mode=list|bloom[ stale] generation=G position=P
    // last_update_ms=T interval_ms=I"
    caf::replies_to<list_atom>::with<std::vector<std::string>>,
    caf::replies_to<depth_atom>::with<uint64_t>, caf::reacts_to<tick_atom>>;

}  // namespace librarian::rls
