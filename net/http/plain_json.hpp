// The common shape of bulk request bodies, read without building a JSON tree.
//
// A bulk request is one object holding one array of names, or of objects with two name fields:
// {"lfns": ["a", "b"]} or {"mappings": [{"lfn": "a", "pfn": "x"}, ...]}. Parsing 1,000 such items
// into an nlohmann tree (a map per item) took more of a bulk create's node CPU than its RocksDB
// reads. These readers accept exactly that shape when every string is plain -- printable ASCII
// without a quote or backslash -- and answer nullopt for anything else (escapes, other bytes,
// other fields, numbers, nesting, duplicates, syntax errors, more than items_max items). The
// caller then parses the body with nlohmann as before, which accepts every JSON text and reports
// every error, so a body means the same whichever reader took it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace librarian::net::http {

// {"<key>": ["s1", "s2", ...]}
[[nodiscard]] std::optional<std::vector<std::string>> plain_string_array(std::string_view body,
                                                                         std::string_view key,
                                                                         size_t items_max);

// {"<key>": [{"<a>": "x", "<b>": "y"}, ...]}, the two fields in either order: (x, y) per item.
[[nodiscard]] std::optional<std::vector<std::pair<std::string, std::string>>> plain_pair_array(
    std::string_view body, std::string_view key, std::string_view a, std::string_view b,
    size_t items_max);

}  // namespace librarian::net::http
