// Every type of the one type-ID block survives CAF's binary serializer inside a message (which
// also proves it is registered: an unregistered type cannot be serialized), and no type of the
// block is left without a sample here.
#include <doctest/doctest.h>

#include <caf/all.hpp>
#include <set>

#include "actors/librarian/interface.hpp"
#include "actors/node/interface.hpp"
#include "actors/rls/interface.hpp"
#include "actors/transfer/interface.hpp"
#include "runtime/caf/system_config.hpp"

namespace {

using namespace librarian;
using namespace librarian::node;

template <class T>
void check_roundtrip(caf::actor_system& sys, const T& sample, std::set<caf::type_id_t>& covered) {
  covered.insert(caf::type_id<T>::value);
  auto original = caf::make_message(sample);
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto err = sink(original);
  REQUIRE_MESSAGE(!err, "cannot serialize " << caf::type_name<T>::value << ": " << sys.render(err));
  caf::message copy;
  caf::binary_deserializer source{sys, buf};
  err = source(copy);
  REQUIRE_MESSAGE(!err, "cannot deserialize " << caf::type_name<T>::value);
  REQUIRE(copy.match_elements<T>());
  CHECK(copy.get_as<T>(0) == sample);
}

}  // namespace

TEST_CASE("every registered message type round-trips through the binary serializer") {
  system_options options;
  options.load_middleman = false;
  system_config cfg{options};
  caf::actor_system sys{cfg};
  std::set<caf::type_id_t> covered;

  member_info member{"b", "127.0.0.1:7102", "up", 1700000000000, 1700000000500, 3};
  actor_status actor{"users", "running", 2, 5};
  user_info user{"alice", "READONLY", 1700000000000};
  user_record record{"alice", "READONLY", "pbkdf2-sha256$1000$c2FsdA$aGFzaA", 1, 2};
  token_record token{std::string(64, 'a'), "alice", 1, 2};
  node_status status{"a", "0.1.0", 4, 1, 2, 3, {actor, {"node", "running", 0, 0}}};

  check_roundtrip(sys, member, covered);
  check_roundtrip(sys, std::vector<member_info>{member, member}, covered);
  check_roundtrip(sys, actor, covered);
  check_roundtrip(sys, std::vector<actor_status>{actor}, covered);
  check_roundtrip(sys, status, covered);
  check_roundtrip(sys, user, covered);
  check_roundtrip(sys, std::vector<user_info>{user, user}, covered);
  check_roundtrip(sys, record, covered);
  check_roundtrip(sys, token, covered);
  rls::mapping map{"lfn://a/b", "gsiftp://host/x"};
  check_roundtrip(sys, map, covered);
  check_roundtrip(sys, rls::name_page{{"p1", "p2"}, true}, covered);
  check_roundtrip(sys, rls::mapping_page{{map, map}, true, false}, covered);
  check_roundtrip(sys, std::vector<rls::mapping>{map, {"lfn://c", "file:///c"}}, covered);
  check_roundtrip(sys, rls::bulk_lrcs{{0, 1}, {"", "LFN_NEXIST"}, {{"a", "b maybe"}, {}}}, covered);
  check_roundtrip(sys, rls::bulk_outcome{{0, 2}, {"", "LFN_EXIST lfn://c"}}, covered);
  check_roundtrip(sys, std::vector<std::string>{"lfn://a", "lfn://b"}, covered);

  lib::instance_info inst{7, "main", "/data/main/a", true, "DISALLOWED", 5, "xxh3:::00", 6};
  lib::file_info file{"run1/a.dat", 10, "xxh3:::ab", "alice",
                      "alice",      4,  {inst},      {{"b", 1, 8, "a"}}};
  check_roundtrip(sys,
                  lib::stage_request{"a", 10, "xxh3:::ab", "alice", "ALLOWED", "main", "clone-a-1"},
                  covered);
  check_roundtrip(sys,
                  lib::stage_reply{3, "a", "main", "/s/upload-3", "/s/upload-3/a", false, "", 99},
                  covered);
  check_roundtrip(sys, file, covered);
  check_roundtrip(sys, inst, covered);
  lib::file_query query;
  query.name_glob = "run*";
  query.has_remote_at = "b";
  query.max_results = 5;
  check_roundtrip(sys, query, covered);
  check_roundtrip(sys, lib::file_page{{file}, true, false, "n0a"}, covered);
  lib::store_info store{"main", "local", "/s", "/d", true, false, 100, 10, 5, 85, 1, 1.0};
  check_roundtrip(sys, store, covered);
  check_roundtrip(sys, std::vector<lib::store_info>{store, store}, covered);
  lib::librarian_info peer{"b", "http://h", 7181, true, 1, 2, "up", 3, ""};
  check_roundtrip(sys, peer, covered);
  check_roundtrip(sys, std::vector<lib::librarian_info>{peer}, covered);
  check_roundtrip(sys, lib::add_librarian_request{"b", "http://h", 7181, "a:pw", true}, covered);
  lib::error_info err{4, "error", "transfer", "slow", "x", 1, true, 2};
  check_roundtrip(sys, err, covered);
  check_roundtrip(sys, std::vector<lib::error_info>{err}, covered);
  check_roundtrip(sys, lib::error_query{0, "error", "", 1, 2, true, 10}, covered);
  lib::validation_item item{"a", "main", 7, "/d/a", "xxh3:::ab", 10, "xxh3:::ab", 10, true, ""};
  check_roundtrip(sys, item, covered);
  check_roundtrip(sys, std::vector<lib::validation_item>{item}, covered);
  storage::row_op row{"lib_files", "k", "v", false};
  check_roundtrip(sys, row, covered);
  check_roundtrip(sys, storage::row_list{row, {"lib_uploads", "k2", "", true}}, covered);

  lib::manifest_request manifest_req{"drive", "b", true, false, "00ab", 10};
  check_roundtrip(sys, manifest_req, covered);
  lib::manifest_entry entry{"a", 1, 10, "xxh3:::ab", "alice", "alice", "/d/a", "ALLOWED", 2, true};
  check_roundtrip(sys, lib::manifest_page{"a", "drive", "b", {entry, entry}, true, "00ff"},
                  covered);
  check_roundtrip(sys, lib::remote_dedupe_page{2, 1, "p00ff"}, covered);
  lib::stage_request bulk_req{"a", 1, "", "alice", "DISALLOWED", "", "bulk-1-1"};
  check_roundtrip(sys, std::vector<lib::stage_request>{bulk_req, bulk_req}, covered);
  check_roundtrip(sys,
                  lib::bulk_stage_reply{"/s/bulk-1-1",
                                        {lib::stage_reply{3, "a", "main", "/s/bulk-1-1/upload-3",
                                                          "/s/bulk-1-1/upload-3/a", false, "", 9},
                                         lib::stage_reply{}},
                                        {0, 9},
                                        {"", "conflict"}},
                  covered);
  check_roundtrip(sys, lib::bulk_commit_request{{3, 4}, {"xxh3:::ab", ""}}, covered);
  lib::file_info committed{"a", 1, "xxh3:::ab", "alice", "alice", 5, {}, {}};
  check_roundtrip(sys, lib::bulk_commit_reply{{committed, {}}, {0, 5}, {"", "gone"}}, covered);
  check_roundtrip(sys, lib::import_request{"main", "sub", "sub/a", 10, true, "admin"}, covered);
  check_roundtrip(sys, lib::import_report{5, 3, 1, 1, 0, 4096, false, "sub/e", {"sub/x: bad"}},
                  covered);
  check_roundtrip(
      sys, lib::import_batch{{"a", "b/c"}, {1, 2}, {"xxh3:::ab", ""}, {"", "gone"}, true}, covered);

  using namespace librarian::transfer;
  clone_item citem{7, "run1/a", 10, "xxh3:::ab"};
  check_roundtrip(sys, citem, covered);
  check_roundtrip(sys, clone_stage{"a", 3, {citem, citem}}, covered);
  clone_staged_item sitem{7, 9, 0, "", "upload-9/a", "/s/clone-a-3/upload-9/a", "/ep/a", ""};
  check_roundtrip(sys, sitem, covered);
  check_roundtrip(
      sys, clone_staged{"b", 3, "/s/clone-a-3", "127.0.0.1", 7190, "ep", {sitem}, "ftp://b:2811"},
      covered);
  check_roundtrip(sys, clone_ticket_ask{"a", 3, {9, 10}}, covered);
  file_ticket fticket{10, "00ff"};
  check_roundtrip(sys, fticket, covered);
  check_roundtrip(sys, clone_tickets{"b", 3, 0, "", "abcd", {fticket}}, covered);
  clone_status_item status_item{7, 9, 3, "", 42};
  check_roundtrip(sys, status_item, covered);
  check_roundtrip(sys, clone_status{"b", {status_item}}, covered);
  clone_probe_item probe_item{7, 9, "run1/a", 2, "xxh3:::ab"};
  check_roundtrip(sys, probe_item, covered);
  check_roundtrip(sys, clone_probe{"a", true, false, {probe_item}}, covered);
  clone_verify_item vitem{"run1/a", "xxh3:::ab", true, ""};
  check_roundtrip(sys, vitem, covered);
  check_roundtrip(sys, clone_verify{"b", true, {vitem}}, covered);
  check_roundtrip(sys,
                  clone_fetch{"b", true, "run1/a", "xxh3:::ab", 0, "", "127.0.0.1", 7190, "ff", 10},
                  covered);
  batch_summary bsum{3, "b", "native", "active", 2, 20, 10, 1, 500, 1e6, ""};
  check_roundtrip(sys, bsum, covered);
  transfer_summary tsum{7, true, "b", "run1/a", "ONGOING", 99};
  check_roundtrip(sys, tsum, covered);
  named_count ncount{"ONGOING", 2};
  check_roundtrip(sys, ncount, covered);
  task_summary task{"send_clone", 3, 1200, 900, {ncount}};
  check_roundtrip(sys,
                  replication_report{"a", {ncount}, {}, {ncount}, {bsum}, {tsum}, {ncount}, {task}},
                  covered);

  for (auto id = caf::id_block::librarian::begin; id < caf::id_block::librarian::end; ++id)
    CHECK_MESSAGE(covered.count(id) == 1,
                  "type id " << id << " of the block has no round-trip sample");
}
