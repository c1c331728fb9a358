#include "actors/rls/console_messages.hpp"

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
  auto lines = typed_ask<std::vector<std::string>>([](const std::vector<std::string>& xs) {
    return print_lines(xs, [](const std::string& s) { return s; });
  });
  c.add({{"rli",
          "query",
          {{"LFN", arg_type::string}},
          "the sites (LRCs) whose fresh soft state holds LFN, one per line"},
         [](const std::vector<value>& a) { return message_of(query_atom_v, text(a, 0)); },
         lines});
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
