#include "net/gridftp/paths.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace librarian::gridftp {
namespace {

constexpr size_t path_bytes_max = 4096;

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    auto slash = path.find('/');
    auto part = path.substr(0, slash);
    if (!part.empty()) out.push_back(part);
    if (slash == std::string_view::npos) break;
    path = path.substr(slash + 1);
  }
  return out;
}

// True when path equals root or lies below it, component-wise ("/data2" is not under "/data").
bool under(std::string_view path, std::string_view root) {
  if (root == "/") return true;
  if (path.substr(0, root.size()) != root) return false;
  return path.size() == root.size() || path[root.size()] == '/';
}

}  // namespace

void unique_fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

error errno_error(int err, const std::string& what) {
  std::string text = what + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return fail(errc::not_found, text);
    case EACCES:
    case EPERM:
    case ELOOP:
    case EROFS:
      return fail(errc::forbidden, text);
    case EEXIST:
    case ENOTEMPTY:
      return fail(errc::already_exists, text);
    case ENOSPC:
    case EDQUOT:
      return fail(errc::storage_full, text);
    case ENAMETOOLONG:
    case EISDIR:
    case EINVAL:
      return fail(errc::invalid_argument, text);
    default:
      return fail(errc::internal, text);
  }
}

expected<path_jail> path_jail::make(const std::vector<std::string>& roots) {
  if (roots.empty()) return fail(errc::invalid_argument, "gridftp needs at least one root");
  path_jail jail;
  for (const auto& root : roots) {
    char resolved[PATH_MAX];
    if (!::realpath(root.c_str(), resolved)) return errno_error(errno, "gridftp root " + root);
    struct stat st {};
    if (::stat(resolved, &st) != 0 || !S_ISDIR(st.st_mode))
      return fail(errc::invalid_argument, "gridftp root " + root + " is not a directory");
    jail.roots_.emplace_back(resolved);
  }
  return jail;
}

expected<std::string> path_jail::normalize(std::string_view client_path,
                                           std::string_view cwd) const {
  if (client_path.size() > path_bytes_max)
    return fail(errc::invalid_argument, "path longer than " + std::to_string(path_bytes_max));
  std::string joined = client_path.starts_with('/')
                           ? std::string{client_path}
                           : std::string{cwd} + "/" + std::string{client_path};
  std::string out;
  for (auto part : components(joined)) {
    if (part == ".") continue;
    // Refused outright rather than resolved: a client has no need for "..", and resolving it
    // lexically would hide the intent of a traversal attempt.
    if (part == "..") return fail(errc::invalid_argument, "'..' is not allowed in paths");
    out += '/';
    out += part;
  }
  if (out.empty()) out = "/";
  for (const auto& root : roots_)
    if (under(out, root)) return out;
  return fail(errc::forbidden, out + " is outside the served roots");
}

std::string path_jail::parent(std::string_view normalized) const {
  for (const auto& root : roots_)
    if (normalized == root) return root;
  auto slash = normalized.rfind('/');
  if (slash == 0 || slash == std::string_view::npos) return "/";
  std::string up{normalized.substr(0, slash)};
  for (const auto& root : roots_)
    if (under(up, root)) return up;
  return roots_.front();
}

expected<located_path> path_jail::locate(std::string_view client_path, std::string_view cwd) const {
  auto normalized = normalize(client_path, cwd);
  if (!normalized) return normalized.err();
  // The longest matching root, so nested roots resolve from the innermost one.
  const std::string* root = nullptr;
  for (const auto& r : roots_)
    if (under(*normalized, r) && (!root || r.size() > root->size())) root = &r;
  located_path out;
  out.path = *normalized;
  out.dir = unique_fd{::open(root->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!out.dir.valid()) return errno_error(errno, "root " + *root);
  std::string_view below =
      std::string_view{*normalized}.substr(root->size() == 1 ? 0 : root->size());
  auto parts = components(below);
  if (parts.empty()) {
    out.leaf = ".";
    return out;
  }
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    std::string part{parts[i]};
    int fd = ::openat(out.dir.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      struct stat st {};
      if (::fstatat(out.dir.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(st.st_mode))
        return fail(errc::forbidden, *normalized + ": symbolic links are not followed");
      return errno_error(err, *normalized);
    }
    out.dir = unique_fd{fd};
  }
  out.leaf = std::string{parts.back()};
  return out;
}

expected<struct stat> stat_at(const located_path& at) {
  struct stat st {};
  if (::fstatat(at.dir.get(), at.leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno_error(errno, at.path);
  if (S_ISLNK(st.st_mode))
    return fail(errc::forbidden, at.path + ": symbolic links are not followed");
  return st;
}

expected<unique_fd> open_read(const located_path& at) {
  unique_fd fd{::openat(at.dir.get(), at.leaf.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)};
  if (!fd.valid()) return errno_error(errno, at.path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error(errno, at.path);
  if (!S_ISREG(st.st_mode)) return fail(errc::invalid_argument, at.path + " is not a regular file");
  return fd;
}

expected<unique_fd> open_write(const located_path& at, const std::string& name, bool truncate) {
  if (at.is_root() || name.empty() || name == "." || name == ".." ||
      name.find('/') != std::string::npos)
    return fail(errc::invalid_argument, at.path + " cannot be written as a file");
  int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (truncate ? O_TRUNC : 0);
  unique_fd fd{::openat(at.dir.get(), name.c_str(), flags, 0644)};
  if (!fd.valid()) return errno_error(errno, at.path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error(errno, at.path);
  if (!S_ISREG(st.st_mode)) return fail(errc::invalid_argument, at.path + " is not a regular file");
  return fd;
}

expected<unique_fd> open_dir(const located_path& at) {
  unique_fd fd{
      ::openat(at.dir.get(), at.leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (!fd.valid()) return errno_error(errno, at.path);
  return fd;
}

}  // namespace librarian::gridftp
