// A set of half-open byte ranges [begin, end), kept merged and sorted. The receiver's committed
// ranges, the sender's "still to send" list and GridFTP's 111 range markers / REST range lists
// ("0-100,200-300", end exclusive) are all this type.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/expected.hpp"

namespace librarian::data {

class range_set {
 public:
  using range = std::pair<uint64_t, uint64_t>;

  // Adds [begin, end); empty ranges are ignored. Adjacent and overlapping ranges merge.
  void add(uint64_t begin, uint64_t end);
  void add(const range_set& other);
  [[nodiscard]] bool contains(uint64_t begin, uint64_t end) const;
  // The parts of [begin, end) not in the set, in order.
  [[nodiscard]] std::vector<range> missing(uint64_t begin, uint64_t end) const;
  // Bytes covered inside [begin, end).
  [[nodiscard]] uint64_t covered(uint64_t begin = 0, uint64_t end = UINT64_MAX) const;
  // End of the run that starts at begin (begin itself when begin is not covered).
  [[nodiscard]] uint64_t contiguous_end(uint64_t begin) const;
  [[nodiscard]] size_t size() const { return ranges_.size(); }
  [[nodiscard]] bool empty() const { return ranges_.empty(); }
  [[nodiscard]] std::vector<range> ranges() const { return {ranges_.begin(), ranges_.end()}; }
  void clear() { ranges_.clear(); }

  // "0-100,200-300"
  [[nodiscard]] std::string to_string() const;
  // Parses the same syntax; refuses more than ranges_max ranges, begin > end, and garbage.
  [[nodiscard]] static expected<range_set> parse(std::string_view text, size_t ranges_max = 100000);

  friend bool operator==(const range_set&, const range_set&) = default;

 private:
  std::map<uint64_t, uint64_t> ranges_;  // begin -> end, disjoint and non-adjacent
};

}  // namespace librarian::data
