// range_set: merge on insert, so every query is a walk over disjoint sorted ranges.
#include "net/data/range_set.hpp"

#include <algorithm>
#include <charconv>

namespace librarian::data {

void range_set::add(uint64_t begin, uint64_t end) {
  if (begin >= end) return;
  auto it = ranges_.upper_bound(begin);
  if (it != ranges_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= begin) {  // overlaps or touches the previous range
      begin = prev->first;
      end = std::max(end, prev->second);
      it = ranges_.erase(prev);
    }
  }
  while (it != ranges_.end() && it->first <= end) {
    end = std::max(end, it->second);
    it = ranges_.erase(it);
  }
  ranges_.emplace(begin, end);
}

void range_set::add(const range_set& other) {
  for (const auto& [b, e] : other.ranges_) add(b, e);
}

bool range_set::contains(uint64_t begin, uint64_t end) const {
  if (begin >= end) return true;
  auto it = ranges_.upper_bound(begin);
  if (it == ranges_.begin()) return false;
  --it;
  return it->first <= begin && it->second >= end;
}

std::vector<range_set::range> range_set::missing(uint64_t begin, uint64_t end) const {
  std::vector<range> out;
  uint64_t cursor = begin;
  auto it = ranges_.upper_bound(begin);
  if (it != ranges_.begin()) --it;
  for (; it != ranges_.end() && cursor < end; ++it) {
    if (it->second <= cursor) continue;
    if (it->first >= end) break;
    if (it->first > cursor) out.emplace_back(cursor, it->first);
    cursor = std::max(cursor, it->second);
  }
  if (cursor < end) out.emplace_back(cursor, end);
  return out;
}

uint64_t range_set::covered(uint64_t begin, uint64_t end) const {
  uint64_t total = 0;
  for (const auto& [b, e] : ranges_) {
    uint64_t lo = std::max(b, begin), hi = std::min(e, end);
    if (lo < hi) total += hi - lo;
  }
  return total;
}

uint64_t range_set::contiguous_end(uint64_t begin) const {
  auto it = ranges_.upper_bound(begin);
  if (it == ranges_.begin()) return begin;
  --it;
  return it->second > begin ? it->second : begin;
}

std::string range_set::to_string() const {
  std::string out;
  for (const auto& [b, e] : ranges_) {
    if (!out.empty()) out += ',';
    out += std::to_string(b);
    out += '-';
    out += std::to_string(e);
  }
  return out;
}

expected<range_set> range_set::parse(std::string_view text, size_t ranges_max) {
  range_set out;
  if (text.empty()) return out;
  size_t count = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string_view item =
        text.substr(pos, comma == std::string_view::npos ? text.npos : comma - pos);
    if (++count > ranges_max)
      return fail(errc::invalid_argument,
                  "range list has more than " + std::to_string(ranges_max) + " ranges");
    size_t dash = item.find('-');
    uint64_t b = 0, e = 0;
    auto parse_u64 = [](std::string_view s, uint64_t& v) {
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      return ec == std::errc() && p == s.data() + s.size() && !s.empty();
    };
    if (dash == std::string_view::npos || !parse_u64(item.substr(0, dash), b) ||
        !parse_u64(item.substr(dash + 1), e))
      return fail(errc::invalid_argument, "range '" + std::string(item.substr(0, 64)) +
                                              "' is not START-END (decimal byte offsets)");
    if (b > e)
      return fail(errc::invalid_argument,
                  "range '" + std::string(item.substr(0, 64)) + "' ends before it starts");
    out.add(b, e);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

}  // namespace librarian::data
