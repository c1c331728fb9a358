// `librarian mcs ...` (see mcs_commands.hpp). Word forms are checked here; the node validates
// everything again, so the CLI only has to be helpful.
#include "bin/librarian/mcs_commands.hpp"

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

namespace librarian::cli {
namespace {

using json = nlohmann::json;

constexpr size_t attr_file_bytes_max = 16u << 20;

struct mcs_arguments {
  std::vector<std::string> words;
  std::string file;
  uint64_t version = 0;
  bool recursive = false;
  bool count = false;
  bool shred = false;
  bool locate = false;
  bool all_nodes = false;
  uint64_t limit = 0;
  uint64_t offset = 0;
  std::string after;
  std::string format;
  std::vector<std::string> where;
  std::vector<std::string> sources;
  std::string l, c, v;  // -l NAME | -c NAME | -v NAME
};

using args_ptr = std::shared_ptr<mcs_arguments>;

[[noreturn]] void usage(const std::string& message) {
  throw CLI::ValidationError(message);
}

std::string trim(std::string s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

expected<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(errc::not_found, "cannot open '" + path + "'");
  std::ostringstream out;
  out << in.rdbuf();
  if (out.str().size() > attr_file_bytes_max)
    return fail(errc::invalid_argument, "'" + path + "' is larger than 16 MiB");
  return out.str();
}

std::string kind_word(const std::string& w) {
  if (w != "l" && w != "c" && w != "v") usage("expected an object kind l, c or v, not '" + w + "'");
  return w;
}

json ref_json(const std::string& kind, const std::string& name, uint64_t version) {
  json j{{"kind", kind}, {"name", name}};
  if (version != 0) j["version"] = version;
  return j;
}

// "KIND:NAME" (as in --from l:raw.fits) -> a reference.
json ref_from_spec(const std::string& spec) {
  auto colon = spec.find(':');
  if (colon == std::string::npos) usage("expected KIND:NAME, e.g. l:raw.fits, not '" + spec + "'");
  return ref_json(kind_word(spec.substr(0, colon)), spec.substr(colon + 1), 0);
}

std::string entry_text(const json& e) {
  std::string out = e.value("name", "");
  if (e.contains("version"))
    out += " (version " + std::to_string(e.value("version", uint64_t{0})) + ")";
  return out;
}

std::string print_items(const api_reply& reply) {
  std::string out;
  if (reply.value.contains("items"))
    for (const auto& e : reply.value.at("items")) out += entry_text(e) + "\n";
  if (reply.value.value("truncated", false))
    std::cerr << "note: the scan stopped at its row budget; add an indexed condition\n";
  if (reply.value.value("more", false))
    std::cerr << "note: more results; page with --offset/--limit\n";
  return out;
}

// query --all-nodes: "NODE NAME" per result.
std::string print_items_by_node(const api_reply& reply) {
  std::string out;
  for (const auto& e : reply.value.value("items", json::array()))
    out += e.value("node", std::string{"?"}) + " " + entry_text(e) + "\n";
  if (reply.value.value("more", false))
    std::cerr << "note: more results on some node; page with --offset/--limit\n";
  return out;
}

// query --all-nodes: peers that did not answer are reported, not fatal.
void report_nodes(const api_reply& reply) {
  auto nodes = reply.value.value("nodes", json::object());
  for (const auto& [node, answer] : nodes.items())
    if (answer.contains("error"))
      std::cerr << "warning: node " << node << " did not answer ("
                << answer.value("error", std::string{})
                << "): " << answer.value("message", std::string{}) << "\n";
}

std::string print_ok(const api_reply& reply) {
  if (reply.value.contains("created"))
    return "created " + std::to_string(reply.value.value("created", 0)) + " objects\n";
  return "ok\n";
}

mcs_command post(const std::string& verb, std::function<json()> body,
                 std::function<std::string(const api_reply&)> human = print_ok) {
  return {[verb, body](const connection& conn, std::chrono::milliseconds timeout) {
            return call_api(conn, "POST", "/api/v1/mcs/" + verb, body(), timeout);
          },
          std::move(human), nullptr};
}

CLI::App* verb(CLI::App& mcs, std::string& conn, const std::string& name, const std::string& about,
               const args_ptr& a, const std::string& words_help, int min_words, int max_words) {
  auto* sub = mcs.add_subcommand(name, about);
  sub->add_option("CONN", conn, "connection name in the client config")->required();
  if (max_words > 0) {
    auto* opt = sub->add_option("WORDS", a->words, words_help)->expected(min_words, max_words);
    if (min_words > 0) opt->required();
  }
  return sub;
}

// The attributes of -f FILE as the body's "attrs" (read when the command runs).
expected<json> attrs_from(const args_ptr& a, bool with_values) {
  auto text = read_file(a->file);
  if (!text) return text.err();
  return parse_attr_file(*text, with_values);
}

void add_create(CLI::App& mcs, std::string& conn, std::optional<mcs_command>& chosen,
                const args_ptr& a) {
  auto* sub = verb(mcs, conn, "create", "create a logical file, collection or view", a,
                   "[KIND NAME]", 0, 2);
  sub->add_option("-l", a->l, "a logical file NAME");
  sub->add_option("-c", a->c, "a collection NAME");
  sub->add_option("-v", a->v, "a view NAME");
  sub->add_option("-f", a->file, "attribute file: NAME TYPE VALUE per line");
  sub->add_option("--version", a->version, "a version of the logical file (1, 2, ...)");
  sub->callback([&chosen, a] {
    std::string kind, name;
    int given = !a->l.empty() + !a->c.empty() + !a->v.empty();
    if (given > 1 || (given == 1 && !a->words.empty()) || (given == 0 && a->words.size() != 2))
      usage("create: give exactly one of -l NAME, -c NAME, -v NAME (or KIND NAME)");
    if (given == 1) {
      kind = !a->l.empty() ? "l" : (!a->c.empty() ? "c" : "v");
      name = !a->l.empty() ? a->l : (!a->c.empty() ? a->c : a->v);
    } else {
      kind = kind_word(a->words[0]);
      name = a->words[1];
    }
    std::optional<json> attrs;
    if (!a->file.empty()) {
      auto parsed = attrs_from(a, true);
      if (!parsed) usage("create: " + parsed.err().message);
      attrs = *parsed;
    }
    chosen = post(
        "create",
        [=] {
          auto body = ref_json(kind, name, a->version);
          if (attrs) body["attrs"] = *attrs;
          return body;
        },
        [kind, name](const api_reply&) { return "created " + kind + " " + name + "\n"; });
  });
}

// add_att / modify_att / delete_att KIND NAME ATTR TYPE VALUE, and the _blk forms with -f FILE.
void add_attr_verbs(CLI::App& mcs, std::string& conn, std::optional<mcs_command>& chosen,
                    const args_ptr& a) {
  for (std::string op : {"add", "modify", "delete"}) {
    auto server_verb = op + "_att";
    auto* one = verb(mcs, conn, op + "_att", op + " one attribute of an object", a,
                     "KIND NAME ATTR TYPE VALUE", op == "delete" ? 3 : 5, 5);
    one->add_option("--version", a->version, "the logical file's version");
    one->callback([&chosen, a, server_verb, op] {
      auto& w = a->words;
      auto kind = kind_word(w[0]);
      json attr{{"name", w[2]}};
      if (w.size() > 3) attr["type"] = w[3];
      if (w.size() > 4 && op != "delete") attr["value"] = w[4];
      chosen = post(server_verb, [=] {
        auto body = ref_json(kind, w[1], a->version);
        body["attrs"] = json::array({attr});
        return body;
      });
    });
    auto* blk = verb(mcs, conn, op + "_blk", op + " attributes of an object from a file", a,
                     "KIND NAME", 2, 2);
    blk->add_option("-f", a->file, "attribute file: NAME TYPE VALUE per line")->required();
    blk->add_option("--version", a->version, "the logical file's version");
    blk->callback([&chosen, a, server_verb, op] {
      auto kind = kind_word(a->words[0]);
      auto attrs = attrs_from(a, op != "delete");
      if (!attrs) usage(op + "_blk: " + attrs.err().message);
      auto list = *attrs;
      chosen = post(server_verb, [=] {
        auto body = ref_json(kind, a->words[1], a->version);
        body["attrs"] = list;
        return body;
      });
    });
  }
}

void add_query(CLI::App& mcs, std::string& conn, std::optional<mcs_command>& chosen,
               const args_ptr& a) {
  auto* sub = verb(mcs, conn, "query", "objects whose attributes match every condition", a,
                   "KIND [ATTR TYPE VALUE]", 1, 4);
  sub->add_option("-w,--where", a->where,
                  "a condition 'ATTR OP VALUE' (= != < <= > >= like) or "
                  "'ATTR between LO HI'; repeat for a conjunction");
  sub->add_flag("--count", a->count, "print only the number of matches");
  sub->add_flag("--locate", a->locate,
                "also print each file's replicas (PFNs) from the node's LRC");
  sub->add_flag("--all-nodes", a->all_nodes,
                "also ask every peer's catalog; each result is prefixed with its node, and a peer "
                "that does not answer is reported on stderr");
  sub->add_option("--limit", a->limit, "at most this many results (0: the node's default page)");
  sub->add_option("--offset", a->offset, "skip this many results (paging)");
  sub->callback([&chosen, a] {
    auto& w = a->words;
    auto kind = kind_word(w[0]);
    if (w.size() != 1 && w.size() != 4)
      usage("query: KIND [ATTR TYPE VALUE] [-w 'ATTR OP VALUE']...");
    if (a->all_nodes && a->locate) usage("query: --locate and --all-nodes do not combine");
    json conds = json::array();
    if (w.size() == 4)
      conds.push_back({{"attr", w[1]}, {"type", w[2]}, {"op", "="}, {"value", w[3]}});
    for (const auto& text : a->where) {
      auto c = parse_condition(text);
      if (!c) usage("query: " + c.err().message);
      conds.push_back(*c);
    }
    bool count = a->count;
    bool locate = a->locate;
    bool all_nodes = a->all_nodes;
    chosen = post(
        "query",
        [=] {
          json body{{"kind", kind}, {"conditions", conds}};
          if (locate) body["locate"] = true;
          if (all_nodes) body["all_nodes"] = true;
          if (a->limit) body["limit"] = a->limit;
          if (a->offset) body["offset"] = a->offset;
          if (count) body["count"] = true;
          return body;
        },
        [count, locate, all_nodes](const api_reply& r) {
          if (all_nodes) report_nodes(r);
          if (count) return std::to_string(r.value.value("count", uint64_t{0})) + "\n";
          if (all_nodes) return print_items_by_node(r);
          if (!locate) return print_items(r);
          // NAME PFN PFN ... per file.
          std::string out;
          for (const auto& e : r.value.value("items", json::array())) {
            out += entry_text(e);
            for (const auto& p : e.value("replicas", json::array()))
              out += " " + p.get<std::string>();
            out += "\n";
          }
          if (r.value.value("more", false))
            std::cerr << "note: more results; page with --offset/--limit\n";
          return out;
        });
  });
}

void add_listing(CLI::App& mcs, std::string& conn, std::optional<mcs_command>& chosen,
                 const args_ptr& a) {
  auto* list = verb(mcs, conn, "list", "every logical file, collection or view you may read", a,
                    "KIND", 1, 1);
  list->add_option("--after", a->after, "start after this name (paging)");
  list->add_option("--limit", a->limit, "at most this many names");
  list->callback([&chosen, a] {
    auto kind = kind_word(a->words[0]);
    chosen = post(
        "list",
        [=] {
          json body{{"kind", kind}};
          if (!a->after.empty()) body["after"] = a->after;
          if (a->limit) body["limit"] = a->limit;
          return body;
        },
        print_items);
  });
  for (std::string which : {"list_coll", "list_view"}) {
    auto* sub = verb(mcs, conn, which,
                     which == "list_coll" ? "the members of a collection" : "the members of a view",
                     a, "NAME", 1, 1);
    sub->add_option("--limit", a->limit, "at most this many members");
    sub->add_option("--offset", a->offset, "skip this many members");
    sub->callback([&chosen, a, which] {
      chosen = post(
          which,
          [=] {
            json body{{"name", a->words[0]}};
            if (a->limit) body["limit"] = a->limit;
            if (a->offset) body["offset"] = a->offset;
            return body;
          },
          print_items);
    });
  }
  auto* attrs = verb(mcs, conn, "listattributes", "the attributes of an object: NAME TYPE VALUE", a,
                     "KIND NAME", 2, 2);
  attrs->add_option("--version", a->version, "the logical file's version");
  attrs->callback([&chosen, a] {
    auto kind = kind_word(a->words[0]);
    chosen = post(
        "listattributes", [=] { return ref_json(kind, a->words[1], a->version); },
        [](const api_reply& r) {
          std::string out;
          for (const auto& e : r.value.value("attributes", json::array()))
            out +=
                e.value("name", "") + " " + e.value("type", "") + " " + e.value("value", "") + "\n";
          return out;
        });
  });
  auto* defs =
      verb(mcs, conn, "attributes", "every attribute the catalog defines: NAME TYPE", a, "", 0, 0);
  defs->callback([&chosen] {
    chosen = post(
        "attributes", [] { return json::object(); },
        [](const api_reply& r) {
          std::string out;
          for (const auto& e : r.value.value("attributes", json::array()))
            out += e.value("name", "") + " " + e.value("type", "") + "\n";
          return out;
        });
  });
}

void add_structure(CLI::App& mcs, std::string& conn, std::optional<mcs_command>& chosen,
                   const args_ptr& a) {
  auto* coll =
      verb(mcs, conn, "add_coll", "put a logical file (-l) or collection (-c) into a collection", a,
           "PARENT", 1, 1);
  coll->add_option("-l", a->l, "the logical file");
  coll->add_option("-c", a->c, "the child collection");
  coll->add_option("--version", a->version, "the logical file's version");
  coll->callback([&chosen, a] {
    if (a->l.empty() == a->c.empty()) usage("add_coll: give exactly one of -l FILE and -c CHILD");
    auto child = a->l.empty() ? ref_json("c", a->c, 0) : ref_json("l", a->l, a->version);
    chosen = post("add_coll", [=] { return json{{"parent", a->words[0]}, {"child", child}}; });
  });
  auto* view = verb(mcs, conn, "add_view", "put a logical file, collection or view into a view", a,
                    "VIEW", 1, 1);
  view->add_option("-l", a->l, "a logical file");
  view->add_option("-c", a->c, "a collection");
  view->add_option("-v", a->v, "a view");
  view->add_option("--version", a->version, "the logical file's version");
  view->callback([&chosen, a] {
    int given = !a->l.empty() + !a->c.empty() + !a->v.empty();
    if (given != 1) usage("add_view: give exactly one of -l, -c and -v");
    auto child = !a->l.empty() ? ref_json("l", a->l, a->version)
                               : (!a->c.empty() ? ref_json("c", a->c, 0) : ref_json("v", a->v, 0));
    chosen = post("add_view", [=] { return json{{"view", a->words[0]}, {"child", child}}; });
  });
  auto* del =
      verb(mcs, conn, "delete", "delete an object with its attributes", a, "KIND NAME", 2, 2);
  del->add_flag("--recursive", a->recursive, "delete a collection with everything inside it");
  del->add_option("--version", a->version, "the logical file's version");
  del->callback([&chosen, a] {
    auto kind = kind_word(a->words[0]);
    chosen = post("delete", [=] {
      auto body = ref_json(kind, a->words[1], a->version);
      if (a->recursive) body["recursive"] = true;
      return body;
    });
  });
}

void add_notes(CLI::App& mcs, std::string& conn, std::optional<mcs_command>& chosen,
               const args_ptr& a) {
  auto* ann = verb(mcs, conn, "annotate", "annotate an object (without TEXT: list its annotations)",
                   a, "KIND NAME [TEXT]", 2, 3);
  ann->add_option("--version", a->version, "the logical file's version");
  ann->callback([&chosen, a] {
    auto kind = kind_word(a->words[0]);
    auto ref = ref_json(kind, a->words[1], a->version);
    if (a->words.size() == 3) {
      auto text = a->words[2];
      chosen = post("annotate", [=] {
        auto body = ref;
        body["text"] = text;
        return body;
      });
      return;
    }
    chosen = post(
        "annotations", [=] { return ref; },
        [](const api_reply& r) {
          std::string out;
          for (const auto& n : r.value.value("annotations", json::array()))
            out += n.value("who", "") + ": " + n.value("text", "") + "\n";
          return out;
        });
  });
  auto* prov = verb(mcs, conn, "provenance",
                    "set an object's provenance (TEXT and --from KIND:NAME); without them, show it",
                    a, "KIND NAME [TEXT]", 2, 3);
  prov->add_option("--from", a->sources,
                   "an object it was derived from, as KIND:NAME (repeatable)");
  prov->add_option("--version", a->version, "the logical file's version");
  prov->callback([&chosen, a] {
    auto kind = kind_word(a->words[0]);
    auto ref = ref_json(kind, a->words[1], a->version);
    if (a->words.size() == 2 && a->sources.empty()) {
      chosen = post(
          "get_provenance", [=] { return ref; },
          [](const api_reply& r) {
            std::string out = r.value.value("text", "") + "\n";
            for (const auto& e : r.value.value("derived_from", json::array()))
              out +=
                  "derived from " + std::string{e.value("kind", "")} + " " + entry_text(e) + "\n";
            return out;
          });
      return;
    }
    json sources = json::array();
    for (const auto& s : a->sources) sources.push_back(ref_from_spec(s));
    auto text = a->words.size() == 3 ? a->words[2] : std::string{};
    chosen = post("provenance", [=] {
      auto body = ref;
      body["text"] = text;
      body["sources"] = sources;
      return body;
    });
  });
  auto* audit = verb(mcs, conn, "audit", "an object's audit log, newest first (owner or admin)", a,
                     "KIND NAME", 2, 2);
  audit->add_option("--limit", a->limit, "at most this many rows");
  audit->callback([&chosen, a] {
    auto kind = kind_word(a->words[0]);
    chosen = post(
        "audit",
        [=] {
          auto body = ref_json(kind, a->words[1], 0);
          if (a->limit) body["limit"] = a->limit;
          return body;
        },
        [](const api_reply& r) {
          std::string out;
          for (const auto& e : r.value.value("audit", json::array()))
            out += std::to_string(e.value("when_us", int64_t{0})) + " " + e.value("who", "") + " " +
                   e.value("action", "") + " " + e.value("detail", "") + "\n";
          return out;
        });
  });
}

// grant|revoke CONN (KIND NAME | service) PRINCIPAL RIGHTS; acl CONN (KIND NAME | service).
void add_permissions(CLI::App& mcs, std::string& conn, std::optional<mcs_command>& chosen,
                     const args_ptr& a) {
  for (std::string which : {"grant", "revoke"}) {
    auto* sub =
        verb(mcs, conn, which,
             which + " rights (read, write, create, all) to user:NAME, group:NAME or anyone", a,
             "(KIND NAME | service) PRINCIPAL RIGHTS", 3, 4);
    sub->callback([&chosen, a, which] {
      auto& w = a->words;
      json target;
      if (w.size() == 3) {
        if (w[0] != "service") usage(which + ": (KIND NAME | service) PRINCIPAL RIGHTS");
        target = "service";
      } else {
        target = ref_json(kind_word(w[0]), w[1], 0);
      }
      auto principal = w[w.size() - 2];
      auto rights = w[w.size() - 1];
      chosen = post(which, [=] {
        return json{{"target", target}, {"principal", principal}, {"rights", rights}};
      });
    });
  }
  auto* acl = verb(mcs, conn, "acl", "the grants on an object or the service: PRINCIPAL RIGHTS", a,
                   "KIND NAME | service", 1, 2);
  acl->callback([&chosen, a] {
    auto& w = a->words;
    json target = w.size() == 1 && w[0] == "service" ? json("service") : json();
    if (target.is_null()) {
      if (w.size() != 2) usage("acl: KIND NAME | service");
      target = ref_json(kind_word(w[0]), w[1], 0);
    }
    chosen = post(
        "acl",
        [=] {
          return json{{"target", target}};
        },
        [](const api_reply& r) {
          std::string out;
          for (const auto& g : r.value.value("grants", json::array()))
            out += g.value("principal", "") + " " + g.value("rights", "") + "\n";
          return out;
        });
  });
}

void add_documents(CLI::App& mcs, std::string& conn, std::optional<mcs_command>& chosen,
                   const args_ptr& a) {
  auto* store =
      verb(mcs, conn, "store-doc", "store an XML or JSON metadata document with an object", a,
           "KIND NAME FILE", 3, 3);
  store->add_option("--format", a->format,
                    "json or xml (default: from the file's first character)");
  store->add_flag("--shred", a->shred, "also turn the JSON document's members into attributes");
  store->add_option("--version", a->version, "the logical file's version");
  store->callback([&chosen, a] {
    auto kind = kind_word(a->words[0]);
    auto content = read_file(a->words[2]);
    if (!content) usage("store-doc: " + content.err().message);
    auto format = a->format;
    if (format.empty()) {
      auto first = content->find_first_not_of(" \t\r\n");
      format = first != std::string::npos && (*content)[first] == '<' ? "xml" : "json";
    }
    auto text = *content;
    chosen = post("store_doc", [=] {
      auto body = ref_json(kind, a->words[1], a->version);
      body["format"] = format;
      body["content"] = text;
      if (a->shred) body["shred"] = true;
      return body;
    });
  });
  auto* get =
      verb(mcs, conn, "get-doc", "print the document stored with an object", a, "KIND NAME", 2, 2);
  get->add_option("--version", a->version, "the logical file's version");
  get->callback([&chosen, a] {
    auto kind = kind_word(a->words[0]);
    chosen = post(
        "get_doc", [=] { return ref_json(kind, a->words[1], a->version); },
        [](const api_reply& r) {
          auto text = r.value.value("content", "");
          return text.empty() || text.back() == '\n' ? text : text + "\n";
        });
  });
}

}  // namespace

expected<json> parse_attr_file(const std::string& text, bool with_values) {
  json out = json::array();
  std::istringstream in(text);
  std::string line;
  size_t number = 0;
  // Bounded by the file's size (at most attr_file_bytes_max).
  while (std::getline(in, line)) {
    ++number;
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    std::istringstream words(line);
    std::string name, type;
    words >> name >> type;
    std::string value;
    std::getline(words, value);
    value = trim(value);
    if (with_values && (type.empty() || value.empty()))
      return fail(errc::invalid_argument, "line " + std::to_string(number) +
                                              ": expected NAME TYPE VALUE, got '" +
                                              line.substr(0, 80) + "'");
    json attr{{"name", name}};
    if (!type.empty()) attr["type"] = type;
    if (with_values) attr["value"] = value;
    out.push_back(attr);
  }
  if (out.empty()) return fail(errc::invalid_argument, "the attribute file holds no attributes");
  return out;
}

expected<json> parse_condition(const std::string& text) {
  std::istringstream words(text);
  std::string attr, op;
  words >> attr >> op;
  std::string rest;
  std::getline(words, rest);
  rest = trim(rest);
  if (attr.empty() || op.empty())
    return fail(errc::invalid_argument, "a condition is 'ATTR OP VALUE', got '" + text + "'");
  if (op == "between") {
    std::istringstream bounds(rest);
    std::string lo, hi, extra;
    bounds >> lo >> hi >> extra;
    if (hi.empty() || !extra.empty())
      return fail(errc::invalid_argument, "between takes two bounds: 'ATTR between LO HI'");
    return json{{"attr", attr}, {"op", op}, {"value", lo}, {"value2", hi}};
  }
  return json{{"attr", attr}, {"op", op}, {"value", rest}};
}

void add_mcs_commands(CLI::App& app, std::string& connection_name,
                      std::optional<mcs_command>& chosen) {
  auto* mcs =
      app.add_subcommand("mcs", "the Metadata Catalog Service: objects, attributes, queries");
  mcs->require_subcommand(1);
  auto a = std::make_shared<mcs_arguments>();
  add_create(*mcs, connection_name, chosen, a);
  add_attr_verbs(*mcs, connection_name, chosen, a);
  add_query(*mcs, connection_name, chosen, a);
  add_listing(*mcs, connection_name, chosen, a);
  add_structure(*mcs, connection_name, chosen, a);
  add_notes(*mcs, connection_name, chosen, a);
  add_permissions(*mcs, connection_name, chosen, a);
  add_documents(*mcs, connection_name, chosen, a);
}

}  // namespace librarian::cli
