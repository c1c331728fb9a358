// Typed access to a table whose values are codec records: get_record / put_record.
#pragma once

#include <optional>
#include <string_view>

#include "storage/codec.hpp"
#include "storage/db.hpp"

namespace librarian::storage {

// nullopt when the key is absent; an error when the read fails or the stored value is corrupt.
template <record V>
[[nodiscard]] expected<std::optional<V>> get_record(const db& d, table t, std::string_view key) {
  auto raw = d.get(t, key);
  if (!raw) return raw.err();
  if (!raw->has_value()) return std::optional<V>{};
  auto value = decode<V>(**raw);
  if (!value) return value.err();
  return std::optional<V>{std::move(*value)};
}

template <record V>
void put_record(batch& b, table t, std::string_view key, const V& value) {
  b.put(t, key, encode(value));
}

}  // namespace librarian::storage
