// The Globus backend of the replication pipeline (docs/globus.md, docs/replication.md): one
// send-queue batch = one Globus Transfer task from this node's endpoint to the destination
// store's endpoint, under the batch's submission id so a resubmission never starts a second task.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/transfer/mover.hpp"
#include "net/globus/globus_client.hpp"

namespace librarian::globus {

// The node's `librarian.globus_*` configuration values, as read from its config file.
struct globus_config_keys {
  std::string client_id;                                               // globus_client_id
  bool client_native_app = false;                                      // globus_client_native_app
  std::string local_endpoint_id;                                       // globus_local_endpoint_id
  std::string client_secret_file;                                      // globus_client_secret_file
  std::string local_root;                                              // globus_local_root
  std::string auth_url = "https://auth.globus.org";                    // globus_auth_url
  std::string transfer_url = "https://transfer.api.globus.org/v0.10";  // globus_transfer_url
  bool encrypt_transfers = true;                                       // globus_encrypt_transfers
};

// Validates the keys and reads the secret (client secret, or refresh token for a native app)
// from its file: the file must exist, be a regular file not readable or writable by every user,
// and hold one non-empty line. Every error is invalid_argument and names the config key, so a
// node with globus_enable and no usable credentials stops at startup with a clear message.
[[nodiscard]] expected<globus_settings> globus_settings_from(const globus_config_keys& keys);

// The path an endpoint sees for `local_path`: `local_root` is cut off the front and
// `endpoint_root` put in its place. A root of "" or "/" means the endpoint sees this machine's
// absolute paths (the same-absolute-path rule). invalid_argument for a relative or unclean path
// (".", "..", "//") and for a path outside `local_root`.
[[nodiscard]] expected<std::string> endpoint_path(std::string_view local_path,
                                                  std::string_view local_root,
                                                  std::string_view endpoint_root = "/");

// The external checksum Globus can verify for a librarian checksum ("md5:::HEX" → MD5,
// "adler32:::HEX" → ADLER32); nullopt for xxh3 or none (verify_checksum still compares source
// and destination); invalid_argument for a malformed checksum.
struct globus_checksum {
  std::string hex;
  std::string algorithm;
};
[[nodiscard]] expected<std::optional<globus_checksum>> globus_checksum_for(
    std::string_view checksum);

// At most this many files in one task: keeps the document well under Globus's request size.
inline constexpr size_t batch_files_max = 10'000;

// The task document for `batch` (no I/O): source paths mapped from settings.local_root,
// destination paths verbatim (the destination librarian mapped them already).
[[nodiscard]] expected<transfer_request> build_transfer_request(const globus_settings& settings,
                                                                const transfer::mover_batch& batch,
                                                                std::string submission_id);

// How a Globus task reads to the replicator. `error_events` are the task's error events (used
// only to explain a failure). SUCCEEDED is success even after retried faults: Globus verified
// every file. ACTIVE with faults, INACTIVE and FAILED are failures; retryable unless the fault
// is a permanent one (quota, checksum, permission, not found, credentials).
[[nodiscard]] transfer::task_status task_status_from(const task_document& task,
                                                     const std::vector<task_event>& error_events);

class globus_mover final : public transfer::async_mover {
 public:
  [[nodiscard]] static expected<std::unique_ptr<globus_mover>> create(
      globus_settings settings, http_transport transport = beast_transport,
      monotonic_now_fn now = std::chrono::steady_clock::now);

  [[nodiscard]] std::string name() const override { return "globus"; }
  // The Globus task id. A batch without a submission id gets one from Globus. Errors:
  // invalid_argument / not_found / forbidden / unauthenticated are permanent; unavailable and
  // timeout (network, 5xx, 429, the pending-task limit) are worth retrying with the SAME
  // submission id, which can never start a second task.
  [[nodiscard]] expected<std::string> submit(const transfer::mover_batch& batch) override;
  // A task reported failed while Globus still holds it (ACTIVE with faults, INACTIVE) is
  // cancelled here, so a retry under a new submission id never races the old task. An unknown
  // task id is task_state::unknown.
  [[nodiscard]] expected<transfer::task_status> poll(const std::string& task_id) override;
  [[nodiscard]] status cancel(const std::string& task_id) override;

  [[nodiscard]] const globus_client& client() const { return client_; }

  explicit globus_mover(globus_client client) : client_(std::move(client)) {}

 private:
  globus_client client_;
};

}  // namespace librarian::globus
