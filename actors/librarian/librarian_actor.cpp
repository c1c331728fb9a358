#include "actors/librarian/librarian_actor.hpp"

#include <caf/all.hpp>
#include <filesystem>
#include <optional>
#include <set>

#include "actors/librarian/catalog_state.hpp"
#include "actors/librarian/file_checksum.hpp"
#include "actors/librarian/file_ops.hpp"
#include "actors/librarian/secrets.hpp"
#include "actors/mcs/interface.hpp"
#include "actors/node/route.hpp"
#include "actors/rls/interface.hpp"
#include "runtime/caf/commit_tracker.hpp"
#include "runtime/caf/error.hpp"
#include "runtime/log.hpp"

namespace librarian::lib {
namespace {

using namespace std::chrono_literals;

// Stale uploads handled per reaper tick; the rest wait for the next tick.
constexpr size_t reap_batch_max = 100;
constexpr size_t sweep_entries_max = 1000;

struct librarian_shell {
  std::shared_ptr<node::node_env> env;
  caf::actor node;
  std::optional<catalog_state> catalog;
  commit_tracker commits;
  // Detached (own threads): fs for quick file-system work, hash for reading whole files, net
  // for peers. Split so one 2 GiB checksum does not hold up a mkdir or a ping.
  caf::actor fs_worker;
  caf::actor hash_worker;
  caf::actor net_worker;
  caf::actor import_worker;  // a second hasher, for imports
  uint64_t bulk_groups = 0;  // names bulk stages' staging groups
};

using self_ptr = librarian_actor::stateful_pointer<librarian_shell>;

int64_t now_ms(self_ptr self) {
  return self->state.env->clock->now_unix_ms();
}

template <class T>
caf::typed_response_promise<T> reply_after_commit(self_ptr self, storage::row_list rows,
                                                  expected<T> outcome) {
  storage::batch b;
  storage::append_rows(*self->state.env->db, rows, b);
  return librarian::reply_after_commit(self, self->state.commits, *self->state.env->committer,
                                       std::move(b), std::move(outcome));
}

template <class T>
caf::typed_response_promise<T> reply_now(self_ptr self, expected<T> outcome) {
  return reply_after_commit(self, storage::row_list{}, std::move(outcome));
}

// Writes rows that announce nothing (the reaper's); a failed commit stops the actor.
void commit_quietly(self_ptr self, storage::row_list rows, std::function<void()> then) {
  storage::batch b;
  storage::append_rows(*self->state.env->db, rows, b);
  self->state.commits.submit(self, *self->state.env->committer, std::move(b),
                             [self, then](const status& st) {
                               if (!st) {
                                 self->quit(to_caf(st.err()));
                                 return;
                               }
                               if (then) then();
                             });
}

// Runs fn once every commit submitted so far is durable, so it reads the rows those commits
// wrote (instance rows are read from the DB, changed and written back: a validation recorded
// while a manifest's "unavailable" was still on its way to disk would undo it). Gives up
// waiting after `tries` rounds of further writes, and runs fn anyway.
void when_settled(self_ptr self, std::function<void()> fn, int tries = 50) {
  if (self->state.commits.pending() == 0 || tries <= 0) return fn();
  self->state.commits.submit(
      self, *self->state.env->committer, storage::batch{},
      [self, fn, tries](const status&) { when_settled(self, fn, tries - 1); });
}

caf::behavior worker_behavior(caf::event_based_actor*, std::shared_ptr<file_system> fs) {
  return {
      [fs](mkdir_atom, const std::string& dir) -> caf::result<void> {
        if (auto st = make_staging_dir(*fs, dir); !st) return to_caf(st.err());
        return caf::unit;
      },
      [fs](mkdir_atom, const std::vector<std::string>& dirs) -> caf::result<void> {
        for (const auto& dir : dirs)
          if (auto st = make_staging_dir(*fs, dir); !st) return to_caf(st.err());
        return caf::unit;
      },
      // durable: sync the move now (a single commit); a bulk commit's members pass false and the
      // batch ends with (commit_atom, path).
      [fs](verify_atom, const std::string& staged, const std::string& staging_dir, uint64_t size,
           const std::string& checksum, const std::string& final_path,
           bool durable) -> caf::result<uint64_t> {
        auto out = verify_and_store(*fs, staged, staging_dir, size, checksum, final_path, durable);
        if (!out) return to_caf(out.err());
        return *out;
      },
      // Everything written to the file system of path (a store) is made durable at once.
      [fs](commit_atom, const std::string& path) -> caf::result<void> {
        if (auto st = fs->sync_all(path); !st) return to_caf(st.err());
        return caf::unit;
      },
      [fs](import_atom, const std::string& root, const std::string& under, const std::string& after,
           uint64_t max, const std::string& exclude) -> caf::result<import_batch> {
        auto out = walk_store(*fs, root, under, after, static_cast<size_t>(max), exclude);
        if (!out) return to_caf(out.err());
        return std::move(*out);
      },
      [fs](digest_atom, const std::string& root, import_batch& batch) -> import_batch {
        hash_batch(*fs, root, batch);
        return std::move(batch);
      },
      [fs](remove_atom, const std::string& path) -> caf::result<void> {
        const bool stage = path.substr(path.rfind('/') + 1).starts_with("upload-");
        if (auto st = stage ? remove_stage(*fs, path) : remove_tree(*fs, path); !st)
          return to_caf(st.err());
        return caf::unit;
      },
      [fs](digest_atom, const std::string& path) -> caf::result<std::string, uint64_t> {
        auto d = digest_path(*fs, path);
        if (!d) return to_caf(d.err());
        return {d->checksum, d->size};
      },
      [fs](sweep_atom, const std::string& root, const std::vector<std::string>& keep) -> uint64_t {
        auto n = sweep_staging(*fs, root, {keep.begin(), keep.end()}, sweep_entries_max);
        return n ? *n : 0;
      },
      [](ping_atom, const std::string& url, uint32_t port, const std::string& authenticator,
         int64_t timeout_ms) -> caf::result<int64_t> {
        auto rtt = ping_peer(url, port, authenticator, std::chrono::milliseconds(timeout_ms));
        if (!rtt) return to_caf(rtt.err());
        return *rtt;
      },
      [fs](prepare_atom, const std::string& staging,
           const std::string& store) -> caf::result<void> {
        if (auto st = prepare_store_dirs(*fs, staging, store); !st) return to_caf(st.err());
        return caf::unit;
      },
  };
}

// The workers start on first use: a node that never stages, hashes or pings never pays for their
// threads. Detached actors get their own thread even under CAF's test coordinator, so the
// simulator (worker_threads off) runs them as ordinary actors on its deterministic scheduler.
caf::actor& spawn_once(self_ptr self, caf::actor& slot) {
  if (slot) return slot;
  auto& env = *self->state.env;
  if (env.worker_threads)
    slot = self->spawn<caf::detached + caf::linked>(worker_behavior, env.fs);
  else
    slot = self->spawn<caf::linked>(worker_behavior, env.fs);
  return slot;
}
caf::actor& fs_worker(self_ptr self) {
  return spawn_once(self, self->state.fs_worker);
}
caf::actor& hash_worker(self_ptr self) {
  return spawn_once(self, self->state.hash_worker);
}
caf::actor& net_worker(self_ptr self) {
  return spawn_once(self, self->state.net_worker);
}

// ------------------------------------------------------------------------------------- uploads

caf::typed_response_promise<stage_reply> stage(self_ptr self, stage_request req) {
  storage::row_list rows;
  auto out = self->state.catalog->stage(req, now_ms(self), rows);
  if (!out || rows.empty())  // refused, already present, or a retried stage
    return reply_now(self, std::move(out));
  // Row first, then the directory: a crash in between leaves a row the reaper drops (removing a
  // missing directory is fine), never a directory nothing knows about.
  auto rp = self->make_response_promise<stage_reply>();
  auto reply = *out;
  storage::batch b;
  storage::append_rows(*self->state.env->db, rows, b);
  self->state.commits.submit(
      self, *self->state.env->committer, std::move(b), [self, rp, reply](const status& st) mutable {
        if (!st) {
          rp.deliver(to_caf(st.err()));
          self->quit(to_caf(st.err()));
          return;
        }
        self->request(fs_worker(self), caf::infinite, mkdir_atom_v, reply.staging_dir)
            .then([rp, reply]() mutable { rp.deliver(reply); },
                  [self, rp, reply](caf::error& err) mutable {
                    storage::row_list undo;
                    static_cast<void>(self->state.catalog->abort_upload(reply.upload_id, undo));
                    commit_quietly(self, std::move(undo), {});
                    rp.deliver(err);
                  });
      });
  return rp;
}

// The LRC committed nothing: forget what memory assumed, drop the upload and its moved bytes.
void undo_failed_commit(self_ptr self, const upload_row& u, const std::string& final_path) {
  if (auto st = self->state.catalog->load(); !st) {
    self->quit(to_caf(st.err()));
    return;
  }
  storage::row_list rows;
  static_cast<void>(self->state.catalog->abort_upload(u.id, rows));
  auto fs = fs_worker(self);
  commit_quietly(self, std::move(rows), [self, fs, u, final_path] {
    caf::anon_send(fs, remove_atom_v, final_path);
    caf::anon_send(fs, remove_atom_v, u.staging_dir);
  });
}

// The file is durable: the node's metadata catalog (if it runs one) records it with its default
// attributes. Fire and forget -- the catalog logs a failure; a crash before it commits loses
// only those attributes, never the file.
void describe_in_metadata_catalog(self_ptr self, const file_info& f) {
  if (!self->state.env->config.mcs.enabled) return;
  const auto& name = self->state.env->config.name;
  node::send_to_node(self->state.node, name, name, "mcs",
                     mcs::register_file_message(f.name, f.size, f.checksum, f.uploader, f.source,
                                                f.create_unix_ms));
}

void record_commit(self_ptr self, caf::typed_response_promise<file_info> rp, const upload_row& u,
                   const std::string& final_path, storage::row_list extra) {
  auto& catalog = *self->state.catalog;
  storage::row_list rows;
  auto out = catalog.finish_commit(u.id, final_path, now_ms(self), rows, u.checksum);
  if (out) rows.insert(rows.end(), extra.begin(), extra.end());
  if (!out) {
    rp.deliver(to_caf(out.err()));
    undo_failed_commit(self, u, final_path);
    return;
  }
  auto outcome = *out;
  self->request(self->state.node, caf::infinite, ask_atom_v, std::string{"lrc"},
                caf::make_message(attach_atom_v, outcome.lfn, outcome.pfn, std::move(rows)))
      .then(
          [self, rp, outcome](const rls::mapping&) mutable {
            self->state.catalog->commit_settled(outcome.file.name);
            describe_in_metadata_catalog(self, outcome.file);
            rp.deliver(outcome.file);
          },
          [self, rp, u, final_path](caf::error& err) mutable {
            LIB_LOG_WARN("librarian") << "commit of upload " << u.id << " (" << u.name
                                      << ") failed: " << from_caf(err).describe();
            undo_failed_commit(self, u, final_path);
            rp.deliver(err);
          });
}

// Claims an open upload for commit with the checksum declared now (begin_commit), which a stage
// without one must have.
expected<upload_row> claim_for_commit(self_ptr self, uint64_t id, const std::string& caller,
                                      bool admin, const std::string& checksum) {
  auto claimed = self->state.catalog->begin_commit(id, caller, admin, checksum);
  if (claimed && claimed->checksum.empty()) {
    self->state.catalog->release_commit(claimed->id);
    return fail(errc::invalid_argument,
                "upload " + std::to_string(id) +
                    " was staged without a checksum: the commit must declare it");
  }
  return claimed;
}

caf::typed_response_promise<file_info> commit(self_ptr self, uint64_t id, const std::string& caller,
                                              bool admin, storage::row_list extra = {},
                                              const std::string& checksum = {}) {
  auto rp = self->make_response_promise<file_info>();
  auto claimed = claim_for_commit(self, id, caller, admin, checksum);
  if (!claimed) {
    rp.deliver(to_caf(claimed.err()));
    return rp;
  }
  auto u = *claimed;
  auto final_path = self->state.catalog->instance_path(u.store, u.name);
  // Hashing reads the whole upload: on the hash worker's thread, never here.
  self->request(hash_worker(self), caf::infinite, verify_atom_v, u.staging_file, u.staging_dir,
                u.size, u.checksum, final_path, true)
      .then([self, rp, u, final_path,
             extra](uint64_t) mutable { record_commit(self, rp, u, final_path, std::move(extra)); },
            [self, rp, u](caf::error& err) mutable {
              auto problem = from_caf(err);
              if (problem.code == errc::not_found) {
                // Nothing staged yet: the upload stays open so the client can send and retry.
                self->state.catalog->release_commit(u.id);
              } else {
                // The worker removed the stage; the upload is over.
                storage::row_list rows;
                static_cast<void>(self->state.catalog->abort_upload(u.id, rows));
                commit_quietly(self, std::move(rows), {});
              }
              rp.deliver(err);
            });
  return rp;
}

// ------------------------------------------------------------------------------ bulk uploads

constexpr size_t bulk_items_max = 10000;

uint8_t code_of(const error& e) {
  return static_cast<uint8_t>(e.code);
}

// Many stages in one synced batch, all under one staging group of one store (so one tree ticket
// covers them); each item is staged, already present or refused on its own.
caf::typed_response_promise<bulk_stage_reply> stage_many(self_ptr self,
                                                         std::vector<stage_request> reqs) {
  auto& catalog = *self->state.catalog;
  if (reqs.empty() || reqs.size() > bulk_items_max)
    return reply_now(self, expected<bulk_stage_reply>{
                               fail(errc::invalid_argument,
                                    "a bulk stage takes 1 to " + std::to_string(bulk_items_max) +
                                        " files, got " + std::to_string(reqs.size()))});
  const auto now = now_ms(self);
  const std::string group =
      "bulk-" + std::to_string(now) + "-" + std::to_string(++self->state.bulk_groups);
  bulk_stage_reply out;
  out.items.resize(reqs.size());
  out.codes.assign(reqs.size(), 0);
  out.messages.resize(reqs.size());
  storage::row_list rows;
  std::string store = reqs.front().store;
  std::vector<std::string> dirs;
  std::vector<uint64_t> fresh;
  for (size_t i = 0; i < reqs.size(); ++i) {
    auto& r = reqs[i];
    r.group = group;
    if (r.store.empty()) r.store = store;  // the first item's choice holds for the rest
    const auto before = rows.size();
    auto st = catalog.stage(r, now, rows);
    if (!st) {
      out.codes[i] = code_of(st.err());
      out.messages[i] = st.err().message;
      out.items[i].name = r.name;
      continue;
    }
    out.items[i] = *st;
    if (st->already_present) continue;
    if (store.empty()) store = st->store;
    if (rows.size() > before) {  // new, not a retried stage
      fresh.push_back(st->upload_id);
      if (out.group_dir.empty()) {
        // The uploads are flat files in the group's directory (catalog_state::stage).
        out.group_dir = std::filesystem::path{st->staging_dir}.parent_path().string();
        dirs.push_back(out.group_dir);
      }
    }
  }
  if (rows.empty()) return reply_now(self, expected<bulk_stage_reply>{std::move(out)});
  auto rp = self->make_response_promise<bulk_stage_reply>();
  storage::batch b;
  storage::append_rows(*self->state.env->db, rows, b);
  self->state.commits.submit(
      self, *self->state.env->committer, std::move(b),
      [self, rp, out, dirs, fresh](const status& st) mutable {
        if (!st) {
          rp.deliver(to_caf(st.err()));
          self->quit(to_caf(st.err()));
          return;
        }
        self->request(fs_worker(self), caf::infinite, mkdir_atom_v, dirs)
            .then([rp, out]() mutable { rp.deliver(out); },
                  [self, rp, fresh](caf::error& err) mutable {
                    storage::row_list undo;
                    for (auto id : fresh)
                      static_cast<void>(self->state.catalog->abort_upload(id, undo));
                    commit_quietly(self, std::move(undo), {});
                    rp.deliver(err);
                  });
      });
  return rp;
}

struct bulk_commit_job {
  bulk_commit_reply reply;
  std::vector<std::optional<upload_row>> claimed;  // verified ones keep their row
  std::vector<std::string> final_paths;
  size_t waiting = 0;
  storage::row_list aborted;          // rows of uploads whose bytes failed verification
  std::optional<error> sync_failure;  // the batch could not be made durable
};

void finish_bulk_commit(self_ptr self, caf::typed_response_promise<bulk_commit_reply> rp,
                        std::shared_ptr<bulk_commit_job> job) {
  auto& catalog = *self->state.catalog;
  storage::row_list rows = std::move(job->aborted);
  std::vector<rls::mapping> mappings;
  std::vector<size_t> committed;
  const auto now = now_ms(self);
  for (size_t i = 0; i < job->claimed.size(); ++i) {
    if (!job->claimed[i]) continue;
    const auto& u = *job->claimed[i];
    if (job->sync_failure) {  // moved, but not durably: nothing is recorded
      job->reply.codes[i] = code_of(*job->sync_failure);
      job->reply.messages[i] = job->sync_failure->message;
      storage::row_list dropped;
      static_cast<void>(catalog.abort_upload(u.id, dropped));  // also ends the claim
      rows.insert(rows.end(), dropped.begin(), dropped.end());
      caf::anon_send(fs_worker(self), remove_atom_v, job->final_paths[i]);
      job->claimed[i].reset();
      continue;
    }
    auto out = catalog.finish_commit(u.id, job->final_paths[i], now, rows, u.checksum);
    if (!out) {  // the store went away meanwhile: this one only
      job->reply.codes[i] = code_of(out.err());
      job->reply.messages[i] = out.err().message;
      undo_failed_commit(self, u, job->final_paths[i]);
      job->claimed[i].reset();
      continue;
    }
    job->reply.files[i] = out->file;
    mappings.push_back({out->lfn, out->pfn});
    committed.push_back(i);
  }
  if (mappings.empty()) {
    commit_quietly(self, std::move(rows), [rp, job]() mutable { rp.deliver(job->reply); });
    return;
  }
  self->request(self->state.node, caf::infinite, ask_atom_v, std::string{"lrc"},
                caf::make_message(attach_atom_v, std::move(mappings), std::move(rows)))
      .then(
          [self, rp, job, committed](uint64_t) mutable {
            for (auto i : committed) {
              self->state.catalog->commit_settled(job->reply.files[i].name);
              describe_in_metadata_catalog(self, job->reply.files[i]);
            }
            rp.deliver(job->reply);
          },
          [self, rp, job, committed](caf::error& err) mutable {
            auto why = from_caf(err);
            LIB_LOG_WARN("librarian")
                << "bulk commit of " << committed.size() << " uploads failed: " << why.describe();
            for (auto i : committed) {
              undo_failed_commit(self, *job->claimed[i], job->final_paths[i]);
              job->reply.files[i] = file_info{};
              job->reply.codes[i] = code_of(why);
              job->reply.messages[i] = "the batch's LRC mappings were refused: " + why.message;
            }
            rp.deliver(job->reply);
          });
}

// Many commits: each upload verified on its own (the hash worker trusts the data channel's
// seals), then every verified one recorded in ONE batch with its LRC mapping.
caf::typed_response_promise<bulk_commit_reply> commit_many(self_ptr self,
                                                           const bulk_commit_request& req,
                                                           const std::string& caller, bool admin) {
  const size_t n = req.upload_ids.size();
  if (n == 0 || n > bulk_items_max || req.checksums.size() != n)
    return reply_now(self, expected<bulk_commit_reply>{
                               fail(errc::invalid_argument,
                                    "a bulk commit takes 1 to " + std::to_string(bulk_items_max) +
                                        " uploads, each with a checksum (or \"\")")});
  auto& catalog = *self->state.catalog;
  auto job = std::make_shared<bulk_commit_job>();
  job->reply.files.resize(n);
  job->reply.codes.assign(n, 0);
  job->reply.messages.resize(n);
  job->claimed.resize(n);
  job->final_paths.resize(n);
  for (size_t i = 0; i < n; ++i) {
    auto claimed = claim_for_commit(self, req.upload_ids[i], caller, admin, req.checksums[i]);
    if (!claimed) {
      job->reply.codes[i] = code_of(claimed.err());
      job->reply.messages[i] = claimed.err().message;
      continue;
    }
    job->claimed[i] = *claimed;
    job->final_paths[i] = catalog.instance_path(claimed->store, claimed->name);
  }
  auto rp = self->make_response_promise<bulk_commit_reply>();
  std::set<std::string> store_paths;
  for (size_t i = 0; i < n; ++i) {
    if (!job->claimed[i]) continue;
    ++job->waiting;
    const auto& u = *job->claimed[i];
    const auto& final_path = job->final_paths[i];
    store_paths.insert(final_path.substr(0, final_path.size() - u.name.size() - 1));
    // Not synced one by one: the batch is synced once, below, behind every move.
    self->request(hash_worker(self), caf::infinite, verify_atom_v, u.staging_file, u.staging_dir,
                  u.size, u.checksum, final_path, false)
        .then(
            [self, rp, job](uint64_t) mutable {
              if (--job->waiting == 0) finish_bulk_commit(self, rp, job);
            },
            [self, rp, job, i](caf::error& err) mutable {
              auto problem = from_caf(err);
              const auto id = job->claimed[i]->id;
              if (problem.code == errc::not_found)
                self->state.catalog->release_commit(id);  // nothing staged yet: stays open
              else
                static_cast<void>(self->state.catalog->abort_upload(id, job->aborted));
              job->claimed[i].reset();
              job->reply.codes[i] = code_of(problem);
              job->reply.messages[i] = problem.message;
              if (--job->waiting == 0) finish_bulk_commit(self, rp, job);
            });
  }
  // The worker takes requests in order, so this runs after every move above.
  for (const auto& path : store_paths) {
    ++job->waiting;
    self->request(hash_worker(self), caf::infinite, commit_atom_v, path)
        .then(
            [self, rp, job]() mutable {
              if (--job->waiting == 0) finish_bulk_commit(self, rp, job);
            },
            [self, rp, job](caf::error& err) mutable {
              job->sync_failure = from_caf(err);
              if (--job->waiting == 0) finish_bulk_commit(self, rp, job);
            });
  }
  if (job->waiting == 0) rp.deliver(job->reply);
  return rp;
}

// ---------------------------------------------------------------------------------- import

constexpr uint64_t import_files_default = 100'000;
constexpr uint64_t import_files_max = 1'000'000;
constexpr size_t import_chunk = 1000;  // files hashed per worker request, recorded per batch

struct import_job {
  import_request req;
  std::string store_path;
  import_report report;
  size_t chunks_waiting = 0;
  void problem(const std::string& line) {
    ++report.failed;
    if (report.problems.size() < 100) report.problems.push_back(line);
  }
};

caf::actor& import_worker(self_ptr self) {
  return spawn_once(self, self->state.import_worker);
}

void import_chunk_done(self_ptr, caf::typed_response_promise<import_report> rp,
                       std::shared_ptr<import_job> job) {
  if (--job->chunks_waiting == 0) rp.deliver(job->report);
}

// One hashed chunk: record what is new (or a new instance of a known file) in one batch with
// its LRC mappings.
void record_import_chunk(self_ptr self, caf::typed_response_promise<import_report> rp,
                         std::shared_ptr<import_job> job, import_batch batch) {
  std::vector<catalog_state::import_entry> entries;
  for (size_t i = 0; i < batch.paths.size(); ++i) {
    if (!batch.errors[i].empty()) {
      job->problem(batch.paths[i] + ": " + batch.errors[i]);
      continue;
    }
    job->report.bytes_hashed += batch.sizes[i];
    entries.push_back({batch.paths[i], batch.sizes[i], batch.checksums[i]});
  }
  if (job->req.dry_run || entries.empty()) {
    if (job->req.dry_run) job->report.imported += entries.size();
    return import_chunk_done(self, rp, job);
  }
  storage::row_list rows;
  std::vector<std::pair<std::string, std::string>> pairs;
  std::vector<bool> known;
  auto outcomes = self->state.catalog->record_imports(job->req.store, entries, job->req.uploader,
                                                      now_ms(self), rows, pairs, known);
  uint64_t fresh = 0, added = 0;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    if (!outcomes[i]) {
      if (outcomes[i].err().code == errc::already_exists)
        ++job->report.already_present;
      else
        job->problem(entries[i].name + ": " + outcomes[i].err().message);
    } else if (known[i]) {
      ++added;
    } else {
      ++fresh;
    }
  }
  if (pairs.empty()) return import_chunk_done(self, rp, job);
  std::vector<rls::mapping> mappings;
  mappings.reserve(pairs.size());
  for (auto& [lfn, pfn] : pairs) mappings.push_back({std::move(lfn), std::move(pfn)});
  self->request(self->state.node, caf::infinite, ask_atom_v, std::string{"lrc"},
                caf::make_message(attach_atom_v, std::move(mappings), std::move(rows)))
      .then(
          [self, rp, job, fresh, added](uint64_t) mutable {
            job->report.imported += fresh;
            job->report.instances_added += added;
            import_chunk_done(self, rp, job);
          },
          [self, rp, job, fresh, added](caf::error& err) mutable {
            // Memory counted rows that did not commit: back to what is durable.
            if (auto st = self->state.catalog->load(); !st) self->quit(to_caf(st.err()));
            job->problem(std::to_string(fresh + added) +
                         " files were not recorded: " + from_caf(err).message);
            import_chunk_done(self, rp, job);
          });
}

caf::typed_response_promise<import_report> import_tree(self_ptr self, import_request req) {
  auto& catalog = *self->state.catalog;
  auto job = std::make_shared<import_job>();
  std::string staging;
  for (const auto& s : catalog.stores())
    if (s.name == req.store) {
      job->store_path = s.store_path;
      staging = s.staging_path;
    }
  if (job->store_path.empty())
    return reply_now(
        self, expected<import_report>{fail(errc::not_found, "no store named '" + req.store + "'")});
  if (!req.under.empty())
    if (auto st = validate_file_name(req.under, 4096); !st)
      return reply_now(self, expected<import_report>{
                                 fail(errc::invalid_argument, "under: " + st.err().message)});
  if (req.files_max == 0) req.files_max = import_files_default;
  if (req.files_max > import_files_max)
    return reply_now(self, expected<import_report>{
                               fail(errc::invalid_argument,
                                    "files_max is at most " + std::to_string(import_files_max))});
  job->req = req;
  auto rp = self->make_response_promise<import_report>();
  self->request(fs_worker(self), caf::infinite, import_atom_v, job->store_path, req.under,
                req.after, req.files_max, staging)
      .then(
          [self, rp, job](import_batch& walked) mutable {
            auto& report = job->report;
            report.files_seen = walked.paths.size();
            report.complete = walked.complete;
            report.next_after = walked.paths.empty() ? job->req.after : walked.paths.back();
            // What needs hashing: files not recorded there yet (the rest cost one lookup).
            std::vector<import_batch> chunks;
            for (size_t i = 0; i < walked.paths.size(); ++i) {
              const auto& path = walked.paths[i];
              if (!walked.errors[i].empty()) {
                job->problem(path + ": " + walked.errors[i]);
                continue;
              }
              auto kind = self->state.catalog->import_check(job->req.store, path);
              if (!kind) {
                job->problem(path + ": " + kind.err().message);
                continue;
              }
              if (*kind == catalog_state::import_kind::present) {
                ++report.already_present;
                continue;
              }
              if (chunks.empty() || chunks.back().paths.size() >= import_chunk)
                chunks.emplace_back();
              chunks.back().paths.push_back(path);
              chunks.back().sizes.push_back(walked.sizes[i]);
              chunks.back().errors.emplace_back();
            }
            if (chunks.empty()) {
              rp.deliver(job->report);
              return;
            }
            job->chunks_waiting = chunks.size();
            // Two workers hash side by side (one per core); recording stays on this actor.
            for (size_t c = 0; c < chunks.size(); ++c) {
              auto& worker = c % 2 == 0 ? hash_worker(self) : import_worker(self);
              self->request(worker, caf::infinite, digest_atom_v, job->store_path,
                            std::move(chunks[c]))
                  .then(
                      [self, rp, job](import_batch& hashed) mutable {
                        record_import_chunk(self, rp, job, std::move(hashed));
                      },
                      [self, rp, job](caf::error& err) mutable {
                        job->problem("hashing failed: " + from_caf(err).message);
                        import_chunk_done(self, rp, job);
                      });
            }
          },
          [rp](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

caf::typed_response_promise<uint64_t> cancel(self_ptr self, uint64_t id, const std::string& caller,
                                             bool admin) {
  auto& catalog = *self->state.catalog;
  const auto& open = catalog.open_uploads();
  auto it = open.find(id);
  if (it == open.end() || (!admin && it->second.uploader != caller))
    return reply_now(self, expected<uint64_t>{fail(
                               errc::not_found, "no open upload with id " + std::to_string(id))});
  auto claimed = catalog.begin_commit(id, caller, admin);  // refuses one being committed
  if (!claimed) return reply_now(self, expected<uint64_t>{claimed.err()});
  storage::row_list rows;
  auto u = catalog.abort_upload(id, rows);
  if (u) caf::anon_send(fs_worker(self), remove_atom_v, u->staging_dir);
  return reply_after_commit(self, std::move(rows), expected<uint64_t>{id});
}

void reap(self_ptr self) {
  auto& catalog = *self->state.catalog;
  storage::row_list rows;
  std::vector<std::string> dirs;
  for (const auto& u : catalog.stale_uploads(now_ms(self), reap_batch_max)) {
    if (catalog.abort_upload(u.id, rows)) dirs.push_back(u.staging_dir);
    LIB_LOG_INFO("librarian") << "reaped stale upload " << u.id << " (" << u.name << ")";
  }
  std::vector<std::string> keep;
  for (const auto& [id, u] : catalog.open_uploads()) keep.push_back(u.staging_dir);
  auto stores = catalog.stores();
  // Nothing to remove and no store to sweep (a node without stores): no worker needed.
  caf::actor fs = dirs.empty() && stores.empty() ? caf::actor{} : fs_worker(self);
  commit_quietly(self, std::move(rows), [self, fs, dirs, keep, stores] {
    for (const auto& d : dirs) caf::anon_send(fs, remove_atom_v, d);
    // Stages with no upload row (a crash between the row's deletion and the directory's).
    for (const auto& s : stores) caf::anon_send(fs, sweep_atom_v, s.staging_path, keep);
  });
  self->delayed_send(
      self, std::chrono::seconds(self->state.env->config.librarian.reaper_interval_s), reap_atom_v);
}

// ----------------------------------------------------------------------------- check_integrity

// Instances hashed per batch; the hash worker takes them one after another, so one pass never
// floods the worker and requests interleave between batches.
constexpr size_t integrity_batch_max = 16;

void schedule_integrity(self_ptr self, uint32_t task) {
  const auto& t = self->state.env->config.librarian.check_integrity.at(task);
  self->delayed_send(self, std::chrono::seconds(t.every_s), integrity_atom_v, task, std::string{});
}

// One batch of a check_integrity pass: hash each instance, record the verdicts (CorruptFile rows
// and data_integrity errors for mismatches, data_availability errors for missing bytes).
void integrity_batch(self_ptr self, uint32_t task, const std::string& cursor) {
  const auto& t = self->state.env->config.librarian.check_integrity.at(task);
  auto from = t.age_in_days == 0 ? int64_t{0} : now_ms(self) - t.age_in_days * 86'400'000LL;
  auto batch = self->state.catalog->instances_on_store(t.store, from, cursor, integrity_batch_max);
  if (!batch) {
    LIB_LOG_WARN("librarian") << "check_integrity of " << t.store << ": " << batch.err().describe();
    return schedule_integrity(self, task);
  }
  struct verdict {
    std::string name;
    uint64_t id = 0;
    std::string checksum;
    uint64_t size = 0;
    std::optional<error> problem;
  };
  struct pass {
    size_t pending = 0;
    std::vector<verdict> results;
  };
  auto run = std::make_shared<pass>();
  std::vector<std::pair<std::string, instance_info>> items;
  for (const auto& item : batch->items)
    if (item.second.available) items.push_back(item);  // gone bytes were reported already
  run->pending = items.size();
  auto more = batch->more;
  auto next = batch->next_after;
  auto finish = [self, task, run, more, next] {
    when_settled(self, [self, task, run, more, next] {
      auto& catalog = *self->state.catalog;
      storage::row_list rows;
      for (const auto& v : run->results) {
        if (!v.problem) {
          static_cast<void>(catalog.record_validation(v.name, v.id, v.checksum, v.size,
                                                      now_ms(self), "check_integrity", rows));
          continue;
        }
        if (v.problem->code == errc::not_found)
          static_cast<void>(catalog.mark_instance_unavailable(v.name, v.id, rows));
        static_cast<void>(catalog.raise_error("error", "data_availability",
                                              "check_integrity: instance " + std::to_string(v.id) +
                                                  " of '" + v.name + "': " + v.problem->message,
                                              "check_integrity", now_ms(self), rows));
      }
      commit_quietly(self, std::move(rows), {});
      if (more)
        self->send(self, integrity_atom_v, task, next);
      else
        schedule_integrity(self, task);
    });
  };
  if (items.empty()) return finish();
  for (const auto& [name, inst] : items) {
    auto done = [run, finish](verdict v) {
      run->results.push_back(std::move(v));
      if (--run->pending == 0) finish();
    };
    self->request(hash_worker(self), caf::infinite, digest_atom_v, inst.path)
        .then(
            [done, name = name, id = inst.id](const std::string& checksum, uint64_t size) {
              done({name, id, checksum, size, std::nullopt});
            },
            [done, name = name, id = inst.id](caf::error& err) {
              done({name, id, "", 0, from_caf(err)});
            });
  }
}

// ---------------------------------------------------------------------------------- validation

struct validation_run {
  std::vector<validation_item> items;
  size_t pending = 0;
  file_info file;
};

caf::typed_response_promise<std::vector<validation_item>> validate(self_ptr self,
                                                                   const std::string& name) {
  using result = std::vector<validation_item>;
  auto rp = self->make_response_promise<result>();
  auto file = self->state.catalog->get_file(name);
  if (!file) {
    rp.deliver(to_caf(file.err()));
    return rp;
  }
  auto run = std::make_shared<validation_run>();
  run->file = *file;
  for (const auto& r : file->remote_instances)
    run->items.push_back({r.librarian, "", 0, "", file->checksum, file->size, "", 0, false,
                          "not asked: validation at peer librarians is not implemented yet"});
  std::vector<instance_info> local;
  for (const auto& i : file->instances) {
    if (!i.available) {
      run->items.push_back({self->state.env->config.name, i.store, i.id, i.path, file->checksum,
                            file->size, "", 0, false, "instance is marked unavailable"});
      continue;
    }
    local.push_back(i);
  }
  run->pending = local.size();
  auto done_one = [self, rp, run]() mutable {
    if (--run->pending != 0) return;
    when_settled(self, [self, rp, run]() mutable {
      storage::row_list rows;
      for (auto& item : run->items) {
        if (item.current_checksum.empty()) continue;
        auto recorded = self->state.catalog->record_validation(
            run->file.name, item.instance_id, item.current_checksum, item.current_size,
            now_ms(self), "validate-file", rows);
        if (recorded) item = *recorded;
      }
      storage::batch b;
      storage::append_rows(*self->state.env->db, rows, b);
      auto items = run->items;
      self->state.commits.submit(self, *self->state.env->committer, std::move(b),
                                 [self, rp, items](const status& st) mutable {
                                   if (!st) {
                                     rp.deliver(to_caf(st.err()));
                                     self->quit(to_caf(st.err()));
                                     return;
                                   }
                                   rp.deliver(items);
                                 });
    });
  };
  if (local.empty()) {
    run->pending = 1;
    done_one();
    return rp;
  }
  for (const auto& i : local) {
    auto index = run->items.size();
    run->items.push_back({self->state.env->config.name, i.store, i.id, i.path, file->checksum,
                          file->size, "", 0, false, ""});
    self->request(hash_worker(self), caf::infinite, digest_atom_v, i.path)
        .then(
            [run, index, done_one](const std::string& checksum, uint64_t size) mutable {
              run->items[index].current_checksum = checksum;
              run->items[index].current_size = size;
              done_one();
            },
            [run, index, done_one](caf::error& err) mutable {
              run->items[index].problem = from_caf(err).message;
              done_one();
            });
  }
  return rp;
}

// --------------------------------------------------------------------------------------- peers

struct ping_run {
  std::vector<librarian_info> peers;
  size_t pending = 0;
};

void ping_all(self_ptr self, std::shared_ptr<ping_run> run, std::function<void()> done) {
  if (run->peers.empty()) return done();
  run->pending = run->peers.size();
  auto timeout_ms = self->state.env->config.librarian.ping_timeout_ms;
  auto one_done = [self, run, done]() {
    if (--run->pending != 0) return;
    // Remember who answered (last seen), quietly: a lost last-seen stamp is harmless.
    storage::row_list rows;
    for (const auto& p : run->peers)
      if (p.ping_state == "up")
        static_cast<void>(self->state.catalog->mark_seen(p.name, now_ms(self), rows));
    commit_quietly(self, std::move(rows), {});
    done();
  };
  for (size_t i = 0; i < run->peers.size(); ++i) {
    auto& p = run->peers[i];
    auto auth = self->state.catalog->librarian_authenticator(p.name);
    if (!auth) {
      p.ping_state = "down";
      p.ping_error = auth.err().message;
      one_done();
      continue;
    }
    self->request(net_worker(self), std::chrono::milliseconds(timeout_ms + 2000), ping_atom_v,
                  p.url, p.port, *auth, timeout_ms)
        .then(
            [run, i, one_done](int64_t rtt) {
              run->peers[i].ping_state = "up";
              run->peers[i].rtt_us = rtt;
              one_done();
            },
            [run, i, one_done](caf::error& err) {
              run->peers[i].ping_state = "down";
              run->peers[i].ping_error = from_caf(err).message;
              one_done();
            });
  }
}

caf::typed_response_promise<std::vector<librarian_info>> list_peers(self_ptr self, bool ping) {
  using result = std::vector<librarian_info>;
  if (!ping) return reply_now(self, expected<result>{self->state.catalog->librarians()});
  auto rp = self->make_response_promise<result>();
  auto run = std::make_shared<ping_run>();
  run->peers = self->state.catalog->librarians();
  ping_all(self, run, [rp, run]() mutable { rp.deliver(run->peers); });
  return rp;
}

caf::typed_response_promise<librarian_info> add_peer(self_ptr self, add_librarian_request req) {
  auto rp = self->make_response_promise<librarian_info>();
  storage::row_list rows;
  auto added = self->state.catalog->add_librarian(req, now_ms(self), rows);
  if (!added) {
    rp.deliver(to_caf(added.err()));
    return rp;
  }
  storage::batch b;
  storage::append_rows(*self->state.env->db, rows, b);
  auto info = *added;
  bool check = req.check_connection;
  self->state.commits.submit(self, *self->state.env->committer, std::move(b),
                             [self, rp, info, check](const status& st) mutable {
                               if (!st) {
                                 rp.deliver(to_caf(st.err()));
                                 self->quit(to_caf(st.err()));
                                 return;
                               }
                               if (!check) {
                                 rp.deliver(info);
                                 return;
                               }
                               auto run = std::make_shared<ping_run>();
                               run->peers.push_back(info);
                               ping_all(self, run,
                                        [rp, run]() mutable { rp.deliver(run->peers.front()); });
                             });
  return rp;
}

// ------------------------------------------------------------------------- instances (tasks)

caf::typed_response_promise<instance_info> add_instance(self_ptr self, const std::string& name,
                                                        const std::string& store,
                                                        const std::string& path) {
  auto rp = self->make_response_promise<instance_info>();
  storage::row_list rows;
  auto out = self->state.catalog->add_instance(name, store, path, now_ms(self), rows);
  if (!out) {
    rp.deliver(to_caf(out.err()));
    return rp;
  }
  auto info = *out;
  self->request(self->state.node, caf::infinite, ask_atom_v, std::string{"lrc"},
                caf::make_message(attach_atom_v, name, "file://" + path, std::move(rows)))
      .then([rp, info](const rls::mapping&) mutable { rp.deliver(info); },
            [self, rp](caf::error& err) mutable {
              // Nothing was committed: memory's usage and counters go back to what is durable.
              if (auto st = self->state.catalog->load(); !st) self->quit(to_caf(st.err()));
              rp.deliver(err);
            });
  return rp;
}

caf::typed_response_promise<instance_info> drop_instance(self_ptr self, const std::string& name,
                                                         uint64_t id, bool keep_row) {
  auto rp = self->make_response_promise<instance_info>();
  storage::row_list rows;
  auto out = self->state.catalog->drop_instance(name, id, keep_row, rows);
  if (!out) {
    rp.deliver(to_caf(out.err()));
    return rp;
  }
  auto info = *out;
  storage::batch b;
  storage::append_rows(*self->state.env->db, rows, b);
  // The catalog first: a crash before the bytes go leaves unreferenced bytes, never a catalog
  // entry whose bytes are gone.
  self->state.commits.submit(
      self, *self->state.env->committer, std::move(b),
      [self, rp, info, name](const status& st) mutable {
        if (!st) {
          rp.deliver(to_caf(st.err()));
          self->quit(to_caf(st.err()));
          return;
        }
        caf::anon_send(self->state.node, inject_atom_v, std::string{"lrc"},
                       caf::make_message(remove_atom_v, name, "file://" + info.path));
        self->request(fs_worker(self), caf::infinite, remove_atom_v, info.path)
            .then([rp, info]() mutable { rp.deliver(info); },
                  [rp](caf::error& err) mutable { rp.deliver(err); });
      });
  return rp;
}

// ------------------------------------------------------------------------------------ behavior

std::string load_key(const node::node_env& env) {
  const auto& path = env.config.librarian.encryption_key_file;
  if (path.empty()) return {};
  auto key = load_sealing_key(path);
  if (!key) {
    LIB_LOG_ERROR("librarian") << key.err().message << "; peers cannot be added";
    return {};
  }
  return *key;
}

catalog_limits limits_of(const node_config& cfg) {
  catalog_limits limits;
  limits.upload_bytes_max = cfg.librarian.upload_bytes_max;
  limits.stage_ttl_ms = cfg.librarian.stage_ttl_s * 1000;
  limits.search_results_max = cfg.librarian.search_results_max;
  limits.search_results_default =
      std::min<size_t>(limits.search_results_default, cfg.librarian.search_results_max);
  return limits;
}

librarian_actor::behavior_type librarian_behavior(self_ptr self,
                                                  std::shared_ptr<node::node_env> env,
                                                  caf::actor node) {
  self->state.env = env;
  self->state.node = std::move(node);
  std::vector<store_config> stores;
  for (const auto& s : env->config.stores)
    stores.push_back({s.name, s.type, s.staging_path, s.store_path, s.ingestable, s.enabled,
                      s.capacity_bytes, s.report_full_fraction});
  self->state.catalog.emplace(*env->db, env->config.name, stores, limits_of(env->config),
                              load_key(*env));
  std::set<std::string> cluster_peers;
  for (const auto& p : env->config.peers) cluster_peers.insert(p.name);
  self->state.catalog->set_cluster_peers(std::move(cluster_peers));
  if (auto st = self->state.catalog->load(); !st) {
    LIB_LOG_ERROR("librarian") << "cannot load the catalog: " << st.err().message;
    self->quit(to_caf(st.err()));  // typed behaviors cannot be empty; this one never runs
  }
  for (const auto& s : stores)
    self->request(fs_worker(self), caf::infinite, prepare_atom_v, s.staging_path, s.store_path)
        .then([] {},
              [name = s.name](caf::error& err) {
                LIB_LOG_ERROR("librarian") << "store " << name << ": " << from_caf(err).message;
              });
  self->send(self, reap_atom_v);
  for (uint32_t i = 0; i < env->config.librarian.check_integrity.size(); ++i)
    schedule_integrity(self, i);
  auto& catalog = *self->state.catalog;
  return {
      [=](stage_atom, stage_request& req) { return stage(self, std::move(req)); },
      [=](commit_atom, uint64_t id, const std::string& caller, bool admin) {
        return commit(self, id, caller, admin);
      },
      [=](commit_atom, uint64_t id, const std::string& caller, bool admin,
          const std::string& checksum) { return commit(self, id, caller, admin, {}, checksum); },
      [=](stage_atom, std::vector<stage_request>& reqs) {
        return stage_many(self, std::move(reqs));
      },
      [=](commit_atom, const bulk_commit_request& req, const std::string& caller, bool admin) {
        return commit_many(self, req, caller, admin);
      },
      [=](import_atom, import_request& req) { return import_tree(self, std::move(req)); },
      [=](commit_atom, uint64_t id, const std::string& caller, bool admin,
          std::vector<storage::row_op>& extra) {
        return commit(self, id, caller, admin, std::move(extra));
      },
      [=, &catalog](have_atom, const std::vector<std::string>& names) {
        return reply_now(self, catalog.checksums_of(names));
      },
      [=](instance_add_atom, const std::string& name, const std::string& store,
          const std::string& path) { return add_instance(self, name, store, path); },
      [=](instance_drop_atom, const std::string& name, uint64_t id, bool keep_row) {
        return drop_instance(self, name, id, keep_row);
      },
      [=, &catalog](corrupt_atom, uint64_t max) {
        manifest_page page;
        page.librarian_name = self->state.env->config.name;
        auto rows = catalog.corrupt_files(std::min<uint64_t>(max, 1000));
        if (!rows) return reply_now(self, expected<manifest_page>{rows.err()});
        std::set<std::pair<std::string, uint64_t>> seen;
        for (const auto& c : *rows) {
          if (!seen.insert({c.file, c.instance_id}).second) continue;
          auto f = catalog.get_file(c.file);
          if (!f) continue;  // the file went away
          manifest_entry e;
          e.name = c.file;
          e.size = f->size;
          e.checksum = f->checksum;
          e.source = f->source;
          e.instance_path = c.path;
          for (const auto& i : f->instances)
            if (i.id == c.instance_id) e.instance_available = i.available;
          page.entries.push_back(std::move(e));
        }
        return reply_now(self, expected<manifest_page>{std::move(page)});
      },
      [=, &catalog](remote_add_atom, const std::string& file, const std::string& librarian,
                    uint64_t store_id, const std::string& sender,
                    std::vector<storage::row_op>& extra) {
        storage::row_list rows;
        remote_instance_row r{file, librarian, store_id, now_ms(self), sender};
        auto st = catalog.add_remote_instance(r, rows);
        if (!st) return reply_now(self, expected<bool>{st.err()});
        rows.insert(rows.end(), extra.begin(), extra.end());
        return reply_after_commit(self, std::move(rows), expected<bool>{true});
      },
      [=, &catalog](dedupe_atom, const std::string& cursor) {
        storage::row_list rows;
        auto page = catalog.dedupe_remotes(cursor, 1000, rows);
        if (!page || rows.empty()) return reply_now(self, std::move(page));
        return reply_after_commit(self, std::move(rows), std::move(page));
      },
      [=](cancel_atom, uint64_t id, const std::string& caller, bool admin) {
        return cancel(self, id, caller, admin);
      },
      [=, &catalog](lookup_atom, const std::string& name) {
        return reply_now(self, catalog.get_file(name));
      },
      [=, &catalog](fetch_atom, const std::string& name) {
        return reply_now(self, catalog.best_instance(name));
      },
      [=, &catalog](search_atom, const file_query& q) {
        return reply_now(self, catalog.search(q));
      },
      [=](validate_atom, const std::string& name) { return validate(self, name); },
      [=, &catalog](stores_atom) {
        return reply_now(self, expected<std::vector<store_info>>{catalog.stores()});
      },
      [=, &catalog](store_set_atom, const std::string& name, bool enabled) {
        storage::row_list rows;
        auto out = catalog.set_store_enabled(name, enabled, rows);
        return reply_after_commit(self, std::move(rows), std::move(out));
      },
      [=, &catalog](manifest_atom, const manifest_request& req) {
        storage::row_list rows;
        auto out = catalog.store_manifest(req, rows);
        return reply_after_commit(self, std::move(rows), std::move(out));
      },
      [=](peers_atom, bool ping) { return list_peers(self, ping); },
      [=](peer_add_atom, add_librarian_request& req) { return add_peer(self, std::move(req)); },
      [=, &catalog](remove_atom, const std::string& name) {
        storage::row_list rows;
        auto out = catalog.remove_librarian(name, rows);
        return reply_after_commit(self, std::move(rows), std::move(out));
      },
      [=, &catalog](transfers_atom, const std::string& name, bool enabled) {
        storage::row_list rows;
        auto out = catalog.set_transfers_enabled(name, enabled, rows);
        return reply_after_commit(self, std::move(rows), std::move(out));
      },
      [=, &catalog](errors_atom, const error_query& q) {
        return reply_now(self, catalog.search_errors(q));
      },
      [=, &catalog](clear_atom, uint64_t id) {
        storage::row_list rows;
        auto out = catalog.clear_error(id, now_ms(self), rows);
        return reply_after_commit(self, std::move(rows), std::move(out));
      },
      [=](depth_atom) { return static_cast<uint64_t>(self->mailbox().size()); },
      [=](committed_atom, uint64_t token, uint8_t code, std::string& message) {
        self->state.commits.on_committed(token, code, std::move(message));
      },
      [=](reap_atom) { reap(self); },
      [=](integrity_atom, uint32_t task, const std::string& cursor) {
        integrity_batch(self, task, cursor);
      },
  };
}

}  // namespace

librarian_actor spawn_librarian(caf::local_actor* spawner, std::shared_ptr<node::node_env> env,
                                caf::actor node) {
  return spawner->spawn(librarian_behavior, std::move(env), std::move(node));
}

}  // namespace librarian::lib
