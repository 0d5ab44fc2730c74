// The README's demo, as a user meets it: examples/demo/ as shipped (only its ports made
// ephemeral so the test can run anywhere), driven by radtest and radclient.
#include <doctest/doctest.h>

#include "eapol.h"
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
  REQUIRE(cfg.contains("accounting"));  // the demo stores accounting
  cfg["accounting"]["database"] = "accounting.db";
  fs::copy_file(fs::path(NPSD_SOURCE_DIR) / "examples/demo/users.json", dir.path / "users.json");
  // The demo's PKI, made as scripts/demo makes it, in the test's own directory.
  const auto pki = dir.path / "pki";
  const auto made = run(std::string(NPSD_SOURCE_DIR) + "/scripts/make-pki " + pki.string() + " example.com");
  REQUIRE_MESSAGE(made.exit_code == 0, made.output);
  for (const char* key : {"certificate", "private_key", "ca_file"}) {
    auto& v = cfg["eap"][key];
    v = (pki / fs::path(v.get<std::string>()).filename()).string();
  }
  for (auto& crl : cfg["eap"]["revocation"]["crl_files"])
    crl = (pki / fs::path(crl.get<std::string>()).filename()).string();
  write_file(dir.path / "npsd.json", cfg.dump(2));
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
  // Accounting, as the README shows it: stored, then acknowledged.
  r = run("printf 'User-Name = alice\\nAcct-Status-Type = Start\\nAcct-Session-Id = demo-1\\n' | "
          "radclient -x -t 2 -r 1 127.0.0.1:" + std::to_string(npsd.acct_port) + " acct testing123");
  CHECK_MESSAGE(r.output.find("Received Accounting-Response") != std::string::npos, r.output);
  r = run(std::string(NPSCTL_BINARY) + " accounting sessions --config " + shell_quote((dir.path / "npsd.json").string()));
  CHECK_MESSAGE(r.output.find("demo-1") != std::string::npos, r.output);

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

  // EAP-TLS and PEAP-TLS with alice's demo certificate, as the README shows them
  for (const char* method : {"TLS", "PEAP"}) {
    CAPTURE(method);
    eapol_options o;
    o.eap = method;
    o.identity = "alice@example.com";
    o.ca_cert = (pki / "ca.pem").string();
    (std::string(method) == "PEAP" ? o.client_cert2 : o.client_cert) = (pki / "alice.pem").string();
    (std::string(method) == "PEAP" ? o.private_key2 : o.private_key) = (pki / "alice.key").string();
    if (std::string(method) == "PEAP") o.ca_cert2 = o.ca_cert;
    const auto e = run_eapol_test(o, dir.path, npsd.auth_port, "testing123");
    CHECK_MESSAGE(e.success, e.output);
    CHECK(e.mppe_ok == 1);
  }

  // and the dry run agrees with the live server about bob
  const auto t = run(std::string(NPSCTL_BINARY) + " policy test --json --config " +
                     (dir.path / "npsd.json").string() + " --client localhost --user bob");
  REQUIRE_MESSAGE(t.exit_code == 0, t.output);
  CHECK(nlohmann::json::parse(t.output).at("reason") == 48);
}
