// The receiving end of a transfer, shared by every stream of it: writes each block at its offset
// in a temporary ".librarian-part" file, hashes the bytes in file order as they arrive (blocks that
// come early wait in a bounded reorder buffer; beyond it they are re-read from the page cache), and
// keeps a journal of the byte ranges that are on stable storage. A restart reopens the journal and
// resumes from that *set* of ranges. Only finish() puts the file under its final name, and only
// after the whole-file checksum verified.
//
// Files next to the destination D:  D.librarian-part (data), D.librarian-journal (ranges).
// Journal: a header line "librarian-journal v1 begin=B length=L alg=A" and then one line
// "R START-END" per synced range, appended after the data is fdatasync'ed and then synced itself.
// A torn or invalid journal line ends the journal there (what follows it is not trusted).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "net/data/block.hpp"
#include "net/data/buffer_pool.hpp"
#include "net/data/checksum.hpp"
#include "net/data/direct_io.hpp"
#include "net/data/range_set.hpp"
#include "runtime/expected.hpp"

namespace librarian::data {

struct receiver_config {
  std::filesystem::path final_path;
  // The window of the source this transfer carries; blocks carry source offsets and land at
  // (offset - window_begin) in the destination, so a partial transfer makes a file of its bytes.
  uint64_t window_begin = 0;
  uint64_t window_length = 0;
  checksum_alg alg = checksum_alg::xxh3;
  bool hash = true;                          // compute the checksum inline
  bool discard = false;                      // destination is a device (e.g. /dev/null)
  uint64_t sync_every_bytes = 256ull << 20;  // data synced and journaled at least this often
  uint32_t sync_every_ms = 1000;             // ... and at least this often while data arrives
  uint64_t reorder_bytes_max = 64ull << 20;  // early blocks kept in memory for hashing
  uint64_t block_bytes_max = 64ull << 20;
  bool resume = true;  // false: discard any existing journal and start over
  // Write aligned blocks with O_DIRECT (see direct_writer).
  bool direct_io = true;
};

class receiver {
 public:
  // Creates or resumes the part file. Errors: the directory is missing (not_found), no permission
  // or no space (unavailable / storage_full).
  [[nodiscard]] static expected<std::unique_ptr<receiver>> open(receiver_config config,
                                                                std::shared_ptr<buffer_pool> pool);
  ~receiver();
  receiver(const receiver&) = delete;
  receiver& operator=(const receiver&) = delete;

  // Ranges (source offsets) that were on stable storage when the journal was last written: what
  // a sender may skip.
  [[nodiscard]] range_set committed() const;
  [[nodiscard]] block_limits limits() const;
  [[nodiscard]] uint64_t bytes_received() const { return bytes_received_.load(); }
  [[nodiscard]] uint64_t bytes_resumed() const { return bytes_resumed_; }
  // Aligned blocks are being written with O_DIRECT (see receiver_config::direct_io).
  [[nodiscard]] bool writes_direct() const { return direct_ && direct_->active(); }

  // Thread-safe: called by every stream with a validated header and its payload.
  [[nodiscard]] status write_block(const block_header& header, block_buffer&& payload);
  // fdatasync the data, then append the newly covered ranges to the journal and sync it.
  [[nodiscard]] status sync();
  // All bytes present? Hash what is left, compare with expected ("ALG:::HEX" or "" to skip the
  // comparison), and on success rename into place and drop the journal. Returns "ALG:::HEX" (or
  // "" when hashing is off). On a checksum mismatch nothing is renamed; the caller decides.
  [[nodiscard]] expected<std::string> finish(const std::string& expected_checksum);
  // Forget everything received: remove the part file and the journal (after a mismatch, so the
  // retry starts clean and no corrupt byte survives).
  void abandon();
  [[nodiscard]] range_set missing() const;

  static std::filesystem::path part_path(const std::filesystem::path& final_path);
  static std::filesystem::path journal_path(const std::filesystem::path& final_path);

 private:
  receiver(receiver_config config, std::shared_ptr<buffer_pool> pool);
  [[nodiscard]] status load_or_create_journal();
  [[nodiscard]] status hash_in_order_locked();
  [[nodiscard]] status hash_from_file_locked(uint64_t end);

  receiver_config config_;
  std::shared_ptr<buffer_pool> pool_;
  int data_fd_ = -1;
  std::unique_ptr<direct_writer> direct_;  // aligned blocks, when config_.direct_io
  int journal_fd_ = -1;
  std::atomic<uint64_t> bytes_received_{0};
  uint64_t bytes_resumed_ = 0;
  std::atomic<uint64_t> unsynced_bytes_{0};
  std::atomic<int64_t> last_sync_ns_{0};

  mutable std::mutex mu_;              // guards everything below
  std::condition_variable hashed_cv_;  // the hash watermark moved (discarding sinks wait on it)
  range_set written_;                  // pwrite'd (maybe not yet synced)
  range_set journaled_;                // synced and in the journal
  std::unique_ptr<checksum_stream> hash_;
  uint64_t hashed_until_ = 0;  // source offset: bytes before it are hashed
  std::map<uint64_t, block_buffer> early_;
  uint64_t early_bytes_ = 0;
  bool finished_ = false;

  std::mutex sync_mu_;  // one sync at a time
};

}  // namespace librarian::data

namespace librarian::data {
// Reads MODE E blocks from one connected stream into the receiver until EOD; each header is
// validated against the receiver's limits before its payload is read.
[[nodiscard]] status receive_stream(int fd, receiver& into, buffer_pool& pool,
                                    const std::function<void(uint64_t)>& on_received = {});
}  // namespace librarian::data
