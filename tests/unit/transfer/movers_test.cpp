// The local mover: a verified copy through a .librarian-part name, idempotent submission ids,
// permanent failures for a source that does not match its checksum, unknown tasks after a poll
// reported the outcome.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "actors/transfer/movers.hpp"
#include "net/data/checksum.hpp"

namespace {

using namespace librarian;
using namespace librarian::transfer;
namespace fs = std::filesystem;

struct temp_dir {
  fs::path path;
  temp_dir() {
    static int n = 0;
    path = fs::temp_directory_path() /
           ("librarian-unit-movers-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(path);
    fs::create_directories(path / "src");
    fs::create_directories(path / "dst");
  }
  ~temp_dir() { fs::remove_all(path); }
};

std::string write_file(const fs::path& p, const std::string& content) {
  std::ofstream(p, std::ios::binary) << content;
  auto sum = data::checksum_file(p, data::checksum_alg::xxh3);
  REQUIRE(sum);
  return data::format_checksum(data::checksum_alg::xxh3, *sum);
}

task_status wait_done(async_mover& m, const std::string& id) {
  for (int i = 0; i < 1000; ++i) {
    auto s = m.poll(id);
    REQUIRE(s);
    if (s->state != task_state::active) return *s;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  FAIL("the task never finished");
  return {};
}

TEST_CASE("the local mover copies and verifies a batch") {
  temp_dir t;
  auto mover = make_local_mover();
  mover_batch batch;
  batch.submission_id = "s-1";
  for (int i = 0; i < 3; ++i) {
    auto src = t.path / "src" / ("f" + std::to_string(i));
    std::string content(1000 * (i + 1), static_cast<char>('a' + i));
    batch.files.push_back({src.string(), (t.path / "dst" / ("f" + std::to_string(i))).string(),
                           content.size(), write_file(src, content), ""});
  }
  auto id = mover->submit(batch);
  REQUIRE(id);
  auto again = mover->submit(batch);  // same submission id: same task
  REQUIRE(again);
  CHECK(*again == *id);
  auto s = wait_done(*mover, *id);
  CHECK(s.state == task_state::succeeded);
  CHECK(s.bytes_done == 6000);
  for (const auto& f : batch.files) {
    CHECK(fs::file_size(f.dest_path) == f.size);
    CHECK_FALSE(fs::exists(f.dest_path + ".librarian-part"));
  }
  // Reported once; the mover then forgets it (a restart would too).
  auto later = mover->poll(*id);
  REQUIRE(later);
  CHECK(later->state == task_state::unknown);
}

TEST_CASE("a source that does not match its checksum fails permanently, leaving nothing") {
  temp_dir t;
  auto mover = make_local_mover();
  auto src = t.path / "src" / "x";
  write_file(src, "hello");
  mover_batch batch;
  batch.submission_id = "s-2";
  auto dst = (t.path / "dst" / "x").string();
  batch.files.push_back({src.string(), dst, 5, "xxh3:::" + std::string(32, '0'), ""});
  auto s = wait_done(*mover, *mover->submit(batch));
  CHECK(s.state == task_state::failed);
  CHECK_FALSE(s.retryable);
  REQUIRE(s.failure);
  CHECK(s.failure->code == errc::checksum_mismatch);
  CHECK(s.failed_files == std::vector<uint32_t>{0});
  CHECK_FALSE(fs::exists(dst));
  CHECK_FALSE(fs::exists(dst + ".librarian-part"));
}

TEST_CASE("a missing staging directory is permanent; bad batches are refused") {
  temp_dir t;
  auto mover = make_local_mover();
  auto src = t.path / "src" / "y";
  auto sum = write_file(src, "data");
  mover_batch batch;
  batch.submission_id = "s-3";
  batch.files.push_back({src.string(), (t.path / "gone" / "y").string(), 4, sum, ""});
  auto s = wait_done(*mover, *mover->submit(batch));
  CHECK(s.state == task_state::failed);
  CHECK_FALSE(s.retryable);
  mover_batch empty;
  empty.submission_id = "s-4";
  CHECK_FALSE(mover->submit(empty));
  mover_batch no_id = batch;
  no_id.submission_id.clear();
  CHECK_FALSE(mover->submit(no_id));
}

}  // namespace
