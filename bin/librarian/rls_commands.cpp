// `librarian rls ...`: globus-rls-cli's command words on top of /api/v1/rls/lrc and
// /api/v1/rls/rli (`query CONN rli lfn LFN`, `lrcs CONN`). The word forms
// (`query CONN lrc lfn NAME`, `exists CONN lrc lfn NAME`) are checked here, so globus-rls-cli
// command lines carry over with the connection name in place of the server URL.
#include "bin/librarian/rls_commands.hpp"

#include <iostream>
#include <memory>
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
}

}  // namespace librarian::cli
