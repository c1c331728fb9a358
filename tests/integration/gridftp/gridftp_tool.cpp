// Test driver for the GridFTP client library (the integration tests and the benchmark run it;
// users get the same calls through `librarian copy`):
//   gridftp_tool download|upload|3pt SRC DST [-p N] [--verify] [--alg ALG] [--bs N]
//                [--tcp-bs N] [--offset N] [--length N] [--stall-ms N] [--retries N]
//   gridftp_tool cksm URL ALG
//   gridftp_tool stat|list URL      (JSON: name, dir, size, mtime)
// Prints one JSON line with the report, or "error: ..." on stderr with exit code 1.
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "net/gridftp/client.hpp"

using namespace librarian;

int main(int argc, char** argv) {
  CLI::App app{"gridftp_tool: drives the GridFTP client library"};
  std::string verb, a, b, alg = "md5";
  unsigned streams = 0;
  bool verify = false;
  uint64_t block_bytes = 1 << 20, offset = 0, length = 0, stall_ms = 60000;
  int tcp_bs = 0;
  unsigned retries = 0;
  app.add_option("verb", verb)->required();
  app.add_option("a", a)->required();
  app.add_option("b", b);
  app.add_option("-p", streams, "0 = stream mode");
  app.add_flag("--verify", verify);
  app.add_option("--alg", alg);
  app.add_option("--bs", block_bytes);
  app.add_option("--tcp-bs", tcp_bs);
  app.add_option("--offset", offset);
  app.add_option("--length", length);
  app.add_option("--stall-ms", stall_ms);
  app.add_option("--retries", retries, "retry a failed upload/3pt with the committed ranges");
  CLI11_PARSE(app, argc, argv);

  data::transfer_options opts;
  opts.streams = streams;
  opts.block_bytes = block_bytes;
  opts.tcp_buffer_bytes = tcp_bs;
  opts.verify_checksum = verify;
  opts.stall_timeout = std::chrono::milliseconds(stall_ms);
  opts.partial_offset = offset;
  if (length > 0) opts.partial_length = length;
  if (auto parsed = data::parse_checksum_alg(alg)) {
    opts.alg = *parsed;
  } else {
    std::cerr << "error: " << parsed.err().message << "\n";
    return 1;
  }
  if (verb == "cksm") {
    auto hex = gridftp::remote_checksum(a, b.empty() ? "MD5" : b, opts);
    if (!hex) {
      std::cerr << "error: " << hex.err().describe() << "\n";
      return 1;
    }
    std::cout << *hex << "\n";
    return 0;
  }
  if (verb == "stat" || verb == "list") {
    auto json_of = [](const gridftp::remote_entry& e) {
      return nlohmann::json{
          {"name", e.name}, {"dir", e.is_dir}, {"size", e.size}, {"mtime", e.mtime_unix}};
    };
    nlohmann::json out = nlohmann::json::array();
    if (verb == "stat") {
      auto e = gridftp::stat(a, opts);
      if (!e) {
        std::cerr << "error: " << e.err().describe() << "\n";
        return 1;
      }
      out.push_back(json_of(*e));
    } else {
      auto entries = gridftp::list(a, opts);
      if (!entries) {
        std::cerr << "error: " << entries.err().describe() << "\n";
        return 1;
      }
      for (const auto& e : *entries) out.push_back(json_of(e));
    }
    std::cout << out.dump() << "\n";
    return 0;
  }
  data::range_set committed;
  // Bounded retries, each restarting from the ranges the destination reported.
  for (unsigned attempt = 0;; ++attempt) {
    expected<data::transfer_report> r = fail(errc::invalid_argument, "unknown verb " + verb);
    if (verb == "download")
      r = gridftp::download(a, b, opts);
    else if (verb == "upload")
      r = gridftp::upload(a, b, opts, &committed);
    else if (verb == "3pt")
      r = gridftp::third_party(a, b, opts, &committed);
    if (r) {
      nlohmann::json out{{"bytes", r->bytes},
                         {"bytes_total", r->bytes_total},
                         {"bytes_resumed", r->bytes_resumed},
                         {"checksum", r->checksum},
                         {"seconds", r->seconds},
                         {"attempts", attempt + 1}};
      std::cout << out.dump() << "\n";
      return 0;
    }
    std::cerr << "error: " << r.err().describe() << "\n";
    if (attempt >= retries || r.err().code == errc::invalid_argument) return 1;
  }
}
