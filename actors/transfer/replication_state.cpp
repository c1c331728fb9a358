#include "actors/transfer/replication_state.hpp"

#include <algorithm>
#include <cmath>

#include "storage/codec.hpp"
#include "storage/keys.hpp"
#include "storage/row_list_ops.hpp"
#include "storage/table.hpp"

namespace librarian::transfer {
namespace {

using storage::row_list;

constexpr const char* outgoing_counter = "next_outgoing";
constexpr const char* incoming_counter = "next_incoming";
constexpr const char* batches_counter = "next_batch";
constexpr size_t live_rows_max = 10'000'000;

using storage::erase_row;
using storage::put_marker;
using storage::put_row;

std::string source_key(const std::string& source, uint64_t source_id) {
  std::string k;
  storage::append_string(k, source);
  storage::append_u64(k, source_id);
  return k;
}

xfer_status status_of(uint8_t b) {
  auto s = status_from_byte(b);
  return s ? *s : xfer_status::failed;
}

}  // namespace

std::vector<std::string> replication_tables() {
  return {outgoing_table,           outgoing_live_table, incoming_table,     incoming_live_table,
          incoming_by_source_table, batches_table,       batches_live_table, meta_table};
}

std::string_view name(xfer_status s) {
  switch (s) {
    case xfer_status::initiated:
      return "INITIATED";
    case xfer_status::ongoing:
      return "ONGOING";
    case xfer_status::staged:
      return "STAGED";
    case xfer_status::completed:
      return "COMPLETED";
    case xfer_status::failed:
      return "FAILED";
    case xfer_status::cancelled:
      return "CANCELLED";
  }
  return "UNKNOWN";
}

std::optional<xfer_status> status_from_byte(uint8_t b) {
  if (b > static_cast<uint8_t>(xfer_status::cancelled)) return std::nullopt;
  return static_cast<xfer_status>(b);
}

bool terminal(xfer_status s) {
  return s == xfer_status::completed || s == xfer_status::failed || s == xfer_status::cancelled;
}

bool outgoing_transition_allowed(xfer_status from, xfer_status to) {
  using enum xfer_status;
  if (terminal(from)) return false;
  switch (to) {
    case initiated:
      return false;
    case ongoing:
      return from == initiated;
    case staged:
      return from == ongoing || from == initiated;
    case completed:
    case failed:
    case cancelled:
      return true;
  }
  return false;
}

bool incoming_transition_allowed(xfer_status from, xfer_status to) {
  using enum xfer_status;
  if (terminal(from)) return false;
  switch (to) {
    case initiated:
      return false;
    case ongoing:
      return from == initiated;
    case staged:
      return from == initiated || from == ongoing;
    case completed:
      return from == staged;  // only recv_clone, after verifying
    case failed:
    case cancelled:
      return true;
  }
  return false;
}

std::string_view name(batch_state s) {
  switch (s) {
    case batch_state::staging:
      return "staging";
    case batch_state::queued:
      return "queued";
    case batch_state::ticketing:
      return "ticketing";
    case batch_state::active:
      return "active";
    case batch_state::done:
      return "done";
    case batch_state::failed:
      return "failed";
    case batch_state::cancelled:
      return "cancelled";
  }
  return "unknown";
}

bool terminal(batch_state s) {
  return s == batch_state::done || s == batch_state::failed || s == batch_state::cancelled;
}

verdict reconcile_outgoing(const outgoing_row& mine, uint8_t peer_status,
                           const std::string& peer_file_checksum) {
  if (!peer_file_checksum.empty()) {
    if (peer_file_checksum == mine.checksum)
      return {verdict_kind::complete, xfer_status::completed,
              "the peer has the file with our checksum (a lost callback)"};
    return {verdict_kind::fail, xfer_status::failed,
            "the peer has a different file of this name (" + peer_file_checksum + ")"};
  }
  auto peer = status_from_byte(peer_status);
  if (!peer)
    return {verdict_kind::fail, xfer_status::failed,
            "the peer has no record of this transfer (staging lost)"};
  switch (*peer) {
    case xfer_status::failed:
    case xfer_status::cancelled:
      return {verdict_kind::fail, xfer_status::failed,
              "the peer " + std::string{name(*peer)} + " it (failed on one side only)"};
    case xfer_status::completed:
      // COMPLETED there but no file of that name: the peer lost it after ingesting.
      return {verdict_kind::fail, xfer_status::failed,
              "the peer completed it but has no such file now"};
    default:
      return {verdict_kind::leave, xfer_status::failed,
              "still in progress at the peer (" + std::string{name(*peer)} + ")"};
  }
}

verdict reconcile_incoming(const incoming_row& mine, uint8_t peer_status) {
  using enum xfer_status;
  auto me = status_of(mine.status);
  auto peer = status_from_byte(peer_status);
  if (!peer) return {verdict_kind::fail, failed, "the source has no record of this transfer"};
  if (*peer == completed)
    return {verdict_kind::fail, failed,
            "the source says COMPLETED but the file was never ingested here"};
  if (*peer == failed || *peer == cancelled)
    return {verdict_kind::fail, failed,
            "the source " + std::string{name(*peer)} + " it (failed on one side only)"};
  if (*peer == me) return {verdict_kind::leave, me, "both sides agree; the source drives it"};
  if (me == initiated) return {verdict_kind::adopt, *peer, "the source is further along"};
  if (me == ongoing && *peer == staged)
    return {verdict_kind::adopt, staged, "the source says the bytes arrived"};
  if (me == ongoing && *peer == initiated)
    return {verdict_kind::fail, failed, "ahead of the source (it never started the transfer)"};
  return {verdict_kind::leave, me, "STAGED here: recv_clone owns it"};
}

std::string submission_id_for(const std::string& node, uint64_t batch_id, uint32_t attempt) {
  // FNV-1a over (node, batch, attempt), twice with different offsets: 128 bits shaped as a UUID
  // (version 8, "custom"), stable across restarts.
  auto fnv = [&](uint64_t basis) {
    uint64_t h = basis;
    auto mix = [&h](unsigned char c) {
      h ^= c;
      h *= 1099511628211ULL;
    };
    for (char c : node) mix(static_cast<unsigned char>(c));
    for (int i = 0; i < 8; ++i) mix(static_cast<unsigned char>(batch_id >> (8 * i)));
    for (int i = 0; i < 4; ++i) mix(static_cast<unsigned char>(attempt >> (8 * i)));
    return h;
  };
  uint64_t hi = fnv(14695981039346656037ULL), lo = fnv(0x9e3779b97f4a7c15ULL);
  hi = (hi & ~0xf000ULL) | 0x8000ULL;        // version 8
  lo = (lo & ~(3ULL << 62)) | (2ULL << 62);  // RFC 4122 variant
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

replication_state::replication_state(const storage::db& db, std::string node_name,
                                     replication_config cfg)
    : db_(db), node_(std::move(node_name)), cfg_(cfg) {}

status replication_state::load() {
  outgoing_.clear();
  outgoing_by_file_.clear();
  incoming_.clear();
  incoming_by_source_.clear();
  batches_.clear();
  auto meta = db_.get_table(meta_table);
  for (auto [name, target] : {std::pair{outgoing_counter, &next_outgoing_id_},
                              std::pair{incoming_counter, &next_incoming_id_},
                              std::pair{batches_counter, &next_batch_id_}}) {
    auto row = storage::get_record<counter_row>(db_, meta, name);
    if (!row) return row.err();
    *target = *row ? (*row)->value : 1;
  }
  // Live markers, then their rows.
  auto load_live = [&](const char* live, const char* rows_table, auto& into, auto decode_one) {
    std::string after;
    for (;;) {
      auto page = db_.scan_prefix(db_.get_table(live), "", 10000, after);
      if (!page) return status{page.err()};
      for (const auto& kv : page->rows) {
        auto value = db_.get(db_.get_table(rows_table), kv.key);
        if (!value) return status{value.err()};
        if (!*value) continue;  // marker without a row: a torn history cannot happen in a batch
        if (auto st = decode_one(**value); !st) return st;
      }
      if (!page->more || page->rows.empty()) break;
      after = page->rows.back().key;
      if (into.size() > live_rows_max)
        return status{fail(errc::internal, "more live replication rows than this build handles")};
    }
    return status{};
  };
  auto st = load_live(outgoing_live_table, outgoing_table, outgoing_, [&](const std::string& v) {
    auto r = storage::decode<outgoing_row>(v);
    if (!r) return status{r.err()};
    outgoing_by_file_[{r->destination, r->file}] = r->id;
    outgoing_[r->id] = std::move(*r);
    return status{};
  });
  if (!st) return st;
  st = load_live(incoming_live_table, incoming_table, incoming_, [&](const std::string& v) {
    auto r = storage::decode<incoming_row>(v);
    if (!r) return status{r.err()};
    incoming_by_source_[{r->source, r->source_transfer_id}] = r->id;
    incoming_[r->id] = std::move(*r);
    return status{};
  });
  if (!st) return st;
  return load_live(batches_live_table, batches_table, batches_, [&](const std::string& v) {
    auto r = storage::decode<batch_row>(v);
    if (!r) return status{r.err()};
    auto& b = batches_[r->id] = std::move(*r);
    // In-memory-only progress (tickets, mover tasks of the native mover) died with the process:
    // a batch waiting for tickets asks again.
    if (b.state == static_cast<uint8_t>(batch_state::ticketing))
      b.state = static_cast<uint8_t>(batch_state::queued);
    return status{};
  });
}

// --------------------------------------------------------------------------------- rows

void replication_state::put_counter(const char* name, uint64_t value, row_list& rows) const {
  put_row(rows, meta_table, name, counter_row{value});
}

void replication_state::put_outgoing(const outgoing_row& r, row_list& rows) {
  put_row(rows, outgoing_table, storage::u64_key(r.id), r);
  if (terminal(status_of(r.status))) {
    erase_row(rows, outgoing_live_table, storage::u64_key(r.id));
    outgoing_by_file_.erase({r.destination, r.file});
    outgoing_.erase(r.id);
  } else {
    put_marker(rows, outgoing_live_table, storage::u64_key(r.id));
    outgoing_by_file_[{r.destination, r.file}] = r.id;
    outgoing_[r.id] = r;
  }
}

void replication_state::put_incoming(const incoming_row& r, row_list& rows) {
  put_row(rows, incoming_table, storage::u64_key(r.id), r);
  if (terminal(status_of(r.status))) {
    erase_row(rows, incoming_live_table, storage::u64_key(r.id));
    incoming_by_source_.erase({r.source, r.source_transfer_id});
    incoming_.erase(r.id);
  } else {
    put_marker(rows, incoming_live_table, storage::u64_key(r.id));
    incoming_by_source_[{r.source, r.source_transfer_id}] = r.id;
    incoming_[r.id] = r;
  }
}

void replication_state::put_batch(const batch_row& r, row_list& rows) {
  put_row(rows, batches_table, storage::u64_key(r.id), r);
  if (terminal(static_cast<batch_state>(r.state))) {
    erase_row(rows, batches_live_table, storage::u64_key(r.id));
    batches_.erase(r.id);
  } else {
    put_marker(rows, batches_live_table, storage::u64_key(r.id));
    batches_[r.id] = r;
  }
}

// ============================================================================ sending side

bool replication_state::has_live_outgoing(const std::string& destination,
                                          const std::string& file) const {
  return outgoing_by_file_.contains({destination, file});
}

size_t replication_state::open_batches(const std::string& destination) const {
  size_t n = 0;
  for (const auto& [id, b] : batches_) n += b.destination == destination ? 1 : 0;
  return n;
}

expected<batch_row> replication_state::create_batch(const std::string& destination,
                                                    const std::string& mover, int32_t priority,
                                                    const std::vector<send_candidate>& files,
                                                    int64_t now, row_list& rows) {
  if (destination.empty() || destination == node_)
    return fail(errc::invalid_argument, "a batch needs a destination other than this node");
  batch_row b;
  b.id = next_batch_id_;
  b.state = static_cast<uint8_t>(batch_state::staging);
  b.destination = destination;
  b.mover = mover;
  b.priority = priority;
  b.created_unix_ms = b.updated_unix_ms = now;
  std::set<std::string> seen;
  row_list out;
  for (const auto& f : files) {
    if (has_live_outgoing(destination, f.name) || !seen.insert(f.name).second) continue;
    outgoing_row o;
    o.id = next_outgoing_id_++;
    o.status = static_cast<uint8_t>(xfer_status::initiated);
    o.destination = destination;
    o.file = f.name;
    o.size = f.size;
    o.checksum = f.checksum;
    o.source_path = f.source_path;
    o.batch_id = b.id;
    o.start_unix_ms = o.updated_unix_ms = now;
    b.transfers.push_back(o.id);
    b.bytes_total += f.size;
    put_outgoing(o, out);
  }
  if (b.transfers.empty()) return fail(errc::not_found, "nothing left to send");
  ++next_batch_id_;
  put_batch(b, out);
  put_counter(outgoing_counter, next_outgoing_id_, out);
  put_counter(batches_counter, next_batch_id_, out);
  rows.insert(rows.end(), out.begin(), out.end());
  return b;
}

expected<std::vector<uint64_t>> replication_state::sneakernet_transfers(
    const std::string& destination, const std::vector<send_candidate>& files, int64_t now,
    row_list& rows) {
  if (destination.empty() || destination == node_)
    return fail(errc::invalid_argument, "a manifest needs a destination other than this node");
  std::vector<uint64_t> ids;
  std::vector<send_candidate> fresh;
  for (const auto& f : files)
    if (!has_live_outgoing(destination, f.name)) fresh.push_back(f);
  if (!fresh.empty()) {
    auto b = create_batch(destination, "sneakernet", 0, fresh, now, rows);
    if (!b) return b.err();
    // The batch is "moved" by hand: done at once; its transfers stay ONGOING until the peer calls
    // back (or its hypervisor settles them).
    for (auto id : b->transfers) {
      auto row = outgoing_.at(id);
      row.status = static_cast<uint8_t>(xfer_status::ongoing);
      row.dest_path = "sneakernet";
      put_outgoing(row, rows);
    }
    auto done = *b;
    done.state = static_cast<uint8_t>(batch_state::done);
    done.started_unix_ms = done.ended_unix_ms = now;
    put_batch(done, rows);
  }
  for (const auto& f : files) {
    auto it = outgoing_by_file_.find({destination, f.name});
    ids.push_back(it == outgoing_by_file_.end() ? 0 : it->second);
  }
  return ids;
}

expected<clone_stage> replication_state::stage_message(uint64_t batch_id) const {
  auto it = batches_.find(batch_id);
  if (it == batches_.end())
    return fail(errc::not_found, "no live batch " + std::to_string(batch_id));
  clone_stage msg;
  msg.from = node_;
  msg.batch_id = batch_id;
  for (auto id : it->second.transfers) {
    auto o = outgoing_.find(id);
    if (o == outgoing_.end()) continue;
    msg.items.push_back({o->second.id, o->second.file, o->second.size, o->second.checksum});
  }
  return msg;
}

expected<replication_state::staged_outcome> replication_state::on_staged(const clone_staged& answer,
                                                                         int64_t now,
                                                                         row_list& rows) {
  auto it = batches_.find(answer.batch_id);
  if (it == batches_.end() || it->second.destination != answer.from)
    return fail(errc::not_found,
                "no live batch " + std::to_string(answer.batch_id) + " to " + answer.from);
  auto b = it->second;
  if (b.state != static_cast<uint8_t>(batch_state::staging))
    return fail(errc::conflict, "batch " + std::to_string(b.id) +
                                    " is past staging (a duplicate "
                                    "answer)");
  staged_outcome out;
  std::map<uint64_t, const clone_staged_item*> by_source;
  for (const auto& item : answer.items) by_source[item.source_id] = &item;
  bool any_staged = false;
  for (auto id : b.transfers) {
    auto o_it = outgoing_.find(id);
    if (o_it == outgoing_.end()) continue;
    auto o = o_it->second;
    auto a = by_source.find(id);
    if (a == by_source.end()) {
      o.status = static_cast<uint8_t>(xfer_status::failed);
      o.message = "the peer's stage answer left this file out";
      o.end_unix_ms = o.updated_unix_ms = now;
      out.refused.push_back({o.id, o.file});
      put_outgoing(o, rows);
      continue;
    }
    const auto& item = *a->second;
    if (item.code == static_cast<uint8_t>(errc::already_exists) &&
        item.existing_checksum == o.checksum) {
      out.present.push_back(id);
      continue;
    }
    if (item.code != 0) {
      o.status = static_cast<uint8_t>(xfer_status::failed);
      o.message = "the peer refused to stage it: " + item.message;
      o.remote_id = item.incoming_id;
      o.end_unix_ms = o.updated_unix_ms = now;
      out.refused.push_back({o.id, o.file});
      put_outgoing(o, rows);
      continue;
    }
    o.remote_id = item.incoming_id;
    o.dest_relative = item.relative;
    o.dest_path = b.mover == "globus" ? item.endpoint_path : item.staging_path;
    o.updated_unix_ms = now;
    put_outgoing(o, rows);
    any_staged = true;
  }
  b.host = answer.data_host;
  b.port = answer.data_port;
  b.batch_dir = answer.batch_dir;
  // The mover's destination: a Globus endpoint id, or the GridFTP server's URL.
  b.destination_endpoint = b.mover == "gridftp" ? answer.gridftp_url : answer.destination_endpoint;
  b.updated_unix_ms = now;
  b.state = static_cast<uint8_t>(any_staged || !out.present.empty() ? batch_state::queued
                                                                    : batch_state::failed);
  if (!any_staged && out.present.empty()) {
    b.message = "the peer staged none of its files";
    b.ended_unix_ms = now;
  }
  put_batch(b, rows);
  return out;
}

std::vector<uint64_t> replication_state::ready_batches(
    int64_t now, const std::function<bool(const std::string&)>& peer_enabled) const {
  size_t active = 0;
  std::map<std::string, size_t> per_peer;
  std::vector<const batch_row*> queued;
  for (const auto& [id, b] : batches_) {
    auto s = static_cast<batch_state>(b.state);
    if (s == batch_state::ticketing || s == batch_state::active) {
      ++active;
      ++per_peer[b.destination];
    } else if (s == batch_state::queued && b.next_attempt_unix_ms <= now) {
      queued.push_back(&b);
    }
  }
  std::sort(queued.begin(), queued.end(), [](const batch_row* x, const batch_row* y) {
    if (x->priority != y->priority) return x->priority > y->priority;
    return x->id < y->id;
  });
  std::vector<uint64_t> out;
  std::map<std::string, bool> enabled;
  for (const auto* b : queued) {
    if (active >= cfg_.max_async_inflight_transfers) break;
    // A disabled peer's items are skipped, not waited on: the others go ahead.
    auto e = enabled.find(b->destination);
    if (e == enabled.end()) e = enabled.emplace(b->destination, peer_enabled(b->destination)).first;
    if (!e->second) continue;
    if (per_peer[b->destination] >= cfg_.max_batches_per_peer) continue;
    out.push_back(b->id);
    ++active;
    ++per_peer[b->destination];
  }
  return out;
}

expected<batch_row> replication_state::start_batch(uint64_t batch_id, bool needs_tickets,
                                                   int64_t now, row_list& rows) {
  auto it = batches_.find(batch_id);
  if (it == batches_.end() || it->second.state != static_cast<uint8_t>(batch_state::queued))
    return fail(errc::conflict, "batch " + std::to_string(batch_id) + " is not queued");
  auto b = it->second;
  b.state = static_cast<uint8_t>(needs_tickets ? batch_state::ticketing : batch_state::active);
  b.submission_id = submission_id_for(node_, b.id, b.retries);
  b.task_id.clear();
  b.updated_unix_ms = now;
  if (b.started_unix_ms == 0) b.started_unix_ms = now;
  // Transfers become ONGOING with their first submission.
  for (auto id : b.transfers) {
    auto o = outgoing_.find(id);
    if (o == outgoing_.end() || o->second.status != static_cast<uint8_t>(xfer_status::initiated))
      continue;
    auto row = o->second;
    row.status = static_cast<uint8_t>(xfer_status::ongoing);
    row.updated_unix_ms = now;
    put_outgoing(row, rows);
  }
  put_batch(b, rows);
  return b;
}

expected<batch_row> replication_state::batch_submitted(uint64_t batch_id,
                                                       const std::string& task_id, int64_t now,
                                                       row_list& rows) {
  auto it = batches_.find(batch_id);
  if (it == batches_.end()) return fail(errc::not_found, "no live batch");
  auto b = it->second;
  auto s = static_cast<batch_state>(b.state);
  if (s != batch_state::ticketing && s != batch_state::active)
    return fail(errc::conflict, "batch " + std::to_string(batch_id) + " is " +
                                    std::string{name(s)} + ", not being submitted");
  b.state = static_cast<uint8_t>(batch_state::active);
  b.task_id = task_id;
  b.updated_unix_ms = now;
  put_batch(b, rows);
  return b;
}

std::vector<replication_state::job_file> replication_state::job_files(uint64_t batch_id) const {
  std::vector<job_file> out;
  auto it = batches_.find(batch_id);
  if (it == batches_.end()) return out;
  for (auto id : it->second.transfers) {
    auto o = outgoing_.find(id);
    if (o == outgoing_.end()) continue;
    const auto& r = o->second;
    if (r.status != static_cast<uint8_t>(xfer_status::ongoing) &&
        r.status != static_cast<uint8_t>(xfer_status::initiated))
      continue;  // adopted, failed or already staged
    if (r.dest_relative.empty() && r.dest_path.empty())
      continue;  // the peer has the file already; being adopted, nothing to move
    out.push_back(
        {r.id, r.source_path, r.dest_relative, r.dest_path, r.size, r.checksum, r.remote_id});
  }
  return out;
}

void replication_state::settle_batch(uint64_t batch_id, int64_t now, row_list& rows) {
  auto it = batches_.find(batch_id);
  if (it == batches_.end()) return;
  auto s = static_cast<batch_state>(it->second.state);
  bool any_live_unmoved = false;
  for (auto id : it->second.transfers) {
    auto o = outgoing_.find(id);
    if (o == outgoing_.end()) continue;
    auto st = status_of(o->second.status);
    if (st == xfer_status::initiated || st == xfer_status::ongoing) any_live_unmoved = true;
  }
  if (any_live_unmoved && s != batch_state::done) return;
  if (!any_live_unmoved && (s == batch_state::queued || s == batch_state::ticketing)) {
    auto b = it->second;
    b.state = static_cast<uint8_t>(batch_state::done);
    b.ended_unix_ms = b.updated_unix_ms = now;
    put_batch(b, rows);
  }
}

expected<clone_status> replication_state::batch_succeeded(
    uint64_t batch_id, const std::set<uint64_t>& failed_ids, bool failed_retryable,
    const std::string& why, uint64_t bytes_done, int64_t now, row_list& rows) {
  auto it = batches_.find(batch_id);
  if (it == batches_.end() || it->second.state != static_cast<uint8_t>(batch_state::active))
    return fail(errc::conflict, "batch " + std::to_string(batch_id) + " is not active");
  auto b = it->second;
  clone_status notices;
  notices.from = node_;
  bool retry = false;
  for (auto id : b.transfers) {
    auto o = outgoing_.find(id);
    if (o == outgoing_.end()) continue;
    auto row = o->second;
    auto st = status_of(row.status);
    if (st != xfer_status::ongoing && st != xfer_status::initiated) continue;
    if (failed_ids.contains(id)) {
      if (failed_retryable && b.retries < cfg_.max_async_send_retries) {
        retry = true;  // stays ONGOING; the batch goes round again with only these files
        continue;
      }
      row.status = static_cast<uint8_t>(xfer_status::failed);
      row.message = why;
      row.end_unix_ms = row.updated_unix_ms = now;
      notices.items.push_back({row.id, row.remote_id, row.status, why, 0});
      put_outgoing(row, rows);
      continue;
    }
    row.status = static_cast<uint8_t>(xfer_status::staged);
    row.updated_unix_ms = now;
    notices.items.push_back({row.id, row.remote_id, row.status, "", 0});
    put_outgoing(row, rows);
  }
  b.bytes_done = std::max(b.bytes_done, bytes_done);
  b.updated_unix_ms = now;
  if (retry) {
    ++b.retries;
    b.state = static_cast<uint8_t>(batch_state::queued);
    b.next_attempt_unix_ms = now + cfg_.retry_backoff_min_ms;
    b.message = why;
  } else {
    b.state = static_cast<uint8_t>(batch_state::done);
    b.ended_unix_ms = now;
  }
  put_batch(b, rows);
  return notices;
}

expected<clone_status> replication_state::batch_attempt_failed(uint64_t batch_id, bool retryable,
                                                               const std::string& why,
                                                               double jitter, int64_t now,
                                                               row_list& rows) {
  auto it = batches_.find(batch_id);
  if (it == batches_.end()) return fail(errc::not_found, "no live batch");
  auto b = it->second;
  clone_status notices;
  notices.from = node_;
  b.message = why;
  b.updated_unix_ms = now;
  if (retryable && b.retries < cfg_.max_async_send_retries) {
    // Exponential backoff with jitter and a cap: min x 2^retries, scaled by [0.5, 1.5).
    double backoff = static_cast<double>(cfg_.retry_backoff_min_ms) *
                     std::pow(2.0, std::min<uint32_t>(b.retries, 30));
    backoff = std::min(backoff, static_cast<double>(cfg_.retry_backoff_max_ms));
    backoff *= 0.5 + std::clamp(jitter, 0.0, 1.0);
    ++b.retries;
    b.state = static_cast<uint8_t>(batch_state::queued);
    b.next_attempt_unix_ms = now + static_cast<int64_t>(backoff);
    b.task_id.clear();
    put_batch(b, rows);
    return notices;
  }
  auto reason = retryable ? why + " (after " + std::to_string(b.retries) + " retries)" : why;
  for (auto id : b.transfers) {
    auto o = outgoing_.find(id);
    if (o == outgoing_.end()) continue;
    auto row = o->second;
    if (status_of(row.status) == xfer_status::staged) continue;  // its bytes did arrive
    row.status = static_cast<uint8_t>(xfer_status::failed);
    row.message = reason;
    row.end_unix_ms = row.updated_unix_ms = now;
    notices.items.push_back({row.id, row.remote_id, row.status, reason, 0});
    put_outgoing(row, rows);
  }
  b.state = static_cast<uint8_t>(batch_state::failed);
  b.message = reason;
  b.ended_unix_ms = now;
  put_batch(b, rows);
  return notices;
}

status replication_state::batch_lost(uint64_t batch_id, int64_t now, row_list& rows,
                                     int64_t delay_ms) {
  auto it = batches_.find(batch_id);
  if (it == batches_.end()) return fail(errc::not_found, "no live batch");
  auto b = it->second;
  b.state = static_cast<uint8_t>(batch_state::queued);
  b.task_id.clear();
  b.updated_unix_ms = now;
  b.next_attempt_unix_ms = now + delay_ms;
  put_batch(b, rows);
  return {};
}

status replication_state::note_progress(uint64_t batch_id, uint64_t bytes_done) {
  auto it = batches_.find(batch_id);
  if (it == batches_.end()) return fail(errc::not_found, "no live batch");
  it->second.bytes_done = std::max(it->second.bytes_done, bytes_done);
  return {};
}

status replication_state::complete_outgoing(uint64_t id, int64_t now, row_list& rows) {
  auto it = outgoing_.find(id);
  if (it == outgoing_.end()) return fail(errc::not_found, "no live outgoing transfer");
  auto row = it->second;
  if (!outgoing_transition_allowed(status_of(row.status), xfer_status::completed))
    return fail(errc::conflict,
                "transfer cannot complete from " + std::string{name(status_of(row.status))});
  auto batch_id = row.batch_id;
  row.status = static_cast<uint8_t>(xfer_status::completed);
  row.end_unix_ms = row.updated_unix_ms = now;
  row.message.clear();
  put_outgoing(row, rows);
  settle_batch(batch_id, now, rows);
  return {};
}

replication_state::cancellation replication_state::cancel_to(const std::string& peer,
                                                             const std::string& why, int64_t now,
                                                             row_list& rows) {
  cancellation out;
  out.notices.from = node_;
  std::vector<uint64_t> ids;
  for (const auto& [id, o] : outgoing_)
    if (o.destination == peer) ids.push_back(id);
  for (auto id : ids) {
    auto row = outgoing_.at(id);
    if (!outgoing_transition_allowed(status_of(row.status), xfer_status::cancelled)) continue;
    row.status = static_cast<uint8_t>(xfer_status::cancelled);
    row.message = why;
    row.end_unix_ms = row.updated_unix_ms = now;
    if (row.remote_id != 0)
      out.notices.items.push_back(
          {row.id, row.remote_id, static_cast<uint8_t>(xfer_status::cancelled), why, 0});
    put_outgoing(row, rows);
    ++out.transfers;
  }
  std::vector<uint64_t> batch_ids;
  for (const auto& [id, b] : batches_)
    if (b.destination == peer) batch_ids.push_back(id);
  for (auto id : batch_ids) {
    auto b = batches_.at(id);
    if (b.state == static_cast<uint8_t>(batch_state::active) && !b.task_id.empty())
      out.tasks.emplace_back(b.mover, b.task_id);
    b.state = static_cast<uint8_t>(batch_state::cancelled);
    b.message = why;
    b.ended_unix_ms = b.updated_unix_ms = now;
    put_batch(b, rows);
    ++out.batches;
  }
  return out;
}

status replication_state::fail_outgoing(uint64_t id, const std::string& why, int64_t now,
                                        row_list& rows) {
  auto it = outgoing_.find(id);
  if (it == outgoing_.end()) return fail(errc::not_found, "no live outgoing transfer");
  auto row = it->second;
  auto batch_id = row.batch_id;
  row.status = static_cast<uint8_t>(xfer_status::failed);
  row.message = why;
  row.end_unix_ms = row.updated_unix_ms = now;
  put_outgoing(row, rows);
  settle_batch(batch_id, now, rows);
  return {};
}

replication_state::peer_news replication_state::on_peer_status(const clone_status& msg) const {
  peer_news news;
  for (const auto& item : msg.items) {
    auto it = outgoing_.find(item.source_id);
    if (it == outgoing_.end() || it->second.destination != msg.from) continue;
    // The peer's id must match what it told us at staging (an answer about another transfer
    // that reused the number is ignored).
    if (it->second.remote_id != 0 && item.incoming_id != it->second.remote_id) continue;
    auto st = status_from_byte(item.status);
    if (!st) {
      // The peer has no such transfer: it lost its staging, or never got our request.
      if (it->second.remote_id != 0)
        news.failed.push_back({item.source_id, "the peer has no record of this transfer"});
      continue;
    }
    if (*st == xfer_status::completed)
      news.completed.push_back({item.source_id, item.store_id});
    else if (*st == xfer_status::failed || *st == xfer_status::cancelled)
      news.failed.push_back(
          {item.source_id, "the peer " + std::string{name(*st)} + " it" +
                               (item.message.empty() ? "" : ": " + item.message)});
  }
  return news;
}

namespace {

// The rows of one transfer's status change, without making it (see preview_outgoing).
template <class Row>
expected<row_list> preview_change(const std::map<uint64_t, Row>& live, const char* table,
                                  const char* live_table, const char* what, uint64_t id,
                                  xfer_status to, int64_t now,
                                  bool (*allowed)(xfer_status, xfer_status)) {
  auto it = live.find(id);
  if (it == live.end()) return fail(errc::not_found, std::string{"no live "} + what);
  auto row = it->second;
  if (!allowed(status_of(row.status), to))
    return fail(errc::conflict, std::string{what} + " " + std::to_string(id) + " cannot go from " +
                                    std::string{name(status_of(row.status))} + " to " +
                                    std::string{name(to)});
  row.status = static_cast<uint8_t>(to);
  row.updated_unix_ms = now;
  if (terminal(to)) row.end_unix_ms = now;
  row_list rows;
  put_row(rows, table, storage::u64_key(id), row);
  if (terminal(to)) erase_row(rows, live_table, storage::u64_key(id));
  return rows;
}

}  // namespace

expected<row_list> replication_state::preview_outgoing(uint64_t id, xfer_status to,
                                                       int64_t now) const {
  return preview_change(outgoing_, outgoing_table, outgoing_live_table, "outgoing transfer", id, to,
                        now, &outgoing_transition_allowed);
}

expected<row_list> replication_state::preview_incoming(uint64_t id, xfer_status to,
                                                       int64_t now) const {
  return preview_change(incoming_, incoming_table, incoming_live_table, "incoming transfer", id, to,
                        now, &incoming_transition_allowed);
}

std::optional<outgoing_row> replication_state::outgoing(uint64_t id) const {
  auto it = outgoing_.find(id);
  if (it != outgoing_.end()) return it->second;
  auto v =
      storage::get_record<outgoing_row>(db_, db_.get_table(outgoing_table), storage::u64_key(id));
  if (!v || !*v) return std::nullopt;
  return **v;
}

std::optional<batch_row> replication_state::batch(uint64_t id) const {
  auto it = batches_.find(id);
  if (it != batches_.end()) return it->second;
  auto v = storage::get_record<batch_row>(db_, db_.get_table(batches_table), storage::u64_key(id));
  if (!v || !*v) return std::nullopt;
  return **v;
}

std::map<std::string, clone_status> replication_state::staged_notices() const {
  std::map<std::string, clone_status> out;
  for (const auto& [id, o] : outgoing_) {
    if (o.status != static_cast<uint8_t>(xfer_status::staged)) continue;
    auto& msg = out[o.destination];
    msg.from = node_;
    msg.items.push_back({o.id, o.remote_id, o.status, "", 0});
  }
  return out;
}

// ========================================================================== receiving side

expected<std::optional<incoming_row>> replication_state::read_incoming(uint64_t id) const {
  return storage::get_record<incoming_row>(db_, db_.get_table(incoming_table),
                                           storage::u64_key(id));
}

std::optional<incoming_row> replication_state::incoming_by_source(const std::string& source,
                                                                  uint64_t source_id) const {
  auto it = incoming_by_source_.find({source, source_id});
  if (it != incoming_by_source_.end()) return incoming_.at(it->second);
  auto id = db_.get(db_.get_table(incoming_by_source_table), source_key(source, source_id));
  if (!id || !*id) return std::nullopt;
  auto decoded = storage::decode<counter_row>(**id);
  if (!decoded) return std::nullopt;
  auto row = read_incoming(decoded->value);
  if (!row || !*row) return std::nullopt;
  return **row;
}

expected<incoming_row> replication_state::create_incoming(
    const std::string& source, uint64_t source_id, uint64_t source_batch_id, const clone_item& item,
    const std::string& store, uint64_t upload_id, const std::string& batch_dir,
    const std::string& staging_file, int64_t now, row_list& rows) {
  if (incoming_by_source(source, source_id))
    return fail(errc::already_exists,
                "transfer " + std::to_string(source_id) + " from " + source + " is already known");
  incoming_row r;
  r.id = next_incoming_id_++;
  r.status = static_cast<uint8_t>(xfer_status::initiated);
  r.source = source;
  r.source_transfer_id = source_id;
  r.source_batch_id = source_batch_id;
  r.file = item.name;
  r.size = item.size;
  r.checksum = item.checksum;
  r.store = store;
  r.upload_id = upload_id;
  r.batch_dir = batch_dir;
  r.staging_file = staging_file;
  r.start_unix_ms = r.updated_unix_ms = now;
  put_incoming(r, rows);
  put_row(rows, incoming_by_source_table, source_key(source, source_id), counter_row{r.id});
  put_counter(incoming_counter, next_incoming_id_, rows);
  return r;
}

expected<incoming_row> replication_state::refuse_incoming(const std::string& source,
                                                          uint64_t source_id,
                                                          const clone_item& item,
                                                          const std::string& why, int64_t now,
                                                          row_list& rows) {
  if (incoming_by_source(source, source_id))
    return fail(errc::already_exists, "transfer already known");
  incoming_row r;
  r.id = next_incoming_id_++;
  r.status = static_cast<uint8_t>(xfer_status::failed);
  r.source = source;
  r.source_transfer_id = source_id;
  r.file = item.name;
  r.size = item.size;
  r.checksum = item.checksum;
  r.message = why;
  r.start_unix_ms = r.updated_unix_ms = r.end_unix_ms = now;
  put_incoming(r, rows);
  put_row(rows, incoming_by_source_table, source_key(source, source_id), counter_row{r.id});
  put_counter(incoming_counter, next_incoming_id_, rows);
  return r;
}

status replication_state::set_incoming(uint64_t id, xfer_status to, const std::string& why,
                                       int64_t now, row_list& rows) {
  auto it = incoming_.find(id);
  if (it == incoming_.end()) return fail(errc::not_found, "no live incoming transfer");
  auto r = it->second;
  auto from = status_of(r.status);
  if (from == to) return {};
  if (!incoming_transition_allowed(from, to))
    return fail(errc::conflict, "incoming transfer " + std::to_string(id) + " cannot go from " +
                                    std::string{name(from)} + " to " + std::string{name(to)});
  r.status = static_cast<uint8_t>(to);
  r.updated_unix_ms = now;
  if (terminal(to)) r.end_unix_ms = now;
  if (!why.empty()) r.message = why;
  put_incoming(r, rows);
  return {};
}

std::optional<incoming_row> replication_state::incoming(uint64_t id) const {
  auto it = incoming_.find(id);
  if (it != incoming_.end()) return it->second;
  auto row = read_incoming(id);
  if (!row || !*row) return std::nullopt;
  return **row;
}

clone_status replication_state::on_source_status(const clone_status& msg, int64_t now,
                                                 row_list& rows) {
  clone_status back;
  back.from = node_;
  for (const auto& item : msg.items) {
    auto row = incoming_by_source(msg.from, item.source_id);
    if (!row) {
      back.items.push_back({item.source_id, item.incoming_id, status_unknown, "", 0});
      continue;
    }
    auto to = status_from_byte(item.status);
    auto mine = status_of(row->status);
    if (to && !terminal(mine)) {
      if (*to == xfer_status::ongoing || *to == xfer_status::staged) {
        if (incoming_transition_allowed(mine, *to))
          static_cast<void>(set_incoming(row->id, *to, "", now, rows));
      } else if (*to == xfer_status::failed || *to == xfer_status::cancelled) {
        static_cast<void>(set_incoming(row->id, *to,
                                       "the source " + std::string{name(*to)} + " it" +
                                           (item.message.empty() ? "" : ": " + item.message),
                                       now, rows));
      }
      continue;
    }
    if (terminal(mine))  // the source missed our callback: tell it again
      back.items.push_back({item.source_id, row->id, row->status, row->message, 0});
  }
  return back;
}

std::vector<uint64_t> replication_state::staged_incoming(size_t max) const {
  std::vector<uint64_t> out;
  for (const auto& [id, r] : incoming_) {
    if (out.size() >= max) break;
    if (r.status == static_cast<uint8_t>(xfer_status::staged)) out.push_back(id);
  }
  return out;
}

replication_report replication_state::report(int64_t now, int64_t outgoing_age_ms,
                                             int64_t incoming_age_ms) const {
  replication_report r;
  r.node = node_;
  std::map<std::string, uint64_t> out, in, bat;
  for (const auto& [id, o] : outgoing_) {
    ++out[std::string{name(status_of(o.status))}];
    if (outgoing_age_ms > 0 && now - o.start_unix_ms > outgoing_age_ms)
      r.overdue.push_back({o.id, true, o.destination, o.file,
                           std::string{name(status_of(o.status))}, now - o.start_unix_ms});
  }
  for (const auto& [id, i] : incoming_) {
    ++in[std::string{name(status_of(i.status))}];
    if (incoming_age_ms > 0 && now - i.start_unix_ms > incoming_age_ms)
      r.overdue.push_back({i.id, false, i.source, i.file, std::string{name(status_of(i.status))},
                           now - i.start_unix_ms});
  }
  for (const auto& [id, b] : batches_) {
    ++bat[std::string{name(static_cast<batch_state>(b.state))}];
    double seconds =
        b.started_unix_ms > 0 ? static_cast<double>(now - b.started_unix_ms) / 1000.0 : 0;
    r.active.push_back({b.id, b.destination, b.mover,
                        std::string{name(static_cast<batch_state>(b.state))},
                        static_cast<uint32_t>(b.transfers.size()), b.bytes_total, b.bytes_done,
                        b.retries, now - b.created_unix_ms,
                        seconds > 0 ? static_cast<double>(b.bytes_done) / seconds : 0, b.message});
  }
  for (const auto& [k, v] : out) r.outgoing.push_back({k, v});
  for (const auto& [k, v] : in) r.incoming.push_back({k, v});
  for (const auto& [k, v] : bat) r.batches.push_back({k, v});
  return r;
}

}  // namespace librarian::transfer
