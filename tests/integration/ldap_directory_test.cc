// npsd's LDAP directory back end against a real slapd serving an Active Directory-like tree
// (ldap_fixture.h, ldap/corp.ldif), driven by radclient: identity forms, nested groups deciding
// a network policy, account state and dial-in permission with their reason codes, PAP by LDAP
// bind, the machine account, ldaps:// and StartTLS with a test CA, and `npsctl directory test`.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <tuple>

#include "radius/ascii.h"
#include "ldap_fixture.h"

using namespace npsd::test;
using nlohmann::json;

namespace {

const std::string vpn_machines_dn = "cn=VPN Machines,ou=Groups,dc=corp,dc=example,dc=com";

// Policies in the NPS model: "VPN Users" by group name (alice is in it only through three
// levels of nesting), "VPN Machines" by group DN for machine accounts, and two deny policies
// for erin: one honouring her dial-in permission (allow: granted anyway), one ignoring it.
json corp_policies() {
  return json::array({
      {{"name", "VPN Users"},
       {"order", 1},
       {"conditions", {{"user_groups", {"VPN Users"}}}},
       {"access", "grant"},
       {"settings",
        {{"attributes", {{{"name", "Reply-Message"}, {"value", "Welcome VPN user"}}}}}}},
      {{"name", "VPN Machines"},
       {"order", 2},
       {"conditions", {{"machine_groups", {vpn_machines_dn}}}},
       {"access", "grant"},
       {"settings",
        {{"attributes", {{{"name", "Reply-Message"}, {"value", "Welcome machine"}}}}}}},
      {{"name", "Erin on VPN: deny, dial-in honoured"},
       {"order", 3},
       {"conditions", {{"user_name", "^erin"}, {"nas_port_type", {"Virtual"}}}},
       {"access", "deny"}},
      {{"name", "Erin on Ethernet: deny, dial-in ignored"},
       {"order", 4},
       {"conditions", {{"user_name", "^erin"}, {"nas_port_type", {"Ethernet"}}}},
       {"access", "deny"},
       {"ignore_dial_in", true}},
  });
}

struct expectation {
  const char* what;
  std::string user, password;
  std::vector<std::string> attrs;
  const char* code;  // Access-Accept / Access-Reject
  int reason;
  const char* policy;  // the network policy named in the decision, "" for none
};

// Sends each case and checks radclient's answer and npsd's logged decision (reason code).
void check_cases(npsd_on_ldap& npsd, const std::vector<expectation>& cases) {
  for (const auto& c : cases) {
    CAPTURE(c.what);
    CAPTURE(c.user);
    const auto a = npsd.auth(c.user, c.password, c.attrs);
    CHECK_MESSAGE(a.code == c.code, a.output);
    const auto& d = a.d;
    CHECK(d.user == c.user);
    CHECK(d.result == c.code);
    CHECK_MESSAGE(d.reason == c.reason, d.reason_text);
    CHECK(d.np == c.policy);
  }
}

}  // namespace

TEST_CASE("LDAP: identities, nested groups, account state and dial-in decide as in NPS") {
  slapd_process slapd;
  npsd_on_ldap npsd(ldap_settings(slapd), corp_policies());
  INFO("npsd log:\n" << npsd.log());

  const std::vector<std::string> vpn = {"NAS-Port-Type = Virtual"};
  const std::vector<std::string> ethernet = {"NAS-Port-Type = Ethernet"};
  check_cases(
      npsd,
      {
          // lookup by UPN, by sAMAccountName, and DOMAIN\name; alice is in "VPN Users" only
          // through Engineering Team -> Engineering -> VPN Users
          {"UPN, nested three levels", "alice@corp.example.com", "alice-password", vpn,
           "Access-Accept", 0, "VPN Users"},
          {"sAMAccountName", "alice", "alice-password", vpn, "Access-Accept", 0, "VPN Users"},
          {"DOMAIN\\name", "CORP\\alice", "alice-password", vpn, "Access-Accept", 0, "VPN Users"},
          {"UPN in another case", "Alice@CORP.example.com", "alice-password", vpn,
           "Access-Accept", 0, "VPN Users"},
          // PAP by LDAP bind: a wrong password
          {"wrong password", "alice@corp.example.com", "not-alices-password", vpn,
           "Access-Reject", 16, ""},
          {"another user's password", "alice", "bob-password", vpn, "Access-Reject", 16, ""},
          // bob's groups (G1 <-> G2, a cycle) match no policy: the lookup ends, no policy
          {"no VPN group, group cycle", "bob@corp.example.com", "bob-password", vpn,
           "Access-Reject", 48, ""},
          // account state before policies, with NPS's reason codes
          {"disabled (userAccountControl 514)", "carol", "carol-password", vpn, "Access-Reject",
           34, ""},
          {"locked out (lockoutTime)", "frank@corp.example.com", "frank-password", vpn,
           "Access-Reject", 36, ""},
          // msNPAllowDialin FALSE denies although "VPN Users" grants
          {"dial-in deny", "dave", "dave-password", vpn, "Access-Reject", 65, "VPN Users"},
          // msNPAllowDialin TRUE grants although the matching policy denies...
          {"dial-in allow over a deny policy", "erin", "erin-password", vpn, "Access-Accept", 0,
           "Erin on VPN: deny, dial-in honoured"},
          // ...unless the policy ignores the account's dial-in permission
          {"dial-in allow, ignore_dial_in", "erin", "erin-password", ethernet, "Access-Reject",
           65, "Erin on Ethernet: deny, dial-in ignored"},
          // the machine account by its SPN, granted by a machine_groups condition
          {"machine account by host/ SPN", "host/laptop1.corp.example.com", "laptop1-password",
           vpn, "Access-Accept", 0, "VPN Machines"},
          {"unknown user", "nobody@corp.example.com", "x", vpn, "Access-Reject", 8, ""},
      });

  // the granted requests carried the policy's reply
  const auto a = npsd.auth("alice@corp.example.com", "alice-password");
  CHECK_MESSAGE(a.output.find("Reply-Message = \"Welcome VPN user\"") != std::string::npos,
                a.output);
  const auto m = npsd.auth("host/laptop1.corp.example.com", "laptop1-password");
  CHECK_MESSAGE(m.output.find("Reply-Message = \"Welcome machine\"") != std::string::npos,
                m.output);

  // nothing secret in the log
  const auto log = npsd.log();
  for (const char* s : {ldap_service_password, "alice-password", "laptop1-password"})
    CHECK_MESSAGE(log.find(s) == std::string::npos, s);
  CHECK(npsd.process().alive());
}

TEST_CASE("LDAP: the metrics endpoint times each directory operation with its outcome") {
  slapd_process slapd;
  npsd_on_ldap npsd(ldap_settings(slapd), corp_policies(), {{"metrics", {{"port", 0}}}});
  INFO("npsd log:\n" << npsd.log());
  const auto port = metrics_port(npsd.process());
  REQUIRE(port != 0);
  const auto before = scrape_metrics(port);

  CHECK(npsd.auth("alice@corp.example.com", "alice-password").code == "Access-Accept");
  CHECK(npsd.auth("alice@corp.example.com", "alice-password").code == "Access-Accept");
  CHECK(npsd.auth("alice@corp.example.com", "not-alices-password").code == "Access-Reject");
  CHECK(npsd.auth("nobody@corp.example.com", "x").code == "Access-Reject");
  const auto after = scrape_metrics(port);
  INFO(after);

  const auto count = [&](const std::string& text, const char* op, const char* outcome) {
    const auto v = metric_sample(text, std::string("npsd_directory_operation_seconds_count{op=\"") +
                                           op + "\",outcome=\"" + outcome + "\"}");
    return v < 0 ? 0.0 : v;
  };
  // nothing timed before the first request
  for (const char* outcome : {"found", "not_found", "unavailable"})
    CHECK(count(before, "lookup", outcome) == 0);
  // every lookup that missed the account cache went to slapd and was timed, with its outcome
  const double misses =
      metric_sample(after, R"(npsd_directory_cache_total{cache="account",outcome="miss"})");
  CHECK(misses >= 2);
  CHECK(count(after, "lookup", "found") + count(after, "lookup", "not_found") +
            count(after, "lookup", "unavailable") ==
        misses);
  CHECK(count(after, "lookup", "not_found") == 1);
  CHECK(count(after, "lookup", "unavailable") == 0);
  // the password binds: alice's (the second may come from the password cache) and the wrong one
  CHECK(count(after, "password_check", "ok") >= 1);
  CHECK(count(after, "password_check", "mismatch") == 1);
  CHECK(metric_sample(after, R"(npsd_directory_operation_seconds_sum{op="lookup",outcome="found"})") > 0);
  // the buckets are cumulative and end with every observation
  CHECK(metric_sample(after,
                      R"(npsd_directory_operation_seconds_bucket{op="lookup",outcome="found",le="+Inf"})") ==
        count(after, "lookup", "found"));
  // and Prometheus's parser reads the LDAP families too
  const auto families = prometheus_check(after, npsd.dir());
  CHECK(families.at("npsd_directory_operation_seconds").at("type") == "histogram");
  CHECK(families.at("npsd_directory_cache_hit_ratio").at("type") == "gauge");
  CHECK(families.at("npsd_directory_errors").at("type") == "counter");
}

TEST_CASE("LDAP: npsctl directory test shows the DN, direct and nested groups and the server") {
  slapd_process slapd;
  npsd_on_ldap npsd(ldap_settings(slapd), corp_policies());

  // the text an administrator reads
  auto r = npsd.ctl("directory test alice@corp.example.com");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto has = [&](const std::string& s) { return r.output.find(s) != std::string::npos; };
  CHECK(has("cn=Alice Anders,ou=Users,dc=corp,dc=example,dc=com"));
  CHECK(has("Engineering Team"));
  CHECK(has("VPN Users"));
  CHECK(has("nested"));
  CHECK(has("direct"));
  CHECK(has(slapd.ldaps_url()));

  // the same as JSON, precisely: one direct group, two nested ones, in order of distance
  // (no structured binding: clang 14 does not let CHECK's lambdas capture one)
  int rc = 0;
  nlohmann::json j;
  std::tie(rc, j) = npsd.ctl_json("directory test alice@corp.example.com");
  REQUIRE_MESSAGE(rc == 0, j.dump(2));
  CHECK(j.at("status") == "found");
  CHECK(j.at("server") == slapd.ldaps_url());
  const auto& acct = j.at("account");
  CHECK(acct.at("dn") == "cn=Alice Anders,ou=Users,dc=corp,dc=example,dc=com");
  CHECK(acct.at("name") == "alice");
  CHECK(acct.at("upn") == "alice@corp.example.com");
  CHECK(acct.at("machine") == false);
  CHECK(acct.at("enabled") == true);
  CHECK(acct.at("locked_out") == false);
  CHECK(acct.at("dial_in") == "policy");
  const json expected_groups = json::array(
      {{{"name", "Engineering Team"},
        {"dn", "cn=Engineering Team,ou=Groups,dc=corp,dc=example,dc=com"},
        {"direct", true}},
       {{"name", "Engineering"},
        {"dn", "cn=Engineering,ou=Groups,dc=corp,dc=example,dc=com"},
        {"direct", false}},
       {{"name", "VPN Users"},
        {"dn", "cn=VPN Users,ou=Groups,dc=corp,dc=example,dc=com"},
        {"direct", false}}});
  CHECK(acct.at("groups") == expected_groups);

  // the cycle G1 -> G2 -> G1: each group once, and the lookup ends
  std::tie(rc, j) = npsd.ctl_json("directory test 'CORP\\bob'");
  REQUIRE_MESSAGE(rc == 0, j.dump(2));
  std::vector<std::string> names;
  for (const auto& g : j.at("account").at("groups")) names.push_back(g.at("name"));
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"G1", "G2"});

  // states as the tests above rely on them
  std::tie(rc, j) = npsd.ctl_json("directory test dave");
  CHECK(j.at("account").at("dial_in") == "deny");
  std::tie(rc, j) = npsd.ctl_json("directory test erin@corp.example.com");
  CHECK(j.at("account").at("dial_in") == "allow");
  std::tie(rc, j) = npsd.ctl_json("directory test carol");
  CHECK(j.at("account").at("enabled") == false);
  std::tie(rc, j) = npsd.ctl_json("directory test frank");
  CHECK(j.at("account").at("locked_out") == true);

  // the machine account, found by its SPN, is a machine account in VPN Machines
  std::tie(rc, j) = npsd.ctl_json("directory test host/laptop1.corp.example.com");
  REQUIRE_MESSAGE(rc == 0, j.dump(2));
  CHECK(j.at("account").at("dn") == "cn=LAPTOP1,ou=Computers,dc=corp,dc=example,dc=com");
  CHECK(j.at("account").at("machine") == true);
  CHECK(npsd::ascii_fold(j.at("account").at("name").get<std::string>()).rfind("laptop1", 0) == 0);
  REQUIRE(j.at("account").at("groups").size() == 1);
  CHECK(j.at("account").at("groups")[0].at("dn") == vpn_machines_dn);

  // an unknown identity: exit 1, "no such account"
  r = npsd.ctl("directory test nobody@corp.example.com");
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(r.output.find("no such account") != std::string::npos, r.output);

  // npsctl policy test asks the same directory: the machine account matches the
  // machine_groups condition, and nested groups decide for alice
  std::tie(rc, j) = npsd.ctl_json(
      "policy test --client rras1 --nas-port-type Virtual --user host/laptop1.corp.example.com");
  REQUIRE_MESSAGE(rc == 0, j.dump(2));
  CHECK(j.at("result") == "Access-Accept");
  CHECK(j.at("network_policy") == "VPN Machines");
  std::tie(rc, j) =
      npsd.ctl_json("policy test --client rras1 --nas-port-type Virtual --user alice");
  REQUIRE_MESSAGE(rc == 0, j.dump(2));
  CHECK(j.at("result") == "Access-Accept");
  CHECK(j.at("network_policy") == "VPN Users");
  std::tie(rc, j) =
      npsd.ctl_json("policy test --client rras1 --nas-port-type Virtual --user bob");
  REQUIRE_MESSAGE(rc == 0, j.dump(2));
  CHECK(j.at("reason") == 48);
}

TEST_CASE("LDAP: the active-directory profile's defaults on slapd fall back from in_chain") {
  // Nothing but the connection and the profile: the AD defaults (user filter on objectCategory
  // and sAMAccountName/userPrincipalName, LDAP_MATCHING_RULE_IN_CHAIN). slapd does not know the
  // in-chain rule; npsd must notice, say so once, and still resolve the nesting.
  slapd_process slapd;
  auto ldap = ldap_settings(slapd);
  ldap.erase("nested_groups");
  npsd_on_ldap npsd(ldap, corp_policies());
  INFO("npsd log:\n" << npsd.log());
  check_cases(npsd, {{"in_chain on slapd", "alice@corp.example.com", "alice-password",
                      {"NAS-Port-Type = Virtual"}, "Access-Accept", 0, "VPN Users"},
                     {"again", "CORP\\alice", "alice-password", {"NAS-Port-Type = Virtual"},
                      "Access-Accept", 0, "VPN Users"}});
  const auto warnings = npsd.log().find("set nested_groups to member_of");
  CHECK(warnings != std::string::npos);
}

TEST_CASE("LDAP: the openldap profile with overrides reads the same tree") {
  // uid/mail lookups as on OpenLDAP, the disabled test as a value, nested groups by memberOf
  slapd_process slapd;
  auto ldap = ldap_settings(slapd);
  ldap["profile"] = "openldap";
  ldap["attributes"] = {{"dial_in", "msNPAllowDialin"}};
  ldap["disabled"] = {{"attribute", "userAccountControl"}, {"value", "514"}};
  npsd_on_ldap npsd(ldap, corp_policies());
  INFO("npsd log:\n" << npsd.log());
  check_cases(npsd, {{"uid", "alice", "alice-password", {"NAS-Port-Type = Virtual"},
                      "Access-Accept", 0, "VPN Users"},
                     {"mail", "alice@corp.example.com", "alice-password",
                      {"NAS-Port-Type = Virtual"}, "Access-Accept", 0, "VPN Users"},
                     {"wrong password", "alice", "x", {"NAS-Port-Type = Virtual"},
                      "Access-Reject", 16, ""},
                     {"disabled by value", "carol", "carol-password",
                      {"NAS-Port-Type = Virtual"}, "Access-Reject", 34, ""},
                     {"dial-in deny", "dave", "dave-password", {"NAS-Port-Type = Virtual"},
                      "Access-Reject", 65, "VPN Users"}});
}

TEST_CASE("LDAP TLS: ldaps:// and StartTLS work with the test CA; a wrong CA is refused") {
  slapd_process slapd;
  const auto& pki = ldap_test_pki();
  const json vpn_users = json::array({corp_policies()[0]});

  SUBCASE("ldaps:// with the test CA") {
    npsd_on_ldap npsd(ldap_settings(slapd), vpn_users);
    INFO("npsd log:\n" << npsd.log());
    check_cases(npsd, {{"ldaps", "alice", "alice-password", {}, "Access-Accept", 0, "VPN Users"},
                       {"ldaps, wrong password", "alice", "x", {}, "Access-Reject", 16, ""}});
  }
  SUBCASE("StartTLS on ldap:// with the test CA") {
    auto ldap = ldap_settings(slapd);
    ldap["servers"] = {slapd.ldap_url()};
    ldap["start_tls"] = true;
    npsd_on_ldap npsd(ldap, vpn_users);
    INFO("npsd log:\n" << npsd.log());
    // PAP binds need TLS (allow_insecure is off): an accepted password crossed StartTLS
    check_cases(npsd,
                {{"StartTLS", "alice", "alice-password", {}, "Access-Accept", 0, "VPN Users"},
                 {"StartTLS, wrong password", "alice", "x", {}, "Access-Reject", 16, ""}});
  }
  SUBCASE("plain ldap:// only with allow_insecure (a lab)") {
    auto ldap = ldap_settings(slapd);
    ldap["servers"] = {slapd.ldap_url()};
    ldap["start_tls"] = false;
    ldap["allow_insecure"] = true;
    ldap.erase("ca_file");
    npsd_on_ldap npsd(ldap, vpn_users);
    INFO("npsd log:\n" << npsd.log());
    check_cases(npsd, {{"plain", "alice", "alice-password", {}, "Access-Accept", 0, "VPN Users"},
                       {"plain, wrong password", "alice", "x", {}, "Access-Reject", 16, ""}});
    CHECK(npsd.log().find("clear text") != std::string::npos);
  }
  struct refusal {
    const char* what;
    bool ldaps;
  };
  for (const auto& c : {refusal{"ldaps:// with an unrelated CA", true},
                        refusal{"StartTLS with an unrelated CA", false}}) {
    SUBCASE(c.what) {
      auto ldap = ldap_settings(slapd);
      const std::string url = c.ldaps ? slapd.ldaps_url() : slapd.ldap_url();
      ldap["servers"] = {url};
      ldap["ca_file"] = pki.other_ca.string();
      npsd_on_ldap npsd(ldap, vpn_users);
      INFO("npsd log:\n" << npsd.log());
      // no Access-Accept, no Access-Reject: the request is discarded, the NAS fails over
      const auto a = npsd.auth("alice", "alice-password");
      CHECK_MESSAGE(a.code.empty(), a.output);
      CHECK(a.d.result == "discarded");
      CHECK(npsd.process().alive());
      // the log names the server and says why
      bool named = false;
      for (const auto& l : npsd.log_lines("ldap server down")) {
        const auto err = npsd::ascii_fold(l.value("error", ""));
        named = named || (l.value("server", "") == url &&
                          err.find("certificate") != std::string::npos);
      }
      CHECK(named);
      // npsctl directory test tells the administrator too
      const auto r = npsd.ctl("directory test alice");
      CHECK(r.exit_code == 1);
      CHECK_MESSAGE(r.output.find("unavailable") != std::string::npos, r.output);
    }
  }
  SUBCASE("a certificate for another host name is refused unless verification is off") {
    slapd_options o;
    o.wrong_name_certificate = true;
    slapd_process misnamed(o);
    auto ldap = ldap_settings(misnamed);
    {
      npsd_on_ldap npsd(ldap, vpn_users);
      INFO("npsd log:\n" << npsd.log());
      const auto a = npsd.auth("alice", "alice-password");
      CHECK_MESSAGE(a.code.empty(), a.output);
      CHECK(a.d.result == "discarded");
      const auto down = npsd.log_lines("ldap server down");
      REQUIRE(down.size() == 1);
      const auto err = down[0].value("error", "");
      CHECK_MESSAGE(npsd::ascii_fold(err).find("certificate") != std::string::npos, err);
    }
    ldap["verify_certificate"] = false;
    npsd_on_ldap npsd(ldap, vpn_users);
    INFO("npsd log:\n" << npsd.log());
    check_cases(npsd, {{"no verification", "alice", "alice-password", {}, "Access-Accept", 0,
                        "VPN Users"}});
    CHECK(npsd.log().find("certificate verification is off") != std::string::npos);
  }
}
