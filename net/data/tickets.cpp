// Ticket registry: random ids from OpenSSL (not the simulation RNG: these are credentials).
#include "net/data/tickets.hpp"

#include <openssl/rand.h>

namespace librarian::data {

expected<std::string> ticket_registry::issue(ticket_grant grant) {
  if (grant.ttl <= std::chrono::milliseconds::zero())
    return fail(errc::invalid_argument, "a data ticket needs a positive lifetime");
  uint8_t raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) return fail(errc::internal, "no randomness for a ticket");
  static constexpr char hex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (size_t i = 0; i < 16; ++i) {
    id[2 * i] = hex[raw[i] >> 4];
    id[2 * i + 1] = hex[raw[i] & 0xf];
  }
  std::lock_guard lock(mu_);
  auto now = clock::now();
  purge_expired_locked(now);
  grant.expires = now + grant.ttl;
  if (entries_.size() >= tickets_max_)
    return fail(errc::unavailable, "too many live data tickets; retry when transfers finish");
  auto e = std::make_shared<entry>();
  e->grant = std::move(grant);
  entries_.emplace(id, std::move(e));
  return id;
}

expected<std::shared_ptr<ticket_registry::entry>> ticket_registry::find(const std::string& ticket) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(ticket);
  if (it == entries_.end() || it->second->grant.expires <= clock::now())
    return fail(errc::unauthenticated, "data ticket unknown, used or expired; ask for a new one");
  return it->second;
}

void ticket_registry::retire(const std::string& ticket) {
  std::lock_guard lock(mu_);
  entries_.erase(ticket);
}

size_t ticket_registry::live() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

std::string ticket_registry::redact(const std::string& ticket) {
  return ticket.substr(0, 8) + "…";
}

void ticket_registry::purge_expired_locked(clock::time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();)
    it = it->second->grant.expires <= now ? entries_.erase(it) : std::next(it);
}

}  // namespace librarian::data
