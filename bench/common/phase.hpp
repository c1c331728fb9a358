// One stderr line per benchmark phase, "SUITE: NAME at UNIX-SECONDS.MS", so a long run shows
// where it is and a profile of the node can be cut by phase (stdout keeps only the JSON).
#pragma once

#include <string_view>

namespace librarian::bench {

void print_phase(std::string_view suite, std::string_view name);

}  // namespace librarian::bench
