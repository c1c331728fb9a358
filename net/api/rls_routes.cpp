// /api/v1/rls/lrc: the Local Replica Catalog over HTTP, with globus-rls-cli's operations (create,
// add, delete, rename, query, wildcard, exists, count). Names travel in JSON bodies and query
// strings, never in the path: LFNs and PFNs contain '/', and a path parameter is one segment.
// /api/v1/rls/rli: the Replica Location Index's queries (which LRCs hold an LFN; the LRCs known).
#include <charconv>
#include <sstream>

#include "actors/rls/interface.hpp"
#include "net/api/api_context.hpp"

namespace librarian::net {
namespace {

using http::path_params;
using http::request;
using http::respond_fn;
using http::role;

// The node delegates (ask, "lrc", message) to its supervised LRC actor.
constexpr const char* lrc_name = "lrc";
// ... and (ask, "rli", message) to its RLI, which exists only with "rls": {"rli": true}.
constexpr const char* rli_name = "rli";

void bad_request(const request& req, const respond_fn& respond, const error& err) {
  respond(http::error_response(err, req.request_id));
}

// Unknown query parameters are refused like unknown body fields, so a typo ("reslimt") cannot
// silently fall back to the default.
status check_query_keys(const request& req, std::initializer_list<const char*> allowed) {
  for (const auto& [key, value] : req.query) {
    bool known = false;
    for (const char* name : allowed) known = known || key == name;
    if (!known) return fail(errc::invalid_argument, "unknown query parameter '" + key + "'");
  }
  return {};
}

// An optional non-negative decimal query parameter; absent is 0 (for reslimit: the LRC's default).
// The LRC itself bounds the values (BADARG), so only the syntax is checked here.
expected<uint64_t> uint_param(const request& req, const char* key) {
  auto it = req.query.find(key);
  if (it == req.query.end()) return uint64_t{0};
  const auto& text = it->second;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    return fail(errc::invalid_argument, std::string{"query parameter '"} + key +
                                            "' must be a non-negative integer, not '" + text + "'");
  return value;
}

struct page_params {
  uint64_t offset = 0;
  uint64_t reslimit = 0;
};

expected<page_params> read_page(const request& req) {
  auto offset = uint_param(req, "offset");
  if (!offset) return offset.err();
  auto reslimit = uint_param(req, "reslimit");
  if (!reslimit) return reslimit.err();
  return page_params{*offset, *reslimit};
}

expected<std::string> required_param(const request& req, const char* key) {
  auto it = req.query.find(key);
  if (it == req.query.end())
    return fail(errc::invalid_argument, std::string{"query parameter '"} + key + "' is required");
  return it->second;
}

// POST {first_key, second_key} -> (atom, first, second) to the LRC, answered with the two names
// under the same keys. Every LRC mutation is this shape; only rename's second key differs.
template <class Atom>
void post_pair(const context_ptr& ctx, const request& req, const respond_fn& respond, Atom atom,
               const char* second_key, int status_ok) {
  authorize(ctx, req, respond, role::readwrite, [=](caller) {
    auto body = read_json_object(req, {"lfn", second_key});
    if (!body) return bad_request(req, respond, body.err());
    auto first = string_field(*body, "lfn", true);
    auto second = string_field(*body, second_key, true);
    for (auto* field : {&first, &second})
      if (!*field) return bad_request(req, respond, field->err());
    ask_actor(ctx, lrc_name, caf::make_message(atom, *first, *second), req, respond,
              [=](const rls::mapping& m) {
                respond(http::json_response(status_ok, {{"lfn", m.lfn}, {second_key, m.pfn}}));
              });
  });
}

// GET ?lfn=L or ?pfn=P (exactly one): the PFNs of an LFN, or the LFNs of a PFN.
void query(const context_ptr& ctx, const request& req, const respond_fn& respond) {
  authorize(ctx, req, respond, role::readonly, [=](caller) {
    if (auto st = check_query_keys(req, {"lfn", "pfn", "offset", "reslimit"}); !st)
      return bad_request(req, respond, st.err());
    bool by_lfn = req.query.contains("lfn");
    if (by_lfn == req.query.contains("pfn"))
      return bad_request(
          req, respond,
          fail(errc::invalid_argument, "give exactly one of the query parameters 'lfn' and 'pfn'"));
    auto page = read_page(req);
    if (!page) return bad_request(req, respond, page.err());
    std::string key = by_lfn ? "lfn" : "pfn";
    std::string name = req.query.at(key);
    auto payload =
        by_lfn ? caf::make_message(atoms::query_atom_v, name, page->offset, page->reslimit)
               : caf::make_message(atoms::query_pfn_atom_v, name, page->offset, page->reslimit);
    ask_actor(ctx, lrc_name, std::move(payload), req, respond, [=](const rls::name_page& names) {
      respond(http::json_response(
          200, {{key, name}, {by_lfn ? "pfns" : "lfns", names.items}, {"more", names.more}}));
    });
  });
}

// GET ?lfn=PATTERN: mappings whose LFN matches a pattern with * and ?.
void wildcard(const context_ptr& ctx, const request& req, const respond_fn& respond) {
  authorize(ctx, req, respond, role::readonly, [=](caller) {
    if (auto st = check_query_keys(req, {"lfn", "offset", "reslimit"}); !st)
      return bad_request(req, respond, st.err());
    auto pattern = required_param(req, "lfn");
    if (!pattern) return bad_request(req, respond, pattern.err());
    auto page = read_page(req);
    if (!page) return bad_request(req, respond, page.err());
    auto payload =
        caf::make_message(atoms::wildcard_atom_v, *pattern, page->offset, page->reslimit);
    ask_actor(ctx, lrc_name, std::move(payload), req, respond, [=](const rls::mapping_page& p) {
      auto list = nlohmann::json::array();
      for (const auto& m : p.items) list.push_back({{"lfn", m.lfn}, {"pfn", m.pfn}});
      respond(http::json_response(
          200, {{"mappings", list}, {"more", p.more}, {"truncated", p.truncated}}));
    });
  });
}

void exists(const context_ptr& ctx, const request& req, const respond_fn& respond) {
  authorize(ctx, req, respond, role::readonly, [=](caller) {
    if (auto st = check_query_keys(req, {"lfn"}); !st) return bad_request(req, respond, st.err());
    auto lfn = required_param(req, "lfn");
    if (!lfn) return bad_request(req, respond, lfn.err());
    std::string name = *lfn;
    ask_actor(ctx, lrc_name, caf::make_message(atoms::exists_atom_v, name), req, respond,
              [=](bool found) {
                respond(http::json_response(200, {{"lfn", name}, {"exists", found}}));
              });
  });
}

void count(const context_ptr& ctx, const request& req, const respond_fn& respond) {
  authorize(ctx, req, respond, role::readonly, [=](caller) {
    if (auto st = check_query_keys(req, {}); !st) return bad_request(req, respond, st.err());
    ask_actor(ctx, lrc_name, caf::make_message(atoms::count_atom_v), req, respond,
              [=](uint64_t lfns, uint64_t mappings) {
                respond(http::json_response(200, {{"lfns", lfns}, {"mappings", mappings}}));
              });
  });
}

// The node answers not_found "no actor named 'rli' ..." when it runs no RLI; that 404 must not read
// like LFN_NEXIST, so it is reworded to say what is missing and how to configure it.
error reword_missing_rli(error err) {
  if (err.code == errc::not_found && err.message.starts_with("no actor named 'rli'"))
    err.message =
        "this node runs no RLI (Replica Location Index): its config lacks \"rls\": {\"rli\": "
        "true}; ask a node that runs one";
  return err;
}

// GET ?lfn=L: the LRCs holding L, each {"name", "maybe"} ("NAME maybe" from a Bloom-mode LRC).
void rli_query(const context_ptr& ctx, const request& req, const respond_fn& respond) {
  authorize(ctx, req, respond, role::readonly, [=](caller) {
    if (auto st = check_query_keys(req, {"lfn"}); !st) return bad_request(req, respond, st.err());
    auto lfn = required_param(req, "lfn");
    if (!lfn) return bad_request(req, respond, lfn.err());
    std::string name = *lfn;
    ask_actor(
        ctx, std::string{rli_name}, caf::make_message(atoms::query_atom_v, name), req, respond,
        [=](const std::vector<std::string>& lines) {
          constexpr std::string_view maybe_suffix = " maybe";
          auto list = nlohmann::json::array();
          for (const auto& line : lines) {
            bool maybe = line.ends_with(maybe_suffix);
            auto lrc = maybe ? line.substr(0, line.size() - maybe_suffix.size()) : line;
            list.push_back({{"name", lrc}, {"maybe", maybe}});
          }
          respond(http::json_response(200, {{"lfn", name}, {"lrcs", list}}));
        },
        reword_missing_rli);
  });
}

// One RLI list line, "NAME lfns=N mode=list|bloom[ stale]", as {"name","lfns","mode","stale"}.
nlohmann::json parse_lrc_line(const std::string& line) {
  std::istringstream words{line};
  std::string name;
  words >> name;
  nlohmann::json out{{"name", name}, {"lfns", 0}, {"mode", "list"}, {"stale", false}};
  for (std::string word; words >> word;) {
    if (word == "stale") {
      out["stale"] = true;
    } else if (word.starts_with("mode=")) {
      out["mode"] = word.substr(5);
    } else if (word.starts_with("lfns=")) {
      uint64_t n = 0;
      auto digits = std::string_view{word}.substr(5);
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
      if (ec == std::errc{} && end == digits.data() + digits.size()) out["lfns"] = n;
    }
  }
  return out;
}

// GET: every LRC the RLI knows, fresh or stale.
void rli_lrcs(const context_ptr& ctx, const request& req, const respond_fn& respond) {
  authorize(ctx, req, respond, role::readonly, [=](caller) {
    if (auto st = check_query_keys(req, {}); !st) return bad_request(req, respond, st.err());
    ask_actor(
        ctx, std::string{rli_name}, caf::make_message(atoms::list_atom_v), req, respond,
        [=](const std::vector<std::string>& lines) {
          auto list = nlohmann::json::array();
          for (const auto& line : lines) list.push_back(parse_lrc_line(line));
          respond(http::json_response(200, {{"lrcs", list}}));
        },
        reword_missing_rli);
  });
}

// The key=value words of one statistics line into out: integers as numbers, yes/no as
// booleans, anything else as a string. Returns the line's first word (its name).
std::string add_stats_fields(const std::string& line, nlohmann::json& out) {
  std::istringstream words{line};
  std::string name;
  words >> name;
  for (std::string word; words >> word;) {
    auto eq = word.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    auto key = word.substr(0, eq);
    auto text = std::string_view{word}.substr(eq + 1);
    int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec == std::errc{} && end == text.data() + text.size())
      out[key] = n;
    else if (text == "yes" || text == "no")
      out[key] = text == "yes";
    else
      out[key] = std::string{text};
  }
  return name;
}

// GET: the RLIs this node's LRC updates: mode, sync state, last updates sent (rls-admin stats).
void lrc_targets(const context_ptr& ctx, const request& req, const respond_fn& respond) {
  authorize(ctx, req, respond, role::readonly, [=](caller) {
    if (auto st = check_query_keys(req, {}); !st) return bad_request(req, respond, st.err());
    ask_actor(ctx, std::string{lrc_name}, caf::make_message(atoms::targets_atom_v), req, respond,
              [=](const std::vector<std::string>& lines) {
                auto list = nlohmann::json::array();
                for (const auto& line : lines) {
                  nlohmann::json target = nlohmann::json::object();
                  target["name"] = add_stats_fields(line, target);
                  list.push_back(std::move(target));
                }
                respond(http::json_response(200, {{"targets", list}}));
              });
  });
}

// GET: the RLI's counters and the parent RLIs it forwards to.
void rli_stats(const context_ptr& ctx, const request& req, const respond_fn& respond) {
  authorize(ctx, req, respond, role::readonly, [=](caller) {
    if (auto st = check_query_keys(req, {}); !st) return bad_request(req, respond, st.err());
    ask_actor(
        ctx, std::string{rli_name}, caf::make_message(atoms::targets_atom_v), req, respond,
        [=](const std::vector<std::string>& lines) {
          nlohmann::json out{{"forward_to", nlohmann::json::array()}};
          for (const auto& line : lines) {
            if (line.starts_with("forward_to ")) {
              out["forward_to"].push_back(line.substr(11));
              continue;
            }
            static_cast<void>(add_stats_fields(line, out));
          }
          respond(http::json_response(200, out));
        },
        reword_missing_rli);
  });
}

}  // namespace

void add_rls_routes(http::router& r, const context_ptr& ctx) {
  r.add("POST", "/api/v1/rls/lrc/create", [ctx](request req, path_params, respond_fn respond) {
    post_pair(ctx, req, respond, atoms::create_atom_v, "pfn", 201);
  });
  r.add("POST", "/api/v1/rls/lrc/add", [ctx](request req, path_params, respond_fn respond) {
    post_pair(ctx, req, respond, atoms::add_atom_v, "pfn", 201);
  });
  r.add("POST", "/api/v1/rls/lrc/delete", [ctx](request req, path_params, respond_fn respond) {
    post_pair(ctx, req, respond, atoms::remove_atom_v, "pfn", 200);
  });
  r.add("POST", "/api/v1/rls/lrc/rename", [ctx](request req, path_params, respond_fn respond) {
    post_pair(ctx, req, respond, atoms::rename_atom_v, "new_lfn", 200);
  });
  r.add("GET", "/api/v1/rls/lrc/query",
        [ctx](request req, path_params, respond_fn respond) { query(ctx, req, respond); });
  r.add("GET", "/api/v1/rls/lrc/wildcard",
        [ctx](request req, path_params, respond_fn respond) { wildcard(ctx, req, respond); });
  r.add("GET", "/api/v1/rls/lrc/exists",
        [ctx](request req, path_params, respond_fn respond) { exists(ctx, req, respond); });
  r.add("GET", "/api/v1/rls/lrc/count",
        [ctx](request req, path_params, respond_fn respond) { count(ctx, req, respond); });
  r.add("GET", "/api/v1/rls/rli/query",
        [ctx](request req, path_params, respond_fn respond) { rli_query(ctx, req, respond); });
  r.add("GET", "/api/v1/rls/rli/lrcs",
        [ctx](request req, path_params, respond_fn respond) { rli_lrcs(ctx, req, respond); });
  r.add("GET", "/api/v1/rls/lrc/targets",
        [ctx](request req, path_params, respond_fn respond) { lrc_targets(ctx, req, respond); });
  r.add("GET", "/api/v1/rls/rli/stats",
        [ctx](request req, path_params, respond_fn respond) { rli_stats(ctx, req, respond); });
}

}  // namespace librarian::net
