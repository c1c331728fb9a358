// Appending rows to a storage::row_list: a record (encoded with its schema version), an empty
// marker (index tables), or a delete. The state machines that hand their rows to an actor shell
// (the librarian's catalog, the replicator's transfers) build their batches with these.
#pragma once

#include <string>

#include "storage/codec.hpp"
#include "storage/row_op.hpp"

namespace librarian::storage {

template <record Row>
void put_row(row_list& rows, const char* table, std::string key, const Row& row) {
  rows.push_back({table, std::move(key), encode(row), false});
}

inline void put_marker(row_list& rows, const char* table, std::string key) {
  rows.push_back({table, std::move(key), std::string{}, false});
}

inline void erase_row(row_list& rows, const char* table, std::string key) {
  rows.push_back({table, std::move(key), std::string{}, true});
}

}  // namespace librarian::storage
