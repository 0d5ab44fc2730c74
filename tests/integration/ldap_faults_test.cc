// npsd when its LDAP directory fails: a stopped or hung slapd makes npsd discard requests (no
// Access-Accept, no Access-Reject, so the NAS fails over to another RADIUS server, as with NPS)
// while npsd itself stays up; when slapd comes back, authentication resumes by itself within
// seconds; with two servers configured, the second answers while the first is down.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <thread>

#include "ldap_fixture.h"
#include "radload_runner.h"

using namespace npsd::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

json vpn_users_policy() {
  return json::array({{{"name", "VPN Users"},
                       {"conditions", {{"user_groups", {"VPN Users"}}}},
                       {"access", "grant"}}});
}

// Sends alice's request until it is accepted or `limit` passes; returns how long it took.
std::optional<std::chrono::milliseconds> accepted_within(npsd_on_ldap& npsd,
                                                         std::chrono::milliseconds limit) {
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < limit) {
    if (npsd.auth("alice", "alice-password").code == "Access-Accept")
      return std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
    std::this_thread::sleep_for(100ms);
  }
  return std::nullopt;
}

// The "time" of a JSON log line ("2026-01-02T03:04:05.123456+00:00", UTC).
std::optional<std::chrono::system_clock::time_point> log_time(const json& line) {
  const auto t = line.value("time", "");
  std::tm tm{};
  long micros = 0;
  if (std::sscanf(t.c_str(), "%d-%d-%dT%d:%d:%d.%ld", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &micros) != 7 ||
      t.find("+00:00") == std::string::npos)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(timegm(&tm)) + std::chrono::microseconds(micros);
}

// The servers that answered npsd's lookups, in order (from the back end's "ldap lookup" lines).
std::vector<std::string> answering_servers(const npsd_on_ldap& npsd) {
  std::vector<std::string> out;
  for (const auto& l : npsd.log_lines("ldap lookup")) out.push_back(l.value("server", ""));
  return out;
}


// Requests decided in [from, to): how many of each result.
std::map<std::string, int> results_between(const npsd_on_ldap& npsd,
                                           std::chrono::system_clock::time_point from,
                                           std::chrono::system_clock::time_point to) {
  std::map<std::string, int> out;
  for (const auto& d : npsd.decisions()) {
    const auto t = log_time(d.line);
    if (t && *t >= from && *t < to) ++out[d.result];
  }
  return out;
}

}  // namespace

TEST_CASE("LDAP faults: slapd stopped -> requests discarded, npsd up; restarted -> resumes") {
  slapd_process slapd;
  npsd_on_ldap npsd(ldap_settings(slapd), vpn_users_policy());
  std::optional<std::chrono::milliseconds> took;
  {
    INFO("npsd log:\n" << npsd.log());

    auto a = npsd.auth("alice", "alice-password");
    REQUIRE_MESSAGE(a.code == "Access-Accept", a.output);
    REQUIRE(a.d.result == "Access-Accept");

    slapd.stop();
    // neither accepted nor rejected, with the right password or a wrong one: no reply at all
    a = npsd.auth("alice", "alice-password");
    CHECK_MESSAGE(a.code.empty(), a.output);
    CHECK(a.output.find("No reply") != std::string::npos);
    CHECK(a.d.result == "discarded");
    a = npsd.auth("alice", "a-wrong-password");
    CHECK_MESSAGE(a.code.empty(), a.output);
    CHECK(a.d.result == "discarded");
    CHECK(npsd.process().alive());
    CHECK_FALSE(npsd.log_lines("ldap server down").empty());

    slapd.restart();
    took = accepted_within(npsd, 5000ms);
    REQUIRE_MESSAGE(took.has_value(), "alice was not accepted within 5 s of slapd's restart");
    CHECK(npsd.process().alive());
    CHECK(npsd.wait_for_log_msg("ldap server up again"));
    // and a wrong password is a reject again, not a discard
    a = npsd.auth("alice", "a-wrong-password");
    CHECK_MESSAGE(a.code == "Access-Reject", a.output);
  }
  MESSAGE("authentication resumed " << took->count() << " ms after slapd restarted");
}

TEST_CASE("LDAP faults: a hung slapd (SIGSTOP) -> discarded after the timeout; thawed -> resumes") {
  slapd_process slapd;
  auto ldap = ldap_settings(slapd);
  SUBCASE("StartTLS on ldap://") { ldap["servers"] = {slapd.ldap_url()}; }
  SUBCASE("ldaps://") {}
  npsd_on_ldap npsd(ldap, vpn_users_policy());
  std::optional<std::chrono::milliseconds> took;
  std::chrono::milliseconds discarded_after{-1};
  {
    INFO("npsd log:\n" << npsd.log());
    REQUIRE(npsd.auth("alice", "alice-password").code == "Access-Accept");

    slapd.freeze();
    // the kernel still accepts connections, the server never answers: timeout_ms (500) must end
    // every wait (the kept connection's search, a new connection's TLS handshake), so that npsd
    // discards while radclient is still waiting (2 s, one retry)
    const auto sent = std::chrono::system_clock::now();
    const auto a = npsd.auth("alice", "alice-password", {}, 2);
    CHECK_MESSAGE(a.code.empty(), a.output);
    // decided within a few timeouts (a search and a reconnection), not when slapd wakes up
    const auto decided = log_time(a.d.line);
    REQUIRE(decided.has_value());
    discarded_after = std::chrono::duration_cast<std::chrono::milliseconds>(*decided - sent);
    CHECK(discarded_after < 2000ms);
    CHECK_MESSAGE(a.d.result == "discarded", "npsd did not decide while slapd was frozen "
                                             "(decision: " << a.d.line.dump() << ")");
    CHECK(npsd.process().alive());

    slapd.thaw();
    took = accepted_within(npsd, 5000ms);
    REQUIRE_MESSAGE(took.has_value(), "alice was not accepted within 5 s of slapd's thaw");
  }
  MESSAGE("discarded " << discarded_after.count() << " ms after the request; authentication "
          "resumed " << took->count() << " ms after slapd thawed");
}

TEST_CASE("LDAP faults: two servers; the first down, the second answers; then fail back") {
  slapd_process first;
  slapd_process second;
  auto ldap = ldap_settings(first);
  ldap["servers"] = {first.ldaps_url(), second.ldaps_url()};

  SUBCASE("the first is down from the start") {
    first.stop();
    npsd_on_ldap npsd(ldap, vpn_users_policy());
    INFO("npsd log:\n" << npsd.log());
    for (int i = 0; i < 3; ++i) {
      const auto a = npsd.auth("alice", "alice-password");
      CHECK_MESSAGE(a.code == "Access-Accept", a.output);
    }
    CHECK(npsd.auth("alice", "wrong").code == "Access-Reject");
    for (const auto& s : answering_servers(npsd)) CHECK(s == second.ldaps_url());
    // npsctl asks the same way
    const auto answer = npsd.ctl_json("directory test alice");
    const int rc = answer.first;
    const nlohmann::json& j = answer.second;
    REQUIRE_MESSAGE(rc == 0, j.dump(2));
    CHECK(j.at("server") == second.ldaps_url());
  }
  SUBCASE("the first dies mid-test (SIGKILL): no request lost, then it comes back") {
    npsd_on_ldap npsd(ldap, vpn_users_policy());
    INFO("npsd log:\n" << npsd.log());
    REQUIRE(npsd.auth("alice", "alice-password").code == "Access-Accept");
    REQUIRE(answering_servers(npsd).back() == first.ldaps_url());

    first.kill();
    for (int i = 0; i < 3; ++i) {
      const auto a = npsd.auth("alice", "alice-password");
      CHECK_MESSAGE(a.code == "Access-Accept", a.output);
    }
    CHECK(npsd.auth("alice", "wrong").code == "Access-Reject");
    CHECK(answering_servers(npsd).back() == second.ldaps_url());
    for (const auto& d : npsd.decisions()) CHECK(d.result != "discarded");

    // back after retry_after_seconds (1): npsd prefers the first again
    first.restart();
    const auto start = std::chrono::steady_clock::now();
    bool back = false;
    while (!back && std::chrono::steady_clock::now() - start < 5s) {
      CHECK(npsd.auth("alice", "alice-password").code == "Access-Accept");
      back = answering_servers(npsd).back() == first.ldaps_url();
      if (!back) std::this_thread::sleep_for(200ms);
    }
    CHECK_MESSAGE(back, "npsd did not return to the first server within 5 s");
  }
  SUBCASE("both down: discarded; one back: accepted") {
    first.stop();
    second.stop();
    npsd_on_ldap npsd(ldap, vpn_users_policy());
    INFO("npsd log:\n" << npsd.log());
    const auto a = npsd.auth("alice", "alice-password");
    CHECK_MESSAGE(a.code.empty(), a.output);
    CHECK(a.d.result == "discarded");
    second.restart();
    CHECK(accepted_within(npsd, 5000ms).has_value());
  }
}

#ifdef NPSD_RADLOAD
// radload's arguments naming npsd's auth port and the shared secret.
static std::string target(npsd_on_ldap& npsd) {
  return std::string("--secret ") + npsd_on_ldap::secret +
         " --port " + std::to_string(npsd.process().auth_port);
}

#ifdef NPSD_SANITIZED
constexpr auto in_flight_margin = 1500ms;  // sanitized code runs several times slower
#else
constexpr auto in_flight_margin = 500ms;
#endif

TEST_CASE("LDAP faults: slapd SIGKILLed under a PAP load -> no Accept while it is down, npsd up, "
          "Accepts again within 5 s of its return") {
  slapd_process slapd;
  npsd_on_ldap npsd(ldap_settings(slapd), vpn_users_policy());
  INFO("npsd log:\n" << npsd.log());
  REQUIRE(npsd.auth("alice", "alice-password").code == "Access-Accept");

  // 200 requests a second for 9 s: slapd is killed at 2 s and started again at 5 s.
  background_radload load(target(npsd) + " --mode pap --user alice --password alice-password "
                          "--rate 200 --seconds 9 --timeout 0.5 --retries 0 --window 512");
  std::this_thread::sleep_for(2s);
  const auto killed = std::chrono::system_clock::now();
  slapd.kill();
  std::this_thread::sleep_for(3s);
  CHECK(npsd.process().alive());
  const auto back = std::chrono::system_clock::now();
  slapd.restart();
  const auto j = load.finish();
  CHECK(npsd.process().alive());
  CHECK(j.at("bad_responses") == 0);

  // Decided after the kill (beyond the requests whose lookups slapd had already answered) and
  // before its return: discarded, every one; neither accepted nor rejected.
  const auto down = results_between(npsd, killed + in_flight_margin, back);
  CHECK_MESSAGE(down.count("Access-Accept") == 0, "Accepts while slapd was down");
  CHECK_MESSAGE(down.count("Access-Reject") == 0, "Rejects while slapd was down");
  CHECK(down.count("discarded") == 1);
  CHECK(down.at("discarded") > 100);

  // After its return: Accepts again, the first within 5 s.
  std::optional<std::chrono::milliseconds> first_accept;
  for (const auto& d : npsd.decisions()) {
    const auto t = log_time(d.line);
    if (t && *t >= back && d.result == "Access-Accept") {
      first_accept = std::chrono::duration_cast<std::chrono::milliseconds>(*t - back);
      break;
    }
  }
  REQUIRE_MESSAGE(first_accept.has_value(), "no Accept after slapd came back");
  CHECK(*first_accept < 5000ms);
  const auto after = results_between(npsd, back + *first_accept, back + 60s);
  CHECK(after.count("Access-Reject") == 0);
  MESSAGE("while slapd was down: " << down.at("discarded") << " discarded, 0 accepted; first "
          "Accept " << first_accept->count() << " ms after its restart began");
}

TEST_CASE("LDAP faults: slapd frozen under a load 10x what it can take -> discards after the "
          "timeout, bounded queue and memory, Status-Server answered throughout") {
  slapd_process slapd;
  auto ldap = ldap_settings(slapd);
  ldap["queue_limit"] = 64;
  npsd_on_ldap npsd(ldap, vpn_users_policy());
  INFO("npsd log:\n" << npsd.log());
  REQUIRE(npsd.auth("alice", "alice-password").code == "Access-Accept");
  const long rss_before = rss_kib(npsd.process().pid());

  slapd.freeze();
  // With slapd frozen, two connections at a 500 ms timeout take ~4 lookups a second; offer
  // 2,000 a second for 4 s, and Status-Server 20 a second beside it.
  background_radload pap(target(npsd) + " --mode pap --user alice --password alice-password "
                         "--rate 2000 --seconds 4 --timeout 1 --retries 0 --window 8192");
  background_radload status(target(npsd) +
                            " --mode status --rate 20 --seconds 4 --timeout 1 --retries 0");
  long rss_peak = 0;
  for (int i = 0; i < 40; ++i) {
    rss_peak = std::max(rss_peak, rss_kib(npsd.process().pid()));
    std::this_thread::sleep_for(100ms);
  }
  const auto s = status.finish();
  const auto p = pap.finish();
  CHECK(npsd.process().alive());
  // Status-Server: every one answered while the directory hung.
  CHECK(s.at("sent").get<int>() >= 60);
  CHECK(s.at("acked") == s.at("sent"));
  CHECK(s.at("timeouts") == 0);
  // Nothing accepted or rejected; what the queue could not take was discarded at once.
  CHECK(p.at("acked") == 0);
  CHECK(p.at("bad_responses") == 0);
  const auto decided = results_between(npsd, std::chrono::system_clock::now() - 60s,
                                       std::chrono::system_clock::now());
  CHECK(decided.count("Access-Accept") == 1);  // alice's request before the freeze
  CHECK(decided.count("Access-Reject") == 0);
  CHECK(decided.at("discarded") > 4000);
  CHECK_FALSE(npsd.log_lines("ldap: too many lookups waiting; the request is discarded").empty());
#ifndef NPSD_SANITIZED  // ASan keeps freed memory in quarantine; TSan's shadow memory is RSS
  // Memory: 8,000 requests refused cost no more than a few MiB.
  CHECK(rss_peak - rss_before < 32 * 1024);
#endif

  slapd.thaw();
  const auto took = accepted_within(npsd, 5000ms);
  REQUIRE_MESSAGE(took.has_value(), "alice was not accepted within 5 s of slapd's thaw");
  MESSAGE("frozen: " << decided.at("discarded") << " discarded, " << s.at("acked")
          << " Status-Server answered of " << s.at("sent") << ", RSS +" << (rss_peak - rss_before)
          << " KiB; accepted again " << took->count() << " ms after the thaw");
}
#endif
