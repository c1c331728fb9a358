// confine_path: a lexical check first (cheap, clear errors), then the symlink check on disk.
#include "net/data/confine.hpp"

#include <system_error>

namespace librarian::data {
namespace fs = std::filesystem;

namespace {

bool under(const fs::path& root, const fs::path& p) {
  auto r = root.begin(), q = p.begin();
  for (; r != root.end(); ++r, ++q) {
    if (r->empty()) continue;  // trailing slash of the root
    if (q == p.end() || *r != *q) return false;
  }
  return true;
}

}  // namespace

expected<fs::path> confine_path(const std::vector<std::string>& roots, std::string_view requested) {
  if (requested.empty()) return fail(errc::invalid_argument, "the path is empty");
  if (requested.size() > 4096)
    return fail(errc::invalid_argument, "the path is longer than 4096 bytes");
  for (unsigned char c : requested)
    if (c < 0x20 || c == 0x7f)
      return fail(errc::invalid_argument, "the path contains a control character");
  if (requested.front() != '/')
    return fail(errc::invalid_argument, "the path must be absolute (start with /)");
  const fs::path p(requested);
  for (const auto& part : p)
    if (part == "..") return fail(errc::invalid_argument, "the path must not contain '..'");
  const fs::path normal = p.lexically_normal();
  for (const auto& root_text : roots) {
    const fs::path root = fs::path(root_text).lexically_normal();
    if (!under(root, normal)) continue;
    // Resolve symlinks in whatever part of the path exists; the result must stay in the root.
    std::error_code ec;
    const fs::path real_root = fs::weakly_canonical(root, ec);
    if (ec) return fail(errc::unavailable, "data root " + root.string() + ": " + ec.message());
    const fs::path real = fs::weakly_canonical(normal, ec);
    if (ec)
      return fail(errc::unavailable, "cannot resolve " + normal.string() + ": " + ec.message());
    if (!under(real_root, real))
      return fail(errc::forbidden, normal.string() + " leads outside the data root " +
                                       root.string() + " through a symbolic link");
    return normal;
  }
  return fail(errc::forbidden,
              normal.string() + " is not under any configured data root (data.roots)");
}

}  // namespace librarian::data
