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

// An ostream appending to a std::string, one per thread and reused: constructing an
// std::ostringstream per record (locale set-up, a dynamic_cast per facet) cost more than
// encoding a small record. A nested use (a serialize that encodes) gets its target back after.
class string_sink final : public std::streambuf {
 public:
  std::string* target = nullptr;

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    target->append(s, static_cast<size_t>(n));
    return n;
  }
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof()))
      target->push_back(traits_type::to_char_type(c));
    return traits_type::not_eof(c);
  }
};

class sink_scope {
 public:
  explicit sink_scope(std::string& target) : previous_(sink().target) {
    sink().target = &target;
    stream().clear();
  }
  ~sink_scope() { sink().target = previous_; }
  sink_scope(const sink_scope&) = delete;
  sink_scope& operator=(const sink_scope&) = delete;
  static std::ostream& stream() {
    thread_local std::ostream out{&sink()};
    return out;
  }

 private:
  static string_sink& sink() {
    thread_local string_sink s;
    return s;
  }
  std::string* previous_;
};

}  // namespace detail

template <record T>
[[nodiscard]] std::string encode(const T& value) {
  std::string bytes;
  bytes.push_back(static_cast<char>(T::schema_version));
  detail::sink_scope scope{bytes};
  {
    cereal::PortableBinaryOutputArchive archive(detail::sink_scope::stream());
    archive(value);
  }
  return bytes;
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
