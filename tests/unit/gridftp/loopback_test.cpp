// Our client against our server in process, on loopback: every transfer shape, restart from
// committed ranges, checksums, and refusals. (The Globus tools are exercised by the integration
// test; this one runs everywhere.)
#include <doctest/doctest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "net/gridftp/client.hpp"
#include "net/gridftp/server.hpp"
#include "runtime/crypto/crypto.hpp"

using namespace librarian;
namespace fs = std::filesystem;

namespace {

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng{seed};
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream{p, std::ios::binary} << bytes;
}

struct fixture {
  fs::path base;
  fs::path root;
  std::unique_ptr<gridftp::server> srv;
  std::string content = random_bytes(3'000'017, 7);

  explicit fixture(bool copy_for_loopback = true) {
    char tmpl[] = "/tmp/gridftp-loop-XXXXXX";
    base = ::mkdtemp(tmpl);
    root = base / "root";
    fs::create_directories(root / "src");
    fs::create_directories(root / "dst");
    fs::create_directories(base / "local");
    write_file(root / "src" / "f", content);
    write_file(base / "passwd",
               "# test users\nalice:" + crypto::hash_password("pw-alice-1", 1000) + "\n");
    gridftp::server_options o;
    o.roots = {root.string()};
    o.anonymous = true;
    o.password_file = (base / "passwd").string();
    o.marker_interval = std::chrono::milliseconds(100);
    o.data_timeout = std::chrono::milliseconds(5000);
    o.block_bytes = 64 * 1024;
    o.copy_for_loopback = copy_for_loopback;
    auto s = gridftp::server::start(o);
    REQUIRE(s);
    srv = std::move(*s);
  }
  ~fixture() {
    srv->stop();
    fs::remove_all(base);
  }
  std::string url(const std::string& path, const std::string& user = "") const {
    return "ftp://" + user + "127.0.0.1:" + std::to_string(srv->port()) + path;
  }
};

data::transfer_options options(unsigned streams) {
  data::transfer_options o;
  o.streams = streams;
  o.block_bytes = 100'000;
  o.alg = data::checksum_alg::xxh3;
  o.verify_checksum = true;
  o.stall_timeout = std::chrono::milliseconds(10000);
  return o;
}

}  // namespace

TEST_CASE("downloads and uploads in stream mode and MODE E are byte-identical and verified") {
  fixture f;
  for (unsigned streams : {0u, 1u, 4u}) {
    CAPTURE(streams);
    auto local = f.base / "local" / ("d" + std::to_string(streams));
    auto d =
        gridftp::download(f.url((f.root / "src" / "f").string()), local.string(), options(streams));
    REQUIRE_MESSAGE(d, (d ? "" : d.err().describe()));
    CHECK(read_file(local) == f.content);
    CHECK(d->checksum.rfind("xxh3:::", 0) == 0);
    CHECK(!fs::exists(local.string() + ".gridftp-part"));
    auto remote = f.root / "dst" / ("u" + std::to_string(streams));
    auto u = gridftp::upload(local.string(), f.url(remote.string(), "alice:pw-alice-1@"),
                             options(streams));
    REQUIRE_MESSAGE(u, (u ? "" : u.err().describe()));
    CHECK(read_file(remote) == f.content);
    CHECK(!fs::exists(f.root / "dst" / ("." + remote.filename().string() + ".gridftp-part")));
  }
}

TEST_CASE("downloads are the same whether the server copies the bytes or sends them by sendfile") {
  // Over loopback the server copies (a local client reads copies faster); what it sends to
  // remote peers by sendfile is covered by turning that off.
  for (bool copy : {true, false}) {
    CAPTURE(copy);
    fixture f{copy};
    for (unsigned streams : {0u, 4u}) {
      CAPTURE(streams);
      auto local = f.base / "local" / ("s" + std::to_string(streams));
      auto d = gridftp::download(f.url((f.root / "src" / "f").string()), local.string(),
                                 options(streams));
      REQUIRE_MESSAGE(d, (d ? "" : d.err().describe()));
      CHECK(read_file(local) == f.content);
    }
  }
}

TEST_CASE("an upload in page-aligned blocks is written past the page cache, its tail through it") {
  fixture f;
  auto local = f.base / "local" / "aligned";
  write_file(local, f.content);  // 3,000,017 bytes: 45 whole blocks of 64 KiB and a tail
  auto o = options(4);
  o.block_bytes = 64 * 1024;
  auto remote = f.root / "dst" / "aligned";
  auto u = gridftp::upload(local.string(), f.url(remote.string()), o);
  REQUIRE_MESSAGE(u, (u ? "" : u.err().describe()));
  CHECK(read_file(remote) == f.content);
}

TEST_CASE("a third-party transfer between two sessions of our server") {
  fixture f;
  data::range_set committed;
  auto r = gridftp::third_party(f.url((f.root / "src" / "f").string()),
                                f.url((f.root / "dst" / "t").string()), options(4), &committed);
  REQUIRE_MESSAGE(r, (r ? "" : r.err().describe()));
  CHECK(read_file(f.root / "dst" / "t") == f.content);
  CHECK(committed.contains(0, f.content.size()));
}

TEST_CASE("a download resumes from its persisted ranges and fetches only the rest") {
  fixture f;
  auto local = f.base / "local" / "r";
  // Pretend a previous run committed two ranges; fill them with a pattern the server would
  // overwrite if it re-sent them.
  std::string part(f.content.size(), '\0');
  std::fill(part.begin(), part.begin() + 1'000'000, 'R');
  std::fill(part.begin() + 2'000'000, part.begin() + 2'500'000, 'R');
  write_file(local.string() + ".gridftp-part", part);
  write_file(local.string() + ".gridftp-part.ranges",
             "window 0 3000017 3000017\n0-1000000,2000000-2500000\n");
  auto opts = options(4);
  opts.verify_checksum = false;
  auto r = gridftp::download(f.url((f.root / "src" / "f").string()), local.string(), opts);
  REQUIRE_MESSAGE(r, (r ? "" : r.err().describe()));
  CHECK(r->bytes_resumed == 1'500'000);
  auto got = read_file(local);
  REQUIRE(got.size() == f.content.size());
  CHECK(got.substr(0, 1'000'000) == std::string(1'000'000, 'R'));
  CHECK(got.substr(1'000'000, 1'000'000) == f.content.substr(1'000'000, 1'000'000));
  CHECK(got.substr(2'500'000) == f.content.substr(2'500'000));
  // With verification the mismatch is caught and nothing lands under the final name.
  fs::remove(local);
  write_file(local.string() + ".gridftp-part", part);
  write_file(local.string() + ".gridftp-part.ranges",
             "window 0 3000017 3000017\n0-1000000,2000000-2500000\n");
  auto bad = gridftp::download(f.url((f.root / "src" / "f").string()), local.string(), options(4));
  REQUIRE(!bad);
  CHECK(bad.err().code == errc::checksum_mismatch);
  CHECK(!fs::exists(local));
}

TEST_CASE("partial transfers: ERET windows down, ESTO windows up") {
  fixture f;
  auto opts = options(2);
  opts.partial_offset = 123'457;
  opts.partial_length = 1'000'001;
  auto local = f.base / "local" / "p";
  auto r = gridftp::download(f.url((f.root / "src" / "f").string()), local.string(), opts);
  REQUIRE_MESSAGE(r, (r ? "" : r.err().describe()));
  CHECK(read_file(local) == f.content.substr(123'457, 1'000'001));
  // ESTO patches the same window of an existing remote file.
  write_file(f.root / "dst" / "patch", std::string(f.content.size(), 'x'));
  auto u = gridftp::upload((f.root / "src" / "f").string(),
                           f.url((f.root / "dst" / "patch").string()), opts);
  REQUIRE_MESSAGE(u, (u ? "" : u.err().describe()));
  auto patched = read_file(f.root / "dst" / "patch");
  CHECK(patched.substr(123'457, 1'000'001) == f.content.substr(123'457, 1'000'001));
  CHECK(patched.substr(0, 123'457) == std::string(123'457, 'x'));
}

TEST_CASE("refusals: wrong password, missing file, paths outside the roots, gsiftp") {
  fixture f;
  auto local = (f.base / "local" / "x").string();
  auto wrong =
      gridftp::download(f.url((f.root / "src" / "f").string(), "alice:nope@"), local, options(1));
  CHECK(wrong.err().code == errc::unauthenticated);
  auto missing = gridftp::download(f.url((f.root / "src" / "nope").string()), local, options(1));
  CHECK(missing.err().code == errc::not_found);
  auto outside =
      gridftp::upload((f.root / "src" / "f").string(), f.url("/tmp/escaped-upload"), options(1));
  CHECK(!outside);
  CHECK(!fs::exists("/tmp/escaped-upload"));
  CHECK(!gridftp::parse_url("gsiftp://host/x"));
  CHECK(!gridftp::parse_url("ftp://host"));
  CHECK(!gridftp::parse_url("ftp://host:99999/x"));
  auto u = gridftp::parse_url("ftp://bob:secret@example.org:5000/a/b c");
  REQUIRE(u);
  CHECK(u->user == "bob");
  CHECK(u->password == "secret");
  CHECK(u->port == 5000);
  CHECK(u->path == "/a/b c");
  CHECK(u->to_string().find("secret") == std::string::npos);
}

TEST_CASE("the password file is strict") {
  CHECK(
      gridftp::parse_password_file("# c\n\nalice:" + crypto::hash_password("x", 1000) + "\n", "f"));
  CHECK(!gridftp::parse_password_file("alice:plaintext\n", "f"));
  CHECK(!gridftp::parse_password_file("nocolon\n", "f"));
  CHECK(!gridftp::parse_password_file("anonymous:" + crypto::hash_password("x", 1000), "f"));
}

TEST_CASE("stat, list and make_directory for copy -r, -sync and -cd") {
  fixture f;
  auto opts = options(0);
  auto st = gridftp::stat(f.url((f.root / "src" / "f").string()), opts);
  REQUIRE_MESSAGE(st, (st ? "" : st.err().describe()));
  CHECK(!st->is_dir);
  CHECK(st->size == f.content.size());
  auto now = static_cast<int64_t>(::time(nullptr));
  CHECK(st->mtime_unix > now - 600);
  CHECK(st->mtime_unix <= now + 5);
  CHECK(gridftp::stat(f.url((f.root / "src").string()), opts)->is_dir);
  CHECK(gridftp::stat(f.url((f.root / "src" / "nope").string()), opts).err().code ==
        errc::not_found);
  REQUIRE(gridftp::make_directory(f.url((f.root / "src" / "sub").string()), opts));
  CHECK(gridftp::make_directory(f.url((f.root / "src" / "sub").string()), opts));  // exists: fine
  CHECK(fs::is_directory(f.root / "src" / "sub"));
  auto entries = gridftp::list(f.url((f.root / "src").string()), opts);
  REQUIRE_MESSAGE(entries, (entries ? "" : entries.err().describe()));
  REQUIRE(entries->size() == 2);
  std::map<std::string, gridftp::remote_entry> by_name;
  for (auto& e : *entries) by_name[e.name] = e;
  CHECK(by_name.at("f").size == f.content.size());
  CHECK(!by_name.at("f").is_dir);
  CHECK(by_name.at("sub").is_dir);
}
