#include "bin/librarian/local_mover.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <vector>

namespace librarian::cli {
namespace {

namespace fs = std::filesystem;

struct file_closer {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using file_ptr = std::unique_ptr<std::FILE, file_closer>;

constexpr size_t block_bytes = 4u << 20;

status copy_file(const fs::path& src, const fs::path& dst, uint64_t& done,
                 const copy_progress& progress) {
  file_ptr in{std::fopen(src.c_str(), "rb")};
  if (!in)
    return fail(errc::not_found, "cannot open " + src.string() + ": " + std::strerror(errno));
  file_ptr out{std::fopen(dst.c_str(), "wbx")};  // x: never overwrite
  if (!out)
    return fail(errc::unavailable, "cannot create " + dst.string() + ": " + std::strerror(errno));
  std::vector<char> buf(block_bytes);
  for (;;) {
    auto n = std::fread(buf.data(), 1, buf.size(), in.get());
    if (n > 0 && std::fwrite(buf.data(), 1, n, out.get()) != n)
      return fail(errc::storage_full, "cannot write " + dst.string() + ": " + std::strerror(errno));
    done += n;
    if (n > 0 && progress) progress(done);
    if (n < buf.size()) {
      if (std::ferror(in.get()))
        return fail(errc::internal, "cannot read " + src.string() + ": " + std::strerror(errno));
      break;
    }
  }
  if (std::fflush(out.get()) != 0 || ::fsync(::fileno(out.get())) != 0)
    return fail(errc::storage_full, "cannot flush " + dst.string() + ": " + std::strerror(errno));
  return {};
}

status copy_any(const fs::path& src, const fs::path& dst, uint64_t& done,
                const copy_progress& progress) {
  std::error_code ec;
  auto st = fs::symlink_status(src, ec);
  if (ec || !fs::exists(st))
    return fail(errc::not_found, "no such file or directory: " + src.string());
  if (fs::is_regular_file(st)) return copy_file(src, dst, done, progress);
  if (!fs::is_directory(st))
    return fail(errc::invalid_argument, src.string() + " is a symlink or special file");
  if (!fs::create_directory(dst, ec) || ec)
    return fail(errc::unavailable, "cannot create directory " + dst.string() +
                                       (ec ? ": " + ec.message() : std::string{" (it exists)"}));
  for (const auto& entry : fs::directory_iterator{src, ec}) {
    auto child = copy_any(entry.path(), dst / entry.path().filename(), done, progress);
    if (!child) return child;
  }
  if (ec) return fail(errc::internal, "cannot list " + src.string() + ": " + ec.message());
  return {};
}

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

}  // namespace

status copy_tree(const std::string& src, const std::string& dst_text,
                 const copy_progress& progress) {
  std::error_code ec;
  auto dst = fs::absolute(dst_text, ec).lexically_normal().string();
  if (fs::exists(fs::symlink_status(dst, ec)))
    return fail(errc::already_exists, dst + " already exists; choose another destination");
  if (!fs::is_directory(fs::path{dst}.parent_path(), ec))
    return fail(errc::unavailable, fs::path{dst}.parent_path().string() +
                                       " is not a directory reachable from this host");
  uint64_t done = 0;
  auto st = copy_any(src, dst, done, progress);
  if (!st) fs::remove_all(dst, ec);
  return st;
}

progress_bar::progress_bar(std::string label, uint64_t total_bytes)
    : label_(std::move(label)), total_(total_bytes), enabled_(::isatty(STDERR_FILENO) == 1) {}

progress_bar::~progress_bar() {
  finish();
}

void progress_bar::update(uint64_t done_bytes) {
  if (!enabled_ || finished_) return;
  int permille = total_ == 0 ? 1000 : static_cast<int>(done_bytes * 1000 / total_);
  if (permille == last_permille_) return;
  last_permille_ = permille;
  constexpr int width = 30;
  int filled = permille * width / 1000;
  std::cerr << '\r' << label_ << " [" << std::string(static_cast<size_t>(filled), '#')
            << std::string(static_cast<size_t>(width - filled), ' ') << "] " << permille / 10
            << "% " << human_bytes(done_bytes) << " / " << human_bytes(total_) << std::flush;
}

void progress_bar::finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  if (last_permille_ >= 0) std::cerr << '\n';
}

}  // namespace librarian::cli
