#include "actors/librarian/file_ops.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "actors/librarian/file_checksum.hpp"
#include "bin/librarian/http_client.hpp"
#include "runtime/crypto/crypto.hpp"
#include "runtime/planted.hpp"

namespace librarian::lib {
status make_staging_dir(file_system& fs, const std::string& dir) {
  if (auto st = fs.create_directories(dir); !st)
    return fail(st.err().code, "cannot create staging directory " + dir + ": " + st.err().message);
  return {};
}

expected<uint64_t> verify_and_store(file_system& fs, const std::string& staged_path,
                                    const std::string& staging_dir, uint64_t expected_size,
                                    const std::string& expected_checksum,
                                    const std::string& final_path, bool durable) {
  if (fs.kind(staged_path) == file_kind::none)
    return fail(errc::not_found, "nothing was uploaded to " + staged_path +
                                     "; copy the bytes there (or use `librarian upload`) before "
                                     "committing");
  // The data channel verified these bytes as it wrote them and sealed the file: if it is
  // unchanged since, its checksum stands and the file is not read a second time.
  expected<content_digest> digest = fail(errc::internal, "not computed");
  if (fs.kind(staged_path) == file_kind::regular) {
    // A seal in another algorithm proves nothing about this checksum: hash then.
    if (auto sealed = fs.take_seal(staged_path); sealed && *sealed == expected_checksum) {
      auto size = fs.file_size(staged_path);
      if (size) digest = content_digest{*sealed, *size, false};
    }
  }
  if (!digest) digest = digest_path(fs, staged_path);
  auto drop_stage = [&] { static_cast<void>(remove_stage(fs, staging_dir)); };
  if (!digest) {
    drop_stage();
    return digest.err();
  }
  // A planted bug (simulation only): accept whatever arrived.
  bool trusting = planted::on("skip_ingest_verify");
  if (digest->size != expected_size && !trusting) {
    drop_stage();
    return fail(errc::checksum_mismatch,
                "size mismatch: the staged data has " + std::to_string(digest->size) +
                    " bytes, the stage declared " + std::to_string(expected_size) +
                    "; the upload was discarded");
  }
  if (digest->checksum != expected_checksum && !trusting) {
    drop_stage();
    return fail(errc::checksum_mismatch, "checksum mismatch: the staged data has " +
                                             digest->checksum + ", the stage declared " +
                                             expected_checksum + "; the upload was discarded");
  }
  auto parent = std::filesystem::path{final_path}.parent_path().string();
  if (auto st = fs.create_directories(parent); !st) return st.err();
  if (fs.kind(final_path) != file_kind::none) {
    if (auto st = fs.remove_all(final_path); !st) return st.err();
  }
  if (auto st = fs.rename(staged_path, final_path); !st)
    return fail(st.err().code,
                st.err().message + " (staging and store must be on one file system)");
  // The bytes were synced where they were written (the data channel syncs before it answers);
  // the rename must be too before the catalog records the file at its new path.
  if (durable)
    if (auto st = fs.sync_dir(parent); !st) return st.err();
  drop_stage();
  return digest->size;
}

namespace {

bool data_channel_leftover(const std::string& name) {
  return name.ends_with(".librarian-part") || name.ends_with(".librarian-journal");
}

struct walker {
  const file_system& fs;
  const std::string& root;
  const std::string& after;
  size_t max;
  const std::string& exclude;
  import_batch out;
  std::optional<error> failure;

  // rel: the directory's path below root ("" for root itself). Returns false to stop.
  bool walk(const std::string& rel) {
    const std::string dir = rel.empty() ? root : root + "/" + rel;
    if (!exclude.empty() && dir == exclude) return true;
    auto listed = fs.list(dir);
    if (!listed) {
      failure = listed.err();
      return false;
    }
    // Sorting a directory's names with '/' after each subdirectory's gives the byte order of
    // whole paths ("a-c" before "a/b"), so `after` can resume a walk.
    std::vector<std::pair<std::string, file_kind>> entries;
    entries.reserve(listed->size());
    for (auto& e : *listed) {
      if (e.kind == file_kind::directory)
        entries.emplace_back(e.name + "/", e.kind);
      else if (e.kind == file_kind::regular && !data_channel_leftover(e.name))
        entries.emplace_back(e.name, e.kind);
    }
    std::sort(entries.begin(), entries.end());
    for (const auto& [key, kind] : entries) {
      const std::string path = rel.empty() ? key : rel + "/" + key;
      if (kind == file_kind::directory) {
        // A subtree wholly at or before `after` is skipped without listing it.
        if (!after.empty() && path <= after && !after.starts_with(path)) continue;
        if (!walk(path.substr(0, path.size() - 1))) return false;
        continue;
      }
      if (!after.empty() && path <= after) continue;
      if (out.paths.size() >= max) return false;  // more remain
      auto size = fs.file_size(root + "/" + path);
      out.paths.push_back(path);
      out.sizes.push_back(size ? *size : 0);
      out.errors.push_back(size ? std::string{} : size.err().message);
    }
    return true;
  }
};

}  // namespace

expected<import_batch> walk_store(const file_system& fs, const std::string& root,
                                  const std::string& under, const std::string& after, size_t max,
                                  const std::string& exclude) {
  walker w{fs, root, after, max, exclude, {}, std::nullopt};
  const bool finished = w.walk(under);
  if (w.failure) return *w.failure;
  w.out.complete = finished;
  w.out.checksums.resize(w.out.paths.size());
  return std::move(w.out);
}

void hash_batch(const file_system& fs, const std::string& root, import_batch& batch) {
  batch.checksums.resize(batch.paths.size());
  batch.errors.resize(batch.paths.size());
  for (size_t i = 0; i < batch.paths.size(); ++i) {
    if (!batch.errors[i].empty()) continue;
    auto d = digest_path(fs, root + "/" + batch.paths[i]);
    if (!d) {
      batch.errors[i] = d.err().message;
      continue;
    }
    batch.sizes[i] = d->size;
    batch.checksums[i] = d->checksum;
  }
}

namespace {
std::string leaf(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}
std::string parent(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos || slash == 0 ? std::string{} : path.substr(0, slash);
}
}  // namespace

status remove_stage(file_system& fs, const std::string& staging_dir) {
  if (auto st = remove_tree(fs, staging_dir); !st) return st;
  // The last upload of a bulk stage takes its group directory with it.
  auto group = parent(staging_dir);
  if (!group.empty() && leaf(group).starts_with("bulk-"))
    static_cast<void>(fs.remove(group));  // refused while other uploads of the group remain
  return {};
}

status remove_tree(file_system& fs, const std::string& path) {
  if (path.size() < 2 || path.front() != '/')
    return fail(errc::internal, "refusing to remove a relative path: " + path);
  return fs.remove_all(path);
}

expected<size_t> sweep_staging(file_system& fs, const std::string& staging_root,
                               const std::set<std::string>& keep, size_t max) {
  auto listed = fs.list(staging_root);
  if (!listed) return size_t{0};  // nothing staged yet
  size_t removed = 0;
  size_t seen = 0;
  for (const auto& e : *listed) {
    if (seen >= max * 10 || removed >= max) break;
    ++seen;
    auto full = staging_root + "/" + e.name;
    if (e.name.starts_with("bulk-") && e.kind == file_kind::directory) {
      // A bulk stage's group: its orphaned uploads, then the group once empty.
      if (auto inner = fs.list(full)) {
        for (const auto& u : *inner) {
          // Flat uploads: "upload-N", and the data channel's "upload-N.librarian-part" and
          // "-journal" while it writes one (kept with their upload).
          auto path = full + "/" + u.name.substr(0, u.name.find('.'));
          if (removed >= max) break;
          if (u.name.starts_with("upload-") && !keep.contains(path) &&
              remove_tree(fs, full + "/" + u.name))
            ++removed;
        }
      }
      static_cast<void>(fs.remove(full));  // refused while it holds open uploads
      continue;
    }
    if (!e.name.starts_with("upload-") || keep.contains(full)) continue;
    if (remove_tree(fs, full)) ++removed;
  }
  return removed;
}

status prepare_store_dirs(file_system& fs, const std::string& staging_path,
                          const std::string& store_path) {
  for (const auto& dir : {staging_path, store_path})
    if (auto st = fs.create_directories(dir); !st) return st;
  return {};
}

expected<int64_t> ping_peer(const std::string& url, uint32_t port, const std::string& authenticator,
                            std::chrono::milliseconds timeout) {
  if (!url.starts_with("http://"))
    return fail(errc::unavailable, "only http:// peers can be pinged by this build");
  auto host = url.substr(7);
  cli::header_list headers{{"Authorization", "Basic " + crypto::base64_encode(authenticator)}};
  auto start = std::chrono::steady_clock::now();
  auto reply = cli::http_send(host, static_cast<uint16_t>(port), "GET", "/api/v1/ping", "", headers,
                              timeout);
  auto rtt = std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::steady_clock::now() - start)
                 .count();
  if (!reply) return reply.err();
  if (reply->status == 401)
    return fail(errc::unauthenticated, "the peer refused our credentials (HTTP 401)");
  if (reply->status != 200)
    return fail(errc::unavailable, "the peer answered HTTP " + std::to_string(reply->status));
  return rtt;
}

}  // namespace librarian::lib
