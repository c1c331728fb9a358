// Checksums of files and directories: stable values, names covered, links refused.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "actors/librarian/file_checksum.hpp"

namespace librarian::lib {
namespace {

namespace fs = std::filesystem;

struct temp_dir {
  fs::path path;
  temp_dir() {
    static int n = 0;
    path = fs::temp_directory_path() /
           ("librarian-unit-sum-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~temp_dir() { fs::remove_all(path); }
  void write(const std::string& rel, const std::string& text) const {
    fs::create_directories((path / rel).parent_path());
    std::ofstream{path / rel, std::ios::binary} << text;
  }
};

}  // namespace

TEST_CASE("a file's checksum is xxh3-128 of its bytes") {
  temp_dir t;
  t.write("empty", "");
  auto d = digest_path((t.path / "empty").string());
  REQUIRE(d.has_value());
  // XXH3-128 of no bytes (xxHash's published test vector).
  CHECK(d->checksum == "xxh3:::99aa06d3014798d86001c324468d497f");
  CHECK(d->size == 0);
  CHECK_FALSE(d->directory);
  CHECK(valid_checksum(d->checksum));
  t.write("a", "hello");
  auto a = digest_path((t.path / "a").string());
  REQUIRE(a.has_value());
  CHECK(a->size == 5);
  CHECK(a->checksum != d->checksum);
}

TEST_CASE("a directory's checksum covers names, contents and empty directories") {
  temp_dir t1, t2;
  for (const auto* t : {&t1, &t2}) {
    t->write("d/x.txt", "one");
    t->write("d/sub/y.txt", "two");
  }
  auto a = digest_path((t1.path / "d").string());
  auto b = digest_path((t2.path / "d").string());
  REQUIRE((a.has_value() && b.has_value()));
  CHECK(a->directory);
  CHECK(a->size == 6);
  CHECK(a->checksum == b->checksum);
  fs::rename(t2.path / "d/x.txt", t2.path / "d/z.txt");  // same bytes, new name
  CHECK(digest_path((t2.path / "d").string())->checksum != a->checksum);
  fs::rename(t2.path / "d/z.txt", t2.path / "d/x.txt");
  fs::create_directories(t2.path / "d/empty");
  CHECK(digest_path((t2.path / "d").string())->checksum != a->checksum);
}

TEST_CASE("links, missing paths and oversized trees are refused") {
  temp_dir t;
  t.write("d/f", "x");
  fs::create_symlink(t.path / "d/f", t.path / "d/link");
  CHECK(digest_path((t.path / "d").string()).err().code == errc::invalid_argument);
  CHECK(digest_path((t.path / "nope").string()).err().code == errc::not_found);
  fs::remove(t.path / "d/link");
  t.write("d/g", "y");
  CHECK(digest_path((t.path / "d").string(), {}, {1, 64}).err().code == errc::invalid_argument);
  CHECK_FALSE(valid_checksum("xxh3:::ABC"));
  CHECK_FALSE(valid_checksum("md5:::" + std::string(32, 'a')));
}

TEST_CASE("a tree in memory digests exactly as the same tree on disk") {
  temp_dir t;
  t.write("d/x.txt", "one");
  t.write("d/sub/y.txt", "two");
  fs::create_directories(t.path / "d/empty");
  memory_file_system mem;
  REQUIRE(mem.create_directories("/m/d/sub"));
  REQUIRE(mem.create_directories("/m/d/empty"));
  REQUIRE(mem.write_file("/m/d/x.txt", "one"));
  REQUIRE(mem.write_file("/m/d/sub/y.txt", "two"));
  auto on_disk = digest_path((t.path / "d").string());
  auto in_memory = digest_path(mem, "/m/d");
  REQUIRE((on_disk.has_value() && in_memory.has_value()));
  CHECK(on_disk->checksum == in_memory->checksum);
  CHECK(in_memory->size == 6);
  CHECK(digest_path(mem, "/m/d/x.txt")->checksum ==
        digest_path((t.path / "d/x.txt").string())->checksum);
  CHECK(digest_path(mem, "/m/nope").err().code == errc::not_found);
}

}  // namespace librarian::lib
