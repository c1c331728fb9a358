#include "actors/librarian/file_checksum.hpp"
#include "net/data/checksum.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

namespace librarian::lib {
namespace {

namespace fs = std::filesystem;

constexpr size_t read_block_bytes = 1u << 20;

// The stored form "xxh3:::<hex>" of a finished stream (net/data's checksum, one implementation).
std::string stored_form(data::checksum_stream& sum) {
  return data::format_checksum(data::checksum_alg::xxh3, sum.hex_digest());
}

struct file_closer {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// Feeds the file's bytes into every state given; returns the byte count.
expected<uint64_t> hash_file(const std::string& path, data::checksum_stream& sum,
                             uint64_t done_before, const progress_fn& progress) {
  std::unique_ptr<std::FILE, file_closer> f{std::fopen(path.c_str(), "rb")};
  if (!f) return fail(errc::not_found, "cannot open " + path + ": " + std::strerror(errno));
  std::vector<char> buf(read_block_bytes);
  uint64_t total = 0;
  for (;;) {
    size_t n = std::fread(buf.data(), 1, buf.size(), f.get());
    if (n > 0) {
      sum.update(std::string_view(buf.data(), n));
      total += n;
      if (progress) progress(done_before + total);
    }
    if (n < buf.size()) {
      if (std::ferror(f.get()))
        return fail(errc::internal, "cannot read " + path + ": " + std::strerror(errno));
      break;
    }
  }
  return total;
}

void feed_u64(data::checksum_stream& sum, uint64_t v) {
  char bytes[8];
  for (int i = 7; i >= 0; --i) {
    bytes[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  sum.update(std::string_view(bytes, sizeof bytes));
}

void feed_name(data::checksum_stream& sum, char kind, const std::string& rel) {
  sum.update(std::string_view(&kind, 1));
  sum.update(rel);
  sum.update(std::string_view("\0", 1));
}

struct entry {
  std::string rel;  // relative path with '/' separators
  bool dir = false;
};

// Lists the tree below root (without root), bounded, refusing links and special files.
expected<std::vector<entry>> list_tree(const fs::path& root, const digest_limits& limits) {
  std::vector<entry> out;
  std::error_code ec;
  fs::recursive_directory_iterator it{root, fs::directory_options::none, ec};
  if (ec) return fail(errc::not_found, "cannot list " + root.string() + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator{}; it.increment(ec)) {
    if (ec) return fail(errc::internal, "cannot list " + root.string() + ": " + ec.message());
    if (out.size() >= limits.entries_max)
      return fail(errc::invalid_argument, root.string() + " has more than " +
                                              std::to_string(limits.entries_max) + " entries");
    if (static_cast<uint32_t>(it.depth()) >= limits.depth_max)
      return fail(errc::invalid_argument, root.string() + " is nested deeper than " +
                                              std::to_string(limits.depth_max) + " levels");
    auto st = it->symlink_status(ec);
    if (ec) return fail(errc::internal, "cannot stat " + it->path().string() + ": " + ec.message());
    auto rel = it->path().lexically_relative(root).generic_string();
    if (fs::is_directory(st)) {
      out.push_back({rel, true});
    } else if (fs::is_regular_file(st)) {
      out.push_back({rel, false});
    } else {
      return fail(errc::invalid_argument, it->path().string() +
                                              " is a symlink or special file; only regular files "
                                              "and directories can be uploaded");
    }
  }
  // Byte order of relative paths, independent of the file system's listing order.
  std::sort(out.begin(), out.end(), [](const entry& a, const entry& b) { return a.rel < b.rel; });
  return out;
}

}  // namespace

expected<content_digest> digest_path(const std::string& path, const progress_fn& progress,
                                     digest_limits limits) {
  std::error_code ec;
  auto st = fs::symlink_status(path, ec);
  if (ec || !fs::exists(st)) return fail(errc::not_found, "no such file or directory: " + path);
  data::checksum_stream whole(data::checksum_alg::xxh3);
  if (fs::is_regular_file(st)) {
    auto size = hash_file(path, whole, 0, progress);
    if (!size) return size.err();
    return content_digest{stored_form(whole), *size, false};
  }
  if (!fs::is_directory(st))
    return fail(errc::invalid_argument,
                path +
                    " is a symlink or special file; only regular files and directories can be "
                    "uploaded");
  auto entries = list_tree(path, limits);
  if (!entries) return entries.err();
  uint64_t total = 0;
  for (const auto& e : *entries) {
    auto full = (fs::path{path} / e.rel).string();
    if (e.dir) {
      feed_name(whole, 'D', e.rel);
      continue;
    }
    auto file_size = fs::file_size(full, ec);
    if (ec) return fail(errc::internal, "cannot stat " + full + ": " + ec.message());
    feed_name(whole, 'F', e.rel);
    feed_u64(whole, file_size);
    auto n = hash_file(full, whole, total, progress);
    if (!n) return n.err();
    if (*n != file_size)
      return fail(errc::conflict, full + " changed size while it was being hashed");
    total += *n;
  }
  return content_digest{stored_form(whole), total, true};
}

bool valid_checksum(std::string_view checksum) {
  // Exactly the stored form: xxh3, 32 lowercase hex digits (parse_checksum also accepts other
  // algorithms and upper case, so the round trip must be the identity).
  if (!checksum.starts_with(checksum_prefix)) return false;
  auto parsed = data::parse_checksum(checksum);
  return parsed && data::format_checksum(parsed->alg, parsed->hex) == checksum;
}

}  // namespace librarian::lib
