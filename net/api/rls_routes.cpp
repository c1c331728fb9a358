// /api/v1/rls/lrc: the Local Replica Catalog over HTTP, with globus-rls-cli's operations (create,
// add, delete, rename, query, wildcard, exists, count). Names travel in JSON bodies and query
// strings, never in the path: LFNs and PFNs contain '/', and a path parameter is one segment.
// /api/v1/rls/rli: the Replica Location Index's queries (which LRCs hold an LFN; the LRCs known).
// .../bulk/*: up to bulk_items_max mappings or LFNs per request, answered per item.
//
// LRC queries (query, exists, bulk query) read the LRC's committed RocksDB rows directly on the
// HTTP thread through a read-only lrc_state instead of asking the LRC actor: its queries only
// ever read committed state, a synced write is visible only once durable (so nothing uncommitted
// is announced), and the hand-offs to and from the actor cost far more than the read
// (docs/benchmarks.md). Mutations still go through the actor, which owns the catalog.
#include <array>
#include <charconv>
#include <mutex>
#include <sstream>

#include "actors/rls/interface.hpp"
#include "actors/rls/lrc_state.hpp"
#include "net/api/api_context.hpp"
#include "net/http/plain_json.hpp"

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

// Items per bulk request: the LRC's own bound (lrc_limits::bulk_items_max). A larger set is split
// by the client (`librarian rls bulk` sends 1,000 per request); the body is also bounded by the
// server's http.body_max_bytes (413).
constexpr size_t bulk_items_max = 10000;

using reader_ptr = std::shared_ptr<const rls::lrc_state>;

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

// Single creates, adds and deletes from concurrent requests, sent to the LRC as one bulk message
// per verb while earlier ones are in flight, each request then answered with its own item's
// outcome: one actor hand-off and one batch for many requests instead of one each (the costs
// that bounded single adds; docs/benchmarks.md). The outcomes are exactly the single operation's:
// bulk items are validated one after another, each seeing the ones before it.
class mutation_batcher : public std::enable_shared_from_this<mutation_batcher> {
 public:
  struct waiting {
    rls::mapping item;
    respond_fn respond;
    std::string request_id;
    int status_ok = 200;
  };

  void submit(const context_ptr& ctx, rls::bulk_verb verb, waiting w) {
    auto& lane = lanes_.at(static_cast<size_t>(verb) - 1);
    std::vector<waiting> batch;
    {
      std::lock_guard lock{lane.mutex};
      lane.queued.push_back(std::move(w));
      if (lane.in_flight >= in_flight_max) return;  // goes with a later batch
      ++lane.in_flight;
      batch.swap(lane.queued);
    }
    send(ctx, verb, std::move(batch));
  }

 private:
  struct lane {
    std::mutex mutex;  // guards queued and in_flight
    std::vector<waiting> queued;
    size_t in_flight = 0;
  };
  // Two batches per verb in flight: while one is being synced to disk the next is validated and
  // queued behind it, so the disk is never idle waiting for the round trip through the actors
  // (one in flight: 6,500-9,100 single adds/s; two: 8,000-10,200, alternating runs; four were no
  // better than two and sync smaller groups).
  static constexpr size_t in_flight_max = 2;

  void send(const context_ptr& ctx, rls::bulk_verb verb, std::vector<waiting> batch) {
    std::vector<rls::mapping> items;
    items.reserve(batch.size());
    for (const auto& w : batch) items.push_back(w.item);
    auto shared = std::make_shared<std::vector<waiting>>(std::move(batch));
    auto payload =
        caf::make_message(atoms::bulk_atom_v, static_cast<uint8_t>(verb), std::move(items));
    auto node = ctx->node;
    auto timeout = ctx->actor_timeout;
    // The batcher outlives its in-flight batches (the routes may go first at shutdown).
    auto batcher = shared_from_this();
    ctx->sys.spawn([=](caf::event_based_actor* self) {
      self->request(node, timeout, atoms::ask_atom_v, std::string{lrc_name}, payload)
          .then(
              [=](const rls::bulk_outcome& outcome) {
                answer(*shared, outcome);
                batcher->next(ctx, verb);
              },
              [=](caf::error& err) {
                auto problem = from_caf(err);
                for (auto& w : *shared) w.respond(http::error_response(problem, w.request_id));
                batcher->next(ctx, verb);
              });
    });
  }

  static void answer(std::vector<waiting>& batch, const rls::bulk_outcome& outcome) {
    const bool sized =
        outcome.codes.size() == batch.size() && outcome.messages.size() == batch.size();
    for (size_t i = 0; i < batch.size(); ++i) {
      auto& w = batch[i];
      if (!sized) {
        w.respond(http::error_response(
            fail(errc::internal, "the LRC answered a batch with the wrong item count"),
            w.request_id));
      } else if (outcome.codes[i] != 0) {
        auto code =
            outcome.codes[i] <= errc_max ? static_cast<errc>(outcome.codes[i]) : errc::internal;
        w.respond(http::error_response(error{code, outcome.messages[i]}, w.request_id));
      } else {
        w.respond(http::json_response(
            w.status_ok, {{"lfn", std::move(w.item.lfn)}, {"pfn", std::move(w.item.pfn)}}));
      }
    }
  }

  void next(const context_ptr& ctx, rls::bulk_verb verb) {
    auto& lane = lanes_.at(static_cast<size_t>(verb) - 1);
    std::vector<waiting> batch;
    {
      std::lock_guard lock{lane.mutex};
      if (lane.queued.empty()) {
        --lane.in_flight;
        return;
      }
      // At most bulk_items_max per batch; the rest waits for the next.
      if (lane.queued.size() <= bulk_items_max) {
        batch.swap(lane.queued);
      } else {
        auto cut = lane.queued.begin() + static_cast<std::ptrdiff_t>(bulk_items_max);
        batch.assign(std::make_move_iterator(lane.queued.begin()), std::make_move_iterator(cut));
        lane.queued.erase(lane.queued.begin(), cut);
      }
    }
    send(ctx, verb, std::move(batch));
  }

  std::array<lane, 3> lanes_;  // create, add, remove (bulk_verb - 1)
};

using batcher_ptr = std::shared_ptr<mutation_batcher>;

// POST {"lfn", "pfn"}: create, add or delete one mapping, through the batcher.
void post_mapping(const context_ptr& ctx, const batcher_ptr& batcher, const request& req,
                  const respond_fn& respond, rls::bulk_verb verb, int status_ok) {
  authorize(ctx, req, respond, role::readwrite, [=](caller) {
    auto body = read_json_object(req, {"lfn", "pfn"});
    if (!body) return bad_request(req, respond, body.err());
    auto lfn = string_field(*body, "lfn", true);
    auto pfn = string_field(*body, "pfn", true);
    for (auto* field : {&lfn, &pfn})
      if (!*field) return bad_request(req, respond, field->err());
    batcher->submit(
        ctx, verb,
        {rls::mapping{std::move(*lfn), std::move(*pfn)}, respond, req.request_id, status_ok});
  });
}

// The LRC's bulk answers are written as JSON text directly: building a tree of thousands of
// small objects and then serializing it cost more node CPU than the catalog reads themselves.
// A string in the common case (printable ASCII, no quote or backslash) is copied as is; any
// other goes through nlohmann (escapes; invalid UTF-8 replaced, as json_response does).
void append_json_string(std::string& out, std::string_view text) {
  bool plain = true;
  for (unsigned char c : text) plain = plain && c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  if (plain) {
    out += '"';
    out.append(text);
    out += '"';
    return;
  }
  out += nlohmann::json(std::string{text})
             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// GET ?lfn=L or ?pfn=P (exactly one): the PFNs of an LFN, or the LFNs of a PFN.
void query(const context_ptr& ctx, const reader_ptr& reader, const request& req,
           const respond_fn& respond) {
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
    const char* key = by_lfn ? "lfn" : "pfn";
    const std::string& name = req.query.at(key);
    auto names = by_lfn ? reader->query_lfn(name, page->offset, page->reslimit)
                        : reader->query_pfn(name, page->offset, page->reslimit);
    if (!names) return bad_request(req, respond, names.err());
    // Written as text (keys in nlohmann's order): the hottest route, where building a JSON tree
    // for a handful of names was a visible share of the request's CPU.
    http::response res;
    auto& out = res.body;
    out = by_lfn ? "{\"lfn\":" : "{\"lfns\":[";
    if (by_lfn) {
      append_json_string(out, name);
      out += names->more ? ",\"more\":true,\"pfns\":[" : ",\"more\":false,\"pfns\":[";
    }
    for (size_t i = 0; i < names->items.size(); ++i) {
      if (i != 0) out += ',';
      append_json_string(out, names->items[i]);
    }
    if (by_lfn) {
      out += "]}";
    } else {
      out += names->more ? "],\"more\":true,\"pfn\":" : "],\"more\":false,\"pfn\":";
      append_json_string(out, name);
      out += '}';
    }
    respond(std::move(res));
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

void exists(const context_ptr& ctx, const reader_ptr& reader, const request& req,
            const respond_fn& respond) {
  authorize(ctx, req, respond, role::readonly, [=](caller) {
    if (auto st = check_query_keys(req, {"lfn"}); !st) return bad_request(req, respond, st.err());
    auto lfn = required_param(req, "lfn");
    if (!lfn) return bad_request(req, respond, lfn.err());
    auto found = reader->exists_lfn(*lfn);
    if (!found) return bad_request(req, respond, found.err());
    respond(http::json_response(200, {{"lfn", *lfn}, {"exists", *found}}));
  });
}

// The JSON array under `key` of a bulk body: 0..bulk_items_max entries.
expected<const nlohmann::json*> bulk_array(const nlohmann::json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end())
    return fail(errc::invalid_argument, std::string{"field '"} + key + "' is required");
  if (!it->is_array())
    return fail(errc::invalid_argument, std::string{"field '"} + key + "' must be an array");
  if (it->size() > bulk_items_max)
    return fail(errc::invalid_argument, "BADARG: at most " + std::to_string(bulk_items_max) +
                                            " items per bulk request (got " +
                                            std::to_string(it->size()) +
                                            "); split the set into several requests");
  return &*it;
}

nlohmann::json item_error(nlohmann::json item, errc code, const std::string& message) {
  item["ok"] = false;
  item["error"] = std::string{name(code)};
  item["message"] = message;
  return item;
}

// One mapping of a bulk body, or why it is not one (that item alone fails).
expected<rls::mapping> bulk_mapping(const nlohmann::json& item) {
  if (!item.is_object()) return fail(errc::invalid_argument, "BADARG: an item must be an object");
  for (const auto& [key, value] : item.items())
    if (key != "lfn" && key != "pfn")
      return fail(errc::invalid_argument, "BADARG: unknown field '" + key + "' in an item");
  auto lfn = string_field(item, "lfn", true);
  if (!lfn) return fail(errc::invalid_argument, "BADARG: " + lfn.err().message);
  auto pfn = string_field(item, "pfn", true);
  if (!pfn) return fail(errc::invalid_argument, "BADARG: " + pfn.err().message);
  return rls::mapping{std::move(*lfn), std::move(*pfn)};
}

nlohmann::json bulk_reply(nlohmann::json results) {
  size_t failed = 0;
  for (const auto& r : results) failed += r.value("ok", false) ? 0 : 1;
  auto total = results.size();
  return {{"results", std::move(results)}, {"succeeded", total - failed}, {"failed", failed}};
}

void append_item_error(std::string& out, const std::string* lfn, const std::string* pfn, errc code,
                       const std::string& message) {
  // Keys in byte order, as nlohmann writes them.
  out += "{\"error\":\"";
  out += name(code);
  out += "\",";
  if (lfn) {
    out += "\"lfn\":";
    append_json_string(out, *lfn);
    out += ',';
  }
  out += "\"message\":";
  append_json_string(out, message);
  out += ",\"ok\":false";
  if (pfn) {
    out += ",\"pfn\":";
    append_json_string(out, *pfn);
  }
  out += '}';
}

// A bulk answer, {"failed":F,"results":[...],"succeeded":S} (keys in byte order, as nlohmann
// writes them), written in place: each result is appended to the one body, no string per item.
class bulk_reply_writer {
 public:
  bulk_reply_writer(size_t bytes, size_t failed) : failed_(failed) {
    res_.status = 200;
    res_.body.reserve(bytes + 64);
    res_.body += "{\"failed\":" + std::to_string(failed) + ",\"results\":[";
  }
  // The body, to append the next result to.
  std::string& next() {
    if (results_++ != 0) res_.body += ',';
    return res_.body;
  }
  http::response finish() {
    res_.body += "],\"succeeded\":" + std::to_string(results_ - failed_) + "}";
    return std::move(res_);
  }

 private:
  http::response res_;
  size_t failed_;
  size_t results_ = 0;
};

http::response bulk_reply_text(const std::vector<std::string>& items, size_t failed) {
  size_t bytes = 0;
  for (const auto& item : items) bytes += item.size() + 1;
  bulk_reply_writer reply{bytes, failed};
  for (const auto& item : items) reply.next() += item;
  return reply.finish();
}

// POST {"mappings": [{"lfn", "pfn"}, ...]}: bulk create, add or delete. 200 with one result per
// item, in order ({"lfn", "pfn", "ok"} and, when not ok, "error" and "message"); a malformed
// item fails alone, the good ones go to the LRC in one batch.
void bulk_mutation(const context_ptr& ctx, const request& req, const respond_fn& respond,
                   rls::bulk_verb verb) {
  authorize(ctx, req, respond, role::readwrite, [=](caller) {
    // Per item: its result text now (malformed), or "" to be written from the LRC's outcome.
    auto texts = std::make_shared<std::vector<std::string>>();
    size_t malformed = 0;
    std::vector<rls::mapping> good;
    if (auto plain = http::plain_pair_array(req.body, "mappings", "lfn", "pfn", bulk_items_max)) {
      good.reserve(plain->size());
      for (auto& [lfn, pfn] : *plain) good.push_back({std::move(lfn), std::move(pfn)});
      texts->resize(good.size());
    } else {
      auto body = read_json_object(req, {"mappings"});
      if (!body) return bad_request(req, respond, body.err());
      auto items = bulk_array(*body, "mappings");
      if (!items) return bad_request(req, respond, items.err());
      texts->reserve((*items)->size());
      good.reserve((*items)->size());
      for (const auto& item : **items) {
        auto m = bulk_mapping(item);
        if (!m) {
          nlohmann::json shown = nlohmann::json::object();
          if (item.is_object())
            for (const char* key : {"lfn", "pfn"})
              if (item.contains(key)) shown[key] = item.at(key);
          texts->push_back(item_error(std::move(shown), m.err().code, m.err().message)
                               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
          ++malformed;
          continue;
        }
        texts->emplace_back();
        good.push_back(std::move(*m));
      }
    }
    if (good.empty()) return respond(bulk_reply_text(*texts, malformed));
    // The names, kept for the reply (the message gets its own copy).
    auto sent = std::make_shared<std::vector<rls::mapping>>(good);
    auto payload =
        caf::make_message(atoms::bulk_atom_v, static_cast<uint8_t>(verb), std::move(good));
    ask_actor(
        ctx, lrc_name, std::move(payload), req, respond, [=](const rls::bulk_outcome& outcome) {
          if (outcome.codes.size() != sent->size() || outcome.messages.size() != sent->size())
            return respond(http::error_response(
                fail(errc::internal, "the LRC answered a bulk request with " +
                                         std::to_string(outcome.codes.size()) + " results for " +
                                         std::to_string(sent->size()) + " items"),
                req.request_id));
          size_t failed = malformed;
          for (auto code : outcome.codes) failed += code != 0 ? 1 : 0;
          size_t bytes = 0;
          for (const auto& m : *sent) bytes += m.lfn.size() + m.pfn.size() + 32;
          for (const auto& text : *texts) bytes += text.size() + 1;
          bulk_reply_writer reply{bytes, failed};
          size_t next = 0;
          for (const auto& text : *texts) {
            auto& out = reply.next();
            if (!text.empty()) {
              out += text;
              continue;
            }
            size_t i = next++;
            const auto& m = (*sent)[i];
            if (outcome.codes[i] != 0) {
              auto code = outcome.codes[i] <= errc_max ? static_cast<errc>(outcome.codes[i])
                                                       : errc::internal;
              append_item_error(out, &m.lfn, &m.pfn, code, outcome.messages[i]);
              continue;
            }
            out += "{\"lfn\":";
            append_json_string(out, m.lfn);
            out += ",\"ok\":true,\"pfn\":";
            append_json_string(out, m.pfn);
            out += '}';
          }
          respond(reply.finish());
        });
  });
}

// The LFNs of a bulk query body, each a string or a per-item error.
std::vector<expected<std::string>> bulk_names(const nlohmann::json& items) {
  std::vector<expected<std::string>> out;
  out.reserve(items.size());
  for (const auto& item : items) {
    if (item.is_string())
      out.emplace_back(item.get<std::string>());
    else
      out.emplace_back(fail(errc::invalid_argument, "BADARG: an LFN must be a string"));
  }
  return out;
}

// POST {"lfns": [...], "reslimit": N}: the PFNs of each LFN ({"lfn", "ok", "pfns", "more"}, or
// "error" and "message" for an unknown or bad LFN), read from the committed catalog directly.
void bulk_query(const context_ptr& ctx, const reader_ptr& reader, const request& req,
                const respond_fn& respond) {
  authorize(ctx, req, respond, role::readonly, [=](caller) {
    // The LFNs to read and, from a body that is not plain, where the malformed items were.
    std::vector<std::string> lfns;
    std::vector<expected<std::string>> names;  // empty: every item is lfns' next one
    uint64_t reslimit = 0;
    if (auto plain = http::plain_string_array(req.body, "lfns", bulk_items_max)) {
      lfns = std::move(*plain);
    } else {
      auto body = read_json_object(req, {"lfns", "reslimit"});
      if (!body) return bad_request(req, respond, body.err());
      auto items = bulk_array(*body, "lfns");
      if (!items) return bad_request(req, respond, items.err());
      if (auto it = body->find("reslimit"); it != body->end()) {
        if (!it->is_number_unsigned())
          return bad_request(
              req, respond,
              fail(errc::invalid_argument, "field 'reslimit' must be a non-negative integer"));
        reslimit = it->get<uint64_t>();
      }
      names = bulk_names(**items);
      lfns.reserve(names.size());
      for (const auto& n : names)
        if (n) lfns.push_back(*n);
    }
    auto answers = reader->bulk_query_lfn(lfns, reslimit);
    if (!answers) return bad_request(req, respond, answers.err());
    const size_t total = names.empty() ? answers->size() : names.size();
    size_t failed = total - answers->size();
    size_t bytes = 0;
    for (const auto& a : *answers) {
      failed += a.code != errc::ok ? 1 : 0;
      bytes += a.lfn.size() + 48;
      for (const auto& pfn : a.pfns) bytes += pfn.size() + 3;
    }
    bulk_reply_writer reply{bytes, failed};
    size_t next = 0;
    for (size_t k = 0; k < total; ++k) {
      auto& out = reply.next();
      if (!names.empty() && !names[k]) {
        append_item_error(out, nullptr, nullptr, names[k].err().code, names[k].err().message);
        continue;
      }
      auto& a = (*answers)[next++];
      if (a.code != errc::ok) {
        append_item_error(out, &a.lfn, nullptr, a.code, a.message);
        continue;
      }
      out += "{\"lfn\":";
      append_json_string(out, a.lfn);
      out += a.more ? ",\"more\":true" : ",\"more\":false";
      out += ",\"ok\":true,\"pfns\":[";
      for (size_t j = 0; j < a.pfns.size(); ++j) {
        if (j != 0) out += ',';
        append_json_string(out, a.pfns[j]);
      }
      out += "]}";
    }
    respond(reply.finish());
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

// POST {"lfns": [...]}: per LFN the LRCs whose fresh soft state holds it.
void rli_bulk_query(const context_ptr& ctx, const request& req, const respond_fn& respond) {
  authorize(ctx, req, respond, role::readonly, [=](caller) {
    auto body = read_json_object(req, {"lfns"});
    if (!body) return bad_request(req, respond, body.err());
    auto items = bulk_array(*body, "lfns");
    if (!items) return bad_request(req, respond, items.err());
    auto names = std::make_shared<std::vector<expected<std::string>>>(bulk_names(**items));
    std::vector<std::string> lfns;
    for (const auto& n : *names)
      if (n) lfns.push_back(*n);
    auto asked = lfns.size();
    ask_actor(
        ctx, std::string{rli_name}, caf::make_message(atoms::bulk_atom_v, std::move(lfns)), req,
        respond,
        [=](const rls::bulk_lrcs& answer) {
          if (answer.codes.size() != asked || answer.messages.size() != asked ||
              answer.lrcs.size() != asked)
            return respond(http::error_response(
                fail(errc::internal, "the RLI answered a bulk query with the wrong item count"),
                req.request_id));
          constexpr std::string_view maybe_suffix = " maybe";
          auto results = nlohmann::json::array();
          size_t next = 0;
          for (const auto& n : *names) {
            if (!n) {
              results.push_back(
                  item_error(nlohmann::json::object(), n.err().code, n.err().message));
              continue;
            }
            size_t i = next++;
            if (answer.codes[i] != 0) {
              auto code =
                  answer.codes[i] <= errc_max ? static_cast<errc>(answer.codes[i]) : errc::internal;
              results.push_back(item_error({{"lfn", *n}}, code, answer.messages[i]));
              continue;
            }
            auto list = nlohmann::json::array();
            for (const auto& line : answer.lrcs[i]) {
              bool maybe = line.ends_with(maybe_suffix);
              list.push_back(
                  {{"name", maybe ? line.substr(0, line.size() - maybe_suffix.size()) : line},
                   {"maybe", maybe}});
            }
            results.push_back({{"lfn", *n}, {"ok", true}, {"lrcs", std::move(list)}});
          }
          respond(http::json_response(200, bulk_reply(std::move(results))));
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

// The target lines of the LRC ("NAME key=value ...") as {"targets": [{"name", ...}]}.
nlohmann::json targets_json(const std::vector<std::string>& lines) {
  auto list = nlohmann::json::array();
  for (const auto& line : lines) {
    nlohmann::json target = nlohmann::json::object();
    target["name"] = add_stats_fields(line, target);
    list.push_back(std::move(target));
  }
  return {{"targets", list}};
}

// POST {"name", "mode", "interval_ms", "patterns"} (ADMIN): the LRC starts updating one more
// RLI and stores it, so it survives a restart (rls-admin add).
void add_target(const context_ptr& ctx, const request& req, const respond_fn& respond) {
  authorize(ctx, req, respond, role::admin, [=](caller) {
    auto body = read_json_object(req, {"name", "mode", "interval_ms", "patterns"});
    if (!body) return bad_request(req, respond, body.err());
    auto rli = string_field(*body, "name", true);
    if (!rli) return bad_request(req, respond, rli.err());
    auto mode = string_field(*body, "mode", false);
    if (!mode) return bad_request(req, respond, mode.err());
    int64_t interval_ms = 30000;
    if (auto it = body->find("interval_ms"); it != body->end()) {
      if (!it->is_number_integer())
        return bad_request(req, respond,
                           fail(errc::invalid_argument, "field 'interval_ms' must be an integer"));
      interval_ms = it->get<int64_t>();
    }
    std::vector<std::string> patterns;
    if (auto it = body->find("patterns"); it != body->end()) {
      if (!it->is_array())
        return bad_request(req, respond,
                           fail(errc::invalid_argument, "field 'patterns' must be an array"));
      for (const auto& p : *it) {
        if (!p.is_string())
          return bad_request(req, respond,
                             fail(errc::invalid_argument, "every pattern must be a string"));
        patterns.push_back(p.get<std::string>());
      }
    }
    auto payload = caf::make_message(atoms::targets_atom_v, atoms::add_atom_v, *rli,
                                     mode->empty() ? std::string{"list"} : *mode, interval_ms,
                                     std::move(patterns));
    ask_actor(ctx, lrc_name, std::move(payload), req, respond,
              [=](const std::vector<std::string>& lines) {
                respond(http::json_response(201, targets_json(lines)));
              });
  });
}

// DELETE ?name=RLI (ADMIN): the LRC stops updating a target added at run time.
void remove_target(const context_ptr& ctx, const request& req, const respond_fn& respond) {
  authorize(ctx, req, respond, role::admin, [=](caller) {
    if (auto st = check_query_keys(req, {"name"}); !st) return bad_request(req, respond, st.err());
    auto rli = required_param(req, "name");
    if (!rli) return bad_request(req, respond, rli.err());
    ask_actor(ctx, lrc_name, caf::make_message(atoms::targets_atom_v, atoms::remove_atom_v, *rli),
              req, respond, [=](const std::vector<std::string>& lines) {
                respond(http::json_response(200, targets_json(lines)));
              });
  });
}

// POST {"confirm": true} (ADMIN): removes every mapping of the LRC (rls-admin clear).
void clear_lrc(const context_ptr& ctx, const request& req, const respond_fn& respond) {
  authorize(ctx, req, respond, role::admin, [=](caller) {
    auto body = read_json_object(req, {"confirm"});
    if (!body) return bad_request(req, respond, body.err());
    auto it = body->find("confirm");
    if (it == body->end() || !it->is_boolean() || !it->get<bool>())
      return bad_request(req, respond,
                         fail(errc::invalid_argument,
                              "clearing removes every mapping of this LRC: send {\"confirm\": "
                              "true}"));
    ask_actor(ctx, lrc_name, caf::make_message(atoms::clear_atom_v), req, respond,
              [=](uint64_t removed) {
                respond(http::json_response(200, {{"removed", removed}}));
              });
  });
}

// GET: the node's RLS roles and settings (rls-admin config); the live targets are at
// /lrc/targets.
void rls_config(const context_ptr& ctx, const request& req, const respond_fn& respond) {
  authorize(ctx, req, respond, role::readonly, [=](caller) {
    if (auto st = check_query_keys(req, {}); !st) return bad_request(req, respond, st.err());
    const auto& cfg = ctx->env->config;
    auto targets = nlohmann::json::array();
    for (const auto& t : cfg.rls.update_rlis)
      targets.push_back({{"name", t.name},
                         {"mode", to_string(t.mode)},
                         {"interval_ms", t.interval_ms},
                         {"full_interval_ms", t.full_interval_ms},
                         {"buffer_ms", t.buffer_ms},
                         {"buffer_changes", t.buffer_changes},
                         {"bloom_bits_per_lfn", t.bloom_bits_per_lfn},
                         {"bloom_hashes", t.bloom_hashes},
                         {"chunk_lfns", t.chunk_lfns},
                         {"patterns", t.patterns}});
    respond(http::json_response(200, {{"node", cfg.name},
                                      {"lrc", true},
                                      {"rli", cfg.rls.rli},
                                      {"staleness_permille", cfg.rls.staleness_permille},
                                      {"update_rlis", targets},
                                      {"forward_rlis", cfg.rls.forward_rlis},
                                      {"bulk_items_max", bulk_items_max},
                                      {"body_max_bytes", cfg.http.body_max_bytes}}));
  });
}

// GET: the LRC (and the RLI, when configured) answer a message (rls-admin ping).
void rls_ping(const context_ptr& ctx, const request& req, const respond_fn& respond) {
  authorize(ctx, req, respond, role::readonly, [=](caller) {
    if (auto st = check_query_keys(req, {}); !st) return bad_request(req, respond, st.err());
    bool rli = ctx->env->config.rls.rli;
    std::string node = ctx->env->config.name;
    ask_actor(
        ctx, lrc_name, caf::make_message(atoms::depth_atom_v), req, respond,
        [=](uint64_t lrc_depth) {
          if (!rli)
            return respond(http::json_response(
                200, {{"node", node}, {"lrc", "up"}, {"lrc_mailbox", lrc_depth}, {"rli", "none"}}));
          ask_actor(ctx, rli_name, caf::make_message(atoms::depth_atom_v), req, respond,
                    [=](uint64_t rli_depth) {
                      respond(http::json_response(200, {{"node", node},
                                                        {"lrc", "up"},
                                                        {"lrc_mailbox", lrc_depth},
                                                        {"rli", "up"},
                                                        {"rli_mailbox", rli_depth}}));
                    });
        });
  });
}

}  // namespace

void add_rls_routes(http::router& r, const context_ptr& ctx) {
  // Every node has the LRC's tables (node_env opens them), so the reader always works.
  auto lrc_view = std::make_shared<rls::lrc_state>(*ctx->env->db);
  lrc_view->use_read_pool(&ctx->read_pool);
  reader_ptr reader = std::move(lrc_view);
  auto batcher = std::make_shared<mutation_batcher>();
  r.add("POST", "/api/v1/rls/lrc/create",
        [ctx, batcher](request req, path_params, respond_fn respond) {
          post_mapping(ctx, batcher, req, respond, rls::bulk_verb::create, 201);
        });
  r.add("POST", "/api/v1/rls/lrc/add",
        [ctx, batcher](request req, path_params, respond_fn respond) {
          post_mapping(ctx, batcher, req, respond, rls::bulk_verb::add, 201);
        });
  r.add("POST", "/api/v1/rls/lrc/delete",
        [ctx, batcher](request req, path_params, respond_fn respond) {
          post_mapping(ctx, batcher, req, respond, rls::bulk_verb::remove, 200);
        });
  r.add("POST", "/api/v1/rls/lrc/rename", [ctx](request req, path_params, respond_fn respond) {
    post_pair(ctx, req, respond, atoms::rename_atom_v, "new_lfn", 200);
  });
  r.add("GET", "/api/v1/rls/lrc/query",
        [ctx, reader](request req, path_params, respond_fn respond) {
          query(ctx, reader, req, respond);
        });
  r.add("GET", "/api/v1/rls/lrc/wildcard",
        [ctx](request req, path_params, respond_fn respond) { wildcard(ctx, req, respond); });
  r.add("GET", "/api/v1/rls/lrc/exists",
        [ctx, reader](request req, path_params, respond_fn respond) {
          exists(ctx, reader, req, respond);
        });
  r.add("POST", "/api/v1/rls/lrc/bulk/create", [ctx](request req, path_params, respond_fn respond) {
    bulk_mutation(ctx, req, respond, rls::bulk_verb::create);
  });
  r.add("POST", "/api/v1/rls/lrc/bulk/add", [ctx](request req, path_params, respond_fn respond) {
    bulk_mutation(ctx, req, respond, rls::bulk_verb::add);
  });
  r.add("POST", "/api/v1/rls/lrc/bulk/delete", [ctx](request req, path_params, respond_fn respond) {
    bulk_mutation(ctx, req, respond, rls::bulk_verb::remove);
  });
  r.add("POST", "/api/v1/rls/lrc/bulk/query",
        [ctx, reader](request req, path_params, respond_fn respond) {
          bulk_query(ctx, reader, req, respond);
        });
  r.add("POST", "/api/v1/rls/rli/bulk/query",
        [ctx](request req, path_params, respond_fn respond) { rli_bulk_query(ctx, req, respond); });
  r.add("GET", "/api/v1/rls/lrc/count",
        [ctx](request req, path_params, respond_fn respond) { count(ctx, req, respond); });
  r.add("GET", "/api/v1/rls/rli/query",
        [ctx](request req, path_params, respond_fn respond) { rli_query(ctx, req, respond); });
  r.add("GET", "/api/v1/rls/rli/lrcs",
        [ctx](request req, path_params, respond_fn respond) { rli_lrcs(ctx, req, respond); });
  r.add("GET", "/api/v1/rls/lrc/targets",
        [ctx](request req, path_params, respond_fn respond) { lrc_targets(ctx, req, respond); });
  r.add("POST", "/api/v1/rls/lrc/targets",
        [ctx](request req, path_params, respond_fn respond) { add_target(ctx, req, respond); });
  r.add("DELETE", "/api/v1/rls/lrc/targets",
        [ctx](request req, path_params, respond_fn respond) { remove_target(ctx, req, respond); });
  r.add("POST", "/api/v1/rls/lrc/clear",
        [ctx](request req, path_params, respond_fn respond) { clear_lrc(ctx, req, respond); });
  r.add("GET", "/api/v1/rls/config",
        [ctx](request req, path_params, respond_fn respond) { rls_config(ctx, req, respond); });
  r.add("GET", "/api/v1/rls/ping",
        [ctx](request req, path_params, respond_fn respond) { rls_ping(ctx, req, respond); });
  r.add("GET", "/api/v1/rls/rli/stats",
        [ctx](request req, path_params, respond_fn respond) { rli_stats(ctx, req, respond); });
}

}  // namespace librarian::net
