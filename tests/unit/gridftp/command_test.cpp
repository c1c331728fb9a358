#include <doctest/doctest.h>

#include "net/gridftp/command.hpp"

using namespace librarian;
using namespace librarian::gridftp;

TEST_CASE("line_reader splits CRLF and LF lines and keeps partial input") {
  line_reader r;
  r.feed("USER anonymous\r\nPASS x\nNO");
  auto a = r.next_line();
  REQUIRE(a);
  CHECK(**a == "USER anonymous");
  auto b = r.next_line();
  REQUIRE(b);
  CHECK(**b == "PASS x");
  auto c = r.next_line();
  REQUIRE(c);
  CHECK(!c->has_value());
  r.feed("OP\r\n");
  CHECK(**r.next_line() == "NOOP");
}

TEST_CASE("line_reader refuses an oversized line with or without its newline") {
  line_reader r{16};
  r.feed(std::string(17, 'A'));
  CHECK(!r.next_line());
  line_reader r2{16};
  r2.feed(std::string(20, 'A') + "\r\n");
  CHECK(!r2.next_line());
}

TEST_CASE("parse_command upper-cases the verb and keeps the argument with its spaces") {
  auto c = parse_command("retr /data/my file");
  REQUIRE(c);
  CHECK(c->verb == "RETR");
  CHECK(c->arg == "/data/my file");
  CHECK(parse_command("PWD")->arg.empty());
}

TEST_CASE("parse_command refuses control characters, bad verbs and empty lines") {
  CHECK(!parse_command(""));
  CHECK(!parse_command("RE"));
  CHECK(!parse_command("RETRX /a"));
  CHECK(!parse_command("R3TR /a"));
  CHECK(!parse_command(std::string("RETR /a\0b", 9)));
  CHECK(!parse_command("RETR /a\rDELE /b"));
  CHECK(!parse_command(std::string(command_line_bytes_max + 1, 'A')));
}

TEST_CASE("PORT and EPRT arguments and the passive replies") {
  auto p = parse_port_arg("127,0,0,1,188,157");
  REQUIRE(p);
  CHECK(p->host == "127.0.0.1");
  CHECK(p->port == 188 * 256 + 157);
  CHECK(format_port_arg(*p) == "127,0,0,1,188,157");
  CHECK(parse_port_arg("(127,0,0,1,195,45)")->port == 195 * 256 + 45);
  CHECK(!parse_port_arg("127,0,0,1,188"));
  CHECK(!parse_port_arg("127,0,0,1,188,157,1"));
  CHECK(!parse_port_arg("256,0,0,1,1,1"));
  CHECK(!parse_port_arg("127,0,0,1,0,0"));
  CHECK(!parse_port_arg("-1,0,0,1,1,1"));
  auto e = parse_eprt_arg("|1|127.0.0.1|5000|");
  REQUIRE(e);
  CHECK(e->port == 5000);
  CHECK(parse_eprt_arg("|2|::1|5000|")->host == "::1");
  CHECK(!parse_eprt_arg("|3|127.0.0.1|5000|"));
  CHECK(!parse_eprt_arg("|1|127.0.0.1|70000|"));
  CHECK(!parse_eprt_arg("|1|host name|5000|"));
  CHECK(*parse_epsv_reply("229 Entering Extended Passive Mode (|||46601|)") == 46601);
  CHECK(!parse_epsv_reply("229 (|||0|)"));
}

TEST_CASE("OPTS RETR Parallelism takes the largest value, bounded") {
  CHECK(*parse_opts_retr("RETR Parallelism=4,4,4;", 64) == 4);
  CHECK(*parse_opts_retr("RETR StripeLayout=Blocked;Parallelism=2,1,8;", 64) == 8);
  CHECK(*parse_opts_retr("RETR Parallelism=1000,1000,1000;", 32) == 32);
  CHECK(!parse_opts_retr("RETR Parallelism=0,0,0;", 32));
  CHECK(!parse_opts_retr("RETR Parallelism=a;", 32));
  CHECK(!parse_opts_retr("STOR Parallelism=4,4,4;", 32));
  CHECK(!parse_opts_retr("RETR", 32));
}

TEST_CASE("REST takes a stream offset or a range list") {
  CHECK(*parse_rest("1000")->stream_offset == 1000);
  auto r = parse_rest("0-497811456,498073600-498335744");
  REQUIRE(r);
  CHECK(!r->stream_offset);
  CHECK(r->ranges.covered() == 497811456ull + (498335744ull - 498073600ull));
  CHECK(!parse_rest("abc"));
  CHECK(!parse_rest(""));
  CHECK(!parse_rest("5-1"));
  CHECK(!parse_rest("99999999999999999999999"));
}

TEST_CASE("ERET, ESTO and CKSM arguments") {
  auto e = parse_eret("P 10 20 /data/a b");
  REQUIRE(e);
  CHECK(e->offset == 10);
  CHECK(e->length == 20);
  CHECK(e->path == "/data/a b");
  CHECK(!parse_eret("X 10 20 /a"));
  CHECK(!parse_eret("P 18446744073709551615 2 /a"));
  CHECK(!parse_eret("P 1 2"));
  auto s = parse_esto("A 5 /x");
  REQUIRE(s);
  CHECK(s->offset == 5);
  CHECK(!parse_esto("A -5 /x"));
  auto c = parse_cksm("md5 0 -1 /p");
  REQUIRE(c);
  CHECK(c->alg == "MD5");
  CHECK(!c->length);
  CHECK(*parse_cksm("ADLER32 5 10 /p")->length == 10);
  CHECK(!parse_cksm("MD5 0 -2 /p"));
  CHECK(!parse_cksm("MD5 0 -1"));
}

TEST_CASE("reply_reader joins multi-line replies and refuses garbage") {
  reply_reader r;
  CHECK(!r.feed_line("211-Extensions supported")->has_value());
  CHECK(!r.feed_line(" SIZE")->has_value());
  CHECK(!r.feed_line("211-inner")->has_value());
  auto done = r.feed_line("211 End.");
  REQUIRE(done);
  REQUIRE(done->has_value());
  CHECK((*done)->code == 211);
  CHECK((*done)->text.find(" SIZE") != std::string::npos);
  auto single = r.feed_line("226 Transfer Complete.");
  CHECK((*single)->code == 226);
  CHECK(!r.feed_line("hello"));
}
