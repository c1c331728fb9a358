#include <doctest/doctest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>

#include "net/gridftp/paths.hpp"

using namespace librarian;
using namespace librarian::gridftp;
namespace fs = std::filesystem;

namespace {
struct temp_tree {
  fs::path base;
  temp_tree() {
    char tmpl[] = "/tmp/gridftp-paths-XXXXXX";
    base = ::mkdtemp(tmpl);
    fs::create_directories(base / "root" / "sub");
    fs::create_directories(base / "outside");
    std::ofstream(base / "root" / "sub" / "f") << "inside";
    std::ofstream(base / "outside" / "secret") << "secret";
    fs::create_symlink(base / "outside", base / "root" / "escape");
    fs::create_symlink(base / "outside" / "secret", base / "root" / "secret-link");
  }
  ~temp_tree() { fs::remove_all(base); }
};
}  // namespace

TEST_CASE("paths are normalized against cwd and confined to the roots") {
  temp_tree t;
  auto jail = path_jail::make({(t.base / "root").string()});
  REQUIRE(jail);
  auto root = jail->roots().front();
  CHECK(*jail->normalize("sub/f", root) == root + "/sub/f");
  CHECK(*jail->normalize(root + "//sub/./f", "/") == root + "/sub/f");
  CHECK(jail->normalize("../outside", root).err().code == errc::invalid_argument);
  CHECK(jail->normalize(root + "/sub/../../outside", root).err().code == errc::invalid_argument);
  CHECK(jail->normalize((t.base / "outside").string(), root).err().code == errc::forbidden);
  CHECK(jail->normalize("/etc/passwd", root).err().code == errc::forbidden);
  // A sibling that shares the root's name as a prefix is not under it.
  CHECK(jail->normalize(root + "2/x", root).err().code == errc::forbidden);
  CHECK(jail->parent(root) == root);
  CHECK(jail->parent(root + "/sub") == root);
}

TEST_CASE("symlinks under a root are never followed, on the way or at the end") {
  temp_tree t;
  auto jail = path_jail::make({(t.base / "root").string()});
  REQUIRE(jail);
  auto root = jail->roots().front();
  auto through = jail->locate(root + "/escape/secret", root);
  REQUIRE(!through);
  CHECK(through.err().code == errc::forbidden);
  auto link = jail->locate(root + "/secret-link", root);
  REQUIRE(link);
  CHECK(open_read(*link).err().code == errc::forbidden);
  CHECK(stat_at(*link).err().code == errc::forbidden);
  CHECK(!open_write(*link, link->leaf, true));
  CHECK(fs::file_size(t.base / "outside" / "secret") == 6);  // untouched
  auto inside = jail->locate(root + "/sub/f", root);
  REQUIRE(inside);
  CHECK(open_read(*inside));
  auto missing = jail->locate(root + "/nope/f", root);
  CHECK(missing.err().code == errc::not_found);
}

TEST_CASE("the root itself is located as '.' and cannot be written as a file") {
  temp_tree t;
  auto jail = path_jail::make({(t.base / "root").string()});
  REQUIRE(jail);
  auto at = jail->locate(jail->roots().front(), "/");
  REQUIRE(at);
  CHECK(at->is_root());
  CHECK(open_dir(*at));
  CHECK(!open_write(*at, at->leaf, true));
  CHECK(!path_jail::make({(t.base / "missing").string()}));
}
