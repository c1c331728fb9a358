#include "actors/librarian/catalog_state.hpp"

#include <algorithm>
#include <tuple>

#include "actors/librarian/file_checksum.hpp"
#include "actors/librarian/secrets.hpp"
#include "actors/rls/glob.hpp"
#include "runtime/config.hpp"
#include "storage/keys.hpp"
#include "storage/row_list_ops.hpp"
#include "storage/table.hpp"

namespace librarian::lib {
namespace {

using storage::row_list;

constexpr const char* uploads_counter = "uploads";
constexpr const char* instances_counter = "instances";
constexpr const char* errors_counter = "errors";
constexpr const char* corrupt_counter = "corrupt";

using storage::erase_row;
using storage::put_marker;
using storage::put_row;

std::string instance_key(const std::string& name, uint64_t id) {
  std::string k;
  storage::append_string(k, name);
  storage::append_u64(k, id);
  return k;
}

std::string pair_key(const std::string& a, const std::string& b) {
  std::string k;
  storage::append_string(k, a);
  storage::append_string(k, b);
  return k;
}

std::string time_key(int64_t t, const std::string& name) {
  std::string k;
  storage::append_i64(k, t);
  storage::append_string(k, name);
  return k;
}

bool known_policy(const std::string& p) {
  return p == "DISALLOWED" || p == "ALLOWED";
}

const std::vector<std::string>& severities() {
  static const std::vector<std::string> v{"critical", "error", "warning", "info"};
  return v;
}
const std::vector<std::string>& categories() {
  static const std::vector<std::string> v{"data_integrity", "data_availability",
                                          "configuration",  "store_full",
                                          "programming",    "librarian_network_availability",
                                          "transfer"};
  return v;
}
bool one_of(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

instance_info instance_to_info(const instance_row& r) {
  return {r.id,
          r.store,
          r.path,
          r.available,
          r.deletion_policy,
          r.created_unix_ms,
          r.cached_checksum,
          r.checksum_unix_ms};
}

error_info error_to_info(const error_row& r) {
  return {r.id,     r.severity,       r.category, r.message,
          r.caller, r.raised_unix_ms, r.cleared,  r.cleared_unix_ms};
}

// The last path component of a file name: the staged file's name inside its staging directory.
std::string leaf_of(const std::string& name) {
  auto slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

}  // namespace

std::vector<std::string> librarian_tables() {
  return {files_table,
          files_by_time_table,
          files_by_checksum_table,
          instances_table,
          instances_by_store_table,
          remotes_table,
          remotes_by_librarian_table,
          stores_table,
          store_usage_table,
          librarians_table,
          errors_table,
          corrupt_table,
          uploads_table,
          meta_table};
}

status validate_file_name(const std::string& name, size_t name_bytes_max) {
  if (name.empty()) return fail(errc::invalid_argument, "the file name is empty");
  if (name.size() > name_bytes_max)
    return fail(errc::invalid_argument, "the file name has " + std::to_string(name.size()) +
                                            " bytes; at most " + std::to_string(name_bytes_max) +
                                            " are allowed");
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f)
      return fail(errc::invalid_argument,
                  "the file name contains a control character (byte " + std::to_string(c) + ")");
  if (name.front() == '/')
    return fail(errc::invalid_argument,
                "the file name '" + name + "' starts with '/': names are relative to the store");
  if (name.back() == '/')
    return fail(errc::invalid_argument, "the file name '" + name + "' ends with '/'");
  size_t start = 0;
  while (start <= name.size()) {
    auto end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    auto part = std::string_view{name}.substr(start, end - start);
    if (part.empty())
      return fail(errc::invalid_argument, "the file name '" + name + "' contains '//'");
    if (part == "." || part == "..")
      return fail(errc::invalid_argument, "the file name '" + name + "' has a '" +
                                              std::string{part} +
                                              "' component; names cannot leave the store");
    start = end + 1;
  }
  return {};
}

catalog_state::catalog_state(const storage::db& db, std::string node_name,
                             std::vector<store_config> stores, catalog_limits limits,
                             std::string sealing_key)
    : db_(db),
      node_name_(std::move(node_name)),
      limits_(limits),
      sealing_key_(std::move(sealing_key)) {
  for (auto& s : stores) stores_.push_back({std::move(s), true, 0, 0, 0});
}

void catalog_state::remember_upload(upload_row u) {
  upload_ids_by_name_.emplace(u.name, u.id);
  auto id = u.id;
  uploads_[id] = std::move(u);
}

void catalog_state::forget_upload(std::map<uint64_t, upload_row>::iterator it) {
  auto [first, last] = upload_ids_by_name_.equal_range(it->second.name);
  for (auto i = first; i != last; ++i)
    if (i->second == it->first) {
      upload_ids_by_name_.erase(i);
      break;
    }
  uploads_.erase(it);
}

status catalog_state::load() {
  uploads_.clear();
  upload_ids_by_name_.clear();
  committing_.clear();
  names_committing_.clear();
  librarians_.clear();
  auto meta = db_.get_table(meta_table);
  for (auto [name, target] : {std::pair{uploads_counter, &next_upload_id_},
                              std::pair{instances_counter, &next_instance_id_},
                              std::pair{errors_counter, &next_error_id_},
                              std::pair{corrupt_counter, &next_corrupt_id_}}) {
    auto row = storage::get_record<counter_row>(db_, meta, name);
    if (!row) return row.err();
    *target = *row ? (*row)->value : 1;
  }
  for (auto& s : stores_) {
    auto flags = storage::get_record<store_flags_row>(db_, db_.get_table(stores_table),
                                                      storage::string_key(s.config.name));
    if (!flags) return flags.err();
    s.enabled = *flags ? (*flags)->enabled : s.config.enabled;
    auto usage = storage::get_record<store_usage_row>(db_, db_.get_table(store_usage_table),
                                                      storage::string_key(s.config.name));
    if (!usage) return usage.err();
    s.used_bytes = *usage ? (*usage)->used_bytes : 0;
    s.instances = *usage ? (*usage)->instances : 0;
    s.reserved_bytes = 0;
  }
  auto uploads = db_.scan_prefix(db_.get_table(uploads_table), "", limits_.uploads_open_max + 1);
  if (!uploads) return uploads.err();
  for (const auto& kv : uploads->rows) {
    auto row = storage::decode<upload_row>(kv.value);
    if (!row) return row.err();
    for (auto& s : stores_)
      if (s.config.name == row->store) s.reserved_bytes += row->size;
    remember_upload(std::move(*row));
  }
  auto peers = db_.scan_prefix(db_.get_table(librarians_table), "", limits_.librarians_max + 1);
  if (!peers) return peers.err();
  for (const auto& kv : peers->rows) {
    auto row = storage::decode<librarian_row>(kv.value);
    if (!row) return row.err();
    librarians_[row->name] = std::move(*row);
  }
  return {};
}

// ------------------------------------------------------------------------------------- uploads

uint64_t catalog_state::room_bytes(const store_state& s) const {
  auto limit = static_cast<uint64_t>(static_cast<double>(s.config.capacity_bytes) *
                                     s.config.report_full_fraction);
  auto taken = s.used_bytes + s.reserved_bytes;
  return taken >= limit ? 0 : limit - taken;
}

expected<catalog_state::store_state*> catalog_state::choose_store(const stage_request& req) {
  if (!req.store.empty()) {
    for (auto& s : stores_) {
      if (s.config.name != req.store) continue;
      if (!s.config.ingestable)
        return fail(errc::invalid_argument,
                    "store '" + req.store + "' is not ingestable (it takes no uploads)");
      if (!s.enabled)
        return fail(errc::unavailable, "store '" + req.store +
                                           "' is disabled; an admin can enable it with "
                                           "set-store-state --enabled");
      if (room_bytes(s) < req.size)
        return fail(errc::storage_full, "store '" + req.store + "' has " +
                                            std::to_string(room_bytes(s)) + " bytes free; " +
                                            std::to_string(req.size) + " are needed");
      return &s;
    }
    return fail(errc::not_found, "no store named '" + req.store + "' on this librarian");
  }
  bool any_open = false;
  for (auto& s : stores_) {
    if (!s.config.ingestable || !s.enabled) continue;
    any_open = true;
    if (room_bytes(s) >= req.size) return &s;
  }
  if (!any_open) return fail(errc::unavailable, "no enabled, ingestable store on this librarian");
  return fail(errc::storage_full,
              "no enabled store has room for " + std::to_string(req.size) + " bytes");
}

std::string catalog_state::instance_path(const std::string& store, const std::string& name) const {
  for (const auto& s : stores_)
    if (s.config.name == store) return s.config.store_path + "/" + name;
  return {};
}

expected<stage_reply> catalog_state::stage(const stage_request& req, int64_t now_unix_ms,
                                           row_list& rows) {
  if (auto st = validate_file_name(req.name, limits_.name_bytes_max); !st) return st.err();
  if (!req.checksum.empty() && !valid_checksum(req.checksum))
    return fail(errc::invalid_argument,
                "checksum must be \"xxh3:::\" and 32 lower-case hex "
                "digits (or left out, to declare it at commit), got '" +
                    req.checksum + "'");
  if (req.size > limits_.upload_bytes_max)
    return fail(errc::invalid_argument, "the upload has " + std::to_string(req.size) +
                                            " bytes; this librarian accepts at most " +
                                            std::to_string(limits_.upload_bytes_max));
  if (!known_policy(req.deletion_policy))
    return fail(errc::invalid_argument,
                "deletion_policy must be DISALLOWED or ALLOWED, got '" + req.deletion_policy + "'");
  if (req.uploader.empty()) return fail(errc::invalid_argument, "the uploader is empty");
  if (!req.group.empty()) {
    bool ok = req.group.size() <= 128 && req.group != "." && req.group != "..";
    for (char c : req.group)
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-');
    if (!ok)
      return fail(
          errc::invalid_argument,
          "a staging group must be one path component of [A-Za-z0-9._-], got '" + req.group + "'");
  }
  auto existing = read_file(req.name);
  if (!existing) return existing.err();
  if (*existing) {
    const auto& f = **existing;
    if (req.checksum.empty())
      return fail(errc::conflict, "a file named '" + req.name + "' already exists (" +
                                      std::to_string(f.size) + " bytes, " + f.checksum +
                                      "); stage with the checksum to tell whether it is the same "
                                      "file (`librarian upload` does so)");
    if (f.size == req.size && f.checksum == req.checksum) {
      stage_reply same;
      same.name = req.name;
      same.already_present = true;
      return same;
    }
    return fail(errc::conflict, "a different file named '" + req.name + "' already exists (" +
                                    std::to_string(f.size) + " bytes, " + f.checksum +
                                    "); names are permanent, so upload under another name");
  }
  if (names_committing_.contains(req.name))
    return fail(errc::conflict, "'" + req.name + "' is being committed right now; retry shortly");
  for (auto [first, last] = upload_ids_by_name_.equal_range(req.name); first != last; ++first) {
    auto id = first->second;
    const auto& u = uploads_.at(id);
    if (u.uploader == req.uploader && u.checksum == req.checksum && u.size == req.size &&
        !committing_.contains(id)) {
      // A retried stage (the client lost the first reply): the same upload again.
      return stage_reply{u.id,           u.name, u.store, u.staging_dir,
                         u.staging_file, false,  "",      u.expires_unix_ms};
    }
    return fail(errc::conflict, "an upload of '" + req.name + "' by " + u.uploader +
                                    " is already open (upload " + std::to_string(id) +
                                    "); wait for it to finish or expire");
  }
  if (uploads_.size() >= limits_.uploads_open_max)
    return fail(errc::unavailable, "too many open uploads (" + std::to_string(uploads_.size()) +
                                       "); retry when some finish");
  auto store = choose_store(req);
  if (!store) return store.err();
  upload_row u;
  u.id = next_upload_id_++;
  u.name = req.name;
  u.size = req.size;
  u.checksum = req.checksum;
  u.uploader = req.uploader;
  u.deletion_policy = req.deletion_policy;
  u.store = (*store)->config.name;
  u.staging_dir = (*store)->config.staging_path + "/" + (req.group.empty() ? "" : req.group + "/") +
                  "upload-" + std::to_string(u.id);
  // A bulk stage's uploads are flat files in their group ("bulk-*"): no directory each, since
  // making and removing thousands of directories costs the file system more than the copies.
  u.staging_file =
      req.group.starts_with("bulk-") ? u.staging_dir : u.staging_dir + "/" + leaf_of(req.name);
  u.created_unix_ms = now_unix_ms;
  u.expires_unix_ms = now_unix_ms + limits_.stage_ttl_ms;
  (*store)->reserved_bytes += u.size;
  put_row(rows, uploads_table, storage::u64_key(u.id), u);
  put_counter(uploads_counter, next_upload_id_, rows);
  remember_upload(u);
  return stage_reply{u.id,           u.name, u.store, u.staging_dir,
                     u.staging_file, false,  "",      u.expires_unix_ms};
}

expected<upload_row> catalog_state::begin_commit(uint64_t upload_id, const std::string& caller,
                                                 bool caller_is_admin,
                                                 const std::string& checksum) {
  auto it = uploads_.find(upload_id);
  // Someone else's upload reads like a missing one: callers learn nothing about it.
  if (it == uploads_.end() || (!caller_is_admin && it->second.uploader != caller))
    return fail(errc::not_found, "no open upload with id " + std::to_string(upload_id) +
                                     " (never staged, already committed, or expired)");
  if (committing_.contains(upload_id))
    return fail(errc::conflict,
                "upload " + std::to_string(upload_id) + " is already being committed");
  upload_row u = it->second;
  if (!checksum.empty() && !valid_checksum(checksum))
    return fail(
        errc::invalid_argument,
        "checksum must be \"xxh3:::\" and 32 lower-case hex digits, got '" + checksum + "'");
  if (u.checksum.empty()) {
    u.checksum = checksum;  // still "" for a cancel; commit() refuses that
  } else if (!checksum.empty() && checksum != u.checksum) {
    return fail(errc::checksum_mismatch, "the commit declares " + checksum + " but upload " +
                                             std::to_string(upload_id) + " was staged with " +
                                             u.checksum);
  }
  committing_.insert(upload_id);
  names_committing_.insert(u.name);
  return u;
}

void catalog_state::release_commit(uint64_t upload_id) {
  committing_.erase(upload_id);
  auto it = uploads_.find(upload_id);
  if (it != uploads_.end()) names_committing_.erase(it->second.name);
}

expected<commit_outcome> catalog_state::finish_commit(uint64_t upload_id,
                                                      const std::string& final_path,
                                                      int64_t now_unix_ms, row_list& rows,
                                                      const std::string& checksum) {
  auto it = uploads_.find(upload_id);
  LIB_ASSERT_MSG(it != uploads_.end() && committing_.contains(upload_id),
                 "finish_commit of an upload that was not claimed");
  auto u = it->second;
  if (!checksum.empty()) u.checksum = checksum;
  LIB_ASSERT_MSG(valid_checksum(u.checksum), "finish_commit without a checksum");
  auto existing = read_file(u.name);
  if (!existing) return existing.err();
  // Stage refuses taken names and uploads of one name are exclusive, so this is a broken
  // invariant rather than a user error.
  LIB_ASSERT_MSG(!existing->has_value(), "a committed file appeared under an open upload's name");
  store_state* store = nullptr;
  for (auto& s : stores_)
    if (s.config.name == u.store) store = &s;
  if (store == nullptr)
    return fail(errc::not_found, "store '" + u.store + "' is no longer configured");
  file_row f{u.name, u.size, u.checksum, u.uploader, u.uploader, now_unix_ms};
  put_new_file(f, rows);
  auto inst = put_new_instance(u.name, u.store, final_path, u.deletion_policy, u.checksum, u.size,
                               now_unix_ms, rows);
  erase_row(rows, uploads_table, storage::u64_key(u.id));
  put_counter(instances_counter, next_instance_id_, rows);
  store->reserved_bytes -= std::min(store->reserved_bytes, u.size);
  store->used_bytes += u.size;
  store->instances += 1;
  put_usage(*store, rows);
  forget_upload(it);
  committing_.erase(upload_id);
  commit_outcome out;
  out.file = file_info{
      f.name, f.size, f.checksum, f.uploader, f.source, f.create_unix_ms, {instance_to_info(inst)},
      {}};
  out.lfn = f.name;
  out.pfn = "file://" + final_path;
  return out;
}

expected<upload_row> catalog_state::abort_upload(uint64_t upload_id, row_list& rows) {
  auto it = uploads_.find(upload_id);
  if (it == uploads_.end())
    return fail(errc::not_found, "no open upload with id " + std::to_string(upload_id));
  auto u = it->second;
  for (auto& s : stores_)
    if (s.config.name == u.store) s.reserved_bytes -= std::min(s.reserved_bytes, u.size);
  erase_row(rows, uploads_table, storage::u64_key(u.id));
  committing_.erase(upload_id);
  names_committing_.erase(u.name);
  forget_upload(it);
  return u;
}

std::vector<upload_row> catalog_state::stale_uploads(int64_t now_unix_ms, size_t max) const {
  std::vector<upload_row> out;
  for (const auto& [id, u] : uploads_) {
    if (out.size() >= max) break;
    if (u.expires_unix_ms <= now_unix_ms && !committing_.contains(id)) out.push_back(u);
  }
  return out;
}

// --------------------------------------------------------------------------------------- files

expected<std::optional<file_row>> catalog_state::read_file(const std::string& name) const {
  return storage::get_record<file_row>(db_, db_.get_table(files_table), storage::string_key(name));
}

expected<std::vector<instance_row>> catalog_state::read_instances(const std::string& name) const {
  std::string prefix;
  storage::append_string(prefix, name);
  auto page =
      db_.scan_prefix(db_.get_table(instances_table), prefix, limits_.instances_per_file_max);
  if (!page) return page.err();
  std::vector<instance_row> out;
  for (const auto& kv : page->rows) {
    auto row = storage::decode<instance_row>(kv.value);
    if (!row) return row.err();
    out.push_back(std::move(*row));
  }
  return out;
}

expected<file_info> catalog_state::assemble(file_row f) const {
  file_info out{f.name, f.size, f.checksum, f.uploader, f.source, f.create_unix_ms, {}, {}};
  auto insts = read_instances(f.name);
  if (!insts) return insts.err();
  for (const auto& i : *insts) out.instances.push_back(instance_to_info(i));
  std::string prefix;
  storage::append_string(prefix, f.name);
  auto remotes =
      db_.scan_prefix(db_.get_table(remotes_table), prefix, limits_.instances_per_file_max);
  if (!remotes) return remotes.err();
  for (const auto& kv : remotes->rows) {
    auto r = storage::decode<remote_instance_row>(kv.value);
    if (!r) return r.err();
    out.remote_instances.push_back({r->librarian, r->store_id, r->copy_unix_ms, r->sender});
  }
  return out;
}

expected<file_info> catalog_state::get_file(const std::string& name) const {
  if (auto st = validate_file_name(name, limits_.name_bytes_max); !st) return st.err();
  auto row = read_file(name);
  if (!row) return row.err();
  if (!*row) return fail(errc::not_found, "no file named '" + name + "'");
  return assemble(std::move(**row));
}

expected<instance_info> catalog_state::best_instance(const std::string& name) const {
  auto file = get_file(name);
  if (!file) return file.err();
  const instance_info* best = nullptr;
  bool best_enabled = false;
  for (const auto& i : file->instances) {
    if (!i.available) continue;
    bool enabled = false;
    for (const auto& s : stores_) enabled = enabled || (s.config.name == i.store && s.enabled);
    if (best == nullptr || (enabled && !best_enabled)) {
      best = &i;
      best_enabled = enabled;
    }
  }
  if (best == nullptr)
    return fail(
        errc::unavailable,
        "'" + name + "' has no available instance on this librarian" +
            (file->remote_instances.empty() ? std::string{} : "; copies exist at peer librarians"));
  return *best;
}

expected<bool> catalog_state::has_remote_at(const std::string& name,
                                            const std::string& librarian) const {
  auto page =
      db_.scan_prefix(db_.get_table(remotes_by_librarian_table), pair_key(librarian, name), 1);
  if (!page) return page.err();
  return !page->rows.empty();
}

expected<bool> catalog_state::has_instance_on(const std::string& name,
                                              const std::string& store) const {
  auto page = db_.scan_prefix(db_.get_table(instances_by_store_table), pair_key(store, name), 1);
  if (!page) return page.err();
  return !page->rows.empty();
}

expected<bool> catalog_state::matches(const file_row& f, const file_query& q,
                                      const void* name_glob) const {
  const auto* g = static_cast<const rls::glob*>(name_glob);
  if (g != nullptr && !rls::glob_match(*g, f.name)) return false;
  if (q.create_from_unix_ms != 0 && f.create_unix_ms < q.create_from_unix_ms) return false;
  if (q.create_to_unix_ms != 0 && f.create_unix_ms > q.create_to_unix_ms) return false;
  if (!q.uploader.empty() && f.uploader != q.uploader) return false;
  if (!q.source.empty() && f.source != q.source) return false;
  if (f.size < q.size_min) return false;
  if (q.size_max != 0 && f.size > q.size_max) return false;
  if (!q.checksum.empty() && f.checksum != q.checksum) return false;
  if (!q.store.empty()) {
    auto on = has_instance_on(f.name, q.store);
    if (!on) return on.err();
    if (!*on) return false;
  }
  if (!q.has_remote_at.empty()) {
    auto has = has_remote_at(f.name, q.has_remote_at);
    if (!has) return has.err();
    if (!*has) return false;
  }
  if (!q.lacks_remote_at.empty()) {
    auto has = has_remote_at(f.name, q.lacks_remote_at);
    if (!has) return has.err();
    if (*has) return false;
  }
  return true;
}

// The most selective index drives the scan (a literal name prefix, then a checksum, a remote
// librarian, a store, a time range; otherwise all names); every other filter is checked per row.
// The cursor is "<index letter><hex of the last index key>", so paging works on every index.
expected<file_page> catalog_state::search(const file_query& q) const {
  auto max = q.max_results == 0 ? limits_.search_results_default : q.max_results;
  if (max > limits_.search_results_max)
    return fail(errc::invalid_argument,
                "max_results is at most " + std::to_string(limits_.search_results_max));
  std::optional<rls::glob> glob;
  if (!q.name_glob.empty()) {
    auto parsed = rls::parse_glob(q.name_glob, limits_.name_bytes_max);
    if (!parsed) return parsed.err();
    glob = std::move(*parsed);
  }
  if (q.create_to_unix_ms != 0 && q.create_to_unix_ms < q.create_from_unix_ms)
    return fail(errc::invalid_argument, "the create-time range ends before it starts");
  if (q.size_max != 0 && q.size_max < q.size_min)
    return fail(errc::invalid_argument, "size_max is smaller than size_min");
  char index = 'n';
  std::string prefix;
  std::string begin;
  std::string end;  // exclusive, for the time index
  const char* table = files_table;
  if (glob && !glob->literal_prefix.empty()) {
    // Keys are append_string encodings; the encoding of a prefix minus its terminator is a prefix
    // of the encodings of every name that starts with it (only 0x00 is escaped, never at the end).
    storage::append_string(prefix, glob->literal_prefix);
    prefix.resize(prefix.size() - 2);
  } else if (!q.checksum.empty()) {
    index = 'c';
    table = files_by_checksum_table;
    storage::append_string(prefix, q.checksum);
  } else if (!q.has_remote_at.empty()) {
    index = 'r';
    table = remotes_by_librarian_table;
    storage::append_string(prefix, q.has_remote_at);
  } else if (!q.store.empty()) {
    index = 's';
    table = instances_by_store_table;
    storage::append_string(prefix, q.store);
  } else if (q.create_from_unix_ms != 0 || q.create_to_unix_ms != 0) {
    index = 't';
    table = files_by_time_table;
    storage::append_i64(begin, q.create_from_unix_ms);
    if (q.create_to_unix_ms != 0) storage::append_i64(end, q.create_to_unix_ms + 1);
  }
  std::string last_key;
  if (!q.after.empty()) {
    auto raw = from_hex(std::string_view{q.after}.substr(1));
    if (q.after[0] != index || !raw)
      return fail(errc::invalid_argument,
                  "the paging cursor 'after' does not belong to this "
                  "query; pass next_after from the previous page");
    last_key = *raw;
  }
  file_page out;
  size_t scanned = 0;
  std::string last_name;
  auto t = db_.get_table(table);
  for (;;) {
    auto rows_left = limits_.search_rows_scanned_max - scanned;
    auto want = std::min(limits_.scan_page_rows, rows_left);
    if (want == 0) {
      out.truncated = true;
      out.more = true;
      break;
    }
    expected<storage::scan_page> page = storage::scan_page{};
    if (index == 't') {
      std::string from = begin;
      if (!last_key.empty()) from = last_key + std::string(1, '\0');
      page = db_.scan_range(t, from, end, want);
    } else {
      page = db_.scan_prefix(t, prefix, want, last_key);
    }
    if (!page) return page.err();
    for (const auto& kv : page->rows) {
      ++scanned;
      storage::key_reader reader{kv.key};
      std::string name;
      if (index == 'n') {
        auto n = reader.read_string();
        if (!n) return n.err();
        name = std::move(*n);
      } else if (index == 't') {
        auto ts = reader.read_i64();
        if (!ts) return ts.err();
        auto n = reader.read_string();
        if (!n) return n.err();
        name = std::move(*n);
      } else {
        auto skip = reader.read_string();
        if (!skip) return skip.err();
        auto n = reader.read_string();
        if (!n) return n.err();
        name = std::move(*n);
      }
      // The store index has one row per instance: a name may repeat on consecutive rows.
      if (name == last_name) {
        last_key = kv.key;
        continue;
      }
      std::optional<file_row> f;
      if (index == 'n') {
        auto row = storage::decode<file_row>(kv.value);
        if (!row) return row.err();
        f = std::move(*row);
      } else {
        auto row = read_file(name);
        if (!row) return row.err();
        f = std::move(*row);
      }
      if (!f) {  // an index row without its file would be a broken batch
        return fail(errc::internal,
                    "index " + std::string{table} + " names '" + name + "', which has no file row");
      }
      auto ok = matches(*f, q, glob ? &*glob : nullptr);
      if (!ok) return ok.err();
      if (*ok) {
        if (out.files.size() == max) {
          out.more = true;
          break;
        }
        auto info = assemble(std::move(*f));
        if (!info) return info.err();
        out.files.push_back(std::move(*info));
      }
      last_name = name;
      last_key = kv.key;
    }
    if (out.more || !page->more) break;
  }
  if (out.more) out.next_after = std::string(1, index) + to_hex(last_key);
  return out;
}

expected<validation_item> catalog_state::record_validation(
    const std::string& name, uint64_t instance_id, const std::string& checksum, uint64_t size,
    int64_t now_unix_ms, const std::string& caller, row_list& rows) {
  auto f = read_file(name);
  if (!f) return f.err();
  if (!*f) return fail(errc::not_found, "no file named '" + name + "'");
  auto key = instance_key(name, instance_id);
  auto inst = storage::get_record<instance_row>(db_, db_.get_table(instances_table), key);
  if (!inst) return inst.err();
  if (!*inst) return fail(errc::not_found, "instance " + std::to_string(instance_id) + " is gone");
  auto row = std::move(**inst);
  validation_item item{node_name_, row.store, row.id, row.path, (*f)->checksum,
                       (*f)->size, checksum,  size,   false,    ""};
  item.match = checksum == (*f)->checksum && size == (*f)->size;
  // Periodic checks find the same damage again and again; it is recorded once.
  bool known_bad = row.cached_checksum == checksum && row.cached_size == size;
  // A CorruptFile row exists only if the last verdict on this instance was a mismatch.
  bool was_bad = row.cached_checksum != (*f)->checksum || row.cached_size != (*f)->size;
  row.cached_checksum = checksum;
  row.cached_size = size;
  row.checksum_unix_ms = now_unix_ms;
  put_row(rows, instances_table, key, row);
  if (!item.match) item.problem = "checksum or size mismatch";
  if (item.match && was_bad) {
    // Fixed (by corruption_fixer, or by hand): its CorruptFile rows are resolved.
    auto corrupt = db_.scan_prefix(db_.get_table(corrupt_table), "", 10000);
    if (!corrupt) return corrupt.err();
    for (const auto& kv : corrupt->rows) {
      auto c = storage::decode<corrupt_row>(kv.value);
      if (c && c->file == name && c->instance_id == row.id) erase_row(rows, corrupt_table, kv.key);
    }
  }
  if (!item.match && !known_bad) {
    corrupt_row c{next_corrupt_id_++, name, row.id, row.path, now_unix_ms, size, checksum, 1};
    put_row(rows, corrupt_table, storage::u64_key(c.id), c);
    put_counter(corrupt_counter, next_corrupt_id_, rows);
    auto err = raise_error("error", "data_integrity",
                           "instance " + std::to_string(row.id) + " of '" + name + "' at " +
                               row.path + " has " + checksum + " (" + std::to_string(size) +
                               " bytes); the catalog says " + (*f)->checksum + " (" +
                               std::to_string((*f)->size) + " bytes)",
                           caller, now_unix_ms, rows);
    if (!err) return err.err();
  }
  return item;
}

expected<catalog_state::instance_batch> catalog_state::instances_on_store(
    const std::string& store, int64_t created_from_unix_ms, const std::string& after,
    size_t max) const {
  std::string prefix;
  storage::append_string(prefix, store);
  std::string last_key;
  if (!after.empty()) {
    auto raw = from_hex(after);
    if (!raw || !raw->starts_with(prefix))
      return fail(errc::invalid_argument, "the cursor does not belong to store '" + store + "'");
    last_key = *raw;
  }
  instance_batch out;
  auto t = db_.get_table(instances_by_store_table);
  size_t scanned = 0;
  while (out.items.size() < max && scanned < limits_.search_rows_scanned_max) {
    auto page = db_.scan_prefix(t, prefix, limits_.scan_page_rows, last_key);
    if (!page) return page.err();
    for (const auto& kv : page->rows) {
      ++scanned;
      storage::key_reader reader{kv.key};
      auto s = reader.read_string();
      if (!s) return s.err();
      auto name = reader.read_string();
      if (!name) return name.err();
      auto id = reader.read_u64();
      if (!id) return id.err();
      last_key = kv.key;
      auto row = storage::get_record<instance_row>(db_, db_.get_table(instances_table),
                                                   instance_key(*name, *id));
      if (!row) return row.err();
      if (!*row)
        return fail(errc::internal, "the store index names instance " + std::to_string(*id) +
                                        " of '" + *name + "', which has no row");
      if ((*row)->created_unix_ms < created_from_unix_ms) continue;
      out.items.emplace_back(*name, instance_to_info(**row));
      if (out.items.size() == max) break;
    }
    if (out.items.size() == max || !page->more) {
      out.more = page->more || out.items.size() == max;
      break;
    }
  }
  if (scanned >= limits_.search_rows_scanned_max) out.more = true;
  if (out.more) out.next_after = to_hex(last_key);
  return out;
}

status catalog_state::mark_instance_unavailable(const std::string& name, uint64_t instance_id,
                                                row_list& rows) {
  auto key = instance_key(name, instance_id);
  auto inst = storage::get_record<instance_row>(db_, db_.get_table(instances_table), key);
  if (!inst) return inst.err();
  if (!*inst) return fail(errc::not_found, "instance " + std::to_string(instance_id) + " is gone");
  auto row = std::move(**inst);
  row.available = false;
  put_row(rows, instances_table, key, row);
  return {};
}

void catalog_state::put_new_file(const file_row& f, row_list& rows) const {
  put_row(rows, files_table, storage::string_key(f.name), f);
  put_marker(rows, files_by_time_table, time_key(f.create_unix_ms, f.name));
  put_marker(rows, files_by_checksum_table, pair_key(f.checksum, f.name));
}

instance_row catalog_state::put_new_instance(const std::string& name, const std::string& store,
                                             const std::string& path,
                                             const std::string& deletion_policy,
                                             const std::string& checksum, uint64_t size,
                                             int64_t now_unix_ms, row_list& rows) {
  instance_row inst;
  inst.id = next_instance_id_++;
  inst.file = name;
  inst.store = store;
  inst.path = path;
  inst.available = true;
  inst.deletion_policy = deletion_policy;
  inst.created_unix_ms = now_unix_ms;
  inst.cached_checksum = checksum;
  inst.cached_size = size;
  inst.checksum_unix_ms = now_unix_ms;
  put_row(rows, instances_table, instance_key(name, inst.id), inst);
  std::string by_store = pair_key(store, name);
  storage::append_u64(by_store, inst.id);
  put_marker(rows, instances_by_store_table, by_store);
  return inst;
}

expected<catalog_state::import_kind> catalog_state::import_check(const std::string& store,
                                                                 const std::string& name) const {
  if (auto st = validate_file_name(name, limits_.name_bytes_max); !st) return st.err();
  if (upload_ids_by_name_.contains(name) || names_committing_.contains(name))
    return fail(errc::conflict, "an upload of '" + name + "' is open; import it once it is done");
  auto f = read_file(name);
  if (!f) return f.err();
  if (!*f) return import_kind::fresh;
  auto on = has_instance_on(name, store);
  if (!on) return on.err();
  return *on ? import_kind::present : import_kind::known;
}

std::vector<status> catalog_state::record_imports(
    const std::string& store, const std::vector<import_entry>& entries, const std::string& uploader,
    int64_t now_unix_ms, row_list& rows, std::vector<std::pair<std::string, std::string>>& mappings,
    std::vector<bool>& was_known) {
  std::vector<status> out(entries.size());
  was_known.assign(entries.size(), false);
  store_state* target = nullptr;
  for (auto& s : stores_)
    if (s.config.name == store) target = &s;
  if (target == nullptr) {
    for (auto& st : out) st = fail(errc::not_found, "no store named '" + store + "'");
    return out;
  }
  bool used = false;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    auto kind = import_check(store, e.name);
    if (!kind) {
      out[i] = kind.err();
      continue;
    }
    if (*kind == import_kind::present) {
      out[i] = fail(errc::already_exists, "'" + e.name + "' is recorded on " + store + " already");
      continue;
    }
    if (!valid_checksum(e.checksum)) {
      out[i] = fail(errc::internal, "no checksum for '" + e.name + "'");
      continue;
    }
    const auto path = instance_path(store, e.name);
    if (*kind == import_kind::known) {
      auto f = read_file(e.name);
      if (!f || !*f) {
        out[i] = f ? fail(errc::not_found, "'" + e.name + "' went away") : f.err();
        continue;
      }
      if ((*f)->size != e.size || (*f)->checksum != e.checksum) {
        out[i] = fail(errc::conflict, "'" + e.name + "' at " + path + " has " +
                                          std::to_string(e.size) + " bytes, " + e.checksum +
                                          "; the librarian's file of that name has " +
                                          std::to_string((*f)->size) + " bytes, " + (*f)->checksum);
        continue;
      }
      was_known[i] = true;
    } else {
      put_new_file({e.name, e.size, e.checksum, uploader, uploader, now_unix_ms}, rows);
    }
    static_cast<void>(
        put_new_instance(e.name, store, path, "DISALLOWED", e.checksum, e.size, now_unix_ms, rows));
    target->used_bytes += e.size;
    target->instances += 1;
    used = true;
    mappings.emplace_back(e.name, "file://" + path);
  }
  if (used) {
    put_counter(instances_counter, next_instance_id_, rows);
    put_usage(*target, rows);
  }
  return out;
}

expected<instance_info> catalog_state::add_instance(const std::string& name,
                                                    const std::string& store,
                                                    const std::string& path, int64_t now_unix_ms,
                                                    row_list& rows) {
  auto f = read_file(name);
  if (!f) return f.err();
  if (!*f) return fail(errc::not_found, "no file named '" + name + "'");
  store_state* target = nullptr;
  for (auto& s : stores_)
    if (s.config.name == store) target = &s;
  if (target == nullptr) return fail(errc::not_found, "no store named '" + store + "'");
  if (path != instance_path(store, name))
    return fail(errc::invalid_argument, "an instance on " + store + " lives at " +
                                            instance_path(store, name) + ", not " + path);
  auto on = has_instance_on(name, store);
  if (!on) return on.err();
  if (*on) return fail(errc::already_exists, "'" + name + "' already has an instance on " + store);
  if (room_bytes(*target) < (*f)->size)
    return fail(errc::storage_full, "store " + store + " has no room for " +
                                        std::to_string((*f)->size) + " more bytes");
  // The copy was verified against the file's checksum.
  auto inst = put_new_instance(name, store, path, "DISALLOWED", (*f)->checksum, (*f)->size,
                               now_unix_ms, rows);
  put_counter(instances_counter, next_instance_id_, rows);
  target->used_bytes += (*f)->size;
  target->instances += 1;
  put_usage(*target, rows);
  return instance_to_info(inst);
}

expected<instance_info> catalog_state::drop_instance(const std::string& name, uint64_t instance_id,
                                                     bool keep_row, row_list& rows) {
  auto key = instance_key(name, instance_id);
  auto inst = storage::get_record<instance_row>(db_, db_.get_table(instances_table), key);
  if (!inst) return inst.err();
  if (!*inst) return fail(errc::not_found, "instance " + std::to_string(instance_id) + " is gone");
  auto row = std::move(**inst);
  auto f = read_file(name);
  if (!f) return f.err();
  uint64_t size = *f ? (*f)->size : 0;
  bool was_available = row.available;
  if (keep_row) {
    row.available = false;
    put_row(rows, instances_table, key, row);
  } else {
    erase_row(rows, instances_table, key);
    std::string by_store = pair_key(row.store, name);
    storage::append_u64(by_store, row.id);
    erase_row(rows, instances_by_store_table, by_store);
  }
  for (auto& s : stores_) {
    if (s.config.name != row.store) continue;
    if (was_available) s.used_bytes -= std::min(s.used_bytes, size);
    if (!keep_row) s.instances -= std::min<uint64_t>(s.instances, 1);
    put_usage(s, rows);
  }
  return instance_to_info(row);
}

status catalog_state::add_remote_instance(const remote_instance_row& remote, row_list& rows) {
  auto f = read_file(remote.file);
  if (!f) return f.err();
  if (!*f) return fail(errc::not_found, "no file named '" + remote.file + "'");
  if (!librarians_.contains(remote.librarian) && !cluster_peers_.contains(remote.librarian))
    return fail(errc::not_found, "no librarian named '" + remote.librarian + "'");
  // One remote instance per (file, librarian): a second callback, an adoption racing a callback or
  // a hypervisor's repair never adds a duplicate (the reference needs a hypervisor for that).
  auto existing =
      db_.scan_prefix(db_.get_table(remotes_table), pair_key(remote.file, remote.librarian), 1);
  if (!existing) return existing.err();
  if (!existing->rows.empty()) return {};
  std::string key = pair_key(remote.file, remote.librarian);
  storage::append_u64(key, remote.store_id);
  std::string by_lib = pair_key(remote.librarian, remote.file);
  storage::append_u64(by_lib, remote.store_id);
  put_row(rows, remotes_table, key, remote);
  put_marker(rows, remotes_by_librarian_table, by_lib);
  return {};
}

expected<remote_dedupe_page> catalog_state::dedupe_remotes(const std::string& cursor,
                                                           size_t page_rows, row_list& rows) const {
  page_rows = std::max<size_t>(page_rows, 2);
  char phase = cursor.empty() ? 'p' : cursor[0];
  auto after = from_hex(cursor.empty() ? std::string_view{} : std::string_view{cursor}.substr(1));
  if ((phase != 'p' && phase != 'i') || !after)
    return fail(errc::invalid_argument, "not a remote-instance pass cursor: '" + cursor + "'");
  std::string begin = *after;
  if (!begin.empty()) begin.push_back('\0');  // the smallest key after the last one read
  remote_dedupe_page out;
  struct parsed {
    std::string key;
    std::string file, librarian;
    uint64_t store_id = 0;
    int64_t copy_unix_ms = 0;
  };
  auto parse = [](const std::string& key, bool by_librarian) -> expected<parsed> {
    storage::key_reader r{key};
    auto a = r.read_string();
    if (!a) return a.err();
    auto b = r.read_string();
    if (!b) return b.err();
    auto id = r.read_u64();
    if (!id) return id.err();
    parsed p;
    p.key = key;
    p.file = by_librarian ? *b : *a;
    p.librarian = by_librarian ? *a : *b;
    p.store_id = *id;
    return p;
  };
  auto primary_key = [](const parsed& p) {
    std::string k = pair_key(p.file, p.librarian);
    storage::append_u64(k, p.store_id);
    return k;
  };
  auto index_key = [](const parsed& p) {
    std::string k = pair_key(p.librarian, p.file);
    storage::append_u64(k, p.store_id);
    return k;
  };
  if (phase == 'p') {
    auto page = db_.scan_range(db_.get_table(remotes_table), begin, "", page_rows);
    if (!page) return page.err();
    std::vector<std::vector<parsed>> groups;
    for (const auto& kv : page->rows) {
      auto p = parse(kv.key, false);
      if (!p) return p.err();
      auto row = storage::decode<remote_instance_row>(kv.value);
      if (!row) return row.err();
      p->copy_unix_ms = row->copy_unix_ms;
      if (groups.empty() || groups.back().front().file != p->file ||
          groups.back().front().librarian != p->librarian)
        groups.emplace_back();
      groups.back().push_back(std::move(*p));
    }
    // A group the page may have cut short waits for the next page (unless it is the only one).
    if (page->more && groups.size() > 1) groups.pop_back();
    for (auto& g : groups) {
      auto keep = std::min_element(g.begin(), g.end(), [](const parsed& x, const parsed& y) {
        return std::tie(x.copy_unix_ms, x.store_id) < std::tie(y.copy_unix_ms, y.store_id);
      });
      for (auto it = g.begin(); it != g.end(); ++it) {
        if (it == keep) continue;
        erase_row(rows, remotes_table, it->key);
        erase_row(rows, remotes_by_librarian_table, index_key(*it));
        ++out.removed;
      }
      auto marker = db_.get(db_.get_table(remotes_by_librarian_table), index_key(*keep));
      if (!marker) return marker.err();
      if (!*marker) {
        put_marker(rows, remotes_by_librarian_table, index_key(*keep));
        ++out.index_repaired;
      }
    }
    if (!page->more) {
      out.next = "i";
    } else {
      const auto& last = groups.empty() ? page->rows.back().key : groups.back().back().key;
      out.next = "p" + to_hex(last);
    }
    return out;
  }
  auto page = db_.scan_range(db_.get_table(remotes_by_librarian_table), begin, "", page_rows);
  if (!page) return page.err();
  for (const auto& kv : page->rows) {
    auto p = parse(kv.key, true);
    if (!p) return p.err();
    auto row = db_.get(db_.get_table(remotes_table), primary_key(*p));
    if (!row) return row.err();
    if (!*row) {
      erase_row(rows, remotes_by_librarian_table, kv.key);
      ++out.index_repaired;
    }
  }
  out.next = page->more && !page->rows.empty() ? "i" + to_hex(page->rows.back().key) : "";
  return out;
}

expected<std::vector<std::string>> catalog_state::checksums_of(
    const std::vector<std::string>& names) const {
  std::vector<std::string> out;
  out.reserve(names.size());
  for (const auto& n : names) {
    auto f = read_file(n);
    if (!f) return f.err();
    out.push_back(*f ? (*f)->checksum : std::string{});
  }
  return out;
}

expected<std::vector<corrupt_row>> catalog_state::corrupt_files(size_t max) const {
  auto page = db_.scan_prefix(db_.get_table(corrupt_table), "", std::max<size_t>(max, 1));
  if (!page) return page.err();
  std::vector<corrupt_row> out;
  for (const auto& kv : page->rows) {
    auto row = storage::decode<corrupt_row>(kv.value);
    if (!row) return row.err();
    out.push_back(std::move(*row));
  }
  return out;
}

// -------------------------------------------------------------------------------------- stores

store_info catalog_state::info_of(const store_state& s) const {
  return {s.config.name,           s.config.type,       s.config.staging_path,
          s.config.store_path,     s.config.ingestable, s.enabled,
          s.config.capacity_bytes, s.used_bytes,        s.reserved_bytes,
          room_bytes(s),           s.instances,         s.config.report_full_fraction};
}

expected<manifest_page> catalog_state::store_manifest(const manifest_request& req, row_list& rows) {
  constexpr size_t manifest_page_default = 10'000;
  constexpr size_t manifest_page_max = 100'000;
  auto max = req.max_entries == 0 ? manifest_page_default : req.max_entries;
  if (max > manifest_page_max)
    return fail(errc::invalid_argument,
                "max_entries is at most " + std::to_string(manifest_page_max));
  bool known_store = false;
  for (const auto& s : stores_) known_store = known_store || s.config.name == req.store;
  if (!known_store) return fail(errc::not_found, "no store named '" + req.store + "'");
  if (!req.destination_librarian.empty() && !librarians_.contains(req.destination_librarian) &&
      !cluster_peers_.contains(req.destination_librarian))
    return fail(errc::not_found, "no librarian named '" + req.destination_librarian + "'");
  auto batch = instances_on_store(req.store, 0, req.after, max);
  if (!batch) return batch.err();
  manifest_page out{node_name_, req.store,   req.destination_librarian,
                    {},         batch->more, batch->next_after};
  for (const auto& [name, inst] : batch->items) {
    auto f = read_file(name);
    if (!f) return f.err();
    if (!*f)
      return fail(errc::internal, "instance " + std::to_string(inst.id) + " names '" + name +
                                      "', which has no file row");
    const auto& file = **f;
    out.entries.push_back({file.name, file.create_unix_ms, file.size, file.checksum, file.uploader,
                           file.source, inst.path, inst.deletion_policy, inst.created_unix_ms,
                           inst.available});
  }
  // Every read is done: from here on nothing can fail, so the rows go together or not at all.
  if (req.mark_unavailable)
    for (const auto& [name, inst] : batch->items)
      if (inst.available) static_cast<void>(mark_instance_unavailable(name, inst.id, rows));
  if (req.disable_store && req.after.empty())
    static_cast<void>(set_store_enabled(req.store, false, rows));
  return out;
}

std::vector<store_info> catalog_state::stores() const {
  std::vector<store_info> out;
  for (const auto& s : stores_) out.push_back(info_of(s));
  return out;
}

expected<store_info> catalog_state::set_store_enabled(const std::string& name, bool enabled,
                                                      row_list& rows) {
  for (auto& s : stores_) {
    if (s.config.name != name) continue;
    s.enabled = enabled;
    put_row(rows, stores_table, storage::string_key(name), store_flags_row{enabled});
    return info_of(s);
  }
  return fail(errc::not_found, "no store named '" + name + "' on this librarian");
}

void catalog_state::put_usage(const store_state& s, row_list& rows) const {
  put_row(rows, store_usage_table, storage::string_key(s.config.name),
          store_usage_row{s.used_bytes, s.instances});
}

void catalog_state::put_counter(const char* name, uint64_t value, row_list& rows) const {
  put_row(rows, meta_table, std::string{name}, counter_row{value});
}

// --------------------------------------------------------------------------------------- peers

librarian_info catalog_state::info_of(const librarian_row& r) const {
  return {r.name,    r.url, r.port, r.transfers_enabled, r.added_unix_ms, r.last_seen_unix_ms,
          "unknown", -1,    ""};
}

std::vector<librarian_info> catalog_state::librarians() const {
  std::vector<librarian_info> out;
  for (const auto& [name, row] : librarians_) out.push_back(info_of(row));
  return out;
}

expected<librarian_info> catalog_state::add_librarian(const add_librarian_request& req,
                                                      int64_t now_unix_ms, row_list& rows) {
  if (!valid_node_name(req.name))
    return fail(errc::invalid_argument,
                "a librarian name must match "
                "[A-Za-z0-9][A-Za-z0-9._-]{0,63}, got '" +
                    req.name + "'");
  bool http = req.url.starts_with("http://"), https = req.url.starts_with("https://");
  auto host = req.url.substr(http ? 7 : https ? 8 : 0);
  if ((!http && !https) || host.empty() || host.find_first_of(":/ ") != std::string::npos)
    return fail(errc::invalid_argument,
                "url must be http://HOST or https://HOST without a port "
                "or path (the port is separate), got '" +
                    req.url + "'");
  if (req.port == 0 || req.port > 65535)
    return fail(errc::invalid_argument, "port must be 1..65535");
  auto colon = req.authenticator.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == req.authenticator.size() ||
      req.authenticator.size() > 2048)
    return fail(errc::invalid_argument, "the authenticator must be USER:PASSWORD");
  if (req.name == node_name_)
    return fail(errc::invalid_argument, "a librarian cannot add itself as a peer");
  auto known = librarians_.find(req.name);
  // A cluster peer whose transfers were switched without credentials (set_transfers_enabled)
  // gets its credentials now and keeps that switch.
  bool placeholder = known != librarians_.end() && known->second.url.empty();
  if (known != librarians_.end() && !placeholder)
    return fail(errc::already_exists, "librarian '" + req.name + "' is already known");
  if (!placeholder && librarians_.size() >= limits_.librarians_max)
    return fail(errc::unavailable,
                "at most " + std::to_string(limits_.librarians_max) + " librarians can be known");
  if (sealing_key_.empty())
    return fail(errc::unavailable,
                "this node has no librarian.encryption_key_file configured, so it cannot store "
                "peer credentials; configure one and restart");
  librarian_row row{req.name,
                    req.url,
                    req.port,
                    seal(sealing_key_, req.authenticator, req.name),
                    placeholder ? known->second.transfers_enabled : true,
                    now_unix_ms,
                    0};
  put_row(rows, librarians_table, storage::string_key(row.name), row);
  librarians_[row.name] = row;
  return info_of(row);
}

expected<librarian_info> catalog_state::remove_librarian(const std::string& name, row_list& rows) {
  auto it = librarians_.find(name);
  if (it == librarians_.end()) return fail(errc::not_found, "no librarian named '" + name + "'");
  auto info = info_of(it->second);
  erase_row(rows, librarians_table, storage::string_key(name));
  librarians_.erase(it);
  return info;
}

expected<librarian_info> catalog_state::set_transfers_enabled(const std::string& name, bool enabled,
                                                              row_list& rows) {
  auto it = librarians_.find(name);
  if (it == librarians_.end() && cluster_peers_.contains(name)) {
    // A cluster peer never added with credentials: remember the switch in a row of its own (no
    // URL, no credentials; add-librarian fills them in later and keeps the switch).
    it = librarians_.emplace(name, librarian_row{name, "", 0, "", true, 0, 0}).first;
  }
  if (it == librarians_.end()) return fail(errc::not_found, "no librarian named '" + name + "'");
  it->second.transfers_enabled = enabled;
  put_row(rows, librarians_table, storage::string_key(name), it->second);
  return info_of(it->second);
}

expected<std::string> catalog_state::librarian_authenticator(const std::string& name) const {
  auto it = librarians_.find(name);
  if (it == librarians_.end()) return fail(errc::not_found, "no librarian named '" + name + "'");
  if (it->second.sealed_authenticator.empty())
    return fail(errc::unavailable, "librarian '" + name +
                                       "' is a cluster peer with no credentials here; add them "
                                       "with add-librarian");
  return unseal(sealing_key_, it->second.sealed_authenticator, name);
}

status catalog_state::mark_seen(const std::string& name, int64_t now_unix_ms, row_list& rows) {
  auto it = librarians_.find(name);
  if (it == librarians_.end()) return fail(errc::not_found, "no librarian named '" + name + "'");
  it->second.last_seen_unix_ms = now_unix_ms;
  put_row(rows, librarians_table, storage::string_key(name), it->second);
  return {};
}

// -------------------------------------------------------------------------------------- errors

expected<error_info> catalog_state::raise_error(const std::string& severity,
                                                const std::string& category,
                                                const std::string& message,
                                                const std::string& caller, int64_t now_unix_ms,
                                                row_list& rows) {
  if (!one_of(severities(), severity))
    return fail(errc::invalid_argument, "severity must be critical, error, warning or info");
  if (!one_of(categories(), category))
    return fail(errc::invalid_argument, "unknown error category '" + category + "'");
  error_row row{next_error_id_++, severity,    category, message.substr(0, 4096),
                caller,           now_unix_ms, false,    0};
  put_row(rows, errors_table, storage::u64_key(row.id), row);
  put_counter(errors_counter, next_error_id_, rows);
  return error_to_info(row);
}

expected<std::vector<error_info>> catalog_state::search_errors(const error_query& q) const {
  auto max = q.max_results == 0 ? size_t{64} : q.max_results;
  if (max > limits_.errors_results_max)
    return fail(errc::invalid_argument,
                "max_results is at most " + std::to_string(limits_.errors_results_max));
  if (!q.severity.empty() && !one_of(severities(), q.severity))
    return fail(errc::invalid_argument, "severity must be critical, error, warning or info");
  if (!q.category.empty() && !one_of(categories(), q.category))
    return fail(errc::invalid_argument, "unknown error category '" + q.category + "'");
  std::vector<error_info> out;
  auto t = db_.get_table(errors_table);
  std::string after;
  if (q.id != 0) {
    auto row = storage::get_record<error_row>(db_, t, storage::u64_key(q.id));
    if (!row) return row.err();
    if (*row) out.push_back(error_to_info(**row));
    return out;
  }
  size_t scanned = 0;
  while (out.size() < max && scanned < limits_.search_rows_scanned_max) {
    auto page = db_.scan_prefix(t, "", limits_.scan_page_rows, after);
    if (!page) return page.err();
    for (const auto& kv : page->rows) {
      ++scanned;
      after = kv.key;
      auto row = storage::decode<error_row>(kv.value);
      if (!row) return row.err();
      if (row->cleared && !q.include_resolved) continue;
      if (!q.severity.empty() && row->severity != q.severity) continue;
      if (!q.category.empty() && row->category != q.category) continue;
      if (q.from_unix_ms != 0 && row->raised_unix_ms < q.from_unix_ms) continue;
      if (q.to_unix_ms != 0 && row->raised_unix_ms > q.to_unix_ms) continue;
      out.push_back(error_to_info(*row));
      if (out.size() == max) break;
    }
    if (!page->more) break;
  }
  return out;
}

expected<error_info> catalog_state::clear_error(uint64_t id, int64_t now_unix_ms, row_list& rows) {
  auto t = db_.get_table(errors_table);
  auto row = storage::get_record<error_row>(db_, t, storage::u64_key(id));
  if (!row) return row.err();
  if (!*row) return fail(errc::not_found, "no error with id " + std::to_string(id));
  auto e = std::move(**row);
  if (e.cleared) return error_to_info(e);  // idempotent
  e.cleared = true;
  e.cleared_unix_ms = now_unix_ms;
  put_row(rows, errors_table, storage::u64_key(id), e);
  return error_to_info(e);
}

}  // namespace librarian::lib
