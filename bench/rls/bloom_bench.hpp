// Bloom-filter figures in-process (bloom.hpp and rli_state directly, as the issue allows): one
// filter of names held in memory (build, serialize + install), and an RLI holding many filters
// answering "which LRCs may hold this LFN?".
#pragma once

#include "bench/rls/workload.hpp"

namespace librarian::bench::rls {

[[nodiscard]] json bloom_in_memory(const params& p);

// p.bloom_filters filters of p.bloom_filter_lfns distinct LFNs each, installed as as many LRCs in
// one rli_state; single-thread queries, half for LFNs one filter holds, half for unknown LFNs.
[[nodiscard]] json rli_bloom_queries(const params& p);

}  // namespace librarian::bench::rls
