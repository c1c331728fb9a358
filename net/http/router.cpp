// Segment-by-segment route matching; path parameters are percent-decoded one segment at a time so
// an encoded '/' inside a name cannot change which route matches.
#include "net/http/router.hpp"

#include <algorithm>
#include <optional>

#include "net/http/url.hpp"
#include "runtime/assert.hpp"

namespace librarian::net::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  // One trailing slash is ignored: "/api/v1/users/" is "/api/v1/users".
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  std::vector<std::string_view> out;
  if (path.empty() || path.front() != '/') return out;
  path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool is_parameter(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// nullopt when the path does not fit the pattern; decoding failures are reported separately.
std::optional<path_params> match(const std::vector<std::string>& pattern,
                                 const std::vector<std::string>& decoded) {
  if (pattern.size() != decoded.size()) return std::nullopt;
  path_params params;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (is_parameter(pattern[i])) {
      if (decoded[i].empty()) return std::nullopt;
      params.emplace(pattern[i].substr(1, pattern[i].size() - 2), decoded[i]);
    } else if (pattern[i] != decoded[i]) {
      return std::nullopt;
    }
  }
  return params;
}

}  // namespace

router::router() : routes_(std::make_shared<std::vector<route>>()) {}

void router::add(std::string method, std::string_view pattern, route_fn handler) {
  LIB_ASSERT_MSG(!pattern.empty() && pattern.front() == '/', "route pattern must start with '/'");
  LIB_ASSERT(handler != nullptr);
  route entry{std::move(method), {}, std::move(handler)};
  for (auto segment : split_path(pattern)) entry.segments.emplace_back(segment);
  for (const auto& existing : *routes_) {
    LIB_ASSERT_MSG(existing.method != entry.method || existing.segments != entry.segments,
                   "route registered twice");
  }
  routes_->push_back(std::move(entry));
}

void router::dispatch(request req, respond_fn respond) const {
  std::vector<std::string> decoded;
  for (auto segment : split_path(req.path)) {
    auto text = percent_decode(segment);
    if (!text) {
      return respond(error_response(
          error{errc::invalid_argument, "malformed percent-escape in the path"}, req.request_id));
    }
    decoded.push_back(std::move(*text));
  }
  std::vector<std::string_view> methods;
  for (const auto& entry : *routes_) {
    auto params = match(entry.segments, decoded);
    if (!params) continue;
    if (entry.method == req.method)
      return entry.handler(std::move(req), std::move(*params), std::move(respond));
    if (std::find(methods.begin(), methods.end(), entry.method) == methods.end())
      methods.push_back(entry.method);
  }
  if (methods.empty()) {
    return respond(
        error_response(error{errc::not_found, "no such endpoint: " + req.path}, req.request_id));
  }
  std::string allowed;
  for (auto method : methods) allowed.append(allowed.empty() ? "" : ", ").append(method);
  auto answer = error_response(405,
                               error{errc::invalid_argument, req.method + " is not allowed on " +
                                                                 req.path + "; use " + allowed},
                               req.request_id);
  answer.headers.emplace_back("Allow", allowed);
  respond(std::move(answer));
}

handler_fn router::as_handler() const {
  // A deep copy: routes added to this router later do not race with requests being served.
  auto frozen = std::make_shared<router>();
  *frozen->routes_ = *routes_;
  return [frozen](request req, respond_fn respond) {
    frozen->dispatch(std::move(req), std::move(respond));
  };
}

}  // namespace librarian::net::http
