// The Metadata Catalog's state machine (no CAF, no I/O of its own): logical files, collections and
// views with typed attributes, annotations, provenance, documents, permissions and an audit log,
// all in RocksDB tables, plus the query engine over a typed order-preserving index per attribute.
//
// Every mutation is all-or-nothing: it validates and writes inside one overlay transaction and
// appends its rows to the caller's batch only if it succeeds. Reads see committed state plus the
// writes of earlier requests still being committed (see overlay.hpp for why that is safe).
//
// Authorization: the owner (creator) of an object, an admin, and whoever holds a grant on the
// object, on any collection above it, or on the service may act on it. A caller without read
// rights gets the same not_found as for an object that does not exist.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/mcs/model.hpp"
#include "actors/mcs/object_cache.hpp"
#include "actors/mcs/overlay.hpp"
#include "actors/mcs/values.hpp"
#include "runtime/expected.hpp"
#include "storage/db.hpp"

namespace librarian::mcs {

inline constexpr const char* objects_table = "mcs_objects";      // u64 id -> object row
inline constexpr const char* names_table = "mcs_names";          // kind, name, version -> u64 id
inline constexpr const char* attr_defs_table = "mcs_attr_defs";  // name -> attribute definition
inline constexpr const char* values_table = "mcs_values";        // u64 obj, u64 attr -> value key
inline constexpr const char* index_table = "mcs_index";      // u64 attr, kind, value, u64 obj -> ""
inline constexpr const char* members_table = "mcs_members";  // 'd' parent child / 'u' child parent
inline constexpr const char* notes_table = "mcs_notes";      // annotations and provenance links
inline constexpr const char* docs_table = "mcs_docs";        // u64 obj -> document
inline constexpr const char* acl_table = "mcs_acl";  // u64 obj (0: service), principal -> rights
inline constexpr const char* audit_table = "mcs_audit";    // 'g' seq -> row; 'o' obj seq -> ""
inline constexpr const char* mcs_meta_table = "mcs_meta";  // "counters"

// The column families the MCS needs; the node adds them to its open_options.
[[nodiscard]] std::vector<std::string> mcs_tables();
// Gives the index table's memtables a whole-key bloom filter: a conjunction probes each
// candidate's index row for its other equality conditions, most probes miss, and a miss then
// skips the search of the memtable's skip list (millions of entries after a bulk load). Options
// only; it takes effect for memtables made from now on. Harmless to repeat, and free when the
// DB was opened with mcs_table_tuning() in its open_options::tuned_tables.
[[nodiscard]] status tune_mcs_tables(storage::db& db);
// The same options, for open_options::tuned_tables (table -> {RocksDB option: value}).
[[nodiscard]] std::map<std::string, std::unordered_map<std::string, std::string>>
mcs_table_tuning();

struct mcs_limits {
  size_t name_bytes_max = 1024;
  size_t attr_name_bytes_max = 128;
  size_t value_bytes_max = 4096;        // a string attribute value
  size_t attrs_per_object_max = 256;    // user attributes on one object
  size_t attrs_per_request_max = 1000;  // one add_blk / create -f
  size_t attr_defs_max = 100000;        // distinct attribute names in the service
  size_t text_bytes_max = 65536;        // an annotation or provenance text
  size_t document_bytes_max = 1 << 20;  // a stored XML/JSON document
  size_t annotations_per_object_max = 10000;
  size_t provenance_sources_max = 1000;
  size_t members_max = 1000000;       // of one collection or view
  size_t depth_max = 64;              // collection nesting and view nesting
  size_t view_walk_max = 100000;      // objects a view cycle check may visit
  size_t delete_objects_max = 10000;  // one recursive delete
  size_t acl_entries_max = 1000;      // per object
  size_t conditions_max = 16;
  size_t page_default = 100;
  size_t page_max = 100000;
  size_t offset_max = 1000000;
  size_t estimate_rows_max = 1000;    // an index range is counted up to this many rows
  size_t scan_rows_max = 2000000;     // rows one query may examine
  size_t group_members_max = 100000;  // (user, group) memberships in the catalog
  size_t overlay_entries_max = 2000000;
  size_t overlay_bytes_max = 512u << 20;
};

class mcs_state {
 public:
  // db must outlive the state and have been opened with mcs_tables().
  explicit mcs_state(storage::db& db, mcs_limits limits = {});
  // A read-only view of the committed catalog (mcs_reader): it is never loaded and never writes
  // (asserted), reads through the snapshot it is given, and reads the caller's groups from the
  // db rather than from the actor's memory. Reading verbs run on it exactly as on the actor's.
  struct read_only_t {};
  mcs_state(storage::db& db, mcs_limits limits, read_only_t);
  [[nodiscard]] bool read_only() const { return read_only_; }
  void set_snapshot(const rocksdb::Snapshot* snapshot) { store_.set_snapshot(snapshot); }

  // Reads the counters (a fresh db starts empty) and clears the overlay.
  [[nodiscard]] status load();
  [[nodiscard]] status reload() { return load(); }
  // The shell's commit callback (see overlay.hpp), and the token to pass to it.
  void committed(uint64_t seq_durable);
  [[nodiscard]] uint64_t last_seq() const { return store_.last_seq(); }

  // Reads objects through the cache (object_cache.hpp), shared by the actor's state, which keeps
  // it, and the read-only views, which only read it. nullptr: no cache.
  void use_object_cache(std::shared_ptr<object_cache> cache) { cache_ = std::move(cache); }
  [[nodiscard]] bool caches_objects() const { return cache_ != nullptr; }
  // The writer's state fills the cache with every object the db holds, between transactions,
  // once every batch of an earlier writer (an actor before a restart) is durable -- in steps,
  // with writes between them: each caches up to objects_max objects with ids from from_id on,
  // from a snapshot of its own. `next_id` is where the next step starts;
  // none when the table is done or the cache is full (`full`). The caller empties the cache
  // before the first step. An error leaves the cache to the caller to drop.
  struct warm_progress {
    size_t cached = 0;
    std::optional<uint64_t> next_id;
    bool full = false;
  };
  [[nodiscard]] expected<warm_progress> warm_object_cache_step(uint64_t from_id,
                                                               size_t objects_max);

  // --- objects ---------------------------------------------------------------------------------
  // create l|c|v NAME [-f ATTR_FILE]: a new object owned by the caller, with its attributes.
  [[nodiscard]] status create(const call_ctx& c, const object_ref& ref,
                              const std::vector<attr_assign>& attrs, storage::batch& rows);
  // A file the librarian has just registered (upload or replica): the logical file, owned by
  // the caller (its uploader), with the node's default attributes (size, checksum, uploader,
  // source, create_time); a file already described gets them added or replaced.
  [[nodiscard]] status register_file(const call_ctx& c, const std::string& name,
                                     const std::vector<attr_assign>& defaults,
                                     storage::batch& rows);
  // delete: the object, its attributes, memberships, notes, document and grants. A collection
  // with members needs recursive (which deletes the whole subtree, at most delete_objects_max).
  [[nodiscard]] status remove(const call_ctx& c, const object_ref& ref, bool recursive,
                              storage::batch& rows);
  // list l|c|v: names in order after `after` (keyset paging); only objects the caller may read.
  [[nodiscard]] expected<object_page> list(const call_ctx& c, kind k, const std::string& after,
                                           size_t limit) const;

  // --- attributes ------------------------------------------------------------------------------
  // add_att / add_blk: the attributes must not have values yet; a new name is defined with the
  // given type, a known one must be given its own type (or none).
  [[nodiscard]] status add_attrs(const call_ctx& c, const object_ref& ref,
                                 const std::vector<attr_assign>& attrs, storage::batch& rows);
  // modify_att / modify_blk: the attributes must have values.
  [[nodiscard]] status modify_attrs(const call_ctx& c, const object_ref& ref,
                                    const std::vector<attr_assign>& attrs, storage::batch& rows);
  // delete_att / delete_blk: only the names (and types, when given) are used.
  [[nodiscard]] status delete_attrs(const call_ctx& c, const object_ref& ref,
                                    const std::vector<attr_assign>& attrs, storage::batch& rows);
  // listattributes: predefined first, then user attributes by name.
  [[nodiscard]] expected<std::vector<attr_entry>> list_attrs(const call_ctx& c,
                                                             const object_ref& ref) const;
  // Every defined attribute name and type (the service's flat attribute namespace).
  [[nodiscard]] expected<std::vector<attr_def_entry>> attribute_defs(size_t limit) const;

  // --- collections and views -------------------------------------------------------------------
  // add_coll PARENT -l FILE | -c CHILD: a file or collection joins a collection; it may be in at
  // most one, and a collection may not end up inside itself.
  [[nodiscard]] status add_to_collection(const call_ctx& c, const std::string& parent,
                                         const object_ref& child, storage::batch& rows);
  // add_view VIEW -l|-c|-v NAME: any object joins a view, unless that makes a cycle of views.
  [[nodiscard]] status add_to_view(const call_ctx& c, const std::string& view,
                                   const object_ref& child, storage::batch& rows);
  // list_coll / list_view: the members (readable ones) in id order, paged by offset.
  [[nodiscard]] expected<object_page> members(const call_ctx& c, const object_ref& parent,
                                              size_t offset, size_t limit) const;

  // --- notes, documents, permissions, audit ----------------------------------------------------
  [[nodiscard]] status annotate(const call_ctx& c, const object_ref& ref, const std::string& text,
                                storage::batch& rows);
  [[nodiscard]] expected<std::vector<annotation>> annotations(const call_ctx& c,
                                                              const object_ref& ref,
                                                              size_t limit) const;
  // Replaces the object's provenance: a text and the objects it was derived from.
  [[nodiscard]] status set_provenance(const call_ctx& c, const object_ref& ref,
                                      const std::string& text,
                                      const std::vector<object_ref>& sources, storage::batch& rows);
  [[nodiscard]] expected<provenance_info> provenance(const call_ctx& c,
                                                     const object_ref& ref) const;
  // store-doc: format "json" or "xml"; shred (JSON only): each top-level scalar member becomes
  // an attribute (added or modified; its type inferred when new).
  [[nodiscard]] status store_doc(const call_ctx& c, const object_ref& ref, const document& doc,
                                 bool shred, storage::batch& rows);
  [[nodiscard]] expected<document> get_doc(const call_ctx& c, const object_ref& ref) const;
  // target nullopt: the service (admins only). Otherwise the owner or an admin.
  [[nodiscard]] status grant(const call_ctx& c, const std::optional<object_ref>& target,
                             const std::string& to, uint8_t rights, storage::batch& rows);
  [[nodiscard]] status revoke(const call_ctx& c, const std::optional<object_ref>& target,
                              const std::string& from, uint8_t rights, storage::batch& rows);
  [[nodiscard]] expected<std::vector<acl_entry>> acl(const call_ctx& c,
                                                     const std::optional<object_ref>& target) const;
  // The object's audit rows, newest first (admins and the owner).
  [[nodiscard]] expected<std::vector<audit_entry>> audit(const call_ctx& c, const object_ref& ref,
                                                         size_t limit) const;

  // --- groups ----------------------------------------------------------------------------------
  // The catalog's own group memberships (node users carry no groups): `group:NAME` grants
  // apply to their members whatever path the request came by. Admins change them.
  [[nodiscard]] status set_membership(const call_ctx& c, const std::string& user,
                                      const std::string& group, bool member, storage::batch& rows);
  // A user's groups (admins, or the user themself).
  [[nodiscard]] expected<std::vector<std::string>> groups_of(const call_ctx& c,
                                                             const std::string& user) const;
  // The caller with the groups the catalog records for them added to those they came with.
  [[nodiscard]] expected<principal> with_groups(principal who) const;

  // --- queries ---------------------------------------------------------------------------------
  [[nodiscard]] expected<query_result> query(const call_ctx& c, const query_request& q) const;

  // A bulk request (create_many) runs its objects as separate transactions between these two;
  // the counters row, which every transaction would rewrite, is written once by end_bulk.
  void begin_bulk() { ++bulk_depth_; }
  void end_bulk(storage::batch& rows);

  [[nodiscard]] uint64_t object_count() const { return counts_.objects; }
  [[nodiscard]] const mcs_limits& limits() const { return limits_; }

  struct counters {
    uint64_t next_id = 1;         // object ids; 0 is the service
    uint64_t next_attr_id = 100;  // user attribute ids; below 100 are predefined
    uint64_t next_seq = 1;        // audit and annotation sequence
    uint64_t objects = 0;
  };
  struct object_row;
  struct attr_def;
  struct plan_step;

 private:
  template <class F>
  status transaction(storage::batch& rows, F&& body);

  // Objects and access.
  [[nodiscard]] expected<std::optional<uint64_t>> find_id(const object_ref& ref) const;
  [[nodiscard]] expected<std::optional<object_row>> read_object(uint64_t id) const;
  [[nodiscard]] expected<uint8_t> rights_on(const principal& who, uint64_t id,
                                            const object_row& row) const;
  // The object if the caller holds `need` on it; not_found if it is missing or unreadable,
  // forbidden if readable but `need` is more than the caller holds.
  [[nodiscard]] expected<std::pair<uint64_t, object_row>> resolve(const principal& who,
                                                                  const object_ref& ref,
                                                                  uint8_t need) const;
  [[nodiscard]] status validate_ref(const object_ref& ref) const;
  void write_object(uint64_t id, const object_row& row);
  void delete_object(uint64_t id);
  // The object's row is being written: its cache entry goes now, and comes back once the write
  // is durable (committed()).
  void object_changed(uint64_t id);
  // Inside a transaction, for a name known to be free.
  [[nodiscard]] status create_object(const call_ctx& c, const object_ref& ref,
                                     const std::vector<attr_assign>& attrs);

  // Attributes.
  [[nodiscard]] expected<std::optional<attr_def>> find_def(const std::string& name) const;
  [[nodiscard]] expected<attr_def> def_for(const attr_assign& a, bool define);
  [[nodiscard]] expected<std::optional<typed_value>> read_attr(uint64_t id,
                                                               const attr_def& d) const;
  void write_attr(uint64_t id, kind k, const attr_def& d, const std::optional<typed_value>& old,
                  const std::optional<typed_value>& now);
  [[nodiscard]] status set_attrs(const call_ctx& c, uint64_t id, const object_row& row,
                                 const std::vector<attr_assign>& attrs, int mode, bool touched);
  [[nodiscard]] expected<size_t> user_attr_count(uint64_t id, size_t cap) const;
  void touch(const call_ctx& c, uint64_t id, const object_row& row);
  [[nodiscard]] expected<std::string> attr_name_of(uint64_t attr_id) const;

  // Structure.
  [[nodiscard]] status delete_one(const call_ctx& c, uint64_t id, const object_row& row);
  [[nodiscard]] expected<bool> has_members(uint64_t id) const;
  [[nodiscard]] expected<bool> view_reaches(uint64_t from, uint64_t target) const;
  [[nodiscard]] status delete_prefix(storage::table t, const std::string& prefix, size_t rows_max);
  void audit_row(const call_ctx& c, uint64_t id, const std::string& action,
                 const std::string& object, const std::string& detail);
  void write_counts();

  // Queries.
  [[nodiscard]] expected<std::vector<plan_step>> plan_conditions(const query_request& q) const;
  // Whether the object's collection is one the caller may not read.
  [[nodiscard]] expected<bool> container_hidden(const principal& who, const object_row& row) const;
  [[nodiscard]] expected<bool> order_steps(std::vector<plan_step>& steps) const;
  [[nodiscard]] status filter_candidates(std::vector<uint64_t>& ids,
                                         const std::vector<plan_step>& steps, size_t skip) const;
  [[nodiscard]] status probe_index(std::vector<uint64_t>& ids, const plan_step& step) const;
  [[nodiscard]] status filter_by_values(std::vector<uint64_t>& ids, const plan_step& step,
                                        std::vector<std::string>& keys,
                                        std::vector<std::optional<std::string>>& values) const;
  [[nodiscard]] expected<std::vector<std::pair<uint64_t, object_row>>> read_objects(
      const std::vector<uint64_t>& ids) const;
  [[nodiscard]] expected<size_t> estimate(const plan_step& s) const;

  storage::db& db_;
  mcs_limits limits_;
  bool read_only_ = false;
  storage::table objects_, names_, defs_, values_, index_, members_, notes_, docs_, acl_, audit_,
      meta_;
  overlay_store store_;
  std::shared_ptr<object_cache> cache_;
  // (transaction, object) for each object row written and not yet durable, in write order.
  std::deque<std::pair<uint64_t, uint64_t>> cache_dirty_;
  counters counts_;
  size_t bulk_depth_ = 0;
  // Group memberships by user: few, read on every request, so kept in memory (load_groups).
  std::unordered_map<std::string, std::set<std::string>> groups_;
  size_t group_members_ = 0;
  [[nodiscard]] status load_groups();
  // One user's membership rows as the db (or the read-only view's snapshot) holds them.
  [[nodiscard]] expected<std::vector<std::string>> stored_groups(const std::string& user) const;
  // Attribute definitions by name: read on every attribute of every request, never removed.
  static constexpr size_t def_cache_entries_max = 100000;
  struct cached_def {
    uint64_t id = 0;
    uint8_t type = 0;
  };
  mutable std::unordered_map<std::string, cached_def> def_cache_;
};

}  // namespace librarian::mcs
