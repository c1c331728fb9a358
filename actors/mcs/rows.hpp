// The MCS's on-disk records and key layouts (private to the family's state machine).
#pragma once

#include <cstdint>
#include <string>

#include "actors/mcs/mcs_state.hpp"
#include "storage/codec.hpp"
#include "storage/keys.hpp"

namespace librarian::mcs {

struct mcs_state::object_row {
  static constexpr uint8_t schema_version = 1;
  uint8_t k = 0;
  std::string name;
  uint64_t version = 0;
  std::string owner;
  uint64_t container = 0;  // the collection holding it; 0: none
  template <class Archive>
  void serialize(Archive& ar) {
    ar(k, name, version, owner, container);
  }
  [[nodiscard]] kind object_kind() const { return static_cast<kind>(k); }
  [[nodiscard]] object_ref ref() const { return {object_kind(), name, version}; }
  [[nodiscard]] bool valid_kind() const {
    return k == static_cast<uint8_t>(kind::file) || k == static_cast<uint8_t>(kind::collection) ||
           k == static_cast<uint8_t>(kind::view);
  }
};

inline object_cache::object to_cached(mcs_state::object_row&& row) {
  return {row.k, std::move(row.name), row.version, std::move(row.owner), row.container};
}

inline mcs_state::object_row from_cached(object_cache::object&& o) {
  mcs_state::object_row row;
  row.k = o.k;
  row.name = std::move(o.name);
  row.version = o.version;
  row.owner = std::move(o.owner);
  row.container = o.container;
  return row;
}

struct mcs_state::attr_def {
  static constexpr uint8_t schema_version = 1;
  uint64_t id = 0;
  uint8_t type = 0;
  std::string name;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(id, type, name);
  }
  [[nodiscard]] attr_type value_type() const { return static_cast<attr_type>(type); }
};

struct counters_row {
  static constexpr uint8_t schema_version = 1;
  uint64_t next_id = 1;
  uint64_t next_attr_id = 100;
  uint64_t next_seq = 1;
  uint64_t objects = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(next_id, next_attr_id, next_seq, objects);
  }
};

struct note_row {
  static constexpr uint8_t schema_version = 1;
  std::string who;
  int64_t when_us = 0;
  std::string text;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(who, when_us, text);
  }
};

struct doc_row {
  static constexpr uint8_t schema_version = 1;
  std::string format;
  std::string content;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(format, content);
  }
};

struct audit_row_data {
  static constexpr uint8_t schema_version = 1;
  int64_t when_us = 0;
  std::string who;
  std::string action;
  std::string object;
  std::string detail;
  uint64_t object_id = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(when_us, who, action, object, detail, object_id);
  }
};

// Predefined attributes: ids below 100, kept in the same values and index tables as user
// attributes so queries treat them alike. Only valid and master_copy are writable by users.
inline constexpr uint64_t attr_creator = 1;
inline constexpr uint64_t attr_created = 2;
inline constexpr uint64_t attr_last_modifier = 3;
inline constexpr uint64_t attr_modified = 4;
inline constexpr uint64_t attr_valid = 5;
inline constexpr uint64_t attr_master_copy = 6;
inline constexpr uint64_t attr_container = 7;
inline constexpr uint64_t first_user_attr = 100;

// Shared by the state's source files: one mutation = one overlay transaction (see overlay.hpp).
template <class F>
status mcs_state::transaction(storage::batch& rows, F&& body) {
  LIB_ASSERT_MSG(!read_only_, "a write through a read-only MCS view");
  if (!store_.has_room())
    return fail(errc::unavailable, "too many catalog changes are waiting to be committed; retry");
  auto saved = counts_;
  store_.begin();
  status st = body();
  if (!st) {
    store_.abort();
    def_cache_.clear();
    counts_ = saved;
    return st;
  }
  if (bulk_depth_ == 0) write_counts();  // a bulk request writes them once, at its end
  store_.finish(rows);
  return st;
}

namespace keys {

inline std::string u64(uint64_t v) {
  return storage::u64_key(v);
}
inline std::string u64_pair(uint64_t a, uint64_t b) {
  std::string k;
  storage::append_u64(k, a);
  storage::append_u64(k, b);
  return k;
}
inline std::string tagged(char tag, uint64_t a) {
  return std::string(1, tag) + u64(a);
}
inline std::string tagged(char tag, uint64_t a, uint64_t b) {
  return std::string(1, tag) + u64_pair(a, b);
}
inline std::string name(kind k, const std::string& n, uint64_t version) {
  std::string key(1, static_cast<char>(k));
  storage::append_string(key, n);
  storage::append_u64(key, version);
  return key;
}
inline std::string index_base(uint64_t attr, kind k) {
  std::string key = u64(attr);
  key.push_back(static_cast<char>(k));
  return key;
}
inline std::string index(uint64_t attr, kind k, const typed_value& v, uint64_t id) {
  auto key = index_base(attr, k);
  append_value(key, v);
  storage::append_u64(key, id);
  return key;
}
inline std::string def_by_name(const std::string& n) {
  return "n" + storage::string_key(n);
}
inline std::string def_by_id(uint64_t id) {
  return tagged('i', id);
}
inline std::string acl(uint64_t id, const std::string& principal) {
  return u64(id) + storage::string_key(principal);
}
// The trailing 8 bytes of a key as a big-endian id (index rows and member rows end with one).
inline uint64_t trailing_id(std::string_view key) {
  // A key too short to hold an id (only a corrupt db makes one) reads as 0, which names no
  // object, so callers treat it as a dangling row instead of reading out of bounds.
  if (key.size() < 8) return 0;
  uint64_t v = 0;
  for (size_t i = key.size() - 8; i < key.size(); ++i) v = (v << 8) | static_cast<uint8_t>(key[i]);
  return v;
}

}  // namespace keys
}  // namespace librarian::mcs
