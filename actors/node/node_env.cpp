#include "actors/node/node_env.hpp"

#include "actors/librarian/records.hpp"
#include "actors/mcs/mcs_state.hpp"
#include "actors/mcs/object_cache.hpp"
#include "actors/node/messages.hpp"
#include "actors/node/users_state.hpp"
#include "actors/rls/lrc_state.hpp"
#include "actors/rls/rli_store.hpp"
#include "actors/transfer/records.hpp"
#include "storage/codec.hpp"

namespace librarian::node {

std::vector<std::string> node_tables() {
  std::vector<std::string> tables{node_table, peers_table, users_table, tokens_table};
  for (auto& t : rls::lrc_tables()) tables.push_back(std::move(t));
  for (auto& t : rls::rli_tables()) tables.push_back(std::move(t));
  for (auto& t : lib::librarian_tables()) tables.push_back(std::move(t));
  for (auto& t : mcs::mcs_tables()) tables.push_back(std::move(t));
  for (auto& t : transfer::replication_tables()) tables.push_back(std::move(t));
  return tables;
}

storage::open_options node_db_options(std::string path, rocksdb::Env* env) {
  storage::open_options o{std::move(path), env, node_tables()};
  o.tuned_tables = mcs::mcs_table_tuning();  // no OPTIONS rewrite when the MCS actor starts
  o.string_prefixed_tables = rls::lrc_string_prefixed_tables();
  return o;
}

std::shared_ptr<mcs::object_cache> make_mcs_object_cache(const node_config& cfg) {
  if (!cfg.mcs.enabled || cfg.mcs.object_cache_mb == 0) return nullptr;
  return std::make_shared<mcs::object_cache>(static_cast<size_t>(cfg.mcs.object_cache_mb) << 20);
}

expected<node_identity> begin_incarnation(storage::db& db, const std::string& name,
                                          int64_t now_ms) {
  auto table = db.get_table(node_table);
  auto row = db.get(table, "identity");
  if (!row) return row.err();
  node_identity identity;
  if (*row) {
    auto stored = storage::decode<node_identity>(**row);
    if (!stored) return fail(errc::internal, "node identity row: " + stored.err().message);
    identity = std::move(*stored);
    if (identity.name != name)
      return fail(errc::invalid_argument, "the database at " + db.path() + " belongs to node '" +
                                              identity.name + "', but the config names '" + name +
                                              "'; point data_dir at this node's own directory");
  } else {
    identity.name = name;
    identity.first_started_unix_ms = now_ms;
  }
  identity.incarnation += 1;
  storage::batch rows;
  rows.put(table, "identity", storage::encode(identity));
  if (auto st = db.write(rows, storage::durability::sync); !st) return st.err();
  return identity;
}

}  // namespace librarian::node
