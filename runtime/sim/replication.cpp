// The world's file model: scenario uploads (the pseudo-actor `world`), and the checkers of the
// replication pipeline (DESIGN.md §7) -- nothing acknowledged is lost, no replica is corrupt or
// doubled, no copy is announced before the receiver committed it, and after healing every file
// reaches every node of the replication ring.
#include "actors/librarian/catalog_state.hpp"
#include "actors/librarian/file_checksum.hpp"
#include "actors/librarian/interface.hpp"
#include "actors/transfer/interface.hpp"
#include "actors/transfer/replication_state.hpp"
#include "runtime/caf/catalog.hpp"
#include "runtime/caf/error.hpp"
#include "runtime/sim/world_impl.hpp"
#include "storage/keys.hpp"

namespace librarian::sim {
namespace {

using transfer::replication_state;

// A node's catalog as its disk has it (committed rows only).
std::unique_ptr<lib::catalog_state> durable_catalog(node_slot& n) {
  if (!n.alive || !n.db || !n.env) return nullptr;
  std::vector<lib::store_config> stores;
  for (const auto& s : n.env->config.stores)
    stores.push_back({s.name, s.type, s.staging_path, s.store_path, s.ingestable, s.enabled,
                      s.capacity_bytes, s.report_full_fraction});
  auto c = std::make_unique<lib::catalog_state>(*n.db, n.name, stores, lib::catalog_limits{}, "");
  if (!c->load()) return nullptr;
  return c;
}

// "intact", "corrupt", "missing bytes" or "no local instance" for one file at one node.
std::string local_copy_state(node_slot& n, const lib::file_info& f) {
  bool any = false;
  for (const auto& i : f.instances) {
    if (!i.available) continue;
    any = true;
    auto d = lib::digest_path(*n.files, i.path);
    if (!d) return "missing bytes at " + i.path;
    if (d->checksum != f.checksum || d->size != f.size) return "corrupt at " + i.path;
  }
  return any ? "intact" : "no local instance";
}

// Rolling deletion may free this node's copy once enough peers verified theirs.
uint32_t deletion_threshold(const node_slot& n) {
  if (!n.env || n.env->config.background.rolling_deletion.empty()) return 0;
  return n.env->config.background.rolling_deletion.front().number_of_remote_copies;
}

// Where the node's send_clone task sends its files ("" when it has none).
std::string successor(const world_impl& w, const node_slot& n) {
  auto cfg = w.config_for(n);
  return cfg.background.send_clone.empty()
             ? std::string{}
             : cfg.background.send_clone.front().destination_librarian;
}

// The nodes a file ingested at `origin` must reach: origin and every node its clones lead to.
std::set<std::string> reach_of(world_impl& w, const std::string& origin) {
  std::set<std::string> out;
  for (auto at = origin; !at.empty() && out.insert(at).second;) {
    auto* n = w.find(at);
    at = n ? successor(w, *n) : std::string{};
  }
  return out;
}

}  // namespace

std::vector<std::string> world_impl::replica_violations(node_slot& n) {
  std::vector<std::string> out;
  auto catalog = durable_catalog(n);
  if (!catalog) return out;
  // Peers' catalogs, each loaded from its database once per check (null: the peer is down).
  std::map<std::string, std::unique_ptr<lib::catalog_state>> peer_catalogs;
  auto catalog_of = [&](node_slot& peer) -> lib::catalog_state* {
    auto [it, fresh] = peer_catalogs.try_emplace(peer.name);
    if (fresh) it->second = durable_catalog(peer);
    return it->second.get();
  };
  // Every name any node acknowledged, with its content.
  std::map<std::string, std::string> names;
  for (const auto& [node, files] : acked_files)
    for (const auto& [name, checksum] : files) names.emplace(name, checksum);
  for (const auto& [name, checksum] : names) {
    auto f = catalog->get_file(name);
    bool acked_here = acked_files[n.name].contains(name);
    if (!f) {
      if (acked_here)
        out.push_back("node " + n.name + " lost file '" + name +
                      "' that it had acknowledged ingesting");
      continue;
    }
    if (f->checksum != checksum)
      out.push_back("node " + n.name + " holds '" + name + "' as " + f->checksum +
                    ", but it was ingested as " + checksum);
    std::set<std::string> stores;
    for (const auto& i : f->instances)
      if (!stores.insert(i.store).second)
        out.push_back("node " + n.name + " has two instances of '" + name + "' on store " +
                      i.store);
    auto state = local_copy_state(n, *f);
    if (state != "intact" && state != "no local instance")
      out.push_back("node " + n.name + " committed a replica of '" + name + "' that is " + state);
    // A local copy may go only while enough peers hold intact ones (rolling deletion's
    // threshold); peers that are down cannot be read and are given the benefit of the doubt.
    if (state == "no local instance" && !f->instances.empty()) {
      uint32_t intact = 0, unknown = 0;
      for (const auto& r : f->remote_instances) {
        auto* peer = find(r.librarian);
        auto* theirs = peer ? catalog_of(*peer) : nullptr;
        if (!theirs) {
          ++unknown;
          continue;
        }
        auto copy = theirs->get_file(name);
        if (copy && local_copy_state(*peer, *copy) == "intact") ++intact;
      }
      auto needed = std::max<uint32_t>(1, deletion_threshold(n));
      if (intact + unknown < needed)
        out.push_back("node " + n.name + " deleted its copy of '" + name + "' with only " +
                      std::to_string(intact) + " intact copies elsewhere (needs " +
                      std::to_string(needed) + ")");
    }
    // A remote instance is recorded only after the peer committed the copy.
    std::set<std::string> peers;
    for (const auto& r : f->remote_instances) {
      if (!peers.insert(r.librarian).second)
        out.push_back("node " + n.name + " records two remote instances of '" + name + "' at " +
                      r.librarian);
      auto* peer = find(r.librarian);
      if (!peer) continue;
      auto* theirs = catalog_of(*peer);
      if (theirs && !theirs->get_file(name))
        out.push_back("node " + n.name + " records a copy of '" + name + "' at " + r.librarian +
                      ", which has not committed it (announced before commit)");
    }
  }
  return out;
}

std::vector<std::string> world::check_replication_converged() {
  auto& w = *impl_;
  std::map<std::string, std::string> names;
  std::map<std::string, std::set<std::string>> holders;  // name -> nodes that must hold it
  std::map<std::string, std::set<std::string>> reach;    // origin -> its reach
  for (const auto& [node, files] : w.acked_files) {
    if (!reach.contains(node)) reach[node] = reach_of(w, node);
    for (const auto& [name, checksum] : files) {
      names.emplace(name, checksum);
      holders[name].insert(reach[node].begin(), reach[node].end());
    }
  }
  std::vector<std::string> open;
  constexpr int rounds_max = 120;  // 120 x 500 ms of virtual time
  for (int round = 0; round < rounds_max; ++round) {
    open.clear();
    for (auto& n : w.nodes) {
      auto catalog = durable_catalog(n);
      if (!catalog) continue;
      auto next = successor(w, n);
      // No transfer stays unresolved past its hypervisor's age (plus two hypervisor periods).
      replication_state rep{*n.db, n.name, n.env->config.replication};
      if (rep.load()) {
        int64_t age_ms = 0, every_ms = 0;
        for (const auto& h : n.env->config.background.outgoing_transfer_hypervisor) {
          age_ms = static_cast<int64_t>(h.age_in_days * 86'400'000.0);
          every_ms = h.every_ms;
        }
        auto limit = w.clock.now_unix_ms() - age_ms - 2 * every_ms;
        using transfer::batch_state;
        using transfer::xfer_status;
        for (const auto& [id, o] : rep.live_outgoing()) {
          if (o.start_unix_ms >= limit) continue;
          auto b = rep.batch(o.batch_id);
          open.push_back("node " + n.name + "'s outgoing transfer " + std::to_string(id) + " of '" +
                         o.file + "' to " + o.destination + " is unresolved (" +
                         std::string{transfer::name(static_cast<xfer_status>(o.status))} +
                         ", batch " + std::to_string(o.batch_id) + " " +
                         (b ? std::string{transfer::name(static_cast<batch_state>(b->state))} +
                                  " retries " + std::to_string(b->retries) + " " + b->message
                            : std::string{"gone"}) +
                         ")");
        }
        for (const auto& [id, r] : rep.live_incoming())
          if (r.start_unix_ms < limit)
            open.push_back("node " + n.name + "'s incoming transfer " + std::to_string(id) +
                           " of '" + r.file + "' from " + r.source + " is unresolved (" +
                           std::string{transfer::name(static_cast<xfer_status>(r.status))} + " " +
                           r.message + ")");
      }
      for (const auto& [name, checksum] : names) {
        if (!holders[name].contains(n.name)) continue;
        auto f = catalog->get_file(name);
        if (!f) {
          open.push_back("node " + n.name + " never received '" + name + "'");
          continue;
        }
        auto state = local_copy_state(n, *f);
        bool freed = state == "no local instance" && deletion_threshold(n) > 0;
        if (state != "intact" && !freed)
          open.push_back("node " + n.name + "'s copy of '" + name + "': " + state);
        if (next.empty()) continue;
        bool recorded = false;
        for (const auto& r : f->remote_instances) recorded = recorded || r.librarian == next;
        if (!recorded)
          open.push_back("node " + n.name + " never recorded the copy of '" + name + "' at " +
                         next);
      }
    }
    if (open.empty()) break;
    advance(milliseconds{500});
  }
  for (auto& o : open) o += " (within 60 s of settling)";
  return open;
}

namespace {

// The seeded bytes of one upload and their catalog checksum.
expected<std::pair<std::string, std::string>> make_content(world_impl& w, uint64_t size) {
  std::string bytes(size, '\0');
  for (auto& c : bytes) c = static_cast<char>(w.chaos.next());
  memory_file_system scratch;
  if (auto st = scratch.write_file("/f", bytes); !st) return st.err();
  auto digest = lib::digest_path(scratch, "/f");
  if (!digest) return digest.err();
  return std::make_pair(std::move(bytes), digest->checksum);
}

}  // namespace

expected<size_t> world::ingest(const std::string& node, const std::string& prefix, size_t count,
                               uint64_t bytes, size_t window, milliseconds limit) {
  auto& w = *impl_;
  auto* n = w.find(node);
  if (!n) return fail(errc::not_found, "no node named '" + node + "'");
  if (!n->alive) return fail(errc::unavailable, "node " + node + " is down");
  struct run_state {
    size_t next = 0, finished = 0;
    std::vector<std::pair<std::string, std::string>> acked;  // name, checksum
    std::optional<error> failure;
  };
  auto run = std::make_shared<run_state>();
  auto dest = n->node;
  auto files = n->files;
  auto timeout = caf::timespan{limit};
  auto* world = &w;
  w.sys.spawn([=](caf::event_based_actor* self) {
    // One upload: stage, write the bytes where the stage says, commit; then the next one.
    auto one = std::make_shared<std::function<void()>>();
    *one = [=] {
      if (run->next >= count || run->failure) return;
      auto name = prefix + std::to_string(run->next++);
      auto content = make_content(*world, bytes);
      if (!content) {
        run->failure = content.err();
        return;
      }
      lib::stage_request req;
      req.name = name;
      req.size = bytes;
      req.checksum = content->second;
      req.uploader = "sim";
      auto settle = [=](std::optional<error> problem) {
        ++run->finished;
        if (problem && !run->failure) run->failure = problem;
        (*one)();
      };
      self->request(dest, timeout, atoms::ask_atom_v, std::string{"librarian"},
                    caf::make_message(atoms::stage_atom_v, req))
          .then(
              [=](const lib::stage_reply& reply) {
                if (reply.already_present) {
                  run->acked.emplace_back(name, content->second);
                  return settle(std::nullopt);
                }
                if (auto st = files->write_file(reply.staging_file, content->first); !st)
                  return settle(st.err());
                self->request(dest, timeout, atoms::ask_atom_v, std::string{"librarian"},
                              caf::make_message(atoms::commit_atom_v, reply.upload_id,
                                                std::string{"sim"}, true))
                    .then(
                        [=](const lib::file_info&) {
                          run->acked.emplace_back(name, content->second);
                          settle(std::nullopt);
                        },
                        [=](caf::error& err) { settle(from_caf(err)); });
              },
              [=](caf::error& err) { settle(from_caf(err)); });
    };
    for (size_t i = 0; i < std::max<size_t>(1, window); ++i) (*one)();
  });
  w.run_until([run, count] { return run->finished >= count || run->failure.has_value(); }, limit);
  for (const auto& [name, checksum] : run->acked) w.acked_files[node][name] = checksum;
  w.trace("ingested " + std::to_string(run->acked.size()) + " files at " + node);
  if (run->failure && run->acked.size() < count) return *run->failure;
  return run->acked.size();
}

expected<size_t> world::copies_recorded(const std::string& node, const std::string& peer) {
  auto* n = impl_->find(node);
  if (!n) return fail(errc::not_found, "no node named '" + node + "'");
  if (!n->alive || !n->db) return fail(errc::unavailable, "node " + node + " is down");
  std::string prefix;
  storage::append_string(prefix, peer);
  auto table = n->db->get_table(lib::remotes_by_librarian_table);
  size_t total = 0;
  std::string after;
  for (;;) {
    auto page = n->db->scan_prefix(table, prefix, 10000, after);
    if (!page) return page.err();
    total += page->rows.size();
    if (!page->more || page->rows.empty()) break;
    after = page->rows.back().key;
  }
  return total;
}

expected<std::string> world::world_message(const std::string& node, const std::string& message,
                                           const std::vector<std::string>& args,
                                           milliseconds timeout) {
  auto& w = *impl_;
  auto* n = w.find(node);
  if (!n) return fail(errc::not_found, "no node named '" + node + "'");
  if (!n->alive) return fail(errc::unavailable, "node " + node + " is down");
  auto lookup = [&](const std::string& name) -> expected<lib::file_info> {
    auto info = std::make_shared<lib::file_info>();
    auto printer = typed_ask<lib::file_info>([info](const lib::file_info& f) {
      *info = f;
      return std::string{"ok"};
    });
    auto text = ask_payload(node, "librarian", caf::make_message(atoms::lookup_atom_v, name),
                            printer, timeout);
    if (!text) return text.err();
    return *info;
  };
  if (message == "upload" && args.size() == 2) {
    const auto& name = args[0];
    char* end = nullptr;
    auto size = std::strtoull(args[1].c_str(), &end, 10);
    if (args[1].empty() || *end != '\0' || size > (uint64_t{16} << 20))
      return fail(errc::invalid_argument, "upload NAME BYTES wants BYTES from 0 to 16777216");
    auto content = make_content(w, size);
    if (!content) return content.err();
    const auto& [bytes, checksum] = *content;
    lib::stage_request req;
    req.name = name;
    req.size = size;
    req.checksum = checksum;
    req.uploader = "sim";
    auto reply = std::make_shared<lib::stage_reply>();
    auto staged = ask_payload(node, "librarian", caf::make_message(atoms::stage_atom_v, req),
                              typed_ask<lib::stage_reply>([reply](const lib::stage_reply& r) {
                                *reply = r;
                                return std::string{"ok"};
                              }),
                              timeout);
    if (!staged) return staged.err();
    if (!reply->already_present) {
      if (!n->alive) return fail(errc::unavailable, "node " + node + " went down");
      if (auto st = n->files->write_file(reply->staging_file, bytes); !st) return st.err();
      auto committed = ask_payload(
          node, "librarian",
          caf::make_message(atoms::commit_atom_v, reply->upload_id, std::string{"sim"}, true),
          typed_ask<lib::file_info>([](const lib::file_info&) { return std::string{"ok"}; }),
          timeout);
      if (!committed) return committed.err();
    }
    w.acked_files[node][name] = checksum;
    w.trace("acked file " + node + " " + name);
    return std::string{"ok"};
  }
  if (message == "transfers" && args.size() == 2 && (args[1] == "on" || args[1] == "off")) {
    // librarian-change-transfer-status: switch this node's transfers to a peer on or off.
    return ask_payload(node, "librarian",
                       caf::make_message(atoms::transfers_atom_v, args[0], args[1] == "on"),
                       typed_ask<lib::librarian_info>(
                           [](const lib::librarian_info&) { return std::string{"ok"}; }),
                       timeout);
  }
  if (message == "counters" && args.empty()) {
    // The replicator's counters since its start, one "name value" per line.
    return ask_payload(
        node, "replicator", caf::make_message(atoms::report_atom_v),
        typed_ask<transfer::replication_report>([](const transfer::replication_report& r) {
          std::string out;
          for (const auto& c : r.counters) out += c.name + " " + std::to_string(c.count) + "\n";
          return out;
        }),
        timeout);
  }
  if (message == "has" && args.size() == 1) {
    auto f = lookup(args[0]);
    if (!f) return f.err();
    return local_copy_state(*n, *f);
  }
  return fail(errc::invalid_argument,
              "the world understands: upload NAME BYTES, has NAME, transfers PEER on|off, counters "
              "(got \"" +
                  message + "\" with " + std::to_string(args.size()) + " arguments)");
}

}  // namespace librarian::sim
