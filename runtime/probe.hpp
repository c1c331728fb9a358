// Coverage probes (FoundationDB's CODE_PROBE): mark a rare path so a simulation sweep can report
// which rare paths its seeds reached and which never were. Every probe name is listed once in
// probe.cpp, so a sweep can also name the ones it never hit. Cheap enough to leave on.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace librarian::probe {

void hit(const char* name);
[[nodiscard]] std::map<std::string, uint64_t> counts();
void reset();
// Every probe the code declares, hit or not.
[[nodiscard]] const std::vector<std::string>& declared();

}  // namespace librarian::probe

#define LIB_PROBE(name) ::librarian::probe::hit(name)
