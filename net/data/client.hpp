// The client side of the native data channel: upload a local file to, or download one from, a
// node's data port with a ticket from its control plane. Downloads keep a journal next to the
// destination, so a download killed at any point resumes from its committed ranges (which
// globus-url-copy's own downloads do not).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

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
[[nodiscard]] expected<transfer_report> get_file(const data_endpoint& from,
                                                 const std::string& ticket,
                                                 const std::filesystem::path& local_path,
                                                 const transfer_options& options);

// Many small files over one control connection of a tree ticket, pipelined: up to `window`
// requests are in flight before the first reply is read. Each file is verified end to end and
// written atomically (temporary name, then rename). A failed file does not stop the others.
struct tree_item {
  std::filesystem::path local;
  std::string relative;  // path under the ticket's directory
};
struct tree_item_result {
  std::optional<error> failure;
  std::string checksum;
  uint64_t bytes = 0;
};
[[nodiscard]] expected<std::vector<tree_item_result>> put_tree_files(
    const data_endpoint& to, const std::string& ticket, const std::vector<tree_item>& items,
    const transfer_options& options, size_t window = 32);
[[nodiscard]] expected<std::vector<tree_item_result>> get_tree_files(
    const data_endpoint& from, const std::string& ticket, const std::vector<tree_item>& items,
    const transfer_options& options, size_t window = 32);

// Errors worth another attempt (the network, a stall, a corrupt block), as opposed to permanent
// ones (no such file, no permission, full disk): FTS3's classification.
[[nodiscard]] bool retryable(const error& err);

}  // namespace librarian::data
