// The replication state machine: status transitions on both sides, a batch's life (staging,
// queued, ticketing, active, done), retries with capped backoff, restart from disk, idempotent
// stage requests, and every row of the hypervisors' reconciliation table (docs/replication.md).
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "actors/transfer/replication_state.hpp"
#include "storage/db.hpp"

namespace {

using namespace librarian;
using namespace librarian::transfer;
using enum xfer_status;

struct rep_db {
  std::filesystem::path dir;
  std::unique_ptr<storage::db> db;
  rep_db() {
    static int counter = 0;
    dir = std::filesystem::temp_directory_path() /
          ("librarian-unit-rep-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir);
    open();
  }
  ~rep_db() {
    db.reset();
    std::filesystem::remove_all(dir);
  }
  void open() {
    db.reset();
    auto opened = storage::db::open({(dir / "db").string(), nullptr, replication_tables()});
    REQUIRE(opened.has_value());
    db = std::move(*opened);
  }
  void write(storage::row_list& rows) {
    storage::batch b;
    storage::append_rows(*db, rows, b);
    REQUIRE(db->write(b, storage::durability::sync).has_value());
    rows.clear();
  }
};

replication_config small_config() {
  replication_config c;
  c.max_async_inflight_transfers = 3;
  c.max_batches_per_peer = 2;
  c.max_async_send_retries = 2;
  c.retry_backoff_min_ms = 1000;
  c.retry_backoff_max_ms = 3000;
  return c;
}

std::vector<send_candidate> files(int n, const std::string& prefix = "f") {
  std::vector<send_candidate> out;
  for (int i = 0; i < n; ++i)
    out.push_back({prefix + std::to_string(i), 100 + static_cast<uint64_t>(i),
                   "xxh3:::" + std::string(32, static_cast<char>('a' + i % 6)),
                   "/store/" + prefix + std::to_string(i)});
  return out;
}

// B's answer staging every item of a's batch.
clone_staged staged_answer(const clone_stage& req) {
  clone_staged a;
  a.from = "b";
  a.batch_id = req.batch_id;
  a.batch_dir = "/b/staging/clone-a-" + std::to_string(req.batch_id);
  a.data_host = "127.0.0.1";
  a.data_port = 7190;
  uint64_t incoming = 100;
  for (const auto& item : req.items)
    a.items.push_back({item.source_id, incoming++, 0, "", "upload-" + std::to_string(incoming),
                       a.batch_dir + "/upload-" + std::to_string(incoming) + "/" + item.name, "",
                       ""});
  return a;
}

uint8_t b(xfer_status s) {
  return static_cast<uint8_t>(s);
}

TEST_CASE("statuses move only along allowed transitions, on each side") {
  CHECK(outgoing_transition_allowed(initiated, ongoing));
  CHECK(outgoing_transition_allowed(ongoing, staged));
  CHECK(outgoing_transition_allowed(staged, completed));
  CHECK(outgoing_transition_allowed(initiated, completed));  // hypervisor: lost callback
  CHECK_FALSE(outgoing_transition_allowed(staged, ongoing));
  CHECK_FALSE(outgoing_transition_allowed(ongoing, initiated));
  for (auto t : {completed, failed, cancelled})
    for (auto to : {initiated, ongoing, staged, completed, failed, cancelled}) {
      CHECK_FALSE(outgoing_transition_allowed(t, to));
      CHECK_FALSE(incoming_transition_allowed(t, to));
    }
  CHECK(incoming_transition_allowed(initiated, staged));  // the source says the bytes arrived
  CHECK(incoming_transition_allowed(staged, completed));
  CHECK_FALSE(incoming_transition_allowed(ongoing, completed));  // only after STAGED
  CHECK_FALSE(incoming_transition_allowed(initiated, completed));
  CHECK_FALSE(status_from_byte(6).has_value());
  CHECK_FALSE(status_from_byte(status_unknown).has_value());
}

TEST_CASE("a batch goes staging -> queued -> ticketing -> active -> done, and survives a restart") {
  rep_db d;
  replication_state a{*d.db, "a", small_config()};
  REQUIRE(a.load());
  storage::row_list rows;
  auto batch = a.create_batch("b", "native", 0, files(3), 1000, rows);
  REQUIRE(batch);
  d.write(rows);
  CHECK(a.has_live_outgoing("b", "f1"));
  CHECK_FALSE(a.has_live_outgoing("c", "f1"));
  // The same files again: nothing new.
  auto again = a.create_batch("b", "native", 0, files(3), 1001, rows);
  CHECK_FALSE(again);
  CHECK(rows.empty());

  auto req = a.stage_message(batch->id);
  REQUIRE(req);
  CHECK(req->items.size() == 3);
  CHECK(a.ready_batches(1000, [](const std::string&) { return true; }).empty());  // not staged

  // A restart before the answer: everything is still there.
  replication_state a2{*d.db, "a", small_config()};
  REQUIRE(a2.load());
  CHECK(a2.live_outgoing().size() == 3);
  CHECK(a2.live_batches().at(batch->id).state == static_cast<uint8_t>(batch_state::staging));

  auto answer = staged_answer(*req);
  auto out = a2.on_staged(answer, 1100, rows);
  REQUIRE(out);
  CHECK(out->present.empty());
  d.write(rows);
  // A duplicate answer is refused and changes nothing.
  CHECK_FALSE(a2.on_staged(answer, 1101, rows));
  CHECK(rows.empty());
  auto ready = a2.ready_batches(1200, [](const std::string&) { return true; });
  REQUIRE(ready.size() == 1);
  auto started = a2.start_batch(batch->id, true, 1200, rows);
  REQUIRE(started);
  CHECK(started->state == static_cast<uint8_t>(batch_state::ticketing));
  CHECK(started->submission_id == submission_id_for("a", batch->id, 0));
  d.write(rows);
  for (const auto& [id, o] : a2.live_outgoing()) CHECK(o.status == b(ongoing));

  // Tickets are memory-only: a restart while ticketing goes back to queued.
  replication_state a3{*d.db, "a", small_config()};
  REQUIRE(a3.load());
  CHECK(a3.live_batches().at(batch->id).state == static_cast<uint8_t>(batch_state::queued));
  REQUIRE(a3.start_batch(batch->id, true, 1300, rows));
  REQUIRE(a3.batch_submitted(batch->id, "task-1", 1300, rows));
  d.write(rows);
  auto jobs = a3.job_files(batch->id);
  REQUIRE(jobs.size() == 3);
  CHECK(jobs[0].remote_id == 100);
  CHECK(jobs[0].dest_relative == "upload-101");

  auto notices = a3.batch_succeeded(batch->id, {}, false, "", 303, 1400, rows);
  REQUIRE(notices);
  CHECK(notices->items.size() == 3);
  for (const auto& item : notices->items) CHECK(item.status == b(staged));
  d.write(rows);
  CHECK(a3.live_batches().empty());  // done batches leave memory
  CHECK(a3.batch(batch->id)->state == static_cast<uint8_t>(batch_state::done));
  CHECK(a3.staged_notices().at("b").items.size() == 3);

  // B's callbacks complete them; a callback naming another incoming id is ignored.
  clone_status cb{"b", {}};
  for (const auto& item : notices->items)
    cb.items.push_back({item.source_id, item.incoming_id, b(completed), "", 42});
  cb.items.push_back({notices->items[0].source_id, 999, b(failed), "", 0});
  auto news = a3.on_peer_status(cb);
  CHECK(news.completed.size() == 3);
  CHECK(news.failed.empty());
  for (const auto& [id, store] : news.completed) REQUIRE(a3.complete_outgoing(id, 1500, rows));
  d.write(rows);
  CHECK(a3.live_outgoing().empty());
  CHECK_FALSE(a3.has_live_outgoing("b", "f1"));
  CHECK(a3.outgoing(notices->items[0].source_id)->status == b(completed));
}

TEST_CASE("failed attempts back off exponentially with a cap, then fail the batch") {
  rep_db d;
  replication_state a{*d.db, "a", small_config()};
  REQUIRE(a.load());
  storage::row_list rows;
  auto batch = a.create_batch("b", "local", 0, files(2), 0, rows);
  REQUIRE(batch);
  REQUIRE(a.on_staged(staged_answer(*a.stage_message(batch->id)), 0, rows));
  int64_t now = 10'000;
  std::vector<int64_t> waits;
  for (int attempt = 0; attempt < 3; ++attempt) {
    REQUIRE(a.start_batch(batch->id, false, now, rows));
    auto before = a.batch(batch->id)->submission_id;
    auto n = a.batch_attempt_failed(batch->id, true, "connection reset", 0.5, now, rows);
    REQUIRE(n);
    auto row = a.batch(batch->id);
    if (attempt < 2) {
      CHECK(n->items.empty());
      CHECK(row->state == static_cast<uint8_t>(batch_state::queued));
      waits.push_back(row->next_attempt_unix_ms - now);
      // Not ready before its time; a new attempt gets a new submission id.
      CHECK(a.ready_batches(row->next_attempt_unix_ms - 1, [](auto&) { return true; }).empty());
      now = row->next_attempt_unix_ms;
      REQUIRE(a.start_batch(batch->id, false, now, rows));
      CHECK(a.batch(batch->id)->submission_id != before);
      REQUIRE(a.batch_lost(batch->id, now, rows));  // back to queued for the loop
    } else {
      CHECK(n->items.size() == 2);  // retries exhausted: FAILED notices for the peer
      d.write(rows);                // terminal rows leave memory; read them back from disk
      CHECK(a.batch(batch->id)->state == static_cast<uint8_t>(batch_state::failed));
      CHECK(a.live_outgoing().empty());
    }
  }
  REQUIRE(waits.size() == 2);
  CHECK(waits[0] == 1000);  // min x 2^0 x (0.5 + 0.5)
  CHECK(waits[1] == 2000);
  // The cap: min x 2^retries never exceeds max (x jitter factor < 1.5).
  auto capped = a.create_batch("b", "local", 0, files(1, "g"), 0, rows);
  REQUIRE(capped);
  REQUIRE(a.on_staged(staged_answer(*a.stage_message(capped->id)), 0, rows));
  REQUIRE(a.start_batch(capped->id, false, 0, rows));
  REQUIRE(a.batch_attempt_failed(capped->id, true, "x", 0.0, 0, rows));
  CHECK(a.batch(capped->id)->next_attempt_unix_ms == 500);
  // A permanent failure fails at once, with no retry.
  auto perm = a.create_batch("b", "local", 0, files(1, "h"), 0, rows);
  REQUIRE(a.on_staged(staged_answer(*a.stage_message(perm->id)), 0, rows));
  REQUIRE(a.start_batch(perm->id, false, 0, rows));
  auto n = a.batch_attempt_failed(perm->id, false, "quota exceeded", 0.5, 0, rows);
  REQUIRE(n);
  CHECK(n->items.size() == 1);
  d.write(rows);
  CHECK(a.batch(perm->id)->state == static_cast<uint8_t>(batch_state::failed));
}

TEST_CASE("a partly failed batch stages the good files and retries only the others") {
  rep_db d;
  replication_state a{*d.db, "a", small_config()};
  REQUIRE(a.load());
  storage::row_list rows;
  auto batch = a.create_batch("b", "native", 0, files(3), 0, rows);
  REQUIRE(a.on_staged(staged_answer(*a.stage_message(batch->id)), 0, rows));
  REQUIRE(a.start_batch(batch->id, false, 0, rows));
  REQUIRE(a.batch_submitted(batch->id, "t", 0, rows));
  auto jobs = a.job_files(batch->id);
  auto n = a.batch_succeeded(batch->id, {jobs[1].transfer_id}, true, "stall", 200, 10, rows);
  REQUIRE(n);
  CHECK(n->items.size() == 2);
  CHECK(a.batch(batch->id)->state == static_cast<uint8_t>(batch_state::queued));
  auto left = a.job_files(batch->id);
  REQUIRE(left.size() == 1);
  CHECK(left[0].transfer_id == jobs[1].transfer_id);
}

TEST_CASE("consume_queue: priorities, global and per-peer limits, disabled peers skipped") {
  rep_db d;
  replication_state a{*d.db, "a", small_config()};  // 3 active at most, 2 per peer
  REQUIRE(a.load());
  storage::row_list rows;
  std::vector<uint64_t> to_b, to_c;
  for (int i = 0; i < 3; ++i) {
    auto x = a.create_batch("b", "native", i, files(1, "b" + std::to_string(i)), i, rows);
    REQUIRE(a.on_staged(staged_answer(*a.stage_message(x->id)), 0, rows));
    to_b.push_back(x->id);
    auto y = a.create_batch("c", "native", 0, files(1, "c" + std::to_string(i)), i, rows);
    auto ans = staged_answer(*a.stage_message(y->id));
    ans.from = "c";
    REQUIRE(a.on_staged(ans, 0, rows));
    to_c.push_back(y->id);
  }
  auto all = [](const std::string&) { return true; };
  auto ready = a.ready_batches(0, all);
  // b's two highest priorities first, then c's oldest: 3 in all, 2 for b.
  REQUIRE(ready.size() == 3);
  CHECK(ready[0] == to_b[2]);
  CHECK(ready[1] == to_b[1]);
  CHECK(ready[2] == to_c[0]);
  // b disabled: its items are skipped, c's go ahead without waiting behind them.
  auto no_b = a.ready_batches(0, [](const std::string& p) { return p != "b"; });
  REQUIRE(no_b.size() == 2);  // per-peer limit for c
  CHECK(no_b[0] == to_c[0]);
  CHECK(no_b[1] == to_c[1]);
}

TEST_CASE("the peer's stage answer: refused items fail, present ones are adopted") {
  rep_db d;
  replication_state a{*d.db, "a", small_config()};
  REQUIRE(a.load());
  storage::row_list rows;
  auto batch = a.create_batch("b", "native", 0, files(4), 0, rows);
  auto req = *a.stage_message(batch->id);
  auto ans = staged_answer(req);
  ans.items[1].code = static_cast<uint8_t>(errc::already_exists);
  ans.items[1].existing_checksum = req.items[1].checksum;
  ans.items[2].code = static_cast<uint8_t>(errc::already_exists);  // a different file there
  ans.items[2].existing_checksum = "xxh3:::" + std::string(32, '0');
  ans.items.pop_back();  // left out
  auto out = a.on_staged(ans, 5, rows);
  REQUIRE(out);
  REQUIRE(out->present.size() == 1);
  CHECK(out->present[0] == req.items[1].source_id);
  d.write(rows);
  CHECK(a.outgoing(req.items[2].source_id)->status == b(failed));
  CHECK(a.outgoing(req.items[3].source_id)->status == b(failed));
  // Only item 0 moves: item 1 is at the peer already and waits for its adoption.
  REQUIRE(a.job_files(batch->id).size() == 1);
  CHECK(a.job_files(batch->id)[0].transfer_id == req.items[0].source_id);
  REQUIRE(a.complete_outgoing(req.items[1].source_id, 6, rows));
  CHECK(a.job_files(batch->id).size() == 1);
  // An answer from someone else about this batch is refused.
  auto other = a.create_batch("b", "native", 0, files(1, "z"), 0, rows);
  auto wrong = staged_answer(*a.stage_message(other->id));
  wrong.from = "c";
  CHECK_FALSE(a.on_staged(wrong, 7, rows));
}

TEST_CASE("the receiving side: idempotent stages, source notices, terminal statuses told again") {
  rep_db d;
  replication_state bs{*d.db, "b", small_config()};
  REQUIRE(bs.load());
  storage::row_list rows;
  clone_item item{7, "run/x", 10, "xxh3:::" + std::string(32, 'a')};
  auto r = bs.create_incoming("a", 7, 1, item, "main", 55, "/s/clone-a-1",
                              "/s/clone-a-1/upload-55/x", 100, rows);
  REQUIRE(r);
  CHECK_FALSE(bs.create_incoming("a", 7, 1, item, "main", 56, "/s", "/s/y", 101, rows));
  d.write(rows);
  // A restart: found by source id from disk and memory alike.
  replication_state b2{*d.db, "b", small_config()};
  REQUIRE(b2.load());
  REQUIRE(b2.incoming_by_source("a", 7));
  CHECK(b2.incoming_by_source("a", 7)->id == r->id);
  CHECK_FALSE(b2.incoming_by_source("c", 7));

  clone_status from_a{"a", {{7, r->id, b(staged), "", 0}, {8, 0, b(staged), "", 0}}};
  auto back = b2.on_source_status(from_a, 200, rows);
  CHECK(b2.incoming(r->id)->status == b(staged));
  REQUIRE(back.items.size() == 1);  // "no such transfer" about source id 8
  CHECK(back.items[0].source_id == 8);
  CHECK(back.items[0].status == status_unknown);
  CHECK(b2.staged_incoming(10) == std::vector<uint64_t>{r->id});

  auto preview = b2.preview_incoming(r->id, completed, 300);
  REQUIRE(preview);
  CHECK(b2.incoming(r->id)->status == b(staged));  // a preview changes nothing
  CHECK_FALSE(b2.preview_incoming(r->id, ongoing, 300));
  REQUIRE(b2.set_incoming(r->id, completed, "", 300, rows));
  d.write(rows);
  // The source did not hear the callback: its next notice gets COMPLETED back.
  auto again = b2.on_source_status({"a", {{7, r->id, b(staged), "", 0}}}, 400, rows);
  REQUIRE(again.items.size() == 1);
  CHECK(again.items[0].status == b(completed));
  // Refusals are remembered too.
  clone_item other{9, "run/y", 1, item.checksum};
  REQUIRE(b2.refuse_incoming("a", 9, other, "no room", 500, rows));
  d.write(rows);
  replication_state b3{*d.db, "b", small_config()};
  REQUIRE(b3.load());
  CHECK(b3.incoming_by_source("a", 9)->status == b(failed));
  CHECK(b3.live_incoming().empty());
}

// ---- the hypervisors' table (docs/replication.md), one check per row

outgoing_row out_row(xfer_status s) {
  outgoing_row o;
  o.id = 1;
  o.status = b(s);
  o.file = "f";
  o.checksum = "xxh3:::" + std::string(32, 'a');
  return o;
}

incoming_row in_row(xfer_status s) {
  incoming_row r;
  r.id = 2;
  r.status = b(s);
  return r;
}

TEST_CASE("outgoing_transfer_hypervisor: every case of the table") {
  auto same = "xxh3:::" + std::string(32, 'a');
  auto other = "xxh3:::" + std::string(32, 'b');
  // The peer has the file with our checksum (lost callback; registered but never told): complete.
  for (auto mine : {initiated, ongoing, staged})
    for (uint8_t peer : {b(staged), b(completed), status_unknown})
      CHECK(reconcile_outgoing(out_row(mine), peer, same).kind == verdict_kind::complete);
  // A different file of that name: fail.
  CHECK(reconcile_outgoing(out_row(staged), b(completed), other).kind == verdict_kind::fail);
  // No file and no record at the peer (staging lost, or it never got the request): fail.
  CHECK(reconcile_outgoing(out_row(ongoing), status_unknown, "").kind == verdict_kind::fail);
  // Failed or cancelled at the peer only: fail here too.
  CHECK(reconcile_outgoing(out_row(staged), b(failed), "").kind == verdict_kind::fail);
  CHECK(reconcile_outgoing(out_row(ongoing), b(cancelled), "").kind == verdict_kind::fail);
  // COMPLETED at the peer but no file there: fail (the copy is gone; send again).
  CHECK(reconcile_outgoing(out_row(staged), b(completed), "").kind == verdict_kind::fail);
  // Still in progress at the peer: leave it (slow is not dead).
  for (auto peer : {initiated, ongoing, staged})
    CHECK(reconcile_outgoing(out_row(ongoing), b(peer), "").kind == verdict_kind::leave);
}

TEST_CASE("incoming_transfer_hypervisor: every case of the table") {
  // The source has no record: fail.
  CHECK(reconcile_incoming(in_row(ongoing), status_unknown).kind == verdict_kind::fail);
  // The source says COMPLETED, yet nothing was ingested here: fail.
  CHECK(reconcile_incoming(in_row(initiated), b(completed)).kind == verdict_kind::fail);
  // Failed or cancelled at the source only: fail.
  CHECK(reconcile_incoming(in_row(ongoing), b(failed)).kind == verdict_kind::fail);
  CHECK(reconcile_incoming(in_row(staged), b(cancelled)).kind == verdict_kind::fail);
  // Both agree: leave it.
  for (auto s : {initiated, ongoing, staged})
    CHECK(reconcile_incoming(in_row(s), b(s)).kind == verdict_kind::leave);
  // Behind the source: adopt its status.
  auto v = reconcile_incoming(in_row(initiated), b(ongoing));
  CHECK(v.kind == verdict_kind::adopt);
  CHECK(v.to == ongoing);
  v = reconcile_incoming(in_row(initiated), b(staged));
  CHECK((v.kind == verdict_kind::adopt && v.to == staged));
  v = reconcile_incoming(in_row(ongoing), b(staged));
  CHECK((v.kind == verdict_kind::adopt && v.to == staged));
  // Ahead of a source that never started: fail.
  CHECK(reconcile_incoming(in_row(ongoing), b(initiated)).kind == verdict_kind::fail);
  // STAGED here while the source lags: recv_clone owns it.
  CHECK(reconcile_incoming(in_row(staged), b(initiated)).kind == verdict_kind::leave);
  CHECK(reconcile_incoming(in_row(staged), b(ongoing)).kind == verdict_kind::leave);
}

TEST_CASE("submission ids are UUID-shaped, stable, and differ per attempt") {
  auto x = submission_id_for("a", 1, 0);
  CHECK(x.size() == 36);
  CHECK(x[8] == '-');
  CHECK(x[14] == '8');  // version 8
  CHECK(x == submission_id_for("a", 1, 0));
  CHECK(x != submission_id_for("a", 1, 1));
  CHECK(x != submission_id_for("a", 2, 0));
  CHECK(x != submission_id_for("b", 1, 0));
}

}  // namespace

TEST_CASE(
    "cancelling a peer's transfers: CANCELLED, batches cancelled, the peer told, others kept") {
  rep_db d;
  replication_state a{*d.db, "a", small_config()};
  REQUIRE(a.load());
  storage::row_list rows;
  // One batch to b that is active on its mover, one still staging, one to c.
  auto active = a.create_batch("b", "local", 0, files(2, "x"), 1000, rows);
  auto staging = a.create_batch("b", "local", 0, files(2, "y"), 1000, rows);
  auto other = a.create_batch("c", "local", 0, files(1, "z"), 1000, rows);
  REQUIRE((active && staging && other));
  d.write(rows);
  auto req = a.stage_message(active->id);
  REQUIRE(req);
  REQUIRE(a.on_staged(staged_answer(*req), 1100, rows));
  REQUIRE(a.start_batch(active->id, false, 1200, rows));
  REQUIRE(a.batch_submitted(active->id, "task-7", 1200, rows));
  d.write(rows);

  auto c = a.cancel_to("b", "operator", 1300, rows);
  CHECK(c.transfers == 4);
  CHECK(c.batches == 2);
  REQUIRE(c.tasks.size() == 1);
  CHECK(c.tasks[0] == std::make_pair(std::string{"local"}, std::string{"task-7"}));
  // Only transfers b had staged are named to it (it has nothing for the others).
  REQUIRE(c.notices.items.size() == 2);
  for (const auto& item : c.notices.items) {
    CHECK(item.status == b(cancelled));
    CHECK(item.incoming_id >= 100);
  }
  d.write(rows);
  CHECK_FALSE(a.has_live_outgoing("b", "x0"));
  CHECK(a.has_live_outgoing("c", "z0"));
  CHECK(a.batch(active->id)->state == static_cast<uint8_t>(batch_state::cancelled));
  // From disk: nothing to b is live any more; c's batch is untouched.
  replication_state again{*d.db, "a", small_config()};
  REQUIRE(again.load());
  CHECK(again.live_outgoing().size() == 1);
  CHECK(again.live_batches().size() == 1);
  CHECK(again.live_batches().contains(other->id));
  // Nothing left to cancel: no rows.
  auto none = again.cancel_to("b", "operator", 1400, rows);
  CHECK(none.transfers == 0);
  CHECK(rows.empty());
}
