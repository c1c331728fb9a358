// Readers of plain bulk bodies (see plain_json.hpp).
#include "net/http/plain_json.hpp"

#include <cstring>

namespace librarian::net::http {
namespace {

class cursor {
 public:
  explicit cursor(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  void skip_blanks() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  // Skips blanks, then takes c if it is next.
  bool take(char c) {
    skip_blanks();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  bool at_end() {
    skip_blanks();
    return p_ == end_;
  }
  // A plain string (printable ASCII, no quote or backslash inside), without its quotes.
  std::optional<std::string_view> plain_string() {
    if (!take('"')) return std::nullopt;
    const char* close =
        static_cast<const char*>(std::memchr(p_, '"', static_cast<size_t>(end_ - p_)));
    if (close == nullptr) return std::nullopt;
    for (const char* q = p_; q != close; ++q) {
      auto c = static_cast<unsigned char>(*q);
      if (c < 0x20 || c > 0x7e || c == '\\') return std::nullopt;
    }
    std::string_view s{p_, static_cast<size_t>(close - p_)};
    p_ = close + 1;
    return s;
  }
  bool key(std::string_view want) {
    auto k = plain_string();
    return k && *k == want && take(':');
  }

 private:
  const char* p_;
  const char* end_;
};

// Reads {"key": [item, ...]} with read_item(cursor&) -> bool for each item.
template <class ReadItem>
bool plain_array(std::string_view body, std::string_view key, size_t items_max, size_t& count,
                 ReadItem&& read_item) {
  cursor in{body};
  if (!in.take('{') || !in.key(key) || !in.take('[')) return false;
  count = 0;
  if (!in.take(']')) {
    do {
      if (++count > items_max || !read_item(in)) return false;
    } while (in.take(','));
    if (!in.take(']')) return false;
  }
  return in.take('}') && in.at_end();
}

}  // namespace

std::optional<std::vector<std::string>> plain_string_array(std::string_view body,
                                                           std::string_view key, size_t items_max) {
  std::vector<std::string> out;
  size_t count = 0;
  bool ok = plain_array(body, key, items_max, count, [&](cursor& in) {
    auto s = in.plain_string();
    if (!s) return false;
    out.emplace_back(*s);
    return true;
  });
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> plain_pair_array(
    std::string_view body, std::string_view key, std::string_view a, std::string_view b,
    size_t items_max) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t count = 0;
  bool ok = plain_array(body, key, items_max, count, [&](cursor& in) {
    if (!in.take('{')) return false;
    auto k1 = in.plain_string();
    if (!k1 || (*k1 != a && *k1 != b) || !in.take(':')) return false;
    auto v1 = in.plain_string();
    if (!v1 || !in.take(',')) return false;
    const std::string_view other = *k1 == a ? b : a;
    if (!in.key(other)) return false;
    auto v2 = in.plain_string();
    if (!v2 || !in.take('}')) return false;
    if (*k1 == a)
      out.emplace_back(std::string{*v1}, std::string{*v2});
    else
      out.emplace_back(std::string{*v2}, std::string{*v1});
    return true;
  });
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace librarian::net::http
