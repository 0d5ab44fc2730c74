// npsctl accounting export and report on a generated database of a million records: every
// format streams in constant memory (the peak RSS for 1,000,000 records is that for 100,000),
// and the HTML report, opened in headless Chromium, renders its charts.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>

#include "harness.h"

using namespace npsd::test;
using namespace std::chrono_literals;

namespace {

struct measured {
  int exit_code = -1;
  long max_rss_kib = 0;
  std::string output;
};

// Runs a shell command; its output and the peak RSS of its largest process.
measured run_measured(const std::string& cmd, const fs::path& out_file) {
  measured m;
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string full = cmd + " > " + shell_quote(out_file.string()) + " 2>&1";
    ::execl("/bin/sh", "sh", "-c", full.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  int status = 0;
  rusage ru{};
  ::wait4(pid, &status, 0, &ru);
  m.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  m.max_rss_kib = ru.ru_maxrss;
  m.output = read_file(out_file);
  return m;
}

// The sanitizer build runs the same test on a fifth of the data (its code runs ~10x slower),
// and does not judge memory: AddressSanitizer's quarantine keeps freed blocks resident, so its
// RSS grows with what was ever allocated, not with what is live.
#ifdef NPSD_SANITIZED
constexpr std::int64_t records = 200'000;
constexpr bool judge_memory = false;
#else
constexpr std::int64_t records = 1'000'000;
constexpr bool judge_memory = true;
#endif

// `records` accounting records (a million: 250,000 sessions of Start, two Interim-Updates and
// a Stop from four NASes and 500 users over ~11.6 days), their sessions and a tenth as many
// authentication events, written by the sqlite3 shell into a database whose schema npsd created.
void generate(const fs::path& db, std::int64_t t0) {
  const std::string sql = R"(
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < )" + std::to_string(records - 1) + R"()
INSERT INTO accounting (time_ms, event_ms, client, client_address, nas, nas_ip, status_type,
  session_id, user_name, framed_ip, nas_port_type, session_time, input_octets, output_octets,
  input_packets, output_packets, class, attributes, natural_key)
SELECT T + i * 1000, T + i * 1000, 'rras', '127.0.0.1', '10.0.0.' || (i % 4), '10.0.0.' || (i % 4),
  CASE i % 4 WHEN 0 THEN 1 WHEN 3 THEN 2 ELSE 3 END, 's' || (i / 4), 'user' || ((i / 4) % 500),
  '10.8.' || ((i / 4) % 250) || '.' || ((i / 4) % 200 + 1), 5, (i % 4) * 300,
  (i % 4) * 1000000, (i % 4) * 3000000, (i % 4) * 1000, (i % 4) * 2000, 'npsd:gen:' || (i / 4),
  json_object('User-Name', 'user' || ((i / 4) % 500), 'Acct-Session-Id', 's' || (i / 4),
              'NAS-Port-Type', 'Virtual'),
  'k' || i
FROM n, (SELECT )" + std::to_string(t0) + R"( AS T);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < )" + std::to_string(records / 4 - 1) + R"()
INSERT INTO sessions (nas, session_id, client, user_name, framed_ip, nas_port_type, class,
  started_ms, updated_ms, stopped_ms, session_time, input_octets, output_octets, state,
  closed_by, start_seen, records)
SELECT '10.0.0.' || (i % 4), 's' || i, 'rras', 'user' || (i % 500), '10.8.0.1', 5, 'npsd:gen:' || i,
  T + i * 4000, T + i * 4000 + 3000, CASE WHEN i % 100 = 0 THEN NULL ELSE T + i * 4000 + 3000 END,
  (i % 500) * 6 + 900, 3000000 + i % 1000, 9000000 + i % 7000,
  CASE WHEN i % 100 = 0 THEN 'open' ELSE 'closed' END,
  CASE WHEN i % 100 = 0 THEN NULL ELSE 'stop' END, 1, 4
FROM n, (SELECT )" + std::to_string(t0) + R"( AS T);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < )" + std::to_string(records / 10 - 1) + R"()
INSERT INTO auth_events (time_ms, client, client_address, nas_ip, user_name, identity,
  packet_type, reason, np, auth_method, latency_us)
SELECT T + i * 10000, 'rras', '127.0.0.1', '10.0.0.' || (i % 4), 'user' || (i % 500),
  'user' || (i % 500), CASE WHEN i % 10 = 0 THEN 3 ELSE 2 END,
  CASE WHEN i % 10 = 0 THEN (CASE WHEN i % 20 = 0 THEN 16 ELSE 48 END) ELSE 0 END,
  'VPN Users', 'eap-tls', 1500
FROM n, (SELECT )" + std::to_string(t0) + R"( AS T);
COMMIT;
)";
  write_file(db.parent_path() / "generate.sql", sql);
  const auto r = run("sqlite3 " + shell_quote(db.string()) + " < " +
                     shell_quote((db.parent_path() / "generate.sql").string()));
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
}

std::string iso(std::int64_t ms) {
  const std::time_t s = ms / 1000;
  std::tm tm{};
  ::gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

TEST_CASE("export in every format and the HTML report stream a million records in constant memory") {
  temp_dir dir;
  const auto db = dir.path / "accounting.db";
  // npsd creates the schema (its migrations), then stops.
  write_file(dir.path / "users.json", R"({ "schema_version": 1, "users": [] })");
  write_file(dir.path / "npsd.json", R"({
  "schema_version": 1,
  "server": { "listen": [ { "type": "acct", "address": "127.0.0.1", "port": 0 } ] },
  "clients": [ { "name": "rras", "address": "127.0.0.1", "secret": "testing123" } ],
  "directory": { "backend": "local", "users_file": "users.json" },
  "accounting": { "database": "accounting.db" }
})");
  {
    npsd_process npsd(dir.path / "npsd.json", dir.path);
    REQUIRE(npsd.terminate() == 0);
  }
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  const std::int64_t t0 = (now / 86'400'000 - 13) * 86'400'000;  // midnight, 13 days ago
  generate(db, t0);
  REQUIRE(run("sqlite3 " + shell_quote(db.string()) + " 'SELECT count(*) FROM accounting'").output ==
          std::to_string(records) + "\n");

  const std::string npsctl = std::string(NPSCTL_BINARY) + " accounting ";
  const std::string dbopt = " --database " + shell_quote(db.string());
  const auto all_to = " --to " + iso(t0 + records * 1000);
  const auto tenth_to = " --to " + iso(t0 + records * 100);  // the first tenth
  struct format_case {
    const char* name;
    std::int64_t extra_lines;  // beyond one line per record
  };
  for (const auto& fc : {format_case{"csv", 1}, format_case{"json", 2}, format_case{"ndjson", 0},
                         format_case{"dts-xml", 0}}) {
    CAPTURE(fc.name);
    const auto cmd = npsctl + "export --format " + fc.name + dbopt;
    const auto big = run_measured(cmd + all_to + " | wc -l", dir.path / "big.out");
    const auto small = run_measured(cmd + tenth_to + " | wc -l", dir.path / "small.out");
    REQUIRE_MESSAGE(big.exit_code == 0, big.output);
    REQUIRE_MESSAGE(small.exit_code == 0, small.output);
    CHECK(std::stoll(big.output) == records + fc.extra_lines);
    CHECK(std::stoll(small.output) == records / 10 + fc.extra_lines);
    MESSAGE(std::string(fc.name), ": peak RSS ", big.max_rss_kib, " KiB for ", records,
            " records, ", small.max_rss_kib, " KiB for ", records / 10);
    // Constant memory: ten times the records, not ten times the memory (a few MiB of slack
    // for SQLite's page cache and output buffers).
    if (judge_memory) {
      CHECK(big.max_rss_kib < small.max_rss_kib + 8 * 1024);
      CHECK(big.max_rss_kib < 64 * 1024);
    }
  }
  // The first and last lines of an export are well-formed records of the generated data.
  const auto head = run(npsctl + "export --format ndjson" + dbopt + all_to + " | sed -n '1p;$p'");
  const auto first = nlohmann::json::parse(head.output.substr(0, head.output.find('\n')));
  CHECK(first.at("session_id") == "s0");
  CHECK(first.at("attributes").at("NAS-Port-Type") == "Virtual");
  const auto xml = run(npsctl + "export --format dts-xml" + dbopt + all_to + " | head -1");
  CHECK(xml.output.rfind("<Event><Timestamp data_type=\"4\">", 0) == 0);
  CHECK(xml.output.find("<Acct-Session-Id data_type=\"1\">s0</Acct-Session-Id>") != std::string::npos);

  // The report over everything: aggregated by SQL, so again no memory that grows.
  const auto html = dir.path / "report.html";
  const auto rep = run_measured(npsctl + "report --by day --html " + shell_quote(html.string()) +
                                    dbopt + " --from " + iso(t0) + all_to,
                                dir.path / "report.out");
  REQUIRE_MESSAGE(rep.exit_code == 0, rep.output);
  MESSAGE("report: peak RSS ", rep.max_rss_kib, " KiB");
  if (judge_memory) CHECK(rep.max_rss_kib < 64 * 1024);
  const auto page = read_file(html);
  CHECK(page.find("<svg") != std::string::npos);
  CHECK(page.find("user499") != std::string::npos);  // the top users by connected time
  const auto text = run(npsctl + "report --by user --top 3" + dbopt + " --from " + iso(t0) + all_to);
  REQUIRE_MESSAGE(text.exit_code == 0, text.output);
  CHECK_MESSAGE(text.output.find(std::to_string(records / 4)) != std::string::npos, text.output);  // sessions

  // Headless Chromium renders the page; the screenshot is kept beside the test binary.
  const auto shot = fs::current_path() / "accounting-report.png";
  fs::remove(shot);
  const auto chrome = run("timeout 120 chromium --headless=new --no-sandbox --disable-gpu "
                          "--hide-scrollbars --window-size=1280,1800 --screenshot=" +
                          shell_quote(shot.string()) + " file://" + html.string());
  REQUIRE_MESSAGE(fs::exists(shot), chrome.output);
  // A blank or broken page compresses to a few KiB; one with charts and tables does not.
  CHECK(fs::file_size(shot) > 40 * 1024);
  MESSAGE("screenshot: ", shot.string(), " (", fs::file_size(shot), " bytes)");
}
