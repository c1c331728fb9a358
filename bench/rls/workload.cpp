// The rls suite's sizes and names (see workload.hpp).
#include "bench/rls/workload.hpp"

#include "bench/common/phase.hpp"

#include <charconv>
#include <cstdio>
#include <string_view>

namespace librarian::bench::rls {

void phase(const char* name) {
  print_phase("rls", name);
}

params params_for(bool quick, uint64_t mappings, uint64_t large_mappings) {
  params p;
  p.quick = quick;
  if (quick) {
    // A smoke run: every phase once, small, in well under a minute.
    p.mappings = 20'000;
    p.large_mappings = 100'000;
    p.rounds = 1;
    p.round_s = 1.0;
    p.latency_queries = 2'000;
    p.update_repeats = 1;
    p.update_interval_ms = 3'000;
    p.bloom_lfns = 100'000;
    p.bloom_repeats = 1;
    p.bloom_filters = 5;
    p.bloom_filter_lfns = 100'000;
  }
  if (mappings != 0) p.mappings = mappings;
  if (large_mappings != 0) p.large_mappings = large_mappings;
  p.large_mappings = std::max(p.large_mappings, p.mappings);
  return p;
}

// Built with to_chars: the Bloom phase names 100M LFNs, so this is on its setup path.
std::string lfn_of(uint64_t i) {
  char run[24], file[24];
  char* run_end = std::to_chars(run, run + sizeof run, i / 1000).ptr;
  char* file_end = std::to_chars(file, file + sizeof file, i).ptr;
  std::string out;
  out.reserve(64);
  out.append("lfn://bench/run-").append(run, run_end).append("/file-");
  out.append(file, file_end).append(".dat");
  return out;
}

std::string pfn_of(uint64_t i) {
  return "gsiftp://site-" + std::to_string(i % 10) + ".example.org/store/run-" +
         std::to_string(i / 1000) + "/file-" + std::to_string(i) + ".dat";
}

}  // namespace librarian::bench::rls
