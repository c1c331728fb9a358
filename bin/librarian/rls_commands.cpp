// `librarian rls ...`: globus-rls-cli's command words on top of /api/v1/rls/lrc and
// /api/v1/rls/rli (`query CONN rli lfn LFN`, `lrcs CONN`). The word forms
// (`query CONN lrc lfn NAME`, `exists CONN lrc lfn NAME`) are checked here, so globus-rls-cli
// command lines carry over with the connection name in place of the server URL.
#include "bin/librarian/rls_commands.hpp"

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <vector>

#include "net/http/url.hpp"

namespace librarian::cli {
namespace {

using json = nlohmann::json;

// What the subcommands parse into; shared by their callbacks, so it lives as long as the app.
struct rls_arguments {
  std::string lfn;
  std::string pfn;
  std::vector<std::string> words;
  uint64_t offset = 0;
  uint64_t reslimit = 0;
  std::string file;           // bulk: items from this file ("-": stdin), one per line
  size_t batch_items = 1000;  // bulk: items per request
  // rls-admin add
  std::string mode = "list";
  int64_t interval_ms = 30000;
  std::vector<std::string> patterns;
  bool yes = false;  // rls-admin clear
};

using args_ptr = std::shared_ptr<rls_arguments>;

std::string text_or_empty(const json& reply, const char* key) {
  if (!reply.is_object() || !reply.contains(key) || !reply.at(key).is_string()) return {};
  return reply.at(key).get<std::string>();
}

bool flag_of(const json& reply, const char* key) {
  return reply.is_object() && reply.contains(key) && reply.at(key).is_boolean() &&
         reply.at(key).get<bool>();
}

std::string page_query(const rls_arguments& a) {
  std::string out;
  if (a.offset != 0) out += "&offset=" + std::to_string(a.offset);
  if (a.reslimit != 0) out += "&reslimit=" + std::to_string(a.reslimit);
  return out;
}

// The page hint goes to stderr so stdout stays a clean list of names for scripts.
void note_more(const json& reply, const rls_arguments& a, size_t shown) {
  if (flag_of(reply, "truncated"))
    std::cerr << "note: the scan stopped at its row budget; narrow the pattern's literal prefix\n";
  if (flag_of(reply, "more"))
    std::cerr << "note: more results; rerun with --offset " << a.offset + shown << '\n';
}

size_t list_size(const json& reply, const char* key) {
  if (!reply.is_object() || !reply.contains(key) || !reply.at(key).is_array()) return 0;
  return reply.at(key).size();
}

rls_command get_command(std::function<std::string()> target,
                        std::function<std::string(const api_reply&)> human) {
  return {[target](const connection& conn, std::chrono::milliseconds timeout) {
            return call_api(conn, "GET", target(), std::nullopt, timeout);
          },
          std::move(human), nullptr};
}

// POST {"lfn", "pfn"} to /api/v1/rls/lrc/VERB; prints "DONE LFN PFN".
void add_mutation(CLI::App& rls, std::string& conn_name, std::optional<rls_command>& chosen,
                  const args_ptr& a, const std::string& verb, const std::string& done,
                  const std::string& about) {
  auto* sub = rls.add_subcommand(verb, about);
  sub->add_option("CONN", conn_name, "connection name in the client config")->required();
  sub->add_option("LFN", a->lfn, "logical file name")->required();
  sub->add_option("PFN", a->pfn, "physical file name")->required();
  sub->callback([&chosen, a, verb, done] {
    auto path = "/api/v1/rls/lrc/" + verb;
    chosen = rls_command{[a, path](const connection& conn, std::chrono::milliseconds timeout) {
                           json body{{"lfn", a->lfn}, {"pfn", a->pfn}};
                           return call_api(conn, "POST", path, body, timeout);
                         },
                         [done](const api_reply& reply) {
                           return done + " " + text_or_empty(reply.value, "lfn") + " " +
                                  text_or_empty(reply.value, "pfn") + "\n";
                         },
                         nullptr};
  });
}

// Positional word forms are checked by hand: CLI11 cannot express "lrc lfn NAME" alternatives.
[[noreturn]] void usage(const std::string& message) {
  throw CLI::ValidationError(message);
}

// globus-rls-cli spells it `rename lfn OLD NEW`; the bare `rename OLD NEW` is accepted too.
void add_rename(CLI::App& rls, std::string& conn_name, std::optional<rls_command>& chosen,
                const args_ptr& a) {
  auto* sub = rls.add_subcommand("rename", "give an LFN (with all its mappings) a new name");
  sub->add_option("CONN", conn_name, "connection name in the client config")->required();
  sub->add_option("WORDS", a->words, "[lfn] LFN NEW_LFN")->required()->expected(2, 3);
  sub->callback([&chosen, a] {
    auto& w = a->words;
    if (w.size() == 3 && w[0] != "lfn") usage("rename: expected [lfn] LFN NEW_LFN");
    a->lfn = w[w.size() - 2];
    a->pfn = w[w.size() - 1];
    chosen = rls_command{[a](const connection& conn, std::chrono::milliseconds timeout) {
                           json body{{"lfn", a->lfn}, {"new_lfn", a->pfn}};
                           return call_api(conn, "POST", "/api/v1/rls/lrc/rename", body, timeout);
                         },
                         [](const api_reply& reply) {
                           return "renamed " + text_or_empty(reply.value, "lfn") + " " +
                                  text_or_empty(reply.value, "new_lfn") + "\n";
                         },
                         nullptr};
  });
}

void add_paging(CLI::App* sub, const args_ptr& a) {
  sub->add_option("--offset", a->offset, "skip this many results (paging)");
  sub->add_option("--reslimit", a->reslimit, "at most this many results (0: the node's default)");
}

std::string encoded(const std::string& text) {
  return net::http::percent_encode(text);
}

// `query CONN lrc lfn LFN`, `query CONN lrc pfn PFN`, `query CONN wildcard lrc lfn PATTERN`,
// and the RLI's `query CONN rli lfn LFN`.
rls_command query_command(const args_ptr& a) {
  const auto& w = a->words;
  if (w.size() == 4 && w[0] == "wildcard" && w[1] == "lrc" && w[2] == "lfn") {
    a->lfn = w[3];
    return get_command(
        [a] { return "/api/v1/rls/lrc/wildcard?lfn=" + encoded(a->lfn) + page_query(*a); },
        [a](const api_reply& reply) {
          note_more(reply.value, *a, list_size(reply.value, "mappings"));
          return format_rls_mappings(reply.value);
        });
  }
  if (w.size() == 4 && w[0] == "wildcard")
    usage("query: only 'wildcard lrc lfn PATTERN' is supported");
  if (w.size() == 3 && w[0] == "rli" && w[1] == "lfn") {
    if (a->offset != 0 || a->reslimit != 0)
      usage("query rli: --offset and --reslimit apply to the LRC only");
    a->lfn = w[2];
    return get_command([a] { return "/api/v1/rls/rli/query?lfn=" + encoded(a->lfn); },
                       [](const api_reply& reply) { return format_rli_lrcs(reply.value); });
  }
  if (w.size() != 3 || w[0] != "lrc" || (w[1] != "lfn" && w[1] != "pfn"))
    usage(
        "query: expected 'lrc lfn LFN', 'lrc pfn PFN', 'rli lfn LFN' or 'wildcard lrc lfn "
        "PATTERN'");
  auto key = w[1];
  a->lfn = w[2];
  const char* list_key = key == "lfn" ? "pfns" : "lfns";
  return get_command(
      [a, key] { return "/api/v1/rls/lrc/query?" + key + "=" + encoded(a->lfn) + page_query(*a); },
      [a, list_key](const api_reply& reply) {
        note_more(reply.value, *a, list_size(reply.value, list_key));
        return format_rls_names(reply.value, list_key);
      });
}

void add_queries(CLI::App& rls, std::string& conn_name, std::optional<rls_command>& chosen,
                 const args_ptr& a) {
  auto* query = rls.add_subcommand(
      "query", "the PFNs of an LFN, the LFNs of a PFN, a wildcard, or the LRCs (RLI) of an LFN");
  query->add_option("CONN", conn_name, "connection name in the client config")->required();
  query
      ->add_option("WORDS", a->words,
                   "lrc lfn LFN | lrc pfn PFN | rli lfn LFN | wildcard lrc lfn PATTERN")
      ->required()
      ->expected(3, 4);
  add_paging(query, a);
  query->callback([&chosen, a] { chosen = query_command(a); });

  auto* exists = rls.add_subcommand("exists", "whether an LFN exists (exit 0 yes, 2 no)");
  exists->add_option("CONN", conn_name, "connection name in the client config")->required();
  exists->add_option("WORDS", a->words, "lrc lfn LFN")->required()->expected(3);
  exists->callback([&chosen, a] {
    const auto& w = a->words;
    if (w[0] != "lrc" || w[1] != "lfn") usage("exists: expected 'lrc lfn LFN'");
    a->lfn = w[2];
    auto command = get_command([a] { return "/api/v1/rls/lrc/exists?lfn=" + encoded(a->lfn); },
                               [](const api_reply& reply) {
                                 return flag_of(reply.value, "exists") ? "LFN exists\n"
                                                                       : "LFN does not exist\n";
                               });
    command.exit_status = [](const api_reply& reply) {
      return flag_of(reply.value, "exists") ? 0 : exit_code(errc::not_found);
    };
    chosen = std::move(command);
  });

  auto* count = rls.add_subcommand("count", "how many LFNs and mappings the catalog holds");
  count->add_option("CONN", conn_name, "connection name in the client config")->required();
  count->callback([&chosen] {
    chosen = get_command([] { return std::string{"/api/v1/rls/lrc/count"}; },
                         [](const api_reply& reply) {
                           return "lfns " + reply.value.value("lfns", json{}).dump() +
                                  "\nmappings " + reply.value.value("mappings", json{}).dump() +
                                  "\n";
                         });
  });

  auto* lrcs = rls.add_subcommand("lrcs", "the LRCs the node's RLI knows, one per line");
  lrcs->add_option("CONN", conn_name, "connection name in the client config")->required();
  lrcs->callback([&chosen] {
    chosen = get_command([] { return std::string{"/api/v1/rls/rli/lrcs"}; },
                         [](const api_reply& reply) { return format_rli_known(reply.value); });
  });
}

// Bulk requests stay under the server's default body bound (http.body_max_bytes, 1 MiB) even
// with long names: a batch is cut early when its names reach this many bytes.
constexpr size_t bulk_batch_bytes_max = 512 * 1024;

// The items of a bulk command: the words after the verb, or the lines of --file. Mutations take
// pairs (LFN PFN), queries single LFNs.
expected<std::vector<std::vector<std::string>>> bulk_items(const rls_arguments& a,
                                                           size_t first_word, size_t arity) {
  std::vector<std::string> words(a.words.begin() + static_cast<std::ptrdiff_t>(first_word),
                                 a.words.end());
  if (!a.file.empty()) {
    if (!words.empty())
      return fail(errc::invalid_argument, "give the items either as arguments or with --file");
    std::ifstream file_in;
    std::istream* in = &std::cin;
    if (a.file != "-") {
      file_in.open(a.file);
      if (!file_in) return fail(errc::not_found, "cannot read " + a.file);
      in = &file_in;
    }
    size_t line_no = 0;
    for (std::string line; std::getline(*in, line);) {
      ++line_no;
      std::istringstream split{line};
      std::vector<std::string> fields;
      for (std::string w; split >> w;) fields.push_back(w);
      if (fields.empty()) continue;
      if (fields.size() != arity)
        return fail(errc::invalid_argument, a.file + ":" + std::to_string(line_no) + ": expected " +
                                                (arity == 2 ? "'LFN PFN'" : "one LFN") +
                                                " per line");
      for (auto& f : fields) words.push_back(std::move(f));
    }
  }
  if (words.empty()) return fail(errc::invalid_argument, "no items given");
  if (words.size() % arity != 0)
    return fail(errc::invalid_argument, "expected LFN PFN pairs, got an odd number of names");
  std::vector<std::vector<std::string>> items;
  for (size_t i = 0; i < words.size(); i += arity)
    items.emplace_back(words.begin() + static_cast<std::ptrdiff_t>(i),
                       words.begin() + static_cast<std::ptrdiff_t>(i + arity));
  return items;
}

// Sends the items in batches (POST path, each body made by `body_of`) and merges the replies'
// results into one {"results", "succeeded", "failed"}. A request-level error stops the run and
// says how many items were already sent.
expected<api_reply> send_bulk(const connection& conn, std::chrono::milliseconds timeout,
                              const std::string& path,
                              const std::vector<std::vector<std::string>>& items,
                              size_t batch_items, const std::function<json(json)>& body_of,
                              const std::function<json(const std::vector<std::string>&)>& item_of) {
  json results = json::array();
  uint64_t succeeded = 0, failed = 0;
  size_t sent = 0;
  while (sent < items.size()) {
    json batch = json::array();
    size_t bytes = 0;
    size_t end = sent;
    while (end < items.size() && batch.size() < batch_items &&
           (batch.empty() || bytes < bulk_batch_bytes_max)) {
      for (const auto& w : items[end]) bytes += w.size() + 16;
      batch.push_back(item_of(items[end++]));
    }
    auto reply = call_api(conn, "POST", path, body_of(std::move(batch)), timeout);
    if (!reply) {
      auto err = reply.err();
      if (sent > 0) err.message += " (after " + std::to_string(sent) + " items were sent)";
      return err;
    }
    const auto& v = reply->value;
    if (v.is_object() && v.contains("results") && v.at("results").is_array())
      for (const auto& r : v.at("results")) results.push_back(r);
    succeeded += v.value("succeeded", uint64_t{0});
    failed += v.value("failed", uint64_t{0});
    sent = end;
  }
  api_reply out;
  out.status = 200;
  out.value = {{"results", std::move(results)}, {"succeeded", succeeded}, {"failed", failed}};
  out.raw = out.value.dump();
  return out;
}

// The first failed item's error code as the exit status (0 when every item succeeded).
int bulk_exit_status(const api_reply& reply) {
  const auto& v = reply.value;
  if (!v.is_object() || !v.contains("results") || !v.at("results").is_array()) return 0;
  for (const auto& r : v.at("results")) {
    if (flag_of(r, "ok")) continue;
    return exit_code(errc_from_name(text_or_empty(r, "error")).value_or(errc::internal));
  }
  return 0;
}

std::string bulk_failure(const json& r) {
  std::string out = "failed";
  for (const char* key : {"lfn", "pfn"})
    if (r.is_object() && r.contains(key)) out += " " + text_or_empty(r, key);
  return out + ": " + text_or_empty(r, "message") + "\n";
}

std::string format_bulk_mutation(const json& reply, const std::string& done) {
  std::string out;
  if (reply.is_object() && reply.contains("results") && reply.at("results").is_array())
    for (const auto& r : reply.at("results"))
      if (!flag_of(r, "ok")) out += bulk_failure(r);
  return out + done + " " + reply.value("succeeded", json{}).dump() + ", failed " +
         reply.value("failed", json{}).dump() + "\n";
}

// "LFN: PFN" (LRC) or "LFN: LRC" (RLI) per answer, as globus-rls-cli's bulk queries print.
std::string format_bulk_query(const json& reply, bool rli) {
  std::string out;
  if (!reply.is_object() || !reply.contains("results") || !reply.at("results").is_array())
    return out;
  for (const auto& r : reply.at("results")) {
    auto lfn = text_or_empty(r, "lfn");
    if (!flag_of(r, "ok")) {
      out += lfn + ": " + text_or_empty(r, "message") + "\n";
      continue;
    }
    const char* key = rli ? "lrcs" : "pfns";
    if (!r.contains(key) || !r.at(key).is_array()) continue;
    for (const auto& x : r.at(key)) {
      if (rli)
        out += lfn + ": " + text_or_empty(x, "name") + (flag_of(x, "maybe") ? " maybe" : "") + "\n";
      else
        out += lfn + ": " + (x.is_string() ? x.get<std::string>() : x.dump()) + "\n";
    }
  }
  return out;
}

rls_command bulk_command(const args_ptr& a) {
  const auto& w = a->words;
  if (a->batch_items == 0 || a->batch_items > 10000) usage("bulk: --batch must be 1 to 10000");
  auto pair_of = [](const std::vector<std::string>& item) {
    return json{{"lfn", item[0]}, {"pfn", item[1]}};
  };
  auto lfn_of = [](const std::vector<std::string>& item) { return json(item[0]); };
  if (!w.empty() && (w[0] == "create" || w[0] == "add" || w[0] == "delete")) {
    auto verb = w[0];
    std::string done = verb == "create" ? "created" : verb == "add" ? "added" : "deleted";
    rls_command command{
        [a, verb, pair_of](const connection& conn,
                           std::chrono::milliseconds timeout) -> expected<api_reply> {
          auto items = bulk_items(*a, 1, 2);
          if (!items) return items.err();
          return send_bulk(
              conn, timeout, "/api/v1/rls/lrc/bulk/" + verb, *items, a->batch_items,
              [](json batch) {
                return json{{"mappings", std::move(batch)}};
              },
              pair_of);
        },
        [done](const api_reply& reply) { return format_bulk_mutation(reply.value, done); },
        bulk_exit_status};
    return command;
  }
  if (w.size() >= 3 && w[0] == "query" && (w[1] == "lrc" || w[1] == "rli") && w[2] == "lfn") {
    bool rli = w[1] == "rli";
    if (rli && a->reslimit != 0) usage("bulk query rli: --reslimit applies to the LRC only");
    std::string path = rli ? "/api/v1/rls/rli/bulk/query" : "/api/v1/rls/lrc/bulk/query";
    return rls_command{
        [a, path, lfn_of, rli](const connection& conn,
                               std::chrono::milliseconds timeout) -> expected<api_reply> {
          auto items = bulk_items(*a, 3, 1);
          if (!items) return items.err();
          auto reslimit = a->reslimit;
          return send_bulk(
              conn, timeout, path, *items, a->batch_items,
              [reslimit, rli](json batch) {
                json body{{"lfns", std::move(batch)}};
                if (!rli && reslimit != 0) body["reslimit"] = reslimit;
                return body;
              },
              lfn_of);
        },
        [rli](const api_reply& reply) { return format_bulk_query(reply.value, rli); },
        bulk_exit_status};
  }
  usage(
      "bulk: expected 'create|add|delete [LFN PFN]...' or 'query lrc|rli lfn [LFN]...' (items "
      "as arguments or with --file)");
}

void add_bulk(CLI::App& rls, std::string& conn_name, std::optional<rls_command>& chosen,
              const args_ptr& a) {
  auto* bulk = rls.add_subcommand(
      "bulk",
      "many mappings or LFNs at once: create|add|delete LFN PFN..., query lrc|rli lfn LFN...");
  bulk->add_option("CONN", conn_name, "connection name in the client config")->required();
  bulk->add_option(
          "WORDS", a->words,
          "create|add|delete [LFN PFN]... | query lrc lfn [LFN]... | query rli lfn [LFN]...")
      ->required();
  bulk->add_option("--file", a->file,
                   "read the items from FILE ('-': stdin), one per line: 'LFN PFN' or 'LFN'");
  bulk->add_option("--batch", a->batch_items, "items per request (1..10000; default 1000)");
  bulk->add_option("--reslimit", a->reslimit, "query lrc: at most this many PFNs per LFN");
  bulk->callback([&chosen, a] { chosen = bulk_command(a); });
}

rls_command admin_get(std::string path, std::function<std::string(const json&)> human) {
  return get_command([path] { return path; },
                     [human](const api_reply& reply) { return human(reply.value); });
}

std::string format_fields(const json& object, const std::string& indent) {
  std::string out;
  if (!object.is_object()) return out;
  for (const auto& [key, value] : object.items()) {
    if (key == "name") continue;
    out +=
        indent + key + ": " + (value.is_string() ? value.get<std::string>() : value.dump()) + "\n";
  }
  return out;
}

std::string format_targets(const json& reply) {
  std::string out;
  if (!reply.is_object() || !reply.contains("targets") || !reply.at("targets").is_array())
    return out;
  for (const auto& t : reply.at("targets")) {
    out += text_or_empty(t, "name") + " mode=" + text_or_empty(t, "mode");
    if (t.contains("interval_ms")) out += " interval_ms=" + t.at("interval_ms").dump();
    out += "\n";
  }
  return out.empty() ? "(no RLI targets)\n" : out;
}

// rls-admin stats: the LRC's counts and targets, then the RLI's counters when it runs one.
expected<api_reply> collect_stats(const connection& conn, std::chrono::milliseconds timeout) {
  api_reply out;
  out.status = 200;
  for (const auto& [key, path] :
       {std::pair{"lrc_counts", "/api/v1/rls/lrc/count"},
        std::pair{"lrc_targets", "/api/v1/rls/lrc/targets"},
        std::pair{"rli", "/api/v1/rls/rli/stats"}, std::pair{"rli_lrcs", "/api/v1/rls/rli/lrcs"}}) {
    auto reply = call_api(conn, "GET", path, std::nullopt, timeout);
    if (!reply) {
      // A node without an RLI answers 404 for the RLI's parts: not an error for stats.
      if (std::string_view{key}.starts_with("rli") && reply.err().code == errc::not_found) {
        out.value[key] = nullptr;
        continue;
      }
      return reply.err();
    }
    out.value[key] = reply->value;
  }
  out.raw = out.value.dump();
  return out;
}

std::string format_stats(const json& v) {
  std::string out = "LRC:\n";
  out += format_fields(v.value("lrc_counts", json::object()), "  ");
  const auto targets = v.value("lrc_targets", json::object()).value("targets", json::array());
  for (const auto& t : targets)
    out += "  update " + text_or_empty(t, "name") + ":\n" + format_fields(t, "    ");
  if (!v.contains("rli") || v.at("rli").is_null()) return out + "RLI: none on this node\n";
  out += "RLI:\n" + format_fields(v.at("rli"), "  ");
  const auto lrcs = v.value("rli_lrcs", json::object()).value("lrcs", json::array());
  for (const auto& l : lrcs)
    out += "  from " + text_or_empty(l, "name") + ":\n" + format_fields(l, "    ");
  return out;
}

void add_admin(CLI::App& app, std::string& conn_name, std::optional<rls_command>& chosen,
               const args_ptr& a) {
  auto* admin =
      app.add_subcommand("rls-admin",
                         "administer the node's RLS (globus-rls-admin): ping, add/delete/list RLI "
                         "targets, config, stats, clear");
  admin->require_subcommand(1);
  auto conn_of = [&conn_name](CLI::App* sub) {
    sub->add_option("CONN", conn_name, "connection name in the client config")->required();
  };
  auto* ping = admin->add_subcommand("ping", "whether the node's LRC (and RLI) answer");
  conn_of(ping);
  ping->callback([&chosen] {
    chosen = admin_get("/api/v1/rls/ping", [](const json& v) {
      return "node " + text_or_empty(v, "node") + ": lrc " + text_or_empty(v, "lrc") + ", rli " +
             text_or_empty(v, "rli") + "\n";
    });
  });
  auto* add = admin->add_subcommand("add", "update one more RLI from this LRC (ADMIN; stored)");
  conn_of(add);
  add->add_option("RLI", a->lfn, "the RLI's node name (this node or a peer)")->required();
  add->add_option("--mode", a->mode, "list | immediate | bloom (default list)");
  add->add_option("--interval-ms", a->interval_ms, "update period (default 30000)");
  add->add_option("--pattern", a->patterns,
                  "send only LFNs matching this glob (repeatable; partitioning)");
  add->callback([&chosen, a] {
    chosen =
        rls_command{[a](const connection& conn, std::chrono::milliseconds timeout) {
                      json body{{"name", a->lfn},
                                {"mode", a->mode},
                                {"interval_ms", a->interval_ms},
                                {"patterns", a->patterns}};
                      return call_api(conn, "POST", "/api/v1/rls/lrc/targets", body, timeout);
                    },
                    [](const api_reply& reply) { return format_targets(reply.value); }, nullptr};
  });
  auto* remove = admin->add_subcommand("delete", "stop updating an RLI added with add (ADMIN)");
  conn_of(remove);
  remove->add_option("RLI", a->lfn, "the RLI's node name")->required();
  remove->callback([&chosen, a] {
    chosen = rls_command{
        [a](const connection& conn, std::chrono::milliseconds timeout) {
          return call_api(conn, "DELETE", "/api/v1/rls/lrc/targets?name=" + encoded(a->lfn),
                          std::nullopt, timeout);
        },
        [](const api_reply& reply) { return format_targets(reply.value); }, nullptr};
  });
  auto* list = admin->add_subcommand("targets", "the RLIs this LRC updates");
  conn_of(list);
  list->callback([&chosen] { chosen = admin_get("/api/v1/rls/lrc/targets", format_targets); });
  auto* config = admin->add_subcommand("config", "the node's RLS settings");
  conn_of(config);
  config->callback([&chosen] {
    chosen = admin_get("/api/v1/rls/config", [](const json& v) {
      std::string out = format_fields(v, "");
      return out;
    });
  });
  auto* stats = admin->add_subcommand("stats", "LRC counts and update targets; RLI counters");
  conn_of(stats);
  stats->callback([&chosen] {
    chosen = rls_command{collect_stats,
                         [](const api_reply& reply) { return format_stats(reply.value); }, nullptr};
  });
  auto* clear = admin->add_subcommand("clear", "remove EVERY mapping of the LRC (ADMIN)");
  conn_of(clear);
  clear->add_flag("--yes", a->yes, "confirm: the mappings cannot be recovered");
  clear->callback([&chosen, a] {
    if (!a->yes) usage("clear: removes every mapping of the LRC; add --yes to confirm");
    chosen = rls_command{
        [](const connection& conn, std::chrono::milliseconds timeout) {
          return call_api(conn, "POST", "/api/v1/rls/lrc/clear", json{{"confirm", true}}, timeout);
        },
        [](const api_reply& reply) {
          return "removed " + reply.value.value("removed", json{}).dump() + " mappings\n";
        },
        nullptr};
  });
}

}  // namespace

std::string format_rls_names(const json& reply, const char* key) {
  std::string out;
  if (!reply.is_object() || !reply.contains(key) || !reply.at(key).is_array()) return out;
  for (const auto& name : reply.at(key))
    out += (name.is_string() ? name.get<std::string>() : name.dump()) + "\n";
  return out;
}

std::string format_rls_mappings(const json& reply) {
  std::string out;
  if (!reply.is_object() || !reply.contains("mappings") || !reply.at("mappings").is_array())
    return out;
  for (const auto& m : reply.at("mappings"))
    out += text_or_empty(m, "lfn") + " " + text_or_empty(m, "pfn") + "\n";
  return out;
}

std::string format_rli_lrcs(const json& reply) {
  std::string out;
  if (!reply.is_object() || !reply.contains("lrcs") || !reply.at("lrcs").is_array()) return out;
  for (const auto& lrc : reply.at("lrcs"))
    out += text_or_empty(lrc, "name") + (flag_of(lrc, "maybe") ? " maybe" : "") + "\n";
  return out;
}

std::string format_rli_known(const json& reply) {
  std::string out;
  if (!reply.is_object() || !reply.contains("lrcs") || !reply.at("lrcs").is_array()) return out;
  for (const auto& lrc : reply.at("lrcs")) {
    if (!lrc.is_object()) continue;
    out += text_or_empty(lrc, "name") + " lfns=" + lrc.value("lfns", json{}).dump() +
           " mode=" + text_or_empty(lrc, "mode") + (flag_of(lrc, "stale") ? " stale" : "") + "\n";
  }
  return out;
}

void add_rls_commands(CLI::App& app, std::string& connection_name,
                      std::optional<rls_command>& chosen) {
  auto* rls = app.add_subcommand("rls",
                                 "Replica Location Service: the node's Local Replica "
                                 "Catalog and Replica Location Index, with globus-rls-cli's "
                                 "command words");
  rls->require_subcommand(1);
  auto a = std::make_shared<rls_arguments>();
  add_mutation(*rls, connection_name, chosen, a, "create", "created",
               "a new LFN with its first PFN (LFN_EXIST if the LFN exists)");
  add_mutation(*rls, connection_name, chosen, a, "add", "added", "another PFN for an existing LFN");
  add_mutation(*rls, connection_name, chosen, a, "delete", "deleted",
               "remove one mapping; the LFN goes with its last PFN");
  add_rename(*rls, connection_name, chosen, a);
  add_queries(*rls, connection_name, chosen, a);
  add_bulk(*rls, connection_name, chosen, a);
  add_admin(app, connection_name, chosen, a);
}

}  // namespace librarian::cli
