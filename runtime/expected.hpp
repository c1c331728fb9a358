// expected<T>: a value or a librarian::error. [[nodiscard]] so no failure is silently dropped
// (RocksDB's must-check Status, in C++20 without std::expected).
#pragma once

#include <optional>
#include <utility>
#include <variant>

#include "runtime/assert.hpp"
#include "runtime/error.hpp"

namespace librarian {

template <class T>
class [[nodiscard]] expected {
 public:
  expected(T value) : storage_(std::in_place_index<0>, std::move(value)) {}
  expected(error err) : storage_(std::in_place_index<1>, std::move(err)) {}

  [[nodiscard]] bool has_value() const { return storage_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    LIB_ASSERT_MSG(has_value(), "value() of an expected that holds an error");
    return std::get<0>(storage_);
  }
  const T& value() const& {
    LIB_ASSERT_MSG(has_value(), "value() of an expected that holds an error");
    return std::get<0>(storage_);
  }
  T&& value() && {
    LIB_ASSERT_MSG(has_value(), "value() of an expected that holds an error");
    return std::get<0>(std::move(storage_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const error& err() const {
    LIB_ASSERT_MSG(!has_value(), "err() of an expected that holds a value");
    return std::get<1>(storage_);
  }

 private:
  std::variant<T, error> storage_;
};

template <>
class [[nodiscard]] expected<void> {
 public:
  expected() = default;
  expected(error err) : err_(std::move(err)) {}

  [[nodiscard]] bool has_value() const { return !err_.has_value(); }
  explicit operator bool() const { return has_value(); }
  const error& err() const {
    LIB_ASSERT_MSG(err_.has_value(), "err() of an expected that holds a value");
    return *err_;
  }

 private:
  std::optional<error> err_;
};

using status = expected<void>;

}  // namespace librarian
