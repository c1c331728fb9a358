#include "actors/librarian/file_ops.hpp"

#include <filesystem>

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
                                    const std::string& final_path) {
  if (fs.kind(staged_path) == file_kind::none)
    return fail(errc::not_found, "nothing was uploaded to " + staged_path +
                                     "; copy the bytes there (or use `librarian upload`) before "
                                     "committing");
  auto digest = digest_path(fs, staged_path);
  auto drop_stage = [&] { static_cast<void>(remove_tree(fs, staging_dir)); };
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
  drop_stage();
  return digest->size;
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
