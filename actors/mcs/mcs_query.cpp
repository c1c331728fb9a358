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
  auto cur = store_.scan(index_, s.begin, s.end);
  size_t n = 0;
  for (; n < limits_.estimate_rows_max; ++n) {
    auto row = cur.next();
    if (!row) return row.err();
    if (!row->has_value()) break;
  }
  return n;
}

expected<bool> mcs_state::matches(uint64_t id, const std::vector<plan_step>& steps,
                                  size_t skip) const {
  for (size_t i = 0; i < steps.size(); ++i) {
    if (i == skip && steps[i].exact) continue;
    auto have = read_attr(id, steps[i].def);
    if (!have) return have.err();
    // An object without the attribute matches no condition on it (SQL's NULL), not even !=.
    if (!have->has_value() || !evaluate(steps[i].op, **have, steps[i])) return false;
  }
  return true;
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
  size_t driver = steps->size();
  size_t best = 0;
  for (size_t i = 0; i < steps->size(); ++i) {
    auto& s = (*steps)[i];
    if (!s.indexed) continue;
    auto n = estimate(s);
    if (!n) return n.err();
    s.estimate = *n;
    if (driver == steps->size() || *n < best) {
      driver = i;
      best = *n;
    }
  }
  bool scan_all = driver == steps->size();
  // The filters run most selective first, so a candidate fails on as few reads as possible;
  // conditions no index could estimate go last.
  std::stable_sort(steps->begin(), steps->end(), [](const plan_step& a, const plan_step& b) {
    auto rank = [](const plan_step& s) { return s.indexed ? s.estimate : SIZE_MAX; };
    return rank(a) < rank(b);
  });
  if (!scan_all) driver = 0;  // the smallest estimate sorts first (the earliest of equals)
  if (scan_all && q.limit == 0 && !q.count_only)
    return fail(errc::invalid_argument,
                "no condition can use an index (a != or a like pattern that starts with a "
                "wildcard would scan every object): add an indexed condition or give a limit");
  query_result out;
  size_t limit = q.limit == 0 ? limits_.page_default : q.limit;
  if (scan_all) {
    out.plan = "scan all " + std::string{kind_noun(q.k)} + "s";
  } else {
    const auto& d = (*steps)[driver];
    out.plan = "index " + d.def.name + " " + op_text(d.op) + " (estimate " +
               (d.estimate >= limits_.estimate_rows_max ? ">=" : "") + std::to_string(d.estimate) +
               ")";
  }
  std::string begin, end;
  if (scan_all) {
    begin = std::string(1, static_cast<char>(q.k));
    end = successor(begin);
  } else {
    begin = (*steps)[driver].begin;
    end = (*steps)[driver].end;
  }
  auto cur = store_.scan(scan_all ? names_ : index_, begin, end, 512);
  uint64_t matched = 0;
  for (size_t examined = 0;; ++examined) {
    if (examined >= limits_.scan_rows_max) {
      out.truncated = true;
      break;
    }
    auto row = cur.next();
    if (!row) return row.err();
    if (!row->has_value()) break;
    uint64_t id = keys::trailing_id(scan_all ? (*row)->value : (*row)->key);
    auto ok = matches(id, *steps, driver);
    if (!ok) return ok.err();
    if (!*ok) continue;
    auto obj = read_object(id);
    if (!obj) return obj.err();
    if (!obj->has_value())
      return fail(errc::internal, "corrupt catalog: an index row of no object");
    auto rights = rights_on(c.who, id, **obj);
    if (!rights) return rights.err();
    if ((*rights & right_read) == 0) continue;  // unreadable objects are not there for this caller
    ++matched;
    if (q.count_only || matched <= q.offset) continue;
    if (out.items.size() == limit) {
      out.more = true;
      break;
    }
    out.items.push_back({(*obj)->object_kind(), (*obj)->name, (*obj)->version});
  }
  out.count = q.count_only ? matched : out.items.size();
  return out;
}

}  // namespace librarian::mcs
