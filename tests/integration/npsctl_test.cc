// npsctl's user editing end to end: the edited file is what the real npsd serves after SIGHUP,
// and a refused edit leaves the file as it was.
#include <doctest/doctest.h>

#include "harness.h"

using namespace npsd::test;

namespace {


struct npsctl_fixture {
  temp_dir dir;
  fs::path users = dir.path / "users.json";
  fs::path config = dir.path / "npsd.json";

  npsctl_fixture() {
    write_file(config, R"({
  "schema_version": 1,
  "server": { "threads": 1, "listen": [ { "type": "auth", "address": "127.0.0.1", "port": 0 } ] },
  "clients": [ { "name": "loopback", "address": "127.0.0.1", "secret": "testing123" } ],
  "directory": { "backend": "local", "users_file": "users.json" },
  "network_policies": [ { "name": "VPN Users", "access": "grant",
                          "conditions": { "user_groups": ["VPN Users"] } } ]
})");
  }
  command_result ctl(const std::string& args, const std::string& stdin_text = "") const {
    return run("printf '" + stdin_text + "' | " + npsctl + " " + args);
  }
  std::string radtest(const npsd_process& p, const std::string& user, const std::string& pw) const {
    return run("radtest " + user + " " + pw + " 127.0.0.1:" + std::to_string(p.auth_port) +
               " 0 testing123").output;
  }
};

}  // namespace

TEST_CASE("npsctl user add / set-password / remove change what npsd serves after SIGHUP") {
  npsctl_fixture f;
  auto r = f.ctl("group add --file " + f.users.string() + " --name 'VPN Users'");
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  r = f.ctl("user add --file " + f.users.string() +
                " --name dave --group 'VPN Users' --iterations 1000 --password-stdin",
            "dave-password\\n");
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);

  npsd_process npsd(f.config, f.dir.path);
  CHECK(f.radtest(npsd, "dave", "dave-password").find("Received Access-Accept") != std::string::npos);

  r = f.ctl("user list --file " + f.users.string());
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("dave") != std::string::npos);
  CHECK(r.output.find("pbkdf2") == std::string::npos);  // never shows hashes

  r = f.ctl("user set-password --file " + f.users.string() + " --name dave --iterations 1000",
            "new-password\\n");
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  npsd.signal(SIGHUP);
  REQUIRE(npsd.wait_for_log("configuration reloaded"));
  CHECK(f.radtest(npsd, "dave", "new-password").find("Received Access-Accept") != std::string::npos);
  CHECK(f.radtest(npsd, "dave", "dave-password").find("Received Access-Reject") != std::string::npos);

  r = f.ctl("user remove --file " + f.users.string() + " --name dave");
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  npsd.signal(SIGHUP);
  REQUIRE(npsd.wait_for_log("configuration reloaded", 2));
  CHECK(f.radtest(npsd, "dave", "new-password").find("Received Access-Reject") != std::string::npos);
  CHECK(npsd.wait_for_log("user=dave result=Access-Reject reason=8"));
}

TEST_CASE("npsctl refuses bad edits with exit 2 and leaves the file untouched") {
  npsctl_fixture f;
  REQUIRE(f.ctl("user add --file " + f.users.string() + " --name erin --iterations 1000 --password-stdin",
                "pw\\n").exit_code == 0);
  const auto before = read_file(f.users);

  auto r = f.ctl("user add --file " + f.users.string() + " --name ERIN --password-stdin", "x\\n");
  CHECK(r.exit_code == 2);  // names are case-insensitive: a duplicate
  r = f.ctl("user add --file " + f.users.string() + " --name frank --group Nonexistent");
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.output.find("Nonexistent") != std::string::npos, r.output);
  CHECK(read_file(f.users) == before);

  // an invalid file is refused, naming the field, and not rewritten
  auto broken = before;
  broken.replace(broken.find("\"users\""), 7, "\"userz\"");
  write_file(f.users, broken);
  r = f.ctl("user remove --file " + f.users.string() + " --name erin");
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.output.find("/userz") != std::string::npos, r.output);
  CHECK(read_file(f.users) == broken);
}
