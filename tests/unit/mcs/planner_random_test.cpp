// The query planner against a brute-force scan: a random catalog (part of it changed while
// earlier writes were still pending in the overlay), thousands of random conjunctive queries, the
// same answers both ways.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "actors/mcs/values.hpp"
#include "mcs_fixture.hpp"

using namespace librarian;
using namespace librarian::mcs;

namespace {

struct attr_spec {
  const char* name;
  attr_type type;
};

const attr_spec specs[] = {{"n", attr_type::int_v},
                           {"x", attr_type::float_v},
                           {"s", attr_type::string_v},
                           {"d", attr_type::date_v},
                           {"t", attr_type::datetime_v}};

std::string random_text(std::mt19937_64& rng, attr_type t) {
  switch (t) {
    case attr_type::int_v:
      return std::to_string(static_cast<int64_t>(rng() % 41) - 20);
    case attr_type::float_v:
      return std::to_string((static_cast<double>(rng() % 200) - 100) / 8);
    case attr_type::string_v: {
      std::string s;
      for (int n = 1 + static_cast<int>(rng() % 3); n > 0; --n) s.push_back("abc"[rng() % 3]);
      return s;
    }
    case attr_type::date_v:
      return "2020-01-" + std::string(rng() % 2 ? "1" : "2") + std::to_string(rng() % 10);
    default:
      return "2020-01-01T0" + std::to_string(rng() % 10) + ":" + std::to_string(10 + rng() % 3) +
             ":00Z";
  }
}

struct model_object {
  std::map<std::string, typed_value> attrs;
};

bool holds(const typed_value& have, const condition& c, attr_type t) {
  auto v = *parse_value(t, c.value, 4096);
  int cmp = compare_values(have, v);
  if (c.op == "=") return cmp == 0;
  if (c.op == "!=") return cmp != 0;
  if (c.op == "<") return cmp < 0;
  if (c.op == "<=") return cmp <= 0;
  if (c.op == ">") return cmp > 0;
  if (c.op == ">=") return cmp >= 0;
  if (c.op == "between")
    return cmp >= 0 && compare_values(have, *parse_value(t, c.value2, 4096)) <= 0;
  return like_match(c.value, have.text);  // like
}

}  // namespace

TEST_CASE("random conjunctive queries give the brute-force answers, whatever the plan") {
  test::mcs_db fx;
  std::mt19937_64 rng{20031115};
  std::map<std::string, model_object> model;
  const int files = 500;
  std::vector<storage::batch> unsent;
  for (int i = 0; i < files; ++i) {
    std::string name = "f" + std::to_string(i);
    std::vector<attr_assign> attrs;
    model_object obj;
    for (const auto& spec : specs) {
      if (rng() % 5 == 0) continue;  // some files lack some attributes
      auto text = random_text(rng, spec.type);
      attrs.push_back({spec.name, attr_type_name(spec.type), text});
      obj.attrs[spec.name] = *parse_value(spec.type, text, 4096);
    }
    storage::batch rows;
    REQUIRE(fx.state->create(fx.as("alice"), test::file(name), attrs, rows));
    model[name] = obj;
    // The last files stay uncommitted, so queries read through the overlay too.
    if (i < files - 60) {
      fx.commit(rows);
    } else {
      unsent.push_back(std::move(rows));
    }
  }
  // Some modifications and deletions, so the index sees removals.
  for (int i = 0; i < 80; ++i) {
    std::string name = "f" + std::to_string(rng() % files);
    if (!model.count(name)) continue;
    storage::batch rows;
    if (i % 4 == 0) {
      REQUIRE(fx.state->remove(fx.as("alice"), test::file(name), false, rows));
      model.erase(name);
    } else if (model[name].attrs.count("n")) {
      auto text = random_text(rng, attr_type::int_v);
      REQUIRE(fx.state->modify_attrs(fx.as("alice"), test::file(name), {{"n", "", text}}, rows));
      model[name].attrs["n"] = *parse_value(attr_type::int_v, text, 4096);
    }
    unsent.push_back(std::move(rows));
  }

  // The mutations above read pending writes through the overlay; queries read committed state
  // (the index's pending rows are not in the overlay), so the rest goes to the db first.
  for (auto& rows : unsent) REQUIRE(fx.db->write(rows, storage::durability::buffered).has_value());
  fx.state->committed(fx.state->last_seq());

  const char* ops[] = {"=", "!=", "<", "<=", ">", ">=", "between", "like"};
  std::set<std::string> plans;
  for (int q = 0; q < 3000; ++q) {
    query_request req{kind::file, {}, 0, 100000, q % 5 == 0};
    int conds = 1 + static_cast<int>(rng() % 3);
    for (int c = 0; c < conds; ++c) {
      const auto& spec = specs[rng() % std::size(specs)];
      std::string op = ops[rng() % std::size(ops)];
      if (op == "like" && spec.type != attr_type::string_v) op = "=";
      condition cond{spec.name, op, random_text(rng, spec.type), "", ""};
      if (op == "between") {
        cond.value2 = random_text(rng, spec.type);
        if (compare_values(*parse_value(spec.type, cond.value, 4096),
                           *parse_value(spec.type, cond.value2, 4096)) > 0)
          std::swap(cond.value, cond.value2);
      }
      if (op == "like") {
        static const char* patterns[] = {"a%", "%b", "_a%", "ab%", "c_", "%", "b%c", "abc"};
        cond.value = patterns[rng() % std::size(patterns)];
      }
      req.conditions.push_back(cond);
    }
    auto got = fx.state->query(fx.as("alice"), req);
    REQUIRE_MESSAGE(got.has_value(), got.err().describe());
    std::set<std::string> want;
    for (const auto& [name, obj] : model) {
      bool all = true;
      for (const auto& c : req.conditions) {
        auto it = obj.attrs.find(c.attr);
        auto type = std::find_if(std::begin(specs), std::end(specs), [&](const attr_spec& s) {
                      return c.attr == s.name;
                    })->type;
        all = all && it != obj.attrs.end() && holds(it->second, c, type);
      }
      if (all) want.insert(name);
    }
    plans.insert(got->plan.substr(0, got->plan.find(" (")));
    if (req.count_only) {
      REQUIRE(got->count == want.size());
      continue;
    }
    std::set<std::string> have;
    for (const auto& e : got->items) have.insert(e.name);
    REQUIRE_MESSAGE(have == want, "query " << q << " plan " << got->plan);
    REQUIRE(got->items.size() == have.size());  // no duplicates
    CHECK_FALSE(got->more);
  }
  // The planner really chose different indexes and the full scan across the run.
  CHECK(plans.size() >= 10);
  CHECK(plans.count("scan all logical files") == 1);
  // Every file the model holds, counted through the index of a predefined attribute.
  auto all = fx.state->query(fx.as("alice"),
                             {kind::file, {{"creator", "=", "alice", "", ""}}, 0, 0, true});
  REQUIRE(all.has_value());
  CHECK(all->count == model.size());
}
