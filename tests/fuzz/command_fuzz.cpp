// libFuzzer target: the GridFTP control channel's text layer (line splitting, command parsing,
// every argument grammar, reply parsing, path normalization) and the client's URL parser. Any
// input must be refused or accepted without a crash, a sanitizer report or an unbounded buffer.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "net/gridftp/command.hpp"
#include "net/gridftp/paths.hpp"
#include "net/gridftp/url.hpp"
#include "runtime/assert.hpp"

using namespace librarian;
using namespace librarian::gridftp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto jail = path_jail::make({"/tmp"});
  std::string_view input{reinterpret_cast<const char*>(data), size};
  line_reader lines{512};
  reply_reader replies;
  // Feed in two pieces so partial lines are exercised.
  lines.feed(input.substr(0, size / 2));
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < 10000; ++i) {
      auto line = lines.next_line();
      if (!line || !line->has_value()) break;
      const std::string& text = **line;
      LIB_ASSERT(text.size() <= 512);
      auto r = replies.feed_line(text);
      static_cast<void>(r);
      // URLs come from users of `librarian copy`.
      if (auto u = parse_url(text)) {
        LIB_ASSERT(!u->path.empty() && u->path.front() == '/');
        LIB_ASSERT(u->port != 0 && !u->host.empty());
      }
      auto cmd = parse_command(text);
      if (!cmd) continue;
      LIB_ASSERT(cmd->verb.size() >= 3 && cmd->verb.size() <= 4);
      const auto& arg = cmd->arg;
      if (auto p = parse_port_arg(arg))
        LIB_ASSERT(parse_port_arg(format_port_arg(*p))->port == p->port);
      static_cast<void>(parse_eprt_arg(arg));
      static_cast<void>(parse_epsv_reply(arg));
      if (auto n = parse_opts_retr(arg, 32)) LIB_ASSERT(*n >= 1 && *n <= 32);
      if (auto rest = parse_rest(arg); rest && !rest->stream_offset)
        LIB_ASSERT(data::range_set::parse(rest->ranges.to_string())->ranges() ==
                   rest->ranges.ranges());
      if (auto e = parse_eret(arg)) LIB_ASSERT(e->offset <= UINT64_MAX - e->length);
      static_cast<void>(parse_esto(arg));
      static_cast<void>(parse_cksm(arg));
      if (jail) {
        if (auto n = jail->normalize(arg, "/tmp")) {
          // No ".." component survives ("..x" is an ordinary name).
          LIB_ASSERT(n->find("/../") == std::string::npos);
          LIB_ASSERT(!n->ends_with("/.."));
          LIB_ASSERT(n->rfind("/tmp", 0) == 0);
        }
      }
    }
    if (pass == 0) lines.feed(input.substr(size / 2));
    if (!lines.next_line()) break;  // oversized: a server would close here
  }
  return 0;
}
