// The native data channel end to end on loopback, in one process: server, tickets and client.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "net/data/client.hpp"
#include "net/data/receiver.hpp"
#include "net/data/sender.hpp"
#include "net/data/server.hpp"
#include "net/data/wire.hpp"

using namespace librarian;
using namespace librarian::data;
namespace fs = std::filesystem;

namespace {

struct fixture {
  fs::path dir;
  std::shared_ptr<ticket_registry> tickets = std::make_shared<ticket_registry>();
  std::unique_ptr<data_server> server;

  fixture() {
    dir = fs::temp_directory_path() / ("unit_data_channel_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    data_server_options opts;
    opts.stall_timeout = std::chrono::milliseconds(5000);
    auto s = data_server::start(opts, tickets);
    REQUIRE(s.has_value());
    server = std::move(*s);
  }
  ~fixture() {
    server->stop();
    fs::remove_all(dir);
  }
  data_endpoint endpoint() const { return {"127.0.0.1", server->port()}; }

  std::string ticket(ticket_mode mode, const fs::path& path, uint64_t size = 0) {
    ticket_grant g;
    g.mode = mode;
    g.path = path;
    g.size = size;
    g.ttl = std::chrono::minutes(5);
    return tickets->issue(g).value();
  }
};

fs::path random_file(const fs::path& path, size_t bytes, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string data(bytes, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  std::ofstream(path, std::ios::binary) << data;
  return path;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

transfer_options small_blocks(unsigned streams = 4) {
  transfer_options o;
  o.streams = streams;
  o.block_bytes = 256 * 1024;
  o.stall_timeout = std::chrono::milliseconds(5000);
  return o;
}

}  // namespace

TEST_CASE("a file goes up and comes back byte-identical over 4 streams, verified inline") {
  fixture f;
  auto src = random_file(f.dir / "src", 20 * 1024 * 1024 + 12345, 1);
  auto dst = f.dir / "uploaded";
  auto up = put_file(f.endpoint(), f.ticket(ticket_mode::put, dst, fs::file_size(src)), src,
                     small_blocks());
  REQUIRE_MESSAGE(up.has_value(), up.err().describe());
  CHECK(slurp(dst) == slurp(src));
  CHECK(up->checksum == "xxh3:::" + checksum_file(src, checksum_alg::xxh3).value());
  CHECK_FALSE(fs::exists(receiver::part_path(dst)));
  CHECK_FALSE(fs::exists(receiver::journal_path(dst)));

  auto back = f.dir / "downloaded";
  auto down = get_file(f.endpoint(), f.ticket(ticket_mode::get, dst), back, small_blocks(3));
  REQUIRE_MESSAGE(down.has_value(), down.err().describe());
  CHECK(slurp(back) == slurp(src));
  CHECK(down->checksum == up->checksum);
}

TEST_CASE("a partial download fetches exactly the requested window") {
  fixture f;
  auto src = random_file(f.dir / "src", 3 * 1024 * 1024, 2);
  ticket_grant g;
  g.mode = ticket_mode::get;
  g.path = src;
  g.offset = 1000;
  g.length = 2 * 1024 * 1024 + 7;
  g.ttl = std::chrono::minutes(1);
  auto t = f.tickets->issue(g).value();
  auto out = f.dir / "part";
  auto r = get_file(f.endpoint(), t, out, small_blocks(2));
  REQUIRE_MESSAGE(r.has_value(), r.err().describe());
  CHECK(slurp(out) == slurp(src).substr(1000, 2 * 1024 * 1024 + 7));
}

TEST_CASE("an upload interrupted after some ranges were committed resumes from that set") {
  fixture f;
  const size_t size = 8 * 1024 * 1024;
  auto src = random_file(f.dir / "src", size, 3);
  auto dst = f.dir / "resumed";
  const std::string data = slurp(src);
  {  // What a receiver killed mid-transfer leaves behind: two disjoint committed ranges.
    receiver_config rc;
    rc.final_path = dst;
    rc.window_length = size;
    auto pool = std::make_shared<buffer_pool>(1u << 20, 4);
    auto rx = receiver::open(rc, pool).value();
    for (uint64_t off : {uint64_t{0}, uint64_t{3u << 20}}) {
      block_buffer b(data.begin() + static_cast<long>(off),
                     data.begin() + static_cast<long>(off + (1u << 20)));
      REQUIRE(rx->write_block({0, 1u << 20, off}, std::move(b)).has_value());
    }
    REQUIRE(rx->sync().has_value());
  }
  CHECK(fs::exists(receiver::journal_path(dst)));
  auto up = put_file(f.endpoint(), f.ticket(ticket_mode::put, dst, size), src, small_blocks());
  REQUIRE_MESSAGE(up.has_value(), up.err().describe());
  CHECK(up->bytes_resumed == 2u << 20);
  CHECK(up->bytes == size - (2u << 20));
  CHECK(slurp(dst) == data);
}

TEST_CASE("aligned blocks bypass the page cache, the others go through it, and the file is whole") {
  fixture f;
  const size_t size = 3 * 65536 + 777;
  const std::string data = slurp(random_file(f.dir / "src", size, 11));
  // Aligned, unaligned length, unaligned offset, aligned, tail; written out of order.
  const std::vector<std::pair<uint64_t, uint64_t>> blocks = {
      {131072, 65536}, {65536, 1000}, {0, 65536}, {196608, 777}, {66536, 64536}};
  checksum_stream whole(checksum_alg::xxh3);
  whole.update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), size));
  const std::string want = format_checksum(checksum_alg::xxh3, whole.hex_digest());
  // Does this file system take O_DIRECT at all? (tmpfs before Linux 6.6 does not.)
  const fs::path probe = f.dir / "probe";
  std::ofstream(probe) << "x";
  const int probe_fd = ::open(probe.c_str(), O_WRONLY | O_DIRECT);
  const bool fs_direct = probe_fd >= 0;
  if (probe_fd >= 0) ::close(probe_fd);
  for (bool direct : {true, false}) {
    CAPTURE(direct);
    const fs::path dst = f.dir / (direct ? "direct" : "buffered");
    receiver_config rc;
    rc.final_path = dst;
    rc.window_length = size;
    rc.direct_io = direct;
    auto pool = std::make_shared<buffer_pool>(65536, 4);
    auto rx = receiver::open(rc, pool).value();
    CHECK(rx->writes_direct() == (direct && fs_direct));
    for (auto [off, len] : blocks) {
      block_buffer b = pool->take();
      b.assign(data.begin() + static_cast<long>(off), data.begin() + static_cast<long>(off + len));
      REQUIRE(rx->write_block({0, len, off}, std::move(b)).has_value());
    }
    CHECK(rx->writes_direct() == (direct && fs_direct));  // no direct write was refused
    auto sum = rx->finish(want);
    REQUIRE_MESSAGE(sum.has_value(), sum.err().describe());
    CHECK(*sum == want);
    CHECK(slurp(dst) == data);
  }
}

TEST_CASE("a block corrupted in flight is caught; nothing reaches the final name; a retry heals") {
  fixture f;
  auto src = random_file(f.dir / "src", 4 * 1024 * 1024, 4);
  auto dst = f.dir / "corrupt";
  ::setenv("LIBRARIAN_FAULT_CORRUPT_ONCE", "1500000", 1);
  auto first = put_file(f.endpoint(), f.ticket(ticket_mode::put, dst, fs::file_size(src)), src,
                        small_blocks());
  ::unsetenv("LIBRARIAN_FAULT_CORRUPT_ONCE");
  REQUIRE_FALSE(first.has_value());
  CHECK(first.err().code == errc::checksum_mismatch);
  CHECK(retryable(first.err()));
  CHECK_FALSE(fs::exists(dst));
  CHECK_FALSE(fs::exists(receiver::part_path(dst)));
  auto second = put_file(f.endpoint(), f.ticket(ticket_mode::put, dst, fs::file_size(src)), src,
                         small_blocks());
  REQUIRE_MESSAGE(second.has_value(), second.err().describe());
  CHECK(slurp(dst) == slurp(src));
  CHECK(f.server->stats().checksum_mismatches == 1);
}

TEST_CASE("unknown tickets, wrong sizes and garbage are refused and the server keeps serving") {
  fixture f;
  auto src = random_file(f.dir / "src", 100000, 5);
  auto bad = put_file(f.endpoint(), std::string(32, 'a'), src, small_blocks());
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.err().code == errc::unauthenticated);
  auto wrong =
      put_file(f.endpoint(), f.ticket(ticket_mode::put, f.dir / "w", 99), src, small_blocks());
  REQUIRE_FALSE(wrong.has_value());
  CHECK(wrong.err().code == errc::invalid_argument);

  {  // A connection that sends a giant frame length, then one with a block past the end.
    int fd = connect_tcp("127.0.0.1", f.server->port(), std::chrono::milliseconds(2000)).value();
    const uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
    CHECK(write_all(fd, huge, 4).has_value());
    auto reply = recv_frame(fd);
    REQUIRE(reply.has_value());
    CHECK_FALSE(check_reply(*reply).has_value());
    ::close(fd);
  }
  auto dst = f.dir / "target";
  auto t = f.ticket(ticket_mode::put, dst, 100000);
  {
    int control =
        connect_tcp("127.0.0.1", f.server->port(), std::chrono::milliseconds(2000)).value();
    REQUIRE(
        send_frame(control, {{"op", "attach"}, {"ticket", t}, {"role", "control"}}).has_value());
    REQUIRE(check_reply(recv_frame(control).value()).has_value());
    int data = connect_tcp("127.0.0.1", f.server->port(), std::chrono::milliseconds(2000)).value();
    REQUIRE(send_frame(data, {{"op", "attach"}, {"ticket", t}, {"role", "data"}}).has_value());
    REQUIRE(check_reply(recv_frame(data).value()).has_value());
    auto head = encode({0, 10, 99995});  // runs past the announced 100000 bytes
    REQUIRE(write_all(data, head.data(), head.size()).has_value());
    auto refusal = recv_frame(data);
    REQUIRE(refusal.has_value());
    auto why = check_reply(*refusal);
    REQUIRE_FALSE(why.has_value());
    CHECK(why.err().message.find("past the end") != std::string::npos);
    ::close(data);
    ::close(control);
  }
  CHECK_FALSE(fs::exists(dst));
  auto good =
      put_file(f.endpoint(), f.ticket(ticket_mode::put, f.dir / "ok", 100000), src, small_blocks());
  REQUIRE_MESSAGE(good.has_value(), good.err().describe());
  CHECK(slurp(f.dir / "ok") == slurp(src));
}

TEST_CASE("a used ticket cannot be replayed") {
  fixture f;
  auto src = random_file(f.dir / "src", 5000, 6);
  auto t = f.ticket(ticket_mode::put, f.dir / "once", 5000);
  REQUIRE(put_file(f.endpoint(), t, src, small_blocks(1)).has_value());
  auto again = put_file(f.endpoint(), t, src, small_blocks(1));
  REQUIRE_FALSE(again.has_value());
  CHECK(again.err().code == errc::unauthenticated);
}

TEST_CASE("blocks go by sendfile to a peer that is not on loopback, and by copy to one that is") {
  fixture f;
  {  // Which peers count as local.
    int tcp = connect_tcp("127.0.0.1", f.server->port(), std::chrono::milliseconds(2000)).value();
    CHECK(peer_is_loopback(tcp));
    ::close(tcp);
    int pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
    CHECK_FALSE(peer_is_loopback(pair[0]));
    ::close(pair[0]);
    ::close(pair[1]);
    CHECK_FALSE(peer_is_loopback(-1));
  }
  // Over socket pairs (not loopback) send_blocks maps the file, hashes the mapping and sends the
  // payloads by sendfile: the zero-copy path that TCP tests on loopback no longer take.
  const size_t size = 5 * 1024 * 1024 + 123;
  auto src = random_file(f.dir / "zc-src", size, 21);
  const int file = ::open(src.c_str(), O_RDONLY);
  REQUIRE(file >= 0);
  int a[2], b[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, a) == 0);
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, b) == 0);
  receiver_config rc;
  rc.final_path = f.dir / "zc-dst";
  rc.window_length = size;
  auto pool = std::make_shared<buffer_pool>(1u << 20, 8);
  auto rx = receiver::open(rc, pool).value();
  status got_a, got_b;
  std::thread ta([&] { got_a = receive_stream(a[1], *rx, *pool, nullptr); });
  std::thread tb([&] { got_b = receive_stream(b[1], *rx, *pool, nullptr); });
  send_job job;
  job.file_fd = file;
  job.file_name = src.string();
  job.window_length = size;
  job.block_bytes = 1u << 20;
  const int streams[] = {a[0], b[0]};
  buffer_pool send_pool(1u << 20, 8);
  auto sum = send_blocks(job, streams, send_pool);
  ta.join();
  tb.join();
  for (int fd : {a[0], a[1], b[0], b[1], file}) ::close(fd);
  REQUIRE_MESSAGE(sum.has_value(), sum.err().describe());
  REQUIRE_MESSAGE(got_a.has_value(), got_a.err().describe());
  REQUIRE_MESSAGE(got_b.has_value(), got_b.err().describe());
  auto done = rx->finish(*sum);
  REQUIRE_MESSAGE(done.has_value(), done.err().describe());
  CHECK(*done == *sum);
  CHECK(slurp(rc.final_path) == slurp(src));
}

TEST_CASE("a download into /dev/null discards the bytes but still verifies them") {
  fixture f;
  auto src = random_file(f.dir / "src", 2 * 1024 * 1024, 7);
  auto r = get_file(f.endpoint(), f.ticket(ticket_mode::get, src), "/dev/null", small_blocks());
  REQUIRE_MESSAGE(r.has_value(), r.err().describe());
  CHECK(r->checksum == "xxh3:::" + checksum_file(src, checksum_alg::xxh3).value());
}

TEST_CASE("small files travel pipelined on a tree ticket; a bad member fails alone") {
  fixture f;
  fs::create_directories(f.dir / "tree");
  std::vector<tree_item> items;
  for (int i = 0; i < 50; ++i) {
    auto p = random_file(f.dir / ("s" + std::to_string(i)), 1000 + 97 * i, 100 + i);
    items.push_back({p, "sub" + std::to_string(i % 3) + "/s" + std::to_string(i)});
  }
  items.push_back({items[0].local, "../escape"});
  items.push_back({items[0].local, "/abs"});
  items.push_back({f.dir / "no-such-local-file", "missing"});
  ticket_grant g;
  g.mode = ticket_mode::put;
  g.path = f.dir / "tree";
  g.tree = true;
  g.ttl = std::chrono::minutes(1);
  auto t = f.tickets->issue(g).value();
  auto up = put_tree_files(f.endpoint(), t, items, small_blocks(), 8);
  REQUIRE_MESSAGE(up.has_value(), up.err().describe());
  for (int i = 0; i < 50; ++i) {
    CHECK_FALSE((*up)[i].failure.has_value());
    CHECK(slurp(f.dir / "tree" / items[i].relative) == slurp(items[i].local));
  }
  CHECK((*up)[50].failure->code == errc::invalid_argument);
  CHECK((*up)[51].failure->code == errc::invalid_argument);
  CHECK((*up)[52].failure->code == errc::not_found);
  CHECK_FALSE(fs::exists(f.dir / "escape"));

  g.mode = ticket_mode::get;
  auto t2 = f.tickets->issue(g).value();
  std::vector<tree_item> back;
  for (int i = 0; i < 50; ++i)
    back.push_back({f.dir / "back" / items[i].relative, items[i].relative});
  back.push_back({f.dir / "back" / "nope", "not/there"});
  auto down = get_tree_files(f.endpoint(), t2, back, small_blocks(), 4);
  REQUIRE_MESSAGE(down.has_value(), down.err().describe());
  for (int i = 0; i < 50; ++i) CHECK(slurp(back[i].local) == slurp(items[i].local));
  CHECK((*down)[50].failure->code == errc::not_found);
}

TEST_CASE(
    "a discarding sink with a tiny reorder buffer holds early blocks back instead of losing them") {
  const size_t block = 64 * 1024, blocks = 64;
  std::mt19937 rng(9);
  std::string data(block * blocks, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  receiver_config rc;
  rc.final_path = "/dev/null";
  rc.window_length = data.size();
  rc.discard = true;
  rc.reorder_bytes_max = block;  // room for one early block
  auto pool = std::make_shared<buffer_pool>(block, 8);
  auto rx = receiver::open(rc, pool).value();
  // Two "streams", each delivering its blocks in offset order, interleaved by the scheduler.
  auto stream = [&](size_t first) {
    for (size_t b = first; b < blocks; b += 2) {
      block_buffer buf(data.begin() + static_cast<long>(b * block),
                       data.begin() + static_cast<long>((b + 1) * block));
      REQUIRE(rx->write_block({0, block, b * block}, std::move(buf)).has_value());
    }
  };
  std::thread odd(stream, 1), even(stream, 0);
  odd.join();
  even.join();
  checksum_stream want;
  want.update(data);
  CHECK(rx->finish("").value() == "xxh3:::" + want.hex_digest());
}

TEST_CASE("the registry stamps a ticket's expiry from its own clock; no lifetime, no ticket") {
  ticket_registry registry;
  ticket_grant g;
  g.path = "/tmp/x";
  auto none = registry.issue(g);
  REQUIRE_FALSE(none.has_value());
  CHECK(none.err().code == errc::invalid_argument);
  CHECK(registry.live() == 0);

  g.ttl = std::chrono::milliseconds(30);
  auto before = ticket_registry::clock::now();
  auto t = registry.issue(g);
  REQUIRE(t.has_value());
  auto found = registry.find(*t);
  REQUIRE(found.has_value());
  CHECK((*found)->grant.expires >= before + std::chrono::milliseconds(30));
  CHECK((*found)->grant.expires <= ticket_registry::clock::now() + std::chrono::milliseconds(30));
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  auto late = registry.find(*t);
  REQUIRE_FALSE(late.has_value());
  CHECK(late.err().code == errc::unauthenticated);
}

TEST_CASE(
    "a buffered reader returns frames and raw bytes as written, and says where the peer left") {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
  std::string big(100 * 1024, 'x');  // past direct_read_bytes: read around the buffer
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  std::thread writer([&] {
    std::string out;
    append_frame(out, {{"n", 1}});
    out += "abc";
    append_frame(out, {{"n", 2}});
    CHECK(write_all(fds[0], out.data(), out.size()).has_value());
    CHECK(write_all(fds[0], big.data(), big.size()).has_value());
    append_frame(out, {{"n", 3}});  // out still holds the first part: a frame, then half a frame
    CHECK(write_all(fds[0], out.data(), out.size() - 3).has_value());
    ::close(fds[0]);
  });
  buffered_reader in(fds[1]);
  CHECK(in.recv_frame().value()["n"] == 1);
  std::string abc(3, '\0');
  REQUIRE(in.read_exact(abc.data(), 3).has_value());
  CHECK(abc == "abc");
  CHECK(in.recv_frame().value()["n"] == 2);
  std::string got(big.size(), '\0');
  REQUIRE(in.read_exact(got.data(), got.size()).has_value());
  CHECK(got == big);
  CHECK(in.recv_frame().value()["n"] == 1);
  REQUIRE(in.read_exact(abc.data(), 3).has_value());
  CHECK(in.recv_frame().value()["n"] == 2);
  auto cut = in.recv_frame();  // the connection ends inside this frame
  REQUIRE_FALSE(cut.has_value());
  CHECK(cut.err().code == errc::unavailable);
  auto after = in.recv_frame();  // and nothing follows
  REQUIRE_FALSE(after.has_value());
  CHECK(after.err().code == errc::not_found);
  writer.join();
  ::close(fds[1]);
}
