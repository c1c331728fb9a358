// The node family's state machines, driven directly (no CAF): users and membership.
#include <doctest/doctest.h>

#include <filesystem>

#include "actors/node/membership_state.hpp"
#include "actors/node/node_env.hpp"
#include "actors/node/users_state.hpp"
#include "storage/db.hpp"

namespace {

using namespace librarian;
using namespace librarian::node;

struct temp_db {
  std::filesystem::path dir;
  std::unique_ptr<storage::db> db;

  temp_db() {
    dir = std::filesystem::temp_directory_path() /
          ("librarian-unit-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::remove_all(dir);
    open();
  }
  ~temp_db() {
    db.reset();
    std::filesystem::remove_all(dir);
  }
  void open() {
    db.reset();
    auto opened = storage::db::open({(dir / "db").string(), nullptr, node_tables()});
    REQUIRE(opened.has_value());
    db = std::move(*opened);
  }
  void commit(storage::batch& rows) {
    REQUIRE(db->write(rows, storage::durability::sync).has_value());
  }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

users_state fresh_users(storage::db& db) {
  users_state users;
  users.bind_tables(db.get_table(users_table), db.get_table(tokens_table));
  REQUIRE(users.load(db).has_value());
  return users;
}

user_record alice() {
  return {"alice", "READONLY", "hash-a", 0, 0};
}

}  // namespace

TEST_CASE("a created user survives a reopen of the database") {
  temp_db t;
  auto users = fresh_users(*t.db);
  storage::batch rows;
  auto created = users.create(alice(), 1000, rows);
  REQUIRE(created.has_value());
  CHECK(created->created_unix_ms == 1000);
  t.commit(rows);
  t.open();
  auto reloaded = fresh_users(*t.db);
  auto found = reloaded.find("alice");
  REQUIRE(found.has_value());
  CHECK(found->role == "READONLY");
  CHECK(found->password_hash == "hash-a");
}

TEST_CASE("user requests are validated before anything is written") {
  temp_db t;
  auto users = fresh_users(*t.db);
  storage::batch rows;
  CHECK(users.create({"", "READONLY", "h", 0, 0}, 1, rows).err().code == errc::invalid_argument);
  CHECK(users.create({"bad name", "READONLY", "h", 0, 0}, 1, rows).err().code ==
        errc::invalid_argument);
  CHECK(users.create({"bob", "GOD", "h", 0, 0}, 1, rows).err().code == errc::invalid_argument);
  CHECK(users.create({"bob", "ADMIN", "", 0, 0}, 1, rows).err().code == errc::invalid_argument);
  CHECK(rows.empty());
  REQUIRE(users.create(alice(), 1, rows).has_value());
  storage::batch again;
  CHECK(users.create(alice(), 2, again).err().code == errc::already_exists);
  CHECK(again.empty());
  CHECK(users.remove("ghost", again).err().code == errc::not_found);
  CHECK(users.set_role("alice", "WIZARD", again).err().code == errc::invalid_argument);
  CHECK(again.empty());
}

TEST_CASE("tokens resolve to their user until they expire or the user is removed") {
  temp_db t;
  auto users = fresh_users(*t.db);
  storage::batch rows;
  REQUIRE(users.create(alice(), 1, rows).has_value());
  std::string hash(64, 'f');
  REQUIRE(users.add_token({hash, "alice", 0, 5000}, 10, rows).has_value());
  CHECK(users.resolve_token(hash, 4999).has_value());
  CHECK(users.resolve_token(hash, 5000).err().code == errc::unauthenticated);
  CHECK(users.resolve_token(std::string(64, '0'), 10).err().code == errc::unauthenticated);
  CHECK(users.add_token({"short", "alice", 0, 5000}, 10, rows).err().code ==
        errc::invalid_argument);
  CHECK(users.add_token({std::string(64, 'e'), "ghost", 0, 5000}, 10, rows).err().code ==
        errc::not_found);
  REQUIRE(users.remove("alice", rows).has_value());
  CHECK(users.resolve_token(hash, 20).err().code == errc::unauthenticated);
  t.commit(rows);
  t.open();
  auto reloaded = fresh_users(*t.db);
  CHECK(reloaded.resolve_token(hash, 20).err().code == errc::unauthenticated);
  CHECK(reloaded.user_count() == 0);
}

TEST_CASE("bootstrap creates an admin only into an empty user table") {
  temp_db t;
  auto users = fresh_users(*t.db);
  storage::batch rows;
  auto first = users.bootstrap({"root", "READONLY", "h", 0, 0}, 1, rows);
  REQUIRE(first.has_value());
  CHECK(*first);
  CHECK(users.find("root")->role == "ADMIN");
  auto second = users.bootstrap({"other", "ADMIN", "h", 0, 0}, 2, rows);
  REQUIRE(second.has_value());
  CHECK_FALSE(*second);
  CHECK(users.user_count() == 1);
}

TEST_CASE("a corrupt user row stops the load with an error naming the row") {
  temp_db t;
  storage::batch rows;
  rows.put(t.db->get_table(users_table), "mallory", "\x01garbage");
  t.commit(rows);
  users_state users;
  users.bind_tables(t.db->get_table(users_table), t.db->get_table(tokens_table));
  auto st = users.load(*t.db);
  REQUIRE_FALSE(st.has_value());
  CHECK(st.err().message.find("mallory") != std::string::npos);
}

namespace {

node_config two_peer_config() {
  node_config cfg;
  cfg.name = "a";
  cfg.listen.cluster_port = 7101;
  cfg.peers = {{"b", "127.0.0.1", 7102}, {"c", "127.0.0.1", 7103}};
  return cfg;
}

}  // namespace

TEST_CASE("membership starts with self up and every peer down") {
  temp_db t;
  membership_state members{two_peer_config(), 3, 100, t.db->get_table(peers_table)};
  auto view = members.view(150);
  REQUIRE(view.size() == 3);
  CHECK(view[0].name == "a");
  CHECK(view[0].state == "up");
  CHECK(view[0].incarnation == 3);
  CHECK(view[0].last_seen_unix_ms == 150);
  CHECK(view[1].state == "down");
  CHECK(view[2].state == "down");
}

TEST_CASE("a peer goes up and down, and its last sighting survives a restart") {
  temp_db t;
  auto table = t.db->get_table(peers_table);
  membership_state members{two_peer_config(), 1, 100, table};
  storage::batch rows;
  REQUIRE(members.peer_up("b", "127.0.0.1:7102", 2, 200, rows).has_value());
  t.commit(rows);
  auto view = members.view(250);
  CHECK(view[1].state == "up");
  CHECK(view[1].since_unix_ms == 200);
  CHECK(view[1].incarnation == 2);
  members.peer_down("b", 300);
  view = members.view(350);
  CHECK(view[1].state == "down");
  CHECK(view[1].since_unix_ms == 300);
  CHECK(view[1].last_seen_unix_ms == 200);

  membership_state restarted{two_peer_config(), 2, 400, table};
  REQUIRE(restarted.load(*t.db).has_value());
  view = restarted.view(450);
  CHECK(view[1].state == "down");
  CHECK(view[1].last_seen_unix_ms == 200);
  CHECK(view[1].incarnation == 2);
}

TEST_CASE("membership refuses nodes that are not configured peers") {
  temp_db t;
  membership_state members{two_peer_config(), 1, 100, t.db->get_table(peers_table)};
  storage::batch rows;
  CHECK(members.peer_up("mallory", "10.0.0.1:1", 1, 200, rows).err().code == errc::forbidden);
  CHECK(members.peer_up("a", "", 1, 200, rows).err().code == errc::forbidden);
  CHECK(rows.empty());
  CHECK(members.view(200).size() == 3);
}

TEST_CASE("the incarnation grows by one at every start and the data_dir is bound to its node") {
  temp_db t;
  auto first = begin_incarnation(*t.db, "a", 10);
  REQUIRE(first.has_value());
  CHECK(first->incarnation == 1);
  CHECK(first->first_started_unix_ms == 10);
  t.open();
  auto second = begin_incarnation(*t.db, "a", 20);
  REQUIRE(second.has_value());
  CHECK(second->incarnation == 2);
  CHECK(second->first_started_unix_ms == 10);
  auto wrong = begin_incarnation(*t.db, "b", 30);
  REQUIRE_FALSE(wrong.has_value());
  CHECK(wrong.err().message.find("belongs to node 'a'") != std::string::npos);
}

TEST_CASE(
    "a password change revokes the user's tokens; expired tokens are purged; live ones are "
    "capped") {
  temp_db t;
  auto users = fresh_users(*t.db);
  storage::batch rows;
  REQUIRE(users.create(alice(), 1, rows).has_value());
  auto token_hash = [](int i) {
    auto text = std::to_string(i);
    return std::string(64 - text.size(), 'a') + text;
  };
  REQUIRE(users.add_token({token_hash(0), "alice", 0, 100}, 10, rows).has_value());
  REQUIRE(users.add_token({token_hash(1), "alice", 0, 5000}, 10, rows).has_value());
  REQUIRE(users.set_password("alice", "new-hash", 20, rows).has_value());
  CHECK(users.resolve_token(token_hash(1), 30).err().code == errc::unauthenticated);

  // At time 200 the token expiring at 150 is dropped when another is added.
  REQUIRE(users.add_token({token_hash(2), "alice", 0, 150}, 100, rows).has_value());
  for (int i = 3; i < 103; ++i)  // 100 live tokens: the cap
    REQUIRE(users.add_token({token_hash(i), "alice", 0, 10000}, 200, rows).has_value());
  auto over = users.add_token({token_hash(103), "alice", 0, 10000}, 200, rows);
  REQUIRE_FALSE(over.has_value());
  CHECK(over.err().code == errc::storage_full);
  t.commit(rows);
  t.open();
  auto reloaded = fresh_users(*t.db);
  CHECK(reloaded.resolve_token(token_hash(2), 120).err().code == errc::unauthenticated);
  CHECK(reloaded.resolve_token(token_hash(50), 300).has_value());
}
