#include "actors/librarian/file_checksum.hpp"
#include "net/data/checksum.hpp"

#include <algorithm>
#include <memory>
#include <vector>

namespace librarian::lib {
namespace {

constexpr size_t read_block_bytes = 1u << 20;

// The stored form "xxh3:::<hex>" of a finished stream (net/data's checksum, one implementation).
std::string stored_form(data::checksum_stream& sum) {
  return data::format_checksum(data::checksum_alg::xxh3, sum.hex_digest());
}

// Feeds the file's bytes into the checksum; returns the byte count.
expected<uint64_t> hash_file(const file_system& fs, const std::string& path,
                             data::checksum_stream& sum, uint64_t done_before,
                             const progress_fn& progress) {
  auto reader = fs.open_read(path);
  if (!reader) return reader.err();
  // A buffer the file's size (plus one byte to see the end in one read), at most one block, not
  // zeroed: small files are the common case and a 1 MiB memset per file dominated hashing them.
  auto size = fs.file_size(path);
  auto buf_bytes = std::min<uint64_t>(read_block_bytes, (size ? *size : read_block_bytes) + 1);
  auto buf = std::make_unique_for_overwrite<char[]>(buf_bytes);
  uint64_t total = 0;
  for (;;) {
    auto n = (*reader)->read(buf.get(), buf_bytes);
    if (!n) return n.err();
    if (*n == 0) break;
    sum.update(std::string_view(buf.get(), *n));
    total += *n;
    if (progress) progress(done_before + total);
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

std::string joined(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

// Lists the tree below root (without root), bounded, refusing links and special files.
status list_level(const file_system& fs, const std::string& root, const std::string& rel,
                  uint32_t depth, const digest_limits& limits, std::vector<entry>& out) {
  auto dir = rel.empty() ? root : root + "/" + rel;
  auto listed = fs.list(dir);
  if (!listed) return listed.err();
  for (const auto& e : *listed) {
    if (out.size() >= limits.entries_max)
      return fail(errc::invalid_argument,
                  root + " has more than " + std::to_string(limits.entries_max) + " entries");
    if (depth >= limits.depth_max)
      return fail(errc::invalid_argument,
                  root + " is nested deeper than " + std::to_string(limits.depth_max) + " levels");
    auto child = joined(rel, e.name);
    if (e.kind == file_kind::directory) {
      out.push_back({child, true});
      if (auto st = list_level(fs, root, child, depth + 1, limits, out); !st) return st;
    } else if (e.kind == file_kind::regular) {
      out.push_back({child, false});
    } else {
      return fail(errc::invalid_argument, dir + "/" + e.name +
                                              " is a symlink or special file; only regular files "
                                              "and directories can be uploaded");
    }
  }
  return {};
}

expected<std::vector<entry>> list_tree(const file_system& fs, const std::string& root,
                                       const digest_limits& limits) {
  std::vector<entry> out;
  if (auto st = list_level(fs, root, "", 0, limits, out); !st) return st.err();
  // Byte order of relative paths, independent of the file system's listing order.
  std::sort(out.begin(), out.end(), [](const entry& a, const entry& b) { return a.rel < b.rel; });
  return out;
}

}  // namespace

expected<content_digest> digest_path(const file_system& fs, const std::string& path,
                                     const progress_fn& progress, digest_limits limits) {
  auto kind = fs.kind(path);
  if (kind == file_kind::none) return fail(errc::not_found, "no such file or directory: " + path);
  data::checksum_stream whole(data::checksum_alg::xxh3);
  if (kind == file_kind::regular) {
    auto size = hash_file(fs, path, whole, 0, progress);
    if (!size) return size.err();
    return content_digest{stored_form(whole), *size, false};
  }
  if (kind != file_kind::directory)
    return fail(errc::invalid_argument,
                path +
                    " is a symlink or special file; only regular files and directories can be "
                    "uploaded");
  auto entries = list_tree(fs, path, limits);
  if (!entries) return entries.err();
  uint64_t total = 0;
  for (const auto& e : *entries) {
    auto full = path + "/" + e.rel;
    if (e.dir) {
      feed_name(whole, 'D', e.rel);
      continue;
    }
    auto file_size = fs.file_size(full);
    if (!file_size) return file_size.err();
    feed_name(whole, 'F', e.rel);
    feed_u64(whole, *file_size);
    auto n = hash_file(fs, full, whole, total, progress);
    if (!n) return n.err();
    if (*n != *file_size)
      return fail(errc::conflict, full + " changed size while it was being hashed");
    total += *n;
  }
  return content_digest{stored_form(whole), total, true};
}

expected<content_digest> digest_path(const std::string& path, const progress_fn& progress,
                                     digest_limits limits) {
  return digest_path(*posix_file_system(), path, progress, limits);
}

bool valid_checksum(std::string_view checksum) {
  // Exactly the stored form: xxh3, 32 lowercase hex digits (parse_checksum also accepts other
  // algorithms and upper case, so the round trip must be the identity).
  if (!checksum.starts_with(checksum_prefix)) return false;
  auto parsed = data::parse_checksum(checksum);
  return parsed && data::format_checksum(parsed->alg, parsed->hex) == checksum;
}

}  // namespace librarian::lib
