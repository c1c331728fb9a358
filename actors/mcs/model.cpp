// Names and texts of the MCS vocabulary (see model.hpp).
#include "actors/mcs/model.hpp"

namespace librarian::mcs {

std::optional<kind> kind_from_letter(std::string_view letter) {
  if (letter == "l" || letter == "file") return kind::file;
  if (letter == "c" || letter == "collection") return kind::collection;
  if (letter == "v" || letter == "view") return kind::view;
  return std::nullopt;
}

const char* kind_letter(kind k) {
  switch (k) {
    case kind::file:
      return "l";
    case kind::collection:
      return "c";
    case kind::view:
      return "v";
  }
  return "?";
}

const char* kind_noun(kind k) {
  switch (k) {
    case kind::file:
      return "logical file";
    case kind::collection:
      return "collection";
    case kind::view:
      return "view";
  }
  return "object";
}

std::string describe(const object_ref& ref) {
  std::string shown = ref.name.size() <= 128 ? ref.name : ref.name.substr(0, 128) + "...";
  auto out = std::string{kind_noun(ref.k)} + " '" + shown + "'";
  if (ref.version != 0) out += " version " + std::to_string(ref.version);
  return out;
}

std::optional<uint8_t> rights_from_text(std::string_view text) {
  uint8_t rights = 0;
  // Bounded by the text's length: each pass consumes one comma-separated word.
  while (!text.empty()) {
    auto comma = text.find(',');
    auto word = text.substr(0, comma);
    if (word == "read")
      rights |= right_read;
    else if (word == "write")
      rights |= right_write;
    else if (word == "create")
      rights |= right_create;
    else if (word == "all")
      rights |= rights_all;
    else
      return std::nullopt;
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (rights == 0) return std::nullopt;
  return rights;
}

std::string rights_text(uint8_t rights) {
  std::string out;
  if (rights & right_read) out += "read";
  if (rights & right_write) out += out.empty() ? "write" : ",write";
  if (rights & right_create) out += out.empty() ? "create" : ",create";
  return out.empty() ? "none" : out;
}

}  // namespace librarian::mcs
