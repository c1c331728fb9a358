#include "runtime/json_reader.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace librarian {

json_reader::json_reader(const nlohmann::json& object, std::string path, std::string source,
                         std::vector<std::string>& errors)
    : object_(object), path_(std::move(path)), source_(std::move(source)), errors_(errors) {}

std::string json_reader::key_path(std::string_view key) const {
  return path_.empty() ? std::string{key} : path_ + "." + std::string{key};
}

void json_reader::error(std::string_view key, std::string_view what) {
  errors_.push_back(source_ + ": key '" + key_path(key) + "': " + std::string{what});
}

std::string json_reader::type_name(const nlohmann::json& value) {
  if (value.is_number_integer()) return "an integer";
  if (value.is_number_float()) return "a number";
  if (value.is_string()) return "a string";
  if (value.is_boolean()) return "a boolean";
  if (value.is_array()) return "an array";
  if (value.is_object()) return "an object";
  return "null";
}

bool json_reader::has(std::string_view key) const {
  return object_.is_object() && object_.contains(std::string{key});
}

const nlohmann::json* json_reader::find(std::string_view key, bool required) {
  seen_.emplace_back(key);
  auto it = object_.find(std::string{key});
  if (it == object_.end()) {
    if (required) error(key, "is required but missing");
    return nullptr;
  }
  return &*it;
}

void json_reader::required(std::string_view key, std::string& out) {
  auto* value = find(key, true);
  if (!value) return;
  if (!value->is_string()) return error(key, "expected a string, got " + type_name(*value));
  out = value->get<std::string>();
  if (out.empty()) error(key, "must not be empty");
}

void json_reader::optional(std::string_view key, std::string& out) {
  auto* value = find(key, false);
  if (!value) return;
  if (!value->is_string()) return error(key, "expected a string, got " + type_name(*value));
  out = value->get<std::string>();
}

void json_reader::optional(std::string_view key, bool& out) {
  auto* value = find(key, false);
  if (!value) return;
  if (!value->is_boolean()) return error(key, "expected true or false, got " + type_name(*value));
  out = value->get<bool>();
}

void json_reader::optional(std::string_view key, double& out, double min, double max) {
  auto* value = find(key, false);
  if (!value) return;
  if (!value->is_number()) return error(key, "expected a number, got " + type_name(*value));
  auto number = value->get<double>();
  if (number < min || number > max) {
    std::ostringstream what;
    what << "must be between " << min << " and " << max << ", got " << number;
    return error(key, what.str());
  }
  out = number;
}

bool json_reader::read_int64(std::string_view key, int64_t& out, int64_t min, int64_t max,
                             bool required) {
  auto* value = find(key, required);
  if (!value) return false;
  if (!value->is_number_integer()) {
    error(key, "expected an integer, got " + type_name(*value));
    return false;
  }
  bool too_big =
      value->is_number_unsigned() &&
      value->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (too_big || value->get<int64_t>() < min || value->get<int64_t>() > max) {
    error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
                   value->dump());
    return false;
  }
  out = value->get<int64_t>();
  return true;
}

std::optional<json_reader> json_reader::object(std::string_view key, bool required) {
  static const nlohmann::json empty = nlohmann::json::object();
  auto* value = find(key, required);
  if (!value)
    return required ? std::nullopt
                    : std::optional{json_reader{empty, key_path(key), source_, errors_}};
  if (!value->is_object()) {
    error(key, "expected an object, got " + type_name(*value));
    return std::nullopt;
  }
  return json_reader{*value, key_path(key), source_, errors_};
}

std::vector<std::string> json_reader::string_array(std::string_view key) {
  std::vector<std::string> out;
  auto* value = find(key, false);
  if (!value) return out;
  if (!value->is_array()) {
    error(key, "expected an array of strings, got " + type_name(*value));
    return out;
  }
  for (size_t i = 0; i < value->size(); ++i) {
    const auto& item = (*value)[i];
    if (!item.is_string() || item.get<std::string>().empty()) {
      error(std::string{key} + "[" + std::to_string(i) + "]", "expected a non-empty string");
      continue;
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::vector<json_reader> json_reader::array_of_objects(std::string_view key) {
  std::vector<json_reader> out;
  auto* value = find(key, false);
  if (!value) return out;
  if (!value->is_array()) {
    error(key, "expected an array, got " + type_name(*value));
    return out;
  }
  for (size_t i = 0; i < value->size(); ++i) {
    auto item_key = std::string{key} + "[" + std::to_string(i) + "]";
    const auto& item = (*value)[i];
    if (!item.is_object()) {
      error(item_key, "expected an object, got " + type_name(item));
      continue;
    }
    out.emplace_back(item, key_path(item_key), source_, errors_);
  }
  return out;
}

void json_reader::reject_unknown_keys() {
  if (!object_.is_object()) return;
  for (const auto& [key, value] : object_.items()) {
    if (std::find(seen_.begin(), seen_.end(), key) == seen_.end())
      error(key, "unknown key (check its spelling against docs/configuration.md)");
  }
}

std::optional<nlohmann::json> read_json_file(const std::string& path, std::string& error_out) {
  std::ifstream in{path};
  if (!in) {
    error_out = path + ": cannot open the file (does it exist and is it readable?)";
    return std::nullopt;
  }
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    error_out = path + ": not valid JSON: " + e.what();
    return std::nullopt;
  }
}

}  // namespace librarian
