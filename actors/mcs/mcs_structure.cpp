// The MCS's structure and notes: deleting objects, collections and views, annotations,
// provenance and stored documents (see mcs_state.hpp).
#include <algorithm>
#include <deque>
#include <set>

#include <nlohmann/json.hpp>

#include "actors/mcs/mcs_state.hpp"
#include "actors/mcs/rows.hpp"

namespace librarian::mcs {
namespace {

constexpr size_t shred_depth_max = 4;

// A cheap well-formedness check for stored XML: one root, tags balanced and properly nested.
// It is not a validating parser; it rejects what would be unreadable to one.
status check_xml(std::string_view text) {
  std::vector<std::string_view> open;
  size_t pos = 0, roots = 0;
  while (pos < text.size()) {
    auto lt = text.find('<', pos);
    if (lt == std::string_view::npos) break;
    auto gt = text.find('>', lt);
    if (gt == std::string_view::npos) return fail(errc::invalid_argument, "XML: unclosed '<'");
    auto tag = text.substr(lt + 1, gt - lt - 1);
    pos = gt + 1;
    if (tag.starts_with("?") || tag.starts_with("!")) {
      if (tag.starts_with("!--")) {
        auto end = text.find("-->", lt + 4);
        if (end == std::string_view::npos) return fail(errc::invalid_argument, "XML: open comment");
        pos = end + 3;
      }
      continue;
    }
    if (tag.empty()) return fail(errc::invalid_argument, "XML: empty tag");
    bool closing = tag.front() == '/';
    bool self_closing = tag.back() == '/';
    auto name = tag.substr(closing ? 1 : 0);
    name = name.substr(0, name.find_first_of(" \t\r\n/"));
    if (name.empty()) return fail(errc::invalid_argument, "XML: a tag without a name");
    if (closing) {
      if (open.empty() || open.back() != name)
        return fail(errc::invalid_argument,
                    "XML: </" + std::string{name} + "> closes nothing open");
      open.pop_back();
      continue;
    }
    if (open.empty()) ++roots;
    if (!self_closing) open.push_back(name);
    if (open.size() > 256) return fail(errc::invalid_argument, "XML: nested too deeply");
  }
  if (!open.empty())
    return fail(errc::invalid_argument, "XML: <" + std::string{open.back()} + "> is never closed");
  if (roots != 1)
    return fail(errc::invalid_argument, "XML: a document has exactly one root element");
  return {};
}

// Flattens a JSON object into attribute assignments: nested objects join names with '.';
// strings stay strings, integers are int, other numbers float, booleans int 0/1.
status shred_json(const nlohmann::json& j, const std::string& prefix, size_t depth,
                  std::vector<attr_assign>& out) {
  if (depth > shred_depth_max)
    return fail(errc::invalid_argument, "document: objects nested deeper than " +
                                            std::to_string(shred_depth_max) + " levels");
  for (const auto& [key, v] : j.items()) {
    auto name = prefix.empty() ? key : prefix + "." + key;
    if (v.is_object()) {
      if (auto st = shred_json(v, name, depth + 1, out); !st) return st;
    } else if (v.is_string()) {
      out.push_back({name, "", v.get<std::string>()});
    } else if (v.is_boolean()) {
      out.push_back({name, "int", v.get<bool>() ? "1" : "0"});
    } else if (v.is_number_integer()) {
      out.push_back({name, "int", v.dump()});
    } else if (v.is_number()) {
      out.push_back({name, "float", v.dump()});
    } else {
      return fail(errc::invalid_argument,
                  "document member '" + name +
                      "' is an array or null; shredding takes scalars and objects");
    }
  }
  return {};
}

}  // namespace

status mcs_state::delete_prefix(storage::table t, const std::string& prefix, size_t rows_max) {
  auto cur = store_.scan_prefix(t, prefix);
  for (size_t n = 0;; ++n) {
    auto row = cur.next();
    if (!row) return row.err();
    if (!row->has_value()) return {};
    if (n == rows_max)
      return fail(errc::invalid_argument, "too many rows to delete in one request");
    store_.del(t, (*row)->key);
  }
}

expected<bool> mcs_state::has_members(uint64_t id) const {
  auto cur = store_.scan_prefix(members_, keys::tagged('d', id));
  auto row = cur.next();
  if (!row) return row.err();
  return row->has_value();
}

status mcs_state::delete_one(const call_ctx& c, uint64_t id, const object_row& row) {
  // Attribute values with their index rows.
  auto values = store_.scan_prefix(values_, keys::u64(id));
  for (size_t i = 0; i <= limits_.attrs_per_object_max + 16; ++i) {
    auto v = values.next();
    if (!v) return v.err();
    if (!v->has_value()) break;
    auto attr_id = keys::trailing_id((*v)->key);
    auto name = attr_name_of(attr_id);
    if (!name) return name.err();
    auto def = find_def(*name);
    if (!def) return def.err();
    if (!def->has_value()) return fail(errc::internal, "corrupt catalog: value of no attribute");
    storage::key_reader reader{(*v)->value};
    auto value = read_value((*def)->value_type(), reader);
    if (!value) return value.err();
    store_.del(index_, keys::index(attr_id, row.object_kind(), *value, id));
    store_.del(values_, (*v)->key);
  }
  // Memberships in both directions. Members of a deleted view stay; a deleted (empty)
  // collection has none left by now.
  for (char dir : {'d', 'u'}) {
    auto cur = store_.scan_prefix(members_, keys::tagged(dir, id));
    for (size_t n = 0;; ++n) {
      auto m = cur.next();
      if (!m) return m.err();
      if (!m->has_value()) break;
      if (n > limits_.members_max)
        return fail(errc::invalid_argument, "too many members to delete");
      auto other = keys::trailing_id((*m)->key);
      store_.del(members_, (*m)->key);
      store_.del(members_, keys::tagged(dir == 'd' ? 'u' : 'd', other, id));
    }
  }
  // Notes: annotations, provenance and its links both ways.
  if (auto st =
          delete_prefix(notes_, keys::tagged('a', id), limits_.annotations_per_object_max + 1);
      !st)
    return st;
  store_.del(notes_, keys::tagged('p', id));
  for (char dir : {'s', 'r'}) {
    auto cur = store_.scan_prefix(notes_, keys::tagged(dir, id));
    for (size_t n = 0;; ++n) {
      auto m = cur.next();
      if (!m) return m.err();
      if (!m->has_value()) break;
      if (n > limits_.members_max) return fail(errc::invalid_argument, "too many links to delete");
      auto other = keys::trailing_id((*m)->key);
      store_.del(notes_, (*m)->key);
      store_.del(notes_, keys::tagged(dir == 's' ? 'r' : 's', other, id));
    }
  }
  store_.del(docs_, keys::u64(id));
  if (auto st = delete_prefix(acl_, keys::u64(id), limits_.acl_entries_max + 1); !st) return st;
  store_.del(names_, keys::name(row.object_kind(), row.name, row.version));
  delete_object(id);
  --counts_.objects;
  audit_row(c, id, "delete", describe(row.ref()), "");
  return {};
}

status mcs_state::remove(const call_ctx& c, const object_ref& ref, bool recursive,
                         storage::batch& rows) {
  return transaction(rows, [&]() -> status {
    auto obj = resolve(c.who, ref, right_write);
    if (!obj) return obj.err();
    std::vector<std::pair<uint64_t, object_row>> doomed{*obj};
    if (ref.k == kind::collection) {
      auto nonempty = has_members(obj->first);
      if (!nonempty) return nonempty.err();
      if (*nonempty && !recursive)
        return fail(errc::conflict,
                    describe(ref) + " is not empty: delete its members first or pass --recursive");
      // Breadth-first over the subtree; every member of a collection has it as its only container.
      for (size_t next = 0; next < doomed.size(); ++next) {
        if (doomed[next].second.object_kind() != kind::collection) continue;
        auto cur = store_.scan_prefix(members_, keys::tagged('d', doomed[next].first));
        for (;;) {
          auto m = cur.next();
          if (!m) return m.err();
          if (!m->has_value()) break;
          if (doomed.size() >= limits_.delete_objects_max)
            return fail(errc::invalid_argument, describe(ref) + " holds more than " +
                                                    std::to_string(limits_.delete_objects_max) +
                                                    " objects: delete its sub-collections first");
          auto child = keys::trailing_id((*m)->key);
          auto row = read_object(child);
          if (!row) return row.err();
          if (!row->has_value()) return fail(errc::internal, "corrupt catalog: a dangling member");
          doomed.emplace_back(child, std::move(**row));
        }
      }
    }
    // Deepest first, so every collection is empty when its turn comes.
    for (auto it = doomed.rbegin(); it != doomed.rend(); ++it)
      if (auto st = delete_one(c, it->first, it->second); !st) return st;
    if (obj->second.container != 0) {
      auto parent = read_object(obj->second.container);
      if (!parent) return parent.err();
      if (parent->has_value()) touch(c, obj->second.container, **parent);
    }
    return {};
  });
}

status mcs_state::add_to_collection(const call_ctx& c, const std::string& parent_name,
                                    const object_ref& child, storage::batch& rows) {
  if (child.k == kind::view)
    return fail(errc::invalid_argument,
                "a collection holds logical files and collections; "
                "put views in views (add_view)");
  return transaction(rows, [&]() -> status {
    auto parent = resolve(c.who, {kind::collection, parent_name, 0}, right_write | right_create);
    if (!parent) return parent.err();
    auto member = resolve(c.who, child, right_write);
    if (!member) return member.err();
    auto& [child_id, child_row] = *member;
    if (child_row.container == parent->first)
      return fail(errc::already_exists,
                  describe(child) + " is already in " + describe(parent->second.ref()));
    if (child_row.container != 0)
      return fail(errc::conflict, describe(child) +
                                      " is already in another collection; "
                                      "a file or collection belongs to at most one");
    // The new parent's chain of ancestors must not contain the child (no collection in itself).
    uint64_t up = parent->first;
    for (size_t depth = 0;; ++depth) {
      if (up == child_id)
        return fail(errc::invalid_argument, "putting " + describe(child) + " into " +
                                                describe(parent->second.ref()) + " makes a cycle");
      if (up == 0) break;
      if (depth >= limits_.depth_max)
        return fail(errc::invalid_argument,
                    "collections nest at most " + std::to_string(limits_.depth_max) + " deep");
      auto row = read_object(up);
      if (!row) return row.err();
      if (!row->has_value()) break;
      up = (*row)->container;
    }
    store_.put(members_, keys::tagged('d', parent->first, child_id),
               std::string(1, static_cast<char>(child.k)));
    store_.put(members_, keys::tagged('u', child_id, parent->first), "");
    child_row.container = parent->first;
    write_object(child_id, child_row);
    auto def = find_def("container");
    if (!def || !def->has_value())
      return fail(errc::internal, "the container attribute is missing");
    write_attr(child_id, child.k, **def, std::nullopt,
               typed_value{attr_type::string_v, parent_name, 0, 0});
    touch(c, parent->first, parent->second);
    audit_row(c, parent->first, "add_coll", describe(parent->second.ref()), describe(child));
    return {};
  });
}

expected<bool> mcs_state::view_reaches(uint64_t from, uint64_t target) const {
  // Depth-first over view members that are views; visited bounded by view_walk_max.
  std::vector<uint64_t> stack{from};
  std::set<uint64_t> visited;
  while (!stack.empty()) {
    auto at = stack.back();
    stack.pop_back();
    if (at == target) return true;
    if (!visited.insert(at).second) continue;
    if (visited.size() > limits_.view_walk_max)
      return fail(errc::invalid_argument, "views nest too widely to check for a cycle");
    auto cur = store_.scan_prefix(members_, keys::tagged('d', at));
    for (size_t n = 0; n <= limits_.members_max; ++n) {
      auto m = cur.next();
      if (!m) return m.err();
      if (!m->has_value()) break;
      if ((*m)->value == std::string(1, static_cast<char>(kind::view)))
        stack.push_back(keys::trailing_id((*m)->key));
    }
  }
  return false;
}

status mcs_state::add_to_view(const call_ctx& c, const std::string& view_name,
                              const object_ref& child, storage::batch& rows) {
  return transaction(rows, [&]() -> status {
    auto view = resolve(c.who, {kind::view, view_name, 0}, right_write | right_create);
    if (!view) return view.err();
    // Views carry no authorization of their own: reading the member is enough to list it.
    auto member = resolve(c.who, child, 0);
    if (!member) return member.err();
    auto key = keys::tagged('d', view->first, member->first);
    auto there = store_.get(members_, key);
    if (!there) return there.err();
    if (there->has_value())
      return fail(errc::already_exists,
                  describe(child) + " is already in " + describe(view->second.ref()));
    if (child.k == kind::view) {
      auto cycle = view_reaches(member->first, view->first);
      if (!cycle) return cycle.err();
      if (*cycle)
        return fail(errc::invalid_argument, "adding " + describe(child) + " to " +
                                                describe(view->second.ref()) +
                                                " makes a cycle of views");
    }
    store_.put(members_, key, std::string(1, static_cast<char>(child.k)));
    store_.put(members_, keys::tagged('u', member->first, view->first), "");
    touch(c, view->first, view->second);
    audit_row(c, view->first, "add_view", describe(view->second.ref()), describe(child));
    return {};
  });
}

expected<object_page> mcs_state::members(const call_ctx& c, const object_ref& parent, size_t offset,
                                         size_t limit) const {
  if (parent.k == kind::file)
    return fail(errc::invalid_argument, "only collections and views have members");
  if (limit == 0) limit = limits_.page_default;
  if (limit > limits_.page_max || offset > limits_.offset_max)
    return fail(errc::invalid_argument, "limit at most " + std::to_string(limits_.page_max) +
                                            ", offset at most " +
                                            std::to_string(limits_.offset_max));
  auto obj = resolve(c.who, parent, 0);
  if (!obj) return obj.err();
  object_page page;
  size_t skipped = 0;
  auto cur = store_.scan_prefix(members_, keys::tagged('d', obj->first));
  for (size_t n = 0; n < limits_.scan_rows_max; ++n) {
    auto m = cur.next();
    if (!m) return m.err();
    if (!m->has_value()) return page;
    auto id = keys::trailing_id((*m)->key);
    auto row = read_object(id);
    if (!row) return row.err();
    if (!row->has_value()) continue;
    auto rights = rights_on(c.who, id, **row);
    if (!rights) return rights.err();
    if ((*rights & right_read) == 0) continue;
    if (skipped++ < offset) continue;
    if (page.items.size() == limit) {
      page.more = true;
      return page;
    }
    page.items.push_back({(*row)->object_kind(), (*row)->name, (*row)->version});
  }
  page.more = true;
  return page;
}

// --- annotations and provenance ------------------------------------------------------------------

status mcs_state::annotate(const call_ctx& c, const object_ref& ref, const std::string& text,
                           storage::batch& rows) {
  if (text.empty() || text.size() > limits_.text_bytes_max)
    return fail(errc::invalid_argument,
                "an annotation has 1 to " + std::to_string(limits_.text_bytes_max) + " bytes");
  return transaction(rows, [&]() -> status {
    auto obj = resolve(c.who, ref, right_write);
    if (!obj) return obj.err();
    auto cur = store_.scan_prefix(notes_, keys::tagged('a', obj->first));
    for (size_t n = 0;; ++n) {
      auto row = cur.next();
      if (!row) return row.err();
      if (!row->has_value()) break;
      if (n + 1 >= limits_.annotations_per_object_max)
        return fail(errc::invalid_argument, describe(ref) + " has the most annotations allowed");
    }
    auto seq = counts_.next_seq++;
    store_.put(notes_, keys::tagged('a', obj->first, seq),
               storage::encode(note_row{c.who.user, c.now_us, text}));
    audit_row(c, obj->first, "annotate", describe(ref), "");
    return {};
  });
}

expected<std::vector<annotation>> mcs_state::annotations(const call_ctx& c, const object_ref& ref,
                                                         size_t limit) const {
  auto obj = resolve(c.who, ref, 0);
  if (!obj) return obj.err();
  if (limit == 0 || limit > limits_.annotations_per_object_max)
    limit = limits_.annotations_per_object_max;
  std::vector<annotation> out;
  auto cur = store_.scan_prefix(notes_, keys::tagged('a', obj->first));
  while (out.size() < limit) {
    auto row = cur.next();
    if (!row) return row.err();
    if (!row->has_value()) break;
    auto note = storage::decode<note_row>((*row)->value);
    if (!note) return note.err();
    out.push_back({note->who, note->when_us, note->text});
  }
  return out;
}

status mcs_state::set_provenance(const call_ctx& c, const object_ref& ref, const std::string& text,
                                 const std::vector<object_ref>& sources, storage::batch& rows) {
  if (text.size() > limits_.text_bytes_max)
    return fail(errc::invalid_argument, "a provenance text has at most " +
                                            std::to_string(limits_.text_bytes_max) + " bytes");
  if (sources.size() > limits_.provenance_sources_max)
    return fail(errc::invalid_argument,
                "at most " + std::to_string(limits_.provenance_sources_max) + " sources");
  return transaction(rows, [&]() -> status {
    auto obj = resolve(c.who, ref, right_write);
    if (!obj) return obj.err();
    std::set<uint64_t> ids;
    for (const auto& s : sources) {
      auto src = resolve(c.who, s, 0);
      if (!src) return src.err();
      if (src->first == obj->first)
        return fail(errc::invalid_argument, describe(ref) + " cannot be derived from itself");
      ids.insert(src->first);
    }
    // The new links replace the old ones.
    auto cur = store_.scan_prefix(notes_, keys::tagged('s', obj->first));
    for (size_t n = 0; n <= limits_.provenance_sources_max; ++n) {
      auto m = cur.next();
      if (!m) return m.err();
      if (!m->has_value()) break;
      store_.del(notes_, (*m)->key);
      store_.del(notes_, keys::tagged('r', keys::trailing_id((*m)->key), obj->first));
    }
    for (auto src : ids) {
      store_.put(notes_, keys::tagged('s', obj->first, src), "");
      store_.put(notes_, keys::tagged('r', src, obj->first), "");
    }
    store_.put(notes_, keys::tagged('p', obj->first),
               storage::encode(note_row{c.who.user, c.now_us, text}));
    touch(c, obj->first, obj->second);
    audit_row(c, obj->first, "provenance", describe(ref), std::to_string(ids.size()) + " sources");
    return {};
  });
}

expected<provenance_info> mcs_state::provenance(const call_ctx& c, const object_ref& ref) const {
  auto obj = resolve(c.who, ref, 0);
  if (!obj) return obj.err();
  provenance_info out;
  auto raw = store_.get(notes_, keys::tagged('p', obj->first));
  if (!raw) return raw.err();
  if (raw->has_value()) {
    auto note = storage::decode<note_row>(**raw);
    if (!note) return note.err();
    out.text = note->text;
    out.who = note->who;
    out.when_us = note->when_us;
  }
  auto cur = store_.scan_prefix(notes_, keys::tagged('s', obj->first));
  for (size_t n = 0; n <= limits_.provenance_sources_max; ++n) {
    auto m = cur.next();
    if (!m) return m.err();
    if (!m->has_value()) break;
    auto id = keys::trailing_id((*m)->key);
    auto row = read_object(id);
    if (!row) return row.err();
    if (!row->has_value()) continue;
    auto rights = rights_on(c.who, id, **row);
    if (!rights) return rights.err();
    // A source the caller may not read is left out rather than named.
    if (*rights & right_read)
      out.derived_from.push_back({(*row)->object_kind(), (*row)->name, (*row)->version});
  }
  return out;
}

// --- documents -----------------------------------------------------------------------------------

status mcs_state::store_doc(const call_ctx& c, const object_ref& ref, const document& doc,
                            bool shred, storage::batch& rows) {
  if (doc.content.empty() || doc.content.size() > limits_.document_bytes_max)
    return fail(errc::invalid_argument,
                "a document has 1 to " + std::to_string(limits_.document_bytes_max) + " bytes");
  std::vector<attr_assign> shredded;
  if (doc.format == "json") {
    auto parsed = nlohmann::json::parse(doc.content, nullptr, false);
    if (parsed.is_discarded())
      return fail(errc::invalid_argument, "the document is not valid JSON");
    if (shred) {
      if (!parsed.is_object())
        return fail(errc::invalid_argument, "only a JSON object can be shredded into attributes");
      if (auto st = shred_json(parsed, "", 0, shredded); !st) return st;
    }
  } else if (doc.format == "xml") {
    if (auto st = check_xml(doc.content); !st) return st;
    if (shred)
      return fail(errc::invalid_argument,
                  "shredding takes JSON documents; store XML without --shred");
  } else {
    return fail(errc::invalid_argument, "a document's format is json or xml");
  }
  return transaction(rows, [&]() -> status {
    auto obj = resolve(c.who, ref, right_write);
    if (!obj) return obj.err();
    store_.put(docs_, keys::u64(obj->first), storage::encode(doc_row{doc.format, doc.content}));
    if (!shredded.empty()) {
      // Strings go to a known attribute as its own type (a date stays a date); a new one is string.
      for (auto& a : shredded) {
        auto d = find_def(a.name);
        if (!d) return d.err();
        if (d->has_value())
          a.type = attr_type_name((*d)->value_type());
        else if (a.type.empty())
          a.type = "string";
      }
      if (auto st = set_attrs(c, obj->first, obj->second, shredded, 3, true); !st) return st;
    } else {
      touch(c, obj->first, obj->second);
    }
    audit_row(c, obj->first, "store_doc", describe(ref), doc.format + (shred ? " shredded" : ""));
    return {};
  });
}

expected<document> mcs_state::get_doc(const call_ctx& c, const object_ref& ref) const {
  auto obj = resolve(c.who, ref, 0);
  if (!obj) return obj.err();
  auto raw = store_.get(docs_, keys::u64(obj->first));
  if (!raw) return raw.err();
  if (!raw->has_value()) return fail(errc::not_found, describe(ref) + " has no stored document");
  auto d = storage::decode<doc_row>(**raw);
  if (!d) return d.err();
  return document{d->format, d->content};
}

}  // namespace librarian::mcs
