// The client side of the native data channel: upload a local file to, or download one from, a
// node's data port with a ticket from its control plane. Downloads keep a journal next to the
// destination, so a download killed at any point resumes from its committed ranges (which
// globus-url-copy's own downloads do not).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "net/data/transfer_options.hpp"
#include "runtime/expected.hpp"

namespace librarian::data {

struct data_endpoint {
  std::string host;
  uint16_t port = 0;
};

// Sends [partial_offset, +partial_length) of local_path (the whole file by default; the ticket's
// size must equal the window's length). Resumes from the server's committed ranges.
[[nodiscard]] expected<transfer_report> put_file(const data_endpoint& to, const std::string& ticket,
                                                 const std::filesystem::path& local_path,
                                                 const transfer_options& options);

// Fetches the ticket's window into local_path (a ".librarian-part" file until it verifies; a
// device like /dev/null is written directly and not journaled).
[[nodiscard]] expected<transfer_report> get_file(const data_endpoint& from, const std::string& ticket,
                                                 const std::filesystem::path& local_path,
                                                 const transfer_options& options);

// Errors worth another attempt (the network, a stall, a corrupt block), as opposed to permanent
// ones (no such file, no permission, full disk): FTS3's classification.
[[nodiscard]] bool retryable(const error& err);

}  // namespace librarian::data
