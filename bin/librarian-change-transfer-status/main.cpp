// `librarian-change-transfer-status --config NODE.json --librarian NAME --enable|--disable`:
// the reference's admin script (hera_librarian.md §1.1), which works whether the node runs or not.
//  * Node stopped: the node's RocksDB opens, and the peer's row is changed there (synced).
//  * Node running: RocksDB's LOCK is held, so the change goes through the node's HTTP API on its
//    configured address, with the ADMIN credentials of a client-config connection (--connection,
//    or the one whose host and port are the node's).
//  * Neither: it says why (no database, HTTP disabled, no credentials, the node does not answer).
// Exit codes are the CLI's (librarian::exit_code): 0 done, 2 unknown peer, 5/6 credentials...
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "actors/librarian/records.hpp"
#include "actors/node/node_env.hpp"
#include "bin/librarian/api_calls.hpp"
#include "bin/librarian/client_config.hpp"
#include "runtime/config.hpp"
#include "storage/codec.hpp"
#include "storage/keys.hpp"
#include "storage/table.hpp"

namespace {

using namespace librarian;

int report(const error& err) {
  std::cerr << "librarian-change-transfer-status: " << err.message << "\n hint: " << hint(err.code)
            << '\n';
  return exit_code(err.code);
}

// Node stopped: change the row in the database itself.
expected<std::string> change_offline(storage::db& db, const std::string& peer, bool enable) {
  auto table = db.get_table(lib::librarians_table);
  auto key = storage::string_key(peer);
  auto row = storage::get_record<lib::librarian_row>(db, table, key);
  if (!row) return row.err();
  if (!*row) return fail(errc::not_found, "no librarian named '" + peer + "' in " + db.path());
  auto updated = **row;
  updated.transfers_enabled = enable;
  storage::batch b;
  storage::put_record(b, table, key, updated);
  if (auto st = db.write(b, storage::durability::sync); !st) return st.err();
  return std::string{"the node is stopped; changed in its database at "} + db.path();
}

// Node running: the API on the node's own address with an ADMIN connection.
expected<std::string> change_online(const node_config& cfg, const std::string& peer, bool enable,
                                    const std::optional<std::string>& conn_name,
                                    const std::optional<std::string>& client_config_path) {
  if (cfg.listen.http_port == 0)
    return fail(errc::unavailable,
                "the node is running (its database is locked) but its HTTP API is disabled "
                "(listen.http_port is 0), so neither way is open: stop the node and run this "
                "again, or enable its HTTP API");
  auto clients = cli::load_client_config(client_config_path);
  if (!clients)
    return fail(errc::unauthenticated,
                "the node is running (its database is locked), so the "
                "change must go through its API, which needs ADMIN "
                "credentials from a client config: " +
                    clients.err().message);
  std::optional<cli::connection> conn;
  if (conn_name) {
    auto found = cli::find_connection(*clients, *conn_name);
    if (!found) return found.err();
    conn = *found;
  } else {
    std::string matches;
    for (const auto& [name, c] : clients->connections) {
      if (c.port != cfg.listen.http_port ||
          (c.host != cfg.listen.host && c.host != "localhost" && c.host != "127.0.0.1"))
        continue;
      matches += (matches.empty() ? "" : ", ") + name;
      conn = c;
    }
    // Guessing among several could pick one without ADMIN rights; the user must choose.
    if (matches.find(',') != std::string::npos)
      return fail(errc::invalid_argument, "the node is running; " + clients->path +
                                              " has several connections to it (" + matches +
                                              "); pass --connection NAME of an ADMIN one");
  }
  if (!conn)
    return fail(errc::unauthenticated,
                "the node is running (its database is locked), so the change must go through its "
                "API, but " +
                    clients->path + " has no connection to port " +
                    std::to_string(cfg.listen.http_port) +
                    "; pass --connection NAME of an ADMIN connection");
  // The node's own address, whatever host the connection names.
  conn->host = cfg.listen.host == "0.0.0.0" ? "127.0.0.1" : cfg.listen.host;
  conn->port = cfg.listen.http_port;
  nlohmann::json body{{"name", peer}, {"transfers_enabled", enable}};
  auto reply = cli::call_api(*conn, "POST", "/api/v1/admin/librarians/transfer_status", body,
                             std::chrono::milliseconds{15000});
  if (!reply) return reply.err();
  return "the node is running; changed through its API on " + conn->host + ":" +
         std::to_string(conn->port) + " as " + conn->user.value_or("(token)");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Enable or disable transfers to a peer librarian (node running or stopped)"};
  std::string config_path;
  std::string peer;
  bool enable = false;
  bool disable = false;
  std::optional<std::string> conn_name;
  std::optional<std::string> client_config;
  app.add_option("--config", config_path, "the node's config file")->required();
  app.add_option("--librarian", peer, "the peer librarian's name")->required();
  auto* en = app.add_flag("--enable", enable, "allow transfers to it");
  auto* dis = app.add_flag("--disable", disable, "stop transfers to it");
  en->excludes(dis);
  app.add_option("--connection", conn_name,
                 "ADMIN connection of the client config to use while the node runs");
  app.add_option("--client-config", client_config,
                 "client config (default: $HL_CLIENT_CONFIG, then ~/.hl_client.cfg)");
  try {
    app.parse(argc, argv);
    if (enable == disable) throw CLI::ValidationError("give exactly one of --enable and --disable");
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  auto cfg = load_node_config(config_path);
  if (!cfg) return report(cfg.err());
  auto path = (std::filesystem::path{cfg->data_dir} / "db").string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return report(fail(errc::not_found, "no database at " + path +
                                            " (has this node ever run? is --config its config?)"));
  auto options = node::node_db_options(path);
  options.create_if_missing = false;
  auto db = storage::db::open(options);
  expected<std::string> how = fail(errc::internal, "not attempted");
  if (db) {
    how = change_offline(**db, peer, enable);
  } else if (db.err().code == errc::unavailable &&
             db.err().message.find("in use by another process") != std::string::npos) {
    how = change_online(*cfg, peer, enable, conn_name, client_config);
  } else {
    return report(db.err());
  }
  if (!how) return report(how.err());
  std::cout << "transfers to " << peer << " are now " << (enable ? "enabled" : "disabled") << " ("
            << *how << ")\n";
  return 0;
}
