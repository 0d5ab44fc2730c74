// The README's demo, as a user meets it: examples/demo/ as shipped (only its ports made
// ephemeral so the test can run anywhere), driven by radtest and radclient.
#include <doctest/doctest.h>

#include "harness.h"
#include "radius/crypto.h"

using namespace npsd;
using namespace npsd::test;
using namespace std::chrono_literals;

TEST_CASE("the demo: alice accepted with Message-Authenticator first, bob rejected with reason 48") {
  temp_dir dir;
  auto cfg = nlohmann::json::parse(read_file(fs::path(NPSD_SOURCE_DIR) / "examples/demo/npsd.json"));
  for (auto& l : cfg["server"]["listen"]) l["port"] = 0;
  cfg["server"]["control_socket"] = "npsd.sock";
  write_file(dir.path / "npsd.json", cfg.dump(2));
  fs::copy_file(fs::path(NPSD_SOURCE_DIR) / "examples/demo/users.json", dir.path / "users.json");
  npsd_process npsd(dir.path / "npsd.json", dir.path);
  const auto server = "127.0.0.1:" + std::to_string(npsd.auth_port);
  auto radclient = [&](const std::string& attrs, const std::string& secret, const std::string& kind = "auth") {
    return run("printf '" + attrs + "' | radclient -x -t 1 -r 1 " + server + " " + kind + " " + secret);
  };

  auto r = run("radtest alice alice-password " + server + " 0 testing123");
  CHECK_MESSAGE(r.output.find("Received Access-Accept") != std::string::npos, r.output);
  CHECK(r.output.find("Reply-Message = \"Welcome to the demo VPN\"") != std::string::npos);
  r = run("radtest bob bob-password " + server + " 0 testing123");
  CHECK_MESSAGE(r.output.find("Received Access-Reject") != std::string::npos, r.output);
  CHECK(npsd.wait_for_log("user=bob result=Access-Reject reason=48"));
  r = radclient("User-Name = alice\\nUser-Password = wrong\\nMessage-Authenticator = 0x00\\n", "testing123");
  CHECK_MESSAGE(r.output.find("Received Access-Reject") != std::string::npos, r.output);
  r = radclient("User-Name = alice\\nUser-Password = alice-password\\nMessage-Authenticator = 0x00\\n", "wrong-secret");
  CHECK_MESSAGE(r.output.find("Received") == std::string::npos, r.output);
  r = radclient("User-Name = alice\\nUser-Password = alice-password\\n", "testing123");
  CHECK_MESSAGE(r.output.find("Received") == std::string::npos, r.output);
  r = radclient("Message-Authenticator = 0x00\\n", "testing123", "status");
  CHECK_MESSAGE(r.output.find("Received Access-Accept") != std::string::npos, r.output);

  // byte level: Message-Authenticator is the first attribute and valid
  udp_client c;
  radius::packet p;
  p.identifier = 9;
  p.authenticator = radius::random_authenticator();
  p.attributes.push_back({radius::attr::message_authenticator, radius::bytes(16, 0)});
  p.add(radius::attr::user_name, std::string_view("alice"));
  p.add(radius::attr::user_password,
        *radius::hide_user_password(radius::as_bytes("alice-password"), "testing123", p.authenticator));
  auto raw = *radius::encode(p);
  radius::sign_request(raw, "testing123");
  c.send(npsd.auth_port, raw);
  const auto reply = c.receive(3s);
  REQUIRE(reply);
  const auto decoded = radius::decode(*reply);
  REQUIRE(decoded);
  CHECK(decoded->code == radius::code::access_accept);
  CHECK(decoded->attributes.front().type == radius::attr::message_authenticator);
  CHECK(radius::verify_response(*reply, p.authenticator, "testing123", true) == radius::verify_result::ok);

  // and the dry run agrees with the live server about bob
  const auto t = run(std::string(NPSCTL_BINARY) + " policy test --json --config " +
                     (dir.path / "npsd.json").string() + " --client localhost --user bob");
  REQUIRE_MESSAGE(t.exit_code == 0, t.output);
  CHECK(nlohmann::json::parse(t.output).at("reason") == 48);
}
