// Accounting end to end: the real npsd with its SQLite store, driven by radclient/radtest and
// raw UDP; the database read back with the sqlite3 command-line shell.
#include <doctest/doctest.h>

#include <csignal>
#include <cstdio>
#include <functional>
#include <map>
#include <regex>
#include <set>

#include "harness.h"
#include "ldap/password_hash.h"
#include "radius/crypto.h"
#include "radload_runner.h"

using namespace npsd;
using namespace npsd::test;
using namespace std::chrono_literals;

namespace {


struct accounting_fixture {
  temp_dir dir;
  fs::path config = dir.path / "npsd.json";
  fs::path db;
  std::unique_ptr<npsd_process> npsd;

  // `database`: relative to the configuration's directory, or absolute. `server_extra`: more
  // members of the "server" object; `before_start` runs once the files are written.
  explicit accounting_fixture(const std::string& accounting_extra = "",
                              const std::string& database = "accounting.db",
                              const std::string& server_extra = "",
                              const std::function<void(accounting_fixture&)>& before_start = {})
      : db(fs::path(database).is_absolute() ? fs::path(database) : dir.path / database) {
    ldap::hash_params p;
    p.iterations = 1000;
    write_file(dir.path / "users.json", R"({
  "schema_version": 1,
  "users": [ { "name": "alice", "password_hash": ")" + *ldap::hash_password("alice-password", p) + R"(" } ]
})");
    write_file(config, R"({
  "schema_version": 1,
  "server": {
    "threads": 2,
    "listen": [ { "type": "auth", "address": "127.0.0.1", "port": 0 },
                { "type": "acct", "address": "127.0.0.1", "port": 0 } ],
    "control_socket": "npsd.sock" )" + server_extra + R"(
  },
  "log": { "level": "info" },
  "clients": [ { "name": "rras", "address": "127.0.0.1", "secret": ")" + secret + R"(" } ],
  "directory": { "backend": "local", "users_file": "users.json" },
  "accounting": { "database": ")" + db.string() + R"(" )" + accounting_extra + R"( },
  "network_policies": [ { "name": "VPN", "access": "grant" } ]
})");
    if (before_start) before_start(*this);
    start();
  }
  void start() { npsd = std::make_unique<npsd_process>(config, dir.path); }

  command_result acct(const std::string& attrs) const {
    return run("printf '" + attrs + "' | radclient -x -t 2 -r 1 127.0.0.1:" +
               std::to_string(npsd->acct_port) + " acct " + secret);
  }
  // One value (or rows, '|'-separated) from the database, by the sqlite3 shell.
  std::string sql(const std::string& query) const {
    auto r = run("sqlite3 " + shell_quote(db.string()) + " " + shell_quote(query));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    while (!r.output.empty() && r.output.back() == '\n') r.output.pop_back();
    return r.output;
  }
};

bool acknowledged(const command_result& r) {
  return r.output.find("Received Accounting-Response") != std::string::npos;
}

// An Accounting-Request for session `sid`, signed with the shared secret.
radius::bytes accounting_request(std::uint8_t id, const std::string& sid, std::uint32_t status = 1) {
  radius::packet p;
  p.code = radius::code::accounting_request;
  p.identifier = id;
  p.add(radius::attr::user_name, std::string_view("alice"));
  p.add_uint32(radius::attr::acct_status_type, status);
  p.add(radius::attr::acct_session_id, sid);
  p.add(radius::attr::nas_ip_address, radius::bytes{192, 0, 2, 1});
  auto wire = *radius::encode(p);
  radius::sign_request(wire, secret);
  return wire;
}

bool is_response_to(const radius::bytes& reply, const radius::bytes& request) {
  if (reply.size() < 20 || reply[1] != request[1]) return false;
  radius::authenticator_t auth;
  std::copy_n(request.begin() + 4, 16, auth.begin());
  return radius::verify_response(reply, auth, secret, false) == radius::verify_result::ok;
}

// The sqlite3 shell takes the database's write lock and keeps it until destroyed.
class db_locker {
 public:
  db_locker(const fs::path& db, const fs::path& dir) : marker_(dir / "locked") {
    p_ = ::popen(("sqlite3 " + shell_quote(db.string()) + " > " + shell_quote(marker_.string())).c_str(), "w");
    REQUIRE(p_ != nullptr);
    std::fputs("BEGIN EXCLUSIVE;\nSELECT 'locked';\n", p_);
    std::fflush(p_);
    for (int i = 0; i < 200 && read_file(marker_).find("locked") == std::string::npos; ++i)
      std::this_thread::sleep_for(10ms);
    REQUIRE(read_file(marker_).find("locked") != std::string::npos);
  }
  ~db_locker() {
    std::fputs("COMMIT;\n", p_);
    ::pclose(p_);
  }
  db_locker(const db_locker&) = delete;
  db_locker& operator=(const db_locker&) = delete;

 private:
  fs::path marker_;
  FILE* p_ = nullptr;
};

// A small tmpfs of its own (the test runs as root in CI): a file system that can be filled up
// under a running npsd, as a real disk can. Unmounted when destroyed.
class small_filesystem {
 public:
  explicit small_filesystem(const fs::path& at, int mib) : at_(at) {
    fs::create_directories(at_);
    mounted_ = run("mount -t tmpfs -o size=" + std::to_string(mib) + "m npsd-test " +
                   shell_quote(at_.string())).exit_code == 0;
  }
  ~small_filesystem() {
    if (mounted_) run("umount -l " + shell_quote(at_.string()));
  }
  small_filesystem(const small_filesystem&) = delete;
  small_filesystem& operator=(const small_filesystem&) = delete;
  bool mounted() const { return mounted_; }
  // Writes a file until the file system is full.
  void fill() const { run("dd if=/dev/zero of=" + shell_quote((at_ / "filler").string()) + " bs=4k"); }
  void unfill() const { fs::remove(at_ / "filler"); }

 private:
  fs::path at_;
  bool mounted_ = false;
};

// Sends each request until it is acknowledged, for at most `rounds` rounds; which were.
std::set<std::size_t> send_until_acknowledged(const accounting_fixture& f, const udp_client& c,
                                              const std::vector<radius::bytes>& sent, int rounds) {
  std::set<std::size_t> answered;
  for (int round = 0; round < rounds && answered.size() < sent.size(); ++round) {
    for (std::size_t i = 0; i < sent.size(); ++i)
      if (!answered.count(i)) c.send(f.npsd->acct_port, sent[i]);
    while (auto r = c.receive(1000ms)) {
      for (std::size_t i = 0; i < sent.size(); ++i)
        if (is_response_to(*r, sent[i])) answered.insert(i);
      if (answered.size() == sent.size()) break;
    }
  }
  return answered;
}

command_result radtest(const accounting_fixture& f) {
  return run("printf 'User-Name = alice\\nUser-Password = alice-password\\nMessage-Authenticator = 0x00\\n' | "
             "radclient -x -t 1 -r 1 127.0.0.1:" + std::to_string(f.npsd->auth_port) + " auth " + secret);
}

}  // namespace

TEST_CASE("start, interim and stop make one closed session; the Class of the Accept is in the rows") {
  accounting_fixture f;
  // The Access-Accept's Class, as a NAS would echo it.
  const auto auth = run("printf 'User-Name = alice\\nUser-Password = alice-password\\n"
                        "Message-Authenticator = 0x00\\n' | radclient -x -t 2 -r 1 127.0.0.1:" +
                        std::to_string(f.npsd->auth_port) + " auth " + secret);
  std::smatch m;
  REQUIRE_MESSAGE(std::regex_search(auth.output, m, std::regex("Class = (0x[0-9a-f]+)")), auth.output);
  const std::string class_hex = m[1];
  std::string class_text;
  for (std::size_t i = 2; i + 1 < class_hex.size(); i += 2)
    class_text += static_cast<char>(std::stoi(class_hex.substr(i, 2), nullptr, 16));
  REQUIRE(class_text.rfind("npsd:", 0) == 0);

  const std::string common = "User-Name = alice\\nAcct-Session-Id = 0000001A\\nNAS-IP-Address = 10.0.0.1\\n"
                             "NAS-Port-Type = Virtual\\nFramed-IP-Address = 10.8.0.5\\n"
                             "Calling-Station-Id = 198.51.100.7\\nClass = " + class_hex + "\\n";
  CHECK(acknowledged(f.acct(common + "Acct-Status-Type = Start\\n")));
  CHECK(acknowledged(f.acct(common + "Acct-Status-Type = Interim-Update\\nAcct-Session-Time = 300\\n"
                            "Acct-Input-Octets = 1000\\nAcct-Output-Octets = 2000\\n")));
  CHECK(acknowledged(f.acct(common + "Acct-Status-Type = Stop\\nAcct-Session-Time = 600\\n"
                            "Acct-Input-Octets = 5\\nAcct-Input-Gigawords = 1\\nAcct-Output-Octets = 4000\\n"
                            "Acct-Terminate-Cause = User-Request\\n")));

  CHECK(f.sql("SELECT count(*) FROM accounting WHERE class = '" + class_text + "'") == "3");
  CHECK(f.sql("SELECT group_concat(status_type) FROM (SELECT status_type FROM accounting ORDER BY id)") == "1,3,2");
  CHECK(f.sql("SELECT count(*) FROM sessions") == "1");
  CHECK(f.sql("SELECT state, closed_by, session_time, input_octets, output_octets, user_name, framed_ip, "
              "nas_port_type, class FROM sessions") ==
        "closed|stop|600|4294967301|4000|alice|10.8.0.5|5|" + class_text);
  CHECK(f.sql("SELECT json_extract(attributes, '$.NAS-Port-Type') FROM accounting LIMIT 1") == "Virtual");
  // The authentication event of the same Accept carries the same Class.
  CHECK(f.sql("SELECT packet_type, reason, np, class FROM auth_events") == "2|0|VPN|" + class_text);
}

TEST_CASE("Accounting-On from a NAS closes its open sessions") {
  accounting_fixture f;
  for (const auto* sid : {"a1", "a2"})
    CHECK(acknowledged(f.acct(std::string("User-Name = alice\\nAcct-Status-Type = Start\\nNAS-IP-Address = 10.0.0.1\\n"
                                          "Acct-Session-Id = ") + sid + "\\n")));
  CHECK(acknowledged(f.acct("User-Name = bob\\nAcct-Status-Type = Start\\nNAS-IP-Address = 10.0.0.2\\nAcct-Session-Id = b1\\n")));
  CHECK(f.sql("SELECT count(*) FROM sessions WHERE state = 'open'") == "3");
  CHECK(acknowledged(f.acct("Acct-Status-Type = Accounting-On\\nNAS-IP-Address = 10.0.0.1\\n")));
  CHECK(f.sql("SELECT group_concat(session_id) FROM sessions WHERE closed_by = 'accounting-on'") == "a1,a2");
  CHECK(f.sql("SELECT session_id FROM sessions WHERE state = 'open'") == "b1");
}

TEST_CASE("a duplicate is stored once: a retransmission and a late resend after the cache") {
  accounting_fixture f;
  udp_client c;
  const auto req = accounting_request(7, "dup-1");
  c.send(f.npsd->acct_port, req);
  auto r1 = c.receive(3000ms);
  REQUIRE(r1);
  CHECK(is_response_to(*r1, req));
  c.send(f.npsd->acct_port, req);  // the same bytes: the duplicate cache answers
  auto r2 = c.receive(3000ms);
  REQUIRE(r2);
  CHECK(*r2 == *r1);
  // The NAS sends it again later as a new request, Acct-Delay-Time raised by the time gone
  // (here 2 s, past the duplicate cache for this request's new authenticator anyway).
  std::this_thread::sleep_for(2s);
  CHECK(acknowledged(f.acct("User-Name = alice\\nAcct-Status-Type = Start\\nAcct-Session-Id = dup-1\\n"
                            "NAS-IP-Address = 192.0.2.1\\nAcct-Delay-Time = 2\\n")));
  CHECK(f.sql("SELECT count(*) FROM accounting WHERE session_id = 'dup-1'") == "1");
  const auto status = run(std::string(NPSCTL_BINARY) + " status --config " + shell_quote(f.config.string()));
  REQUIRE_MESSAGE(status.exit_code == 0, status.output);
  const auto j = nlohmann::json::parse(status.output);
  CHECK(j["accounting"]["records_duplicate"] == 1);
  CHECK(j["accounting"]["responses"] == 2);  // the replay is the cached one
}

TEST_CASE("while another process locks the database nothing is acknowledged; afterwards all is") {
  accounting_fixture f;
  CHECK(acknowledged(f.acct("User-Name = alice\\nAcct-Status-Type = Start\\nAcct-Session-Id = before\\n")));
  auto locker = std::make_unique<db_locker>(f.db, f.dir.path);
  udp_client c;
  std::vector<radius::bytes> sent;
  for (int i = 0; i < 20; ++i) {
    sent.push_back(accounting_request(static_cast<std::uint8_t>(i), "locked-" + std::to_string(i)));
    c.send(f.npsd->acct_port, sent.back());
  }
  CHECK_FALSE(c.receive(1500ms));  // no Accounting-Response while failing
  CHECK(f.npsd->wait_for_log("accounting database failing"));

  locker.reset();
  // The NAS retransmits: now every record is stored and acknowledged.
  std::set<int> answered;
  for (int round = 0; round < 5 && answered.size() < sent.size(); ++round) {
    for (std::size_t i = 0; i < sent.size(); ++i)
      if (!answered.count(static_cast<int>(i))) c.send(f.npsd->acct_port, sent[i]);
    while (auto r = c.receive(1000ms)) {
      for (std::size_t i = 0; i < sent.size(); ++i)
        if (is_response_to(*r, sent[i])) answered.insert(static_cast<int>(i));
      if (answered.size() == sent.size()) break;
    }
  }
  CHECK(answered.size() == sent.size());
  CHECK(f.npsd->wait_for_log("accounting database writable again"));
  CHECK(f.sql("SELECT count(*) FROM accounting WHERE session_id LIKE 'locked-%'") == "20");
  CHECK(f.sql("SELECT count(*) FROM accounting") == "21");
}

TEST_CASE("a full file system: no record acknowledged that is not stored, none lost, every one "
          "stored once after space is freed") {
  temp_dir mnt;
  small_filesystem disk(mnt.path / "disk", 2);
  if (!disk.mounted()) {
    REQUIRE_MESSAGE(::geteuid() != 0, "running as root, yet a tmpfs could not be mounted");
    MESSAGE("skipped: mounting a tmpfs needs root");
    return;
  }
  accounting_fixture f("", (mnt.path / "disk" / "accounting.db").string());
  INFO("npsd log:\n" << f.npsd->log());
  REQUIRE(acknowledged(f.acct("User-Name = alice\\nAcct-Status-Type = Start\\nAcct-Session-Id = before\\n")));
  udp_client c;
  disk.fill();
  // 200 records while the disk is full. A rolled-back transaction hands its pages back, so
  // some batches may still fit: what matters is that whatever is acknowledged is stored.
  std::vector<radius::bytes> sent;
  for (int i = 0; i < 200; ++i)
    sent.push_back(accounting_request(static_cast<std::uint8_t>(i), "full-" + std::to_string(i), 3));
  std::set<std::size_t> acked_while_full;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    c.send(f.npsd->acct_port, sent[i]);
    std::this_thread::sleep_for(5ms);
  }
  while (auto r = c.receive(1500ms))
    for (std::size_t k = 0; k < sent.size(); ++k)
      if (is_response_to(*r, sent[k])) acked_while_full.insert(k);
  REQUIRE(f.npsd->wait_for_log("accounting database failing"));
  CHECK(acked_while_full.size() < sent.size());  // the full disk did refuse records
  // Every acknowledged record is in the database, read while the disk is still full.
  for (const auto k : acked_while_full)
    CHECK(f.sql("SELECT count(*) FROM accounting WHERE session_id = 'full-" + std::to_string(k) + "'") == "1");

  disk.unfill();
  const auto answered = send_until_acknowledged(f, c, sent, 8);
  CHECK(answered.size() == sent.size());
  CHECK(f.npsd->wait_for_log("accounting database writable again"));
  // Every record once: those acknowledged while full, and those sent again.
  CHECK(f.sql("SELECT count(*) FROM accounting") == std::to_string(sent.size() + 1));
  CHECK(f.sql("SELECT count(DISTINCT session_id) FROM accounting") == std::to_string(sent.size() + 1));
  CHECK(f.npsd->alive());
  MESSAGE(sent.size() << " records while the disk was full: " << acked_while_full.size()
          << " acknowledged (each found stored), the rest refused; after freeing space all "
          << sent.size() << " stored once");
}

TEST_CASE("a database made read-only: npsd restarted on it serves authentication, acknowledges "
          "no accounting, and stores again by itself once it is writable") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: needs root, to run npsd as nobody (root writes read-only files)");
    return;
  }
  const auto nobody = run("id -u nobody");
  REQUIRE(nobody.exit_code == 0);
  // npsd switches to nobody before it opens the database (and writes its ready file), in
  // directories nobody owns.
  accounting_fixture f("", "db/accounting.db", R"(, "user": "nobody")", [](accounting_fixture& f) {
    fs::create_directories(f.db.parent_path());
    REQUIRE(run("chown nobody " + shell_quote(f.dir.path.string()) + " " +
                shell_quote(f.db.parent_path().string())).exit_code == 0);
  });
  INFO("npsd log:\n" << f.npsd->log());
  REQUIRE(acknowledged(f.acct("User-Name = alice\\nAcct-Status-Type = Start\\nAcct-Session-Id = before\\n")));
  REQUIRE(f.npsd->terminate() == 0);
  // Restored from a backup with the wrong mode, say: the file and its directory read-only.
  REQUIRE(run("chmod 0444 " + shell_quote(f.db.string()) + " && chmod 0555 " +
              shell_quote(f.db.parent_path().string())).exit_code == 0);
  f.start();
  CHECK(f.npsd->wait_for_log("accounting database failing"));
  CHECK(radtest(f).output.find("Received Access-Accept") != std::string::npos);
  udp_client c;
  std::vector<radius::bytes> sent;
  for (int i = 0; i < 20; ++i)
    sent.push_back(accounting_request(static_cast<std::uint8_t>(i), "ro-" + std::to_string(i)));
  for (const auto& r : sent) c.send(f.npsd->acct_port, r);
  CHECK_FALSE(c.receive(1500ms));  // nothing acknowledged

  REQUIRE(run("chmod 0755 " + shell_quote(f.db.parent_path().string()) + " && chmod 0644 " +
              shell_quote(f.db.string())).exit_code == 0);
  CHECK(f.npsd->wait_for_log("accounting database writable again"));
  const auto answered = send_until_acknowledged(f, c, sent, 5);
  CHECK(answered.size() == sent.size());
  CHECK(f.sql("SELECT count(*) FROM accounting") == std::to_string(sent.size() + 1));
  CHECK(f.npsd->alive());
}

TEST_CASE("SIGKILL under mixed load (accounting and PAP): no acknowledged record lost, the "
          "configuration intact, clients served again at once") {
  accounting_fixture f;
  const auto config_before = read_file(f.config);
#ifdef NPSD_RADLOAD
  // PAP beside the accounting, for the first seconds (the kill comes within them).
  background_radload pap("--secret " + secret + " --port " + std::to_string(f.npsd->auth_port) +
                         " --mode pap --user alice --password alice-password --seconds 3"
                         " --timeout 0.5 --retries 0 --window 8");
#endif
  udp_client c;
  std::map<std::uint8_t, std::pair<radius::bytes, std::string>> outstanding;  // by identifier
  std::vector<std::string> acked;
  int next = 0;
  bool killed = false;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    // A window of 64 requests in flight, each a new session.
    while (!killed && outstanding.size() < 64) {
      std::uint8_t id = 0;
      while (outstanding.count(id)) ++id;
      const auto sid = "k-" + std::to_string(next++);
      auto req = accounting_request(id, sid);
      c.send(f.npsd->acct_port, req);
      outstanding.emplace(id, std::make_pair(std::move(req), sid));
    }
    auto r = c.receive(killed ? 300ms : 2000ms);
    if (!r) {
      if (killed) break;
      continue;
    }
    const auto it = outstanding.find((*r)[1]);
    if (it != outstanding.end() && is_response_to(*r, it->second.first)) {
      acked.push_back(it->second.second);
      outstanding.erase(it);
    }
    if (!killed && acked.size() >= 3000) {
      f.npsd->signal(SIGKILL);  // mid-load: requests are in the queue and in a transaction
      killed = true;
    }
  }
  REQUIRE(killed);
  f.start();  // the store opens the database again after the crash
  // Served at once: the first requests after the restart are answered.
  CHECK(radtest(f).output.find("Received Access-Accept") != std::string::npos);
  CHECK(acknowledged(f.acct("User-Name = alice\\nAcct-Status-Type = Start\\nAcct-Session-Id = after\\n")));
  CHECK(read_file(f.config) == config_before);
  std::set<std::string> stored;
  std::istringstream rows(f.sql("SELECT session_id FROM accounting"));
  for (std::string line; std::getline(rows, line);) stored.insert(line);
  std::size_t missing = 0;
  for (const auto& sid : acked) missing += stored.count(sid) == 0 ? 1 : 0;
  MESSAGE("acknowledged ", acked.size(), ", stored ", stored.size(), ", sent ", next);
  CHECK(acked.size() >= 3000);
  CHECK(missing == 0);
  CHECK(f.sql("PRAGMA integrity_check") == "ok");
#ifdef NPSD_RADLOAD
  const auto j = pap.finish();
  CHECK(j.at("bad_responses") == 0);
  CHECK(j.at("acked").get<int>() > 0);  // PAP was served until the kill
#endif
}

TEST_CASE("discard_requests_when_logging_fails: no Access-Accept while the store fails, then again") {
  accounting_fixture f(R"(, "discard_requests_when_logging_fails": true)");
  CHECK(radtest(f).output.find("Received Access-Accept") != std::string::npos);
  {
    db_locker lock(f.db, f.dir.path);
    udp_client c;
    c.send(f.npsd->acct_port, accounting_request(1, "while-locked"));
    CHECK_FALSE(c.receive(1000ms));
    REQUIRE(f.npsd->wait_for_log("accounting database failing"));
    const auto r = radtest(f);
    CHECK_MESSAGE(r.output.find("Received Access") == std::string::npos, r.output);
    CHECK(f.npsd->wait_for_log("discard_requests_when_logging_fails"));
  }
  // Released: the store notices by itself (no record needs to arrive) and answers again.
  REQUIRE(f.npsd->wait_for_log("accounting database writable again"));
  CHECK(radtest(f).output.find("Received Access-Accept") != std::string::npos);
  for (int i = 0; i < 100 && f.sql("SELECT count(*) FROM auth_events") != "2"; ++i)
    std::this_thread::sleep_for(20ms);
  CHECK(f.sql("SELECT count(*) FROM auth_events WHERE packet_type = 2") == "2");
}

TEST_CASE("npsctl accounting prune deletes old rows next to a running npsd, which keeps storing") {
  accounting_fixture f;
  for (int i = 0; i < 3; ++i)
    CHECK(acknowledged(f.acct("User-Name = alice\\nAcct-Status-Type = Stop\\nAcct-Session-Time = 60\\n"
                              "Acct-Session-Id = old-" + std::to_string(i) + "\\n")));
  const std::string ctl = std::string(NPSCTL_BINARY) + " accounting prune --config " + shell_quote(f.config.string());
  auto r = run(ctl + " --older-than 1d --dry-run");
  CHECK_MESSAGE(r.output.find("would delete") != std::string::npos, r.output);
  std::this_thread::sleep_for(1100ms);
  r = run(ctl + " --older-than 1s --json");
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  const auto j = nlohmann::json::parse(r.output);
  CHECK(j.at("accounting") == 3);
  CHECK(j.at("sessions") == 3);
  CHECK(f.sql("SELECT count(*) FROM accounting") == "0");
  CHECK(acknowledged(f.acct("User-Name = alice\\nAcct-Status-Type = Start\\nAcct-Session-Id = new-1\\n")));
  CHECK(f.sql("SELECT count(*) FROM accounting") == "1");
  r = run(ctl + " --older-than soon");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("--older-than") != std::string::npos);
}

TEST_CASE("SIGTERM while another process locks the database exits 0 and acknowledges nothing") {
  accounting_fixture f;
  db_locker lock(f.db, f.dir.path);
  udp_client c;
  for (int i = 0; i < 5; ++i)
    c.send(f.npsd->acct_port, accounting_request(static_cast<std::uint8_t>(i), "stuck-" + std::to_string(i)));
  REQUIRE(f.npsd->wait_for_log("accounting database failing"));
  CHECK(f.npsd->terminate(std::chrono::seconds(20)) == 0);
  CHECK_FALSE(c.receive(100ms));  // nothing was stored, so nothing acknowledged
  CHECK(f.npsd->log().find("npsd stopped") != std::string::npos);
}
