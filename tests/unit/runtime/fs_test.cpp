// The file-system seam: the in-memory file system (the simulator's disks) and the machine's obey
// one contract, checked here against both.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "runtime/fs.hpp"

using namespace librarian;

namespace {

std::vector<std::string> names_in(const file_system& fs, const std::string& dir) {
  std::vector<std::string> out;
  auto listed = fs.list(dir);
  REQUIRE(listed);
  for (const auto& e : *listed) out.push_back(e.name);
  std::sort(out.begin(), out.end());
  return out;
}

// The contract, rooted at `root` (an existing empty directory).
void check_contract(file_system& fs, const std::string& root) {
  CHECK(fs.kind(root + "/a") == file_kind::none);
  REQUIRE(fs.create_directories(root + "/a/b/c"));
  REQUIRE(fs.create_directories(root + "/a/b/c"));  // again: fine
  CHECK(fs.kind(root + "/a/b") == file_kind::directory);
  REQUIRE(fs.write_file(root + "/a/b/f", "hello"));
  REQUIRE(fs.write_file(root + "/a-x", "sibling that sorts between /a and /a/"));
  CHECK(fs.kind(root + "/a/b/f") == file_kind::regular);
  CHECK(*fs.file_size(root + "/a/b/f") == 5);
  CHECK(*read_whole_file(fs, root + "/a/b/f", 100) == "hello");
  CHECK(read_whole_file(fs, root + "/a/b/f", 3).err().code == errc::invalid_argument);
  CHECK(names_in(fs, root + "/a/b") == std::vector<std::string>{"c", "f"});
  CHECK(names_in(fs, root) == std::vector<std::string>{"a", "a-x"});

  // Missing parents and missing files.
  CHECK(fs.write_file(root + "/nope/f", "x").err().code == errc::not_found);
  CHECK(fs.open_read(root + "/nope").err().code == errc::not_found);
  CHECK(fs.file_size(root + "/nope").err().code == errc::not_found);
  CHECK(fs.list(root + "/nope").err().code == errc::not_found);
  CHECK(fs.rename(root + "/nope", root + "/x").err().code == errc::not_found);

  // remove: a non-empty directory is refused, a missing path is fine.
  CHECK(fs.remove(root + "/a/b").err().code == errc::conflict);
  CHECK(fs.remove(root + "/a/b/c"));
  CHECK(fs.remove(root + "/a/b/c"));
  CHECK(fs.kind(root + "/a/b/c") == file_kind::none);

  // rename replaces a file; moves a tree with its contents.
  REQUIRE(fs.write_file(root + "/a/g", "other"));
  REQUIRE(fs.rename(root + "/a/g", root + "/a/b/f"));
  CHECK(*read_whole_file(fs, root + "/a/b/f", 100) == "other");
  CHECK(fs.kind(root + "/a/g") == file_kind::none);
  REQUIRE(fs.rename(root + "/a", root + "/moved"));
  CHECK(fs.kind(root + "/a") == file_kind::none);
  CHECK(*read_whole_file(fs, root + "/moved/b/f", 100) == "other");
  CHECK(fs.kind(root + "/a-x") == file_kind::regular);  // the sibling was not moved

  // remove_all takes the tree and nothing beside it.
  REQUIRE(fs.create_directories(root + "/moved-too"));
  REQUIRE(fs.remove_all(root + "/moved"));
  CHECK(fs.kind(root + "/moved") == file_kind::none);
  CHECK(fs.kind(root + "/moved/b/f") == file_kind::none);
  CHECK(fs.kind(root + "/moved-too") == file_kind::directory);
  CHECK(fs.remove_all(root + "/moved"));  // missing: fine

  // A reader reads in pieces and sees 0 at the end.
  std::string big(100000, '\0');
  std::mt19937 gen{7};
  for (auto& c : big) c = static_cast<char>(gen());
  REQUIRE(fs.write_file(root + "/big", big));
  auto reader = fs.open_read(root + "/big");
  REQUIRE(reader);
  std::string back;
  char buf[4096];
  for (;;) {
    auto n = (*reader)->read(buf, sizeof buf);
    REQUIRE(n);
    if (*n == 0) break;
    back.append(buf, *n);
  }
  CHECK(back == big);
}

}  // namespace

TEST_CASE("the in-memory file system keeps the file-system contract") {
  memory_file_system fs;
  REQUIRE(fs.create_directories("/r"));
  check_contract(fs, "/r");
  CHECK(fs.kind("relative/path") == file_kind::none);
  CHECK(fs.write_file("relative", "x").err().code == errc::invalid_argument);
  CHECK(fs.remove_all("/").err().code == errc::forbidden);
  CHECK(fs.kind("/r/./big") == file_kind::regular);  // normalised
  auto all = fs.files_under("/r");
  CHECK(all == std::vector<std::string>{"/r/a-x", "/r/big"});
  CHECK(fs.bytes_used() > 100000);
}

TEST_CASE("a full in-memory disk refuses writes and still reads and removes") {
  memory_file_system fs;
  REQUIRE(fs.create_directories("/d"));
  REQUIRE(fs.write_file("/d/f", "x"));
  fs.set_full(true);
  CHECK(fs.write_file("/d/g", "y").err().code == errc::storage_full);
  CHECK(fs.create_directories("/d/e").err().code == errc::storage_full);
  CHECK(*read_whole_file(fs, "/d/f", 10) == "x");
  CHECK(fs.remove("/d/f"));
  fs.set_full(false);
  CHECK(fs.write_file("/d/g", "y"));
}

TEST_CASE("the machine's file system keeps the same contract") {
  auto root = std::filesystem::temp_directory_path() /
              ("librarian-fs-test-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(root);
  auto fs = posix_file_system();
  check_contract(*fs, root.string());
  std::filesystem::create_symlink(root / "big", root / "link");
  CHECK(fs->kind((root / "link").string()) == file_kind::other);
  std::filesystem::remove_all(root);
}
