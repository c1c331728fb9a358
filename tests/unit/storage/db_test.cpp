// storage::db: open, get, batches, bounded scans, and the error messages operators see.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>

#include <rocksdb/db.h>
#include <rocksdb/table_properties.h>

#include "storage/db.hpp"
#include "storage/fault_env.hpp"
#include "storage/keys.hpp"
#include "storage/table.hpp"
#include "temp_dir.hpp"

using namespace librarian;
using namespace librarian::storage;
using librarian::storage::testing::temp_dir;

namespace {

std::unique_ptr<db> open_db(const std::string& path, rocksdb::Env* env = nullptr) {
  open_options o;
  o.path = path;
  o.env = env;
  o.tables = {"files", "by_owner"};
  o.block_cache_bytes = 1u << 20;
  auto opened = db::open(o);
  REQUIRE_MESSAGE(opened, (opened ? "" : opened.err().describe()));
  return std::move(*opened);
}

void put_rows(db& d, table t, const std::vector<std::string>& keys) {
  batch b;
  for (auto& k : keys) b.put(t, k, "v:" + k);
  REQUIRE(d.write(b, durability::sync));
}

std::vector<std::string> keys_of(const scan_page& page) {
  std::vector<std::string> out;
  for (auto& row : page.rows) out.push_back(row.key);
  return out;
}

std::string value_of(const db& d, table t, std::string_view key) {
  auto v = d.get(t, key);
  REQUIRE(v);
  return v->value_or("<absent>");
}

}  // namespace

TEST_CASE("put, get, delete and reopen") {
  temp_dir dir;
  {
    auto d = open_db(dir.db_path());
    auto files = d->get_table("files");
    CHECK(value_of(*d, files, "a") == "<absent>");
    batch b;
    b.put(files, "a", "1");
    b.put(files, "b", "2");
    b.del(files, "b");
    CHECK(b.count() == 3);
    CHECK(b.bytes() > 0);
    REQUIRE(d->write(b, durability::sync));
    CHECK(value_of(*d, files, "a") == "1");
    CHECK(value_of(*d, files, "b") == "<absent>");
    CHECK(d->path() == dir.db_path());
    CHECK(d->int_property("rocksdb.estimate-num-keys").has_value());
    CHECK_FALSE(d->int_property("rocksdb.no-such-property").has_value());
  }
  // Reopening with fewer tables keeps the others: existing column families are always opened.
  open_options o;
  o.path = dir.db_path();
  auto d = db::open(o);
  REQUIRE(d);
  CHECK((*d)->has_table("files"));
  CHECK(value_of(**d, (*d)->get_table("files"), "a") == "1");
}

TEST_CASE("every table's files carry a whole-key Bloom filter, and reads through it are right") {
  temp_dir dir;
  auto d = open_db(dir.db_path());
  for (const char* name : {"files", "by_owner"}) {
    auto t = d->get_table(name);
    std::vector<std::string> keys;
    for (int i = 0; i < 1000; i += 2) keys.push_back("key-" + std::to_string(i));
    put_rows(*d, t, keys);
    REQUIRE(d->raw()->Flush(rocksdb::FlushOptions{}, t.handle).ok());
    rocksdb::TablePropertiesCollection props;
    REQUIRE(d->raw()->GetPropertiesOfAllTables(t.handle, &props).ok());
    REQUIRE_FALSE(props.empty());
    for (const auto& [file, p] : props) {
      CAPTURE(file);
      CHECK(p->filter_policy_name == "bloomfilter");  // RocksDB's name for its Bloom filters
      CHECK(p->filter_size > 0);
    }
    // Present keys are found and absent ones (most of them filtered out) are not.
    for (int i = 0; i < 1000; ++i) {
      const std::string key = "key-" + std::to_string(i);
      CHECK(value_of(*d, t, key) == (i % 2 == 0 ? "v:" + key : "<absent>"));
    }
  }
}

TEST_CASE("scans honour limits, report more, and page with start_after") {
  temp_dir dir;
  auto d = open_db(dir.db_path());
  auto files = d->get_table("files");
  put_rows(*d, files, {"data/a", "data/b", "data/c", "data0", "dat", "logs/x"});

  auto page = d->scan_prefix(files, "data/", 2);
  REQUIRE(page);
  CHECK(keys_of(*page) == std::vector<std::string>{"data/a", "data/b"});
  CHECK(page->more);
  CHECK(page->rows[0].value == "v:data/a");
  auto next = d->scan_prefix(files, "data/", 2, page->rows.back().key);
  REQUIRE(next);
  CHECK(keys_of(*next) == std::vector<std::string>{"data/c"});
  CHECK_FALSE(next->more);
  // Exactly `limit` rows left: more is false.
  auto exact = d->scan_prefix(files, "data/", 3);
  CHECK_FALSE(exact->more);
  // start_after equal to the prefix itself, before it, and past the range.
  CHECK(d->scan_prefix(files, "data/a", 5, "data/a")->rows.empty());
  CHECK(d->scan_prefix(files, "data/", 5, "a")->rows.size() == 3);
  CHECK(d->scan_prefix(files, "data/", 5, "zzz")->rows.empty());
  CHECK(d->scan_prefix(files, "", 10)->rows.size() == 6);

  auto range = d->scan_range(files, "data/b", "data0", 10);
  CHECK(keys_of(*range) == std::vector<std::string>{"data/b", "data/c"});
  auto limited = d->scan_range(files, "", "", 1);
  CHECK(keys_of(*limited) == std::vector<std::string>{"dat"});
  CHECK(limited->more);
  CHECK(d->scan_range(files, "z", "a", 10)->rows.empty());
}

TEST_CASE("prefix scans work for prefixes ending in 0xFF") {
  temp_dir dir;
  auto d = open_db(dir.db_path());
  auto t = d->get_table("by_owner");
  const std::string ff{"\xff"};
  const std::string ffff{"\xff\xff"};
  put_rows(*d, t, {"a", "a" + ff, "a" + ff + "x", "b", ff, ff + "a", ffff, ffff + ff});
  CHECK(keys_of(*d->scan_prefix(t, "a" + ff, 10)) ==
        std::vector<std::string>{"a" + ff, "a" + ff + "x"});
  CHECK(keys_of(*d->scan_prefix(t, ff, 10)) ==
        std::vector<std::string>{ff, ff + "a", ffff, ffff + ff});
  CHECK(keys_of(*d->scan_prefix(t, ffff, 10)) == std::vector<std::string>{ffff, ffff + ff});
  auto paged = d->scan_prefix(t, ff, 2, ff + "a");
  CHECK(keys_of(*paged) == std::vector<std::string>{ffff, ffff + ff});
  CHECK_FALSE(paged->more);
}

namespace {

struct owner_record {
  static constexpr uint8_t schema_version = 1;
  std::string name;
  uint64_t quota_bytes = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, quota_bytes);
  }
};

}  // namespace

TEST_CASE("typed records through get_record and put_record") {
  temp_dir dir;
  auto d = open_db(dir.db_path());
  auto t = d->get_table("files");
  batch b;
  put_record(b, t, string_key("ann"), owner_record{"ann", 1u << 20});
  b.put(t, "garbage", "\x01\x02");
  REQUIRE(d->write(b, durability::buffered));
  auto got = get_record<owner_record>(*d, t, string_key("ann"));
  REQUIRE(got);
  REQUIRE(got->has_value());
  CHECK((*got)->quota_bytes == 1u << 20);
  CHECK_FALSE(get_record<owner_record>(*d, t, "garbage"));
  auto missing = get_record<owner_record>(*d, t, "nobody");
  REQUIRE(missing);
  CHECK_FALSE(missing->has_value());
}

TEST_CASE("a multi-table batch applies atomically") {
  fault_env disk;
  auto d = open_db("/sim/node1/db", disk.env());
  auto files = d->get_table("files");
  auto by_owner = d->get_table("by_owner");

  batch first;
  first.put(files, "f1", "rec");
  batch second;
  second.put(by_owner, "ann/f1", "");
  second.del(files, "old");
  first.append(std::move(second));
  CHECK(first.count() == 3);
  CHECK(second.empty());  // NOLINT(bugprone-use-after-move): moved-from batches are valid and empty
  REQUIRE(d->write(first, durability::sync));
  CHECK(value_of(*d, files, "f1") == "rec");
  CHECK(value_of(*d, by_owner, "ann/f1") == "");

  // When the write fails, neither table changes.
  disk.fail_writes_matching(".log", errc::internal);
  batch failing;
  failing.put(files, "f2", "rec");
  failing.put(by_owner, "ann/f2", "");
  auto result = d->write(failing, durability::sync);
  REQUIRE_FALSE(result);
  CHECK(result.err().code == errc::internal);
  CHECK(value_of(*d, files, "f2") == "<absent>");
  CHECK(value_of(*d, by_owner, "ann/f2") == "<absent>");
}

TEST_CASE("sort_by_key orders a batch by table and key and leaves what it does unchanged") {
  temp_dir dir;
  auto plain_db = open_db(dir.db_path() + "-plain");
  auto sorted_db = open_db(dir.db_path() + "-sorted");
  // Puts and deletes in random order over a small key space, so one key is often written
  // several times in a batch (put, delete, put again): only a stable sort keeps the last.
  std::mt19937 rng{7};
  for (int round = 0; round < 20; ++round) {
    batch plain;
    batch sorted;
    for (int i = 0; i < 300; ++i) {
      auto name = rng() % 2 ? "files" : "by_owner";
      auto key = "k" + std::to_string(rng() % 60);
      auto value = "v" + std::to_string(round) + "." + std::to_string(i);
      bool remove = rng() % 3 == 0;
      for (auto* b : {&plain, &sorted}) {
        auto& d = b == &plain ? *plain_db : *sorted_db;
        if (remove)
          b->del(d.get_table(name), key);
        else
          b->put(d.get_table(name), key, value);
      }
    }
    sorted.sort_by_key();
    CHECK(sorted.count() == plain.count());
    CHECK(sorted.bytes() == plain.bytes());
    // The records are in (column family, key) order.
    struct order : rocksdb::WriteBatch::Handler {
      std::vector<std::pair<uint32_t, std::string>> seen;
      rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& k, const rocksdb::Slice&) override {
        seen.emplace_back(cf, k.ToString());
        return rocksdb::Status::OK();
      }
      rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice& k) override {
        seen.emplace_back(cf, k.ToString());
        return rocksdb::Status::OK();
      }
    } h;
    REQUIRE(sorted.raw().Iterate(&h).ok());
    CHECK(h.seen.size() == plain.count());
    CHECK(std::is_sorted(h.seen.begin(), h.seen.end()));
    REQUIRE(plain_db->write(plain, durability::buffered));
    REQUIRE(sorted_db->write(sorted, durability::buffered));
  }
  for (auto name : {"files", "by_owner"}) {
    auto a = plain_db->scan_prefix(plain_db->get_table(name), "", 1000);
    auto b = sorted_db->scan_prefix(sorted_db->get_table(name), "", 1000);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(keys_of(*a) == keys_of(*b));
    CHECK(a->rows.size() > 10);
    for (size_t i = 0; i < std::min(a->rows.size(), b->rows.size()); ++i)
      CHECK(a->rows[i].value == b->rows[i].value);
  }

  // A batch with an operation sort_by_key does not parse is left as it is.
  auto files = plain_db->get_table("files");
  batch merged;
  merged.put(files, "b", "1");
  REQUIRE(merged.raw().Merge(files.handle, "a", "2").ok());
  auto before = merged.raw().Data();
  merged.sort_by_key();
  CHECK(merged.raw().Data() == before);
}

TEST_CASE("a full disk is reported as storage_full") {
  fault_env disk;
  auto d = open_db("/sim/full/db", disk.env());
  disk.fail_writes_matching("/sim/full", errc::storage_full);
  batch b;
  b.put(d->get_table("files"), "k", "v");
  auto result = d->write(b, durability::sync);
  REQUIRE_FALSE(result);
  CHECK(result.err().code == errc::storage_full);
  CHECK(result.err().message.find("/sim/full/db") != std::string::npos);
}

TEST_CASE("two nodes share one in-memory env without seeing each other") {
  fault_env disk;
  auto a = open_db("/sim/a/db", disk.env());
  auto b = open_db("/sim/b/db", disk.env());
  put_rows(*a, a->get_table("files"), {"only-a"});
  CHECK(value_of(*a, a->get_table("files"), "only-a") == "v:only-a");
  CHECK(value_of(*b, b->get_table("files"), "only-a") == "<absent>");
  CHECK_FALSE(std::filesystem::exists("/sim/a/db"));  // nothing touched the real disk
}

TEST_CASE("tuned_tables sets a table's options at open, on a new table and on reopening it") {
  fault_env disk;
  open_options o;
  o.path = "/sim/tuned/db";
  o.env = disk.env();
  o.tables = {"files", "by_owner"};
  o.tuned_tables = {{"by_owner", {{"memtable_prefix_bloom_size_ratio", "0.05"}}}};
  for (int open = 0; open < 2; ++open) {
    auto opened = db::open(o);
    REQUIRE_MESSAGE(opened, (opened ? "" : opened.err().describe()));
    auto& d = **opened;
    CHECK(d.raw()->GetOptions(d.get_table("by_owner").handle).memtable_prefix_bloom_size_ratio ==
          doctest::Approx(0.05));
    CHECK(d.raw()->GetOptions(d.get_table("files").handle).memtable_prefix_bloom_size_ratio ==
          doctest::Approx(0.0));
  }
  o.tuned_tables = {{"files", {{"no_such_option", "1"}}}};
  auto bad = db::open(o);
  REQUIRE_FALSE(bad);
  CHECK(bad.err().message.find("files") != std::string::npos);
}

namespace {

std::string pair_key(const std::string& a, const std::string& b) {
  std::string k = string_key(a);
  append_string(k, b);
  return k;
}

// Every key of t with rows of several names, some a byte prefix of others ("a", "ab").
std::vector<std::string> all_scans(const db& d, table t) {
  std::vector<std::string> out;
  auto add = [&](const char* what, expected<scan_page> page) {
    REQUIRE(page);
    out.push_back(what);
    for (auto& row : page->rows) out.push_back(row.key);
  };
  add("whole a", d.scan_prefix(t, string_key("a"), 100));
  add("whole ab", d.scan_prefix(t, string_key("ab"), 100));
  add("whole missing", d.scan_prefix(t, string_key("zz"), 100));
  add("bytes a", d.scan_prefix(t, "a", 100));
  add("all", d.scan_prefix(t, "", 100));
  add("range", d.scan_range(t, string_key("a"), string_key("b"), 100));
  add("page 1", d.scan_prefix(t, string_key("ab"), 1));
  add("page 2", d.scan_prefix(t, string_key("ab"), 100, pair_key("ab", "1")));
  return out;
}

}  // namespace

TEST_CASE("string-prefixed tables answer every scan as a plain table does") {
  temp_dir dir;
  open_options o;
  o.path = dir.db_path();
  o.tables = {"files", "by_name"};
  o.block_cache_bytes = 1u << 20;
  std::vector<std::string> plain;
  for (int pass = 0; pass < 3; ++pass) {
    // Off, on, off again over the same data: files written under either setting read the same.
    o.string_prefixed_tables =
        pass == 1 ? std::set<std::string>{"by_name"} : std::set<std::string>{};
    auto opened = db::open(o);
    REQUIRE_MESSAGE(opened, (opened ? "" : opened.err().describe()));
    auto& d = **opened;
    auto t = d.get_table("by_name");
    CHECK(t.string_prefixed == (pass == 1));
    CHECK((d.raw()->GetOptions(t.handle).prefix_extractor != nullptr) == (pass == 1));
    CHECK_FALSE(d.get_table("files").string_prefixed);
    if (pass == 0) {
      // Sorted runs of their own (flushed) and rows still in the memtable.
      put_rows(d, t, {pair_key("a", "1"), pair_key("ab", "1"), pair_key("abc", "1")});
      REQUIRE(d.raw()->Flush(rocksdb::FlushOptions{}, t.handle).ok());
      put_rows(d, t, {pair_key("ab", "2"), pair_key("b", "1")});
      REQUIRE(d.raw()->Flush(rocksdb::FlushOptions{}, t.handle).ok());
      put_rows(d, t, {pair_key("ab", "3"), pair_key("a", "2")});
      plain = all_scans(d, t);
      // Every row of each name, and what each scan must return, from those.
      std::vector<std::string> ra{pair_key("a", "1"), pair_key("a", "2")};
      std::vector<std::string> rab{pair_key("ab", "1"), pair_key("ab", "2"), pair_key("ab", "3")};
      std::vector<std::string> rabc{pair_key("abc", "1")}, rb{pair_key("b", "1")};
      std::vector<std::string> want;
      auto scan = [&](const char* label,
                      std::initializer_list<const std::vector<std::string>*> rows) {
        want.emplace_back(label);
        for (auto* part : rows) want.insert(want.end(), part->begin(), part->end());
      };
      std::vector<std::string> page1{rab[0]}, page2{rab[1], rab[2]};
      scan("whole a", {&ra});
      scan("whole ab", {&rab});
      scan("whole missing", {});
      scan("bytes a", {&ra, &rab, &rabc});
      scan("all", {&ra, &rab, &rabc, &rb});
      scan("range", {&ra, &rab, &rabc});
      scan("page 1", {&page1});
      scan("page 2", {&page2});
      CHECK(plain == want);
      continue;
    }
    CHECK(all_scans(d, t) == plain);
    if (pass == 1) {
      // Written while on: new files carry the names' filter entries, and still read the same.
      put_rows(d, t, {pair_key("c", "1")});
      auto compact = [&] {
        REQUIRE(
            d.raw()->CompactRange(rocksdb::CompactRangeOptions{}, t.handle, nullptr, nullptr).ok());
      };
      compact();
      auto c = d.scan_prefix(t, string_key("c"), 10);
      REQUIRE(c);
      CHECK(c->rows.size() == 1);
      batch b;
      b.del(t, pair_key("c", "1"));
      REQUIRE(d.write(b, durability::sync));
      compact();
      CHECK(all_scans(d, t) == plain);
    }
  }
}

TEST_CASE("string-prefixed tables keep names of interleaved sites in order") {
  temp_dir dir;
  open_options o;
  o.path = dir.db_path();
  o.tables = {"by_name"};
  o.string_prefixed_tables = {"by_name"};
  auto opened = db::open(o);
  REQUIRE_MESSAGE(opened, (opened ? "" : opened.err().describe()));
  auto& d = **opened;
  auto t = d.get_table("by_name");
  // URLs of three hosts, absolute paths, relative names, a NUL before any '/', a host longer
  // than a site may be: each batch goes site by site in order, the sites interleaved, and
  // batches step back over keys the previous ones wrote.
  std::vector<std::string> sites = {"gsiftp://a.org/",
                                    "gsiftp://b.org/",
                                    "file:///",
                                    "/data/",
                                    "zen.",
                                    std::string{"x\0y/"},
                                    "s3://" + std::string(200, 'h') + "/"};
  std::set<std::string> expected;
  for (int round = 0; round < 3; ++round) {
    batch b;
    for (int i = 0; i < 200; ++i) {
      for (const auto& site : sites) {
        auto key = pair_key(site + "f" + std::to_string(1000 + i * 3 + (2 - round)), "p");
        b.put(t, key, "");
        expected.insert(key);
      }
    }
    REQUIRE(d.write(b, durability::buffered));
  }
  auto all = d.scan_prefix(t, "", 10000);
  REQUIRE(all);
  std::vector<std::string> keys;
  for (auto& row : all->rows) keys.push_back(row.key);
  CHECK(keys == std::vector<std::string>(expected.begin(), expected.end()));
  for (const auto& site : sites) {
    auto one = d.scan_prefix(t, string_key(site + "f1000"), 10);
    REQUIRE(one);
    CHECK(one->rows.size() == 1);
  }
}

TEST_CASE("opening a DB that is in use names the path and the likely cause") {
  temp_dir dir;
  auto first = open_db(dir.db_path());
  open_options o;
  o.path = dir.db_path();
  auto second = db::open(o);
  REQUIRE_FALSE(second);
  CHECK(second.err().code == errc::unavailable);
  CHECK(second.err().message.find(dir.db_path()) != std::string::npos);
  CHECK(second.err().message.find("in use by another process") != std::string::npos);
}

TEST_CASE("opening a missing DB without create_if_missing is not_found") {
  temp_dir dir;
  open_options o;
  o.path = dir.db_path();
  o.create_if_missing = false;
  auto d = db::open(o);
  REQUIRE_FALSE(d);
  CHECK(d.err().code == errc::not_found);
}

namespace {

std::string find_manifest(const std::string& db_path) {
  for (auto& entry : std::filesystem::directory_iterator(db_path))
    if (entry.path().filename().string().starts_with("MANIFEST-")) return entry.path().string();
  FAIL("no MANIFEST file");
  return {};
}

void overwrite(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

void expect_corrupt_message(const std::string& db_path) {
  open_options o;
  o.path = db_path;
  auto d = db::open(o);
  REQUIRE_FALSE(d);
  INFO(d.err().describe());
  CHECK(d.err().code == errc::internal);
  CHECK(d.err().message.find("corrupt") != std::string::npos);
  CHECK(d.err().message.find("--repair") != std::string::npos);
  CHECK(d.err().message.find(db_path) != std::string::npos);
}

}  // namespace

TEST_CASE("a corrupt CURRENT file is reported with how to recover") {
  temp_dir dir;
  {
    auto d = open_db(dir.db_path());
    put_rows(*d, d->get_table("files"), {"k"});
  }
  overwrite(dir.db_path() + "/CURRENT", "\x13garbage without newline");
  expect_corrupt_message(dir.db_path());
}

TEST_CASE("a corrupt MANIFEST is reported, and repair salvages the data") {
  temp_dir dir;
  {
    auto d = open_db(dir.db_path());
    put_rows(*d, d->get_table("files"), {"k1", "k2"});
    REQUIRE(d->raw()->Flush(rocksdb::FlushOptions{}, d->get_table("files").handle).ok());
    put_rows(*d, d->get_table("files"), {"k3"});  // this one stays in the WAL
  }
  overwrite(find_manifest(dir.db_path()), std::string(300, '\x5a'));
  expect_corrupt_message(dir.db_path());

  REQUIRE(db::repair(dir.db_path()));
  auto d = open_db(dir.db_path());
  auto files = d->get_table("files");
  CHECK(value_of(*d, files, "k1") == "v:k1");
  CHECK(value_of(*d, files, "k3") == "v:k3");
}
