// The Metadata Catalog's vocabulary (no CAF, no storage): object kinds and references, callers and
// their rights, attribute assignments, query conditions and the results the state machine returns.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace librarian::mcs {

// The seed's l|c|v: logical files, collections (a tree) and views (acyclic groupings).
enum class kind : uint8_t { file = 'l', collection = 'c', view = 'v' };
[[nodiscard]] std::optional<kind> kind_from_letter(std::string_view letter);
[[nodiscard]] const char* kind_letter(kind k);  // "l", "c", "v"
[[nodiscard]] const char* kind_noun(kind k);    // "logical file", "collection", "view"

// An object is named by its kind, its name and (files only, optionally) a version; 0 = none.
struct object_ref {
  kind k = kind::file;
  std::string name;
  uint64_t version = 0;
  friend bool operator==(const object_ref&, const object_ref&) = default;
};
[[nodiscard]] std::string describe(const object_ref& ref);  // "logical file 'x' version 2"

// Who asks. admin: the API's ADMIN role, which sees and may change everything.
struct principal {
  std::string user;
  std::vector<std::string> groups;
  bool admin = false;
};

// Rights granted per object (or per service, which covers every object).
inline constexpr uint8_t right_read = 1;
inline constexpr uint8_t right_write = 2;   // modify attributes, members, annotations; delete
inline constexpr uint8_t right_create = 4;  // add new members to a collection or view
inline constexpr uint8_t rights_all = 7;
// "read", "write", "create", "all", or a comma-separated list of them.
[[nodiscard]] std::optional<uint8_t> rights_from_text(std::string_view text);
[[nodiscard]] std::string rights_text(uint8_t rights);

// The caller and the time of the request (from the injected wall clock, never the system clock).
struct call_ctx {
  principal who;
  int64_t now_us = 0;
};

// One attribute as a user writes it; type may be empty when the attribute is already defined.
struct attr_assign {
  std::string name;
  std::string type;
  std::string value;
};

struct attr_entry {
  std::string name;
  std::string type;
  std::string value;
  bool predefined = false;
  friend bool operator==(const attr_entry&, const attr_entry&) = default;
};

struct attr_def_entry {
  std::string name;
  std::string type;
  bool predefined = false;
};

struct object_entry {
  kind k = kind::file;
  std::string name;
  uint64_t version = 0;
  friend bool operator==(const object_entry&, const object_entry&) = default;
  friend auto operator<=>(const object_entry&, const object_entry&) = default;
};

struct object_page {
  std::vector<object_entry> items;
  bool more = false;
};

// attr OP value [value2]; op is one of = != < <= > >= between like.
struct condition {
  std::string attr;
  std::string op;
  std::string value;
  std::string value2;  // between's upper bound
  std::string type;    // optional: must match the attribute's type when given
};

struct query_request {
  kind k = kind::file;
  std::vector<condition> conditions;
  uint64_t offset = 0;
  uint64_t limit = 0;  // 0 = the default page; a scan without an index needs an explicit limit
  bool count_only = false;
};

struct query_result {
  std::vector<object_entry> items;
  bool more = false;       // another page exists at offset + items.size()
  bool truncated = false;  // the scan budget ran out: later matches may exist
  uint64_t count = 0;      // count_only: the number of matches
  std::string plan;        // which condition drove the scan and its estimate, for explain/tests
};

struct annotation {
  std::string who;
  int64_t when_us = 0;
  std::string text;
};

struct provenance_info {
  std::string text;
  std::string who;
  int64_t when_us = 0;
  std::vector<object_entry> derived_from;  // sources the caller may read
};

struct acl_entry {
  std::string principal;  // "user:NAME", "group:NAME" or "anyone"
  std::string rights;
};

struct document {
  std::string format;  // "json" or "xml"
  std::string content;
};

struct audit_entry {
  uint64_t seq = 0;
  int64_t when_us = 0;
  std::string who;
  std::string action;
  std::string object;
  std::string detail;
};

}  // namespace librarian::mcs
