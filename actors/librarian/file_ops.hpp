// The librarian's blocking file-system and network work, kept apart from the actor (which must
// never block): staging directories, verifying and moving staged uploads into a store, removing
// trees, sweeping orphaned stages and pinging peers. Run only on the librarian's worker threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "actors/librarian/messages.hpp"
#include "runtime/expected.hpp"
#include "runtime/fs.hpp"

namespace librarian::lib {

// Creates dir (and its parents). An existing empty directory is fine (a retried stage).
[[nodiscard]] status make_staging_dir(file_system& fs, const std::string& dir);

// Hashes staged_path; refuses (and deletes the stage) on a size or checksum mismatch; otherwise
// renames it to final_path (making parents; replacing an orphan left there by a crash between
// move and commit -- the catalog has no file of that name, so nothing references it) and removes
// staging_dir. Returns the verified size. durable: the rename is synced (the final directory)
// before returning; a batch that syncs the whole file system once afterwards passes false.
[[nodiscard]] expected<uint64_t> verify_and_store(file_system& fs, const std::string& staged_path,
                                                  const std::string& staging_dir,
                                                  uint64_t expected_size,
                                                  const std::string& expected_checksum,
                                                  const std::string& final_path,
                                                  bool durable = true);

// Removes an upload's staging directory, and its bulk group's directory once that is empty.
[[nodiscard]] status remove_stage(file_system& fs, const std::string& staging_dir);

// Removes a file or tree; a missing path is fine. Refuses paths that are not absolute.
[[nodiscard]] status remove_tree(file_system& fs, const std::string& path);

// Removes entries of staging_root named "upload-*" that are not in keep (stages whose upload row
// is gone, e.g. after a crash between the row's deletion and the directory's), also inside bulk
// groups ("bulk-*", removed once empty). At most max.
[[nodiscard]] expected<size_t> sweep_staging(file_system& fs, const std::string& staging_root,
                                             const std::set<std::string>& keep, size_t max);

// Creates the store's staging and store directories if they are missing.
[[nodiscard]] status prepare_store_dirs(file_system& fs, const std::string& staging_path,
                                        const std::string& store_path);

// Import: up to `max` regular files below root/under (paths relative to root, in byte order of
// the path, strictly after `after`), with their sizes. Skips `exclude` (the store's staging
// area when it lies inside) and the data channel's partial files. complete: nothing is left.
[[nodiscard]] expected<import_batch> walk_store(const file_system& fs, const std::string& root,
                                                const std::string& under, const std::string& after,
                                                size_t max, const std::string& exclude);
// Hashes each of batch's paths below root (size and checksum as the file is now).
void hash_batch(const file_system& fs, const std::string& root, import_batch& batch);

// GET url:port/api/v1/ping with HTTP Basic "user:password"; the round trip in microseconds, or why
// not.
[[nodiscard]] expected<int64_t> ping_peer(const std::string& url, uint32_t port,
                                          const std::string& authenticator,
                                          std::chrono::milliseconds timeout);

}  // namespace librarian::lib
