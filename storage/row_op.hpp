// Rows to write, named by table, as a plain value that can travel in a message: how one actor
// hands the rows of a multi-table change to the actor that owns the rest of the batch (the
// librarian's File + Instance rows go to the LRC, which adds its mapping rows and commits them
// all as one WriteBatch; DESIGN.md §5).
#pragma once

#include <string>
#include <vector>

#include "storage/db.hpp"

namespace librarian::storage {

struct row_op {
  std::string table;
  std::string key;
  std::string value;
  bool erase = false;  // a delete of key (value unused)
  friend bool operator==(const row_op&, const row_op&) = default;
};

using row_list = std::vector<row_op>;

// CAF inspection without CAF headers: the type's name comes from its type-ID registration.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, row_op& x) {
  return f(x.table, x.key, x.value, x.erase);
}

// Appends the rows to b in order. Every table must be open in d (asserted by get_table).
inline void append_rows(const db& d, const row_list& rows, batch& b) {
  for (const auto& r : rows) {
    auto t = d.get_table(r.table);
    if (r.erase)
      b.del(t, r.key);
    else
      b.put(t, r.key, r.value);
  }
}

}  // namespace librarian::storage
