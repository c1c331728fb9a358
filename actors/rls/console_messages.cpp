#include "actors/rls/console_messages.hpp"

#include <sstream>

#include "actors/rls/interface.hpp"

namespace librarian::rls {
namespace {

using console::arg_type;
using console::value;

const std::string& text(const std::vector<value>& args, size_t i) {
  return std::get<std::string>(args.at(i));
}

uint64_t number(const std::vector<value>& args, size_t i) {
  return std::get<uint64_t>(args.at(i));
}

template <class... Ts>
expected<caf::message> message_of(Ts&&... xs) {
  return caf::make_message(std::forward<Ts>(xs)...);
}

std::string print_mapping(const mapping& m) {
  return m.lfn + " " + m.pfn;
}

// One name per line; a last line "(more)" when another page exists.
std::string print_names(const name_page& page) {
  auto out = print_lines(page.items, [](const std::string& s) { return s; });
  return page.more ? out + "(more)\n" : out;
}

// "LFN PFN; LFN PFN; ...": the console's one-line form of a bulk mutation's items (names with
// blanks or ';' go through the HTTP API instead).
expected<std::vector<mapping>> parse_items(const std::string& text) {
  std::vector<mapping> items;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(';', start);
    if (end == std::string::npos) end = text.size();
    std::istringstream in(text.substr(start, end - start));
    mapping m;
    std::string extra;
    if (in >> m.lfn) {
      if (!(in >> m.pfn) || (in >> extra)) {
        return fail(errc::invalid_argument,
                    "bulk item " + std::to_string(items.size() + 1) +
                        " must be 'LFN PFN' (items separated by ';'), got '" +
                        text.substr(start, end - start) + "'");
      }
      items.push_back(std::move(m));
    }
    start = end + 1;
  }
  if (items.empty()) return fail(errc::invalid_argument, "no bulk items: give 'LFN PFN; LFN PFN'");
  return items;
}

std::vector<std::string> words_of(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(std::move(w));
  return words;
}

// One line per item: "ok" or the status name and why; then "done=D failed=F".
std::string print_bulk(const bulk_outcome& outcome) {
  std::string out;
  size_t failed = 0;
  for (size_t i = 0; i < outcome.codes.size(); ++i) {
    const auto code = static_cast<errc>(outcome.codes[i]);
    if (code == errc::ok) {
      out += "ok\n";
    } else {
      ++failed;
      out += std::string(name(code)) + " " + outcome.messages.at(i) + "\n";
    }
  }
  return out + "done=" + std::to_string(outcome.codes.size() - failed) +
         " failed=" + std::to_string(failed) + "\n";
}

std::string print_bulk_lrcs(const bulk_lrcs& answer) {
  std::string out;
  for (size_t i = 0; i < answer.codes.size(); ++i) {
    const auto code = static_cast<errc>(answer.codes[i]);
    if (code != errc::ok) {
      out += std::string(name(code)) + " " + answer.messages.at(i) + "\n";
      continue;
    }
    std::string line;
    for (const auto& lrc : answer.lrcs.at(i)) line += (line.empty() ? "" : ", ") + lrc;
    out += line + "\n";
  }
  return out;
}

std::string print_text_lines(const std::vector<std::string>& lines) {
  return print_lines(lines, [](const std::string& s) { return s; });
}

std::string print_mappings(const mapping_page& page) {
  auto out = print_lines(page.items, print_mapping);
  if (page.truncated) return out + "(truncated: narrow the pattern's literal prefix)\n";
  return page.more ? out + "(more)\n" : out;
}

void add_mutations(message_catalog& c) {
  auto reply = typed_ask<mapping>(print_mapping);
  c.add({{"lrc",
          "create",
          {{"LFN", arg_type::string}, {"PFN", arg_type::string}},
          "a new LFN with its first PFN (LFN_EXIST if it exists)"},
         [](const std::vector<value>& a) {
           return message_of(create_atom_v, text(a, 0), text(a, 1));
         },
         reply});
  c.add({{"lrc",
          "add",
          {{"LFN", arg_type::string}, {"PFN", arg_type::string}},
          "another PFN for an existing LFN"},
         [](const std::vector<value>& a) { return message_of(add_atom_v, text(a, 0), text(a, 1)); },
         reply});
  c.add({{"lrc",
          "remove",
          {{"LFN", arg_type::string}, {"PFN", arg_type::string}},
          "delete one mapping; the LFN goes with its last PFN"},
         [](const std::vector<value>& a) {
           return message_of(remove_atom_v, text(a, 0), text(a, 1));
         },
         reply});
  c.add({{"lrc",
          "rename",
          {{"OLD_LFN", arg_type::string}, {"NEW_LFN", arg_type::string}},
          "rename an LFN, moving all its mappings"},
         [](const std::vector<value>& a) {
           return message_of(rename_atom_v, text(a, 0), text(a, 1));
         },
         reply});
  const std::pair<const char*, bulk_verb> verbs[] = {{"bulkcreate", bulk_verb::create},
                                                     {"bulkadd", bulk_verb::add},
                                                     {"bulkremove", bulk_verb::remove}};
  for (const auto& [word, verb] : verbs) {
    c.add({{"lrc",
            word,
            {{"ITEMS", arg_type::string}},
            std::string("bulk ") + (word + 4) +
                ": ITEMS is \"LFN PFN; LFN PFN; ...\"; one line per item (ok, or the status and "
                "why), then done=N failed=M; one bad item does not fail the others"},
           [verb = verb](const std::vector<value>& a) -> expected<caf::message> {
             auto items = parse_items(text(a, 0));
             if (!items) return items.err();
             return message_of(bulk_atom_v, static_cast<uint8_t>(verb), std::move(*items));
           },
           typed_ask<bulk_outcome>(print_bulk)});
  }
  auto lines = typed_ask<std::vector<std::string>>(print_text_lines);
  c.add({{"lrc",
          "addtarget",
          {{"RLI", arg_type::string},
           {"MODE", arg_type::string},
           {"INTERVAL", arg_type::duration},
           {"PATTERNS", arg_type::string}},
          "rls-admin add: update RLI in MODE (list, immediate, bloom) every INTERVAL with the "
          "LFNs matching PATTERNS (blank-separated globs; \"\" for all); the targets' lines"},
         [](const std::vector<value>& a) {
           const auto interval = std::get<std::chrono::milliseconds>(a.at(2)).count();
           return message_of(targets_atom_v, add_atom_v, text(a, 0), text(a, 1),
                             static_cast<int64_t>(interval), words_of(text(a, 3)));
         },
         lines});
  c.add({{"lrc",
          "removetarget",
          {{"RLI", arg_type::string}},
          "rls-admin remove: stop updating RLI (a target added at run time); the targets' lines"},
         [](const std::vector<value>& a) {
           return message_of(targets_atom_v, remove_atom_v, text(a, 0));
         },
         lines});
  c.add({{"lrc", "clear", {}, "rls-admin clear: remove every mapping; how many were removed"},
         [](const std::vector<value>&) { return message_of(clear_atom_v); },
         typed_ask<uint64_t>([](uint64_t n) { return "removed=" + std::to_string(n); })});
}

void add_queries(message_catalog& c) {
  c.add({{"lrc", "exists", {{"LFN", arg_type::string}}, "true or false"},
         [](const std::vector<value>& a) { return message_of(exists_atom_v, text(a, 0)); },
         typed_ask<bool>([](bool b) { return std::string{b ? "true" : "false"}; })});
  c.add({{"lrc",
          "query",
          {{"LFN", arg_type::string}, {"OFFSET", arg_type::uint64}, {"RESLIMIT", arg_type::uint64}},
          "the PFNs of an LFN, one per line (RESLIMIT 0: the default)"},
         [](const std::vector<value>& a) {
           return message_of(query_atom_v, text(a, 0), number(a, 1), number(a, 2));
         },
         typed_ask<name_page>(print_names)});
  c.add({{"lrc",
          "querypfn",
          {{"PFN", arg_type::string}, {"OFFSET", arg_type::uint64}, {"RESLIMIT", arg_type::uint64}},
          "the LFNs mapped to a PFN, one per line"},
         [](const std::vector<value>& a) {
           return message_of(query_pfn_atom_v, text(a, 0), number(a, 1), number(a, 2));
         },
         typed_ask<name_page>(print_names)});
  c.add({{"lrc",
          "wildcard",
          {{"PATTERN", arg_type::string},
           {"OFFSET", arg_type::uint64},
           {"RESLIMIT", arg_type::uint64}},
          "mappings whose LFN matches PATTERN (* and ?, \\ escapes): LFN PFN per line"},
         [](const std::vector<value>& a) {
           return message_of(wildcard_atom_v, text(a, 0), number(a, 1), number(a, 2));
         },
         typed_ask<mapping_page>(print_mappings)});
  c.add({{"lrc", "count", {}, "lfns=N mappings=M"},
         [](const std::vector<value>&) { return message_of(count_atom_v); },
         [](caf::event_based_actor* self, const caf::actor& dest, caf::message request,
            caf::timespan timeout, reply_fn done) {
           self->request(dest, timeout, std::move(request))
               .then(
                   [=](uint64_t lfns, uint64_t mappings) {
                     done("lfns=" + std::to_string(lfns) + " mappings=" + std::to_string(mappings));
                   },
                   [=](caf::error& err) { done(from_caf(err)); });
         }});
}

void add_rli_entries(message_catalog& c) {
  auto lines = typed_ask<std::vector<std::string>>(print_text_lines);
  c.add({{"rli",
          "query",
          {{"LFN", arg_type::string}},
          "the sites (LRCs) whose fresh soft state holds LFN, one per line"},
         [](const std::vector<value>& a) { return message_of(query_atom_v, text(a, 0)); },
         lines});
  c.add({{"rli",
          "bulkquery",
          {{"LFNS", arg_type::string}},
          "for each blank-separated LFN, one line: the LRCs that may hold it (comma-separated, "
          "\"maybe\" for a Bloom filter's answer) or the status and why"},
         [](const std::vector<value>& a) -> expected<caf::message> {
           auto lfns = words_of(text(a, 0));
           if (lfns.empty()) return fail(errc::invalid_argument, "no LFNs: give \"LFN LFN ...\"");
           return message_of(bulk_atom_v, std::move(lfns));
         },
         typed_ask<bulk_lrcs>(print_bulk_lrcs)});
  c.add({{"rli",
          "lrcs",
          {},
          "the LRCs this RLI has heard from: NAME lfns=N mode=list|bloom [stale] generation=G "
          "position=P last_update_ms_ago=T interval_ms=I"},
         [](const std::vector<value>&) { return message_of(list_atom_v); },
         lines});
  c.add({{"rli",
          "wildcard",
          {{"PATTERN", arg_type::string},
           {"OFFSET", arg_type::uint64},
           {"RESLIMIT", arg_type::uint64}},
          "LFN LRC lines of list-mode state matching PATTERN; Bloom-mode LRCs are named as "
          "skipped (BADARG if there is nothing else)"},
         [](const std::vector<value>& a) {
           return message_of(wildcard_atom_v, text(a, 0), number(a, 1), number(a, 2));
         },
         lines});
  c.add({{"rli", "stats", {}, "updates received, refused and forwarded; the parent RLIs"},
         [](const std::vector<value>&) { return message_of(targets_atom_v); },
         lines});
  c.add({{"lrc",
          "targets",
          {},
          "the RLIs this LRC updates: NAME mode=list|immediate|bloom, sync state, last updates"},
         [](const std::vector<value>&) { return message_of(targets_atom_v); },
         lines});
}

}  // namespace

void add_console_messages(message_catalog& catalog) {
  add_mutations(catalog);
  add_queries(catalog);
  add_rli_entries(catalog);
}

}  // namespace librarian::rls
