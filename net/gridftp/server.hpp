// The node's GridFTP server (GridFTP as globus-url-copy and globus-gridftp-server speak it over
// clear text; GSI is not offered): a listener thread plus one thread per control session and one
// per data connection during transfers, all blocking Asio sockets with deadlines. Paths are
// confined to the configured roots (paths.hpp). See docs/gridftp.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/expected.hpp"

namespace librarian::gridftp {

struct server_options {
  std::string bind_address = "127.0.0.1";
  uint16_t port = 0;  // 0 = ephemeral; port() tells which one was bound
  std::vector<std::string> roots;
  bool anonymous = false;     // USER anonymous / ftp with any password
  std::string password_file;  // "name:pbkdf2-sha256$..." lines; empty = none
  size_t sessions_max = 64;   // more are told 421 and closed
  unsigned parallelism_max = 32;
  uint64_t block_bytes = 256 * 1024;  // MODE E block size the server sends (globus' default)
  // Downloads to a client on this host copy the bytes instead of using sendfile (see
  // send_job::copy_for_loopback); tests turn it off to cover sendfile over loopback.
  bool copy_for_loopback = true;
  // MODE E uploads write aligned blocks with O_DIRECT (data::direct_writer).
  bool direct_io = true;
  // A control connection silent this long is closed (421).
  std::chrono::milliseconds idle_timeout{15 * 60 * 1000};
  // No data connection, or no data progress, for this long aborts the transfer (426).
  std::chrono::milliseconds data_timeout{60 * 1000};
  // How often a receiving transfer sends 112 perf markers and 111 range markers.
  std::chrono::milliseconds marker_interval{5000};
};

class server {
 public:
  // Loads the password file, checks the roots, binds and starts accepting.
  [[nodiscard]] static expected<std::unique_ptr<server>> start(server_options options);
  ~server();  // stop()
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  [[nodiscard]] uint16_t port() const;
  // Stops accepting, aborts every session and transfer, joins every thread. Idempotent.
  void stop();

  struct impl;
  explicit server(std::unique_ptr<impl> state);

 private:
  std::unique_ptr<impl> impl_;
};

// Parses a password file's text: one "name:encoded-hash" per line (crypto::hash_password's
// encoding), '#' comments and blank lines ignored. Exposed for tests.
struct password_entry {
  std::string name;
  std::string encoded;
};
[[nodiscard]] expected<std::vector<password_entry>> parse_password_file(std::string_view text,
                                                                        const std::string& source);

}  // namespace librarian::gridftp
