#include "runtime/caf/error.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace librarian {

caf::error make_error(errc code) {
  return caf::error{static_cast<uint8_t>(code), error_category};
}

caf::error make_error(errc code, std::string message) {
  return caf::error{static_cast<uint8_t>(code), error_category,
                    caf::make_message(std::move(message))};
}

caf::error to_caf(const error& err) {
  return make_error(err.code, err.message);
}

namespace {

error from_sec(caf::sec code) {
  switch (code) {
    case caf::sec::request_timeout:
      return fail(errc::timeout, "no reply within the timeout");
    case caf::sec::request_receiver_down:
    case caf::sec::remote_linking_failed:
    case caf::sec::no_route_to_receiving_node:
    case caf::sec::cannot_connect_to_node:
      return fail(errc::unavailable,
                  "the receiver is down or unreachable (" + to_string(code) + ")");
    case caf::sec::unexpected_message:
      return fail(errc::invalid_argument, "the actor does not understand this message");
    default:
      return fail(errc::internal, "actor system error: " + to_string(code));
  }
}

}  // namespace

error from_caf(const caf::error& err) {
  if (!err) return fail(errc::internal, "an empty error");
  if (err.category() == error_category) {
    auto code = err.code() <= errc_max ? static_cast<errc>(err.code()) : errc::internal;
    std::string text;
    const auto& context = err.context();
    if (context.match_elements<std::string>()) text = context.get_as<std::string>(0);
    return fail(code, std::move(text));
  }
  if (err.category() == caf::atom("system")) return from_sec(static_cast<caf::sec>(err.code()));
  return fail(errc::internal, to_string(err));
}

}  // namespace librarian
