// Logging with levels and a per-actor context: `LIB_LOG_INFO("membership") << "peer b up";`
// writes one line "2026-11-22T04:42:51.123Z INFO  [a/membership] peer b up" to stderr.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace librarian::log {

enum class level : uint8_t { trace = 0, debug, info, warn, error, off };

[[nodiscard]] std::string_view name(level lvl);
[[nodiscard]] std::optional<level> level_from_name(std::string_view text);

// Process-wide settings; set once at start-up before actors run.
void set_level(level lvl);
[[nodiscard]] level current_level();
void set_node_name(std::string name);
// The simulator installs its virtual clock here so log lines carry virtual time.
void set_time_source(std::function<int64_t()> unix_ms);

class line {
 public:
  line(level lvl, std::string_view context);
  ~line();
  line(const line&) = delete;
  line& operator=(const line&) = delete;

  template <class T>
  line& operator<<(const T& value) {
    out_ << value;
    return *this;
  }

 private:
  level level_;
  std::string context_;
  std::ostringstream out_;
};

}  // namespace librarian::log

// A one-pass loop rather than if/else, so `if (x) LIB_LOG_INFO(...) << ...;` has no dangling else.
#define LIB_LOG(lvl, context)                                                      \
  for (bool lib_log_on_ = ::librarian::log::current_level() <= (lvl); lib_log_on_; \
       lib_log_on_ = false)                                                        \
  ::librarian::log::line((lvl), (context))

#define LIB_LOG_TRACE(context) LIB_LOG(::librarian::log::level::trace, context)
#define LIB_LOG_DEBUG(context) LIB_LOG(::librarian::log::level::debug, context)
#define LIB_LOG_INFO(context) LIB_LOG(::librarian::log::level::info, context)
#define LIB_LOG_WARN(context) LIB_LOG(::librarian::log::level::warn, context)
#define LIB_LOG_ERROR(context) LIB_LOG(::librarian::log::level::error, context)
