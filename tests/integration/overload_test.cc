// npsd offered far more than it can answer: PAP requests whose password check (PBKDF2 on the
// compute threads) is the bottleneck, at ten times the rate npsd was just measured to answer.
// What must hold: npsd stays up, its memory stays within its bounds, Status-Server is answered
// all along (it never waits behind the password checks), and as soon as the flood ends npsd
// answers at its full rate again instead of working off a backlog nobody waits for.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <algorithm>
#include <thread>

#include "harness.h"
#include "ldap/password_hash.h"
#include "radload_runner.h"

using namespace npsd;
using namespace npsd::test;
using namespace std::chrono_literals;

#ifdef NPSD_RADLOAD

namespace {

#ifdef NPSD_SANITIZED
constexpr int flood_seconds = 10;  // sanitized code runs several times slower
#else
constexpr int flood_seconds = 30;
#endif

struct overload_server {
  temp_dir dir;
  std::unique_ptr<npsd_process> npsd;
  overload_server() {
    ldap::hash_params p;
    p.iterations = 20000;  // a few milliseconds per check: the compute threads are the limit
    write_file(dir.path / "users.json", R"({ "schema_version": 1, "users": [
      { "name": "alice", "password_hash": ")" + *ldap::hash_password("alice-password", p) + R"(" } ] })");
    write_file(dir.path / "npsd.json", R"({
  "schema_version": 1,
  "server": { "threads": 2, "compute_threads": 2,
              "listen": [ { "type": "auth", "address": "127.0.0.1", "port": 0 } ],
              "control_socket": "npsd.sock" },
  "log": { "level": "warn" },
  "clients": [ { "name": "rras", "address": "127.0.0.1", "secret": "testing123" } ],
  "directory": { "backend": "local", "users_file": "users.json" },
  "network_policies": [ { "name": "VPN", "access": "grant" } ]
})");
    ::chmod((dir.path / "npsd.json").c_str(), 0600);
    npsd = std::make_unique<npsd_process>(dir.path / "npsd.json", dir.path);
  }
  std::string target() const {
    return "--secret testing123 --port " + std::to_string(npsd->auth_port);
  }
  // Wrong passwords: never cached, so every request costs a full password check.
  std::string pap(const std::string& shape) const {
    return target() + " --mode pap --user alice --password wrong-password " + shape;
  }
};

}  // namespace

TEST_CASE("overload: ten times the measured capacity -> npsd up, memory bounded, Status-Server "
          "answered throughout, full rate again right after") {
  overload_server s;
  const long pid = s.npsd->pid();
  const auto before = radload(s.pap("--seconds 3 --window 16 --timeout 5"));
  const double capacity = before.at("acked_per_second").get<double>();
  REQUIRE(capacity > 10);
  REQUIRE(before.at("timeouts") == 0);
  const long rss_before = rss_kib(pid);

  const int offered = static_cast<int>(capacity * 10);
  background_radload flood(s.pap("--rate " + std::to_string(offered) + " --seconds " +
                                 std::to_string(flood_seconds) +
                                 " --window 65536 --timeout 2 --retries 0"));
  background_radload status(s.target() + " --mode status --rate 10 --seconds " +
                            std::to_string(flood_seconds) + " --timeout 1 --retries 0");
  long rss_peak = rss_before;
  for (int i = 0; i < flood_seconds * 10; ++i) {
    rss_peak = std::max(rss_peak, rss_kib(pid));
    std::this_thread::sleep_for(100ms);
  }
  const auto st = status.finish();
  const auto fl = flood.finish();
  REQUIRE(s.npsd->alive());

  const auto after = radload(s.pap("--seconds 3 --window 16 --timeout 5"));
  const double recovered = after.at("acked_per_second").get<double>();
  INFO("capacity " << capacity << "/s, offered " << offered << "/s: flood " << fl.dump()
                   << "\nStatus-Server " << st.dump() << "\nright after " << after.dump());
  CHECK(s.npsd->alive());
  CHECK(st.at("sent").get<int>() >= flood_seconds * 10 - 2);
  CHECK(st.at("acked") == st.at("sent"));  // Status-Server answered all along
  CHECK(fl.at("bad_responses") == 0);
  CHECK(after.at("timeouts") == 0);
  CHECK(recovered > capacity * 0.7);
#ifndef NPSD_SANITIZED  // ASan keeps freed memory in quarantine; TSan's shadow memory is RSS
  // Bounded by max_pending_requests (4,096 requests in flight) and the duplicate cache.
  CHECK(rss_peak - rss_before < 64 * 1024);
#endif
  MESSAGE("capacity " << capacity << "/s; offered " << offered << "/s for " << flood_seconds
          << " s: answered " << fl.at("acked") << " of " << fl.at("sent") << ", Status-Server "
          << st.at("acked") << "/" << st.at("sent") << "; RSS +" << (rss_peak - rss_before)
          << " KiB; right after: " << recovered << "/s");
}

#endif
