// The npsd daemon end to end: started on ephemeral loopback ports, driven by radtest/radclient
// (freeradius-utils) and by raw UDP where the bytes themselves are the point.
#include <doctest/doctest.h>

#include <sys/un.h>

#include <cstring>
#include <random>

#include "harness.h"
#include "ldap/password_hash.h"
#include "radius/crypto.h"

using namespace npsd;
using namespace npsd::test;
using namespace std::chrono_literals;

namespace {


std::string config_json(const std::string& client_secret, const std::string& extra_client = "") {
  return R"({
  "schema_version": 1,
  "server": {
    "threads": 2,
    "listen": [ { "type": "auth", "address": "127.0.0.1", "port": 0 },
                { "type": "acct", "address": "127.0.0.1", "port": 0 } ],
    "unknown_client_log_interval_seconds": 60
  },
  "log": { "level": "debug" },
  "clients": [
    { "name": "loopback", "address": "127.0.0.1", "secret": ")" + client_secret + R"(" }
    )" + extra_client + R"(
  ],
  "directory": { "backend": "local", "users_file": "users.json" },
  "network_policies": [ { "name": "Everyone", "access": "grant" } ]
})";
}

struct daemon_fixture {
  temp_dir dir;
  fs::path config = dir.path / "npsd.json";
  std::unique_ptr<npsd_process> npsd;

  daemon_fixture() {
    write_file(dir.path / "users.json", R"({
  "schema_version": 1,
  "groups": [ { "name": "VPN Users" } ],
  "users": [
    { "name": "alice", "password_hash": ")" + fast_hash("alice-password") + R"(", "groups": ["VPN Users"] },
    { "name": "bob", "password_hash": ")" + fast_hash("bob-password") + R"(" },
    { "name": "carol", "password_hash": ")" + fast_hash("carol-password") + R"(", "enabled": false }
  ]
})");
    write_file(config, config_json(secret));
    npsd = std::make_unique<npsd_process>(config, dir.path);
  }

  std::string server() const { return "127.0.0.1:" + std::to_string(npsd->auth_port); }

  // radclient with short timeouts; `attrs` one per line.
  command_result radclient(const std::string& attrs, const std::string& kind = "auth",
                           const std::string& s = secret, std::uint16_t port = 0) const {
    const auto p = port != 0 ? port : (kind == "acct" ? npsd->acct_port : npsd->auth_port);
    return run("printf '" + attrs + "' | radclient -x -t 1 -r 1 127.0.0.1:" + std::to_string(p) +
               " " + kind + " " + s);
  }
};

radius::bytes access_request(std::uint8_t id, const std::string& user, const std::string& pw,
                             const std::string& s, bool with_message_authenticator,
                             radius::authenticator_t* auth_out = nullptr) {
  return pap_request(id, user, pw, s, with_message_authenticator, {"ps-1", "ps-2"}, auth_out);
}

}  // namespace

TEST_CASE("radtest: alice gets Access-Accept, a wrong password or unknown user Access-Reject") {
  daemon_fixture f;
  auto r = run("radtest alice alice-password " + f.server() + " 0 " + secret);
  CHECK_MESSAGE(r.output.find("Received Access-Accept") != std::string::npos, r.output);

  r = f.radclient("User-Name = alice\\nUser-Password = wrong\\nMessage-Authenticator = 0x00\\n");
  CHECK_MESSAGE(r.output.find("Received Access-Reject") != std::string::npos, r.output);
  CHECK(f.npsd->wait_for_log("user=alice result=Access-Reject reason=16"));

  r = f.radclient("User-Name = nobody\\nUser-Password = x\\nMessage-Authenticator = 0x00\\n");
  CHECK_MESSAGE(r.output.find("Received Access-Reject") != std::string::npos, r.output);
  CHECK(f.npsd->wait_for_log("user=nobody result=Access-Reject reason=8"));

  r = f.radclient("User-Name = carol\\nUser-Password = carol-password\\nMessage-Authenticator = 0x00\\n");
  CHECK_MESSAGE(r.output.find("Received Access-Reject") != std::string::npos, r.output);
  CHECK(f.npsd->wait_for_log("user=carol result=Access-Reject reason=34"));

  const auto log = f.npsd->log();
  CHECK(log.find("alice-password") == std::string::npos);
  CHECK(log.find(secret) == std::string::npos);
}

TEST_CASE("the Access-Accept carries a valid Message-Authenticator first and echoes Proxy-State") {
  daemon_fixture f;
  udp_client c;
  radius::authenticator_t ra;
  c.send(f.npsd->auth_port, access_request(7, "alice", "alice-password", secret, true, &ra));
  const auto reply = c.receive(3s);
  REQUIRE(reply);
  const auto p = radius::decode(*reply);
  REQUIRE(p);
  CHECK(p->code == radius::code::access_accept);
  CHECK(p->identifier == 7);
  REQUIRE(!p->attributes.empty());
  CHECK(p->attributes.front().type == radius::attr::message_authenticator);
  CHECK(radius::verify_response(*reply, ra, secret, true) == radius::verify_result::ok);
  CHECK(radius::verify_response(*reply, ra, "not-the-secret", true) !=
        radius::verify_result::ok);
  // Proxy-State attributes come back in their order
  std::vector<std::string> ps;
  for (const auto& a : p->attributes)
    if (a.type == radius::attr::proxy_state) ps.emplace_back(a.as_string());
  CHECK(ps == std::vector<std::string>{"ps-1", "ps-2"});

  // the Access-Reject too
  c.send(f.npsd->auth_port, access_request(8, "alice", "bad", secret, true, &ra));
  const auto reject = c.receive(3s);
  REQUIRE(reject);
  CHECK(radius::decode(*reject)->attributes.front().type == radius::attr::message_authenticator);
  CHECK(radius::verify_response(*reject, ra, secret, true) == radius::verify_result::ok);
}

TEST_CASE("a wrong shared secret and a request without Message-Authenticator get no reply") {
  daemon_fixture f;
  auto r = f.radclient("User-Name = alice\\nUser-Password = alice-password\\nMessage-Authenticator = 0x00\\n",
                       "auth", "wrong-secret");
  CHECK_MESSAGE(r.output.find("Received Access") == std::string::npos, r.output);
  CHECK_MESSAGE(r.output.find("No reply from server") != std::string::npos, r.output);
  CHECK(f.npsd->wait_for_log("reason=262"));

  r = f.radclient("User-Name = alice\\nUser-Password = alice-password\\n");
  CHECK_MESSAGE(r.output.find("Received Access") == std::string::npos, r.output);
  CHECK(f.npsd->wait_for_log("missing Message-Authenticator"));

  // raw, for certainty: the same request with a correct MA is answered
  udp_client c;
  c.send(f.npsd->auth_port, access_request(1, "alice", "alice-password", secret, false));
  CHECK_FALSE(c.receive(500ms));
  c.send(f.npsd->auth_port, access_request(2, "alice", "alice-password", secret, true));
  CHECK(c.receive(3s));
  CHECK(f.npsd->log().find("wrong-secret") == std::string::npos);
}

TEST_CASE("a client exempted from Message-Authenticator is served without one") {
  daemon_fixture f;
  // access_request() adds Proxy-State, which limit_proxy_state (the default) would drop: see
  // security_test.cc
  write_file(f.config, config_json(secret, R"(, { "name": "legacy", "address": "127.0.0.3",
      "secret": "legacy-secret", "require_message_authenticator": false,
      "limit_proxy_state": false })"));
  f.npsd->signal(SIGHUP);
  REQUIRE(f.npsd->wait_for_log("configuration reloaded"));
  udp_client legacy("127.0.0.3");
  legacy.send(f.npsd->auth_port, access_request(3, "alice", "alice-password", "legacy-secret", false));
  const auto reply = legacy.receive(3s);
  REQUIRE(reply);
  CHECK(radius::decode(*reply)->code == radius::code::access_accept);
  // the reply still carries Message-Authenticator first
  CHECK(radius::decode(*reply)->attributes.front().type == radius::attr::message_authenticator);
}

TEST_CASE("an exempted client still needs Message-Authenticator when it sends EAP") {
  daemon_fixture f;
  write_file(f.config, config_json(secret, R"(, { "name": "legacy", "address": "127.0.0.3",
      "secret": "legacy-secret", "require_message_authenticator": false })"));
  f.npsd->signal(SIGHUP);
  REQUIRE(f.npsd->wait_for_log("configuration reloaded"));
  udp_client legacy("127.0.0.3");
  auto eap_request = [](bool with_ma) {
    radius::packet p;
    p.identifier = 5;
    p.authenticator = radius::random_authenticator();
    if (with_ma) p.attributes.push_back({radius::attr::message_authenticator, radius::bytes(16, 0)});
    p.add(radius::attr::user_name, std::string_view("alice"));
    p.add(radius::attr::eap_message, radius::bytes{2, 9, 0, 10, 1, 'a', 'l', 'i', 'c', 'e'});
    auto raw = *radius::encode(p);
    radius::sign_request(raw, "legacy-secret");
    return std::pair{raw, p.authenticator};
  };
  legacy.send(f.npsd->auth_port, eap_request(false).first);
  CHECK_FALSE(legacy.receive(500ms));
  const auto [raw, ra] = eap_request(true);
  legacy.send(f.npsd->auth_port, raw);
  const auto reply = legacy.receive(3s);
  REQUIRE(reply);
  const auto p = radius::decode(*reply);
  CHECK(p->code == radius::code::access_reject);  // EAP is not enabled in this build: reason 22
  REQUIRE(p->find(radius::attr::eap_message) != nullptr);
  CHECK(p->find(radius::attr::eap_message)->value == radius::bytes{4, 9, 0, 4});  // EAP-Failure
  CHECK(f.npsd->wait_for_log("result=Access-Reject reason=22"));
}

TEST_CASE("IPv6 listener and client, and JSON log lines with stable fields") {
  daemon_fixture base;  // users file
  write_file(base.config, R"({
  "schema_version": 1,
  "server": { "listen": [ { "type": "auth", "address": "::1", "port": 0 } ] },
  "log": { "format": "json" },
  "clients": [ { "name": "v6-nas", "address": "::1/128", "secret": "v6-secret" } ],
  "directory": { "backend": "local", "users_file": "users.json" },
  "network_policies": [ { "name": "Everyone", "access": "grant" } ]
})");
  temp_dir run_dir;
  npsd_process v6(base.config, run_dir.path);
  const auto r = run("printf 'User-Name = alice\\nUser-Password = alice-password\\n"
                     "Message-Authenticator = 0x00\\n' | radclient -6 -x -t 2 -r 1 [::1]:" +
                     std::to_string(v6.auth_port) + " auth v6-secret");
  CHECK_MESSAGE(r.output.find("Received Access-Accept") != std::string::npos, r.output);
  REQUIRE(v6.wait_for_log("\"result\":\"Access-Accept\""));
  std::istringstream lines(v6.log());
  std::string line;
  bool saw_decision = false;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);  // every line is one JSON object
    CHECK(j.contains("time"));
    CHECK(j.contains("level"));
    if (j.at("msg") == "decision") {
      saw_decision = true;
      CHECK(j.at("client") == "v6-nas");
      CHECK(j.at("user") == "alice");
      CHECK(j.at("reason") == 0);
      CHECK(j.at("src").get<std::string>().rfind("[::1]:", 0) == 0);
    }
  }
  CHECK(saw_decision);
}

TEST_CASE("Status-Server is answered on both ports, and requires Message-Authenticator") {
  daemon_fixture f;
  auto r = f.radclient("Message-Authenticator = 0x00\\n", "status");
  CHECK_MESSAGE(r.output.find("Received Access-Accept") != std::string::npos, r.output);
  r = f.radclient("Message-Authenticator = 0x00\\n", "status", secret, f.npsd->acct_port);
  CHECK_MESSAGE(r.output.find("Received Accounting-Response") != std::string::npos, r.output);

  udp_client c;
  radius::packet p;
  p.code = radius::code::status_server;
  p.identifier = 99;
  p.authenticator = radius::random_authenticator();
  const auto without = *radius::encode(p);
  c.send(f.npsd->auth_port, without);
  CHECK_FALSE(c.receive(500ms));
}

TEST_CASE("a retransmission is answered with identical bytes and processed once") {
  daemon_fixture f;
  udp_client c;
  const auto req = access_request(42, "bob", "bob-password", secret, true);
  const auto decisions_before = count_occurrences(f.npsd->log(), "user=bob result=");
  for (int i = 0; i < 5; ++i) c.send(f.npsd->auth_port, req);  // some while still in progress
  std::vector<radius::bytes> replies;
  while (auto r = c.receive(1500ms)) replies.push_back(*r);
  REQUIRE(!replies.empty());
  CHECK(replies.size() <= 5);
  c.send(f.npsd->auth_port, req);  // and one after the reply went out
  const auto late = c.receive(3s);
  REQUIRE(late);
  for (const auto& r : replies) CHECK(r == replies.front());
  CHECK(*late == replies.front());
  CHECK(radius::decode(*late)->code == radius::code::access_accept);
  std::this_thread::sleep_for(200ms);
  CHECK(count_occurrences(f.npsd->log(), "user=bob result=") == decisions_before + 1);

  // a new request (new authenticator, same identifier) is processed anew
  c.send(f.npsd->auth_port, access_request(42, "bob", "bob-password", secret, true));
  REQUIRE(c.receive(3s));
  CHECK(f.npsd->wait_for_log("user=bob result=", decisions_before + 2));
}

TEST_CASE("a packet from an unknown client is dropped and logged once per interval") {
  daemon_fixture f;
  udp_client stranger("127.0.0.2");
  for (int i = 0; i < 3; ++i)
    stranger.send(f.npsd->auth_port, access_request(static_cast<std::uint8_t>(i), "alice",
                                                    "alice-password", secret, true));
  CHECK_FALSE(stranger.receive(700ms));
  CHECK(count_occurrences(f.npsd->log(), "unknown RADIUS client") == 1);
  CHECK(f.npsd->log().find("src=127.0.0.2") != std::string::npos);
}

TEST_CASE("thousands of malformed packets leave the daemon answering") {
  daemon_fixture f;
  udp_client c;
  udp_client stranger("127.0.0.2");
  std::mt19937 rng(2865);
  auto rnd = [&](std::size_t n) {
    radius::bytes b(n);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    return b;
  };
  const auto good = access_request(1, "alice", "alice-password", secret, true);
  int sent = 0;
  for (int i = 0; i < 1000; ++i) {
    auto truncated = radius::bytes(good.begin(), good.begin() + (i % good.size()));
    auto bad_length = good;
    bad_length[2] = static_cast<std::uint8_t>(rng()), bad_length[3] = static_cast<std::uint8_t>(rng());
    auto bad_attr = good;
    bad_attr[20 + 1] = static_cast<std::uint8_t>(i % 3 == 0 ? 0 : (i % 3 == 1 ? 1 : 250));
    auto garbage = rnd(1 + rng() % 5000);
    auto bad_code = good;
    bad_code[0] = static_cast<std::uint8_t>(6 + i % 5);
    auto random_attrs = good;  // valid header, random attribute bytes, length field consistent
    for (std::size_t k = 20; k < random_attrs.size(); ++k) random_attrs[k] = static_cast<std::uint8_t>(rng());
    for (const auto* pkt : {&truncated, &bad_length, &bad_attr, &garbage, &bad_code, &random_attrs}) {
      c.send(f.npsd->auth_port, *pkt);
      ++sent;
    }
    c.send(f.npsd->acct_port, garbage);
    stranger.send(f.npsd->auth_port, garbage);
    sent += 2;
    if (i % 100 == 0) std::this_thread::sleep_for(1ms);  // let loopback queues breathe
  }
  CHECK(sent == 8000);
  while (c.receive(300ms)) {
  }
  CHECK(f.npsd->alive());
  auto r = run("radtest alice alice-password " + f.server() + " 0 " + secret);
  CHECK_MESSAGE(r.output.find("Received Access-Accept") != std::string::npos, r.output);
  r = f.radclient("Message-Authenticator = 0x00\\n", "status");
  CHECK_MESSAGE(r.output.find("Received Access-Accept") != std::string::npos, r.output);
  // the flood is logged in a bounded way
  CHECK(count_occurrences(f.npsd->log(), "dropped: malformed packet") <= 2);
}

TEST_CASE("SIGHUP with a broken file keeps the old configuration; a good one takes effect") {
  daemon_fixture f;
  write_file(f.config, "{ \"schema_version\": 1, \"server\": ");
  f.npsd->signal(SIGHUP);
  REQUIRE(f.npsd->wait_for_log("reload refused"));
  auto r = run("radtest alice alice-password " + f.server() + " 0 " + secret);
  CHECK_MESSAGE(r.output.find("Received Access-Accept") != std::string::npos, r.output);

  // an invalid value is refused too, naming the field
  write_file(f.config, config_json(""));
  f.npsd->signal(SIGHUP);
  REQUIRE(f.npsd->wait_for_log("reload refused", 2));
  CHECK(f.npsd->log().find("/clients/0/secret") != std::string::npos);

  write_file(f.config, config_json("rotated-secret"));
  f.npsd->signal(SIGHUP);
  REQUIRE(f.npsd->wait_for_log("configuration reloaded"));
  r = run("radtest alice alice-password " + f.server() + " 0 rotated-secret");
  CHECK_MESSAGE(r.output.find("Received Access-Accept") != std::string::npos, r.output);
  r = f.radclient("User-Name = alice\\nUser-Password = alice-password\\nMessage-Authenticator = 0x00\\n");
  CHECK_MESSAGE(r.output.find("Received Access") == std::string::npos, r.output);
  CHECK(f.npsd->log().find("rotated-secret") == std::string::npos);
}

TEST_CASE("accounting is not acknowledged while no accounting store exists") {
  daemon_fixture f;
  const auto r = f.radclient("Acct-Status-Type = Start\\nAcct-Session-Id = s1\\nUser-Name = alice\\n", "acct");
  CHECK_MESSAGE(r.output.find("Received Accounting-Response") == std::string::npos, r.output);
  CHECK(f.npsd->wait_for_log("accounting not acknowledged"));
}

TEST_CASE("SIGTERM stops the daemon with exit code 0 and removes the ready file") {
  daemon_fixture f;
  REQUIRE(run("radtest alice alice-password " + f.server() + " 0 " + secret).output.find("Accept") != std::string::npos);
  CHECK(f.npsd->terminate() == 0);
  CHECK(f.npsd->log().find("npsd stopped") != std::string::npos);
  CHECK_FALSE(fs::exists(f.npsd->ready_file()));
}

TEST_CASE("SIGTERM repeated until npsd has exited still ends in exit code 0") {
  // The second and later signals arrive while npsd drains, closes its store and exits (the
  // moment asio hands the default action back, which used to kill it).
  daemon_fixture f;
  CHECK(f.npsd->terminate_repeatedly(SIGTERM) == 0);
  CHECK(f.npsd->log().find("npsd stopped") != std::string::npos);
}

TEST_CASE("SIGTERM finishes a request in flight before exiting") {
  daemon_fixture f;
  // a user whose KDF takes a noticeable time, so the request is surely in flight at SIGTERM
  ldap::hash_params slow;
  slow.iterations = 800'000;  // well past the 50 ms below, well within the 5 s grace even on a loaded machine
  write_file(f.dir.path / "users.json", R"({ "schema_version": 1, "users": [
    { "name": "slow", "password_hash": ")" + *ldap::hash_password("slow-password", slow) + R"(" } ] })");
  f.npsd->signal(SIGHUP);
  REQUIRE(f.npsd->wait_for_log("configuration reloaded"));
  udp_client c;
  c.send(f.npsd->auth_port, access_request(1, "slow", "slow-password", secret, true));
  std::this_thread::sleep_for(50ms);
  f.npsd->signal(SIGTERM);
  const auto reply = c.receive(5s);
  REQUIRE(reply);
  CHECK(radius::decode(*reply)->code == radius::code::access_accept);
  CHECK(f.npsd->terminate() == 0);
  CHECK(f.npsd->log().find("in_flight=1") != std::string::npos);
}

TEST_CASE("npsd --check validates a configuration: exit 0, or 2 naming the field") {
  temp_dir dir;
  daemon_fixture f;
  auto r = run(std::string(NPSD_BINARY) + " --check --config " + f.config.string());
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  write_file(dir.path / "bad.json", R"({"schema_version": 1, "server": {"listen": [{"type": "auth", "address": "127.0.0.1", "port": 70000}]}, "clients": [], "directory": {"backend": "local", "users_file": "u.json"}})");
  r = run(std::string(NPSD_BINARY) + " --check --config " + (dir.path / "bad.json").string());
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.output.find("/server/listen/0/port") != std::string::npos, r.output);
  write_file(dir.path / "unknown.json", R"({"schema_version": 1, "surprise": true})");
  r = run(std::string(NPSD_BINARY) + " --check --config " + (dir.path / "unknown.json").string());
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.output.find("unknown key \"surprise\"") != std::string::npos, r.output);
}

TEST_CASE("a control_socket path naming a file that is not a socket: refused, the file kept") {
  daemon_fixture f;
  f.npsd.reset();
  // a slip of the keyboard: the control socket set to the configuration file itself
  auto cfg = nlohmann::json::parse(read_file(f.config));
  cfg["server"]["control_socket"] = "npsd.json";
  const auto text = cfg.dump(2);
  write_file(f.config, text);
  const auto r = run("timeout 10 " + std::string(NPSD_BINARY) + " --config " + f.config.string());
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(r.output.find("exists and is not a socket") != std::string::npos, r.output);
  REQUIRE(fs::exists(f.config));
  CHECK(read_file(f.config) == text);
}

TEST_CASE("a control socket answer quoting a non-UTF-8 path does not stop the daemon") {
  daemon_fixture f;
  f.npsd.reset();
  // a configuration file whose name is not UTF-8: a refused reload quotes it
  const fs::path config = f.dir.path / "npsd-\xff.json";
  auto cfg = nlohmann::json::parse(read_file(f.config));
  cfg["server"]["control_socket"] = "ctl.sock";
  write_file(config, cfg.dump(2));
  npsd_process npsd(config, f.dir.path);
  write_file(config, "{ broken");
  const auto reply = control_request(f.dir.path / "ctl.sock", "{\"command\":\"reload\"}\n");
  REQUIRE_MESSAGE(!reply.empty(), npsd.log());
  const auto j = nlohmann::json::parse(reply);
  CHECK(j.at("ok") == false);
  CHECK_MESSAGE(j.at("error").get<std::string>().find("not valid JSON") != std::string::npos, reply);
  std::this_thread::sleep_for(100ms);
  CHECK_MESSAGE(npsd.alive(), npsd.log());
  const auto r = run("radtest alice alice-password 127.0.0.1:" + std::to_string(npsd.auth_port) +
                     " 0 " + secret);
  CHECK_MESSAGE(r.output.find("Received Access-Accept") != std::string::npos, r.output);
}

TEST_CASE("the shipped example configurations validate") {
  // Their certificates are made as the README says (scripts/demo makes the demo's).
  const std::string src = NPSD_SOURCE_DIR;
  for (const char* pki : {"var/demo/pki example.com", "examples/always-on-vpn/pki"}) {
    const auto r = run(src + "/scripts/make-pki " + src + "/" + pki);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  }
  for (const char* example : {"examples/demo/npsd.json", "examples/always-on-vpn/npsd.json"}) {
    const auto r = run(std::string(NPSD_BINARY) + " --check --config " + NPSD_SOURCE_DIR + "/" + example);
    CHECK_MESSAGE(r.exit_code == 0, example, "\n", r.output);
  }
}
