// The librarian's state machine over a real RocksDB: uploads (stage, commit, conflicts, reaping),
// name validation, search with every filter and paging, stores, peers and errors.
#include <doctest/doctest.h>

#include "actors/librarian/catalog_state.hpp"
#include "actors/librarian/file_checksum.hpp"
#include "catalog_fixture.hpp"
#include "storage/keys.hpp"
#include "storage/row_list_ops.hpp"

namespace librarian::lib::test {
namespace {

const std::string sum_a = "xxh3:::" + std::string(32, 'a');
const std::string sum_b = "xxh3:::" + std::string(32, 'b');
const std::string key32(32, 'k');

std::vector<store_config> two_stores() {
  return {{"main", "local", "/stage/main", "/data/main", true, true, 1000, 1.0},
          {"drive", "sneakernet", "/stage/drive", "/data/drive", false, true, 1000, 1.0}};
}

catalog_state make_state(const catalog_db& d, catalog_limits limits = {},
                         std::vector<store_config> stores = two_stores()) {
  catalog_state s{*d.db, "a", std::move(stores), limits, key32};
  REQUIRE(s.load().has_value());
  return s;
}

stage_request req(std::string name, uint64_t size = 10, std::string sum = sum_a,
                  std::string uploader = "alice") {
  return {std::move(name), size, std::move(sum), std::move(uploader), "DISALLOWED", ""};
}

// Stage + commit as the shell does; returns the committed file.
file_info upload(catalog_db& d, catalog_state& s, const stage_request& r, int64_t now = 1000) {
  storage::row_list rows;
  auto staged = s.stage(r, now, rows);
  REQUIRE_MESSAGE(staged.has_value(), staged.err().describe());
  d.write(rows);
  auto claimed = s.begin_commit(staged->upload_id, r.uploader, false);
  REQUIRE(claimed.has_value());
  auto done = s.finish_commit(staged->upload_id, s.instance_path(staged->store, r.name), now, rows);
  REQUIRE(done.has_value());
  d.write(rows);
  s.commit_settled(r.name);
  return done->file;
}

size_t rows_in(const catalog_db& d, const char* table) {
  auto page = d.db->scan_prefix(d.db->get_table(table), "", 100000);
  REQUIRE(page.has_value());
  return page->rows.size();
}

}  // namespace

TEST_CASE("file names: slashes inside are fine, escapes and control characters are not") {
  for (const char* good : {"a", "run1/obs.dat", "a b&c=d.txt", "x/y/z", ".hidden", "a..b"})
    CHECK_MESSAGE(validate_file_name(good, 1024).has_value(), good);
  for (std::string bad :
       {std::string{}, std::string{"/abs"}, std::string{"dir/"}, std::string{"a//b"},
        std::string{".."}, std::string{"a/../b"}, std::string{"./a"}, std::string{"a/."},
        std::string{"tab\there"}, std::string{"nul\0x", 5}, std::string{"del\x7f"},
        std::string(1025, 'n')}) {
    auto st = validate_file_name(bad, 1024);
    CHECK_MESSAGE(!st.has_value(), bad);
    if (!st) CHECK(st.err().code == errc::invalid_argument);
  }
}

TEST_CASE("an upload is staged, committed and then found with its instance") {
  catalog_db d;
  auto s = make_state(d);
  storage::row_list rows;
  auto staged = s.stage(req("run1/obs.dat"), 1000, rows);
  REQUIRE(staged.has_value());
  CHECK(staged->store == "main");  // the sneakernet drive is not ingestable
  CHECK(staged->staging_dir.starts_with("/stage/main/upload-"));
  CHECK(staged->staging_file == staged->staging_dir + "/obs.dat");
  CHECK(staged->ticket.empty());
  CHECK_FALSE(staged->already_present);
  d.write(rows);
  CHECK(s.stores()[0].reserved_bytes == 10);
  CHECK(s.get_file("run1/obs.dat").err().code == errc::not_found);  // nothing before commit

  REQUIRE(s.begin_commit(staged->upload_id, "alice", false).has_value());
  auto done = s.finish_commit(staged->upload_id, "/data/main/run1/obs.dat", 2000, rows);
  REQUIRE(done.has_value());
  CHECK(done->lfn == "run1/obs.dat");
  CHECK(done->pfn == "file:///data/main/run1/obs.dat");
  d.write(rows);
  s.commit_settled("run1/obs.dat");

  auto f = s.get_file("run1/obs.dat");
  REQUIRE(f.has_value());
  CHECK(f->size == 10);
  CHECK(f->checksum == sum_a);
  CHECK(f->uploader == "alice");
  REQUIRE(f->instances.size() == 1);
  CHECK(f->instances[0].path == "/data/main/run1/obs.dat");
  CHECK(f->instances[0].store == "main");
  CHECK(f->instances[0].available);
  CHECK(s.open_uploads().empty());
  CHECK(rows_in(d, uploads_table) == 0);
  auto main = s.stores()[0];
  CHECK(main.used_bytes == 10);
  CHECK(main.reserved_bytes == 0);
  CHECK(main.instances == 1);

  SUBCASE("the catalog survives a reload from disk") {
    auto again = make_state(d);
    CHECK(again.get_file("run1/obs.dat")->instances.size() == 1);
    CHECK(again.stores()[0].used_bytes == 10);
    CHECK(again.open_uploads().empty());
  }
}

TEST_CASE("re-uploading an identical file is a no-op; different content is a conflict") {
  catalog_db d;
  auto s = make_state(d);
  upload(d, s, req("x"));
  storage::row_list rows;
  auto same = s.stage(req("x"), 3000, rows);
  REQUIRE(same.has_value());
  CHECK(same->already_present);
  CHECK(rows.empty());
  auto other = s.stage(req("x", 10, sum_b), 3000, rows);
  REQUIRE_FALSE(other.has_value());
  CHECK(other.err().code == errc::conflict);
  CHECK(other.err().message.find("different file named 'x'") != std::string::npos);
  auto bigger = s.stage(req("x", 11), 3000, rows);
  CHECK(bigger.err().code == errc::conflict);
  CHECK(rows.empty());
}

TEST_CASE("stage refuses bad input and leaves nothing behind") {
  catalog_db d;
  catalog_limits limits;
  limits.upload_bytes_max = 500;
  auto s = make_state(d, limits);
  storage::row_list rows;
  auto expect = [&](const stage_request& r, errc code, const char* what) {
    auto out = s.stage(r, 1000, rows);
    REQUIRE_MESSAGE(!out.has_value(), what);
    CHECK_MESSAGE(out.err().code == code, what << ": " << out.err().describe());
    CHECK(rows.empty());
  };
  expect(req("a/../b"), errc::invalid_argument, "dot-dot");
  expect(req(""), errc::invalid_argument, "empty name");
  expect(req("ctl\x01"), errc::invalid_argument, "control character");
  expect(req("x", 10, "md5:::abc"), errc::invalid_argument, "bad checksum");
  expect(req("x", 501), errc::invalid_argument, "above the upload maximum");
  auto unknown = req("x");
  unknown.store = "nowhere";
  expect(unknown, errc::not_found, "unknown store");
  auto drive = req("x");
  drive.store = "drive";
  expect(drive, errc::invalid_argument, "not ingestable store");
  auto policy = req("x");
  policy.deletion_policy = "sometimes";
  expect(policy, errc::invalid_argument, "deletion policy");
  CHECK(s.open_uploads().empty());
  CHECK(s.stores()[0].reserved_bytes == 0);
}

TEST_CASE("a full or disabled store refuses uploads; reservations count against room") {
  catalog_db d;
  std::vector<store_config> one{{"main", "local", "/s", "/d", true, true, 100, 0.5}};
  auto s = make_state(d, {}, one);
  storage::row_list rows;
  CHECK(s.stage(req("big", 51), 1, rows).err().code == errc::storage_full);
  auto first = s.stage(req("a", 30), 1, rows);
  REQUIRE(first.has_value());
  CHECK(s.stage(req("b", 30, sum_b), 1, rows).err().code == errc::storage_full);  // 30 reserved
  rows.clear();
  REQUIRE(s.set_store_enabled("main", false, rows).has_value());
  auto disabled = s.stage(req("c", 1), 1, rows);
  CHECK(disabled.err().code == errc::unavailable);
  CHECK(s.set_store_enabled("nope", true, rows).err().code == errc::not_found);
  d.write(rows);
  auto reloaded = make_state(d, {}, one);
  CHECK_FALSE(reloaded.stores()[0].enabled);  // the flag is durable, not just in memory
}

TEST_CASE("open uploads: one per name, a retried stage gets the same upload, others are refused") {
  catalog_db d;
  auto s = make_state(d);
  storage::row_list rows;
  auto first = s.stage(req("n"), 1, rows);
  REQUIRE(first.has_value());
  auto retry = s.stage(req("n"), 2, rows);
  REQUIRE(retry.has_value());
  CHECK(retry->upload_id == first->upload_id);
  CHECK(s.stage(req("n", 10, sum_a, "bob"), 2, rows).err().code == errc::conflict);
  CHECK(s.stage(req("n", 10, sum_b), 2, rows).err().code == errc::conflict);
}

TEST_CASE("commit: only the stager (or an admin) may commit, once") {
  catalog_db d;
  auto s = make_state(d);
  storage::row_list rows;
  auto staged = s.stage(req("f"), 1, rows);
  REQUIRE(staged.has_value());
  auto id = staged->upload_id;
  auto by_bob = s.begin_commit(id, "bob", false);
  CHECK(by_bob.err().code == errc::not_found);  // bob learns nothing about alice's upload
  CHECK(s.begin_commit(id + 100, "alice", false).err().code == errc::not_found);
  REQUIRE(s.begin_commit(id, "bob", true).has_value());  // an admin may
  CHECK(s.begin_commit(id, "alice", false).err().code == errc::conflict);
  // While the commit is in flight no new stage can claim the name.
  s.release_commit(id);
  REQUIRE(s.begin_commit(id, "alice", false).has_value());
  auto aborted = s.abort_upload(id, rows);
  REQUIRE(aborted.has_value());
  CHECK(aborted->staging_dir == staged->staging_dir);
  CHECK(s.open_uploads().empty());
  CHECK(s.stores()[0].reserved_bytes == 0);
  CHECK(s.begin_commit(id, "alice", false).err().code == errc::not_found);
}

TEST_CASE("a stage without a checksum declares it at commit") {
  catalog_db d;
  auto s = make_state(d);
  storage::row_list rows;
  auto staged = s.stage(req("late", 10, ""), 1, rows);
  REQUIRE_MESSAGE(staged.has_value(), staged.err().describe());
  d.write(rows);
  auto id = staged->upload_id;
  // A retried stage without one is the same upload.
  auto retry = s.stage(req("late", 10, ""), 2, rows);
  REQUIRE(retry.has_value());
  CHECK(retry->upload_id == id);
  // Claimed without a checksum (as a cancel does), the row has none: commit() refuses that.
  auto bare = s.begin_commit(id, "alice", false);
  REQUIRE(bare.has_value());
  CHECK(bare->checksum.empty());
  s.release_commit(id);
  CHECK(s.begin_commit(id, "alice", false, "sha1:::x").err().code == errc::invalid_argument);
  auto claimed = s.begin_commit(id, "alice", false, sum_b);
  REQUIRE(claimed.has_value());
  CHECK(claimed->checksum == sum_b);
  rows.clear();
  auto done = s.finish_commit(id, "/data/main/late", 3, rows, claimed->checksum);
  REQUIRE(done.has_value());
  d.write(rows);
  s.commit_settled("late");
  CHECK(s.get_file("late")->checksum == sum_b);
  // The name is taken now: without a checksum nobody can tell "identical" from "different".
  auto again = s.stage(req("late", 10, ""), 4, rows);
  REQUIRE_FALSE(again.has_value());
  CHECK(again.err().code == errc::conflict);
  CHECK(again.err().message.find("stage with the checksum") != std::string::npos);
  auto same = s.stage(req("late", 10, sum_b), 4, rows);
  REQUIRE(same.has_value());
  CHECK(same->already_present);
}

TEST_CASE("a commit that declares another checksum than the stage is refused") {
  catalog_db d;
  auto s = make_state(d);
  storage::row_list rows;
  auto staged = s.stage(req("f"), 1, rows);
  REQUIRE(staged.has_value());
  auto other = s.begin_commit(staged->upload_id, "alice", false, sum_b);
  REQUIRE_FALSE(other.has_value());
  CHECK(other.err().code == errc::checksum_mismatch);
  auto same = s.begin_commit(staged->upload_id, "alice", false, sum_a);
  REQUIRE(same.has_value());
  CHECK(same->checksum == sum_a);
}

TEST_CASE("imports record new files, new instances of known ones, and refuse the rest") {
  catalog_db d;
  auto s = make_state(d);
  upload(d, s, req("known"));  // on store "main" already
  storage::row_list rows;
  auto open = s.stage(req("open", 10, sum_b), 1, rows);
  REQUIRE(open.has_value());
  d.write(rows);
  using kind = catalog_state::import_kind;
  CHECK(*s.import_check("main", "known") == kind::present);
  CHECK(*s.import_check("main", "fresh") == kind::fresh);
  CHECK(s.import_check("main", "open").err().code == errc::conflict);
  CHECK(s.import_check("main", "a/../b").err().code == errc::invalid_argument);

  // A second store holds a copy of "known", a new file, and one with a clashing checksum.
  auto stores = two_stores();
  stores.push_back({"other", "local", "/stage/other", "/data/other", true, true, 1000, 1.0});
  catalog_db d2;
  auto t = make_state(d2, {}, stores);
  upload(d2, t, req("known"));
  upload(d2, t, req("clash", 10, sum_a));
  rows.clear();
  std::vector<std::pair<std::string, std::string>> mappings;
  std::vector<bool> known;
  auto out =
      t.record_imports("other", {{"known", 10, sum_a}, {"new/one", 7, sum_b}, {"clash", 10, sum_b}},
                       "admin", 5000, rows, mappings, known);
  REQUIRE(out.size() == 3);
  CHECK(out[0].has_value());
  CHECK(known[0]);
  CHECK(out[1].has_value());
  CHECK_FALSE(known[1]);
  REQUIRE_FALSE(out[2].has_value());
  CHECK(out[2].err().code == errc::conflict);
  REQUIRE(mappings.size() == 2);
  CHECK(mappings[1] ==
        std::pair<std::string, std::string>{"new/one", "file:///data/other/new/one"});
  d2.write(rows);
  auto f = t.get_file("new/one");
  REQUIRE(f.has_value());
  CHECK(f->checksum == sum_b);
  CHECK(f->uploader == "admin");
  REQUIRE(f->instances.size() == 1);
  CHECK(f->instances[0].path == "/data/other/new/one");
  CHECK(t.get_file("known")->instances.size() == 2);
  CHECK(*t.import_check("other", "new/one") == kind::present);
  // Recorded already: refused as already_exists, nothing appended.
  rows.clear();
  mappings.clear();
  auto again =
      t.record_imports("other", {{"new/one", 7, sum_b}}, "admin", 6000, rows, mappings, known);
  CHECK(again[0].err().code == errc::already_exists);
  CHECK(rows.empty());
}

TEST_CASE("stale uploads are found for the reaper, and open uploads survive a restart") {
  catalog_db d;
  catalog_limits limits;
  limits.stage_ttl_ms = 100;
  auto s = make_state(d, limits);
  storage::row_list rows;
  auto a = s.stage(req("a"), 1000, rows);
  auto b = s.stage(req("b", 10, sum_b), 1050, rows);
  REQUIRE((a.has_value() && b.has_value()));
  d.write(rows);
  CHECK(s.stale_uploads(1099, 10).empty());
  auto stale = s.stale_uploads(1100, 10);
  REQUIRE(stale.size() == 1);
  CHECK(stale[0].name == "a");
  auto again = make_state(d, limits);
  CHECK(again.open_uploads().size() == 2);
  CHECK(again.stores()[0].reserved_bytes == 20);
  auto next = again.stage(req("c"), 1100, rows);
  REQUIRE(next.has_value());
  CHECK(next->upload_id > b->upload_id);  // ids are never reused across restarts
}

TEST_CASE("search-files: every filter, the driving indexes and paging") {
  catalog_db d;
  auto s = make_state(d);
  std::vector<std::string> names;
  for (int i = 0; i < 30; ++i) {
    auto name = (i % 2 == 0 ? "even/" : "odd/") + std::to_string(100 + i);
    auto r = req(name, static_cast<uint64_t>(i + 1), i < 5 ? sum_b : sum_a,
                 i % 3 == 0 ? "carol" : "alice");
    upload(d, s, r, 10000 + i * 10);
  }
  storage::row_list rows;
  add_librarian_request peer{"b", "http://127.0.0.1", 7181, "a:secret", false};
  REQUIRE(s.add_librarian(peer, 1, rows).has_value());
  d.write(rows);
  for (int i : {0, 2, 4})
    REQUIRE(s.add_remote_instance({"even/" + std::to_string(100 + i), "b", 1, 5, "a"}, rows)
                .has_value());
  d.write(rows);
  CHECK(s.add_remote_instance({"even/100", "zz", 1, 5, "a"}, rows).err().code == errc::not_found);

  auto count = [&](file_query q) {
    q.max_results = 1000;
    auto page = s.search(q);
    REQUIRE_MESSAGE(page.has_value(), page.err().describe());
    CHECK_FALSE(page->more);
    return page->files.size();
  };
  CHECK(count({}) == 30);
  CHECK(count({.name_glob = "even/*"}) == 15);
  CHECK(count({.name_glob = "*/12?"}) == 10);
  CHECK(count({.name_glob = "odd/101"}) == 1);
  CHECK(count({.create_from_unix_ms = 10100, .create_to_unix_ms = 10190}) == 10);
  CHECK(count({.uploader = "carol"}) == 10);
  CHECK(count({.source = "carol"}) == 10);
  CHECK(count({.size_min = 10, .size_max = 19}) == 10);
  CHECK(count({.store = "main"}) == 30);
  CHECK(count({.store = "drive"}) == 0);
  CHECK(count({.checksum = sum_b}) == 5);
  CHECK(count({.has_remote_at = "b"}) == 3);
  CHECK(count({.lacks_remote_at = "b"}) == 27);
  CHECK(count({.name_glob = "even/*", .uploader = "carol", .lacks_remote_at = "b"}) == 4);
  CHECK(count({.create_from_unix_ms = 10020, .checksum = sum_b}) == 3);

  SUBCASE("paging returns every match once, on every driving index") {
    for (file_query q :
         {file_query{}, file_query{.name_glob = "even/*"}, file_query{.create_from_unix_ms = 1},
          file_query{.store = "main"}, file_query{.checksum = sum_a}}) {
      q.max_results = 4;
      std::set<std::string> seen;
      for (int guard = 0; guard < 20; ++guard) {
        auto page = s.search(q);
        REQUIRE(page.has_value());
        for (const auto& f : page->files) CHECK(seen.insert(f.name).second);
        if (!page->more) break;
        q.after = page->next_after;
      }
      q.after.clear();
      q.max_results = 1000;
      CHECK(seen.size() == s.search(q)->files.size());
    }
  }
  SUBCASE("a scan budget truncates and the cursor continues it") {
    catalog_limits small;
    small.search_rows_scanned_max = 7;
    small.scan_page_rows = 3;
    auto t = make_state(d, small);
    file_query q{.uploader = "carol", .max_results = 100};
    std::set<std::string> seen;
    int pages = 0;
    for (; pages < 50; ++pages) {
      auto page = t.search(q);
      REQUIRE(page.has_value());
      for (const auto& f : page->files) seen.insert(f.name);
      if (!page->more) break;
      CHECK(page->truncated);
      q.after = page->next_after;
    }
    CHECK(pages > 1);
    CHECK(seen.size() == 10);
  }
  CHECK(s.search({.max_results = 1001}).err().code == errc::invalid_argument);
  CHECK(s.search({.after = "zzz"}).err().code == errc::invalid_argument);
  CHECK(s.search({.size_min = 5, .size_max = 2}).err().code == errc::invalid_argument);
  auto page = s.search({.name_glob = "odd/1*", .max_results = 2});
  REQUIRE(page.has_value());
  CHECK(page->more);
  CHECK(page->files[0].name == "odd/101");
}

TEST_CASE("the duplicate hypervisor keeps the oldest remote row of a pair and mends the index") {
  catalog_db d;
  auto s = make_state(d);
  for (int i = 0; i < 12; ++i) upload(d, s, req("f/" + std::to_string(i), 10), 1000 + i);
  storage::row_list rows;
  REQUIRE(s.add_librarian({"b", "http://127.0.0.1", 7181, "a:secret", false}, 1, rows).has_value());
  REQUIRE(s.add_librarian({"c", "http://127.0.0.1", 7182, "a:secret", false}, 1, rows).has_value());
  d.write(rows);
  for (int i = 0; i < 12; ++i) {
    REQUIRE(s.add_remote_instance({"f/" + std::to_string(i), "b", 1, 500, "a"}, rows).has_value());
    REQUIRE(s.add_remote_instance({"f/" + std::to_string(i), "c", 1, 500, "a"}, rows).has_value());
  }
  d.write(rows);
  // What the catalog never writes itself: more rows for one (file, peer), written raw.
  auto raw_remote = [&](const std::string& file, const std::string& peer, uint64_t store,
                        int64_t copy_ms, bool with_index) {
    remote_instance_row r{file, peer, store, copy_ms, "a"};
    std::string key, by_lib;
    storage::append_string(key, file);
    storage::append_string(key, peer);
    storage::append_u64(key, store);
    storage::append_string(by_lib, peer);
    storage::append_string(by_lib, file);
    storage::append_u64(by_lib, store);
    storage::put_row(rows, remotes_table, key, r);
    if (with_index) storage::put_marker(rows, remotes_by_librarian_table, by_lib);
  };
  // The catalog's own rows are store 1, copied at 500.
  raw_remote("f/3", "b", 7, 100, true);   // older than the catalog's row: it stays, that one goes
  raw_remote("f/3", "b", 9, 900, true);   // newer: goes
  raw_remote("f/5", "c", 2, 800, false);  // newer and unindexed: goes
  raw_remote("f/7", "b", 4, 200, false);  // oldest, unindexed: stays (index added), store 1 goes
  raw_remote("f/7", "b", 5, 200, true);   // same time, larger store id: goes
  d.write(rows);
  std::string orphan;
  storage::append_string(orphan, "c");
  storage::append_string(orphan, "f/gone");
  storage::append_u64(orphan, 3);
  storage::put_marker(rows, remotes_by_librarian_table, orphan);
  d.write(rows);

  auto pass = [&](size_t page_rows) {
    remote_dedupe_page total;
    std::string cursor;
    int pages = 0;
    do {
      auto page = s.dedupe_remotes(cursor, page_rows, rows);
      REQUIRE_MESSAGE(page.has_value(), page.err().describe());
      d.write(rows);
      total.removed += page->removed;
      total.index_repaired += page->index_repaired;
      cursor = page->next;
      REQUIRE(++pages < 200);
    } while (!cursor.empty());
    return std::make_pair(total, pages);
  };
  auto [first, pages] = pass(3);  // pages of 3 rows: groups cross page boundaries
  CHECK(pages > 5);
  CHECK(first.removed == 5);
  CHECK(first.index_repaired == 2);  // f/7's kept row indexed; the orphan dropped
  auto [again, unused] = pass(1000);
  CHECK(again.removed == 0);
  CHECK(again.index_repaired == 0);

  auto f3 = s.get_file("f/3");
  REQUIRE(f3.has_value());
  REQUIRE(f3->remote_instances.size() == 2);
  for (const auto& r : f3->remote_instances)
    if (r.librarian == "b") CHECK(r.store_id == 7);
  auto f7 = s.get_file("f/7");
  REQUIRE(f7.has_value());
  for (const auto& r : f7->remote_instances)
    if (r.librarian == "b") CHECK(r.store_id == 4);
  auto f5 = s.get_file("f/5");
  REQUIRE(f5.has_value());
  CHECK(f5->remote_instances.size() == 2);
  // Every kept row is found through the index, and nothing else is.
  auto at_b = s.search({.has_remote_at = "b", .max_results = 1000});
  REQUIRE(at_b.has_value());
  CHECK(at_b->files.size() == 12);
  auto at_c = s.search({.has_remote_at = "c", .max_results = 1000});
  REQUIRE(at_c.has_value());
  CHECK(at_c->files.size() == 12);
  CHECK_FALSE(s.dedupe_remotes("x12", 10, rows).has_value());
  CHECK_FALSE(s.dedupe_remotes("pzz", 10, rows).has_value());
  CHECK(rows.empty());
}

TEST_CASE("best instance and validation: a mismatch records corruption and an error") {
  catalog_db d;
  auto s = make_state(d);
  auto f = upload(d, s, req("v"));
  auto best = s.best_instance("v");
  REQUIRE(best.has_value());
  CHECK(best->id == f.instances[0].id);
  CHECK(s.best_instance("missing").err().code == errc::not_found);
  storage::row_list rows;
  auto ok = s.record_validation("v", best->id, sum_a, 10, 5000, "t", rows);
  REQUIRE(ok.has_value());
  CHECK(ok->match);
  d.write(rows);
  CHECK(s.corrupt_files(10)->empty());
  auto bad = s.record_validation("v", best->id, sum_b, 10, 6000, "t", rows);
  REQUIRE(bad.has_value());
  CHECK_FALSE(bad->match);
  d.write(rows);
  auto corrupt = s.corrupt_files(10);
  REQUIRE(corrupt->size() == 1);
  CHECK((*corrupt)[0].checksum == sum_b);
  auto errors = s.search_errors({.category = "data_integrity"});
  REQUIRE(errors->size() == 1);
  CHECK(s.get_file("v")->instances[0].cached_checksum == sum_b);
  auto again = s.record_validation("v", best->id, sum_b, 10, 7000, "t", rows);
  REQUIRE(again.has_value());
  CHECK_FALSE(again->match);
  d.write(rows);
  CHECK(s.corrupt_files(10)->size() == 1);  // the same damage is recorded once
  CHECK(s.search_errors({})->size() == 1);
  CHECK(s.get_file("v")->instances[0].checksum_unix_ms == 7000);  // the last check
  CHECK(s.record_validation("v", 999, sum_a, 10, 1, "t", rows).err().code == errc::not_found);
}

TEST_CASE("instances_on_store walks one store in pages, newest-only when asked") {
  catalog_db d;
  auto s = make_state(d);
  for (int i = 0; i < 7; ++i)
    upload(d, s, req("f" + std::to_string(i), 1, i % 2 ? sum_a : sum_b), 100 + i);
  std::vector<std::string> seen;
  std::string after;
  for (int guard = 0; guard < 10; ++guard) {
    auto batch = s.instances_on_store("main", 0, after, 3);
    REQUIRE(batch.has_value());
    for (const auto& [name, inst] : batch->items) {
      seen.push_back(name);
      CHECK(inst.store == "main");
    }
    if (!batch->more) break;
    after = batch->next_after;
  }
  CHECK(seen == std::vector<std::string>{"f0", "f1", "f2", "f3", "f4", "f5", "f6"});
  auto recent = s.instances_on_store("main", 105, "", 100);
  REQUIRE(recent.has_value());
  CHECK(recent->items.size() == 2);
  CHECK(s.instances_on_store("drive", 0, "", 10)->items.empty());
  CHECK(s.instances_on_store("main", 0, "zz", 10).err().code == errc::invalid_argument);
}

TEST_CASE("a store manifest lists its files page by page and can retire the store") {
  catalog_db d;
  auto s = make_state(d);
  for (int i = 0; i < 5; ++i) upload(d, s, req("m" + std::to_string(i), 3), 50 + i);
  storage::row_list rows;
  manifest_request r{"main", "", false, false, "", 2};
  std::vector<std::string> names;
  for (int guard = 0; guard < 10; ++guard) {
    auto page = s.store_manifest(r, rows);
    REQUIRE(page.has_value());
    CHECK(rows.empty());
    CHECK(page->librarian_name == "a");
    for (const auto& e : page->entries) {
      names.push_back(e.name);
      CHECK(e.size == 3);
      CHECK(e.instance_path == "/data/main/" + e.name);
      CHECK(e.instance_available);
    }
    if (!page->more) break;
    r.after = page->next_after;
  }
  CHECK(names == std::vector<std::string>{"m0", "m1", "m2", "m3", "m4"});
  CHECK(s.store_manifest({"nope", "", false, false, "", 0}, rows).err().code == errc::not_found);
  CHECK(s.store_manifest({"main", "zz", false, false, "", 0}, rows).err().code == errc::not_found);
  CHECK(rows.empty());
  auto retired = s.store_manifest({"main", "", true, true, "", 0}, rows);
  REQUIRE(retired.has_value());
  CHECK(retired->entries.size() == 5);
  d.write(rows);
  CHECK_FALSE(s.stores()[0].enabled);
  auto m0 = s.get_file("m0");
  REQUIRE(m0.has_value());
  for (const auto& i : m0->instances) CHECK_FALSE(i.available);
  CHECK(s.best_instance("m0").err().code == errc::unavailable);
}

TEST_CASE("a cluster peer's transfers can be switched off before it has credentials") {
  catalog_db d;
  auto s = make_state(d);
  s.set_cluster_peers({"c"});
  storage::row_list rows;
  auto off = s.set_transfers_enabled("c", false, rows);
  REQUIRE(off.has_value());
  CHECK_FALSE(off->transfers_enabled);
  d.write(rows);
  auto reloaded = make_state(d);
  reloaded.set_cluster_peers({"c"});
  REQUIRE(reloaded.librarians().size() == 1);
  CHECK_FALSE(reloaded.librarians()[0].transfers_enabled);
  CHECK(reloaded.librarian_authenticator("c").has_value() == false);
  // Adding its credentials later keeps the switch.
  rows.clear();
  auto added = reloaded.add_librarian({"c", "http://h", 1, "u:p", false}, 5, rows);
  REQUIRE(added.has_value());
  CHECK_FALSE(added->transfers_enabled);
  CHECK(reloaded.add_librarian({"c", "http://h", 1, "u:p", false}, 6, rows).err().code ==
        errc::already_exists);
}

TEST_CASE("peers: credentials sealed at rest, transfers toggled, removal") {
  catalog_db d;
  auto s = make_state(d);
  storage::row_list rows;
  add_librarian_request b{"b", "http://127.0.0.1", 7181, "a:pw-for-b", false};
  auto added = s.add_librarian(b, 42, rows);
  REQUIRE(added.has_value());
  CHECK(added->transfers_enabled);
  d.write(rows);
  auto raw = d.db->get(d.db->get_table(librarians_table), storage::string_key("b"));
  REQUIRE(raw.has_value());
  REQUIRE(raw->has_value());
  CHECK((*raw)->find("pw-for-b") == std::string::npos);  // never stored in clear
  CHECK(s.librarian_authenticator("b").value() == "a:pw-for-b");
  CHECK(s.add_librarian(b, 43, rows).err().code == errc::already_exists);
  for (auto bad : {add_librarian_request{"b/x", "http://h", 1, "u:p", false},
                   add_librarian_request{"c", "ftp://h", 1, "u:p", false},
                   add_librarian_request{"c", "http://h:80", 1, "u:p", false},
                   add_librarian_request{"c", "http://h", 0, "u:p", false},
                   add_librarian_request{"c", "http://h", 1, "nopassword", false},
                   add_librarian_request{"a", "http://h", 1, "u:p", false}})
    CHECK_MESSAGE(s.add_librarian(bad, 1, rows).err().code == errc::invalid_argument, bad.name);
  CHECK(rows.empty());
  REQUIRE(s.set_transfers_enabled("b", false, rows).has_value());
  d.write(rows);
  auto reloaded = make_state(d);
  REQUIRE(reloaded.librarians().size() == 1);
  CHECK_FALSE(reloaded.librarians()[0].transfers_enabled);
  CHECK(reloaded.librarian_authenticator("b").value() == "a:pw-for-b");
  CHECK(reloaded.set_transfers_enabled("zz", true, rows).err().code == errc::not_found);
  REQUIRE(reloaded.remove_librarian("b", rows).has_value());
  d.write(rows);
  CHECK(make_state(d).librarians().empty());

  SUBCASE("another key cannot open the credentials") {
    catalog_state other{*d.db, "a", two_stores(), {}, std::string(32, 'x')};
    REQUIRE(other.load().has_value());
    REQUIRE(other.add_librarian({"c", "http://h", 1, "u:p", false}, 1, rows).has_value());
    d.write(rows);
    CHECK(make_state(d).librarian_authenticator("c").err().code == errc::internal);
  }
  SUBCASE("without a key peers cannot be added") {
    catalog_state keyless{*d.db, "a", two_stores(), {}, ""};
    REQUIRE(keyless.load().has_value());
    CHECK(keyless.add_librarian({"c", "http://h", 1, "u:p", false}, 1, rows).err().code ==
          errc::unavailable);
  }
}

TEST_CASE("errors: raised, searched by severity and category, cleared idempotently") {
  catalog_db d;
  auto s = make_state(d);
  storage::row_list rows;
  REQUIRE(s.raise_error("critical", "store_full", "main is full", "t", 100, rows).has_value());
  REQUIRE(s.raise_error("warning", "transfer", "slow", "t", 200, rows).has_value());
  CHECK(s.raise_error("bogus", "transfer", "x", "t", 1, rows).err().code == errc::invalid_argument);
  d.write(rows);
  CHECK(s.search_errors({})->size() == 2);
  CHECK(s.search_errors({.severity = "critical"})->size() == 1);
  CHECK(s.search_errors({.category = "transfer"})->size() == 1);
  CHECK(s.search_errors({.from_unix_ms = 150})->size() == 1);
  auto cleared = s.clear_error(1, 300, rows);
  REQUIRE(cleared.has_value());
  CHECK(cleared->cleared);
  d.write(rows);
  CHECK(s.search_errors({})->size() == 1);
  CHECK(s.search_errors({.include_resolved = true})->size() == 2);
  CHECK(s.clear_error(1, 400, rows)->cleared_unix_ms == 300);
  CHECK(s.clear_error(99, 1, rows).err().code == errc::not_found);
  CHECK(s.search_errors({.id = 2})->size() == 1);
  CHECK(s.search_errors({.category = "nope"}).err().code == errc::invalid_argument);
}

}  // namespace librarian::lib::test
