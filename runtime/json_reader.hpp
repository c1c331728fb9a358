// Strict reading of JSON configuration objects: every unknown key, wrong type, out-of-range value
// or missing required key becomes an error that names the key path and the file.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace librarian {

class json_reader {
 public:
  // `errors` collects every problem so the user can fix them all in one go.
  json_reader(const nlohmann::json& object, std::string path, std::string source,
              std::vector<std::string>& errors);

  void required(std::string_view key, std::string& out);
  void optional(std::string_view key, std::string& out);
  void optional(std::string_view key, bool& out);
  void optional(std::string_view key, double& out, double min, double max);
  // Integers are range-checked before narrowing.
  template <class Int>
  void required_int(std::string_view key, Int& out, int64_t min, int64_t max) {
    read_int(key, out, min, max, true);
  }
  template <class Int>
  void optional_int(std::string_view key, Int& out, int64_t min, int64_t max) {
    read_int(key, out, min, max, false);
  }
  // A nested object; a reader over an empty object when absent and not required.
  [[nodiscard]] std::optional<json_reader> object(std::string_view key, bool required = false);
  // An array of non-empty strings; empty when absent.
  [[nodiscard]] std::vector<std::string> string_array(std::string_view key);
  // A nested array of objects; empty when absent.
  [[nodiscard]] std::vector<json_reader> array_of_objects(std::string_view key);
  [[nodiscard]] bool has(std::string_view key) const;
  // The value itself (marked as read), for types the typed readers do not cover; null if absent.
  [[nodiscard]] const nlohmann::json* raw(std::string_view key) { return find(key, false); }
  // Reports keys that no read asked for. Call once, after every read.
  void reject_unknown_keys();

  void error(std::string_view key, std::string_view what);
  [[nodiscard]] std::string key_path(std::string_view key) const;

 private:
  template <class Int>
  void read_int(std::string_view key, Int& out, int64_t min, int64_t max, bool required) {
    int64_t value = 0;
    if (read_int64(key, value, min, max, required)) out = static_cast<Int>(value);
  }
  bool read_int64(std::string_view key, int64_t& out, int64_t min, int64_t max, bool required);
  const nlohmann::json* find(std::string_view key, bool required);
  static std::string type_name(const nlohmann::json& value);

  const nlohmann::json& object_;
  std::string path_;
  std::string source_;
  std::vector<std::string>& errors_;
  std::vector<std::string> seen_;
};

// Parses a file as JSON; syntax errors name the file, line and column.
[[nodiscard]] std::optional<nlohmann::json> read_json_file(const std::string& path,
                                                           std::string& error_out);

}  // namespace librarian
