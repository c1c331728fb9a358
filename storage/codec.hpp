// Record values on disk: one leading schema-version byte, then a cereal PortableBinary body.
// A record type T declares `static constexpr uint8_t schema_version = N;` and a cereal member
// `template <class Archive> void serialize(Archive& ar)` -- a member without a version parameter,
// because CAF 0.17 silently prefers free serialize templates over inspect (cpp_anchors §1.2).
#pragma once

#include <concepts>
#include <cstdint>
#include <exception>
#include <istream>
#include <sstream>
#include <streambuf>
#include <string>
#include <string_view>

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "runtime/expected.hpp"

namespace librarian::storage {

template <class T>
concept record = std::default_initializable<T> && requires {
  { T::schema_version } -> std::convertible_to<uint8_t>;
};

namespace detail {

// Reads a string_view through an istream without copying it.
class view_buffer : public std::streambuf {
 public:
  explicit view_buffer(std::string_view bytes) {
    // get-area pointers are non-const in the streambuf API; nothing writes through them.
    char* begin = const_cast<char*>(bytes.data());
    setg(begin, begin, begin + bytes.size());
  }
  [[nodiscard]] size_t unread_bytes() const { return static_cast<size_t>(egptr() - gptr()); }
};

[[nodiscard]] inline error corrupt(std::string_view what) {
  return fail(errc::internal, "corrupt record: " + std::string{what});
}

}  // namespace detail

template <record T>
[[nodiscard]] std::string encode(const T& value) {
  std::ostringstream out;
  out.put(static_cast<char>(T::schema_version));
  {
    cereal::PortableBinaryOutputArchive archive(out);
    archive(value);
  }
  return std::move(out).str();
}

// A value read from disk is validated like one read from the network: a wrong version, a short
// body or trailing bytes are errors (errc::internal "corrupt record: ..."). Never throws.
template <record T>
[[nodiscard]] expected<T> decode(std::string_view bytes) {
  if (bytes.empty()) return detail::corrupt("empty value");
  const auto version = static_cast<uint8_t>(bytes.front());
  if (version != T::schema_version)
    return detail::corrupt("schema version " + std::to_string(version) + ", this build reads " +
                           std::to_string(T::schema_version));
  detail::view_buffer buffer{bytes.substr(1)};
  std::istream in{&buffer};
  T value{};
  try {
    cereal::PortableBinaryInputArchive archive(in);
    archive(value);
  } catch (const std::exception& e) {
    // cereal reports truncation as an exception; a huge corrupt length may also end up here
    // as bad_alloc or length_error.
    return detail::corrupt(e.what());
  } catch (...) {
    return detail::corrupt("unknown decoding failure");
  }
  if (buffer.unread_bytes() != 0)
    return detail::corrupt(std::to_string(buffer.unread_bytes()) + " trailing bytes");
  return value;
}

}  // namespace librarian::storage
