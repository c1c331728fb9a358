// Planted bugs: test-only switches that make product code misbehave on purpose, so a test can
// prove the simulator's checkers catch the mistake. Only librarian-sim's --plant-bug (and tests)
// turn one on; production never does.
#pragma once

#include <string>
#include <string_view>

namespace librarian::planted {

// Known bugs:
//   announce_before_commit   the users and lrc actors reply before their rows are durable
//   ignore_duplicate_guard   the users actor overwrites an existing user on create
//   skip_ingest_verify       the librarian commits staged bytes without checking size and checksum
//   callback_before_commit   the replicator reports a clone COMPLETED before committing it
void enable(std::string name);
void clear();
[[nodiscard]] bool on(std::string_view name);
[[nodiscard]] bool known(std::string_view name);

}  // namespace librarian::planted
