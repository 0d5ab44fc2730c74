#include "accounting/store.h"

#include <doctest/doctest.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "accounting/maintenance.h"
#include "accounting/sqlite.h"
#include "radius/dictionary.h"

using namespace npsd;
using namespace npsd::accounting;

namespace {

struct temp_db {
  std::filesystem::path dir;
  temp_db() {
    char tmpl[] = "/tmp/npsd-acct-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  ~temp_db() { std::filesystem::remove_all(dir); }
  std::filesystem::path file() const { return dir / "acct.db"; }
};

const radius::dictionary& dict() {
  static const auto d = radius::dictionary::load_directory(NPSD_DICTIONARY_DIR);
  return *d;
}

radius::packet request(std::uint32_t status, std::string_view session, std::uint32_t session_time = 0,
                       std::optional<std::uint32_t> event_ts = std::nullopt) {
  radius::packet p;
  p.code = radius::code::accounting_request;
  p.add(radius::attr::user_name, std::string_view("alice"));
  p.add_uint32(radius::attr::acct_status_type, status);
  p.add(radius::attr::nas_ip_address, radius::bytes{10, 0, 0, 1});
  if (!session.empty()) p.add(radius::attr::acct_session_id, session);
  if (status != status::start && status != status::accounting_on) p.add_uint32(46, session_time);
  if (event_ts) p.add_uint32(radius::attr::event_timestamp, *event_ts);
  return p;
}

// Submits records and waits until each one's completion ran.
struct writer {
  std::unique_ptr<store> st;
  std::mutex mu;
  std::condition_variable cv;
  int pending = 0;
  int stored = 0;
  int failed = 0;

  explicit writer(const std::filesystem::path& db, std::size_t queue = 1024,
                  store_options opts = {}) {
    store_config c;
    c.enabled = true;
    c.database = db;
    c.queue_max_records = queue;
    auto s = open_sqlite_store(c, std::move(opts));
    REQUIRE_MESSAGE(s, (s ? "" : s.error()));
    st = std::move(*s);
  }
  bool submit(const radius::packet& p, time_ms received = 1'800'000'000'000,
              std::string_view client = "nas1") {
    {
      std::lock_guard l(mu);
      ++pending;
    }
    const bool ok = st->submit(record_from_request(p, dict(), client, "127.0.0.1", received),
                               [this](bool s) {
                                 std::lock_guard l(mu);
                                 --pending;
                                 (s ? stored : failed)++;
                                 cv.notify_all();
                               });
    if (!ok) {
      std::lock_guard l(mu);
      --pending;
    }
    return ok;
  }
  void wait() {
    std::unique_lock l(mu);
    REQUIRE(cv.wait_for(l, std::chrono::seconds(10), [&] { return pending == 0; }));
  }
};

struct reader {
  detail::db_ptr db;
  explicit reader(const std::filesystem::path& f) {
    auto d = detail::open_database(f, detail::open_mode::read_only, std::chrono::milliseconds(1000));
    REQUIRE(d);
    db = std::move(*d);
  }
  std::int64_t integer(std::string_view sql) {
    auto s = detail::statement::prepare(db.get(), sql);
    REQUIRE(s);
    REQUIRE(s->step() == SQLITE_ROW);
    return s->column_int(0);
  }
  std::string text(std::string_view sql) {
    auto s = detail::statement::prepare(db.get(), sql);
    REQUIRE(s);
    REQUIRE(s->step() == SQLITE_ROW);
    return std::string(s->column_text(0));
  }
};

}  // namespace

TEST_CASE("record_from_request folds Gigawords into 64-bit octets and names every attribute") {
  auto p = request(status::stop, "s1", 60, 1'800'000'000u);
  p.add_uint32(42, 5);   // Acct-Input-Octets
  p.add_uint32(52, 2);   // Acct-Input-Gigawords
  p.add_uint32(43, 7);   // Acct-Output-Octets
  p.add_uint32(49, 1);   // Acct-Terminate-Cause = User-Request
  p.add(radius::attr::class_, std::string_view("npsd:abc"));
  p.add(radius::attr::class_, radius::bytes{0x01, 0xff});
  p.add(radius::attr::message_authenticator, radius::bytes(16, 0));
  const auto r = record_from_request(p, dict(), "nas1", "127.0.0.1", 1'800'000'005'000);
  CHECK(r.input_octets == (std::uint64_t{2} << 32 | 5));
  CHECK(r.output_octets == 7);
  CHECK(r.nas() == "10.0.0.1");
  CHECK(r.class_ == "npsd:abc");
  CHECK(r.event_time() == 1'800'000'000'000);
  const auto j = nlohmann::json::parse(r.attributes_json);
  CHECK(j["User-Name"] == "alice");
  CHECK(j["Acct-Status-Type"] == "Stop");
  CHECK(j["Acct-Session-Time"] == 60);
  CHECK(j["Acct-Terminate-Cause"] == "User-Request");
  CHECK(j["NAS-IP-Address"] == "10.0.0.1");
  REQUIRE(j["Class"].is_array());
  CHECK(j["Class"].size() == 2);
  CHECK_FALSE(j.contains("Message-Authenticator"));
}

TEST_CASE("attribute JSON escapes quotes and backslashes and keeps numbers as numbers") {
  radius::packet p;
  p.add(radius::attr::user_name, std::string_view("a\"b\\c"));
  p.add(radius::attr::user_name, radius::bytes{'x', 0x01});  // not printable: hex
  p.add_uint32(radius::attr::nas_port, 4294967295u);
  p.add(250, radius::bytes{1, 2});  // not in the dictionary
  const auto j = nlohmann::json::parse(attributes_as_json(p, dict()));
  REQUIRE(j["User-Name"].is_array());
  CHECK(j["User-Name"][0] == "a\"b\\c");
  CHECK(j["User-Name"][1] == "0x7801");
  CHECK(j["NAS-Port"] == 4294967295u);
  CHECK(j["Attr-250"] == "0x0102");
}

TEST_CASE("a retransmission's natural key ignores Acct-Delay-Time; distinct updates differ") {
  auto a = request(status::interim_update, "s1", 60);
  auto b = request(status::interim_update, "s1", 60);
  b.add_uint32(radius::attr::acct_delay_time, 5);
  const auto ra = record_from_request(a, dict(), "nas1", "127.0.0.1", 1'000'000);
  const auto rb = record_from_request(b, dict(), "nas1", "127.0.0.1", 1'005'000);
  CHECK(ra.natural_key() == rb.natural_key());
  const auto rc = record_from_request(request(status::interim_update, "s1", 120), dict(), "nas1",
                                      "127.0.0.1", 1'060'000);
  CHECK(ra.natural_key() != rc.natural_key());
}

TEST_CASE("start, interim and stop make one closed session with the final counters") {
  temp_db t;
  {
    writer w(t.file());
    CHECK(w.submit(request(status::start, "s1", 0, 1'800'000'000u)));
    CHECK(w.submit(request(status::interim_update, "s1", 60, 1'800'000'060u)));
    CHECK(w.submit(request(status::stop, "s1", 90, 1'800'000'090u)));
    w.wait();
    CHECK(w.stored == 3);
  }
  reader r(t.file());
  CHECK(r.integer("SELECT count(*) FROM accounting") == 3);
  CHECK(r.integer("SELECT count(*) FROM sessions") == 1);
  CHECK(r.text("SELECT state || ',' || closed_by || ',' || session_time || ',' || started_ms || "
               "',' || stopped_ms FROM sessions") ==
        "closed,stop,90,1800000000000,1800000090000");
}

TEST_CASE("a stop that arrives before its start closes the session and the start fills it in") {
  temp_db t;
  {
    writer w(t.file());
    CHECK(w.submit(request(status::stop, "s1", 100, 1'800'000'100u)));
    w.wait();
    CHECK(w.submit(request(status::interim_update, "s1", 50, 1'800'000'050u)));  // late
    CHECK(w.submit(request(status::start, "s1", 0, 1'800'000'000u)));
    w.wait();
  }
  reader r(t.file());
  CHECK(r.integer("SELECT count(*) FROM sessions") == 1);
  CHECK(r.text("SELECT state || ',' || session_time || ',' || start_seen || ',' || started_ms "
               "FROM sessions") == "closed,100,1,1800000000000");
}

TEST_CASE("Accounting-On closes that NAS's open sessions, not other NASes'") {
  temp_db t;
  {
    writer w(t.file());
    CHECK(w.submit(request(status::start, "s1", 0, 1'800'000'000u)));
    CHECK(w.submit(request(status::start, "s2", 0, 1'800'000'001u)));
    auto other = request(status::start, "s3", 0, 1'800'000'002u);
    other.attributes[2].value = {10, 0, 0, 2};  // NAS-IP-Address of another NAS
    CHECK(w.submit(other));
    CHECK(w.submit(request(status::accounting_on, "", 0, 1'800'000'500u)));
    w.wait();
  }
  reader r(t.file());
  CHECK(r.integer("SELECT count(*) FROM sessions WHERE state = 'closed' AND closed_by = "
                  "'accounting-on' AND nas = '10.0.0.1'") == 2);
  CHECK(r.integer("SELECT count(*) FROM sessions WHERE state = 'open' AND nas = '10.0.0.2'") == 1);
}

TEST_CASE("a record sent again after the duplicate cache forgot it is stored once") {
  temp_db t;
  {
    writer w(t.file());
    auto first = request(status::interim_update, "s1", 60);
    auto again = first;
    again.add_uint32(radius::attr::acct_delay_time, 30);
    CHECK(w.submit(first, 1'800'000'000'000));
    CHECK(w.submit(again, 1'800'000'030'000));
    w.wait();
    CHECK(w.stored == 2);  // both acknowledged
    CHECK(w.st->stats().records_duplicate == 1);
  }
  reader r(t.file());
  CHECK(r.integer("SELECT count(*) FROM accounting") == 1);
  CHECK(r.integer("SELECT records FROM sessions") == 1);
}

TEST_CASE("a full queue refuses the record instead of growing") {
  temp_db t;
  writer w(t.file(), 16);
  int refused = 0;
  for (int i = 0; i < 2000; ++i)
    if (!w.submit(request(status::start, "q" + std::to_string(i)))) ++refused;
  w.wait();
  CHECK(refused > 0);
  CHECK(w.st->stats().records_queue_full == static_cast<std::uint64_t>(refused));
  CHECK(w.stored == 2000 - refused);
}

TEST_CASE("a database locked by another connection fails the batch, and the writer recovers") {
  temp_db t;
  writer w(t.file());
  CHECK(w.submit(request(status::start, "before")));
  w.wait();
  auto other = detail::open_database(t.file(), detail::open_mode::read_write, std::chrono::milliseconds(0));
  REQUIRE(other);
  REQUIRE(detail::exec(other->get(), "BEGIN EXCLUSIVE"));
  CHECK(w.submit(request(status::start, "during")));
  w.wait();
  CHECK(w.failed == 1);
  CHECK_FALSE(w.st->healthy());
  REQUIRE(detail::exec(other->get(), "COMMIT"));
  // Nothing is written, yet the store finds out by itself that the database is back.
  for (int i = 0; i < 300 && !w.st->healthy(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(w.st->healthy());
  CHECK(w.submit(request(status::start, "after")));
  w.wait();
  CHECK(w.stored == 2);
  CHECK(w.st->healthy());
  reader r(t.file());
  CHECK(r.integer("SELECT count(*) FROM accounting WHERE session_id = 'during'") == 0);
  CHECK(r.integer("SELECT count(*) FROM accounting WHERE session_id IN ('before', 'after')") == 2);
}

TEST_CASE("every batch's transaction is reported: its records and events, its time, its outcome") {
  temp_db t;
  std::mutex mu;
  std::vector<commit_info> commits;
  store_options opts;
  opts.on_commit = [&](const commit_info& c) {
    std::lock_guard l(mu);
    commits.push_back(c);
  };
  writer w(t.file(), 1024, std::move(opts));
  auth_event e;
  e.time = 1'800'000'000'000;
  e.client = "rras";
  e.user_name = "alice";
  CHECK(w.st->log(e));
  for (int i = 0; i < 50; ++i) CHECK(w.submit(request(status::start, "c" + std::to_string(i))));
  w.wait();
  {
    std::lock_guard l(mu);
    std::size_t records = 0, events = 0;
    for (const auto& c : commits) {
      CHECK(c.committed);
      CHECK(c.elapsed.count() > 0);
      CHECK(c.records + c.events > 0);
      records += c.records;
      events += c.events;
    }
    CHECK(records == 50);
    CHECK(events == 1);
    CHECK(commits.size() == w.st->stats().commits);
    std::size_t largest = 0;
    for (const auto& c : commits) largest = std::max(largest, c.records + c.events);
    CHECK(largest == w.st->stats().largest_batch);
  }
  // A transaction that fails is reported as failed, with the record it could not write.
  auto other = detail::open_database(t.file(), detail::open_mode::read_write, std::chrono::milliseconds(0));
  REQUIRE(other);
  REQUIRE(detail::exec(other->get(), "BEGIN EXCLUSIVE"));
  CHECK(w.submit(request(status::start, "locked")));
  w.wait();
  REQUIRE(detail::exec(other->get(), "COMMIT"));
  std::lock_guard l(mu);
  REQUIRE(!commits.empty());
  CHECK_FALSE(commits.back().committed);
  CHECK(commits.back().records == 1);
  CHECK(w.failed == 1);
}

TEST_CASE("a database newer than this build is refused with its version") {
  temp_db t;
  {
    auto db = detail::open_database(t.file(), detail::open_mode::read_write_create, std::chrono::milliseconds(0));
    REQUIRE(db);
    REQUIRE(detail::exec(db->get(), "PRAGMA user_version = 99"));
  }
  store_config c;
  c.enabled = true;
  c.database = t.file();
  auto s = open_sqlite_store(c, {});
  REQUIRE_FALSE(s);
  CHECK(s.error().find("schema version 99") != std::string::npos);
}

TEST_CASE("authentication events are stored with their decision") {
  temp_db t;
  {
    writer w(t.file());
    auth_event e;
    e.time = 1'800'000'000'000;
    e.client = "rras";
    e.client_address = "127.0.0.1";
    e.user_name = "alice";
    e.packet_type = 3;
    e.reason = 48;
    e.np = "VPN Users";
    CHECK(w.st->log(e));
    CHECK(w.submit(request(status::start, "s1")));  // its commit carries the event too
    w.wait();
  }
  reader r(t.file());
  CHECK(r.text("SELECT user_name || ',' || packet_type || ',' || reason || ',' || np FROM "
               "auth_events") == "alice,3,48,VPN Users");
}

TEST_CASE("an id the NAS reuses after its session ended starts a new session row") {
  temp_db t;
  {
    writer w(t.file());
    CHECK(w.submit(request(status::start, "s1", 0, 1'800'000'000u)));
    CHECK(w.submit(request(status::stop, "s1", 100, 1'800'000'100u)));
    CHECK(w.submit(request(status::start, "s1", 0, 1'800'000'500u)));
    w.wait();
  }
  reader r(t.file());
  CHECK(r.text("SELECT group_concat(state) FROM (SELECT state FROM sessions ORDER BY id)") == "closed,open");
}

TEST_CASE("a session pruned while the writer runs is made again by its next record") {
  temp_db t;
  writer w(t.file());
  CHECK(w.submit(request(status::start, "s1", 0, 1'800'000'000u)));
  CHECK(w.submit(request(status::stop, "s1", 10, 1'800'000'010u)));
  w.wait();
  const auto pruned = prune(t.file(), 1'800'000'020'000, false);  // the writer remembers s1
  REQUIRE(pruned);
  CHECK(pruned->sessions == 1);
  CHECK(w.submit(request(status::interim_update, "s1", 5, 1'800'000'005u)));  // late
  w.wait();
  CHECK(w.failed == 0);
  reader r(t.file());
  CHECK(r.integer("SELECT count(*) FROM sessions WHERE session_id = 's1'") == 1);
}

TEST_CASE("safe_text keeps UTF-8 and replaces invalid bytes and control characters") {
  CHECK(safe_text("alice") == "alice");
  CHECK(safe_text("j\xc3\xa9r\xc3\xb4me") == "j\xc3\xa9r\xc3\xb4me");
  CHECK(safe_text("a\x1b[31mb") == "a\xef\xbf\xbd[31mb");
  CHECK(safe_text("\xff\xc0\xaf") == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  CHECK(safe_text("\xed\xa0\x80") == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // a surrogate
  CHECK(safe_text("\xf0\x9f\x98\x80") == "\xf0\x9f\x98\x80");
}

TEST_CASE("without Event-Timestamp: a resend across a time bucket is a duplicate, a reused id later is not") {
  temp_db t;
  {
    writer w(t.file());
    const auto start = request(status::start, "00000001");
    auto resend = start;
    resend.add_uint32(radius::attr::acct_delay_time, 1);
    CHECK(w.submit(start, 1'800'000'029'900));   // derived event 29.9 s into a bucket
    CHECK(w.submit(resend, 1'800'000'031'100));  // 30.1 s: the next bucket
    CHECK(w.submit(start, 1'800'000'600'000));   // ten minutes on: the NAS reused the id
    w.wait();
    CHECK(w.stored == 3);
    CHECK(w.st->stats().records_duplicate == 1);
  }
  reader r(t.file());
  CHECK(r.integer("SELECT count(*) FROM accounting") == 2);
  CHECK(r.text("SELECT group_concat(state || ':' || ifnull(closed_by, '')) FROM (SELECT * FROM sessions "
               "ORDER BY id)") == "closed:superseded,open:");
}

TEST_CASE("a new Start of an open session's id closes the old one as superseded at its last update") {
  temp_db t;
  {
    writer w(t.file());
    CHECK(w.submit(request(status::start, "s1", 0, 1'800'000'000u)));
    CHECK(w.submit(request(status::interim_update, "s1", 60, 1'800'000'060u)));
    CHECK(w.submit(request(status::start, "s1", 0, 1'800'003'600u)));
    w.wait();
  }
  reader r(t.file());
  CHECK(r.text("SELECT closed_by || ',' || stopped_ms || ',' || session_time FROM sessions WHERE "
               "state = 'closed'") == "superseded,1800000060000,60");
  CHECK(r.integer("SELECT started_ms FROM sessions WHERE state = 'open'") == 1'800'003'600'000);
}

TEST_CASE("prune hands the freed space back to the file system") {
  temp_db t;
  {
    writer w(t.file(), 10000);
    for (int i = 0; i < 5000; ++i) CHECK(w.submit(request(status::start, "p" + std::to_string(i))));
    w.wait();
  }
  const auto r = prune(t.file(), 1'900'000'000'000, false);
  REQUIRE_MESSAGE(r, (r ? "" : r.error()));
  CHECK(r->accounting == 5000);
  CHECK(r->bytes_after < r->bytes_before / 2);
}

TEST_CASE("two clients whose NASes report the same address keep their sessions apart") {
  temp_db t;
  {
    writer w(t.file());
    CHECK(w.submit(request(status::start, "s1", 0, 1'800'000'000u), 1'800'000'000'000, "branch-a"));
    CHECK(w.submit(request(status::start, "s1", 0, 1'800'000'000u), 1'800'000'000'000, "branch-b"));
    CHECK(w.submit(request(status::accounting_on, "", 0, 1'800'000'100u), 1'800'000'100'000, "branch-a"));
    w.wait();
    CHECK(w.st->stats().records_duplicate == 0);
  }
  reader r(t.file());
  CHECK(r.integer("SELECT count(*) FROM accounting") == 3);
  CHECK(r.text("SELECT group_concat(client || ':' || state) FROM (SELECT * FROM sessions ORDER BY client)") ==
        "branch-a:closed,branch-b:open");
}
