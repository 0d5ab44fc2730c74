// Security behaviour of the real npsd, each item a test that fails without it (issue 8):
// no secret in any output at any level; Message-Authenticator and limit_proxy_state
// (BlastRADIUS) with a warning for every exempted client; the permissions of the files holding
// secrets; the switch to an unprivileged user when started as root; no core dumps.
#include <doctest/doctest.h>

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cctype>
#include <cstring>

#include "eap_client.h"
#include "eapol.h"
#include "harness.h"
#include "ldap/password_hash.h"
#include "ldap_fixture.h"
#include "radius/crypto.h"

using namespace npsd;
using namespace npsd::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string npsd_binary = NPSD_BINARY;

// Every secret the tests hand npsd: distinctive, so that finding one anywhere is a leak.
const std::string client_secret = "MARKER-client-secret-4f1a";
const std::string file_secret = "MARKER-file-secret-9b2c";  // from a secret_file
const std::string user_password = "MARKER-user-password-77d0";
const std::string wrong_password = "MARKER-wrong-password-31e5";
const std::string wrong_secret = "MARKER-wrong-secret-c8a4";
const std::string tunnel_password = "MARKER-tunnel-password-5e6f";

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// A PAP Access-Request; Message-Authenticator and Proxy-State as asked.
radius::bytes access_request(std::uint8_t id, const std::string& user, const std::string& pw,
                             const std::string& s, bool with_message_authenticator,
                             bool with_proxy_state, radius::authenticator_t* auth_out = nullptr) {
  return pap_request(id, user, pw, s, with_message_authenticator,
                     with_proxy_state ? std::vector<std::string>{"forged-1"}
                                      : std::vector<std::string>{},
                     auth_out);
}

// The "server" object of these tests: auth and acct on ephemeral loopback ports, a control
// socket beside the configuration.
json loopback_server() {
  return {{"threads", 2},
          {"listen",
           {{{"type", "auth"}, {"address", "127.0.0.1"}, {"port", 0}},
            {{"type", "acct"}, {"address", "127.0.0.1"}, {"port", 0}}}},
          {"control_socket", "control.sock"}};
}

// A simple configuration: PAP for alice, the client "loopback" (127.0.0.1) and, when asked,
// "legacy" (127.0.0.3) exempted from Message-Authenticator. `patch` is merged in last.
json simple_config(const json& patch = json::object()) {
  json cfg = {{"schema_version", 1},
              {"server", loopback_server()},
              {"log", {{"level", "debug"}}},
              {"clients",
               {{{"name", "loopback"}, {"address", "127.0.0.1"}, {"secret", "testing123"}}}},
              {"directory", {{"backend", "local"}, {"users_file", "users.json"}}},
              {"network_policies", {{{"name", "Everyone"}, {"access", "grant"}}}}};
  cfg.merge_patch(patch);
  return cfg;
}

const json legacy_client = {{"name", "legacy"},
                            {"address", "127.0.0.3"},
                            {"secret", "legacy-secret"},
                            {"require_message_authenticator", false}};

void write_private(const fs::path& p, const std::string& text) {
  write_file(p, text);
  REQUIRE(::chmod(p.c_str(), 0600) == 0);
}

void write_users(const fs::path& dir) {
  write_private(dir / "users.json",
                json{{"schema_version", 1},
                     {"users", {{{"name", "alice"}, {"password_hash", fast_hash("alice-password")}}}}}
                    .dump(2));
}

std::string radtest(std::uint16_t port, const std::string& user, const std::string& pw,
                    const std::string& s = "testing123") {
  return run("radtest " + user + " " + pw + " 127.0.0.1:" + std::to_string(port) + " 0 " + s)
      .output;
}

}  // namespace

// ---- no secret in any output ----------------------------------------------------------------

TEST_CASE("no secret, password, hash, private key or MSK appears in npsd's output at debug level, "
          "text or JSON, nor in npsctl's") {
  std::string format;
  SUBCASE("text") { format = "text"; }
  SUBCASE("json") { format = "json"; }
  CAPTURE(format);
  temp_dir dir;
  const auto& pki = test_pki();
  const auto config = dir.path / "npsd.json";
  fs::copy_file(pki / "server.key", dir.path / "server.key");
  ::chmod((dir.path / "server.key").c_str(), 0600);
  write_private(dir.path / "nas.secret", file_secret + "\n");

  const auto alice_hash = fast_hash(user_password);
  const json users = {{"schema_version", 1},
                      {"users",
                       {{{"name", "alice"},
                         {"upn", "alice@corp.example.com"},
                         {"password_hash", alice_hash}}}}};
  write_private(dir.path / "users.json", users.dump(2));
  const json cfg = {
      {"schema_version", 1},
      {"server", loopback_server()},
      {"log", format == "json" ? json{{"format", format}, {"level", "trace"}, {"file", "npsd-file.log"}}
                               : json{{"format", format}, {"level", "trace"}}},
      {"clients",
       {{{"name", "loopback"}, {"address", "127.0.0.1"}, {"secret", client_secret}},
        {{"name", "legacy"},
         {"address", "127.0.0.3"},
         {"secret_file", "nas.secret"},
         {"require_message_authenticator", false}}}},
      {"directory", {{"backend", "local"}, {"users_file", "users.json"}}},
      {"eap",
       {{"certificate", (pki / "server.pem").string()},
        {"private_key", "server.key"},
        {"ca_file", (pki / "ca.pem").string()}}},
      {"accounting", {{"database", "accounting.db"}}},
      {"network_policies",
       {{{"name", "Everyone"},
         {"access", "grant"},
         {"settings",
          {{"attributes",
            {{{"name", "Tunnel-Password"}, {"value", tunnel_password}, {"tag", 1}},
             {{"name", "Reply-Message"}, {"value", "welcome"}}}}}}}}}};
  write_private(config, cfg.dump(2));

  std::string outputs;  // npsctl's and npsd --check's, all of it
  auto ctl = [&](const std::string& args, const std::string& input = "") {
    auto r = run("printf '" + input + "' | " + npsctl + " " + args);
    outputs += r.output;
    return r;
  };
  auto check = run(npsd_binary + " --check --config " + config.string());
  outputs += check.output;
  REQUIRE_MESSAGE(check.exit_code == 0, check.output);

  auto npsd = std::make_unique<npsd_process>(config, dir.path);
  const auto log_file = dir.path / "npsd-file.log";
  auto all_logs = [&] {
    return npsd->log() + npsd->standard_output() + (fs::exists(log_file) ? read_file(log_file) : "");
  };
  auto wait_for_log = [&](const std::string& text, std::size_t times) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (count_occurrences(all_logs(), text) < times) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(20ms);
    }
    return true;
  };
  auto reload_with_sighup = [&](const std::string& expected) {
    const auto before = count_occurrences(all_logs(), expected);
    npsd->signal(SIGHUP);
    return wait_for_log(expected, before + 1);
  };
  const auto port = std::to_string(npsd->auth_port);
  const auto acct_port = std::to_string(npsd->acct_port);
  auto radclient = [&](const std::string& attrs, const std::string& s, const std::string& p,
                       const std::string& kind = "auth") {
    return run("printf '" + attrs + "' | radclient -x -t 1 -r 1 127.0.0.1:" + p + " " + kind +
               " " + s)
        .output;
  };

  // PAP: an accept (its reply carries the Tunnel-Password), a wrong password, an unknown user
  auto r = radclient("User-Name = alice\\nUser-Password = " + user_password +
                         "\\nMessage-Authenticator = 0x00\\n",
                     client_secret, port);
  CHECK_MESSAGE(r.find("Received Access-Accept") != std::string::npos, r);
  CHECK_MESSAGE(r.find(tunnel_password) != std::string::npos, r);  // radclient decrypted it
  r = radclient("User-Name = alice\\nUser-Password = " + wrong_password +
                    "\\nMessage-Authenticator = 0x00\\n",
                client_secret, port);
  CHECK_MESSAGE(r.find("Received Access-Reject") != std::string::npos, r);
  r = radclient("User-Name = mallory\\nUser-Password = " + wrong_password +
                    "\\nMessage-Authenticator = 0x00\\n",
                client_secret, port);
  CHECK_MESSAGE(r.find("Received Access-Reject") != std::string::npos, r);
  // a wrong shared secret, with and without Message-Authenticator; the legacy client too
  r = radclient("User-Name = alice\\nUser-Password = " + user_password +
                    "\\nMessage-Authenticator = 0x00\\n",
                wrong_secret, port);
  CHECK_MESSAGE(r.find("Received Access") == std::string::npos, r);
  {
    udp_client legacy("127.0.0.3");
    legacy.send(npsd->auth_port,
                access_request(1, "alice", user_password, file_secret, false, false));
    const auto reply = legacy.receive(3s);
    REQUIRE(reply);
    CHECK(radius::decode(*reply)->code == radius::code::access_accept);
    legacy.send(npsd->auth_port,
                access_request(2, "alice", wrong_password, wrong_secret, false, false));
    const auto wrong = legacy.receive(3s);  // the password decrypts to garbage: rejected
    REQUIRE(wrong);
    CHECK(radius::decode(*wrong)->code == radius::code::access_reject);
    legacy.send(npsd->auth_port,
                access_request(3, "alice", user_password, file_secret, false, true));
    CHECK_FALSE(legacy.receive(300ms));  // limit_proxy_state
  }
  // accounting
  r = radclient("User-Name = alice\\nAcct-Status-Type = Start\\nAcct-Session-Id = s1\\n",
                client_secret, acct_port, "acct");
  CHECK_MESSAGE(r.find("Received Accounting-Response") != std::string::npos, r);
  r = radclient("User-Name = alice\\nAcct-Status-Type = Start\\nAcct-Session-Id = s2\\n",
                wrong_secret, acct_port, "acct");
  CHECK_MESSAGE(r.find("Received Accounting-Response") == std::string::npos, r);
  // EAP-TLS, whose Access-Accept carries the MSK in MS-MPPE keys
  eap_tls_client eap(pki / "ca.pem", pki / "alice.pem", pki / "alice.key", TLS1_3_VERSION);
  const auto e = eap.authenticate(npsd->auth_port, client_secret, "alice@corp.example.com");
  CHECK(e.code == "Access-Accept");
  CHECK(e.mppe_match);
  REQUIRE(e.msk_hex.size() == 128);
  r = radclient("Message-Authenticator = 0x00\\n", client_secret, port, "status");
  CHECK_MESSAGE(r.find("Received Access-Accept") != std::string::npos, r);

  // npsctl: what reads the configuration, what asks npsd, what fails
  const auto c = " --config " + config.string();
  CHECK(ctl("status" + c).exit_code == 0);
  CHECK(ctl("reload" + c).exit_code == 0);
  CHECK(ctl("validate" + c).exit_code == 0);
  CHECK(ctl("client list" + c).exit_code == 0);
  CHECK(ctl("client list --json" + c).exit_code == 0);
  CHECK(ctl("client show loopback" + c).exit_code == 0);
  CHECK(ctl("client show legacy --json" + c).exit_code == 0);
  CHECK(ctl("policy list" + c).exit_code == 0);
  CHECK(ctl("policy show Everyone --json" + c).exit_code == 0);
  CHECK(ctl("policy test --client loopback --user alice" + c).exit_code == 0);
  CHECK(ctl("directory test alice" + c).exit_code == 0);
  CHECK(ctl("user list --file " + (dir.path / "users.json").string()).exit_code == 0);
  CHECK(ctl("client add --name x --address not-an-address --secret " + client_secret + c)
            .exit_code != 0);
  CHECK(ctl("user set-password --file " + (dir.path / "users.json").string() +
                " --name nobody-here --iterations 1000",
            wrong_password + "\\n")
            .exit_code != 0);

  // reloads that fail: broken JSON right after a secret, a broken user file, a bad field next
  // to the secrets; npsctl reload reports them too
  const auto good = cfg.dump(2);
  const auto cut = good.find(client_secret) + client_secret.size() + 1;
  write_private(config, good.substr(0, cut) + " oops");
  REQUIRE(reload_with_sighup("reload refused"));
  CHECK(ctl("reload" + c).exit_code != 0);
  CHECK(ctl("validate" + c).exit_code != 0);
  outputs += run(npsd_binary + " --check --config " + config.string()).output;
  write_private(config, good);
  const auto users_text = users.dump(2);
  write_private(dir.path / "users.json",
                users_text.substr(0, users_text.find(alice_hash) + alice_hash.size() / 2));
  REQUIRE(reload_with_sighup("reload refused"));
  CHECK(ctl("reload" + c).exit_code != 0);
  write_private(dir.path / "users.json", users_text);
  auto bad = cfg;
  bad["clients"][0]["require_message_authenticator"] = client_secret;
  bad["clients"][1]["vendor"] = json::array({file_secret});
  write_private(config, bad.dump(2));
  REQUIRE(reload_with_sighup("reload refused"));
  write_private(config, good);
  REQUIRE(reload_with_sighup("configuration reloaded"));
  CHECK(npsd->terminate() == 0);

  const auto everything = all_logs() + outputs;
  REQUIRE(everything.find("Access-Accept") != std::string::npos);  // the log was really read
  REQUIRE(everything.find("reload refused") != std::string::npos);
  std::vector<std::pair<std::string, std::string>> markers = {
      {"client secret", client_secret},
      {"secret from a file", file_secret},
      {"user password", user_password},
      {"wrong password", wrong_password},
      {"wrong shared secret", wrong_secret},
      {"Tunnel-Password", tunnel_password},
      {"password hash", alice_hash},
      {"MSK", e.msk_hex},
      {"MSK (upper case)", upper(e.msk_hex)},
      {"MS-MPPE-Recv-Key", e.msk_hex.substr(0, 64)},
      {"MS-MPPE-Send-Key", e.msk_hex.substr(64)}};
  // the parts of the hash: its salt and digest
  for (std::size_t start = 0, end = 0; end != std::string::npos; start = end + 1) {
    end = alice_hash.find('$', start);
    const auto part = alice_hash.substr(start, end == std::string::npos ? end : end - start);
    if (part.size() >= 12) markers.emplace_back("password hash part", part);
  }
  // the private key's base64 lines
  std::istringstream key(read_file(dir.path / "server.key"));
  for (std::string line; std::getline(key, line);)
    if (line.size() >= 40 && line.find("-----") == std::string::npos)
      markers.emplace_back("private key", line);
  for (const auto& m : markers) {
    const std::string& what = m.first;
    const std::string& marker = m.second;
    CAPTURE(what);
    CHECK_MESSAGE(everything.find(marker) == std::string::npos, "leaked: ", marker);
  }
}

TEST_CASE("LDAP: the bind password and the users' passwords never reach the log, even when the "
          "bind fails") {
  slapd_process slapd;
  auto ldap = ldap_settings(slapd);
  const json policies = {{{"name", "Everyone"}, {"access", "grant"}}};
  {
    npsd_on_ldap good(ldap, policies, {{"log", {{"level", "trace"}}}});
    CHECK(good.auth("alice", "alice-password").code == "Access-Accept");
    CHECK(good.auth("alice", wrong_password).code == "Access-Reject");
    CHECK(good.process().terminate() == 0);
    const auto log = good.log() + good.process().standard_output();
    CHECK(log.find(ldap_service_password) == std::string::npos);
    CHECK(log.find("alice-password") == std::string::npos);
    CHECK(log.find(wrong_password) == std::string::npos);
  }
  ldap["bind_password"] = "MARKER-ldap-bind-password-a1b2";
  npsd_on_ldap refused(ldap, policies, {{"log", {{"level", "trace"}}}});
  const auto a = refused.auth("alice", user_password);
  CHECK(a.code != "Access-Accept");
  CHECK(refused.process().terminate() == 0);
  const auto log = refused.log() + refused.process().standard_output();
  CHECK_MESSAGE(log.find("bind") != std::string::npos, log);  // the failure was logged
  CHECK(log.find("MARKER-ldap-bind-password-a1b2") == std::string::npos);
  CHECK(log.find(user_password) == std::string::npos);
}

// ---- Message-Authenticator and limit_proxy_state (BlastRADIUS) ------------------------------

TEST_CASE("start-up and reload warn naming each client exempted from Message-Authenticator") {
  temp_dir dir;
  write_users(dir.path);
  auto cfg = simple_config();
  cfg["clients"].push_back(legacy_client);
  write_private(dir.path / "npsd.json", cfg.dump(2));
  npsd_process npsd(dir.path / "npsd.json", dir.path);
  const std::string warning = "client exempted from Message-Authenticator";
  REQUIRE(npsd.wait_for_log(warning));
  const auto start = npsd.log();
  CHECK(count_occurrences(start, warning) == 1);
  CHECK(start.find("client=legacy address=127.0.0.3") != std::string::npos);
  CHECK(start.find("warning client exempted") != std::string::npos);  // at level warn

  cfg["clients"].push_back({{"name", "old-switch"},
                            {"address", "127.0.0.4"},
                            {"secret", "switch-secret"},
                            {"require_message_authenticator", false},
                            {"limit_proxy_state", false}});
  write_private(dir.path / "npsd.json", cfg.dump(2));
  npsd.signal(SIGHUP);
  REQUIRE(npsd.wait_for_log("configuration reloaded"));
  const auto reloaded = npsd.log();
  CHECK(count_occurrences(reloaded, warning) == 3);
  CHECK(reloaded.find("client=old-switch address=127.0.0.4/32 limit_proxy_state=false") !=
        std::string::npos);
  CHECK(reloaded.find("client=loopback address") == std::string::npos);  // it requires one
}

TEST_CASE("limit_proxy_state: an exempted client's Access-Request with Proxy-State and no "
          "Message-Authenticator is dropped and counted; false lets it through") {
  temp_dir dir;
  write_users(dir.path);
  auto cfg = simple_config();
  cfg["clients"].push_back(legacy_client);
  write_private(dir.path / "npsd.json", cfg.dump(2));
  npsd_process npsd(dir.path / "npsd.json", dir.path);
  udp_client legacy("127.0.0.3");
  radius::authenticator_t ra;

  // no Proxy-State, no Message-Authenticator: served (the exemption)
  legacy.send(npsd.auth_port, access_request(1, "alice", "alice-password", "legacy-secret", false,
                                             false, &ra));
  auto reply = legacy.receive(3s);
  REQUIRE(reply);
  CHECK(radius::decode(*reply)->code == radius::code::access_accept);
  CHECK(radius::decode(*reply)->attributes.front().type == radius::attr::message_authenticator);
  CHECK(radius::verify_response(*reply, ra, "legacy-secret", true) == radius::verify_result::ok);

  // Proxy-State without Message-Authenticator: dropped, logged, counted
  legacy.send(npsd.auth_port,
              access_request(2, "alice", "alice-password", "legacy-secret", false, true));
  CHECK_FALSE(legacy.receive(700ms));
  CHECK(npsd.wait_for_log("Proxy-State but no Message-Authenticator (limit_proxy_state)"));
  CHECK(npsd.log().find("client=legacy code=Access-Request reason=262") != std::string::npos);
  auto status = json::parse(control_request(dir.path / "control.sock", "{\"command\":\"status\"}\n"));
  CHECK(status["counters"]["dropped_proxy_state_without_message_authenticator"] == 1);

  // Proxy-State with a valid Message-Authenticator: served, Proxy-State echoed
  legacy.send(npsd.auth_port, access_request(3, "alice", "alice-password", "legacy-secret", true,
                                             true, &ra));
  reply = legacy.receive(3s);
  REQUIRE(reply);
  CHECK(radius::decode(*reply)->code == radius::code::access_accept);
  CHECK(radius::decode(*reply)->find(radius::attr::proxy_state) != nullptr);

  // a client that requires Message-Authenticator drops a request without one anyway
  udp_client strict;
  strict.send(npsd.auth_port,
              access_request(4, "alice", "alice-password", "testing123", false, true));
  CHECK_FALSE(strict.receive(500ms));

  // limit_proxy_state false (set with npsctl): the same forged-looking request is answered
  auto r = run(npsctl + " client set legacy --limit-proxy-state false --config " +
               (dir.path / "npsd.json").string());
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  r = run(npsctl + " reload --config " + (dir.path / "npsd.json").string());
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  legacy.send(npsd.auth_port,
              access_request(5, "alice", "alice-password", "legacy-secret", false, true));
  reply = legacy.receive(3s);
  REQUIRE(reply);
  CHECK(radius::decode(*reply)->code == radius::code::access_accept);
  status = json::parse(control_request(dir.path / "control.sock", "{\"command\":\"status\"}\n"));
  CHECK(status["counters"]["dropped_proxy_state_without_message_authenticator"] == 1);
}

// ---- file permissions -----------------------------------------------------------------------

TEST_CASE("a private key readable by others: a warning naming it by default, exit 2 with "
          "file_permissions refuse, naming the file and mode and never the content") {
  temp_dir dir;
  const auto& pki = test_pki();
  write_users(dir.path);
  const auto key = dir.path / "server.key";
  fs::copy_file(pki / "server.key", key);
  REQUIRE(::chmod(key.c_str(), 0644) == 0);
  auto cfg = simple_config({{"eap",
                             {{"certificate", (pki / "server.pem").string()},
                              {"private_key", "server.key"},
                              {"ca_file", (pki / "ca.pem").string()}}}});
  write_private(dir.path / "npsd.json", cfg.dump(2));
  std::string key_line;
  std::istringstream lines(read_file(key));
  std::getline(lines, key_line);
  std::getline(lines, key_line);  // the first base64 line
  REQUIRE(key_line.size() > 40);
  {
    npsd_process npsd(dir.path / "npsd.json", dir.path);
    const auto log = npsd.log();
    CHECK_MESSAGE(log.find("a file holding secrets is readable by other users") != std::string::npos,
                  log);
    CHECK(log.find("file=" + key.string() + " field=/eap/private_key mode=0644") !=
          std::string::npos);
    CHECK(radtest(npsd.auth_port, "alice", "alice-password").find("Access-Accept") !=
          std::string::npos);
  }
  cfg["server"]["file_permissions"] = "refuse";
  write_private(dir.path / "npsd.json", cfg.dump(2));
  for (const auto& args : {std::string(" --config "), std::string(" --check --config ")}) {
    const auto r = run("timeout 10 " + npsd_binary + args + (dir.path / "npsd.json").string());
    CHECK_MESSAGE(r.exit_code == 2, r.output);
    CHECK_MESSAGE(r.output.find("/eap/private_key: " + key.string() +
                                " is readable by other users (mode 0644)") != std::string::npos,
                  r.output);
    CHECK(r.output.find(key_line) == std::string::npos);
  }
  REQUIRE(::chmod(key.c_str(), 0600) == 0);  // fixed: starts
  npsd_process npsd(dir.path / "npsd.json", dir.path);
  CHECK(npsd.log().find("readable by other users") == std::string::npos);
}

TEST_CASE("a configuration writable by others is refused even in warn mode; readable, a warning") {
  temp_dir dir;
  write_users(dir.path);
  const auto config = dir.path / "npsd.json";
  write_private(config, simple_config().dump(2));
  REQUIRE(::chmod(config.c_str(), 0666) == 0);
  auto r = run("timeout 10 " + npsd_binary + " --config " + config.string());
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.output.find(config.string() +
                              ": the configuration file is writable by other users (mode 0666)") !=
                    std::string::npos,
                r.output);
  CHECK(r.output.find("testing123") == std::string::npos);
  REQUIRE(::chmod(config.c_str(), 0644) == 0);
  npsd_process npsd(config, dir.path);
  CHECK(npsd.log().find("field=\"(the configuration file)\" mode=0644") != std::string::npos);
}

TEST_CASE("at reload a file that became readable by others is refused (file_permissions refuse): "
          "the old configuration stays") {
  temp_dir dir;
  write_users(dir.path);
  const auto config = dir.path / "npsd.json";
  auto cfg = simple_config({{"server", {{"file_permissions", "refuse"}}}});
  write_private(config, cfg.dump(2));
  npsd_process npsd(config, dir.path);
  CHECK(radtest(npsd.auth_port, "alice", "alice-password").find("Access-Accept") !=
        std::string::npos);
  // a rotated secret in a file left readable by all
  cfg["clients"][0]["secret"] = "rotated-secret";
  write_file(config, cfg.dump(2));
  REQUIRE(::chmod(config.c_str(), 0644) == 0);
  npsd.signal(SIGHUP);
  REQUIRE(npsd.wait_for_log("reload refused"));
  CHECK(npsd.log().find("the configuration file is readable by other users (mode 0644)") !=
        std::string::npos);
  CHECK(radtest(npsd.auth_port, "alice", "alice-password").find("Access-Accept") !=
        std::string::npos);
  CHECK(radtest(npsd.auth_port, "alice", "alice-password", "rotated-secret")
            .find("Access-Accept") == std::string::npos);
  // the user file too
  REQUIRE(::chmod(config.c_str(), 0600) == 0);
  REQUIRE(::chmod((dir.path / "users.json").c_str(), 0604) == 0);
  const auto r = run(npsctl + " reload --config " + config.string());
  CHECK(r.exit_code != 0);
  CHECK_MESSAGE(r.output.find("/directory/users_file") != std::string::npos, r.output);
  REQUIRE(::chmod((dir.path / "users.json").c_str(), 0600) == 0);
  npsd.signal(SIGHUP);
  REQUIRE(npsd.wait_for_log("configuration reloaded"));
  CHECK(radtest(npsd.auth_port, "alice", "alice-password", "rotated-secret")
            .find("Access-Accept") != std::string::npos);
}

// ---- core dumps and the switch of user ------------------------------------------------------

namespace {

std::string proc_line(pid_t pid, const std::string& file, const std::string& prefix) {
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/" + file));
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) return line;
  return {};
}

// "Uid:\t65534\t65534\t65534\t65534" -> the four numbers
std::vector<std::string> ids_of(const std::string& line) {
  std::istringstream in(line.substr(line.find(':') + 1));
  std::vector<std::string> out;
  for (std::string v; in >> v;) out.push_back(v);
  return out;
}

// "Max core file size  0  0  bytes" -> {"0", "0", "bytes"}: soft limit, hard limit, unit
std::vector<std::string> core_limit(pid_t pid) {
  const std::string prefix = "Max core file size";
  const auto line = proc_line(pid, "limits", prefix);
  std::istringstream in(line.substr(std::min(line.size(), prefix.size())));
  std::vector<std::string> out;
  for (std::string v; in >> v;) out.push_back(v);
  return out;
}

const std::vector<std::string> no_core = {"0", "0", "bytes"};

}  // namespace

TEST_CASE("core dumps are disabled: the limit is 0 and the process is not dumpable") {
  temp_dir dir;
  write_users(dir.path);
  write_private(dir.path / "npsd.json", simple_config().dump(2));
  SUBCASE("as started") {
    npsd_process npsd(dir.path / "npsd.json", dir.path);
    const auto limit = proc_line(npsd.pid(), "limits", "Max core file size");
    CHECK_MESSAGE(core_limit(npsd.pid()) == no_core, limit);
  }
  SUBCASE("started by an ordinary user: /proc/PID belongs to root, which only a process that is "
          "not dumpable gets") {
    if (::geteuid() != 0) {
      MESSAGE("skipped: needs root to start npsd as another user (runuser)");
      return;
    }
    // nobody must read what npsd reads, and write the ready file
    REQUIRE(::chown(dir.path.c_str(), 65534, 65534) == 0);
    for (const char* f : {"npsd.json", "users.json"})
      REQUIRE(::chown((dir.path / f).c_str(), 65534, 65534) == 0);
    const auto ready = dir.path / "npsd.ready";
    const auto cmd = "runuser -u nobody -- " + npsd_binary + " --config " +
                     (dir.path / "npsd.json").string() + " --ready-file " + ready.string() +
                     " >/dev/null 2>" + (dir.path / "npsd.log").string() + " &";
    const auto r = run(cmd);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!fs::exists(ready) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(20ms);
    REQUIRE_MESSAGE(fs::exists(ready), read_file(dir.path / "npsd.log"));
    const pid_t pid = json::parse(read_file(ready)).at("pid").get<pid_t>();
    CHECK(ids_of(proc_line(pid, "status", "Uid:")) ==
          std::vector<std::string>{"65534", "65534", "65534", "65534"});
    struct stat st {};
    REQUIRE(::stat(("/proc/" + std::to_string(pid) + "/status").c_str(), &st) == 0);
    CHECK(st.st_uid == 0);  // a dumpable process's /proc/PID/status is its own (65534)
    CHECK(core_limit(pid) == no_core);
    ::kill(pid, SIGTERM);
    const auto gone = std::chrono::steady_clock::now() + 10s;
    while (::kill(pid, 0) == 0 && std::chrono::steady_clock::now() < gone)
      std::this_thread::sleep_for(20ms);
  }
}

TEST_CASE("started as root with server.user nobody: it switches for good after binding, and "
          "still serves PAP, accounting, reload and the control socket") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: needs root (npsd switches user only when started as root)");
    return;
  }
  temp_dir dir;
  const auto& pki = test_pki();
  write_users(dir.path);
  const auto key = dir.path / "server.key";
  for (const char* f : {"server.key", "server.pem", "ca.pem"}) fs::copy_file(pki / f, dir.path / f);
  // what npsd reads at reload must be readable by the account; its data directory writable
  const auto config = dir.path / "npsd.json";
  write_private(config,
                simple_config({{"server", {{"user", "nobody"}, {"group", "nogroup"}}},
                               {"accounting", {{"database", "db/accounting.db"}}},
                               {"eap",
                                {{"certificate", "server.pem"},
                                 {"private_key", "server.key"},
                                 {"ca_file", "ca.pem"}}}})
                    .dump(2));
  fs::create_directory(dir.path / "db");
  for (const auto& p : {dir.path, dir.path / "db", config, dir.path / "users.json", key,
                        dir.path / "server.pem", dir.path / "ca.pem"})
    REQUIRE(::chown(p.c_str(), 65534, 65534) == 0);
  REQUIRE(::chmod(key.c_str(), 0600) == 0);

  npsd_process npsd(config, dir.path);
  const auto pid = npsd.pid();
  CHECK(ids_of(proc_line(pid, "status", "Uid:")) ==
        std::vector<std::string>{"65534", "65534", "65534", "65534"});
  CHECK(ids_of(proc_line(pid, "status", "Gid:")) ==
        std::vector<std::string>{"65534", "65534", "65534", "65534"});
  const auto groups = ids_of(proc_line(pid, "status", "Groups:"));
  CHECK(std::find(groups.begin(), groups.end(), "0") == groups.end());  // root's group dropped
  // every thread, not just the main one
  for (const auto& t : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::istringstream in(read_file(t.path() / "status"));
    for (std::string line; std::getline(in, line);)
      if (line.rfind("Uid:", 0) == 0)
        CHECK(ids_of(line) == std::vector<std::string>{"65534", "65534", "65534", "65534"});
  }
  // not dumpable after the switch (which would have reset the flag), no core
  struct stat st {};
  REQUIRE(::stat(("/proc/" + std::to_string(pid) + "/status").c_str(), &st) == 0);
  CHECK(st.st_uid == 0);
  CHECK(core_limit(pid) == no_core);
  CHECK(npsd.log().find("running as an unprivileged user user=nobody uid=65534 gid=65534") !=
        std::string::npos);

  CHECK(radtest(npsd.auth_port, "alice", "alice-password").find("Access-Accept") !=
        std::string::npos);
  const auto acct =
      run("printf 'User-Name = alice\\nAcct-Status-Type = Start\\nAcct-Session-Id = s1\\n' | "
          "radclient -x -t 2 -r 1 127.0.0.1:" +
          std::to_string(npsd.acct_port) + " acct testing123");
  CHECK_MESSAGE(acct.output.find("Received Accounting-Response") != std::string::npos,
                acct.output, npsd.log());
  // the database and its WAL files belong to the account
  for (const char* f : {"accounting.db", "accounting.db-wal", "accounting.db-shm"}) {
    struct stat db {};
    CAPTURE(f);
    REQUIRE(::stat((dir.path / "db" / f).c_str(), &db) == 0);
    CHECK(db.st_uid == 65534);
  }
  // the control socket was handed to the account; npsctl reaches it, reload re-reads the key
  struct stat sock {};
  REQUIRE(::stat((dir.path / "control.sock").c_str(), &sock) == 0);
  CHECK(sock.st_uid == 65534);
  auto r = run(npsctl + " status --config " + config.string());
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  CHECK(json::parse(r.output)["pid"] == pid);
  r = run(npsctl + " reload --config " + config.string());
  CHECK_MESSAGE(r.exit_code == 0, r.output, npsd.log());
  // a key the account cannot read: that reload is refused and the old configuration kept
  REQUIRE(::chown(key.c_str(), 0, 0) == 0);
  npsd.signal(SIGHUP);
  REQUIRE(npsd.wait_for_log("reload refused"));
  CHECK(radtest(npsd.auth_port, "alice", "alice-password").find("Access-Accept") !=
        std::string::npos);
  CHECK(npsd.terminate() == 0);
}

TEST_CASE("server.user: an unknown user is a configuration error (exit 2 naming the field); "
          "root without server.user is warned") {
  temp_dir dir;
  write_users(dir.path);
  const auto config = dir.path / "npsd.json";
  write_private(config,
                simple_config({{"server", {{"user", "npsd-no-such-user"}}}}).dump(2));
  const auto r = run("timeout 10 " + npsd_binary + " --config " + config.string());
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.output.find("/server/user: no user") != std::string::npos, r.output);
  CHECK(r.output.find("npsd-no-such-user") != std::string::npos);
  if (::geteuid() != 0) {
    MESSAGE("the warning for root is not checked: not root");
    return;
  }
  write_private(config, simple_config().dump(2));
  npsd_process npsd(config, dir.path);
  CHECK(npsd.log().find("running as root: set server.user") != std::string::npos);
}
