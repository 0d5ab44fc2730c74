// server/privileges.h: what can be checked without root (the switch itself is tested end to
// end in tests/integration/security_test.cc, as root).
#include <doctest/doctest.h>

#include <sys/prctl.h>
#include <sys/resource.h>

#include "server/privileges.h"

using namespace npsd;
using namespace npsd::server;

TEST_CASE("core dumps: the limit is 0 and the process is not dumpable") {
  disable_core_dumps();
  rlimit l{};
  REQUIRE(::getrlimit(RLIMIT_CORE, &l) == 0);
  CHECK(l.rlim_cur == 0);
  CHECK(l.rlim_max == 0);
  CHECK(::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0);
}

TEST_CASE("run-as account: looked up by name; an unknown one names the field") {
  policy::config c;
  c.source = "npsd.json";
  auto none = resolve_run_as(c);
  REQUIRE(none);
  CHECK_FALSE(*none);

  c.server.user = "nobody";  // Debian's, and most systems'
  const auto nobody = resolve_run_as(c);
  REQUIRE_MESSAGE(nobody, nobody.error());
  REQUIRE(*nobody);
  CHECK((*nobody)->uid != 0);
  CHECK((*nobody)->user == "nobody");

  c.server.user = "npsd-no-such-user";
  const auto missing = resolve_run_as(c);
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == "npsd.json: /server/user: no user \"npsd-no-such-user\"");

  c.server.user = "nobody";
  c.server.group = "npsd-no-such-group";
  const auto no_group = resolve_run_as(c);
  REQUIRE_FALSE(no_group);
  CHECK(no_group.error() == "npsd.json: /server/group: no group \"npsd-no-such-group\"");

  c.server.group = "root";
  const auto root_group = resolve_run_as(c);
  REQUIRE_FALSE(root_group);
  CHECK(root_group.error().find("/server/group: the group would be gid 0") != std::string::npos);
}
