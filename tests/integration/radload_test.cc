// radload, the load tool, as a check: against the real npsd it counts Accepts, Rejects and
// Accounting-Responses, and runs EAP-TLS and PEAP-TLS conversations (full and resumed) whose
// MPPE keys it checks; against its own echo responder told to answer wrongly it refuses
// every reply (bad Response Authenticator, bad or missing Message-Authenticator) and fails;
// through its relay told to spoil the MS-MPPE-Recv-Key of npsd's Access-Accepts (re-signed,
// so only the key is wrong) it refuses every Accept.
#include <doctest/doctest.h>

#include <csignal>
#include <cstdio>

#include "eapol.h"
#include "harness.h"
#include "ldap/password_hash.h"

using namespace npsd;
using namespace npsd::test;
using namespace std::chrono_literals;

#ifdef NPSD_RADLOAD

namespace {

const std::string radload = NPSD_RADLOAD;

nlohmann::json load(const std::string& args, int* exit_code = nullptr) {
  const auto r = run(radload + " --json --secret testing123 " + args);
  if (exit_code != nullptr) *exit_code = r.exit_code;
  const auto brace = r.output.find('{');
  REQUIRE_MESSAGE(brace != std::string::npos, r.output);
  return nlohmann::json::parse(r.output.substr(brace, r.output.find('\n', brace) - brace));
}

// radload --echo (or, with `relay_to`, --relay) in the background, with a fault; its port.
struct echo_process {
  FILE* p = nullptr;
  int port = 0;
  pid_t pid = -1;
  explicit echo_process(const std::string& fault, int relay_to = 0) {
    const std::string what = relay_to > 0 ? " --relay " + std::to_string(relay_to) : " --echo";
    p = ::popen((radload + what + " --port 0 --secret testing123 --max-seconds 60 --fault " + fault).c_str(), "r");
    REQUIRE(p != nullptr);
    char line[256] = {};
    REQUIRE(std::fgets(line, sizeof line, p) != nullptr);
    const auto j = nlohmann::json::parse(line);
    port = j.at("echo_port").get<int>();
    pid = j.at("pid").get<pid_t>();
  }
  ~echo_process() {
    ::kill(pid, SIGTERM);
    ::pclose(p);
  }
};

}  // namespace

TEST_CASE("radload verifies replies: a clean echo passes, each kind of wrong reply is refused") {
  for (const char* mode : {"pap --password x", "status", "acct"}) {
    CAPTURE(mode);
    echo_process echo("none");
    int rc = -1;
    const auto j = load("--mode " + std::string(mode) + " --port " + std::to_string(echo.port) + " --count 200 --timeout 0.5", &rc);
    CHECK(rc == 0);
    CHECK(j.at("acked") == 200);
    CHECK(j.at("bad_responses") == 0);
  }
  struct wrong {
    const char* fault;
    const char* counter;
  };
  for (const auto& w : {wrong{"bad-authenticator", "bad_authenticator"},
                        wrong{"bad-message-authenticator", "bad_message_authenticator"},
                        wrong{"no-message-authenticator", "missing_message_authenticator"}}) {
    CAPTURE(w.fault);
    echo_process echo(w.fault);
    int rc = -1;
    const auto j = load("--mode pap --password x --port " + std::to_string(echo.port) +
                            " --count 20 --timeout 0.2 --retries 0", &rc);
    CHECK(rc == 1);
    CHECK(j.at("acked") == 0);
    CHECK(j.at(w.counter) == 20);
  }
  // An Accounting-Response with a wrong authenticator is refused too.
  echo_process echo("bad-authenticator");
  const auto j = load("--mode acct --port " + std::to_string(echo.port) + " --count 20 --timeout 0.2 --retries 0");
  CHECK(j.at("bad_authenticator") == 20);
}

TEST_CASE("radload against npsd: PAP accepts and rejects, accounting acknowledged, Status-Server") {
  temp_dir dir;
  ldap::hash_params hp;
  hp.iterations = 1000;
  write_file(dir.path / "users.json", R"({ "schema_version": 1, "users": [
    { "name": "bench", "password_hash": ")" + *ldap::hash_password("bench-password", hp) + R"(" } ] })");
  write_file(dir.path / "npsd.json", R"({
  "schema_version": 1,
  "server": { "listen": [ { "type": "auth", "address": "127.0.0.1", "port": 0 },
                          { "type": "acct", "address": "127.0.0.1", "port": 0 } ] },
  "clients": [ { "name": "load", "address": "127.0.0.1", "secret": "testing123" } ],
  "directory": { "backend": "local", "users_file": "users.json" },
  "accounting": { "database": "accounting.db" },
  "network_policies": [ { "name": "All", "access": "grant" } ]
})");
  npsd_process npsd(dir.path / "npsd.json", dir.path);
  const auto auth = " --port " + std::to_string(npsd.auth_port);
  auto j = load("--mode pap --user bench --password bench-password --count 300 --window 32" + auth);
  CHECK(j.at("acked") == 300);
  CHECK(j.at("rejects") == 0);
  j = load("--mode pap --user bench --password wrong --count 50 --window 8" + auth);
  CHECK(j.at("acked") == 50);
  CHECK(j.at("rejects") == 50);
  j = load("--mode status --count 100" + auth);
  CHECK(j.at("acked") == 100);
  j = load("--mode acct --count 400 --window 64 --port " + std::to_string(npsd.acct_port));
  CHECK(j.at("acked") == 400);
  CHECK(j.at("bad_responses") == 0);
  // --rate paces: 200 requests at 400/s take about half a second.
  j = load("--mode status --count 200 --rate 400" + auth);
  CHECK(j.at("acked") == 200);
  CHECK(j.at("duration_s").get<double>() > 0.4);
}

TEST_CASE("radload runs EAP-TLS and PEAP-TLS against npsd, checks the MPPE keys, and refuses wrong ones") {
  const fs::path& pki = test_pki();
  temp_dir dir;
  write_file(dir.path / "users.json", R"({ "schema_version": 1, "groups": [ { "name": "VPN Users" } ],
    "users": [ { "name": "alice", "upn": "alice@corp.example.com", "groups": ["VPN Users"] },
               { "name": "bob", "upn": "bob@corp.example.com", "groups": ["VPN Users"] } ] })");
  write_file(dir.path / "npsd.json", R"({
  "schema_version": 1,
  "server": { "listen": [ { "type": "auth", "address": "127.0.0.1", "port": 0 } ] },
  "clients": [ { "name": "load", "address": "127.0.0.1", "secret": "testing123" } ],
  "directory": { "backend": "local", "users_file": "users.json" },
  "eap": { "certificate": ")" + (pki / "server.pem").string() + R"(",
           "private_key": ")" + (pki / "server.key").string() + R"(",
           "ca_file": ")" + (pki / "ca.pem").string() + R"(" },
  "network_policies": [ { "name": "VPN Users", "conditions": { "user_groups": ["VPN Users"] },
                          "access": "grant" } ]
})");
  npsd_process npsd(dir.path / "npsd.json", dir.path);
  const auto creds = [&](const std::string& user) {
    return " --user " + user + "@corp.example.com --ca " + (pki / "ca.pem").string() + " --cert " +
           (pki / (user + ".pem")).string() + " --key " + (pki / (user + ".key")).string();
  };
  const auto auth = " --port " + std::to_string(npsd.auth_port);
  for (const char* mode : {"eap-tls", "peap-tls"}) {
    for (const char* tls : {"1.2", "1.3"}) {
      CAPTURE(mode);
      CAPTURE(tls);
      int rc = -1;
      // alice's key is RSA, bob's ECDSA P-256.
      auto j = load(std::string("--mode ") + mode + " --tls " + tls + creds("alice") +
                        " --count 12 --window 4" + auth, &rc);
      CHECK(rc == 0);
      CHECK(j.at("accepts") == 12);
      CHECK(j.at("resumed") == 0);
      CHECK(j.at("bad_responses") == 0);
      CHECK(j.at("eap_errors") == 0);
      // Resumed: each lane's first conversation is full, the rest resume it.
      j = load(std::string("--mode ") + mode + " --tls " + tls + creds("bob") +
                   " --count 12 --window 3 --resume" + auth, &rc);
      CHECK(rc == 0);
      CHECK(j.at("accepts") == 12);
      CHECK(j.at("resumed") == 9);
    }
  }
  // A certificate npsd refuses (rogue CA) is an Access-Reject, counted, not an error.
  {
    int rc = -1;
    const auto j = load("--mode eap-tls --user alice@corp.example.com --ca " + (pki / "ca.pem").string() +
                            " --cert " + (pki / "rogue.pem").string() + " --key " +
                            (pki / "rogue.key").string() + " --count 4 --window 2" + auth, &rc);
    CHECK(rc == 0);
    CHECK(j.at("rejects") == 4);
    CHECK(j.at("accepts") == 0);
  }
  // Through the relay that spoils MS-MPPE-Recv-Key (and signs the Accept again): every Accept
  // is refused as a bad key, for both methods, and radload fails.
  echo_process relay("wrong-mppe-key", npsd.auth_port);
  for (const char* mode : {"eap-tls", "peap-tls"}) {
    CAPTURE(mode);
    int rc = -1;
    const auto j = load(std::string("--mode ") + mode + creds("alice") + " --count 6 --window 2 --port " +
                            std::to_string(relay.port), &rc);
    CHECK(rc == 1);
    CHECK(j.at("accepts") == 0);
    CHECK(j.at("bad_mppe_key") == 6);
    CHECK(j.at("bad_authenticator") == 0);
    CHECK(j.at("bad_message_authenticator") == 0);
  }
  // --hold: every lane stops at the server's first flight; npsd's memory is reported.
  {
    int rc = -1;
    const auto j = load("--mode eap-tls" + creds("bob") + " --window 50 --hold 0.1 --server-pid " +
                            std::to_string(npsd.pid()) + auth, &rc);
    CHECK(rc == 0);
    CHECK(j.at("held") == 50);
    CHECK(j.at("accepts") == 0);
    CHECK(j.at("server_rss_held").get<double>() > 0);
  }
}

#endif
