// The console's message catalog: for every injectable (actor, message) pair, its signature (how
// the console language types its arguments), how to build the CAF message, and how to wait for
// and print its typed reply. librarian-console and librarian-sim share it.
#pragma once

#include <caf/all.hpp>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/caf/error.hpp"
#include "runtime/console/arguments.hpp"
#include "runtime/expected.hpp"

namespace librarian {

using reply_fn = std::function<void(expected<std::string>)>;

struct catalog_entry {
  console::message_signature signature;
  std::function<expected<caf::message>(const std::vector<console::value>&)> build;
  // Sends `request` (already wrapped for the destination) from `self` and calls `done` with the
  // reply printed as text, or the error.
  std::function<void(caf::event_based_actor* self, const caf::actor& dest, caf::message request,
                     caf::timespan timeout, reply_fn done)>
      ask;
};

class message_catalog {
 public:
  void add(catalog_entry entry) { entries_.push_back(std::move(entry)); }
  [[nodiscard]] const catalog_entry* find(std::string_view actor, std::string_view message) const {
    for (const auto& e : entries_)
      if (e.signature.actor == actor && e.signature.message == message) return &e;
    return nullptr;
  }
  [[nodiscard]] const std::vector<catalog_entry>& entries() const { return entries_; }
  [[nodiscard]] std::vector<std::string> actors() const;
  // "users: create, list, ..." lines; with an actor, that actor's usages.
  [[nodiscard]] expected<std::string> help(std::string_view actor, std::string_view message) const;

 private:
  std::vector<catalog_entry> entries_;
};

// Builds the `ask` function for a message whose reply is one value of type Reply, printed with
// `print`.
template <class Reply, class Print>
auto typed_ask(Print print) {
  return [print](caf::event_based_actor* self, const caf::actor& dest, caf::message request,
                 caf::timespan timeout, reply_fn done) {
    self->request(dest, timeout, std::move(request))
        .then([=](const Reply& reply) { done(print(reply)); },
              [=](caf::error& err) { done(from_caf(err)); });
  };
}

// For messages whose reply is empty (fire-and-forget handlers reached by ask).
auto inline empty_ask() {
  return [](caf::event_based_actor* self, const caf::actor& dest, caf::message request,
            caf::timespan timeout, reply_fn done) {
    self->request(dest, timeout, std::move(request))
        .then([=]() { done(std::string{"ok"}); }, [=](caf::error& err) { done(from_caf(err)); });
  };
}

// Prints a list one item per line, as the console language's `count` expectation reads it.
template <class T, class Print>
std::string print_lines(const std::vector<T>& items, Print print) {
  std::string out;
  for (const auto& item : items) out += print(item) + "\n";
  return out;
}

// The whole product's catalog: every family adds its entries (actors/catalog.cpp).
[[nodiscard]] const message_catalog& product_catalog();

}  // namespace librarian

namespace librarian {

struct prepared_message {
  const catalog_entry* entry = nullptr;
  caf::message payload;
};

// Finds the command's (actor, message) in the catalog, types its arguments and builds the
// payload; errors name what is wrong and show the usage.
[[nodiscard]] expected<prepared_message> prepare_message(const message_catalog& catalog,
                                                         const std::string& actor,
                                                         const std::string& message,
                                                         const std::vector<console::token>& args);

}  // namespace librarian
