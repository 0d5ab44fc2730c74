#include "accounting/export.h"

#include <doctest/doctest.h>
#include <stdlib.h>  // mkdtemp

#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "accounting/schema.h"
#include "accounting/sqlite.h"

using namespace npsd::accounting;
namespace fs = std::filesystem;

namespace {

constexpr time_ms dec1 = 1796083200000;        // 2026-12-01T00:00:00Z
constexpr time_ms t1 = 1796156043123;          // 2026-12-01T20:14:03.123Z
constexpr time_ms t2 = t1 + 3'600'000;         // 2026-12-01T21:14:03.123Z
constexpr time_ms t3 = 1796169600000;          // 2026-12-02T00:00:00Z
constexpr std::int64_t day_ms = 86'400'000;

// A fresh accounting database in WAL mode (as npsd runs it), removed at the end.
struct export_db {
  fs::path dir, file;
  detail::db_ptr writer;

  export_db() {
    std::string tmpl = (fs::temp_directory_path() / "npsd-export-test-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    file = dir / "accounting.db";
    auto db = detail::open_database(file, detail::open_mode::read_write_create, std::chrono::seconds(1));
    REQUIRE(db);
    writer = std::move(*db);
    REQUIRE(migrate(writer.get()));
    REQUIRE(detail::exec(writer.get(), "PRAGMA journal_mode = WAL"));
  }
  ~export_db() {
    writer.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void sql(const std::string& s) {
    const auto r = detail::exec(writer.get(), s);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  }
};

// Three accounting records: alice's Start (over 4 GiB in), smith, "bob"'s Stop on a NAS known
// only by NAS-Identifier, alice's Interim-Update at midnight.
void add_accounting_rows(export_db& db) {
  db.sql(fmt::format(
      "INSERT INTO accounting (time_ms, event_ms, client, client_address, nas, nas_ip, status_type, "
      "session_id, user_name, input_octets, event_timestamp, attributes, natural_key) VALUES "
      "({0}, {0}, 'ap-1', '10.0.0.1', '10.0.0.1', '10.0.0.1', 1, 'S1', 'alice', 5000000000, "
      "1796156043, '{{\"User-Name\":\"alice\"}}', 'k1')",
      t1));
  db.sql(fmt::format(
      "INSERT INTO accounting (time_ms, event_ms, client, client_address, nas, nas_identifier, "
      "status_type, session_id, user_name, framed_ip, session_time, class, attributes, natural_key) "
      "VALUES ({0}, {0}, 'switches', '10.0.0.2', 'sw-2', 'sw-2', 2, 'S2', 'smith, \"bob\"', "
      "'2001:db8::5', 3600, 'x<y', '{{}}', 'k2')",
      t2));
  db.sql(fmt::format(
      "INSERT INTO accounting (time_ms, event_ms, client, client_address, nas, nas_ip, status_type, "
      "session_id, user_name, attributes, natural_key) VALUES "
      "({0}, {0}, 'ap-1', '10.0.0.1', '10.0.0.1', '10.0.0.1', 3, 'S1', 'alice', '{{}}', 'k3')",
      t3));
}

void add_auth_events(export_db& db) {
  db.sql(fmt::format(
      "INSERT INTO auth_events (time_ms, client, client_address, nas_ip, user_name, identity, "
      "packet_type, reason, crp, np, auth_method) VALUES "
      "({0}, 'ap-1', '10.0.0.1', '10.0.0.1', '<script>', 'CORP\\alice', 3, 16, 'Wireless & VPN', "
      "'Staff', 'PEAP-MSCHAPv2'), "
      "({1}, 'ap-1', '10.0.0.1', NULL, 'alice', 'CORP\\alice', 2, 0, 'Wireless & VPN', 'Staff', "
      "'PAP')",
      t1, t2));
}

struct exported {
  std::uint64_t rows = 0;
  std::string text;
};

exported run(const export_db& db, record_kind kind, export_format format, const export_filter& f = {}) {
  std::ostringstream out;
  const auto r = export_records(db.file, kind, f, format, out, "NPS-1");
  REQUIRE_MESSAGE(r, (r ? "" : r.error()));
  return {*r, out.str()};
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The user names an export selects, in order.
std::vector<std::string> users(const export_db& db, const export_filter& f) {
  std::vector<std::string> out;
  for (const auto& line : lines_of(run(db, record_kind::accounting, export_format::ndjson, f).text))
    out.push_back(nlohmann::json::parse(line).at("user_name").get<std::string>());
  return out;
}

using names = std::vector<std::string>;

}  // namespace

TEST_CASE("export format names map both ways and unknown names are refused") {
  for (auto f : {export_format::csv, export_format::json, export_format::ndjson, export_format::dts_xml})
    CHECK(export_format_from_name(export_format_name(f)) == f);
  CHECK(export_format_from_name("dts-xml") == export_format::dts_xml);
  CHECK_FALSE(export_format_from_name("xml"));
  CHECK_FALSE(export_format_from_name("CSV"));
}

TEST_CASE("the time filter is inclusive at from and exclusive at to, oldest first") {
  export_db db;
  add_accounting_rows(db);
  CHECK(users(db, {}) == names{"alice", "smith, \"bob\"", "alice"});
  CHECK(users(db, {t1, t3, "", ""}) == names{"alice", "smith, \"bob\""});
  CHECK(users(db, {t1 + 1, t3 + 1, "", ""}) == names{"smith, \"bob\"", "alice"});
  CHECK(users(db, {t3, t3, "", ""}).empty());
}

TEST_CASE("the user filter matches the User-Name exactly") {
  export_db db;
  add_accounting_rows(db);
  export_filter f;
  f.user = "alice";
  CHECK(users(db, f) == names{"alice", "alice"});
  f.user = "ALICE";
  CHECK(users(db, f).empty());
  f.user = "smith";
  CHECK(users(db, f).empty());
}

TEST_CASE("the nas filter matches the nas column, NAS-Identifier or the client's name") {
  export_db db;
  add_accounting_rows(db);
  export_filter f;
  f.nas = "10.0.0.1";
  CHECK(users(db, f) == names{"alice", "alice"});
  f.nas = "sw-2";
  CHECK(users(db, f) == names{"smith, \"bob\""});
  f.nas = "switches";
  CHECK(users(db, f) == names{"smith, \"bob\""});
  f.nas = "ap-1";
  f.from = t2;
  CHECK(users(db, f) == names{"alice"});
}

TEST_CASE("csv has a header, ISO times first, RFC 4180 quoting, and no natural_key") {
  export_db db;
  add_accounting_rows(db);
  const auto e = run(db, record_kind::accounting, export_format::csv);
  CHECK(e.rows == 3);
  const auto lines = lines_of(e.text);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] ==
        "time,id,time_ms,event_ms,client,client_address,nas,nas_ip,nas_identifier,status_type,"
        "session_id,multi_session_id,user_name,framed_ip,calling_station_id,called_station_id,"
        "nas_port,nas_port_type,session_time,input_octets,output_octets,input_packets,"
        "output_packets,terminate_cause,delay_time,event_timestamp,class,attributes\r");
  CHECK(lines[1] ==
        "2026-12-01T20:14:03.123Z,1,1796156043123,1796156043123,ap-1,10.0.0.1,10.0.0.1,10.0.0.1,,"
        "1,S1,,alice,,,,,,,5000000000,0,0,0,,0,1796156043,,\"{\"\"User-Name\"\":\"\"alice\"\"}\"\r");
  CHECK(lines[2] ==
        "2026-12-01T21:14:03.123Z,2,1796159643123,1796159643123,switches,10.0.0.2,sw-2,,sw-2,2,S2,,"
        "\"smith, \"\"bob\"\"\",2001:db8::5,,,,,3600,0,0,0,0,,0,,x<y,{}\r");
  CHECK(lines[3].starts_with("2026-12-02T00:00:00.000Z,3,"));
}

TEST_CASE("csv quotes a field holding a line break") {
  export_db db;
  add_accounting_rows(db);
  db.sql("UPDATE accounting SET user_name = 'two' || char(10) || 'lines' WHERE id = 1");
  const auto e = run(db, record_kind::accounting, export_format::csv);
  CHECK(e.text.find(",\"two\nlines\",") != std::string::npos);
}

TEST_CASE("json is one array that parses back with numbers, nulls and attributes as an object") {
  export_db db;
  add_accounting_rows(db);
  const auto e = run(db, record_kind::accounting, export_format::json);
  CHECK(e.rows == 3);
  CHECK(e.text.ends_with("}\n]\n"));
  CHECK(e.text.find("},\n{") != std::string::npos);
  const auto j = nlohmann::json::parse(e.text);
  REQUIRE(j.is_array());
  REQUIRE(j.size() == 3);
  CHECK(j[0].at("time") == "2026-12-01T20:14:03.123Z");
  CHECK(j[0].at("time_ms") == t1);
  CHECK(j[0].at("input_octets") == 5000000000LL);
  CHECK(j[0].at("input_octets").is_number_integer());
  CHECK(j[0].at("attributes").is_object());
  CHECK(j[0].at("attributes").at("User-Name") == "alice");
  CHECK(j[0].at("nas_identifier").is_null());
  CHECK_FALSE(j[0].contains("natural_key"));
  CHECK(j[1].at("user_name") == "smith, \"bob\"");
  CHECK(j[1].at("class") == "x<y");
  CHECK(j[1].at("nas_ip").is_null());
  CHECK(j[2].at("status_type") == 3);
  // time first, then the columns in the table's order
  CHECK(e.text.starts_with("[\n{\"time\":\"2026-12-01T20:14:03.123Z\",\"id\":1,\"time_ms\":1796156043123,"));
}

TEST_CASE("json replaces invalid UTF-8 in a user name instead of failing") {
  export_db db;
  add_accounting_rows(db);
  db.sql("UPDATE accounting SET user_name = CAST(x'616263ff' AS TEXT) WHERE id = 1");
  const auto e = run(db, record_kind::accounting, export_format::json);
  const auto j = nlohmann::json::parse(e.text);
  CHECK(j[0].at("user_name") == "abc\xEF\xBF\xBD");
}

TEST_CASE("ndjson writes one parseable object per line") {
  export_db db;
  add_accounting_rows(db);
  const auto e = run(db, record_kind::accounting, export_format::ndjson);
  CHECK(e.rows == 3);
  const auto lines = lines_of(e.text);
  REQUIRE(lines.size() == 3);
  for (const auto& line : lines) CHECK(nlohmann::json::parse(line).is_object());
  CHECK(nlohmann::json::parse(lines[1]).at("session_time") == 3600);
}

TEST_CASE("dts-xml writes one typed Event per line, as NPS does, escaping text") {
  export_db db;
  add_accounting_rows(db);
  const auto e = run(db, record_kind::accounting, export_format::dts_xml);
  CHECK(e.rows == 3);
  const auto lines = lines_of(e.text);
  REQUIRE(lines.size() == 3);
  for (const auto& line : lines) {
    CHECK(line.starts_with("<Event><Timestamp data_type=\"4\">"));
    CHECK(line.ends_with("</Event>"));
    CHECK(line.find("<Computer-Name data_type=\"1\">NPS-1</Computer-Name>") != std::string::npos);
    CHECK(line.find("<Event-Source data_type=\"1\">IAS</Event-Source>") != std::string::npos);
    CHECK(line.find("<Packet-Type data_type=\"0\">4</Packet-Type>") != std::string::npos);
  }
  const auto& a = lines[0];
  CHECK(a.find("<Timestamp data_type=\"4\">12/01/2026 20:14:03.123</Timestamp>") != std::string::npos);
  CHECK(a.find("<NAS-IP-Address data_type=\"3\">10.0.0.1</NAS-IP-Address>") != std::string::npos);
  CHECK(a.find("<Client-IP-Address data_type=\"3\">10.0.0.1</Client-IP-Address>") != std::string::npos);
  CHECK(a.find("<Client-Friendly-Name data_type=\"1\">ap-1</Client-Friendly-Name>") != std::string::npos);
  CHECK(a.find("<User-Name data_type=\"1\">alice</User-Name>") != std::string::npos);
  CHECK(a.find("<Acct-Status-Type data_type=\"0\">1</Acct-Status-Type>") != std::string::npos);
  CHECK(a.find("<Acct-Session-Id data_type=\"1\">S1</Acct-Session-Id>") != std::string::npos);
  // 5000000000 = 1 * 2^32 + 705032704
  CHECK(a.find("<Acct-Input-Octets data_type=\"0\">705032704</Acct-Input-Octets>"
               "<Acct-Input-Gigawords data_type=\"0\">1</Acct-Input-Gigawords>") != std::string::npos);
  CHECK(a.find("<Acct-Output-Octets data_type=\"0\">0</Acct-Output-Octets>") != std::string::npos);
  CHECK(a.find("Acct-Output-Gigawords") == std::string::npos);
  CHECK(a.find("<Event-Timestamp data_type=\"4\">12/01/2026 20:14:03</Event-Timestamp>") != std::string::npos);
  CHECK(a.find("NAS-Identifier") == std::string::npos);  // NULL: omitted
  CHECK(a.find("Acct-Session-Time") == std::string::npos);

  const auto& b = lines[1];
  CHECK(b.find("<User-Name data_type=\"1\">smith, &quot;bob&quot;</User-Name>") != std::string::npos);
  CHECK(b.find("<Class data_type=\"1\">x&lt;y</Class>") != std::string::npos);
  CHECK(b.find("<Framed-IPv6-Address data_type=\"3\">2001:db8::5</Framed-IPv6-Address>") != std::string::npos);
  CHECK(b.find("<NAS-Identifier data_type=\"1\">sw-2</NAS-Identifier>") != std::string::npos);
  CHECK(b.find("<Acct-Session-Time data_type=\"0\">3600</Acct-Session-Time>") != std::string::npos);
  CHECK(b.find("<NAS-IP-Address") == std::string::npos);
  CHECK(b.find("x<y") == std::string::npos);
}

TEST_CASE("dts-xml keeps an event on one line when a value holds a line break") {
  export_db db;
  add_accounting_rows(db);
  db.sql("UPDATE accounting SET user_name = 'a' || char(10) || 'b' WHERE id = 1");
  const auto e = run(db, record_kind::accounting, export_format::dts_xml);
  CHECK(lines_of(e.text).size() == 3);
  CHECK(e.text.find("<User-Name data_type=\"1\">a&#10;b</User-Name>") != std::string::npos);
}

TEST_CASE("dts-xml auth events carry the NPS packet type, reason, policies and account names") {
  export_db db;
  add_auth_events(db);
  const auto e = run(db, record_kind::auth, export_format::dts_xml);
  CHECK(e.rows == 2);
  const auto lines = lines_of(e.text);
  REQUIRE(lines.size() == 2);
  const auto& reject = lines[0];
  CHECK(reject.find("<Packet-Type data_type=\"0\">3</Packet-Type>") != std::string::npos);
  CHECK(reject.find("<Reason-Code data_type=\"0\">16</Reason-Code>") != std::string::npos);
  CHECK(reject.find("<User-Name data_type=\"1\">&lt;script&gt;</User-Name>") != std::string::npos);
  CHECK(reject.find("<SAM-Account-Name data_type=\"1\">CORP\\alice</SAM-Account-Name>") != std::string::npos);
  CHECK(reject.find("<Fully-Qualifed-User-Name data_type=\"1\">CORP\\alice</Fully-Qualifed-User-Name>") !=
        std::string::npos);
  CHECK(reject.find("<Proxy-Policy-Name data_type=\"1\">Wireless &amp; VPN</Proxy-Policy-Name>") !=
        std::string::npos);
  CHECK(reject.find("<NP-Policy-Name data_type=\"1\">Staff</NP-Policy-Name>") != std::string::npos);
  CHECK(reject.find("<Authentication-Type data_type=\"0\">11</Authentication-Type>") != std::string::npos);
  CHECK(reject.find("<Provider-Type data_type=\"0\">1</Provider-Type>") != std::string::npos);
  CHECK(reject.find("<script>") == std::string::npos);
  const auto& accept = lines[1];
  CHECK(accept.find("<Packet-Type data_type=\"0\">2</Packet-Type>") != std::string::npos);
  CHECK(accept.find("<Authentication-Type data_type=\"0\">1</Authentication-Type>") != std::string::npos);
  CHECK(accept.find("<NAS-IP-Address") == std::string::npos);
}

TEST_CASE("auth events filter on the nas by NAS-IP-Address, client name or client address") {
  export_db db;
  add_auth_events(db);
  export_filter f;
  f.nas = "10.0.0.1";
  CHECK(run(db, record_kind::auth, export_format::ndjson, f).rows == 2);
  f.nas = "ap-1";
  CHECK(run(db, record_kind::auth, export_format::ndjson, f).rows == 2);
  f.nas = "10.0.0.9";
  CHECK(run(db, record_kind::auth, export_format::ndjson, f).rows == 0);
  f = {};
  f.user = "<script>";
  const auto e = run(db, record_kind::auth, export_format::json, f);
  CHECK(e.rows == 1);
  CHECK(nlohmann::json::parse(e.text)[0].at("reason") == 16);
}

TEST_CASE("an empty export writes the header, an empty array, or nothing") {
  export_db db;
  add_accounting_rows(db);
  const export_filter none{dec1 - day_ms, dec1, "", ""};
  const auto csv = run(db, record_kind::accounting, export_format::csv, none);
  CHECK(csv.rows == 0);
  CHECK(csv.text.starts_with("time,id,time_ms,"));
  CHECK(lines_of(csv.text).size() == 1);
  CHECK(run(db, record_kind::accounting, export_format::json, none).text == "[]\n");
  CHECK(run(db, record_kind::accounting, export_format::ndjson, none).text.empty());
  CHECK(run(db, record_kind::auth, export_format::dts_xml).text.empty());
}

TEST_CASE("an export reads while the writer holds an open transaction and sees committed rows") {
  export_db db;
  add_accounting_rows(db);
  db.sql("BEGIN IMMEDIATE");
  db.sql("DELETE FROM accounting WHERE id = 1");
  const auto start = std::chrono::steady_clock::now();
  const auto e = run(db, record_kind::accounting, export_format::ndjson);
  CHECK(e.rows == 3);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));  // not blocked
  db.sql("COMMIT");
  CHECK(run(db, record_kind::accounting, export_format::ndjson).rows == 2);
}

TEST_CASE("an export of a missing file or a file without the schema is an error naming it") {
  export_db db;
  std::ostringstream out;
  const auto missing = export_records(db.dir / "nope.db", record_kind::accounting, {},
                                      export_format::csv, out, "x");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().find("nope.db") != std::string::npos);
  CHECK_FALSE(fs::exists(db.dir / "nope.db"));  // read-only: never created

  const auto empty_file = db.dir / "empty.db";
  {
    auto raw = detail::open_database(empty_file, detail::open_mode::read_write_create, std::chrono::seconds(1));
    REQUIRE(raw);
    REQUIRE(detail::exec(raw->get(), "CREATE TABLE t (x)"));
  }
  const auto foreign = export_records(empty_file, record_kind::auth, {}, export_format::json, out, "x");
  REQUIRE_FALSE(foreign);
  CHECK(foreign.error().find("empty.db") != std::string::npos);
  CHECK(foreign.error().find("not an npsd accounting database") != std::string::npos);
}

TEST_CASE("parse_time takes UTC dates and times, now, and times relative to now") {
  const time_ms now = t1;
  const auto at = [&](std::string_view s) {
    const auto t = parse_time(s, now);
    REQUIRE_MESSAGE(t, (t ? "" : t.error()));
    return *t;
  };
  CHECK(at("2026-12-01") == dec1);
  CHECK(at("2026-12-01T10:00:00") == 1796119200000);
  CHECK(at("2026-12-01T10:00:00Z") == 1796119200000);
  CHECK(at("2026-12-01 10:00") == 1796119200000);
  CHECK(at("2026-12-01T10:00") == 1796119200000);
  CHECK(at("2026-12-01T10:00:00.250Z") == 1796119200250);
  CHECK(at("2024-02-29") == 1709164800000);
  CHECK(at("now") == now);
  CHECK(at("-7d") == now - 7 * day_ms);
  CHECK(at("-12h") == now - 12 * 3'600'000);
  CHECK(at("-30m") == now - 30 * 60'000);
  CHECK(at("+1w") == now + 7 * day_ms);
}

TEST_CASE("parse_time refuses other text and says what it accepts") {
  for (const char* bad : {"", "yesterday", "2026-12", "2026-13-01", "2026-02-29", "2026-12-32",
                          "2026-12-01T24:00", "2026-12-01T10", "2026-12-01T10:60", "2026-12-01T10:00:61",
                          "2026-12-01T10:00:00+02:00", "2026-12-01Z", "2026-12-01T10:00:00.5",
                          "26-12-01", "7d", "-7x", "-", "now ", " 2026-12-01"}) {
    CAPTURE(bad);
    const auto t = parse_time(bad, t1);
    REQUIRE_FALSE(t);
    CHECK(t.error().find("YYYY-MM-DD") != std::string::npos);
    CHECK(t.error().find("-7d") != std::string::npos);
  }
}

TEST_CASE("parse_duration takes a count and a unit and refuses anything else") {
  CHECK(*parse_duration("90d") == 90 * day_ms);
  CHECK(*parse_duration("12h") == 12 * 3'600'000);
  CHECK(*parse_duration("30m") == 30 * 60'000);
  CHECK(*parse_duration("45s") == 45'000);
  CHECK(*parse_duration("2w") == 14 * day_ms);
  CHECK(*parse_duration("0d") == 0);
  for (const char* bad : {"", "d", "12", "12x", "-5d", "1.5h", "12hh", "h12", " 12h", "99999999999999999999d",
                          "20000000000w"}) {
    CAPTURE(bad);
    const auto d = parse_duration(bad);
    REQUIRE_FALSE(d);
    CHECK(d.error().find("90d") != std::string::npos);
  }
}

TEST_CASE("times are written as ISO 8601 and as NPS writes them") {
  CHECK(format_iso8601(t1) == "2026-12-01T20:14:03.123Z");
  CHECK(format_iso8601(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_iso8601(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(format_nps_time(t1, true) == "12/01/2026 20:14:03.123");
  CHECK(format_nps_time(t1, false) == "12/01/2026 20:14:03");
}

TEST_CASE("csv neutralises a user name a spreadsheet would run as a formula") {
  export_db db;
  db.sql(fmt::format(
      "INSERT INTO accounting (time_ms, event_ms, client, client_address, nas, status_type, "
      "user_name, attributes, natural_key) VALUES ({0}, {0}, 'ap-1', '10.0.0.1', '10.0.0.1', 1, "
      "'=HYPERLINK(\"http://x\")', '{{}}', 'f1')",
      t1));
  const auto e = run(db, record_kind::accounting, export_format::csv);
  CHECK(e.text.find("\"'=HYPERLINK(\"\"http://x\"\")\"") != std::string::npos);
  CHECK(e.text.find(",=HYPERLINK") == std::string::npos);
}
