// The MCS query engine: a conjunction of conditions is planned by estimated selectivity -- each
// condition an index can serve is counted over its index range up to estimate_rows_max rows, the
// smallest drives the scan, and the other conditions filter the candidates it yields.
#include <algorithm>

#include "actors/mcs/mcs_state.hpp"
#include "actors/mcs/rows.hpp"

namespace librarian::mcs {

enum class op_code : uint8_t { eq, ne, lt, le, gt, ge, between, like };

struct mcs_state::plan_step {
  attr_def def;
  op_code op = op_code::eq;
  typed_value value;
  typed_value value2;
  std::string pattern;  // like
  bool indexed = false;
  bool exact = false;  // the index range holds exactly the matches (no re-check needed)
  std::string begin, end;
  size_t estimate = 0;
};

namespace {

std::optional<op_code> op_from_text(std::string_view op) {
  if (op == "=" || op == "==" || op == "eq") return op_code::eq;
  if (op == "!=" || op == "<>" || op == "ne") return op_code::ne;
  if (op == "<" || op == "lt") return op_code::lt;
  if (op == "<=" || op == "le") return op_code::le;
  if (op == ">" || op == "gt") return op_code::gt;
  if (op == ">=" || op == "ge") return op_code::ge;
  if (op == "between") return op_code::between;
  if (op == "like") return op_code::like;
  return std::nullopt;
}

const char* op_text(op_code op) {
  static constexpr const char* texts[] = {"=", "!=", "<", "<=", ">", ">=", "between", "like"};
  return texts[static_cast<size_t>(op)];
}

std::string successor(const std::string& key) {
  auto s = storage::prefix_successor(key);
  // Index keys start with an attribute id below 2^63 and a kind letter, never all 0xFF.
  LIB_ASSERT(s.has_value());
  return *s;
}

bool evaluate(op_code op, const typed_value& have, const mcs_state::plan_step& s) {
  int c = compare_values(have, s.value);
  switch (op) {
    case op_code::eq:
      return c == 0;
    case op_code::ne:
      return c != 0;
    case op_code::lt:
      return c < 0;
    case op_code::le:
      return c <= 0;
    case op_code::gt:
      return c > 0;
    case op_code::ge:
      return c >= 0;
    case op_code::between:
      return c >= 0 && compare_values(have, s.value2) <= 0;
    case op_code::like:
      return like_match(s.pattern, have.text);
  }
  return false;
}

}  // namespace

expected<std::vector<mcs_state::plan_step>> mcs_state::plan_conditions(
    const query_request& q) const {
  std::vector<plan_step> steps;
  for (const auto& cond : q.conditions) {
    auto found = find_def(cond.attr);
    if (!found) return found.err();
    if (!found->has_value()) return fail(errc::not_found, "unknown attribute '" + cond.attr + "'");
    plan_step s;
    s.def = **found;
    auto type = s.def.value_type();
    if (!cond.type.empty()) {
      auto given = attr_type_from_name(cond.type);
      if (!given || *given != type)
        return fail(errc::invalid_argument, "attribute '" + cond.attr + "' is of type " +
                                                attr_type_name(type) + ", not '" +
                                                cond.type.substr(0, 32) + "'");
    }
    auto op = op_from_text(cond.op);
    if (!op)
      return fail(errc::invalid_argument,
                  "unknown operator '" + cond.op.substr(0, 16) + "' (= != < <= > >= between like)");
    s.op = *op;
    auto base = keys::index_base(s.def.id, q.k);
    if (s.op == op_code::like) {
      if (type != attr_type::string_v)
        return fail(errc::invalid_argument,
                    "like compares strings; '" + cond.attr + "' is " + attr_type_name(type));
      if (cond.value.size() > limits_.value_bytes_max || cond.value.find('\0') != std::string::npos)
        return fail(errc::invalid_argument, "a like pattern is at most " +
                                                std::to_string(limits_.value_bytes_max) +
                                                " bytes, without NUL");
      s.pattern = cond.value;
      s.value.type = type;
      // Strings hold no NUL, so an encoded value starts with the raw bytes of its literal prefix.
      auto prefix = like_literal_prefix(cond.value);
      if (!prefix.empty()) {
        s.indexed = true;
        s.begin = base + prefix;
        s.end = successor(s.begin);
      }
      steps.push_back(std::move(s));
      continue;
    }
    auto parsed = parse_value(type, cond.value, limits_.value_bytes_max);
    if (!parsed)
      return fail(parsed.err().code, "condition on '" + cond.attr + "': " + parsed.err().message);
    s.value = std::move(*parsed);
    std::string at = base;
    append_value(at, s.value);
    s.indexed = s.op != op_code::ne;
    s.exact = s.indexed;
    switch (s.op) {
      case op_code::eq:
        s.begin = at;
        s.end = successor(at);
        break;
      case op_code::lt:
        s.begin = base;
        s.end = at;
        break;
      case op_code::le:
        s.begin = base;
        s.end = successor(at);
        break;
      case op_code::gt:
        s.begin = successor(at);
        s.end = successor(base);
        break;
      case op_code::ge:
        s.begin = at;
        s.end = successor(base);
        break;
      case op_code::between: {
        auto hi = parse_value(type, cond.value2, limits_.value_bytes_max);
        if (!hi)
          return fail(hi.err().code, "condition on '" + cond.attr + "': " + hi.err().message);
        if (compare_values(s.value, *hi) > 0)
          return fail(errc::invalid_argument, "between's lower bound is above its upper bound");
        s.value2 = std::move(*hi);
        std::string top = base;
        append_value(top, s.value2);
        s.begin = at;
        s.end = successor(top);
        break;
      }
      default:
        break;
    }
    steps.push_back(std::move(s));
  }
  return steps;
}

expected<size_t> mcs_state::estimate(const plan_step& s) const {
  return store_.count_db_rows(index_, s.begin, s.end, limits_.estimate_rows_max);
}

namespace {

// Candidates read from the driving scan before their conditions are checked together: enough
// for one MultiGet per condition to pay, few enough that a small page reads little extra.
constexpr size_t candidate_batch_max = 512;

}  // namespace

// Keeps the candidates (ids in scan order) that hold every condition but the driver's exact
// one: one batched read per condition over the survivors of the one before.
status mcs_state::filter_candidates(std::vector<uint64_t>& ids, const std::vector<plan_step>& steps,
                                    size_t skip) const {
  std::vector<std::string> keys;
  std::vector<std::optional<std::string>> values;
  // Equality conditions first, by probing their index rows (value then id: the probes of one
  // condition fall in one narrow key range, so a few blocks serve them all); then the others by
  // reading the candidates' values (one row per object, spread over the whole table).
  for (size_t pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < steps.size() && !ids.empty(); ++i) {
      const auto& step = steps[i];
      if (i == skip && step.exact) continue;
      bool probe = step.op == op_code::eq && step.exact;
      if (probe != (pass == 0)) continue;
      keys.clear();
      if (probe) {
        if (auto st = probe_index(ids, step); !st) return st;
        continue;
      }
      if (auto st = filter_by_values(ids, step, keys, values); !st) return st;
    }
  }
  return {};
}

// Keeps the candidates whose index row for the step's value exists, in the scan's order.
status mcs_state::probe_index(std::vector<uint64_t>& ids, const plan_step& step) const {
  std::vector<bool> found;
  if (auto st = store_.probe_ids(index_, step.begin, ids, found); !st) return st;
  size_t kept = 0;
  for (size_t j = 0; j < ids.size(); ++j)
    if (found[j]) ids[kept++] = ids[j];
  ids.resize(kept);
  return {};
}

status mcs_state::filter_by_values(std::vector<uint64_t>& ids, const plan_step& step,
                                   std::vector<std::string>& keys,
                                   std::vector<std::optional<std::string>>& values) const {
  for (auto id : ids) keys.push_back(keys::u64_pair(id, step.def.id));
  if (auto st = store_.multi_get(values_, keys, values); !st) return st;
  size_t kept = 0;
  for (size_t j = 0; j < ids.size(); ++j) {
    // An object without the attribute matches no condition on it (SQL's NULL), not even !=.
    if (!values[j]) continue;
    storage::key_reader reader{*values[j]};
    auto have = read_value(step.def.value_type(), reader);
    if (!have || !reader.done()) return fail(errc::internal, "corrupt record: an attribute value");
    if (evaluate(step.op, *have, step)) ids[kept++] = ids[j];
  }
  ids.resize(kept);
  return {};
}

expected<std::vector<std::pair<uint64_t, mcs_state::object_row>>> mcs_state::read_objects(
    const std::vector<uint64_t>& ids) const {
  std::vector<std::pair<uint64_t, object_row>> out(ids.size());
  // The cache first (rows with no pending write), then one MultiGet for the rest.
  std::vector<size_t> from_db;
  std::vector<std::string> keys;
  if (cache_) {
    uint64_t as_of = store_.snapshot_seq();
    object_cache::object o;
    for (auto id : ids) cache_->prefetch(id);  // the misses overlap (object_cache.hpp)
    for (size_t i = 0; i < ids.size(); ++i) {
      auto key = keys::u64(ids[i]);
      if (!store_.has_pending(objects_, key) && cache_->peek(ids[i], as_of, o)) {
        out[i] = {ids[i], from_cached(std::move(o))};
        continue;
      }
      from_db.push_back(i);
      keys.push_back(std::move(key));
    }
    cache_->count(ids.size() - from_db.size(), from_db.size());
  } else {
    for (size_t i = 0; i < ids.size(); ++i) {
      from_db.push_back(i);
      keys.push_back(keys::u64(ids[i]));
    }
  }
  if (from_db.empty()) return out;
  std::vector<std::optional<std::string>> raw;
  if (auto st = store_.multi_get(objects_, keys, raw); !st) return st.err();
  for (size_t j = 0; j < from_db.size(); ++j) {
    if (!raw[j]) return fail(errc::internal, "corrupt catalog: an index row of no object");
    auto row = storage::decode<object_row>(*raw[j]);
    if (!row) return row.err();
    if (!row->valid_kind())
      return fail(errc::internal, "corrupt record: an MCS object of unknown kind");
    out[from_db[j]] = {ids[from_db[j]], std::move(*row)};
  }
  return out;
}

// Estimates every indexed condition (rows counted up to a cap; past it, RocksDB's size of the
// range breaks ties) and sorts the conditions most selective first, so the first drives the
// scan and a candidate fails the filters on as few reads as possible. Returns whether an index
// drives the scan.
expected<bool> mcs_state::order_steps(std::vector<plan_step>& steps) const {
  size_t indexed = 0;
  for (const auto& s : steps) indexed += s.indexed ? 1 : 0;
  if (indexed == 0) return false;
  std::vector<uint64_t> weight(steps.size(), UINT64_MAX);
  if (indexed > 1) {
    for (size_t i = 0; i < steps.size(); ++i) {
      auto& s = steps[i];
      if (!s.indexed) continue;
      auto n = estimate(s);
      if (!n) return n.err();
      s.estimate = *n;
      weight[i] = *n;
      if (*n >= limits_.estimate_rows_max)
        weight[i] = limits_.estimate_rows_max + store_.approximate_bytes(index_, s.begin, s.end);
    }
  } else {
    for (size_t i = 0; i < steps.size(); ++i)
      if (steps[i].indexed) weight[i] = 0;  // the only choice: nothing to estimate
  }
  std::vector<size_t> order(steps.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return weight[a] < weight[b]; });
  std::vector<plan_step> sorted;
  sorted.reserve(steps.size());
  for (auto i : order) sorted.push_back(std::move(steps[i]));
  steps = std::move(sorted);
  return true;
}

expected<bool> mcs_state::container_hidden(const principal& who, const object_row& row) const {
  if (row.container == 0) return false;
  auto parent = read_object(row.container);
  if (!parent) return parent.err();
  if (!parent->has_value()) return true;
  auto rights = rights_on(who, row.container, **parent);
  if (!rights) return rights.err();
  return (*rights & right_read) == 0;
}

expected<query_result> mcs_state::query(const call_ctx& c, const query_request& q) const {
  if (q.k != kind::file && q.k != kind::collection && q.k != kind::view)
    return fail(errc::invalid_argument, "query l, c or v");
  if (q.conditions.size() > limits_.conditions_max)
    return fail(errc::invalid_argument,
                "at most " + std::to_string(limits_.conditions_max) + " conditions per query");
  if (q.limit > limits_.page_max || q.offset > limits_.offset_max)
    return fail(errc::invalid_argument, "limit at most " + std::to_string(limits_.page_max) +
                                            ", offset at most " +
                                            std::to_string(limits_.offset_max));
  auto steps = plan_conditions(q);
  if (!steps) return steps.err();
  auto by_index = order_steps(*steps);
  if (!by_index) return by_index.err();
  bool scan_all = !*by_index;
  size_t driver = scan_all ? steps->size() : 0;
  if (scan_all && q.limit == 0 && !q.count_only)
    return fail(errc::invalid_argument,
                "no condition can use an index (a != or a like pattern that starts with a "
                "wildcard would scan every object): add an indexed condition or give a limit");
  query_result out;
  size_t limit = q.limit == 0 ? limits_.page_default : q.limit;
  std::string begin, end;
  if (scan_all) {
    out.plan = "scan all " + std::string{kind_noun(q.k)} + "s";
    begin = std::string(1, static_cast<char>(q.k));
    end = successor(begin);
  } else {
    const auto& d = (*steps)[driver];
    out.plan = "index " + d.def.name + " " + op_text(d.op);
    if (steps->size() > 1)
      out.plan += " (estimate " + std::string{d.estimate >= limits_.estimate_rows_max ? ">=" : ""} +
                  std::to_string(d.estimate) + ")";
    begin = d.begin;
    end = d.end;
  }
  // Only the driver's own exact condition needs no check: then every candidate matches, and a
  // batch need not read past the page.
  bool filters = scan_all || steps->size() > 1 || !(*steps)[driver].exact;
  // A condition on `container` names a collection: it must not find the readable members of a
  // collection the caller may not read (that would tell the collection exists).
  bool on_container = std::any_of(steps->begin(), steps->end(),
                                  [](const plan_step& s) { return s.def.id == attr_container; });
  auto cur = store_.scan(scan_all ? names_ : index_, begin, end, candidate_batch_max);
  uint64_t matched = 0;
  size_t examined = 0;
  std::vector<uint64_t> ids;
  for (bool scan_done = false; !scan_done;) {
    size_t wanted = candidate_batch_max;
    if (!filters && !q.count_only) {
      uint64_t still = q.offset + limit + 1 - std::min<uint64_t>(matched, q.offset + limit);
      wanted = static_cast<size_t>(std::clamp<uint64_t>(still, 1, candidate_batch_max));
    }
    ids.clear();
    while (ids.size() < wanted) {
      if (examined >= limits_.scan_rows_max) {
        out.truncated = true;
        scan_done = true;
        break;
      }
      auto row = cur.next();
      if (!row) return row.err();
      if (!row->has_value()) {
        scan_done = true;
        break;
      }
      ++examined;
      ids.push_back(keys::trailing_id(scan_all ? (*row)->value : (*row)->key));
    }
    if (auto st = filter_candidates(ids, *steps, driver); !st) return st.err();
    auto objects = read_objects(ids);
    if (!objects) return objects.err();
    for (auto& [id, obj] : *objects) {
      auto rights = rights_on(c.who, id, obj);
      if (!rights) return rights.err();
      if ((*rights & right_read) == 0)
        continue;  // unreadable objects are not there for this caller
      if (on_container) {
        auto hidden = container_hidden(c.who, obj);
        if (!hidden) return hidden.err();
        if (*hidden) continue;
      }
      ++matched;
      if (q.count_only || matched <= q.offset) continue;
      if (out.items.size() == limit) {
        out.more = true;
        scan_done = true;
        break;
      }
      out.items.push_back({obj.object_kind(), obj.name, obj.version});
    }
  }
  out.count = q.count_only ? matched : out.items.size();
  return out;
}

}  // namespace librarian::mcs
