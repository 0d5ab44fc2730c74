#include "accounting/report.h"

#include <doctest/doctest.h>
#include <stdlib.h>  // mkdtemp

#include <chrono>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "accounting/schema.h"
#include "accounting/sqlite.h"

using namespace npsd::accounting;
namespace fs = std::filesystem;

namespace {

constexpr time_ms report_dec1 = 1796083200000;  // 2026-12-01T00:00:00Z
constexpr std::int64_t hour_ms = 3'600'000;
constexpr std::int64_t report_day_ms = 24 * hour_ms;

// Sessions and auth events over 1-2 December 2026, plus one of each the day before.
class report_db {
 public:
  report_db() {
    std::string tmpl = (fs::temp_directory_path() / "npsd-report-test-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir_ = tmpl;
    auto db = detail::open_database(file(), detail::open_mode::read_write_create, std::chrono::seconds(1));
    REQUIRE(db);
    REQUIRE(migrate(db->get()));
    // nas, client, user, started, seconds, in, out, state
    add_session(*db, "10.0.0.1", "ap-1", "alice", report_dec1 + 10 * hour_ms, 3600, 1000, 2000, "closed");
    add_session(*db, "10.0.0.1", "ap-1", "alice", report_dec1 + 12 * hour_ms, 1800, 500, 500, "open");
    add_session(*db, "sw-2", "switches", "<script>", report_dec1 + report_day_ms + hour_ms, 7200, 10, 20, "closed");
    add_session(*db, "sw-2", "switches", "bob", report_dec1 - hour_ms, 99999, 1, 1, "closed");
    // time, nas_ip, nas_identifier, user, packet type, reason
    add_auth(*db, report_dec1 + 10 * hour_ms, "'10.0.0.1'", "NULL", "alice", 2, 0);
    add_auth(*db, report_dec1 + 11 * hour_ms, "'10.0.0.1'", "NULL", "alice", 3, 16);
    add_auth(*db, report_dec1 + report_day_ms, "NULL", "'sw-2'", "<script>", 3, 16);
    add_auth(*db, report_dec1 + report_day_ms + 60'000, "NULL", "'sw-2'", "<script>", 3, 48);
    add_auth(*db, report_dec1 - 2 * hour_ms, "'10.0.0.1'", "NULL", "carol", 2, 0);
  }
  ~report_db() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path file() const { return dir_ / "accounting.db"; }

 private:
  static void add_session(detail::db_ptr& db, const char* nas, const char* client, const char* user,
                          time_ms started, int seconds, int in, int out, const char* state) {
    REQUIRE(detail::exec(db.get(), fmt::format(
        "INSERT INTO sessions (nas, session_id, client, user_name, started_ms, updated_ms, "
        "session_time, input_octets, output_octets, state) VALUES ('{}', 'S', '{}', '{}', {}, {}, "
        "{}, {}, {}, '{}')",
        nas, client, user, started, started, seconds, in, out, state)));
  }
  static void add_auth(detail::db_ptr& db, time_ms t, const char* nas_ip, const char* nas_id,
                       const char* user, int type, int reason) {
    REQUIRE(detail::exec(db.get(), fmt::format(
        "INSERT INTO auth_events (time_ms, client, client_address, nas_ip, nas_identifier, "
        "user_name, packet_type, reason) VALUES ({}, 'c', '10.9.9.9', {}, {}, '{}', {}, {})",
        t, nas_ip, nas_id, user, type, reason)));
  }
  fs::path dir_;
};

report make(const report_db& db, report_options o) {
  const auto r = build_report(db.file(), o);
  REQUIRE_MESSAGE(r, (r ? "" : r.error()));
  return *r;
}

report_options range(time_ms from, time_ms to, report_group by = report_group::user) {
  report_options o;
  o.filter.from = from;
  o.filter.to = to;
  o.by = by;
  return o;
}

std::vector<std::string> keys(const std::vector<report_row>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.key);
  return out;
}

using names = std::vector<std::string>;
using series = std::vector<std::pair<std::string, std::uint64_t>>;

}  // namespace

TEST_CASE("report group names map both ways") {
  for (auto g : {report_group::user, report_group::nas, report_group::day})
    CHECK(report_group_from_name(report_group_name(g)) == g);
  CHECK_FALSE(report_group_from_name("month"));
}

TEST_CASE("a report sums sessions, time, bytes, accepts and rejects per user in range") {
  report_db db;
  const auto r = make(db, range(report_dec1, report_dec1 + 3 * report_day_ms));
  REQUIRE(keys(r.rows) == names{"<script>", "alice"});
  const auto& s = r.rows[0];
  CHECK(s.sessions == 1);
  CHECK(s.connected_seconds == 7200);
  CHECK(s.input_octets == 10);
  CHECK(s.output_octets == 20);
  CHECK(s.accepts == 0);
  CHECK(s.rejects == 2);
  const auto& a = r.rows[1];
  CHECK(a.sessions == 2);
  CHECK(a.connected_seconds == 5400);
  CHECK(a.input_octets == 1500);
  CHECK(a.output_octets == 2500);
  CHECK(a.accepts == 1);
  CHECK(a.rejects == 1);

  CHECK(r.total_sessions == 3);
  CHECK(r.open_sessions == 1);
  CHECK(r.total_connected_seconds == 12600);
  CHECK(r.total_input_octets == 1510);
  CHECK(r.total_output_octets == 2520);
  CHECK(r.accepts == 1);
  CHECK(r.rejects == 3);
}

TEST_CASE("a report groups by NAS and by day") {
  report_db db;
  const auto by_nas = make(db, range(report_dec1, report_dec1 + 3 * report_day_ms, report_group::nas));
  REQUIRE(keys(by_nas.rows) == names{"10.0.0.1", "sw-2"});
  CHECK(by_nas.rows[0].sessions == 2);
  CHECK(by_nas.rows[0].accepts == 1);
  CHECK(by_nas.rows[0].rejects == 1);
  CHECK(by_nas.rows[1].sessions == 1);
  CHECK(by_nas.rows[1].rejects == 2);

  const auto by_day = make(db, range(report_dec1 - report_day_ms, report_dec1 + 3 * report_day_ms, report_group::day));
  REQUIRE(keys(by_day.rows) == names{"2026-11-30", "2026-12-01", "2026-12-02"});
  CHECK(by_day.rows[0].sessions == 1);
  CHECK(by_day.rows[0].accepts == 1);
  CHECK(by_day.rows[1].sessions == 2);
  CHECK(by_day.rows[1].connected_seconds == 5400);
  CHECK(by_day.rows[2].rejects == 2);
}

TEST_CASE("top users are ordered by connected time and cut at top") {
  report_db db;
  auto o = range(report_dec1 - report_day_ms, report_dec1 + 3 * report_day_ms);
  CHECK(keys(make(db, o).top_users) == names{"bob", "<script>", "alice"});  // carol: no session
  o.top = 2;
  CHECK(keys(make(db, o).top_users) == names{"bob", "<script>"});
  CHECK(make(db, o).top_users[0].connected_seconds == 99999);
}

TEST_CASE("failures by reason count the rejects per code, the most frequent first") {
  report_db db;
  const auto r = make(db, range(report_dec1, report_dec1 + 3 * report_day_ms));
  using failure = std::tuple<int, std::string, std::uint64_t>;
  CHECK(r.failures_by_reason == std::vector<failure>{
                                    {16, "authentication failed: credentials mismatch", 2},
                                    {48, "no network policy matched", 1}});
  CHECK(nps_reason_text(265) == "certificate chains to an untrusted root");
  CHECK(nps_reason_text(4242) == "reason 4242");
}

TEST_CASE("connections over time count sessions started per day, or per hour over two days") {
  report_db db;
  CHECK(make(db, range(report_dec1, report_dec1 + 3 * report_day_ms)).connections_over_time ==
        series{{"2026-12-01", 2}, {"2026-12-02", 1}});
  CHECK(make(db, range(report_dec1, report_dec1 + report_day_ms)).connections_over_time ==
        series{{"2026-12-01 10:00", 1}, {"2026-12-01 11:00", 0}, {"2026-12-01 12:00", 1}});
  CHECK(make(db, {}).connections_over_time ==
        series{{"2026-11-30", 1}, {"2026-12-01", 2}, {"2026-12-02", 1}});
}

TEST_CASE("the user and nas filters narrow every figure of a report") {
  report_db db;
  auto o = range(report_dec1, report_dec1 + 3 * report_day_ms);
  o.filter.user = "alice";
  auto r = make(db, o);
  CHECK(keys(r.rows) == names{"alice"});
  CHECK(r.total_sessions == 2);
  CHECK(r.rejects == 1);
  CHECK(r.failures_by_reason.size() == 1);

  o.filter.user.clear();
  o.filter.nas = "sw-2";
  r = make(db, o);
  CHECK(keys(r.rows) == names{"<script>"});
  CHECK(r.total_sessions == 1);
  CHECK(r.rejects == 2);
  CHECK(r.accepts == 0);
}

TEST_CASE("a report of an empty range is all zeros") {
  report_db db;
  const auto r = make(db, range(report_dec1 + 10 * report_day_ms, report_dec1 + 11 * report_day_ms));
  CHECK(r.rows.empty());
  CHECK(r.top_users.empty());
  CHECK(r.connections_over_time.empty());
  CHECK(r.failures_by_reason.empty());
  CHECK(r.total_sessions == 0);
  CHECK(r.rejects == 0);
  CHECK(format_report_text(r).find("(none)") != std::string::npos);
  CHECK(format_report_html(r).find("No sessions") != std::string::npos);
}

TEST_CASE("a report of a missing database is an error naming the file") {
  report_db db;
  const auto r = build_report(db.file().parent_path() / "missing.db", {});
  REQUIRE_FALSE(r);
  CHECK(r.error().find("missing.db") != std::string::npos);
}

TEST_CASE("the text report shows the figures in aligned sections") {
  report_db db;
  const auto text = format_report_text(make(db, range(report_dec1, report_dec1 + 3 * report_day_ms)));
  CAPTURE(text);
  for (const char* part : {"Summary", "By user", "Top users by connected time", "Failures by reason",
                           "2026-12-01T00:00:00.000Z", "3h 30m (12600 s)", "1510 (1.5 KiB)",
                           "authentication failed: credentials mismatch", "1h 30m"}) {
    CAPTURE(part);
    CHECK(text.find(part) != std::string::npos);
  }
  // alice's row: the columns line up under their headers, numbers to the right.
  CHECK(text.find("  User      Sessions  Connected  Input octets  Output octets  Accepts  Rejects\n") !=
        std::string::npos);
  CHECK(text.find("  alice            2     1h 30m          1500           2500        1        1\n") !=
        std::string::npos);
}

TEST_CASE("the text report does not pass control characters from a user name to the terminal") {
  report r;
  r.rows.push_back({"evil\x1b[2J", 1, 1, 0, 0, 0, 0});
  const auto text = format_report_text(r);
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find("evil?[2J") != std::string::npos);
}

TEST_CASE("the HTML report is one self-contained page with SVG charts and escaped names") {
  report_db db;
  const auto html = format_report_html(make(db, range(report_dec1, report_dec1 + 3 * report_day_ms)));
  CHECK(html.starts_with("<!DOCTYPE html>"));
  CHECK(html.ends_with("</html>\n"));
  CHECK(html.find("<svg") != std::string::npos);
  CHECK(html.find("Connections over time") != std::string::npos);
  CHECK(html.find("Top users by connected time") != std::string::npos);
  CHECK(html.find("<style>") != std::string::npos);
  CHECK(html.find("&lt;script&gt;") != std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("http://") == std::string::npos);
  CHECK(html.find("https://") == std::string::npos);
  CHECK(html.find("src=") == std::string::npos);
  CHECK(html.find("href=") == std::string::npos);
  CHECK(html.find("<rect class=\"bar\"") != std::string::npos);
  CHECK(html.find("<title>2026-12-01: 2</title>") != std::string::npos);
  CHECK(html.find("authentication failed: credentials mismatch") != std::string::npos);
}

TEST_CASE("the HTML report escapes quotes and ampersands from the database in every place") {
  report r;
  r.rows.push_back({"a\"b&c'<d>", 1, 60, 0, 0, 0, 0});
  r.top_users = r.rows;
  r.connections_over_time = {{"x\"<y>", 1}};
  r.failures_by_reason = {{16, "<b>bold</b>", 1}};
  const auto html = format_report_html(r);
  CHECK(html.find("a&quot;b&amp;c&apos;&lt;d&gt;") != std::string::npos);
  CHECK(html.find("a\"b") == std::string::npos);
  CHECK(html.find("x\"<y>") == std::string::npos);
  CHECK(html.find("<b>") == std::string::npos);
}

TEST_CASE("durations are shown in days, hours, minutes and seconds") {
  CHECK(format_duration(0) == "0s");
  CHECK(format_duration(45) == "45s");
  CHECK(format_duration(3600) == "1h");
  CHECK(format_duration(12600) == "3h 30m");
  CHECK(format_duration(2 * 86400 + 3 * 3600 + 4 * 60 + 5) == "2d 3h 4m 5s");
}
