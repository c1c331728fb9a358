// Every type of the one type-ID block survives CAF's binary serializer inside a message (which
// also proves it is registered: an unregistered type cannot be serialized), and no type of the
// block is left without a sample here.
#include <doctest/doctest.h>

#include <caf/all.hpp>
#include <set>

#include "actors/node/interface.hpp"
#include "actors/rls/interface.hpp"
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
  check_roundtrip(sys, std::vector<std::string>{"lfn://a", "lfn://b"}, covered);

  for (auto id = caf::id_block::librarian::begin; id < caf::id_block::librarian::end; ++id)
    CHECK_MESSAGE(covered.count(id) == 1,
                  "type id " << id << " of the block has no round-trip sample");
}
