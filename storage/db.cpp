// RocksDB behind the storage::db and storage::batch API: opening with column families, reads,
// bounded scans and writes, with every RocksDB status mapped to a librarian error.
#include "storage/db.hpp"

#include <algorithm>
#include <cstring>
#include <set>
#include <utility>

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "runtime/assert.hpp"
#include "runtime/log.hpp"
#include "storage/keys.hpp"
#include "storage/rocks_status.hpp"

namespace librarian::storage {

// ---------------------------------------------------------------------------------------------
// batch

namespace {

// WriteBatch's serialized form (write_batch.cc, also the WAL record format): an 8-byte sequence
// number, a 4-byte little-endian count, then the records. Concatenating records and summing counts
// is what RocksDB's own WriteBatchInternal::Append does; it is not public, so we do it on Data().
constexpr size_t batch_header_bytes = 12;

uint32_t header_count(const std::string& rep) {
  LIB_ASSERT(rep.size() >= batch_header_bytes);
  uint32_t count = 0;
  for (size_t i = 0; i < 4; ++i)
    count |= static_cast<uint32_t>(static_cast<uint8_t>(rep[8 + i])) << (8 * i);
  return count;
}

void set_header_count(std::string& rep, uint32_t count) {
  for (size_t i = 0; i < 4; ++i) rep[8 + i] = static_cast<char>((count >> (8 * i)) & 0xff);
}

// Record tags of that form (RocksDB's ValueType) for the operations batch::put and batch::del
// write: the default column family's, and another's (followed by its id as a varint32).
constexpr uint8_t tag_deletion = 0x0;
constexpr uint8_t tag_value = 0x1;
constexpr uint8_t tag_cf_deletion = 0x4;
constexpr uint8_t tag_cf_value = 0x5;

std::optional<uint32_t> read_varint32(std::string_view& in) {
  uint32_t out = 0;
  for (int shift = 0; shift <= 28 && !in.empty(); shift += 7) {
    auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    out |= static_cast<uint32_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return out;
  }
  return std::nullopt;
}

std::optional<std::string_view> read_length_prefixed(std::string_view& in) {
  auto n = read_varint32(in);
  if (!n || *n > in.size()) return std::nullopt;
  auto out = in.substr(0, *n);
  in.remove_prefix(*n);
  return out;
}

// One record of a serialized batch: its bytes, and its column family and key to sort by.
struct batch_record {
  uint32_t family;
  std::string_view key;
  std::string_view bytes;
};

// The records of `rep`, or nullopt if it holds a record of another kind than those above.
std::optional<std::vector<batch_record>> batch_records(const std::string& rep, uint32_t count) {
  std::vector<batch_record> out;
  out.reserve(count);
  std::string_view in{rep};
  in.remove_prefix(batch_header_bytes);
  while (!in.empty()) {
    const char* start = in.data();
    auto tag = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    uint32_t family = 0;
    if (tag == tag_cf_value || tag == tag_cf_deletion) {
      auto id = read_varint32(in);
      if (!id) return std::nullopt;
      family = *id;
    } else if (tag != tag_value && tag != tag_deletion) {
      return std::nullopt;
    }
    auto key = read_length_prefixed(in);
    if (!key) return std::nullopt;
    if (tag == tag_value || tag == tag_cf_value) {
      if (!read_length_prefixed(in)) return std::nullopt;
    }
    out.push_back({family, *key, {start, static_cast<size_t>(in.data() - start)}});
  }
  if (out.size() != count) return std::nullopt;
  return out;
}

}  // namespace

batch::batch() = default;
batch::~batch() = default;
batch::batch(batch&&) noexcept = default;
batch& batch::operator=(batch&&) noexcept = default;

rocksdb::WriteBatch& batch::raw() {
  if (!impl_) impl_ = std::make_unique<rocksdb::WriteBatch>();
  return *impl_;
}

void batch::put(table t, std::string_view key, std::string_view value) {
  LIB_ASSERT_MSG(t.handle != nullptr, "put into a table that was never opened");
  auto s = raw().Put(t.handle, rocksdb::Slice{key.data(), key.size()},
                     rocksdb::Slice{value.data(), value.size()});
  // Put fails only when a key or value exceeds 4 GiB: a caller bug, not an environment error.
  LIB_ASSERT_MSG(s.ok(), "WriteBatch::Put failed (key or value too large)");
}

void batch::del(table t, std::string_view key) {
  LIB_ASSERT_MSG(t.handle != nullptr, "delete from a table that was never opened");
  auto s = raw().Delete(t.handle, rocksdb::Slice{key.data(), key.size()});
  LIB_ASSERT_MSG(s.ok(), "WriteBatch::Delete failed (key too large)");
}

size_t batch::count() const {
  return impl_ ? impl_->Count() : 0;
}
size_t batch::bytes() const {
  return impl_ ? impl_->GetDataSize() : 0;
}
bool batch::empty() const {
  return count() == 0;
}

void batch::sort_by_key() {
  if (count() < 2) return;
  const std::string& rep = impl_->Data();
  auto records = batch_records(rep, header_count(rep));
  if (!records) return;
  auto by_key = [](const batch_record& a, const batch_record& b) { return a.key < b.key; };
  // By table first (integer comparisons), then by key only the tables whose rows are out of
  // order: a producer's rows of ascending ids need no key comparisons beyond the check.
  std::stable_sort(
      records->begin(), records->end(),
      [](const batch_record& a, const batch_record& b) { return a.family < b.family; });
  for (auto first = records->begin(); first != records->end();) {
    auto last = std::find_if(first, records->end(),
                             [&](const batch_record& r) { return r.family != first->family; });
    if (!std::is_sorted(first, last, by_key)) std::stable_sort(first, last, by_key);
    first = last;
  }
  // Still in the order of their bytes: nothing moved.
  if (std::is_sorted(records->begin(), records->end(),
                     [](const batch_record& a, const batch_record& b) {
                       return a.bytes.data() < b.bytes.data();
                     }))
    return;
  std::string sorted = rep.substr(0, batch_header_bytes);
  sorted.reserve(rep.size());
  for (const auto& r : *records) sorted.append(r.bytes);
  LIB_ASSERT(sorted.size() == rep.size());
  impl_ = std::make_unique<rocksdb::WriteBatch>(std::move(sorted));
}

void batch::append(batch&& other) {
  std::vector<batch> parts;
  parts.reserve(2);
  parts.push_back(std::move(*this));
  parts.push_back(std::move(other));
  *this = concat(parts);
}

batch batch::concat(std::vector<batch>& parts) {
  size_t total_bytes = batch_header_bytes;
  uint64_t total_count = 0;
  for (auto& part : parts) {
    if (part.empty()) continue;
    total_bytes += part.bytes() - batch_header_bytes;
    total_count += part.count();
  }
  LIB_ASSERT_MSG(total_count <= UINT32_MAX, "concatenated batch has too many operations");
  std::string rep(batch_header_bytes, '\0');
  rep.reserve(total_bytes);
  for (auto& part : parts) {
    if (part.empty()) continue;
    const std::string& data = part.impl_->Data();
    LIB_ASSERT(header_count(data) == part.count());
    rep.append(data, batch_header_bytes, std::string::npos);
  }
  set_header_count(rep, static_cast<uint32_t>(total_count));
  batch out;
  // Built from a serialized form, the WriteBatch recomputes its content flags on first use.
  out.impl_ = std::make_unique<rocksdb::WriteBatch>(std::move(rep));
  LIB_ASSERT(out.count() == total_count);
  parts.clear();
  return out;
}

// ---------------------------------------------------------------------------------------------
// db

struct db::impl {
  std::string path;
  std::shared_ptr<rocksdb::Cache> block_cache;
  std::unique_ptr<rocksdb::DB> rocks;
  std::vector<std::pair<std::string, rocksdb::ColumnFamilyHandle*>> handles;
  std::set<std::string> string_prefixed;  // open_options::string_prefixed_tables
};

namespace {

rocksdb::Slice slice(std::string_view s) {
  return {s.data(), s.size()};
}

// Reads that seek only whole leading strings use a string-prefixed table's name filters (a seek
// skips the sorted runs without the name); every other read of any table is in total order.
rocksdb::ReadOptions reads(const table& t, bool whole_names_only) {
  rocksdb::ReadOptions ro;
  if (t.string_prefixed && whole_names_only)
    ro.prefix_same_as_start = true;
  else
    ro.total_order_seek = true;
  return ro;
}

// The leading string component of a key (storage::first_string_size) as RocksDB's prefix. Keys
// without a complete one are outside its domain and get no prefix entry in the filters.
class first_string_transform final : public rocksdb::SliceTransform {
 public:
  // The name is stored in each table file; a file written under another name (or none) is read
  // without its prefix filter, so changing the transform can never hide a row.
  const char* Name() const override { return "librarian.FirstStringComponent"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    auto n = first_string_size(std::string_view{key.data(), key.size()});
    LIB_ASSERT(n.has_value());  // RocksDB asks only for keys InDomain accepted
    return {key.data(), *n};
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return first_string_size(std::string_view{key.data(), key.size()}).has_value();
  }
};

// Where a name's key goes in the memtable tends to follow the previous key of the same site:
// a bulk registration lists one storage host's files in order, interleaved with other hosts'.
// This takes the name's site -- through the first '/' after "://" (the scheme and host of a URL),
// or through the second '/' of an absolute path -- and the memtable keeps an insert position per
// site (memtable_insert_with_hint_prefix_extractor), so such interleaved runs do not search the
// skip list from its top for every key. Names without a site (or with a longer one) are inserted
// as usual.
class name_site_transform final : public rocksdb::SliceTransform {
 public:
  static constexpr size_t site_bytes_max = 128;

  const char* Name() const override { return "librarian.NameSite"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    auto n = site_size(std::string_view{key.data(), key.size()});
    LIB_ASSERT(n.has_value());
    return {key.data(), *n};
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return site_size(std::string_view{key.data(), key.size()}).has_value();
  }

 private:
  static std::optional<size_t> site_size(std::string_view key) {
    key = key.substr(0, site_bytes_max);
    size_t from = 1;  // an absolute path: its first directory
    if (auto scheme = key.find("://"); scheme != std::string_view::npos)
      from = scheme + 3;
    else if (key.empty() || key[0] != '/')
      return std::nullopt;
    auto slash = key.find('/', from);
    // The site must lie inside the name (before its terminator, whose 0x00 is never a '/').
    if (slash == std::string_view::npos ||
        key.substr(0, slash).find('\0') != std::string_view::npos)
      return std::nullopt;
    return slash + 1;
  }
};

// One block-based table factory serves every table of a DB: the tables share the cache and
// filter policy anyway, and building (then validating) one factory per table was ~5 % of an
// open, which the simulator pays at every node restart.
std::shared_ptr<rocksdb::TableFactory> table_factory(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::BlockBasedTableOptions bbt;
  bbt.block_cache = cache;  // one cache for all tables, so its size is the node's budget
  // Every table file carries a whole-key Bloom filter (10 bits per key, about 1 % false
  // positives, RocksDB's cache-local format): a point read of a key that is not there -- "is
  // this name taken?", a metadata conjunction probing another condition's index row -- is then
  // answered from memory instead of by searching an index block of every sorted run. About
  // 1.25 bytes per key, held with the table readers; files written before this keep none until
  // compaction rewrites them. Prefix scans do not use it and are unchanged.
  bbt.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Block checksums by XXH3 rather than CRC32C: Debian's RocksDB is built portable and computes
  // CRC32C without SSE 4.2 (3 % of a bulk load's samples). Each file records its checksum type,
  // so files written before this are still verified by theirs.
  bbt.checksum = rocksdb::kXXH3;
  return std::shared_ptr<rocksdb::TableFactory>(rocksdb::NewBlockBasedTableFactory(bbt));
}

// A table's options: the DB's shared table factory, then the caller's tuned_tables entry for it.
expected<rocksdb::ColumnFamilyOptions> tuned_table_options(
    const std::string& name, const open_options& options,
    const std::shared_ptr<rocksdb::TableFactory>& factory) {
  rocksdb::ColumnFamilyOptions cf;
  if (options.write_buffer_bytes != 0) cf.write_buffer_size = options.write_buffer_bytes;
  cf.table_factory = factory;
  if (options.string_prefixed_tables.count(name)) {
    static const std::shared_ptr<const rocksdb::SliceTransform> names =
        std::make_shared<first_string_transform>();
    static const std::shared_ptr<const rocksdb::SliceTransform> sites =
        std::make_shared<name_site_transform>();
    cf.prefix_extractor = names;
    // 2 % of the memtable (about 1.3 MiB at 64 MiB) for the leading components in it.
    cf.memtable_prefix_bloom_size_ratio = 0.02;
    cf.memtable_insert_with_hint_prefix_extractor = sites;
  }
  auto tuned = options.tuned_tables.find(name);
  if (tuned == options.tuned_tables.end()) return cf;
  rocksdb::ColumnFamilyOptions out;
  auto s =
      rocksdb::GetColumnFamilyOptionsFromMap(rocksdb::ConfigOptions{}, cf, tuned->second, &out);
  if (!s.ok())
    return fail(errc::invalid_argument, "options of table " + name + ": " + s.ToString());
  return out;
}

rocksdb::DBOptions db_options(const open_options& options) {
  rocksdb::DBOptions o;
  o.create_if_missing = options.create_if_missing;
  o.create_missing_column_families = true;
  o.paranoid_checks = true;  // refuse to run on a DB that looks damaged rather than guess
  o.env = options.env ? options.env : rocksdb::Env::Default();
  o.max_background_jobs = 2;  // our machines are small; flushes and compactions share them
  o.keep_log_file_num = 5;
  // A table written rarely (a counter, a meta row) would otherwise pin every write-ahead log
  // since its last flush: RocksDB's default bound (4 x the memtables of every table, ~21 GB over
  // our ~40 tables) made a node that had ingested 50M mappings replay 20 GB at start-up. Past
  // this total, the tables holding the oldest log are flushed so it can go.
  o.max_total_wal_size = uint64_t{512} << 20;
  o.max_file_opening_threads = std::max(1, options.file_opening_threads);
  return o;
}

// Existing column families must all be opened; a table dropped from the configuration keeps its
// data. `existing` is what the DB lists (empty for a new DB, or one DB::Open will refuse with the
// more precise message).
std::vector<std::string> table_names(const std::vector<std::string>& existing,
                                     const open_options& options) {
  std::set<std::string> others{options.tables.begin(), options.tables.end()};
  others.insert(existing.begin(), existing.end());
  others.erase(rocksdb::kDefaultColumnFamilyName);
  std::vector<std::string> names{rocksdb::kDefaultColumnFamilyName};
  names.insert(names.end(), others.begin(), others.end());
  return names;
}

// RocksDB creates the DB directory but not its parents; data_dir may be brand new.
rocksdb::Status create_parents(rocksdb::Env& env, const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    auto s = env.CreateDirIfMissing(path.substr(0, slash));
    if (!s.ok()) return s;
  }
  return rocksdb::Status::OK();
}

error open_error(const rocksdb::Status& s, const open_options& options) {
  if (s.IsInvalidArgument() && !options.create_if_missing &&
      s.ToString().find("does not exist") != std::string::npos)
    return fail(errc::not_found,
                "no database at " + options.path + " (create_if_missing is off); check data_dir");
  return from_rocks(s, "open", options.path);
}

}  // namespace

db::db(private_tag, std::unique_ptr<impl> state) : impl_(std::move(state)) {}

expected<std::unique_ptr<db>> db::open(const open_options& options) {
  LIB_ASSERT_MSG(!options.path.empty(), "open_options.path is empty");
  auto state = std::make_unique<impl>();
  state->path = options.path;
  state->block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  state->string_prefixed = options.string_prefixed_tables;
  auto o = db_options(options);
  if (options.create_if_missing) {
    if (auto s = create_parents(*o.env, options.path); !s.ok())
      return from_rocks(s, "open", options.path);
  }
  // Open the tables that exist, then create the missing ones in one call. DB::Open with
  // create_missing_column_families creates them one at a time, rewriting and re-verifying the
  // OPTIONS file after each: quadratic in the number of tables, and with forty tables it was a
  // third of a simulation's time (every simulated node start opens a fresh DB).
  std::vector<std::string> existing;
  if (!rocksdb::DB::ListColumnFamilies(o, options.path, &existing).ok()) existing.clear();
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  std::vector<rocksdb::ColumnFamilyDescriptor> missing;
  auto factory = table_factory(state->block_cache);
  for (auto& name : table_names(existing, options)) {
    const bool present = name == rocksdb::kDefaultColumnFamilyName ||
                         std::find(existing.begin(), existing.end(), name) != existing.end();
    auto cf = tuned_table_options(name, options, factory);
    if (!cf) return cf.err();
    (present ? descriptors : missing).emplace_back(name, std::move(*cf));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(o, options.path, descriptors, &handles, &raw);
  if (!s.ok()) return open_error(s, options);
  state->rocks.reset(raw);
  LIB_ASSERT(handles.size() == descriptors.size());
  for (size_t i = 0; i < handles.size(); ++i)
    state->handles.emplace_back(descriptors[i].name, handles[i]);
  if (!missing.empty()) {
    std::vector<rocksdb::ColumnFamilyHandle*> created;
    s = raw->CreateColumnFamilies(missing, &created);
    for (size_t i = 0; i < created.size(); ++i)
      state->handles.emplace_back(missing[i].name, created[i]);
    if (!s.ok()) return from_rocks(s, "create tables in", options.path);
  }
  LIB_LOG_DEBUG("storage") << "opened " << options.path << " with " << handles.size() << " tables";
  return std::make_unique<db>(private_tag{}, std::move(state));
}

status db::repair(const std::string& path, rocksdb::Env* env) {
  rocksdb::Options o;
  o.env = env ? env : rocksdb::Env::Default();
  auto s = rocksdb::RepairDB(path, o);
  if (!s.ok()) return from_rocks(s, "repair", path);
  return {};
}

db::~db() {
  if (!impl_ || !impl_->rocks) return;
  // RocksDB requires the handles to go before the DB closes.
  for (auto& [name, handle] : impl_->handles) {
    auto s = impl_->rocks->DestroyColumnFamilyHandle(handle);
    if (!s.ok()) {
      LIB_LOG_WARN("storage") << "destroying table " << name << ": " << s.ToString();
    }
  }
  impl_->handles.clear();
  auto s = impl_->rocks->Close();
  if (!s.ok()) {
    LIB_LOG_WARN("storage") << "closing " << impl_->path << ": " << s.ToString();
  }
  impl_->rocks.reset();
}

table db::get_table(std::string_view name) const {
  for (auto& [n, handle] : impl_->handles)
    if (n == name) return table{handle, handle->GetID(), impl_->string_prefixed.count(n) > 0};
  LIB_ASSERT_MSG(false, "get_table: table was not listed in open_options.tables");
  return {};
}

bool db::has_table(std::string_view name) const {
  return std::any_of(impl_->handles.begin(), impl_->handles.end(),
                     [&](const auto& entry) { return entry.first == name; });
}

expected<std::optional<std::string>> db::get(table t, std::string_view key) const {
  LIB_ASSERT(t.handle != nullptr);
  std::string value;
  auto s = impl_->rocks->Get(rocksdb::ReadOptions{}, t.handle, slice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>{};
  if (!s.ok()) return from_rocks(s, "get", impl_->path);
  return std::optional<std::string>{std::move(value)};
}

namespace {

// Reads up to limit rows from an iterator already positioned, plus one to learn `more`.
// skip_key: a key to step over if the iterator sits on it (scan_prefix's start_after).
expected<scan_page> read_page(rocksdb::Iterator& it, size_t limit, std::string_view skip_key,
                              const std::string& path) {
  scan_page page;
  if (it.Valid() && !skip_key.empty() && it.key() == slice(skip_key)) it.Next();
  for (; it.Valid(); it.Next()) {
    if (page.rows.size() == limit) {
      page.more = true;
      break;
    }
    page.rows.push_back(kv{it.key().ToString(), it.value().ToString()});
  }
  if (!it.status().ok()) return from_rocks(it.status(), "scan", path);
  return page;
}

}  // namespace

expected<scan_page> db::scan_prefix(table t, std::string_view prefix, size_t limit,
                                    std::string_view start_after) const {
  LIB_ASSERT(t.handle != nullptr);
  LIB_ASSERT_MSG(limit >= 1, "scan limit must be at least 1");
  const auto upper = prefix_successor(prefix);
  if (upper && !start_after.empty() && start_after >= *upper) return scan_page{};
  auto ro = reads(t, first_string_size(prefix) == prefix.size());
  rocksdb::Slice upper_slice;
  if (upper) {
    upper_slice = slice(*upper);
    ro.iterate_upper_bound = &upper_slice;  // the iterator stops at the prefix's end by itself
  }
  std::unique_ptr<rocksdb::Iterator> it{impl_->rocks->NewIterator(ro, t.handle)};
  const bool after_start = !start_after.empty() && start_after >= prefix;
  it->Seek(slice(after_start ? start_after : prefix));
  return read_page(*it, limit, after_start ? start_after : std::string_view{}, impl_->path);
}

expected<scan_page> db::scan_range(table t, std::string_view begin, std::string_view end_exclusive,
                                   size_t limit) const {
  LIB_ASSERT(t.handle != nullptr);
  LIB_ASSERT_MSG(limit >= 1, "scan limit must be at least 1");
  if (!end_exclusive.empty() && end_exclusive <= begin) return scan_page{};
  auto ro = reads(t, false);  // a range may span many leading strings
  rocksdb::Slice upper_slice = slice(end_exclusive);
  if (!end_exclusive.empty()) ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it{impl_->rocks->NewIterator(ro, t.handle)};
  it->Seek(slice(begin));
  return read_page(*it, limit, {}, impl_->path);
}

std::unique_ptr<rocksdb::Iterator> db::name_iterator(table t, const rocksdb::Snapshot* at) const {
  LIB_ASSERT(t.handle != nullptr);
  auto ro = reads(t, true);
  ro.snapshot = at;
  return std::unique_ptr<rocksdb::Iterator>{impl_->rocks->NewIterator(ro, t.handle)};
}

std::shared_ptr<const rocksdb::Snapshot> db::snapshot() const {
  rocksdb::DB* rocks = impl_->rocks.get();
  return {rocks->GetSnapshot(), [rocks](const rocksdb::Snapshot* s) { rocks->ReleaseSnapshot(s); }};
}

status db::write(batch& b, durability d) {
  rocksdb::WriteOptions wo;
  wo.sync = d == durability::sync;
  // After a failed write RocksDB refuses writes until the DB is reopened. DB::Resume() is no way
  // out after a WAL failure: Debian's RocksDB is built with assertions and aborts in it.
  auto s = impl_->rocks->Write(wo, &b.raw());
  if (!s.ok()) return from_rocks(s, "write", impl_->path);
  return {};
}

std::string db::path() const {
  return impl_->path;
}

std::optional<uint64_t> db::int_property(std::string_view name) const {
  std::optional<uint64_t> sum;
  for (auto& [n, handle] : impl_->handles) {
    uint64_t value = 0;
    if (impl_->rocks->GetIntProperty(handle, slice(name), &value)) sum = sum.value_or(0) + value;
  }
  return sum;
}

std::optional<uint64_t> db::db_int_property(std::string_view name) const {
  uint64_t value = 0;
  if (!impl_->rocks->GetIntProperty(slice(name), &value)) return std::nullopt;
  return value;
}

rocksdb::DB* db::raw() {
  return impl_->rocks.get();
}

}  // namespace librarian::storage
