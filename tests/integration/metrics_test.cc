// The Prometheus endpoint end to end: npsd with a "metrics" section on an ephemeral loopback
// port, driven by radtest and radclient, scraped with curl as Prometheus would.
#include <doctest/doctest.h>

#include <regex>
#include <string>

#include "harness.h"

using namespace npsd;
using namespace npsd::test;

namespace {

struct metrics_fixture {
  temp_dir dir;
  fs::path config = dir.path / "npsd.json";
  std::unique_ptr<npsd_process> npsd;
  std::uint16_t metrics_port = 0;

  explicit metrics_fixture(const std::string& metrics_section = R"({ "port": 0 })") {
    write_file(dir.path / "users.json", R"({
  "schema_version": 1,
  "groups": [ { "name": "VPN Users" } ],
  "users": [
    { "name": "alice", "password_hash": ")" + fast_hash("alice-password") + R"(", "groups": ["VPN Users"] },
    { "name": "bob", "password_hash": ")" + fast_hash("bob-password") + R"(" }
  ]
})");
    write_file(config, R"({
  "schema_version": 1,
  "server": {
    "threads": 2,
    "listen": [ { "type": "auth", "address": "127.0.0.1", "port": 0 },
                { "type": "acct", "address": "127.0.0.1", "port": 0 } ]
  },
  "clients": [ { "name": "rras1", "address": "127.0.0.1", "secret": ")" + secret + R"(" } ],
  "directory": { "backend": "local", "users_file": "users.json" },
  "accounting": { "database": "accounting.db" },
  )" + (metrics_section.empty() ? "" : "\"metrics\": " + metrics_section + ",") + R"(
  "network_policies": [ { "name": "VPN Users", "conditions": { "user_groups": ["VPN Users"] },
                          "access": "grant" } ]
})");
    npsd = std::make_unique<npsd_process>(config, dir.path);
    metrics_port = npsd::test::metrics_port(*npsd);
  }

  std::string url(const std::string& path = "/metrics") const {
    return "http://127.0.0.1:" + std::to_string(metrics_port) + path;
  }
  std::string scrape() const { return scrape_metrics(metrics_port); }
  command_result radclient(const std::string& attrs, const std::string& kind) const {
    const auto p = kind == "acct" ? npsd->acct_port : npsd->auth_port;
    return run("printf '" + attrs + "' | radclient -x -t 1 -r 1 127.0.0.1:" + std::to_string(p) +
               " " + kind + " " + secret);
  }
};

double sample(const std::string& text, const std::string& series) {
  return metric_sample(text, series);
}

}  // namespace

TEST_CASE("metrics: scraped with curl, the counters move with the requests npsd answers") {
  metrics_fixture f;
  REQUIRE(f.metrics_port != 0);
  const auto before = f.scrape();
  CHECK(before.find("# TYPE npsd_requests_total counter\n") != std::string::npos);
  CHECK(before.find("# TYPE npsd_access_decision_seconds histogram\n") != std::string::npos);
  CHECK(sample(before, "npsd_packets_received_total") == 0);
  CHECK(sample(before, "npsd_eap_conversations") == 0);
  CHECK(sample(before, "npsd_accounting_healthy") == 1);

  const std::string accept_series =
      R"(npsd_requests_total{client="rras1",type="Access-Request",result="Access-Accept"})";
  for (int i = 0; i < 3; ++i) {
    const auto r = run("radtest alice alice-password 127.0.0.1:" + std::to_string(f.npsd->auth_port) +
                       " 0 " + secret);
    REQUIRE_MESSAGE(r.output.find("Access-Accept") != std::string::npos, r.output);
  }
  const auto r = run("radtest bob bob-password 127.0.0.1:" + std::to_string(f.npsd->auth_port) + " 0 " + secret);
  REQUIRE_MESSAGE(r.output.find("Access-Reject") != std::string::npos, r.output);
  const auto acct = f.radclient(
      "Acct-Status-Type = Start\\nAcct-Session-Id = m1\\nUser-Name = alice\\n", "acct");
  REQUIRE_MESSAGE(acct.output.find("Accounting-Response") != std::string::npos, acct.output);
  // An Access-Request from an address that is no client: dropped, by cause.
  {
    udp_client stranger("127.0.0.9");
    stranger.send(f.npsd->auth_port, pap_request(1, "alice", "alice-password", secret, true, {}, nullptr));
  }
  f.npsd->wait_for_log("unknown client");

  const auto after = f.scrape();
  CHECK(sample(after, accept_series) == 3);
  CHECK(sample(after, R"(npsd_requests_total{client="rras1",type="Access-Request",result="Access-Reject"})") == 1);
  CHECK(sample(after, R"(npsd_access_decisions_total{client="rras1",result="Access-Accept",reason="0"})") == 3);
  // bob is in no group: NPS reason 48, no network policy matched
  CHECK(sample(after, R"(npsd_access_decisions_total{client="rras1",result="Access-Reject",reason="48"})") == 1);
  CHECK(sample(after, R"(npsd_requests_total{client="rras1",type="Accounting-Request",result="Accounting-Response"})") == 1);
  CHECK(sample(after, R"(npsd_access_decision_seconds_count{method="PAP"})") == 4);
  CHECK(sample(after, R"(npsd_access_decision_seconds_bucket{method="PAP",le="+Inf"})") == 4);
  CHECK(sample(after, R"(npsd_accounting_records_total{outcome="stored"})") == 1);
  // The transactions that wrote it (and the authentication events): timed, with their sizes.
  const auto commits = sample(after, R"(npsd_accounting_commits_total{outcome="committed"})");
  CHECK(commits >= 1);
  CHECK(sample(after, R"(npsd_accounting_commit_seconds_count{outcome="committed"})") == commits);
  CHECK(sample(after, R"(npsd_accounting_commit_seconds_sum{outcome="committed"})") > 0);
  CHECK(sample(after, R"(npsd_accounting_batch_size_count{outcome="committed"})") == commits);
  CHECK(sample(after, R"(npsd_accounting_batch_size_sum{outcome="committed"})") >= 1);
  CHECK(sample(after, R"(npsd_accounting_batch_size_bucket{outcome="committed",le="5000"})") == commits);
  CHECK(sample(before, R"(npsd_accounting_commit_seconds_count{outcome="committed"})") == -1);
  CHECK(sample(after, R"(npsd_packets_dropped_total{cause="unknown_client"})") == 1);
  CHECK(sample(after, "npsd_packets_received_total") == 6);
  CHECK(sample(after, "npsd_metrics_series_dropped_total") == 0);
  // Every line is a comment or `name{labels} value`: the text format Prometheus parses.
  const std::regex line(R"(^(# (HELP|TYPE) .*|[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+]+)$)");
  std::size_t lines = 0;
  for (std::size_t b = 0, e; b < after.size(); b = e + 1) {
    e = after.find('\n', b);
    if (e == std::string::npos) e = after.size();
    const auto l = after.substr(b, e - b);
    if (l.empty()) continue;
    ++lines;
    CHECK_MESSAGE(std::regex_match(l, line), l);
  }
  CHECK(lines > 40);
  // Prometheus's own parser reads it: every family typed and documented, every histogram's
  // buckets cumulative up to +Inf == _count.
  const auto families = prometheus_check(after, f.dir.path);
  INFO(families.dump(1));
  CHECK(families.at("npsd_requests").at("type") == "counter");
  CHECK(families.at("npsd_packets_dropped").at("type") == "counter");
  CHECK(families.at("npsd_access_decision_seconds").at("type") == "histogram");
  CHECK(families.at("npsd_accounting_commit_seconds").at("type") == "histogram");
  CHECK(families.at("npsd_accounting_batch_size").at("type") == "histogram");
  CHECK(families.at("npsd_eap_conversations").at("type") == "gauge");
  CHECK(families.at("npsd_accounting_queue_depth").at("type") == "gauge");
}

TEST_CASE("metrics: only GET /metrics is served; the endpoint is off without a \"metrics\" section") {
  metrics_fixture f;
  REQUIRE(f.metrics_port != 0);
  auto r = run("curl -sS -o /dev/null -w '%{http_code} %{content_type}' --max-time 5 " + shell_quote(f.url()));
  CHECK(r.output == "200 text/plain; version=0.0.4; charset=utf-8");
  r = run("curl -sS -o /dev/null -w '%{http_code}' --max-time 5 " + shell_quote(f.url("/")));
  CHECK(r.output == "404");
  r = run("curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -X POST " + shell_quote(f.url()));
  CHECK(r.output == "405");
  // A header past 8 KiB is not read to the end: the connection is closed, npsd stays up.
  r = run("curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -H 'X-Big: " + std::string(9000, 'a') +
          "' " + shell_quote(f.url()));
  CHECK(r.output != "200");
  CHECK(f.npsd->alive());
  CHECK(f.scrape().find("npsd_packets_received_total") != std::string::npos);

  metrics_fixture without("");
  CHECK(without.metrics_port == 0);
}
