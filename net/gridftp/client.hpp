// GridFTP client: downloads, uploads and third-party transfers against any GridFTP server
// (ours, globus-gridftp-server) over clear-text login. `librarian copy` calls these for ftp://
// URLs. Blocking; call from a worker thread, never from an actor.
//
//   data::transfer_options opts;              // streams, block size, tcp buffer, checksum, ...
//   opts.streams = 4;                         // 0 = stream mode (MODE S), N >= 1 = MODE E, N
//   streams auto r = gridftp::download("ftp://127.0.0.1:2811/srv/f", "/tmp/f", opts); auto r =
//   gridftp::upload("/tmp/f", "ftp://user:pw@host:2811/srv/f", opts); data::range_set done; // keep
//   across retries to restart with REST ranges auto r = gridftp::third_party("ftp://a:2811/x",
//   "ftp://b:2811/y", opts, &done);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/data/range_set.hpp"
#include "net/data/transfer_options.hpp"
#include "net/gridftp/url.hpp"
#include "runtime/expected.hpp"

namespace librarian::gridftp {

// Downloads src to local_path. Data goes to local_path + ".gridftp-part" and is renamed only when
// complete (and, with opts.verify_checksum, when the server's CKSM matches). The ranges received
// are persisted (synced) beside it in local_path + ".gridftp-part.ranges" every second, so a
// rerun after a crash or a failure sends REST with them and fetches only the rest.
// Partial transfers (opts.partial_offset/length) use ERET; the local file is the window.
[[nodiscard]] expected<data::transfer_report> download(std::string_view src_url,
                                                       const std::string& local_path,
                                                       const data::transfer_options& opts);

// Uploads local_path to dst. `committed` (optional, in and out) holds the ranges the server has
// reported with 111 markers; pass the same set to a retry and it restarts with REST. Partial
// transfers send the local window [offset, offset+length) with ESTO A offset.
[[nodiscard]] expected<data::transfer_report> upload(const std::string& local_path,
                                                     std::string_view dst_url,
                                                     const data::transfer_options& opts,
                                                     data::range_set* committed = nullptr);

// Server-to-server: the destination listens (PASV), the source connects to it (PORT) with
// opts.streams streams. `committed` as for upload (REST is sent to both servers).
[[nodiscard]] expected<data::transfer_report> third_party(std::string_view src_url,
                                                          std::string_view dst_url,
                                                          const data::transfer_options& opts,
                                                          data::range_set* committed = nullptr);

// One entry of MLST/MLSD, for `librarian copy -r`, `-sync` and `-cd`.
struct remote_entry {
  std::string name;  // MLSD: the entry's name; MLST: the full path
  bool is_dir = false;
  uint64_t size = 0;
  int64_t mtime_unix = 0;  // seconds, from the Modify fact (UTC)
};
// MLST of the URL's path; errc::not_found when it does not exist.
[[nodiscard]] expected<remote_entry> stat(std::string_view url_text,
                                          const data::transfer_options& opts);
// MLSD of a directory (stream mode, one connection); "." and ".." are left out.
[[nodiscard]] expected<std::vector<remote_entry>> list(std::string_view dir_url,
                                                       const data::transfer_options& opts);
// MKD; an existing directory is not an error.
[[nodiscard]] status make_directory(std::string_view dir_url, const data::transfer_options& opts);

// The hex digest a server computes with CKSM ALG 0 -1 PATH (alg: "MD5", "ADLER32", "XXH3").
[[nodiscard]] expected<std::string> remote_checksum(std::string_view url_text, std::string_view alg,
                                                    const data::transfer_options& opts);

}  // namespace librarian::gridftp
