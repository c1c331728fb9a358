#include "runtime/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace librarian::log {
namespace {

std::atomic<level> g_level{level::info};
std::mutex g_mutex;  // guards the two below and serializes writes so lines never interleave
std::string g_node_name;
std::function<int64_t()> g_time_source;

int64_t now_unix_ms() {
  if (g_time_source) return g_time_source();
  // Log timestamps are the one place the runtime reads the OS clock directly: they never feed
  // node logic, and the simulator replaces the source.
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
}

std::string format_time(int64_t unix_ms) {
  std::time_t seconds = unix_ms / 1000;
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

}  // namespace

std::string_view name(level lvl) {
  switch (lvl) {
    case level::trace:
      return "trace";
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warn:
      return "warn";
    case level::error:
      return "error";
    case level::off:
      return "off";
  }
  return "?";
}

std::optional<level> level_from_name(std::string_view text) {
  for (auto lvl : {level::trace, level::debug, level::info, level::warn, level::error, level::off})
    if (name(lvl) == text) return lvl;
  return std::nullopt;
}

void set_level(level lvl) {
  g_level = lvl;
}
level current_level() {
  return g_level.load(std::memory_order_relaxed);
}

void set_node_name(std::string node_name) {
  std::lock_guard guard{g_mutex};
  g_node_name = std::move(node_name);
}

void set_time_source(std::function<int64_t()> unix_ms) {
  std::lock_guard guard{g_mutex};
  g_time_source = std::move(unix_ms);
}

line::line(level lvl, std::string_view context) : level_(lvl), context_(context) {}

line::~line() {
  std::lock_guard guard{g_mutex};
  auto stamp = format_time(now_unix_ms());
  auto text = out_.str();
  std::fprintf(stderr, "%s %-5s [%s%s%s] %s\n", stamp.c_str(), std::string{name(level_)}.c_str(),
               g_node_name.c_str(), g_node_name.empty() ? "" : "/", context_.c_str(), text.c_str());
  std::fflush(stderr);
}

}  // namespace librarian::log
