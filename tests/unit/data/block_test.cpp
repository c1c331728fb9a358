#include <doctest/doctest.h>

#include "net/data/block.hpp"

using namespace librarian::data;

TEST_CASE("a block header round-trips through its 17 big-endian bytes") {
  block_header h{block_flag::eod, 0x0102030405060708ull, 0x1112131415161718ull};
  auto bytes = encode(h);
  CHECK(bytes[0] == block_flag::eod);
  CHECK(bytes[1] == 0x01);
  CHECK(bytes[8] == 0x08);
  CHECK(bytes[9] == 0x11);
  CHECK(bytes[16] == 0x18);
  CHECK(decode(bytes) == h);
}

TEST_CASE("the receiver refuses headers that could write outside the file or spin it") {
  block_limits lim;
  lim.file_bytes = 1000;
  lim.block_bytes_max = 256;
  CHECK(validate({0, 100, 900}, lim).has_value());
  CHECK_FALSE(validate({0, 101, 900}, lim).has_value());            // past the end
  CHECK_FALSE(validate({0, 257, 0}, lim).has_value());              // oversized
  CHECK_FALSE(validate({0, 16, UINT64_MAX - 8}, lim).has_value());  // overflow
  CHECK_FALSE(validate({0, 0, 5}, lim).has_value());                // empty, no EOD
  CHECK(validate({block_flag::eod, 0, 0}, lim).has_value());
  CHECK(validate({block_flag::eof, 0, 4}, lim).has_value());
  CHECK_FALSE(validate({block_flag::eof, 0, 0}, lim).has_value());
  CHECK_FALSE(validate({block_flag::eof, 0, 100000}, lim).has_value());
  CHECK_FALSE(validate({block_flag::eof, 5, 4}, lim).has_value());
  CHECK_FALSE(validate({0x01, 10, 0}, lim).has_value());  // unknown bit
  CHECK_FALSE(validate({block_flag::restart_marker, 10, 0}, lim).has_value());
  lim.window_begin = 100;
  lim.window_end = 200;
  CHECK(validate({0, 100, 100}, lim).has_value());
  CHECK_FALSE(validate({0, 10, 95}, lim).has_value());
  CHECK_FALSE(validate({0, 10, 195}, lim).has_value());
  auto err = validate({0, 101, 900}, {.block_bytes_max = 256, .file_bytes = 1000});
  REQUIRE_FALSE(err.has_value());
  CHECK(err.err().message.find("past the end") != std::string::npos);
}

#include <unistd.h>

#include <filesystem>

#include "net/data/confine.hpp"

TEST_CASE("client paths stay inside the data roots") {
  namespace fs = std::filesystem;
  const fs::path base =
      fs::temp_directory_path() / ("unit_data_confine_" + std::to_string(::getpid()));
  fs::remove_all(base);
  fs::create_directories(base / "root" / "sub");
  fs::create_directories(base / "outside");
  fs::create_symlink(base / "outside", base / "root" / "escape");
  const std::vector<std::string> roots{(base / "root").string()};
  CHECK(confine_path(roots, (base / "root/sub/new.dat").string()).has_value());
  CHECK(confine_path(roots, (base / "root/not/yet/there").string()).has_value());
  CHECK(confine_path(roots, (base / "root").string()).has_value());
  CHECK(confine_path(roots, (base / "root/sub/../x").string()).err().code ==
        librarian::errc::invalid_argument);
  CHECK(confine_path(roots, (base / "outside/x").string()).err().code ==
        librarian::errc::forbidden);
  CHECK(confine_path(roots, (base / "rootx/x").string()).err().code == librarian::errc::forbidden);
  CHECK(confine_path(roots, (base / "root/escape/x").string()).err().code ==
        librarian::errc::forbidden);
  CHECK(confine_path(roots, "relative/x").err().code == librarian::errc::invalid_argument);
  CHECK(confine_path(roots, std::string("/a\nb")).err().code == librarian::errc::invalid_argument);
  CHECK(confine_path({}, (base / "root/x").string()).err().code == librarian::errc::forbidden);
  fs::remove_all(base);
}
