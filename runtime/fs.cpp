#include "runtime/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <system_error>
#include <unordered_map>

namespace librarian {
namespace {

namespace stdfs = std::filesystem;

errc code_of(int e) {
  switch (e) {
    case ENOENT:
      return errc::not_found;
    case EACCES:
    case EPERM:
    case EROFS:
      return errc::forbidden;
    case ENOSPC:
    case EDQUOT:
      return errc::storage_full;
    case ENOTEMPTY:
    case EEXIST:
    case ENOTDIR:
    case EISDIR:
      return errc::conflict;
    default:
      return errc::internal;
  }
}

error from_ec(const std::error_code& ec, const std::string& what) {
  return fail(ec.category() == std::generic_category() || ec.category() == std::system_category()
                  ? code_of(ec.value())
                  : errc::internal,
              what + ": " + ec.message());
}

error from_errno(int e, const std::string& what) {
  return fail(code_of(e), what + ": " + std::strerror(e));
}

file_kind kind_of(const stdfs::file_status& st) {
  if (!stdfs::exists(st)) return file_kind::none;
  if (stdfs::is_regular_file(st)) return file_kind::regular;
  if (stdfs::is_directory(st)) return file_kind::directory;
  return file_kind::other;
}

class posix_reader final : public file_reader {
 public:
  explicit posix_reader(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~posix_reader() override { ::close(fd_); }
  posix_reader(const posix_reader&) = delete;
  posix_reader& operator=(const posix_reader&) = delete;
  expected<size_t> read(char* buf, size_t n) override {
    for (;;) {
      auto got = ::read(fd_, buf, n);
      if (got >= 0) return static_cast<size_t>(got);
      if (errno != EINTR) return from_errno(errno, "cannot read " + path_);
    }
  }

 private:
  int fd_;
  std::string path_;
};

class posix_fs final : public file_system {
 public:
  file_kind kind(const std::string& path) const override {
    std::error_code ec;
    auto st = stdfs::symlink_status(path, ec);
    if (ec) return file_kind::none;
    return kind_of(st);
  }
  expected<uint64_t> file_size(const std::string& path) const override {
    std::error_code ec;
    auto n = stdfs::file_size(path, ec);
    if (ec) return from_ec(ec, "cannot stat " + path);
    return static_cast<uint64_t>(n);
  }
  status create_directories(const std::string& dir) override {
    std::error_code ec;
    stdfs::create_directories(dir, ec);
    if (ec) return from_ec(ec, "cannot create " + dir);
    return {};
  }
  status rename(const std::string& from, const std::string& to) override {
    std::error_code ec;
    stdfs::rename(from, to, ec);
    if (ec) return from_ec(ec, "cannot move " + from + " to " + to);
    return {};
  }
  status remove(const std::string& path) override {
    std::error_code ec;
    stdfs::remove(path, ec);
    if (ec) return from_ec(ec, "cannot remove " + path);
    return {};
  }
  status remove_all(const std::string& path) override {
    std::error_code ec;
    stdfs::remove_all(path, ec);
    if (ec) return from_ec(ec, "cannot remove " + path);
    return {};
  }
  expected<std::vector<dir_entry>> list(const std::string& dir) const override {
    std::vector<dir_entry> out;
    std::error_code ec;
    stdfs::directory_iterator it{dir, ec};
    if (ec) return from_ec(ec, "cannot list " + dir);
    for (; it != stdfs::directory_iterator{}; it.increment(ec)) {
      if (ec) return from_ec(ec, "cannot list " + dir);
      auto st = it->symlink_status(ec);
      if (ec) return from_ec(ec, "cannot stat " + it->path().string());
      out.push_back({it->path().filename().string(), kind_of(st)});
    }
    if (ec) return from_ec(ec, "cannot list " + dir);
    return out;
  }
  expected<std::unique_ptr<file_reader>> open_read(const std::string& path) const override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return from_errno(errno, "cannot open " + path);
    return std::unique_ptr<file_reader>{std::make_unique<posix_reader>(fd, path)};
  }
  status write_file(const std::string& path, std::string_view bytes) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return from_errno(errno, "cannot create " + path);
    status st;
    for (size_t off = 0; off < bytes.size();) {
      auto w = ::write(fd, bytes.data() + off, bytes.size() - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        st = from_errno(errno, "cannot write " + path);
        break;
      }
      off += static_cast<size_t>(w);
    }
    if (st && ::fsync(fd) != 0) st = from_errno(errno, "cannot sync " + path);
    ::close(fd);
    return st;
  }

  status sync_dir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return from_errno(errno, "cannot open " + dir);
    status st;
    if (::fsync(fd) != 0) st = from_errno(errno, "cannot sync " + dir);
    ::close(fd);
    return st;
  }
  status sync_all(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return from_errno(errno, "cannot open " + path);
    status st;
    if (::syncfs(fd) != 0) st = from_errno(errno, "cannot sync the file system of " + path);
    ::close(fd);
    return st;
  }

  void seal(const std::string& path, const std::string& checksum) override {
    if (checksum.empty()) return;
    auto id = identity_of(path);
    if (!id) return;
    std::lock_guard lock(seals_mu_);
    auto [it, fresh] = seals_.insert_or_assign(path, sealed{*id, checksum});
    if (fresh) seal_order_.push_back(path);
    // Bounded: the oldest seals go first (their commits hash, as without a seal).
    while (seal_order_.size() > seals_max) {
      seals_.erase(seal_order_.front());
      seal_order_.pop_front();
    }
  }
  std::optional<std::string> take_seal(const std::string& path) override {
    sealed s;
    {
      std::lock_guard lock(seals_mu_);
      auto it = seals_.find(path);
      if (it == seals_.end()) return std::nullopt;
      s = std::move(it->second);
      seals_.erase(it);  // its slot in seal_order_ goes when it reaches the front
    }
    auto now = identity_of(path);
    if (!now || !(*now == s.id)) return std::nullopt;
    return s.checksum;
  }

 private:
  struct identity {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    bool operator==(const identity&) const = default;
  };
  struct sealed {
    identity id;
    std::string checksum;
  };
  static constexpr size_t seals_max = 1u << 16;

  static std::optional<identity> identity_of(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    auto ns = [](const timespec& t) { return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; };
    return identity{st.st_dev, st.st_ino, st.st_size, ns(st.st_mtim), ns(st.st_ctim)};
  }

  std::mutex seals_mu_;
  std::unordered_map<std::string, sealed> seals_;
  std::deque<std::string> seal_order_;
};

class memory_reader final : public file_reader {
 public:
  explicit memory_reader(std::shared_ptr<const std::string> bytes) : bytes_(std::move(bytes)) {}
  expected<size_t> read(char* buf, size_t n) override {
    auto left = bytes_->size() - offset_;
    auto take = std::min(left, n);
    std::memcpy(buf, bytes_->data() + offset_, take);
    offset_ += take;
    return take;
  }

 private:
  std::shared_ptr<const std::string> bytes_;
  size_t offset_ = 0;
};

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == 0 ? std::string{"/"} : path.substr(0, slash);
}

// Is `path` strictly below `dir`?
bool below(const std::string& path, const std::string& dir) {
  if (dir == "/") return path.size() > 1;
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

// Keys strictly below dir are contiguous from "dir/" on (not from "dir": "/a-x" sorts between
// "/a" and "/a/b").
template <class Map>
auto first_below(Map& nodes, const std::string& dir) {
  return nodes.lower_bound(dir == "/" ? std::string{"/\x01"} : dir + "/");
}

}  // namespace

status file_system::sync_dir(const std::string&) {
  return {};
}
status file_system::sync_all(const std::string&) {
  return {};
}

void file_system::seal(const std::string&, const std::string&) {}
std::optional<std::string> file_system::take_seal(const std::string&) {
  return std::nullopt;
}

std::shared_ptr<file_system> posix_file_system() {
  static const auto instance = std::make_shared<posix_fs>();
  return instance;
}

// ------------------------------------------------------------------------ memory_file_system

memory_file_system::memory_file_system() {
  nodes_["/"] = node{file_kind::directory, nullptr};
}

expected<std::string> memory_file_system::normal(const std::string& path) {
  if (path.empty() || path.front() != '/')
    return fail(errc::invalid_argument, "not an absolute path: \"" + path + "\"");
  auto n = stdfs::path{path}.lexically_normal().generic_string();
  while (n.size() > 1 && n.back() == '/') n.pop_back();
  return n;
}

bool memory_file_system::has_children(const std::string& dir) const {
  auto it = first_below(nodes_, dir);
  return it != nodes_.end() && below(it->first, dir);
}

status memory_file_system::parent_is_dir(const std::string& path) const {
  auto it = nodes_.find(parent_of(path));
  if (it == nodes_.end()) return fail(errc::not_found, "no directory " + parent_of(path));
  if (it->second.kind != file_kind::directory)
    return fail(errc::conflict, parent_of(path) + " is not a directory");
  return {};
}

file_kind memory_file_system::kind(const std::string& path) const {
  auto p = normal(path);
  if (!p) return file_kind::none;
  std::lock_guard lock{mu_};
  auto it = nodes_.find(*p);
  return it == nodes_.end() ? file_kind::none : it->second.kind;
}

expected<uint64_t> memory_file_system::file_size(const std::string& path) const {
  auto p = normal(path);
  if (!p) return p.err();
  std::lock_guard lock{mu_};
  auto it = nodes_.find(*p);
  if (it == nodes_.end()) return fail(errc::not_found, "cannot stat " + path + ": no such file");
  if (it->second.kind != file_kind::regular)
    return fail(errc::conflict, "cannot stat " + path + ": not a regular file");
  return static_cast<uint64_t>(it->second.bytes->size());
}

status memory_file_system::create_directories(const std::string& dir) {
  auto p = normal(dir);
  if (!p) return p.err();
  std::lock_guard lock{mu_};
  if (full_) return fail(errc::storage_full, "cannot create " + dir + ": no space left on device");
  std::vector<std::string> missing;
  for (auto at = *p;; at = parent_of(at)) {
    auto it = nodes_.find(at);
    if (it != nodes_.end()) {
      if (it->second.kind != file_kind::directory)
        return fail(errc::conflict, "cannot create " + dir + ": " + at + " is not a directory");
      break;
    }
    missing.push_back(at);
    if (at == "/") break;
  }
  for (const auto& m : missing) nodes_[m] = node{file_kind::directory, nullptr};
  return {};
}

status memory_file_system::rename(const std::string& from, const std::string& to) {
  auto f = normal(from);
  if (!f) return f.err();
  auto t = normal(to);
  if (!t) return t.err();
  std::lock_guard lock{mu_};
  auto it = nodes_.find(*f);
  if (it == nodes_.end()) return fail(errc::not_found, "cannot move " + from + ": no such file");
  if (*f == *t) return {};
  if (below(*t, *f)) return fail(errc::invalid_argument, "cannot move " + from + " into itself");
  if (auto st = parent_is_dir(*t); !st) return st;
  auto target = nodes_.find(*t);
  if (target != nodes_.end()) {
    if (target->second.kind == file_kind::directory &&
        (it->second.kind != file_kind::directory || has_children(*t)))
      return fail(errc::conflict, "cannot move " + from + " to " + to + ": a directory is there");
    if (target->second.kind != file_kind::directory && it->second.kind == file_kind::directory)
      return fail(errc::conflict, "cannot move " + from + " to " + to + ": a file is there");
    nodes_.erase(target);
  }
  std::vector<std::pair<std::string, node>> moved;
  moved.emplace_back(*t, it->second);
  auto first = first_below(nodes_, *f);
  auto end = first;
  for (; end != nodes_.end() && below(end->first, *f); ++end)
    moved.emplace_back(*t + end->first.substr(f->size()), end->second);
  nodes_.erase(first, end);
  nodes_.erase(*f);
  for (auto& [path, n] : moved) nodes_[path] = std::move(n);
  return {};
}

status memory_file_system::remove(const std::string& path) {
  auto p = normal(path);
  if (!p) return p.err();
  std::lock_guard lock{mu_};
  if (*p == "/") return fail(errc::forbidden, "cannot remove /");
  auto it = nodes_.find(*p);
  if (it == nodes_.end()) return {};
  if (it->second.kind == file_kind::directory && has_children(*p))
    return fail(errc::conflict, "cannot remove " + path + ": directory not empty");
  nodes_.erase(it);
  return {};
}

status memory_file_system::remove_all(const std::string& path) {
  auto p = normal(path);
  if (!p) return p.err();
  std::lock_guard lock{mu_};
  if (*p == "/") return fail(errc::forbidden, "cannot remove /");
  auto it = nodes_.find(*p);
  if (it == nodes_.end()) return {};
  auto first = first_below(nodes_, *p);
  auto end = first;
  while (end != nodes_.end() && below(end->first, *p)) ++end;
  nodes_.erase(first, end);
  nodes_.erase(*p);
  return {};
}

expected<std::vector<dir_entry>> memory_file_system::list(const std::string& dir) const {
  auto p = normal(dir);
  if (!p) return p.err();
  std::lock_guard lock{mu_};
  auto it = nodes_.find(*p);
  if (it == nodes_.end())
    return fail(errc::not_found, "cannot list " + dir + ": no such directory");
  if (it->second.kind != file_kind::directory)
    return fail(errc::conflict, "cannot list " + dir + ": not a directory");
  std::vector<dir_entry> out;
  auto prefix_len = *p == "/" ? size_t{1} : p->size() + 1;
  for (auto c = first_below(nodes_, *p); c != nodes_.end() && below(c->first, *p); ++c) {
    auto rest = std::string_view{c->first}.substr(prefix_len);
    if (rest.find('/') != std::string_view::npos) continue;  // deeper
    out.push_back({std::string{rest}, c->second.kind});
  }
  return out;
}

expected<std::unique_ptr<file_reader>> memory_file_system::open_read(
    const std::string& path) const {
  auto p = normal(path);
  if (!p) return p.err();
  std::lock_guard lock{mu_};
  auto it = nodes_.find(*p);
  if (it == nodes_.end()) return fail(errc::not_found, "cannot open " + path + ": no such file");
  if (it->second.kind != file_kind::regular)
    return fail(errc::conflict, "cannot open " + path + ": not a regular file");
  return std::unique_ptr<file_reader>{std::make_unique<memory_reader>(it->second.bytes)};
}

status memory_file_system::write_file(const std::string& path, std::string_view bytes) {
  auto p = normal(path);
  if (!p) return p.err();
  std::lock_guard lock{mu_};
  if (full_) return fail(errc::storage_full, "cannot write " + path + ": no space left on device");
  if (auto st = parent_is_dir(*p); !st) return st;
  auto it = nodes_.find(*p);
  if (it != nodes_.end() && it->second.kind == file_kind::directory)
    return fail(errc::conflict, "cannot write " + path + ": a directory is there");
  nodes_[*p] = node{file_kind::regular, std::make_shared<const std::string>(bytes)};
  return {};
}

expected<std::string> memory_file_system::read_all(const std::string& path) const {
  return read_whole_file(*this, path, UINT64_MAX);
}

std::vector<std::string> memory_file_system::files_under(const std::string& dir) const {
  std::vector<std::string> out;
  auto p = normal(dir);
  if (!p) return out;
  std::lock_guard lock{mu_};
  for (auto c = first_below(nodes_, *p); c != nodes_.end() && below(c->first, *p); ++c)
    if (c->second.kind == file_kind::regular) out.push_back(c->first);
  return out;
}

void memory_file_system::set_full(bool full) {
  std::lock_guard lock{mu_};
  full_ = full;
}

uint64_t memory_file_system::bytes_used() const {
  std::lock_guard lock{mu_};
  uint64_t n = 0;
  for (const auto& [path, node] : nodes_)
    if (node.bytes) n += node.bytes->size();
  return n;
}

expected<std::string> read_whole_file(const file_system& fs, const std::string& path,
                                      uint64_t max_bytes) {
  auto reader = fs.open_read(path);
  if (!reader) return reader.err();
  std::string out;
  char buf[1 << 16];
  for (;;) {
    auto n = (*reader)->read(buf, sizeof buf);
    if (!n) return n.err();
    if (*n == 0) break;
    if (out.size() + *n > max_bytes)
      return fail(errc::invalid_argument,
                  path + " is larger than " + std::to_string(max_bytes) + " bytes");
    out.append(buf, *n);
  }
  return out;
}

}  // namespace librarian
