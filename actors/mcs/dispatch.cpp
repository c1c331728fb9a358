// Verb + JSON arguments -> state machine call -> JSON reply (see dispatch.hpp).
#include "actors/mcs/dispatch.hpp"

#include <initializer_list>
#include <nlohmann/json.hpp>

namespace librarian::mcs {
namespace {

using nlohmann::json;

constexpr std::string_view write_verbs[] = {
    "create",   "create_many", "add_att",   "modify_att", "delete_att",
    "add_coll", "add_view",    "delete",    "annotate",   "provenance",
    "grant",    "revoke",      "store_doc", "group_add",  "group_remove"};
constexpr std::string_view read_verbs[] = {
    "listattributes", "list", "list_coll", "list_view", "query",      "annotations",
    "get_provenance", "acl",  "get_doc",   "audit",     "attributes", "groups"};

// Sent by the node itself, never accepted over HTTP (the API asks is_known_verb).
constexpr std::string_view internal_verbs[] = {"register_file"};

error bad(const std::string& what) {
  return fail(errc::invalid_argument, what);
}

// Strict reader of one JSON object of arguments.
class args {
 public:
  explicit args(const json& j) : j_(j) {}
  status only(std::initializer_list<const char*> allowed) const {
    for (const auto& [key, v] : j_.items()) {
      bool known = false;
      for (const char* a : allowed) known = known || key == a;
      if (!known) return bad("unknown argument '" + key.substr(0, 64) + "'");
    }
    return {};
  }
  expected<std::string> text(const char* key, bool required) const {
    auto it = j_.find(key);
    if (it == j_.end()) {
      if (required) return bad(std::string{"argument '"} + key + "' is required");
      return std::string{};
    }
    if (!it->is_string()) return bad(std::string{"argument '"} + key + "' must be a string");
    return it->get<std::string>();
  }
  expected<uint64_t> number(const char* key) const {
    auto it = j_.find(key);
    if (it == j_.end()) return uint64_t{0};
    if (!it->is_number_unsigned())
      return bad(std::string{"argument '"} + key + "' must be a non-negative integer");
    return it->get<uint64_t>();
  }
  expected<bool> flag(const char* key) const {
    auto it = j_.find(key);
    if (it == j_.end()) return false;
    if (!it->is_boolean()) return bad(std::string{"argument '"} + key + "' must be true or false");
    return it->get<bool>();
  }
  [[nodiscard]] bool has(const char* key) const { return j_.contains(key); }
  [[nodiscard]] const json& at(const char* key) const { return j_.at(key); }
  [[nodiscard]] const json& raw() const { return j_; }

 private:
  const json& j_;
};

expected<kind> read_kind(const args& a, const char* key = "kind") {
  auto k = a.text(key, true);
  if (!k) return k.err();
  auto parsed = kind_from_letter(*k);
  if (!parsed)
    return bad("kind is l (logical file), c (collection) or v (view), not '" + k->substr(0, 16) +
               "'");
  return *parsed;
}

// {"kind", "name", "version"} at the top of the arguments or inside a nested object.
expected<object_ref> read_ref(const json& j) {
  if (!j.is_object()) return bad("an object reference is {\"kind\", \"name\"[, \"version\"]}");
  args a{j};
  auto k = read_kind(a);
  if (!k) return k.err();
  auto name = a.text("name", true);
  if (!name) return name.err();
  auto version = a.number("version");
  if (!version) return version.err();
  return object_ref{*k, *name, *version};
}

expected<std::vector<attr_assign>> read_attrs(const args& a, bool required) {
  if (!a.has("attrs")) {
    if (required) return bad("argument 'attrs' is required");
    return std::vector<attr_assign>{};
  }
  const auto& list = a.at("attrs");
  if (!list.is_array()) return bad("'attrs' is a list of {\"name\", \"type\", \"value\"}");
  std::vector<attr_assign> out;
  for (const auto& item : list) {
    if (!item.is_object()) return bad("'attrs' is a list of {\"name\", \"type\", \"value\"}");
    args x{item};
    if (auto st = x.only({"name", "type", "value"}); !st) return st.err();
    auto name = x.text("name", true);
    auto type = x.text("type", false);
    auto value = x.text("value", false);
    for (auto* f : {&name, &type, &value})
      if (!*f) return f->err();
    out.push_back({*name, *type, *value});
  }
  return out;
}

json entry_json(const object_entry& e) {
  json j{{"kind", kind_letter(e.k)}, {"name", e.name}};
  if (e.version != 0) j["version"] = e.version;
  return j;
}

json page_json(const std::vector<object_entry>& items, bool more) {
  json list = json::array();
  for (const auto& e : items) list.push_back(entry_json(e));
  return json{{"items", list}, {"more", more}};
}

json ok_json(const object_ref& ref) {
  return json{{"ok", true}, {"object", entry_json({ref.k, ref.name, ref.version})}};
}

expected<json> run_create_many(mcs_state& state, const call_ctx& c, const args& a,
                               storage::batch& rows) {
  if (auto st = a.only({"objects"}); !st) return st.err();
  if (!a.has("objects") || !a.at("objects").is_array())
    return bad("'objects' is a list of {\"kind\", \"name\", \"attrs\"}");
  const auto& objects = a.at("objects");
  if (objects.size() > bulk_objects_max)
    return bad("at most " + std::to_string(bulk_objects_max) + " objects per request");
  std::vector<storage::batch> parts;
  json results = json::array();
  size_t created = 0;
  state.begin_bulk();
  for (const auto& item : objects) {
    auto one = [&]() -> status {
      auto ref = read_ref(item);
      if (!ref) return ref.err();
      args x{item};
      if (auto st = x.only({"kind", "name", "version", "attrs"}); !st) return st;
      auto attrs = read_attrs(x, false);
      if (!attrs) return attrs.err();
      storage::batch part;
      auto st = state.create(c, *ref, *attrs, part);
      if (st) parts.push_back(std::move(part));
      return st;
    }();
    if (one) {
      ++created;
      results.push_back(json{{"ok", true}});
    } else {
      results.push_back(json{{"ok", false},
                             {"error", std::string{name(one.err().code)}},
                             {"message", one.err().message}});
    }
  }
  storage::batch counters;
  state.end_bulk(counters);
  parts.push_back(std::move(counters));
  rows = storage::batch::concat(parts);
  // The objects' index rows come in attribute-value order, which is random: sorted, the
  // committer inserts each next to the previous one instead of searching the memtable for it.
  rows.sort_by_key();
  return json{{"created", created}, {"results", results}};
}

// register_file (from the librarian once an upload or replica is committed): the file's
// default attributes, from the librarian's own record of it.
expected<json> run_register_file(mcs_state& state, const call_ctx& c, const args& a,
                                 storage::batch& rows) {
  if (auto st = a.only({"name", "size", "checksum", "uploader", "source", "create_unix_ms"}); !st)
    return st.err();
  auto name = a.text("name", true);
  auto checksum = a.text("checksum", false);
  auto uploader = a.text("uploader", false);
  auto source = a.text("source", false);
  for (auto* f : {&name, &checksum, &uploader, &source})
    if (!*f) return f->err();
  auto size = a.number("size");
  if (!size) return size.err();
  auto created_ms = a.number("create_unix_ms");
  if (!created_ms) return created_ms.err();
  if (*size > static_cast<uint64_t>(INT64_MAX) || *created_ms > uint64_t{253402300799999})
    return bad("size or create_unix_ms out of range");
  std::vector<attr_assign> defaults{{"size", "int", std::to_string(*size)}};
  if (!checksum->empty()) defaults.push_back({"checksum", "string", *checksum});
  if (!uploader->empty()) defaults.push_back({"uploader", "string", *uploader});
  if (!source->empty()) defaults.push_back({"source", "string", *source});
  typed_value created{attr_type::datetime_v, {}, static_cast<int64_t>(*created_ms) * 1000, 0};
  defaults.push_back({"create_time", "datetime", format_value(created)});
  if (auto st = state.register_file(c, *name, defaults, rows); !st) return st.err();
  return ok_json({kind::file, *name, 0});
}

expected<json> run_write(mcs_state& state, const call_ctx& c, const std::string& verb,
                         const args& a, storage::batch& rows) {
  if (verb == "create_many") return run_create_many(state, c, a, rows);
  if (verb == "register_file") return run_register_file(state, c, a, rows);
  if (verb == "group_add" || verb == "group_remove") {
    if (auto st = a.only({"user", "group"}); !st) return st.err();
    auto user = a.text("user", true);
    auto group = a.text("group", true);
    for (auto* f : {&user, &group})
      if (!*f) return f->err();
    if (auto st = state.set_membership(c, *user, *group, verb == "group_add", rows); !st)
      return st.err();
    return json{{"ok", true}, {"user", *user}, {"group", *group}};
  }
  if (verb == "add_coll" || verb == "add_view") {
    const char* parent_key = verb == "add_coll" ? "parent" : "view";
    if (auto st = a.only({parent_key, "child"}); !st) return st.err();
    auto parent = a.text(parent_key, true);
    if (!parent) return parent.err();
    if (!a.has("child")) return bad("argument 'child' is required");
    auto child = read_ref(a.at("child"));
    if (!child) return child.err();
    auto st = verb == "add_coll" ? state.add_to_collection(c, *parent, *child, rows)
                                 : state.add_to_view(c, *parent, *child, rows);
    if (!st) return st.err();
    return ok_json(*child);
  }
  if (verb == "grant" || verb == "revoke") {
    if (auto st = a.only({"target", "principal", "rights"}); !st) return st.err();
    std::optional<object_ref> target;
    if (!a.has("target")) return bad("argument 'target' is required (an object or \"service\")");
    if (!(a.at("target").is_string() && a.at("target").get<std::string>() == "service")) {
      auto ref = read_ref(a.at("target"));
      if (!ref) return ref.err();
      target = *ref;
    }
    auto who = a.text("principal", true);
    if (!who) return who.err();
    auto rights_word = a.text("rights", true);
    if (!rights_word) return rights_word.err();
    auto rights = rights_from_text(*rights_word);
    if (!rights) return bad("rights are read, write, create, all or a comma-separated list");
    auto st = verb == "grant" ? state.grant(c, target, *who, *rights, rows)
                              : state.revoke(c, target, *who, *rights, rows);
    if (!st) return st.err();
    return json{{"ok", true}, {"principal", *who}, {"rights", rights_text(*rights)}};
  }
  auto ref = read_ref(a.raw());
  if (!ref) return ref.err();
  status st;
  if (verb == "create" || verb == "add_att" || verb == "modify_att" || verb == "delete_att") {
    if (auto ok = a.only({"kind", "name", "version", "attrs"}); !ok) return ok.err();
    auto attrs = read_attrs(a, verb != "create");
    if (!attrs) return attrs.err();
    if (verb == "create")
      st = state.create(c, *ref, *attrs, rows);
    else if (verb == "add_att")
      st = state.add_attrs(c, *ref, *attrs, rows);
    else if (verb == "modify_att")
      st = state.modify_attrs(c, *ref, *attrs, rows);
    else
      st = state.delete_attrs(c, *ref, *attrs, rows);
  } else if (verb == "delete") {
    if (auto ok = a.only({"kind", "name", "version", "recursive"}); !ok) return ok.err();
    auto recursive = a.flag("recursive");
    if (!recursive) return recursive.err();
    st = state.remove(c, *ref, *recursive, rows);
  } else if (verb == "annotate") {
    if (auto ok = a.only({"kind", "name", "version", "text"}); !ok) return ok.err();
    auto text = a.text("text", true);
    if (!text) return text.err();
    st = state.annotate(c, *ref, *text, rows);
  } else if (verb == "provenance") {
    if (auto ok = a.only({"kind", "name", "version", "text", "sources"}); !ok) return ok.err();
    auto text = a.text("text", false);
    if (!text) return text.err();
    std::vector<object_ref> sources;
    if (a.has("sources")) {
      if (!a.at("sources").is_array()) return bad("'sources' is a list of object references");
      for (const auto& j : a.at("sources")) {
        auto src = read_ref(j);
        if (!src) return src.err();
        sources.push_back(*src);
      }
    }
    st = state.set_provenance(c, *ref, *text, sources, rows);
  } else if (verb == "store_doc") {
    if (auto ok = a.only({"kind", "name", "version", "format", "content", "shred"}); !ok)
      return ok.err();
    auto format = a.text("format", true);
    auto content = a.text("content", true);
    for (auto* f : {&format, &content})
      if (!*f) return f->err();
    auto shred = a.flag("shred");
    if (!shred) return shred.err();
    st = state.store_doc(c, *ref, {*format, *content}, *shred, rows);
  } else {
    return bad("unknown verb");
  }
  if (!st) return st.err();
  return ok_json(*ref);
}

// A JSON string literal. Most names are plain printable ASCII and are copied as they are; the
// rest go through nlohmann (escapes, and invalid UTF-8 replaced as every other reply does).
void append_json_string(std::string& out, const std::string& s) {
  bool plain = true;
  for (char ch : s) {
    auto b = static_cast<unsigned char>(ch);
    if (b < 0x20 || b > 0x7e || ch == '"' || ch == '\\') {
      plain = false;
      break;
    }
  }
  if (!plain) {
    out += json(s).dump(-1, ' ', false, json::error_handler_t::replace);
    return;
  }
  out.push_back('"');
  out += s;
  out.push_back('"');
}

// The query's reply, written directly: a page of up to 100,000 names is the one large reply on
// a hot path, and a JSON DOM of it cost more than the query. Same text as json::dump would give
// (keys in order: count, items, more, plan, truncated).
std::string query_reply_text(const query_result& r) {
  std::string out;
  out.reserve(64 + r.items.size() * 48 + r.plan.size());
  out += "{\"count\":" + std::to_string(r.count) + ",\"items\":[";
  for (size_t i = 0; i < r.items.size(); ++i) {
    const auto& e = r.items[i];
    if (i > 0) out.push_back(',');
    out += "{\"kind\":\"";
    out += kind_letter(e.k);
    out += "\",\"name\":";
    append_json_string(out, e.name);
    if (e.version != 0) out += ",\"version\":" + std::to_string(e.version);
    out.push_back('}');
  }
  out += std::string{"],\"more\":"} + (r.more ? "true" : "false") + ",\"plan\":";
  append_json_string(out, r.plan);
  out += std::string{",\"truncated\":"} + (r.truncated ? "true" : "false") + "}";
  return out;
}

expected<std::string> run_query(const mcs_state& state, const call_ctx& c, const args& a) {
  if (auto ok = a.only({"kind", "conditions", "offset", "limit", "count"}); !ok) return ok.err();
  auto k = read_kind(a);
  if (!k) return k.err();
  query_request q{*k, {}, 0, 0, false};
  auto offset = a.number("offset");
  auto limit = a.number("limit");
  auto count = a.flag("count");
  if (!offset) return offset.err();
  if (!limit) return limit.err();
  if (!count) return count.err();
  q.offset = *offset;
  q.limit = *limit;
  q.count_only = *count;
  if (a.has("conditions")) {
    if (!a.at("conditions").is_array())
      return bad("'conditions' is a list of {\"attr\", \"op\", \"value\"[, \"value2\", \"type\"]}");
    for (const auto& j : a.at("conditions")) {
      if (!j.is_object()) return bad("a condition is {\"attr\", \"op\", \"value\"}");
      args x{j};
      if (auto ok = x.only({"attr", "op", "value", "value2", "type"}); !ok) return ok.err();
      auto attr = x.text("attr", true);
      auto op = x.text("op", true);
      auto value = x.text("value", true);
      auto value2 = x.text("value2", false);
      auto type = x.text("type", false);
      for (auto* f : {&attr, &op, &value, &value2, &type})
        if (!*f) return f->err();
      if (*op == "between" && !x.has("value2")) return bad("between needs 'value2'");
      q.conditions.push_back({*attr, *op, *value, *value2, *type});
    }
  }
  auto r = state.query(c, q);
  if (!r) return r.err();
  return query_reply_text(*r);
}

expected<json> run_read(const mcs_state& state, const call_ctx& c, const std::string& verb,
                        const args& a) {
  if (verb == "list") {
    if (auto ok = a.only({"kind", "after", "limit"}); !ok) return ok.err();
    auto k = read_kind(a);
    auto after = a.text("after", false);
    auto limit = a.number("limit");
    if (!k) return k.err();
    if (!after) return after.err();
    if (!limit) return limit.err();
    auto page = state.list(c, *k, *after, *limit);
    if (!page) return page.err();
    return page_json(page->items, page->more);
  }
  if (verb == "list_coll" || verb == "list_view") {
    if (auto ok = a.only({"name", "offset", "limit"}); !ok) return ok.err();
    auto name = a.text("name", true);
    auto offset = a.number("offset");
    auto limit = a.number("limit");
    if (!name) return name.err();
    if (!offset) return offset.err();
    if (!limit) return limit.err();
    object_ref ref{verb == "list_coll" ? kind::collection : kind::view, *name, 0};
    auto page = state.members(c, ref, *offset, *limit);
    if (!page) return page.err();
    return page_json(page->items, page->more);
  }
  if (verb == "attributes") {
    if (auto ok = a.only({"limit"}); !ok) return ok.err();
    auto limit = a.number("limit");
    if (!limit) return limit.err();
    auto defs = state.attribute_defs(*limit);
    if (!defs) return defs.err();
    json list = json::array();
    for (const auto& d : *defs)
      list.push_back({{"name", d.name}, {"type", d.type}, {"predefined", d.predefined}});
    return json{{"attributes", list}};
  }
  if (verb == "groups") {
    if (auto ok = a.only({"user"}); !ok) return ok.err();
    auto user = a.text("user", false);
    if (!user) return user.err();
    auto who = user->empty() ? c.who.user : *user;
    auto groups = state.groups_of(c, who);
    if (!groups) return groups.err();
    return json{{"user", who}, {"groups", *groups}};
  }
  if (verb == "acl") {
    if (auto ok = a.only({"target"}); !ok) return ok.err();
    std::optional<object_ref> target;
    if (!a.has("target")) return bad("argument 'target' is required (an object or \"service\")");
    if (!(a.at("target").is_string() && a.at("target").get<std::string>() == "service")) {
      auto ref = read_ref(a.at("target"));
      if (!ref) return ref.err();
      target = *ref;
    }
    auto entries = state.acl(c, target);
    if (!entries) return entries.err();
    json list = json::array();
    for (const auto& e : *entries)
      list.push_back({{"principal", e.principal}, {"rights", e.rights}});
    return json{{"grants", list}};
  }
  // The rest address one object at the top level.
  auto ref = read_ref(a.raw());
  if (!ref) return ref.err();
  if (verb == "annotations" || verb == "audit") {
    if (auto ok = a.only({"kind", "name", "version", "limit"}); !ok) return ok.err();
  } else if (auto ok = a.only({"kind", "name", "version"}); !ok) {
    return ok.err();
  }
  if (verb == "listattributes") {
    auto attrs = state.list_attrs(c, *ref);
    if (!attrs) return attrs.err();
    json list = json::array();
    for (const auto& e : *attrs)
      list.push_back(
          {{"name", e.name}, {"type", e.type}, {"value", e.value}, {"predefined", e.predefined}});
    return json{{"object", entry_json({ref->k, ref->name, ref->version})}, {"attributes", list}};
  }
  if (verb == "annotations") {
    auto limit = a.number("limit");
    if (!limit) return limit.err();
    auto notes = state.annotations(c, *ref, *limit);
    if (!notes) return notes.err();
    json list = json::array();
    for (const auto& n : *notes)
      list.push_back({{"who", n.who}, {"when_us", n.when_us}, {"text", n.text}});
    return json{{"annotations", list}};
  }
  if (verb == "get_provenance") {
    auto p = state.provenance(c, *ref);
    if (!p) return p.err();
    json sources = json::array();
    for (const auto& e : p->derived_from) sources.push_back(entry_json(e));
    return json{
        {"text", p->text}, {"who", p->who}, {"when_us", p->when_us}, {"derived_from", sources}};
  }
  if (verb == "get_doc") {
    auto d = state.get_doc(c, *ref);
    if (!d) return d.err();
    return json{{"format", d->format}, {"content", d->content}};
  }
  if (verb == "audit") {
    auto limit = a.number("limit");
    if (!limit) return limit.err();
    auto log = state.audit(c, *ref, *limit);
    if (!log) return log.err();
    json list = json::array();
    for (const auto& e : *log)
      list.push_back({{"seq", e.seq},
                      {"when_us", e.when_us},
                      {"who", e.who},
                      {"action", e.action},
                      {"object", e.object},
                      {"detail", e.detail}});
    return json{{"audit", list}};
  }
  return bad("unknown verb");
}

}  // namespace

bool is_write_verb(std::string_view verb) {
  for (auto v : write_verbs)
    if (v == verb) return true;
  return is_internal_verb(verb);
}

bool is_internal_verb(std::string_view verb) {
  for (auto v : internal_verbs)
    if (v == verb) return true;
  return false;
}

bool is_known_verb(std::string_view verb) {
  if (is_internal_verb(verb)) return false;
  return is_write_verb(verb) || is_read_verb(verb);
}

namespace {

expected<json> parse_args(const std::string& verb, const std::string& args_json) {
  auto parsed = json::parse(args_json.empty() ? std::string{"{}"} : args_json, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object())
    return bad("the arguments of '" + verb + "' must be a JSON object");
  return parsed;
}

// Invalid UTF-8 in stored strings is replaced rather than failing the reply.
std::string reply_text(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

bool is_read_verb(std::string_view verb) {
  for (auto v : read_verbs)
    if (v == verb) return true;
  return false;
}

expected<std::string> dispatch(mcs_state& state, const call_ctx& c, const std::string& verb,
                               const std::string& args_json, storage::batch& rows) {
  if (!is_write_verb(verb)) return dispatch_read(state, c, verb, args_json);
  auto parsed = parse_args(verb, args_json);
  if (!parsed) return parsed.err();
  // group:NAME grants reach the catalog's own members of NAME, whichever path the call took.
  auto who = state.with_groups(c.who);
  if (!who) return who.err();
  call_ctx full{std::move(*who), c.now_us};
  auto out = run_write(state, full, verb, args{*parsed}, rows);
  if (!out) return out.err();
  return reply_text(*out);
}

expected<std::string> dispatch_read(const mcs_state& state, const call_ctx& c,
                                    const std::string& verb, const std::string& args_json) {
  if (!is_read_verb(verb)) return bad("unknown MCS verb '" + verb.substr(0, 32) + "'");
  auto parsed = parse_args(verb, args_json);
  if (!parsed) return parsed.err();
  auto who = state.with_groups(c.who);
  if (!who) return who.err();
  call_ctx full{std::move(*who), c.now_us};
  args a{*parsed};
  if (verb == "query") return run_query(state, full, a);
  auto out = run_read(state, full, verb, a);
  if (!out) return out.err();
  return reply_text(*out);
}

}  // namespace librarian::mcs
