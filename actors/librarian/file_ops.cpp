#include "actors/librarian/file_ops.hpp"

#include <filesystem>

#include "actors/librarian/file_checksum.hpp"
#include "bin/librarian/http_client.hpp"
#include "runtime/crypto/crypto.hpp"

namespace librarian::lib {
namespace {

namespace fs = std::filesystem;

}  // namespace

status make_staging_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return fail(errc::internal, "cannot create staging directory " + dir + ": " + ec.message());
  return {};
}

expected<uint64_t> verify_and_store(const std::string& staged_path, const std::string& staging_dir,
                                    uint64_t expected_size, const std::string& expected_checksum,
                                    const std::string& final_path) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(staged_path, ec)))
    return fail(errc::not_found, "nothing was uploaded to " + staged_path +
                                     "; copy the bytes there (or use `librarian upload`) before "
                                     "committing");
  auto digest = digest_path(staged_path);
  auto drop_stage = [&] { static_cast<void>(remove_tree(staging_dir)); };
  if (!digest) {
    drop_stage();
    return digest.err();
  }
  if (digest->size != expected_size) {
    drop_stage();
    return fail(errc::checksum_mismatch,
                "size mismatch: the staged data has " + std::to_string(digest->size) +
                    " bytes, the stage declared " + std::to_string(expected_size) +
                    "; the upload was discarded");
  }
  if (digest->checksum != expected_checksum) {
    drop_stage();
    return fail(errc::checksum_mismatch, "checksum mismatch: the staged data has " +
                                             digest->checksum + ", the stage declared " +
                                             expected_checksum + "; the upload was discarded");
  }
  fs::create_directories(fs::path{final_path}.parent_path(), ec);
  if (ec)
    return fail(errc::internal, "cannot create " + fs::path{final_path}.parent_path().string() +
                                    ": " + ec.message());
  if (fs::exists(fs::symlink_status(final_path, ec))) fs::remove_all(final_path, ec);
  fs::rename(staged_path, final_path, ec);
  if (ec)
    return fail(errc::internal, "cannot move " + staged_path + " to " + final_path + ": " +
                                    ec.message() +
                                    " (staging and store must be on one file system)");
  drop_stage();
  return digest->size;
}

status remove_tree(const std::string& path) {
  if (path.size() < 2 || path.front() != '/')
    return fail(errc::internal, "refusing to remove a relative path: " + path);
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return fail(errc::internal, "cannot remove " + path + ": " + ec.message());
  return {};
}

expected<size_t> sweep_staging(const std::string& staging_root, const std::set<std::string>& keep,
                               size_t max) {
  std::error_code ec;
  fs::directory_iterator it{staging_root, ec};
  if (ec) return size_t{0};  // nothing staged yet
  size_t removed = 0;
  size_t seen = 0;
  for (; it != fs::directory_iterator{} && seen < max * 10 && removed < max; it.increment(ec)) {
    if (ec) break;
    ++seen;
    auto name = it->path().filename().string();
    if (!name.starts_with("upload-") || keep.contains(it->path().string())) continue;
    if (remove_tree(it->path().string())) ++removed;
  }
  return removed;
}

status prepare_store_dirs(const std::string& staging_path, const std::string& store_path) {
  for (const auto& dir : {staging_path, store_path}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return fail(errc::internal, "cannot create " + dir + ": " + ec.message());
  }
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
