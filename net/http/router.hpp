// Maps (method, path pattern) to handlers, with {name} path parameters; answers 404 for an unknown
// path and 405 (with Allow) for a known path under another method. No CAF, no Beast.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/http/message.hpp"

namespace librarian::net::http {

// Decoded values of the pattern's {name} segments.
using path_params = std::map<std::string, std::string>;
using route_fn = std::function<void(request, path_params, respond_fn)>;

class router {
 public:
  router();

  // `pattern` is an absolute path such as "/api/v1/users/{name}/tokens"; a {name} segment matches
  // one non-empty segment. Register every route before serving; the first registered match wins,
  // so put literal routes ("/users/me") before parameter routes ("/users/{name}").
  void add(std::string method, std::string_view pattern, route_fn handler);

  void dispatch(request req, respond_fn respond) const;

  // A handler for server::start that shares this router's (now frozen) table.
  [[nodiscard]] handler_fn as_handler() const;

 private:
  struct route {
    std::string method;
    std::vector<std::string> segments;
    route_fn handler;
  };
  std::shared_ptr<std::vector<route>> routes_;
};

}  // namespace librarian::net::http
