// The Metadata Catalog's state machine: objects, attributes, structure (see mcs_state.hpp).
#include "actors/mcs/mcs_state.hpp"

#include <algorithm>
#include <set>

#include <rocksdb/db.h>

#include "actors/mcs/rows.hpp"
#include "storage/table.hpp"

namespace librarian::mcs {
namespace {

constexpr const char* counts_key = "counters";
constexpr size_t principal_bytes_max = 256;

struct predefined {
  uint64_t id;
  const char* name;
  attr_type type;
  bool user_writable;
};

constexpr predefined predefined_attrs[] = {
    {attr_creator, "creator", attr_type::string_v, false},
    {attr_created, "created", attr_type::datetime_v, false},
    {attr_last_modifier, "last_modifier", attr_type::string_v, false},
    {attr_modified, "modified", attr_type::datetime_v, false},
    {attr_valid, "valid", attr_type::int_v, true},
    {attr_master_copy, "master_copy", attr_type::string_v, true},
    {attr_container, "container", attr_type::string_v, false},
};

const predefined* find_predefined(std::string_view name) {
  for (const auto& p : predefined_attrs)
    if (name == p.name) return &p;
  return nullptr;
}

const predefined* find_predefined(uint64_t id) {
  for (const auto& p : predefined_attrs)
    if (id == p.id) return &p;
  return nullptr;
}

status check_attr_name(const std::string& name, size_t bytes_max) {
  if (name.empty() || name.size() > bytes_max)
    return fail(errc::invalid_argument,
                "an attribute name has 1 to " + std::to_string(bytes_max) + " bytes");
  for (char ch : name) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.';
    if (!ok)
      return fail(errc::invalid_argument, "attribute name '" + name.substr(0, 64) +
                                              "' may hold only letters, digits, '_', '-' and '.'");
  }
  return {};
}

status check_principal(const std::string& p) {
  bool shaped = p == "anyone" || ((p.rfind("user:", 0) == 0 && p.size() > 5) ||
                                  (p.rfind("group:", 0) == 0 && p.size() > 6));
  if (!shaped || p.size() > principal_bytes_max || p.find('\0') != std::string::npos)
    return fail(errc::invalid_argument,
                "grant to 'user:NAME', 'group:NAME' or 'anyone', not '" + p.substr(0, 64) + "'");
  return {};
}

typed_value text_value(std::string s) {
  return typed_value{attr_type::string_v, std::move(s), 0, 0};
}
typed_value time_value(int64_t us) {
  return typed_value{attr_type::datetime_v, {}, us, 0};
}
typed_value int_value(int64_t n) {
  return typed_value{attr_type::int_v, {}, n, 0};
}

}  // namespace

std::vector<std::string> mcs_tables() {
  return {objects_table, names_table, attr_defs_table, values_table, index_table,   members_table,
          notes_table,   docs_table,  acl_table,       audit_table,  mcs_meta_table};
}

std::map<std::string, std::unordered_map<std::string, std::string>> mcs_table_tuning() {
  // 5 % of the memtable's size for the filter: most probes of a conjunction miss, and a miss
  // then skips the memtable's skip list. (The table files' filters are set at open, for every
  // table, by storage::db.)
  // An insert position kept per leading bytes of the key: new objects take ascending ids, so
  // their object, value and audit rows -- and index rows of one attribute whose values ascend
  // or repeat (created, creator) -- go right after the previous insert instead of each searching
  // the memtable's skip list from its top. In a bulk add that search fell from 58 % to 47 % of
  // the committer's time (the rest is index rows of values in random order) and adds rose 5-9 %.
  // Only inserts use it; reads are unchanged. About 250 bytes per distinct prefix: ids share
  // theirs below 2^32, the index's is the attribute and the object's kind.
  return {
      {index_table,
       {{"memtable_prefix_bloom_size_ratio", "0.05"},
        {"memtable_whole_key_filtering", "true"},
        {"memtable_insert_with_hint_prefix_extractor", "rocksdb.FixedPrefix.9"}}},
      {objects_table, {{"memtable_insert_with_hint_prefix_extractor", "rocksdb.FixedPrefix.4"}}},
      {values_table, {{"memtable_insert_with_hint_prefix_extractor", "rocksdb.FixedPrefix.4"}}},
      {names_table, {{"memtable_insert_with_hint_prefix_extractor", "rocksdb.FixedPrefix.1"}}},
      {audit_table, {{"memtable_insert_with_hint_prefix_extractor", "rocksdb.FixedPrefix.5"}}}};
}

status tune_mcs_tables(storage::db& db) {
  auto index = db.get_table(index_table);
  // SetOptions rewrites and re-verifies the OPTIONS file of all ~40 tables: skip it when the
  // table was opened with these options already.
  auto current = db.raw()->GetOptions(index.handle);
  if (current.memtable_prefix_bloom_size_ratio == 0.05 && current.memtable_whole_key_filtering)
    return {};
  // Only the filter options: the insert hint cannot change while the DB is open (RocksDB
  // refuses the whole call), and it matters only for speed.
  auto tuning = mcs_table_tuning().at(index_table);
  tuning.erase("memtable_insert_with_hint_prefix_extractor");
  auto s = db.raw()->SetOptions(index.handle, tuning);
  if (!s.ok())
    return fail(errc::internal, "cannot set the MCS index's filter options: " + s.ToString());
  return {};
}

mcs_state::mcs_state(storage::db& db, mcs_limits limits)
    : db_(db),
      limits_(limits),
      objects_(db.get_table(objects_table)),
      names_(db.get_table(names_table)),
      defs_(db.get_table(attr_defs_table)),
      values_(db.get_table(values_table)),
      index_(db.get_table(index_table)),
      members_(db.get_table(members_table)),
      notes_(db.get_table(notes_table)),
      docs_(db.get_table(docs_table)),
      acl_(db.get_table(acl_table)),
      audit_(db.get_table(audit_table)),
      meta_(db.get_table(mcs_meta_table)),
      store_(db, limits.overlay_entries_max, limits.overlay_bytes_max) {
  // Writes put and delete index and audit rows by key and never read them; reading verbs read
  // them from committed state (mcs_reader).
  store_.set_write_only(index_);
  store_.set_write_only(audit_);
}

mcs_state::mcs_state(storage::db& db, mcs_limits limits, read_only_t) : mcs_state(db, limits) {
  read_only_ = true;
}

status mcs_state::load() {
  store_.clear();
  cache_dirty_.clear();
  def_cache_.clear();
  if (auto st = load_groups(); !st) return st;
  auto row = storage::get_record<counters_row>(db_, meta_, counts_key);
  if (!row) return row.err();
  if (!row->has_value()) {
    auto any = db_.scan_prefix(objects_, "", 1);
    if (!any) return any.err();
    if (!any->rows.empty())
      return fail(errc::internal, "the MCS counters row is missing but objects exist");
    counts_ = {};
    return {};
  }
  const auto& c = **row;
  if (c.next_id == 0 || c.next_attr_id < first_user_attr || c.next_seq == 0 ||
      c.objects >= c.next_id)
    return fail(errc::internal, "corrupt record: the MCS counters row is inconsistent");
  counts_ = {c.next_id, c.next_attr_id, c.next_seq, c.objects};
  return {};
}

void mcs_state::end_bulk(storage::batch& rows) {
  LIB_ASSERT(bulk_depth_ > 0);
  --bulk_depth_;
  if (bulk_depth_ > 0) return;
  // Not refused when the overlay is full: the bulk's objects are already in it and need these
  // counters to be durable with them.
  store_.begin();
  write_counts();
  store_.finish(rows);
}

void mcs_state::write_counts() {
  store_.put(meta_, counts_key,
             storage::encode(counters_row{counts_.next_id, counts_.next_attr_id, counts_.next_seq,
                                          counts_.objects}));
}

// --- objects and access --------------------------------------------------------------------------

status mcs_state::validate_ref(const object_ref& ref) const {
  if (ref.k != kind::file && ref.k != kind::collection && ref.k != kind::view)
    return fail(errc::invalid_argument, "the object kind is l, c or v");
  if (ref.name.empty() || ref.name.size() > limits_.name_bytes_max)
    return fail(errc::invalid_argument, std::string{"a "} + kind_noun(ref.k) + " name has 1 to " +
                                            std::to_string(limits_.name_bytes_max) + " bytes");
  if (ref.name.find('\0') != std::string::npos)
    return fail(errc::invalid_argument, "a name must not contain a NUL byte");
  if (ref.version != 0 && ref.k != kind::file)
    return fail(errc::invalid_argument, "only logical files have versions");
  return {};
}

expected<std::optional<uint64_t>> mcs_state::find_id(const object_ref& ref) const {
  auto raw = store_.get(names_, keys::name(ref.k, ref.name, ref.version));
  if (!raw) return raw.err();
  if (!raw->has_value()) return std::optional<uint64_t>{};
  storage::key_reader reader{**raw};
  auto id = reader.read_u64();
  if (!id || !reader.done()) return fail(errc::internal, "corrupt record: an MCS name row");
  return std::optional<uint64_t>{*id};
}

expected<std::optional<mcs_state::object_row>> mcs_state::read_object(uint64_t id) const {
  auto key = keys::u64(id);
  if (cache_ && !store_.has_pending(objects_, key)) {
    object_cache::object o;
    if (cache_->get(id, store_.snapshot_seq(), o))
      return std::optional<object_row>{from_cached(std::move(o))};
  }
  auto raw = store_.get(objects_, key);
  if (!raw) return raw.err();
  if (!raw->has_value()) return std::optional<object_row>{};
  auto row = storage::decode<object_row>(**raw);
  if (!row) return row.err();
  if (!row->valid_kind())
    return fail(errc::internal, "corrupt record: an MCS object of unknown kind");
  return std::optional<object_row>{std::move(*row)};
}

void mcs_state::write_object(uint64_t id, const object_row& row) {
  store_.put(objects_, keys::u64(id), storage::encode(row));
  object_changed(id);
}

void mcs_state::delete_object(uint64_t id) {
  store_.del(objects_, keys::u64(id));
  object_changed(id);
}

void mcs_state::object_changed(uint64_t id) {
  if (!cache_) return;
  cache_->erase(id);
  cache_dirty_.emplace_back(store_.last_seq(), id);
}

void mcs_state::committed(uint64_t seq_durable) {
  if (cache_ && !cache_dirty_.empty()) {
    // Every batch up to seq_durable is in the db: any snapshot from now on sees them.
    uint64_t valid_from = db_.raw()->GetLatestSequenceNumber();
    while (!cache_dirty_.empty() && cache_dirty_.front().first <= seq_durable) {
      uint64_t id = cache_dirty_.front().second;
      cache_dirty_.pop_front();
      // The newest write of the row decides: still pending (a later transaction) -- it will
      // put the entry back when it is durable; a delete -- nothing to cache; gone from the
      // overlay -- an aborted transaction's, or put back already by an earlier record.
      auto w = store_.pending(objects_, keys::u64(id));
      if (!w || w->seq > seq_durable || !w->value) continue;
      auto row = storage::decode<object_row>(*w->value);
      if (!row || !row->valid_kind()) continue;  // not cached: a reader of the db reports it
      cache_->put(id, to_cached(std::move(*row)), valid_from);
    }
  }
  store_.committed(seq_durable);
}

expected<mcs_state::warm_progress> mcs_state::warm_object_cache_step(uint64_t from_id,
                                                                     size_t objects_max) {
  warm_progress out;
  if (!cache_) return out;
  LIB_ASSERT_MSG(!read_only_ && !store_.in_transaction(),
                 "the object cache is filled by the writer, between transactions");
  // Every row as of this step's snapshot, valid from that snapshot on -- except rows with a
  // write still pending: committed() puts those back once they are durable (the snapshot may
  // hold the old row). A row written and committed before the snapshot is its newest; one
  // written after it is erased from the cache first. So steps apart in time, with writes in
  // between, keep the cache's rule (object_cache.hpp). The caller makes sure no earlier
  // writer's batch is still on its way (mcs_actor.cpp).
  const rocksdb::Snapshot* snapshot = db_.raw()->GetSnapshot();
  uint64_t valid_from = snapshot->GetSequenceNumber();
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  ro.fill_cache = false;  // a one-pass scan: keep the block cache for the queries
  std::unique_ptr<rocksdb::Iterator> it{db_.raw()->NewIterator(ro, objects_.handle)};
  status st;
  size_t seen = 0;
  for (it->Seek(keys::u64(from_id)); it->Valid(); it->Next()) {
    storage::key_reader key{std::string_view{it->key().data(), it->key().size()}};
    auto id = key.read_u64();
    auto row =
        storage::decode<object_row>(std::string_view{it->value().data(), it->value().size()});
    if (!id || !key.done() || !row || !row->valid_kind()) {
      st = fail(errc::internal, "corrupt record: an MCS object row");
      break;
    }
    if (seen == objects_max) {
      out.next_id = *id;
      break;
    }
    ++seen;
    if (store_.has_pending(objects_, std::string_view{it->key().data(), it->key().size()}))
      continue;
    if (!cache_->put(*id, to_cached(std::move(*row)), valid_from)) {
      out.full = true;  // the rest read the db
      break;
    }
    ++out.cached;
  }
  if (st && !it->status().ok())
    st = fail(errc::internal, "cannot read " + db_.path() + ": " + it->status().ToString());
  it.reset();
  db_.raw()->ReleaseSnapshot(snapshot);
  if (!st) return st.err();
  return out;
}

expected<uint8_t> mcs_state::rights_on(const principal& who, uint64_t id,
                                       const object_row& row) const {
  if (who.admin || row.owner == who.user) return rights_all;
  std::vector<std::string> names{"anyone", "user:" + who.user};
  for (const auto& g : who.groups) names.push_back("group:" + g);
  uint8_t rights = 0;
  auto add_grants = [&](uint64_t on) -> status {
    for (const auto& p : names) {
      auto raw = store_.get(acl_, keys::acl(on, p));
      if (!raw) return raw.err();
      if (raw->has_value() && (*raw)->size() == 1) rights |= static_cast<uint8_t>((**raw)[0]);
    }
    return {};
  };
  if (auto st = add_grants(0); !st) return st.err();
  if (auto st = add_grants(id); !st) return st.err();
  // Rights on a collection reach everything inside it (bounded by the tree's depth limit).
  uint64_t up = row.container;
  for (size_t depth = 0; up != 0 && depth < limits_.depth_max && rights != rights_all; ++depth) {
    auto parent = read_object(up);
    if (!parent) return parent.err();
    if (!parent->has_value()) break;
    if ((*parent)->owner == who.user) return rights_all;
    if (auto st = add_grants(up); !st) return st.err();
    up = (*parent)->container;
  }
  return static_cast<uint8_t>(rights & rights_all);
}

expected<std::pair<uint64_t, mcs_state::object_row>> mcs_state::resolve(const principal& who,
                                                                        const object_ref& ref,
                                                                        uint8_t need) const {
  if (auto st = validate_ref(ref); !st) return st.err();
  auto missing = fail(errc::not_found, "no " + describe(ref));
  auto id = find_id(ref);
  if (!id) return id.err();
  if (!id->has_value()) return missing;
  auto row = read_object(**id);
  if (!row) return row.err();
  if (!row->has_value()) return fail(errc::internal, "corrupt catalog: a name without its object");
  auto rights = rights_on(who, **id, **row);
  if (!rights) return rights.err();
  // Without read rights the caller learns nothing, not even that the object exists.
  if ((*rights & right_read) == 0) return missing;
  if ((*rights & need) == 0 && need != 0)
    return fail(errc::forbidden, "you may not change " + describe(ref) + " (ask its owner for " +
                                     rights_text(need) + " rights)");
  return std::pair{**id, std::move(**row)};
}

status mcs_state::create(const call_ctx& c, const object_ref& ref,
                         const std::vector<attr_assign>& attrs, storage::batch& rows) {
  if (auto st = validate_ref(ref); !st) return st;
  return transaction(rows, [&]() -> status {
    auto existing = find_id(ref);
    if (!existing) return existing.err();
    // Logical names are catalog-wide (the LRC's LFNs), so a taken name must be refused even when
    // the caller cannot read its object. The answer is the same whether or not they can: it
    // tells that the name is taken, never whose it is or what it holds.
    if (existing->has_value()) return fail(errc::already_exists, describe(ref) + " already exists");
    return create_object(c, ref, attrs);
  });
}

status mcs_state::register_file(const call_ctx& c, const std::string& name,
                                const std::vector<attr_assign>& defaults, storage::batch& rows) {
  object_ref ref{kind::file, name, 0};
  if (auto st = validate_ref(ref); !st) return st;
  return transaction(rows, [&]() -> status {
    auto existing = find_id(ref);
    if (!existing) return existing.err();
    if (!existing->has_value()) return create_object(c, ref, defaults);
    // Described in the catalog before its upload: the upload's facts are added to (or replace)
    // what the entry says, whoever owns it -- they come from the node, not from a user.
    auto id = **existing;
    auto row = read_object(id);
    if (!row) return row.err();
    if (!row->has_value()) return fail(errc::internal, "corrupt catalog: a name of no object");
    return set_attrs(c, id, **row, defaults, 3, true);
  });
}

status mcs_state::create_object(const call_ctx& c, const object_ref& ref,
                                const std::vector<attr_assign>& attrs) {
  uint64_t id = counts_.next_id++;
  object_row row{static_cast<uint8_t>(ref.k), ref.name, ref.version, c.who.user, 0};
  write_object(id, row);
  store_.put(names_, keys::name(ref.k, ref.name, ref.version), keys::u64(id));
  ++counts_.objects;
  auto def_of = [](uint64_t a) {
    const auto* p = find_predefined(a);
    return attr_def{p->id, static_cast<uint8_t>(p->type), p->name};
  };
  write_attr(id, ref.k, def_of(attr_creator), std::nullopt, text_value(c.who.user));
  write_attr(id, ref.k, def_of(attr_created), std::nullopt, time_value(c.now_us));
  write_attr(id, ref.k, def_of(attr_last_modifier), std::nullopt, text_value(c.who.user));
  write_attr(id, ref.k, def_of(attr_modified), std::nullopt, time_value(c.now_us));
  write_attr(id, ref.k, def_of(attr_valid), std::nullopt, int_value(1));
  audit_row(c, id, "create", describe(ref), std::to_string(attrs.size()) + " attributes");
  if (attrs.empty()) return {};
  return set_attrs(c, id, row, attrs, 0, false);
}

expected<object_page> mcs_state::list(const call_ctx& c, kind k, const std::string& after,
                                      size_t limit) const {
  if (limit == 0) limit = limits_.page_default;
  if (limit > limits_.page_max)
    return fail(errc::invalid_argument,
                "at most " + std::to_string(limits_.page_max) + " per page");
  std::string prefix(1, static_cast<char>(k));
  std::string begin = prefix;
  if (!after.empty()) begin = *storage::prefix_successor(prefix + storage::string_key(after));
  auto end = storage::prefix_successor(prefix);
  auto cur = store_.scan(names_, begin, end ? *end : std::string{});
  object_page page;
  for (size_t seen = 0; seen < limits_.scan_rows_max; ++seen) {
    auto row = cur.next();
    if (!row) return row.err();
    if (!row->has_value()) return page;
    auto id = keys::trailing_id((*row)->value);
    auto obj = read_object(id);
    if (!obj) return obj.err();
    if (!obj->has_value()) continue;
    auto rights = rights_on(c.who, id, **obj);
    if (!rights) return rights.err();
    if ((*rights & right_read) == 0) continue;
    if (page.items.size() == limit) {
      page.more = true;
      return page;
    }
    page.items.push_back({k, (*obj)->name, (*obj)->version});
  }
  page.more = true;  // the scan budget ran out; page on from the last name
  return page;
}

// --- attributes ----------------------------------------------------------------------------------

expected<std::optional<mcs_state::attr_def>> mcs_state::find_def(const std::string& name) const {
  if (const auto* p = find_predefined(name))
    return std::optional<attr_def>{attr_def{p->id, static_cast<uint8_t>(p->type), p->name}};
  if (auto hit = def_cache_.find(name); hit != def_cache_.end())
    return std::optional<attr_def>{attr_def{hit->second.id, hit->second.type, name}};
  auto raw = store_.get(defs_, keys::def_by_name(name));
  if (!raw) return raw.err();
  if (!raw->has_value()) return std::optional<attr_def>{};
  auto def = storage::decode<attr_def>(**raw);
  if (!def) return def.err();
  if (!valid_attr_type(def->type) || def->id < first_user_attr)
    return fail(errc::internal, "corrupt record: attribute definition of '" + name + "'");
  // Definitions are never removed; one made by a request that then failed is dropped with
  // the whole cache when the transaction aborts.
  if (def_cache_.size() < def_cache_entries_max)
    def_cache_.emplace(name, cached_def{def->id, def->type});
  return std::optional<attr_def>{std::move(*def)};
}

expected<std::string> mcs_state::attr_name_of(uint64_t attr_id) const {
  if (const auto* p = find_predefined(attr_id)) return std::string{p->name};
  auto raw = store_.get(defs_, keys::def_by_id(attr_id));
  if (!raw) return raw.err();
  if (!raw->has_value()) return fail(errc::internal, "corrupt catalog: a value of no attribute");
  auto def = storage::decode<attr_def>(**raw);
  if (!def) return def.err();
  return def->name;
}

expected<mcs_state::attr_def> mcs_state::def_for(const attr_assign& a, bool define) {
  if (auto st = check_attr_name(a.name, limits_.attr_name_bytes_max); !st) return st.err();
  std::optional<attr_type> given;
  if (!a.type.empty()) {
    given = attr_type_from_name(a.type);
    if (!given)
      return fail(errc::invalid_argument, "unknown attribute type '" + a.type.substr(0, 32) +
                                              "' (string, int, float, date, time, datetime)");
  }
  auto found = find_def(a.name);
  if (!found) return found.err();
  if (found->has_value()) {
    const auto& d = **found;
    if (given && *given != d.value_type())
      return fail(errc::invalid_argument, "attribute '" + a.name + "' is of type " +
                                              attr_type_name(d.value_type()) + ", not " +
                                              attr_type_name(*given));
    return d;
  }
  if (!define) return fail(errc::not_found, "unknown attribute '" + a.name + "'");
  if (!given)
    return fail(errc::invalid_argument, "give the type of new attribute '" + a.name + "'");
  if (counts_.next_attr_id - first_user_attr >= limits_.attr_defs_max)
    return fail(errc::invalid_argument, "the catalog already defines the most attributes allowed");
  attr_def d{counts_.next_attr_id++, static_cast<uint8_t>(*given), a.name};
  auto encoded = storage::encode(d);
  store_.put(defs_, keys::def_by_name(a.name), encoded);
  store_.put(defs_, keys::def_by_id(d.id), encoded);
  return d;
}

expected<std::optional<typed_value>> mcs_state::read_attr(uint64_t id, const attr_def& d) const {
  auto raw = store_.get(values_, keys::u64_pair(id, d.id));
  if (!raw) return raw.err();
  if (!raw->has_value()) return std::optional<typed_value>{};
  storage::key_reader reader{**raw};
  auto v = read_value(d.value_type(), reader);
  if (!v) return v.err();
  if (!reader.done()) return fail(errc::internal, "corrupt record: an attribute value");
  return std::optional<typed_value>{std::move(*v)};
}

void mcs_state::write_attr(uint64_t id, kind k, const attr_def& d,
                           const std::optional<typed_value>& old,
                           const std::optional<typed_value>& now) {
  // The value row and its index row change together, in the same transaction.
  if (old) store_.del(index_, keys::index(d.id, k, *old, id));
  if (now) {
    std::string encoded;
    append_value(encoded, *now);
    store_.put(values_, keys::u64_pair(id, d.id), encoded);
    store_.put(index_, keys::index(d.id, k, *now, id), "");
  } else if (old) {
    store_.del(values_, keys::u64_pair(id, d.id));
  }
}

expected<size_t> mcs_state::user_attr_count(uint64_t id, size_t cap) const {
  auto cur = store_.scan(values_, keys::u64_pair(id, first_user_attr),
                         *storage::prefix_successor(keys::u64(id)));
  size_t n = 0;
  for (; n < cap; ++n) {
    auto row = cur.next();
    if (!row) return row.err();
    if (!row->has_value()) break;
  }
  return n;
}

void mcs_state::touch(const call_ctx& c, uint64_t id, const object_row& row) {
  for (auto [attr, now] : {std::pair{attr_last_modifier, text_value(c.who.user)},
                           std::pair{attr_modified, time_value(c.now_us)}}) {
    const auto* p = find_predefined(attr);
    attr_def d{p->id, static_cast<uint8_t>(p->type), p->name};
    auto old = read_attr(id, d);
    write_attr(id, row.object_kind(), d, old ? *old : std::nullopt, now);
  }
}

// mode 0 add, 1 modify, 2 delete, 3 add or modify (shredding). touched: record the change as a
// modification (off for create, which has just written who made it and when).
status mcs_state::set_attrs(const call_ctx& c, uint64_t id, const object_row& row,
                            const std::vector<attr_assign>& attrs, int mode, bool touched) {
  if (attrs.empty()) return fail(errc::invalid_argument, "no attributes given");
  if (attrs.size() > limits_.attrs_per_request_max)
    return fail(errc::invalid_argument, "at most " + std::to_string(limits_.attrs_per_request_max) +
                                            " attributes per request");
  std::set<std::string> seen;
  size_t added = 0;
  for (const auto& a : attrs) {
    if (!seen.insert(a.name).second)
      return fail(errc::invalid_argument, "attribute '" + a.name + "' is given twice");
    auto d = def_for(a, mode == 0 || mode == 3);
    if (!d) return d.err();
    const auto* pre = find_predefined(d->id);
    if (pre && !pre->user_writable)
      return fail(errc::invalid_argument, "attribute '" + a.name + "' is kept by the catalog");
    // A new object (!touched) holds no values yet: no read needed.
    auto old = touched ? read_attr(id, *d) : expected<std::optional<typed_value>>{std::nullopt};
    if (!old) return old.err();
    std::optional<typed_value> now;
    if (mode != 2) {
      auto v = parse_value(d->value_type(), a.value, limits_.value_bytes_max);
      if (!v) return fail(v.err().code, "attribute '" + a.name + "': " + v.err().message);
      now = std::move(*v);
    }
    if (mode == 0 && old->has_value())
      return fail(errc::already_exists,
                  describe(row.ref()) + " already has attribute '" + a.name + "' (use modify_att)");
    if ((mode == 1 || mode == 2) && !old->has_value())
      return fail(errc::not_found, describe(row.ref()) + " has no attribute '" + a.name + "'");
    if (!old->has_value() && !pre) ++added;
    write_attr(id, row.object_kind(), *d, *old, now);
  }
  // A new object (!touched) had no user attributes, so `added` is its count; no scan needed.
  if (!touched && added > limits_.attrs_per_object_max)
    return fail(errc::invalid_argument, describe(row.ref()) + " would have more than " +
                                            std::to_string(limits_.attrs_per_object_max) +
                                            " attributes");
  if (touched && added > 0) {
    auto count = user_attr_count(id, limits_.attrs_per_object_max + 1);
    if (!count) return count.err();
    if (*count > limits_.attrs_per_object_max)
      return fail(errc::invalid_argument, describe(row.ref()) + " would have more than " +
                                              std::to_string(limits_.attrs_per_object_max) +
                                              " attributes");
  }
  if (!touched) return {};
  static constexpr const char* actions[] = {"add_att", "modify_att", "delete_att", "shred"};
  std::string names;
  for (const auto& a : attrs) names += (names.empty() ? "" : ",") + a.name;
  if (names.size() > 256) names = names.substr(0, 256) + "...";
  touch(c, id, row);
  audit_row(c, id, actions[mode], describe(row.ref()), names);
  return {};
}

status mcs_state::add_attrs(const call_ctx& c, const object_ref& ref,
                            const std::vector<attr_assign>& attrs, storage::batch& rows) {
  return transaction(rows, [&]() -> status {
    auto obj = resolve(c.who, ref, right_write);
    if (!obj) return obj.err();
    return set_attrs(c, obj->first, obj->second, attrs, 0, true);
  });
}

status mcs_state::modify_attrs(const call_ctx& c, const object_ref& ref,
                               const std::vector<attr_assign>& attrs, storage::batch& rows) {
  return transaction(rows, [&]() -> status {
    auto obj = resolve(c.who, ref, right_write);
    if (!obj) return obj.err();
    return set_attrs(c, obj->first, obj->second, attrs, 1, true);
  });
}

status mcs_state::delete_attrs(const call_ctx& c, const object_ref& ref,
                               const std::vector<attr_assign>& attrs, storage::batch& rows) {
  return transaction(rows, [&]() -> status {
    auto obj = resolve(c.who, ref, right_write);
    if (!obj) return obj.err();
    return set_attrs(c, obj->first, obj->second, attrs, 2, true);
  });
}

expected<std::vector<attr_entry>> mcs_state::list_attrs(const call_ctx& c,
                                                        const object_ref& ref) const {
  auto obj = resolve(c.who, ref, 0);
  if (!obj) return obj.err();
  std::vector<attr_entry> out;
  auto cur = store_.scan_prefix(values_, keys::u64(obj->first));
  // Bounded: an object holds at most attrs_per_object_max user attributes plus the predefined.
  for (size_t i = 0; i <= limits_.attrs_per_object_max + std::size(predefined_attrs); ++i) {
    auto row = cur.next();
    if (!row) return row.err();
    if (!row->has_value()) break;
    auto attr_id = keys::trailing_id((*row)->key);
    auto name = attr_name_of(attr_id);
    if (!name) return name.err();
    auto def = find_def(*name);
    if (!def) return def.err();
    if (!def->has_value())
      return fail(errc::internal, "corrupt catalog: attribute without definition");
    storage::key_reader reader{(*row)->value};
    auto v = read_value((*def)->value_type(), reader);
    if (!v) return v.err();
    out.push_back(
        {*name, attr_type_name((*def)->value_type()), format_value(*v), attr_id < first_user_attr});
  }
  if (obj->second.container != 0) {
    // The container attribute names the collection now, so a report never shows a stale name;
    // a caller who may read the file but not its collection is not told the collection's name.
    auto parent = read_object(obj->second.container);
    if (!parent) return parent.err();
    auto parent_rights = uint8_t{0};
    if (parent->has_value()) {
      auto r = rights_on(c.who, obj->second.container, **parent);
      if (!r) return r.err();
      parent_rights = *r;
    }
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i].name != "container") continue;
      if ((parent_rights & right_read) == 0) {
        out.erase(out.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
      out[i].value = (*parent)->name;
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const attr_entry& a, const attr_entry& b) {
    return a.predefined != b.predefined ? a.predefined : (!a.predefined && a.name < b.name);
  });
  return out;
}

expected<std::vector<attr_def_entry>> mcs_state::attribute_defs(size_t limit) const {
  if (limit == 0 || limit > limits_.page_max) limit = limits_.page_max;
  std::vector<attr_def_entry> out;
  for (const auto& p : predefined_attrs) out.push_back({p.name, attr_type_name(p.type), true});
  auto cur = store_.scan_prefix(defs_, "n");
  while (out.size() < limit + std::size(predefined_attrs)) {
    auto row = cur.next();
    if (!row) return row.err();
    if (!row->has_value()) break;
    auto d = storage::decode<attr_def>((*row)->value);
    if (!d) return d.err();
    out.push_back({d->name, attr_type_name(d->value_type()), false});
  }
  return out;
}

// --- audit ---------------------------------------------------------------------------------------

void mcs_state::audit_row(const call_ctx& c, uint64_t id, const std::string& action,
                          const std::string& object, const std::string& detail) {
  auto seq = counts_.next_seq++;
  audit_row_data row{c.now_us, c.who.user, action, object, detail, id};
  // One row per change, under its object (what the audit verb reads). Catalogs written before
  // kept the row under 'g' seq and an empty 'o' row as its index; audit() reads both layouts.
  store_.put(audit_, keys::tagged('o', id, seq), storage::encode(row));
}

expected<std::vector<audit_entry>> mcs_state::audit(const call_ctx& c, const object_ref& ref,
                                                    size_t limit) const {
  auto obj = resolve(c.who, ref, 0);
  if (!obj) return obj.err();
  if (!c.who.admin && obj->second.owner != c.who.user)
    return fail(errc::forbidden,
                "only the owner of " + describe(ref) + " or an admin reads its audit");
  if (limit == 0 || limit > limits_.page_max) limit = limits_.page_default;
  std::deque<storage::kv> newest;  // the last `limit` rows seen
  auto cur = store_.scan_prefix(audit_, keys::tagged('o', obj->first));
  for (size_t i = 0; i < limits_.scan_rows_max; ++i) {
    auto row = cur.next();
    if (!row) return row.err();
    if (!row->has_value()) break;
    newest.push_back(std::move(**row));
    if (newest.size() > limit) newest.pop_front();
  }
  std::vector<audit_entry> out;
  for (auto it = newest.rbegin(); it != newest.rend(); ++it) {
    auto seq = keys::trailing_id(it->key);
    std::optional<std::string> raw_row;
    if (!it->value.empty()) {
      raw_row = std::move(it->value);
    } else {  // the older layout: the row itself is under 'g' seq
      auto raw = store_.get(audit_, keys::tagged('g', seq));
      if (!raw) return raw.err();
      raw_row = std::move(*raw);
    }
    if (!raw_row) continue;
    auto r = storage::decode<audit_row_data>(*raw_row);
    if (!r) return r.err();
    out.push_back({seq, r->when_us, r->who, r->action, r->object, r->detail});
  }
  return out;
}

// --- permissions ---------------------------------------------------------------------------------

status mcs_state::grant(const call_ctx& c, const std::optional<object_ref>& target,
                        const std::string& to, uint8_t rights, storage::batch& rows) {
  if (auto st = check_principal(to); !st) return st;
  if (rights == 0 || (rights & ~rights_all) != 0)
    return fail(errc::invalid_argument, "grant read, write, create or all");
  return transaction(rows, [&]() -> status {
    uint64_t id = 0;
    std::string what = "the service";
    if (target) {
      auto obj = resolve(c.who, *target, 0);
      if (!obj) return obj.err();
      if (!c.who.admin && obj->second.owner != c.who.user)
        return fail(errc::forbidden,
                    "only the owner of " + describe(*target) + " or an admin grants");
      id = obj->first;
      what = describe(*target);
    } else if (!c.who.admin) {
      return fail(errc::forbidden, "only an admin grants rights on the whole service");
    }
    auto key = keys::acl(id, to);
    auto old = store_.get(acl_, key);
    if (!old) return old.err();
    uint8_t now = rights;
    if (old->has_value() && (*old)->size() == 1) now |= static_cast<uint8_t>((**old)[0]);
    if (!old->has_value()) {
      auto cur = store_.scan_prefix(acl_, keys::u64(id));
      for (size_t n = 0; n <= limits_.acl_entries_max; ++n) {
        auto row = cur.next();
        if (!row) return row.err();
        if (!row->has_value()) break;
        if (n == limits_.acl_entries_max)
          return fail(errc::invalid_argument, what + " already has the most grants allowed");
      }
    }
    store_.put(acl_, key, std::string(1, static_cast<char>(now)));
    audit_row(c, id, "grant", what, to + " " + rights_text(rights));
    return {};
  });
}

status mcs_state::revoke(const call_ctx& c, const std::optional<object_ref>& target,
                         const std::string& from, uint8_t rights, storage::batch& rows) {
  if (auto st = check_principal(from); !st) return st;
  if (rights == 0 || (rights & ~rights_all) != 0)
    return fail(errc::invalid_argument, "revoke read, write, create or all");
  return transaction(rows, [&]() -> status {
    uint64_t id = 0;
    std::string what = "the service";
    if (target) {
      auto obj = resolve(c.who, *target, 0);
      if (!obj) return obj.err();
      if (!c.who.admin && obj->second.owner != c.who.user)
        return fail(errc::forbidden,
                    "only the owner of " + describe(*target) + " or an admin revokes");
      id = obj->first;
      what = describe(*target);
    } else if (!c.who.admin) {
      return fail(errc::forbidden, "only an admin revokes rights on the whole service");
    }
    auto key = keys::acl(id, from);
    auto old = store_.get(acl_, key);
    if (!old) return old.err();
    if (!old->has_value() || (*old)->size() != 1)
      return fail(errc::not_found, from + " holds no rights on " + what);
    uint8_t now = static_cast<uint8_t>((**old)[0]) & static_cast<uint8_t>(~rights);
    if (now == 0)
      store_.del(acl_, key);
    else
      store_.put(acl_, key, std::string(1, static_cast<char>(now)));
    audit_row(c, id, "revoke", what, from + " " + rights_text(rights));
    return {};
  });
}

expected<std::vector<acl_entry>> mcs_state::acl(const call_ctx& c,
                                                const std::optional<object_ref>& target) const {
  uint64_t id = 0;
  if (target) {
    auto obj = resolve(c.who, *target, 0);
    if (!obj) return obj.err();
    id = obj->first;
  } else if (!c.who.admin) {
    return fail(errc::forbidden, "only an admin lists the service's grants");
  }
  std::vector<acl_entry> out;
  auto cur = store_.scan_prefix(acl_, keys::u64(id));
  for (size_t n = 0; n <= limits_.acl_entries_max; ++n) {
    auto row = cur.next();
    if (!row) return row.err();
    if (!row->has_value()) break;
    storage::key_reader reader{std::string_view{(*row)->key}.substr(8)};
    auto p = reader.read_string();
    if (!p || (*row)->value.size() != 1) return fail(errc::internal, "corrupt record: a grant");
    out.push_back({*p, rights_text(static_cast<uint8_t>((*row)->value[0]))});
  }
  return out;
}

// --- groups --------------------------------------------------------------------------------------

namespace {

constexpr size_t group_name_bytes_max = 128;

std::string membership_key(const std::string& user, const std::string& group) {
  return "g" + storage::string_key(user) + storage::string_key(group);
}

status check_member_names(const std::string& user, const std::string& group) {
  if (user.empty() || user.size() > principal_bytes_max || user.find('\0') != std::string::npos)
    return fail(errc::invalid_argument, "a user name has 1 to 256 bytes, without NUL");
  if (group.empty() || group.size() > group_name_bytes_max)
    return fail(errc::invalid_argument, "a group name has 1 to 128 bytes");
  for (char ch : group) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.';
    if (!ok)
      return fail(errc::invalid_argument, "group name '" + group.substr(0, 64) +
                                              "' may hold only letters, digits, '_', '-' and '.'");
  }
  return {};
}

}  // namespace

status mcs_state::load_groups() {
  groups_.clear();
  group_members_ = 0;
  std::string after;
  // Bounded: at most group_members_max rows are accepted; more is a corrupt or hostile db.
  for (;;) {
    auto page = db_.scan_prefix(meta_, "g", 1000, after);
    if (!page) return page.err();
    for (const auto& row : page->rows) {
      storage::key_reader reader{std::string_view{row.key}.substr(1)};
      auto user = reader.read_string();
      auto group = user ? reader.read_string() : user;
      if (!user || !group || !reader.done())
        return fail(errc::internal, "corrupt record: an MCS group membership");
      if (++group_members_ > limits_.group_members_max)
        return fail(errc::internal, "more MCS group memberships than the limit");
      groups_[*user].insert(*group);
    }
    if (!page->more || page->rows.empty()) return {};
    after = page->rows.back().key;
  }
}

expected<std::vector<std::string>> mcs_state::stored_groups(const std::string& user) const {
  std::vector<std::string> out;
  auto prefix = "g" + storage::string_key(user);
  auto cur = store_.scan_prefix(meta_, prefix);
  for (size_t n = 0; n <= limits_.group_members_max; ++n) {
    auto row = cur.next();
    if (!row) return row.err();
    if (!row->has_value()) return out;
    storage::key_reader reader{std::string_view{(*row)->key}.substr(prefix.size())};
    auto group = reader.read_string();
    if (!group || !reader.done())
      return fail(errc::internal, "corrupt record: an MCS group membership");
    out.push_back(std::move(*group));
  }
  return fail(errc::internal, "more MCS group memberships than the limit");
}

expected<principal> mcs_state::with_groups(principal who) const {
  auto add = [&](const std::string& g) {
    if (std::find(who.groups.begin(), who.groups.end(), g) == who.groups.end())
      who.groups.push_back(g);
  };
  if (!read_only_) {
    auto it = groups_.find(who.user);
    if (it == groups_.end()) return who;
    for (const auto& g : it->second) add(g);
    return who;
  }
  // A read-only view has no memory of its own: the user's membership rows, from its snapshot.
  auto stored = stored_groups(who.user);
  if (!stored) return stored.err();
  for (const auto& g : *stored) add(g);
  return who;
}

status mcs_state::set_membership(const call_ctx& c, const std::string& user,
                                 const std::string& group, bool member, storage::batch& rows) {
  if (!c.who.admin) return fail(errc::forbidden, "only an admin changes the catalog's groups");
  if (auto st = check_member_names(user, group); !st) return st;
  auto it = groups_.find(user);
  bool is_member = it != groups_.end() && it->second.count(group) > 0;
  if (member == is_member) return {};  // already so: nothing to write
  if (member && group_members_ >= limits_.group_members_max)
    return fail(errc::invalid_argument, "the catalog holds at most " +
                                            std::to_string(limits_.group_members_max) +
                                            " group memberships");
  auto st = transaction(rows, [&]() -> status {
    if (member)
      store_.put(meta_, membership_key(user, group), "");
    else
      store_.del(meta_, membership_key(user, group));
    audit_row(c, 0, member ? "group_add" : "group_remove", "the service",
              "user:" + user + " group:" + group);
    return {};
  });
  if (!st) return st;
  // Memory follows once the rows are in the batch; a failed commit restarts the actor, which
  // reloads what is durable.
  if (member) {
    groups_[user].insert(group);
    ++group_members_;
  } else {
    it->second.erase(group);
    if (it->second.empty()) groups_.erase(it);
    --group_members_;
  }
  return {};
}

expected<std::vector<std::string>> mcs_state::groups_of(const call_ctx& c,
                                                        const std::string& user) const {
  if (!c.who.admin && c.who.user != user)
    return fail(errc::forbidden, "only an admin lists another user's groups");
  if (read_only_) return stored_groups(user);  // in key order, as the set below
  auto it = groups_.find(user);
  if (it == groups_.end()) return std::vector<std::string>{};
  return std::vector<std::string>{it->second.begin(), it->second.end()};
}

}  // namespace librarian::mcs
