#include "actors/node/users_state.hpp"

#include <array>

#include "runtime/planted.hpp"
#include "runtime/probe.hpp"
#include "storage/codec.hpp"

namespace librarian::node {
namespace {

constexpr size_t user_name_max = 64;
constexpr size_t password_min = 8;
constexpr size_t password_max = 1024;
constexpr size_t users_max = 100000;         // a bound on what we hold in memory
constexpr size_t tokens_per_user_max = 100;  // live tokens; older expired ones are purged
constexpr size_t tokens_max = users_max * 4;
constexpr std::array<const char*, 6> roles{"NONE",       "READONLY",  "CALLBACK",
                                           "READAPPEND", "READWRITE", "ADMIN"};

template <class Record>
status load_table(const storage::db& db, storage::table t, size_t page_rows, size_t rows_max,
                  std::map<std::string, Record>& out) {
  std::string after;
  for (;;) {
    auto page = db.scan_prefix(t, "", page_rows, after);
    if (!page) return page.err();
    for (auto& row : page->rows) {
      auto record = storage::decode<Record>(row.value);
      if (!record)
        return fail(errc::internal, "table row '" + row.key + "': " + record.err().message);
      out.emplace(row.key, std::move(*record));
      if (out.size() > rows_max)
        return fail(errc::internal, "more rows than the supported maximum");
    }
    if (!page->more || page->rows.empty()) return {};
    after = page->rows.back().key;
  }
}

}  // namespace

status validate_user_name(const std::string& name) {
  if (name.empty() || name.size() > user_name_max)
    return fail(errc::invalid_argument, "a user name has 1 to 64 characters");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '@';
    if (!ok)
      return fail(
          errc::invalid_argument,
          "a user name may contain only letters, digits and . _ - @ (got \"" + name + "\")");
  }
  return {};
}

status validate_role(const std::string& role) {
  for (const char* known : roles)
    if (role == known) return {};
  return fail(errc::invalid_argument,
              "unknown role \"" + role +
                  "\"; use one of NONE, READONLY, CALLBACK, READAPPEND, READWRITE, ADMIN");
}

status validate_password(const std::string& password) {
  if (password.size() < password_min || password.size() > password_max)
    return fail(errc::invalid_argument, "a password has 8 to 1024 characters");
  return {};
}

status users_state::load(const storage::db& db, size_t page_rows) {
  users_by_name_.clear();
  tokens_by_hash_.clear();
  if (auto st = load_table(db, users_, page_rows, users_max, users_by_name_); !st) return st;
  return load_table(db, tokens_, page_rows, tokens_max, tokens_by_hash_);
}

expected<user_info> users_state::create(const user_record& user, int64_t now_ms,
                                        storage::batch& rows) {
  if (auto st = validate_user_name(user.name); !st) return st.err();
  if (auto st = validate_role(user.role); !st) return st.err();
  if (user.password_hash.empty())
    return fail(errc::invalid_argument, "a user needs a password hash");
  if (users_by_name_.count(user.name) && !planted::on("ignore_duplicate_guard")) {
    LIB_PROBE("users.duplicate_refused");
    return fail(errc::already_exists, "user '" + user.name + "' already exists");
  }
  if (users_by_name_.size() >= users_max) return fail(errc::storage_full, "the user table is full");
  auto stored = user;
  stored.created_unix_ms = now_ms;
  stored.password_changed_unix_ms = now_ms;
  rows.put(users_, stored.name, storage::encode(stored));
  users_by_name_[stored.name] = stored;
  return public_view(stored);
}

expected<user_info> users_state::remove(const std::string& name, storage::batch& rows) {
  auto it = users_by_name_.find(name);
  if (it == users_by_name_.end())
    return fail(errc::not_found, "user '" + name + "' does not exist");
  auto info = public_view(it->second);
  rows.del(users_, name);
  drop_tokens(name, 0, rows);  // tokens die with their user
  users_by_name_.erase(it);
  return info;
}

expected<user_info> users_state::set_password(const std::string& name,
                                              const std::string& password_hash, int64_t now_ms,
                                              storage::batch& rows) {
  auto it = users_by_name_.find(name);
  if (it == users_by_name_.end())
    return fail(errc::not_found, "user '" + name + "' does not exist");
  if (password_hash.empty()) return fail(errc::invalid_argument, "a user needs a password hash");
  it->second.password_hash = password_hash;
  it->second.password_changed_unix_ms = now_ms;
  rows.put(users_, name, storage::encode(it->second));
  // A new password ends every session minted with the old one.
  drop_tokens(name, 0, rows);
  return public_view(it->second);
}

expected<user_info> users_state::set_role(const std::string& name, const std::string& role,
                                          storage::batch& rows) {
  if (auto st = validate_role(role); !st) return st.err();
  auto it = users_by_name_.find(name);
  if (it == users_by_name_.end())
    return fail(errc::not_found, "user '" + name + "' does not exist");
  it->second.role = role;
  rows.put(users_, name, storage::encode(it->second));
  return public_view(it->second);
}

expected<user_record> users_state::find(const std::string& name) const {
  auto it = users_by_name_.find(name);
  if (it == users_by_name_.end())
    return fail(errc::not_found, "user '" + name + "' does not exist");
  return it->second;
}

std::vector<user_info> users_state::list() const {
  std::vector<user_info> out;
  out.reserve(users_by_name_.size());
  for (const auto& [name, user] : users_by_name_) out.push_back(public_view(user));
  return out;
}

expected<token_record> users_state::add_token(const token_record& token, int64_t now_ms,
                                              storage::batch& rows) {
  if (token.token_sha256.size() != 64)
    return fail(errc::invalid_argument, "a token is stored as its 64-digit SHA-256");
  if (!users_by_name_.count(token.user))
    return fail(errc::not_found, "user '" + token.user + "' does not exist");
  if (token.expires_unix_ms <= now_ms)
    return fail(errc::invalid_argument, "the token would already be expired");
  if (tokens_by_hash_.count(token.token_sha256))
    return fail(errc::already_exists, "this token already exists");
  drop_tokens(token.user, now_ms, rows);  // expired ones only
  size_t live = 0;
  for (const auto& [hash, t] : tokens_by_hash_) live += t.user == token.user;
  if (live >= tokens_per_user_max)
    return fail(errc::storage_full, "user '" + token.user + "' already has " +
                                        std::to_string(tokens_per_user_max) +
                                        " live tokens; let some expire or change the password");
  if (tokens_by_hash_.size() >= tokens_max)
    return fail(errc::storage_full, "the token table is full");
  auto stored = token;
  stored.created_unix_ms = now_ms;
  rows.put(tokens_, stored.token_sha256, storage::encode(stored));
  tokens_by_hash_[stored.token_sha256] = stored;
  return stored;
}

void users_state::drop_tokens(const std::string& user, int64_t expired_before_ms,
                              storage::batch& rows) {
  for (auto t = tokens_by_hash_.begin(); t != tokens_by_hash_.end();) {
    bool drop = t->second.user == user &&
                (expired_before_ms == 0 || t->second.expires_unix_ms <= expired_before_ms);
    if (drop) {
      rows.del(tokens_, t->first);
      t = tokens_by_hash_.erase(t);
    } else {
      ++t;
    }
  }
}

expected<user_record> users_state::resolve_token(const std::string& token_sha256,
                                                 int64_t now_ms) const {
  auto it = tokens_by_hash_.find(token_sha256);
  if (it == tokens_by_hash_.end() || it->second.expires_unix_ms <= now_ms)
    return fail(errc::unauthenticated, "unknown or expired token");
  auto user = users_by_name_.find(it->second.user);
  if (user == users_by_name_.end()) return fail(errc::unauthenticated, "unknown or expired token");
  return user->second;
}

expected<bool> users_state::bootstrap(const user_record& admin, int64_t now_ms,
                                      storage::batch& rows) {
  if (!users_by_name_.empty()) return false;
  auto stored = admin;
  stored.role = "ADMIN";
  auto created = create(stored, now_ms, rows);
  if (!created) return created.err();
  return true;
}

}  // namespace librarian::node
