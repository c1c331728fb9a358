// The user table's state machine (no CAF, no I/O): validates each request against the current
// users and tokens, updates them, and appends the rows to write to a batch the shell commits.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "actors/node/messages.hpp"
#include "runtime/expected.hpp"
#include "storage/db.hpp"

namespace librarian::node {

inline constexpr const char* users_table = "users";
inline constexpr const char* tokens_table = "tokens";

class users_state {
 public:
  // Reads every user and token; a corrupt record stops the load with a clear error.
  [[nodiscard]] status load(const storage::db& db, size_t page_rows = 1000);
  void bind_tables(storage::table users, storage::table tokens) {
    users_ = users;
    tokens_ = tokens;
  }

  [[nodiscard]] expected<user_info> create(const user_record& user, int64_t now_ms,
                                           storage::batch& rows);
  [[nodiscard]] expected<user_info> remove(const std::string& name, storage::batch& rows);
  [[nodiscard]] expected<user_info> set_password(const std::string& name,
                                                 const std::string& password_hash, int64_t now_ms,
                                                 storage::batch& rows);
  [[nodiscard]] expected<user_info> set_role(const std::string& name, const std::string& role,
                                             storage::batch& rows);
  [[nodiscard]] expected<user_record> find(const std::string& name) const;
  [[nodiscard]] std::vector<user_info> list() const;
  [[nodiscard]] expected<token_record> add_token(const token_record& token, int64_t now_ms,
                                                 storage::batch& rows);
  // The token's user, if the token exists, has not expired and its user still exists.
  [[nodiscard]] expected<user_record> resolve_token(const std::string& token_sha256,
                                                    int64_t now_ms) const;
  // True (and rows appended) only when the table is empty.
  [[nodiscard]] expected<bool> bootstrap(const user_record& admin, int64_t now_ms,
                                         storage::batch& rows);

  [[nodiscard]] size_t user_count() const { return users_by_name_.size(); }

 private:
  // Drops the user's tokens: all of them when expired_before_ms is 0, else the expired ones.
  void drop_tokens(const std::string& user, int64_t expired_before_ms, storage::batch& rows);

  std::map<std::string, user_record> users_by_name_;
  std::map<std::string, token_record> tokens_by_hash_;
  storage::table users_;
  storage::table tokens_;
};

// Shared validation, also used by the console and the HTTP API before anything is hashed.
[[nodiscard]] status validate_user_name(const std::string& name);
[[nodiscard]] status validate_role(const std::string& role);
[[nodiscard]] status validate_password(const std::string& password);

}  // namespace librarian::node
