// The directory benchmark (bench/directory_bench.cc) against the slapd fixture, briefly: it runs,
// every authentication succeeds, and the LDAP operations per authentication meet the targets:
//   - a single-search group resolution (memberOf already holding every nested group, as AD's
//     tokenGroups or slapd's dynlist give it): 2 per cold authentication (the account search
//     and the PAP bind), with connections open;
//   - nested groups by following memberOf (what slapd's memberof overlay allows): one search for
//     the account plus one read per group found, level by level; for alice, three levels deep,
//     1 + 3 searches;
//   - warm: 0.
// No timing is asserted: the figures are printed for the record.
#include <doctest/doctest.h>

#ifdef NPSD_DIRECTORY_BENCH

#include "ldap_fixture.h"

using namespace npsd::test;
using nlohmann::json;

namespace {

struct bench_identity {
  const char* identity;
  const char* password;
  std::size_t groups;  // transitively
};

const bench_identity identities[] = {
    {"alice@corp.example.com", "alice-password", 3},  // Engineering Team, Engineering, VPN Users
    {"CORP\\bob", "bob-password", 2},                 // G1, G2 (a cycle)
    {"dave", "dave-password", 1},                     // VPN Users
    {"erin@corp.example.com", "erin-password", 0},
    {"host/laptop1.corp.example.com", "laptop1-password", 1},  // VPN Machines
};

struct bench_run {
  json j;
  std::string text;
};

// Writes an npsd configuration for `slapd` and runs the benchmark on it, as JSON and as text.
bench_run run_bench(const slapd_process& slapd, const std::string& nested_groups) {
  temp_dir dir;
  auto ldap = ldap_settings(slapd);
  ldap["nested_groups"] = nested_groups;
  ldap["timeout_ms"] = 3000;
  ldap["cache"] = {{"ttl_seconds", 300}, {"negative_ttl_seconds", 60}};
  const json cfg = {
      {"schema_version", 1},
      {"server", {{"listen", {{{"type", "auth"}, {"address", "127.0.0.1"}, {"port", 0}}}}}},
      {"clients", {{{"name", "rras1"}, {"address", "127.0.0.1"}, {"secret", "testing123"}}}},
      {"directory", {{"backend", "ldap"}, {"ldap", ldap}}},
      {"network_policies", json::array()}};
  const auto file = dir.path / "npsd.json";
  write_file(file, cfg.dump(2));
  std::string cmd = std::string(NPSD_DIRECTORY_BENCH) + " --config " + shell_quote(file.string());
  for (const auto& i : identities)
    cmd += " --identity " + shell_quote(std::string(i.identity) + ":" + i.password);
  bench_run out;
  const auto j = run("(" + cmd + " --seconds 0.2 --json 2>/dev/null)");
  REQUIRE_MESSAGE(j.exit_code == 0, j.output);
  out.j = json::parse(j.output);
  const auto t = run(cmd + " --seconds 0.1");
  REQUIRE_MESSAGE(t.exit_code == 0, t.output);
  out.text = t.output;
  return out;
}

void check_all_accepted(const json& phases) {
  for (const char* p : {"cold", "uncached", "warm"}) {
    CAPTURE(p);
    const auto& ph = phases.at(p);
    CHECK(ph.at("authentications").get<int>() > 0);
    CHECK(ph.at("accepted") == ph.at("authentications"));
    CHECK(ph.at("unavailable") == 0);
    CHECK(ph.at("not_found") == 0);
  }
}

}  // namespace

TEST_CASE("LDAP bench: a single-search group resolution costs 2 LDAP operations cold, 0 warm") {
  // dynlist fills memberOf with every group, nested ones too: nested_groups "none" reads them
  // from the account entry and names them from their DNs, with no further request
  slapd_options o;
  o.member_of = "dynlist-nested";
  slapd_process slapd(o);
  const auto b = run_bench(slapd, "none");
  MESSAGE("directory_bench, single-search groups (slapd dynlist):\n" << b.text);
  INFO(b.j.dump(2));
  const auto& ph = b.j.at("phases");
  check_all_accepted(ph);
  // cold: the account search and the PAP bind; connection set-up (TCP, TLS, the service bind)
  // is counted apart, once per connection
  CHECK(ph.at("cold").at("operations_per_auth_connections_open").get<double>() <= 2.0);
  CHECK(ph.at("cold").at("searches_per_auth").get<double>() == doctest::Approx(1.0));
  CHECK(ph.at("uncached").at("operations_per_auth_connections_open").get<double>() <= 2.0);
  CHECK(ph.at("warm").at("operations").get<int>() == 0);
  CHECK(ph.at("warm").at("operations_per_auth").get<double>() == 0.0);
  for (const auto& f : b.j.at("per_identity")) {
    CAPTURE(f.dump());
    CHECK(f.at("status") == "found");
    CHECK(f.at("lookup_operations") == 1);
  }
  // nesting really was resolved: alice has her three groups from one search
  CHECK(b.j.at("per_identity")[0].at("groups") == 3);
}

TEST_CASE("LDAP bench: nested groups by memberOf iteration cost 1 + one read per group, 0 warm") {
  slapd_process slapd;
  const auto b = run_bench(slapd, "member_of");
  MESSAGE("directory_bench, nested groups by memberOf iteration (slapd memberof):\n" << b.text);
  INFO(b.j.dump(2));
  const auto& ph = b.j.at("phases");
  check_all_accepted(ph);
  // per identity: the account search, then one base read per group, level by level (reads of
  // a level sent together); the cycle G1 <-> G2 reads each group once
  std::size_t bound = 0;
  const auto& per = b.j.at("per_identity");
  REQUIRE(per.size() == std::size(identities));
  for (std::size_t i = 0; i < per.size(); ++i) {
    CAPTURE(identities[i].identity);
    CHECK(per[i].at("status") == "found");
    CHECK(per[i].at("groups") == identities[i].groups);
    CHECK(per[i].at("lookup_operations") == 1 + identities[i].groups);
    bound += 1 + identities[i].groups + 1;  // + the PAP bind
  }
  // alice: three levels deep, 1 + 3 searches
  CHECK(per[0].at("lookup_operations") == 4);
  const double per_auth = static_cast<double>(bound) / static_cast<double>(std::size(identities));
  CHECK(ph.at("cold").at("operations_per_auth_connections_open").get<double>() <=
        doctest::Approx(per_auth));
  CHECK(ph.at("uncached").at("operations_per_auth_connections_open").get<double>() <=
        doctest::Approx(per_auth));
  CHECK(ph.at("warm").at("operations").get<int>() == 0);
}

#endif  // NPSD_DIRECTORY_BENCH
