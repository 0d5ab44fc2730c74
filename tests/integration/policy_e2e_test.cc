// The policy model end to end, as an administrator meets it: a whole configuration built only
// with npsctl commands, the real npsd serving it, radclient sending the requests, and
// `npsctl policy test` predicting every decision the live server makes.
#include <doctest/doctest.h>

#include <ctime>
#include <regex>
#include <thread>

#include "harness.h"

using namespace npsd::test;
using namespace std::chrono_literals;

namespace {


struct lab {
  temp_dir dir;
  fs::path config = dir.path / "npsd.json";
  fs::path users = dir.path / "users.json";

  command_result ctl(const std::string& args, const std::string& stdin_text = "") const {
    auto r = run("printf '" + stdin_text + "' | " + npsctl + " " + args);
    return r;
  }
  void must(const std::string& args, const std::string& stdin_text = "") const {
    const auto r = ctl(args, stdin_text);
    REQUIRE_MESSAGE(r.exit_code == 0, (std::string("npsctl ") + args + "\n" + r.output));
  }
  std::string c() const { return " --config " + config.string(); }
  std::string u() const { return " --file " + users.string(); }
};

// "HH:00" hours from now (UTC), for a day-and-time window that surely excludes the present.
std::string hour_from_now(int hours) {
  const std::time_t t = std::time(nullptr) + hours * 3600;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d:00", tm.tm_hour);
  return buf;
}

struct live_result {
  std::string code;  // Access-Accept, Access-Reject, or "" when nothing came back
  std::string output;
  int reason = -1;   // from npsd's decision line
};

}  // namespace

TEST_CASE("a configuration built with npsctl decides as configured, and policy test agrees") {
  lab l;
  // --- the directory
  l.must("group add" + l.u() + " --name 'VPN Users'");
  l.must("group add" + l.u() + " --name Contractors");
  l.must("user add" + l.u() + " --name alice --upn alice@corp.example.com --group 'VPN Users' --iterations 1000 --password-stdin", "alice-pw\\n");
  l.must("user add" + l.u() + " --name bob --iterations 1000 --password-stdin", "bob-pw\\n");
  l.must("user add" + l.u() + " --name carol --group Contractors --iterations 1000 --password-stdin", "carol-pw\\n");
  l.must("user add" + l.u() + " --name dave --group 'VPN Users' --dial-in deny --iterations 1000 --password-stdin", "dave-pw\\n");
  // --- the server, client and policies, only through npsctl
  l.must("init" + l.c() + " --listen auth:127.0.0.1:0 --listen acct:127.0.0.1:0 --users-file users.json --control-socket npsd.sock");
  l.must("client add" + l.c() + " --name rras1 --address 127.0.0.1 --vendor Microsoft --secret-stdin", "rras-secret\\n");
  l.must("crp add" + l.c() + " --name 'Block lab' --order 1 --called-station-id '^lab-' --action reject");
  l.must("crp add" + l.c() + " --name 'VPN realm' --order 2 --nas-port-type Virtual --strip-realm corp.example.com");
  l.must("policy add" + l.c() + " --name 'VPN Users' --access grant --user-group 'VPN Users' --nas-port-type Virtual"
         " --auth-method PAP --auth-method PEAP-TLS --session-timeout 3600 --idle-timeout 600"
         " --constraint-calling-station-id '^198\\.51\\.100\\.'"
         " --reply 'Tunnel-Type:1=VLAN' --reply 'Tunnel-Medium-Type:1=IEEE-802' --reply 'Tunnel-Private-Group-Id:1=42'"
         " --reply 'Reply-Message=Welcome'");
  l.must("policy add" + l.c() + " --name 'Contractors' --access grant --user-group Contractors"
         " --constraint-day-time 'Sun-Sat " + hour_from_now(2) + "-" + hour_from_now(3) + "'");
  l.must("policy add" + l.c() + " --name 'Deny other VPN' --access deny --nas-port-type Virtual");
  l.must("validate" + l.c());

  npsd_process npsd(l.config, l.dir.path);
  const auto port = std::to_string(npsd.auth_port);

  struct request_case {
    const char* what;
    std::string user, password, nas_port_type, calling, called;
    const char* expect_code;
    int expect_reason;
  };
  const request_case cases[] = {
      {"VPN user, realm stripped, VLAN", "alice@corp.example.com", "alice-pw", "Virtual", "198.51.100.7", "vpn-gw", "Access-Accept", 0},
      {"VPN user from the wrong network", "alice", "alice-pw", "Virtual", "203.0.113.9", "vpn-gw", "Access-Reject", 67},
      {"not a VPN user: the deny policy", "bob", "bob-pw", "Virtual", "198.51.100.7", "vpn-gw", "Access-Reject", 65},
      {"no policy for Ethernet", "bob", "bob-pw", "Ethernet", "198.51.100.7", "switch-1", "Access-Reject", 48},
      {"contractor outside hours", "carol", "carol-pw", "Ethernet", "198.51.100.7", "switch-1", "Access-Reject", 68},
      {"dial-in permission deny", "dave", "dave-pw", "Virtual", "198.51.100.7", "vpn-gw", "Access-Reject", 65},
      {"connection request policy rejects", "alice", "alice-pw", "Virtual", "198.51.100.7", "lab-1", "Access-Reject", 49},
      {"unknown user", "zed", "x", "Virtual", "198.51.100.7", "vpn-gw", "Access-Reject", 8},
  };
  const std::regex reason_re(R"(result=(Access-\w+) reason=(\d+))");
  std::size_t decisions = 0;
  for (const auto& c : cases) {
    CAPTURE(c.what);
    const auto r = run("printf 'User-Name = \"" + c.user + "\"\\nUser-Password = \"" + c.password +
                       "\"\\nNAS-Port-Type = " + c.nas_port_type + "\\nCalling-Station-Id = \"" +
                       c.calling + "\"\\nCalled-Station-Id = \"" + c.called +
                       "\"\\nMessage-Authenticator = 0x00\\n' | radclient -x -t 2 -r 1 127.0.0.1:" +
                       port + " auth rras-secret");
    CHECK_MESSAGE(r.output.find(std::string("Received ") + c.expect_code) != std::string::npos, r.output);
    REQUIRE(npsd.wait_for_log("info decision", ++decisions));
    // the live decision's reason, from npsd's own log line
    const auto log = npsd.log();
    const auto last = log.rfind("info decision");
    std::smatch m;
    const std::string line = log.substr(last, log.find('\n', last) - last);
    REQUIRE_MESSAGE(std::regex_search(line, m, reason_re), line);
    CHECK(m[1] == c.expect_code);
    CHECK(std::stoi(m[2]) == c.expect_reason);

    // the dry run says the same
    const auto t = l.ctl("policy test" + l.c() + " --json --client rras1 --user '" + c.user +
                         "' --nas-port-type " + c.nas_port_type + " --calling-station-id '" +
                         c.calling + "' --called-station-id '" + c.called + "'");
    REQUIRE_MESSAGE(t.exit_code == 0, t.output);
    const auto j = nlohmann::json::parse(t.output);
    CHECK(j.at("result") == c.expect_code);
    CHECK(j.at("reason") == c.expect_reason);

    if (c.expect_reason == 0) {
      // the VLAN assignment and timeouts, as radclient decoded them
      for (const char* attr : {"Tunnel-Type:1 = VLAN", "Tunnel-Medium-Type:1 = IEEE-802",
                               "Tunnel-Private-Group-Id:1 = \"42\"", "Session-Timeout = 3600",
                               "Idle-Timeout = 600", "Reply-Message = \"Welcome\"", "Class = 0x"})
        CHECK_MESSAGE(r.output.find(attr) != std::string::npos, attr, "\n", r.output);
      CHECK(line.find("mapped_user=alice") != std::string::npos);
      CHECK(line.find("np=\"VPN Users\"") != std::string::npos);
      CHECK(j.at("network_policy") == "VPN Users");
      bool vlan = false;
      for (const auto& a : j.at("reply"))
        vlan = vlan || (a.at("name") == "Tunnel-Private-Group-Id:1" && a.at("value") == "42");
      CHECK(vlan);
    }
  }
}

TEST_CASE("npsctl reload under a steady stream loses no request; an invalid file is refused") {
  lab l;
  l.must("group add" + l.u() + " --name 'VPN Users'");
  l.must("user add" + l.u() + " --name alice --group 'VPN Users' --iterations 1000 --password-stdin", "alice-pw\\n");
  l.must("init" + l.c() + " --listen auth:127.0.0.1:0 --users-file users.json --control-socket npsd.sock");
  l.must("client add" + l.c() + " --name local --address 127.0.0.1 --secret-stdin", "s3cret\\n");
  l.must("policy add" + l.c() + " --name 'VPN Users' --access grant --user-group 'VPN Users'");
  npsd_process npsd(l.config, l.dir.path);

  write_file(l.dir.path / "requests",
             "User-Name = alice\nUser-Password = alice-pw\nMessage-Authenticator = 0x00\n");
  const int total = 3000;
  command_result stream;
  std::thread sender([&] {
    // ~6 seconds of traffic at 500 requests per second, 10 outstanding
    stream = run("radclient -s -q -t 3 -r 3 -c " + std::to_string(total) + " -n 500 -p 10 -f " +
                 (l.dir.path / "requests").string() + " 127.0.0.1:" + std::to_string(npsd.auth_port) +
                 " auth s3cret");
  });
  int reloads = 0;
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(400ms);
    // alternate the reply so each reload really swaps a different configuration in
    l.must("policy set" + l.c() + " 'VPN Users' --session-timeout " + std::to_string(3600 + i));
    const auto r = l.ctl("reload" + l.c());
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    reloads += r.exit_code == 0;
  }
  // an invalid file (edited by hand) is refused by npsctl, naming the field, and by npsd too
  const auto good = read_file(l.config);
  auto bad = good;
  bad.replace(bad.find("\"grant\""), 7, "\"maybe\"");
  write_file(l.config, bad);
  const auto refused = l.ctl("reload" + l.c());
  CHECK(refused.exit_code == 2);
  CHECK_MESSAGE(refused.output.find("/network_policies/0/access") != std::string::npos, refused.output);
  npsd.signal(SIGHUP);
  CHECK(npsd.wait_for_log("reload refused"));
  sender.join();
  write_file(l.config, good);

  CHECK(reloads == 6);
  CHECK_MESSAGE(stream.output.find("Accepted      : " + std::to_string(total)) != std::string::npos, stream.output);
  CHECK_MESSAGE(stream.output.find("Lost          : 0") != std::string::npos, stream.output);
  CHECK(npsd.wait_for_log("configuration reloaded", 6));
  // the last good configuration is the one serving
  const auto r = run("radtest alice alice-pw 127.0.0.1:" + std::to_string(npsd.auth_port) + " 0 s3cret");
  CHECK_MESSAGE(r.output.find("Session-Timeout = 3605") != std::string::npos, r.output);
}

TEST_CASE("a CRP accepting without credentials serves CHAP and unauthenticated requests live") {
  lab l;
  l.must("init" + l.c() + " --listen auth:127.0.0.1:0 --users-file users.json");
  l.must("client add" + l.c() + " --name kiosk-nas --address 127.0.0.1 --secret-stdin", "kiosk-secret\\n");
  l.must("crp add" + l.c() + " --name Guests --order 1 --action accept-without-credentials"
         " --auth-type CHAP --auth-type Unauthenticated");
  // the first network policy lets only PAP through; the second takes everyone else
  l.must("policy add" + l.c() + " --name 'PAP only' --access grant --user-name '^pap-' --auth-method PAP");
  l.must("policy add" + l.c() + " --name Guests --access grant --reply 'Reply-Message=Guest'");
  npsd_process npsd(l.config, l.dir.path);
  const auto port = std::to_string(npsd.auth_port);

  struct request_case {
    const char* what;
    std::string user;
    bool chap;
    const char* expect_code;
    int expect_reason;
  };
  const request_case cases[] = {
      {"CHAP, credentials not validated", "guest", true, "Access-Accept", 0},
      {"no credentials at all", "kiosk", false, "Access-Accept", 0},
      {"CHAP where the policy enables only PAP", "pap-guest", true, "Access-Reject", 66},
      {"no method where the policy enables only PAP", "pap-kiosk", false, "Access-Reject", 66},
  };
  const std::regex reason_re(R"(result=(Access-\w+) reason=(\d+))");
  std::size_t decisions = 0;
  for (const auto& c : cases) {
    CAPTURE(c.what);
    const auto r = run("printf 'User-Name = \"" + c.user + "\"\\n" +
                       (c.chap ? "CHAP-Password = \"anything\"\\n" : "") +
                       "Message-Authenticator = 0x00\\n' | radclient -x -t 2 -r 1 127.0.0.1:" +
                       port + " auth kiosk-secret");
    CHECK_MESSAGE(r.output.find(std::string("Received ") + c.expect_code) != std::string::npos, r.output);
    REQUIRE(npsd.wait_for_log("info decision", ++decisions));
    const auto log = npsd.log();
    const auto last = log.rfind("info decision");
    const std::string line = log.substr(last, log.find('\n', last) - last);
    std::smatch m;
    REQUIRE_MESSAGE(std::regex_search(line, m, reason_re), line);
    CHECK(m[1] == c.expect_code);
    CHECK(std::stoi(m[2]) == c.expect_reason);
    if (c.expect_reason == 0) CHECK(r.output.find("Reply-Message = \"Guest\"") != std::string::npos);
  }
  // the dry run agrees for CHAP
  const auto t = l.ctl("policy test" + l.c() + " --json --client kiosk-nas --user pap-guest --auth-method CHAP");
  REQUIRE_MESSAGE(t.exit_code == 0, t.output);
  const auto j = nlohmann::json::parse(t.output);
  CHECK(j.at("result") == "Access-Reject");
  CHECK(j.at("reason") == 66);
}
