// The workers' blocking operations on a real file system: verify-and-store, stage sweeping.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "actors/librarian/file_checksum.hpp"
#include "actors/librarian/file_ops.hpp"

namespace librarian::lib {
namespace {

namespace fs = std::filesystem;

struct sandbox {
  fs::path root;
  sandbox() {
    static int n = 0;
    root = fs::temp_directory_path() /
           ("librarian-unit-ops-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(root);
    fs::create_directories(root / "staging/upload-1");
    fs::create_directories(root / "store");
  }
  ~sandbox() { fs::remove_all(root); }
  std::string write(const std::string& rel, const std::string& text) const {
    fs::create_directories((root / rel).parent_path());
    std::ofstream{root / rel, std::ios::binary} << text;
    return (root / rel).string();
  }
  std::string path(const std::string& rel) const { return (root / rel).string(); }
};

}  // namespace

TEST_CASE("verify_and_store moves verified bytes into the store and removes the stage") {
  sandbox s;
  auto staged = s.write("staging/upload-1/f.dat", "payload");
  auto sum = digest_path(staged)->checksum;
  auto size = verify_and_store(*posix_file_system(), staged, s.path("staging/upload-1"), 7, sum,
                               s.path("store/run/f.dat"));
  REQUIRE(size.has_value());
  CHECK(*size == 7);
  CHECK(fs::exists(s.path("store/run/f.dat")));
  CHECK_FALSE(fs::exists(s.path("staging/upload-1")));
}

TEST_CASE("a mismatch discards the stage and creates nothing in the store") {
  sandbox s;
  auto staged = s.write("staging/upload-1/f.dat", "payload");
  auto sum = digest_path(staged)->checksum;
  SUBCASE("size") {
    auto out = verify_and_store(*posix_file_system(), staged, s.path("staging/upload-1"), 8, sum,
                                s.path("store/f"));
    REQUIRE_FALSE(out.has_value());
    CHECK(out.err().code == errc::checksum_mismatch);
    CHECK(out.err().message.find("size mismatch") != std::string::npos);
  }
  SUBCASE("checksum") {
    auto out = verify_and_store(*posix_file_system(), staged, s.path("staging/upload-1"), 7,
                                "xxh3:::" + std::string(32, '0'), s.path("store/f"));
    REQUIRE_FALSE(out.has_value());
    CHECK(out.err().code == errc::checksum_mismatch);
  }
  CHECK_FALSE(fs::exists(s.path("staging/upload-1")));
  CHECK_FALSE(fs::exists(s.path("store/f")));
}

TEST_CASE("a sealed stage is trusted while unchanged, and hashed again once changed") {
  sandbox s;
  auto fsys = posix_file_system();
  auto staged = s.write("staging/upload-1/f.dat", "payload");
  const auto real = digest_path(staged)->checksum;
  // A seal that does not match the bytes: trusting it is observable (nothing reads the file).
  const std::string sealed = "xxh3:::00000000000000000000000000000001";
  SUBCASE("unchanged: the seal stands in for the hash") {
    fsys->seal(staged, sealed);
    auto out = verify_and_store(*fsys, staged, s.path("staging/upload-1"), 7, sealed,
                                s.path("store/f.dat"));
    REQUIRE(out.has_value());
    CHECK(fs::exists(s.path("store/f.dat")));
    CHECK_FALSE(fsys->take_seal(s.path("store/f.dat")).has_value());  // used up, not moved
  }
  SUBCASE("rewritten after sealing (same size): hashed, and the mismatch found") {
    fsys->seal(staged, real);
    ::usleep(20'000);  // a later modification time even on coarse clocks
    s.write("staging/upload-1/f.dat", "PAYLOAD");
    auto out =
        verify_and_store(*fsys, staged, s.path("staging/upload-1"), 7, real, s.path("store/f.dat"));
    REQUIRE_FALSE(out.has_value());
    CHECK(out.err().code == errc::checksum_mismatch);
    CHECK_FALSE(fs::exists(s.path("store/f.dat")));
  }
  SUBCASE("a seal of another checksum is not trusted: hashed") {
    fsys->seal(staged, sealed);
    auto out =
        verify_and_store(*fsys, staged, s.path("staging/upload-1"), 7, real, s.path("store/f.dat"));
    REQUIRE(out.has_value());
  }
  SUBCASE("a seal is used once") {
    fsys->seal(staged, sealed);
    CHECK(fsys->take_seal(staged) == sealed);
    CHECK_FALSE(fsys->take_seal(staged).has_value());
  }
}

TEST_CASE("walk_store lists a tree in path byte order, resumes after a path, skips leftovers") {
  sandbox s;
  for (const char* rel : {"store/a-c", "store/a/b", "store/a/z/y", "store/b", "store/.x",
                          "store/c.librarian-part", "store/staging-inside/upload-1/f"})
    s.write(rel, "x");
  const auto root = s.path("store");
  auto fsys = posix_file_system();
  auto all = walk_store(*fsys, root, "", "", 100, s.path("store/staging-inside"));
  REQUIRE(all.has_value());
  CHECK(all->complete);
  CHECK(all->paths == std::vector<std::string>{".x", "a-c", "a/b", "a/z/y", "b"});
  CHECK(all->sizes == std::vector<uint64_t>{1, 1, 1, 1, 1});
  // Two at a time, each call resuming after the last path of the one before.
  std::vector<std::string> paged;
  std::string after;
  for (int i = 0; i < 10; ++i) {
    auto page = walk_store(*fsys, root, "", after, 2, "");
    REQUIRE(page.has_value());
    for (auto& p : page->paths)
      if (!p.starts_with("staging-inside/")) paged.push_back(p);
    if (page->complete) break;
    REQUIRE_FALSE(page->paths.empty());
    after = page->paths.back();
  }
  CHECK(paged == all->paths);
  auto under = walk_store(*fsys, root, "a", "", 100, "");
  REQUIRE(under.has_value());
  CHECK(under->paths == std::vector<std::string>{"a/b", "a/z/y"});
  import_batch b = *under;
  hash_batch(*fsys, root, b);
  CHECK(b.checksums[0] == digest_path(s.path("store/a/b"))->checksum);
  CHECK(b.errors[0].empty());
  CHECK_FALSE(walk_store(*fsys, root, "missing", "", 10, "").has_value());
}

TEST_CASE("nothing staged yet is not_found and keeps the staging directory") {
  sandbox s;
  auto out = verify_and_store(*posix_file_system(), s.path("staging/upload-1/f"),
                              s.path("staging/upload-1"), 1, "xxh3:::" + std::string(32, '0'),
                              s.path("store/f"));
  CHECK(out.err().code == errc::not_found);
  CHECK(fs::exists(s.path("staging/upload-1")));
}

TEST_CASE("an orphan left at the target by a crash is replaced") {
  sandbox s;
  s.write("store/f", "old orphan bytes");
  auto staged = s.write("staging/upload-1/f", "new");
  auto sum = digest_path(staged)->checksum;
  REQUIRE(verify_and_store(*posix_file_system(), staged, s.path("staging/upload-1"), 3, sum,
                           s.path("store/f")));
  std::ifstream in{s.path("store/f")};
  std::string text;
  in >> text;
  CHECK(text == "new");
}

TEST_CASE("sweep cleans bulk groups: orphaned flat uploads, then the empty group") {
  sandbox s;
  auto fsys = posix_file_system();
  s.write("staging/bulk-1-1/upload-7", "kept");
  s.write("staging/bulk-1-1/upload-7.librarian-part", "being written");
  s.write("staging/bulk-1-1/upload-8", "orphan");
  s.write("staging/bulk-1-2/upload-9", "orphan");
  auto removed =
      sweep_staging(*fsys, s.path("staging"), {s.path("staging/bulk-1-1/upload-7")}, 100);
  REQUIRE(removed.has_value());
  CHECK(fs::exists(s.path("staging/bulk-1-1/upload-7")));
  CHECK(fs::exists(s.path("staging/bulk-1-1/upload-7.librarian-part")));
  CHECK_FALSE(fs::exists(s.path("staging/bulk-1-1/upload-8")));
  CHECK_FALSE(fs::exists(s.path("staging/bulk-1-2")));  // emptied, then removed
  // The last upload of a group takes the group with it.
  fs::remove(s.path("staging/bulk-1-1/upload-7.librarian-part"));
  REQUIRE(remove_stage(*fsys, s.path("staging/bulk-1-1/upload-7")).has_value());
  CHECK_FALSE(fs::exists(s.path("staging/bulk-1-1")));
}

TEST_CASE("sweep removes only upload directories nobody keeps") {
  sandbox s;
  fs::create_directories(s.path("staging/upload-2"));
  fs::create_directories(s.path("staging/upload-3"));
  fs::create_directories(s.path("staging/lost+found"));
  auto removed =
      sweep_staging(*posix_file_system(), s.path("staging"), {s.path("staging/upload-2")}, 100);
  REQUIRE(removed.has_value());
  CHECK(*removed == 2);
  CHECK(fs::exists(s.path("staging/upload-2")));
  CHECK_FALSE(fs::exists(s.path("staging/upload-1")));
  CHECK_FALSE(fs::exists(s.path("staging/upload-3")));
  CHECK(fs::exists(s.path("staging/lost+found")));
  CHECK(sweep_staging(*posix_file_system(), s.path("missing"), {}, 10).value() == 0);
  CHECK(remove_tree(*posix_file_system(), "relative/path").err().code == errc::internal);
}

TEST_CASE("pinging a closed port reports why") {
  auto out = ping_peer("http://127.0.0.1", 1, "a:b", std::chrono::milliseconds(500));
  REQUIRE_FALSE(out.has_value());
  CHECK(out.err().code == errc::unavailable);
  CHECK(ping_peer("https://h", 1, "a:b", std::chrono::milliseconds(100)).err().code ==
        errc::unavailable);
}

}  // namespace librarian::lib
