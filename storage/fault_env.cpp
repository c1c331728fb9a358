// The simulated disk behind fault_env: a FileSystemWrapper over RocksDB's in-memory file system
// that records synced sizes and unsynced directory entries (Debian's RocksDB ships no
// FaultInjectionTestFS, so this is a small version of it).
#include "storage/fault_env.hpp"

#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include "runtime/assert.hpp"

namespace librarian::storage {

struct fault_env::state {
  std::shared_ptr<rocksdb::FileSystem> target;
  std::mutex mutex;
  bool power_cut = false;
  // Files written through us: path -> bytes durable so far. An untracked file is fully durable.
  std::map<std::string, uint64_t> synced_bytes;
  // Directory -> names created there since its last fsync.
  std::map<std::string, std::set<std::string>> unsynced_names;
  std::vector<std::pair<std::string, errc>> write_failures;
};

namespace {

using fs_state = fault_env::state;

// RocksDB builds names as dir + "/" + file; the mock file system drops trailing slashes.
std::string normalize(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Called with the mutex held.
rocksdb::IOStatus injected_failure(const fs_state& st, const std::string& path) {
  for (auto& [substring, code] : st.write_failures) {
    if (path.find(substring) == std::string::npos) continue;
    if (code == errc::storage_full) return rocksdb::IOStatus::NoSpace("injected: disk full", path);
    return rocksdb::IOStatus::IOError("injected: I/O error", path);
  }
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus check_write(fs_state& st, const std::string& path) {
  std::lock_guard lock{st.mutex};
  return injected_failure(st, path);
}

// Deletions and renames are durable at once in this model, so once the power is out they must
// not happen at all: a compaction finishing while the crashed DB closes would otherwise delete
// files that the (never synced) MANIFEST edit it wrote was about to stop referencing.
rocksdb::IOStatus check_power(fs_state& st, const std::string& path) {
  std::lock_guard lock{st.mutex};
  if (st.power_cut) return rocksdb::IOStatus::IOError("simulated power cut", path);
  return rocksdb::IOStatus::OK();
}

class fault_file final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  fault_file(std::unique_ptr<rocksdb::FSWritableFile> target, std::shared_ptr<fs_state> st,
             std::string path)
      : FSWritableFileOwnerWrapper(std::move(target)), st_(std::move(st)), path_(std::move(path)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    if (auto s = check_write(*st_, path_); !s.ok()) return s;
    return target()->Append(data, o, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (auto s = check_write(*st_, path_); !s.ok()) return s;
    return target()->Append(data, o, info, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     rocksdb::IODebugContext* dbg) override {
    if (auto s = check_write(*st_, path_); !s.ok()) return s;
    return target()->PositionedAppend(data, offset, o, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& o,
                                     const rocksdb::DataVerificationInfo& info,
                                     rocksdb::IODebugContext* dbg) override {
    if (auto s = check_write(*st_, path_); !s.ok()) return s;
    return target()->PositionedAppend(data, offset, o, info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (auto s = check_write(*st_, path_); !s.ok()) return s;
    auto s = target()->Sync(o, dbg);
    if (s.ok()) record_sync(o, dbg);
    return s;
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (auto s = check_write(*st_, path_); !s.ok()) return s;
    auto s = target()->Fsync(o, dbg);
    if (s.ok()) record_sync(o, dbg);
    return s;
  }

 private:
  void record_sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) {
    const uint64_t size_bytes = target()->GetFileSize(o, dbg);
    std::lock_guard lock{st_->mutex};
    if (!st_->power_cut) st_->synced_bytes[path_] = size_bytes;
  }

  std::shared_ptr<fs_state> st_;
  std::string path_;
};

class fault_directory final : public rocksdb::FSDirectoryWrapper {
 public:
  fault_directory(std::unique_ptr<rocksdb::FSDirectory> target, std::shared_ptr<fs_state> st,
                  std::string path)
      : FSDirectoryWrapper(std::move(target)), st_(std::move(st)), path_(std::move(path)) {}

  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    auto s = FSDirectoryWrapper::Fsync(o, dbg);
    if (s.ok()) record_sync();
    return s;
  }
  rocksdb::IOStatus FsyncWithDirOptions(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg,
                                        const rocksdb::DirFsyncOptions& dir_options) override {
    auto s = FSDirectoryWrapper::FsyncWithDirOptions(o, dbg, dir_options);
    if (s.ok()) record_sync();
    return s;
  }

 private:
  void record_sync() {
    std::lock_guard lock{st_->mutex};
    if (!st_->power_cut) st_->unsynced_names.erase(path_);
  }

  std::shared_ptr<fs_state> st_;
  std::string path_;
};

class fault_fs final : public rocksdb::FileSystemWrapper {
 public:
  explicit fault_fs(std::shared_ptr<fs_state> st)
      : FileSystemWrapper(st->target), st_(std::move(st)) {}

  const char* Name() const override { return "librarian_fault_fs"; }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& fo,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    const auto path = normalize(f);
    if (auto s = check_write(*st_, path); !s.ok()) return s;
    const bool existed = exists(path);
    // Recreating a file truncates it at once in this model: not without power either.
    if (existed)
      if (auto s = check_power(*st_, path); !s.ok()) return s;
    auto s = target()->NewWritableFile(path, fo, r, dbg);
    if (!s.ok()) return s;
    track_new(path, existed, 0);
    *r = std::make_unique<fault_file>(std::move(*r), st_, path);
    return s;
  }

  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& fo,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override {
    const auto path = normalize(f);
    if (auto s = check_write(*st_, path); !s.ok()) return s;
    const bool existed = exists(path);
    uint64_t size_bytes = 0;
    if (existed && !target()->GetFileSize(path, {}, &size_bytes, nullptr).ok()) size_bytes = 0;
    auto s = target()->ReopenWritableFile(path, fo, r, dbg);
    if (!s.ok()) return s;
    {
      std::lock_guard lock{st_->mutex};
      // Content already there when reopened is as durable as it was; untracked means durable.
      st_->synced_bytes.try_emplace(path, size_bytes);
      if (!existed) st_->unsynced_names[dir_of(path)].insert(path);
    }
    *r = std::make_unique<fault_file>(std::move(*r), st_, path);
    return s;
  }

  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                                      const rocksdb::FileOptions& fo,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override {
    auto s = RenameFile(old, f, fo.io_options, dbg);
    if (!s.ok()) return s;
    return NewWritableFile(f, fo, r, dbg);
  }

  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& o,
                                 std::unique_ptr<rocksdb::FSDirectory>* r,
                                 rocksdb::IODebugContext* dbg) override {
    const auto path = normalize(name);
    auto s = target()->NewDirectory(path, o, r, dbg);
    if (s.ok()) *r = std::make_unique<fault_directory>(std::move(*r), st_, path);
    return s;
  }

  rocksdb::IOStatus DeleteFile(const std::string& f, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override {
    const auto path = normalize(f);
    if (auto s = check_power(*st_, path); !s.ok()) return s;
    auto s = target()->DeleteFile(path, o, dbg);
    if (s.ok()) forget(path);
    return s;
  }

  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& dst,
                               const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus LinkFile(const std::string& src, const std::string& dst,
                             const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override;

 private:
  bool exists(const std::string& path) { return target()->FileExists(path, {}, nullptr).ok(); }

  void track_new(const std::string& path, bool existed, uint64_t synced) {
    std::lock_guard lock{st_->mutex};
    st_->synced_bytes[path] = synced;
    if (!existed) st_->unsynced_names[dir_of(path)].insert(path);
  }

  void forget(const std::string& path) {
    std::lock_guard lock{st_->mutex};
    st_->synced_bytes.erase(path);
    st_->unsynced_names[dir_of(path)].erase(path);
  }

  std::shared_ptr<fs_state> st_;
};

rocksdb::IOStatus fault_fs::RenameFile(const std::string& src_raw, const std::string& dst_raw,
                                       const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) {
  const auto src = normalize(src_raw);
  const auto dst = normalize(dst_raw);
  if (auto s = check_power(*st_, src); !s.ok()) return s;
  const bool dst_existed = exists(dst);
  auto s = target()->RenameFile(src, dst, o, dbg);
  if (!s.ok()) return s;
  std::lock_guard lock{st_->mutex};
  auto it = st_->synced_bytes.find(src);
  if (it != st_->synced_bytes.end()) {
    st_->synced_bytes[dst] = it->second;
    st_->synced_bytes.erase(src);
  } else {
    st_->synced_bytes.erase(dst);
  }
  st_->unsynced_names[dir_of(src)].erase(src);
  // A new name needs a directory fsync; replacing a name is treated as durable (see header).
  if (!dst_existed) st_->unsynced_names[dir_of(dst)].insert(dst);
  return s;
}

rocksdb::IOStatus fault_fs::LinkFile(const std::string& src_raw, const std::string& dst_raw,
                                     const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) {
  const auto src = normalize(src_raw);
  const auto dst = normalize(dst_raw);
  if (auto s = check_power(*st_, src); !s.ok()) return s;
  auto s = target()->LinkFile(src, dst, o, dbg);
  if (!s.ok()) return s;
  std::lock_guard lock{st_->mutex};
  if (auto it = st_->synced_bytes.find(src); it != st_->synced_bytes.end())
    st_->synced_bytes[dst] = it->second;
  st_->unsynced_names[dir_of(dst)].insert(dst);
  return s;
}

// Rewrites path with only its first keep_bytes (the mock file system has no Truncate).
rocksdb::IOStatus truncate_file(rocksdb::FileSystem& fs, const std::string& path,
                                uint64_t keep_bytes) {
  std::unique_ptr<rocksdb::FSSequentialFile> in;
  auto s = fs.NewSequentialFile(path, {}, &in, nullptr);
  if (!s.ok()) return s;
  std::string kept(keep_bytes, '\0');
  rocksdb::Slice read;
  s = in->Read(keep_bytes, {}, &read, kept.data(), nullptr);
  if (!s.ok()) return s;
  LIB_ASSERT(read.size() == keep_bytes);
  std::string content = read.ToString();
  in.reset();
  std::unique_ptr<rocksdb::FSWritableFile> out;
  s = fs.NewWritableFile(path, {}, &out, nullptr);
  if (!s.ok()) return s;
  s = out->Append(content, {}, nullptr);
  if (!s.ok()) return s;
  return out->Close({}, nullptr);
}

}  // namespace

fault_env::fault_env() : mem_env_(rocksdb::NewMemEnv(rocksdb::Env::Default())) {
  state_ = std::make_shared<state>();
  state_->target = mem_env_->GetFileSystem();
  env_ = rocksdb::NewCompositeEnv(std::make_shared<fault_fs>(state_));
}

fault_env::~fault_env() = default;

rocksdb::Env* fault_env::env() {
  return env_.get();
}

void fault_env::fail_writes_matching(std::string path_substring, errc code) {
  std::lock_guard lock{state_->mutex};
  state_->write_failures.emplace_back(std::move(path_substring), code);
}

void fault_env::clear_write_failures() {
  std::lock_guard lock{state_->mutex};
  state_->write_failures.clear();
}

void fault_env::power_cut() {
  std::lock_guard lock{state_->mutex};
  state_->power_cut = true;
}

drop_report fault_env::drop_unsynced() {
  std::lock_guard lock{state_->mutex};
  auto& fs = *state_->target;
  drop_report report;
  for (auto& [path, synced] : state_->synced_bytes) {
    uint64_t size_bytes = 0;
    if (!fs.GetFileSize(path, {}, &size_bytes, nullptr).ok() || size_bytes <= synced) continue;
    auto s = truncate_file(fs, path, synced);
    LIB_ASSERT_MSG(s.ok(), "fault_env could not truncate a file of the in-memory disk");
    ++report.files_truncated;
    report.bytes_dropped += size_bytes - synced;
  }
  for (auto& [dir, names] : state_->unsynced_names) {
    for (auto& path : names) {
      uint64_t size_bytes = 0;
      if (!fs.GetFileSize(path, {}, &size_bytes, nullptr).ok()) continue;
      if (fs.DeleteFile(path, {}, nullptr).ok()) ++report.files_deleted;
    }
  }
  // What survived is now durable; start tracking afresh.
  state_->synced_bytes.clear();
  state_->unsynced_names.clear();
  state_->power_cut = false;
  return report;
}

}  // namespace librarian::storage
