// local_directory (find_account, verify_password, offload) and the verified-credential cache.
#include "ldap/local_directory.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ldap/password_hash.h"

using namespace npsd::ldap;
using namespace std::chrono_literals;

namespace {

struct manual_clock {
  std::chrono::steady_clock::time_point now{};
  std::function<std::chrono::steady_clock::time_point()> fn() {
    return [this] { return now; };
  }
};

const std::string& alice_hash() {
  static const std::string h = *hash_password("alice-pw", hash_params{.iterations = 1000});
  return h;
}

std::shared_ptr<const local_user_db> make_db(const std::string& alice_hash_value) {
  auto db = local_directory::parse_user_file(R"({
    "schema_version": 1,
    "groups": [ { "name": "VPN Users", "member_of": ["Staff"] }, { "name": "Staff" } ],
    "users": [
      { "name": "alice", "upn": "alice@example.com", "groups": ["VPN Users"],
        "password_hash": ")" + alice_hash_value + R"(", "dial_in": "allow" },
      { "name": "nopass" }
    ]
  })", "users.json");
  REQUIRE_MESSAGE(db, (db ? "" : db.error()));
  return *db;
}

// Collects completions; counts how often `done` ran.
struct verify_probe {
  std::vector<password_status> results;
  std::function<void(password_status)> done() {
    return [this](password_status s) { results.push_back(s); };
  }
};

password_status verify_once(local_directory& dir, const std::string& name,
                            const std::string& password) {
  verify_probe probe;
  account a;
  a.name = name;
  dir.verify_password(a, password, probe.done());
  REQUIRE(probe.results.size() == 1);
  return probe.results[0];
}

}  // namespace

// ---- credential_cache --------------------------------------------------------------------

TEST_CASE("credential cache: hit after insert, miss for other inputs, counters") {
  manual_clock clk;
  credential_cache c(credential_cache_options{.clock = clk.fn()});
  CHECK_FALSE(c.lookup("alice", "pw", "$h"));
  c.insert("alice", "pw", "$h");
  CHECK(c.lookup("alice", "pw", "$h"));
  CHECK_FALSE(c.lookup("alice", "pw2", "$h"));     // other password
  CHECK_FALSE(c.lookup("alice", "pw", "$h2"));     // hash changed in the file
  CHECK_FALSE(c.lookup("bob", "pw", "$h"));        // other account
  CHECK_FALSE(c.lookup("alicep", "w", "$h"));      // field boundaries are part of the key
  CHECK(c.hits() == 1);
  CHECK(c.misses() == 5);
  CHECK(c.size() == 1);
}

TEST_CASE("credential cache: entries expire after the TTL (stepped clock)") {
  manual_clock clk;
  credential_cache c(credential_cache_options{.ttl = 300s, .clock = clk.fn()});
  c.insert("alice", "pw", "$h");
  clk.now += 299s;
  CHECK(c.lookup("alice", "pw", "$h"));
  clk.now += 1s;
  CHECK_FALSE(c.lookup("alice", "pw", "$h"));
  CHECK(c.size() == 0);
  // Re-inserting starts a new TTL.
  c.insert("alice", "pw", "$h");
  clk.now += 200s;
  CHECK(c.lookup("alice", "pw", "$h"));
}

TEST_CASE("credential cache: a hit does not extend the TTL") {
  manual_clock clk;
  credential_cache c(credential_cache_options{.ttl = 10s, .clock = clk.fn()});
  c.insert("a", "p", "$h");
  clk.now += 9s;
  CHECK(c.lookup("a", "p", "$h"));
  clk.now += 2s;
  CHECK_FALSE(c.lookup("a", "p", "$h"));
}

TEST_CASE("credential cache: size is bounded and the oldest entry is evicted") {
  manual_clock clk;
  credential_cache c(credential_cache_options{.max_entries = 3, .clock = clk.fn()});
  for (int i = 0; i < 5; ++i) {
    c.insert("u" + std::to_string(i), "pw", "$h");
    clk.now += 1s;
  }
  CHECK(c.size() == 3);
  CHECK_FALSE(c.lookup("u0", "pw", "$h"));
  CHECK_FALSE(c.lookup("u1", "pw", "$h"));
  CHECK(c.lookup("u2", "pw", "$h"));
  CHECK(c.lookup("u3", "pw", "$h"));
  CHECK(c.lookup("u4", "pw", "$h"));
  // Re-inserting an entry makes it the newest.
  c.insert("u2", "pw", "$h");
  c.insert("u5", "pw", "$h");
  CHECK(c.lookup("u2", "pw", "$h"));
  CHECK_FALSE(c.lookup("u3", "pw", "$h"));
  CHECK(c.size() == 3);
}

TEST_CASE("credential cache: a TTL of 0 or a size of 0 disables it") {
  credential_cache no_ttl(credential_cache_options{.ttl = 0s});
  no_ttl.insert("a", "p", "$h");
  CHECK_FALSE(no_ttl.lookup("a", "p", "$h"));
  CHECK_FALSE(no_ttl.enabled());
  credential_cache no_size(credential_cache_options{.max_entries = 0});
  no_size.insert("a", "p", "$h");
  CHECK_FALSE(no_size.lookup("a", "p", "$h"));
  CHECK(no_size.size() == 0);
}

TEST_CASE("credential cache: clear() drops every entry") {
  credential_cache c;
  c.insert("a", "p", "$h");
  c.clear();
  CHECK_FALSE(c.lookup("a", "p", "$h"));
}

TEST_CASE("credential cache: concurrent use is safe") {
  credential_cache c(credential_cache_options{.max_entries = 50});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&c, t] {
      for (int i = 0; i < 500; ++i) {
        const auto name = "u" + std::to_string((i * 7 + t) % 80);
        if (!c.lookup(name, "pw", "$h")) c.insert(name, "pw", "$h");
      }
    });
  for (auto& th : threads) th.join();
  CHECK(c.size() <= 50);
  CHECK(c.hits() + c.misses() == 2000);
}

// ---- find_account -------------------------------------------------------------------------

TEST_CASE("find_account returns the account with every group, by name, UPN or DOMAIN\\name") {
  local_directory dir(make_db(alice_hash()));
  for (const std::string id : {"alice", "ALICE", "alice@example.com", "EXAMPLE\\alice"}) {
    CAPTURE(id);
    int calls = 0;
    lookup_result got;
    dir.find_account(id, [&](lookup_result r) {
      ++calls;
      got = std::move(r);
    });
    REQUIRE(calls == 1);
    REQUIRE(got.status == lookup_status::found);
    REQUIRE(got.acct);
    CHECK(got.acct->name == "alice");
    CHECK(got.acct->upn == "alice@example.com");
    CHECK(got.acct->dial_in_permission == dial_in::allow);
    REQUIRE(got.acct->groups.size() == 2);
    CHECK(got.acct->groups[0] == group{"VPN Users", ""});
    CHECK(got.acct->groups[1] == group{"Staff", ""});
  }
}

TEST_CASE("find_account: unknown identities are not_found, never unavailable") {
  local_directory dir(make_db(alice_hash()));
  for (const std::string id : {"mallory", "alice@other.example", "", "EXAMPLE\\"}) {
    CAPTURE(id);
    int calls = 0;
    lookup_result got;
    got.status = lookup_status::found;
    dir.find_account(id, [&](lookup_result r) {
      ++calls;
      got = std::move(r);
    });
    CHECK(calls == 1);
    CHECK(got.status == lookup_status::not_found);
    CHECK_FALSE(got.acct);
  }
}

// ---- verify_password ----------------------------------------------------------------------

TEST_CASE("verify_password: right password ok, wrong password mismatch, no hash no_password") {
  local_directory dir(make_db(alice_hash()));
  CHECK(verify_once(dir, "alice", "alice-pw") == password_status::ok);
  CHECK(verify_once(dir, "alice", "wrong") == password_status::mismatch);
  CHECK(verify_once(dir, "Alice", "alice-pw") == password_status::ok);
  CHECK(verify_once(dir, "nopass", "") == password_status::no_password);
  CHECK(verify_once(dir, "ghost", "x") == password_status::no_password);
}

TEST_CASE("verify_password caches successes only: second good login is a cache hit") {
  manual_clock clk;
  local_directory dir(make_db(alice_hash()), {}, credential_cache_options{.clock = clk.fn()});
  CHECK(verify_once(dir, "alice", "wrong") == password_status::mismatch);
  CHECK(verify_once(dir, "alice", "wrong") == password_status::mismatch);
  CHECK(dir.cache().hits() == 0);
  CHECK(dir.cache().size() == 0);
  CHECK(verify_once(dir, "alice", "alice-pw") == password_status::ok);
  CHECK(dir.cache().hits() == 0);
  CHECK(verify_once(dir, "alice", "alice-pw") == password_status::ok);
  CHECK(dir.cache().hits() == 1);
  // A wrong password after a cached success is still checked and still fails.
  CHECK(verify_once(dir, "alice", "alice-pw2") == password_status::mismatch);
  clk.now += 301s;
  CHECK(verify_once(dir, "alice", "alice-pw") == password_status::ok);
  CHECK(dir.cache().hits() == 1);
}

TEST_CASE("verify_password: a cache hit skips the offload, a miss uses it exactly once") {
  std::deque<std::function<void()>> jobs;
  int offloads = 0;
  local_directory dir(make_db(alice_hash()), [&](std::function<void()> job) {
    ++offloads;
    jobs.push_back(std::move(job));
  });
  verify_probe probe;
  account a;
  a.name = "alice";
  dir.verify_password(a, "alice-pw", probe.done());
  CHECK(offloads == 1);
  CHECK(probe.results.empty());  // nothing happens until the pool runs the job
  REQUIRE(jobs.size() == 1);
  jobs.front()();
  jobs.pop_front();
  REQUIRE(probe.results.size() == 1);
  CHECK(probe.results[0] == password_status::ok);

  dir.verify_password(a, "alice-pw", probe.done());  // cached: inline, no offload
  CHECK(offloads == 1);
  REQUIRE(probe.results.size() == 2);
  CHECK(probe.results[1] == password_status::ok);

  dir.verify_password(a, "bad", probe.done());
  CHECK(offloads == 2);
  jobs.front()();
  jobs.pop_front();
  REQUIRE(probe.results.size() == 3);
  CHECK(probe.results[2] == password_status::mismatch);

  a.name = "nopass";  // nothing to derive: no offload
  dir.verify_password(a, "x", probe.done());
  CHECK(offloads == 2);
  CHECK(probe.results.back() == password_status::no_password);
}

TEST_CASE("verify_password: an offloaded job that is dropped completes with unavailable once") {
  std::vector<std::function<void()>> jobs;
  local_directory dir(make_db(alice_hash()),
                      [&](std::function<void()> job) { jobs.push_back(std::move(job)); });
  verify_probe probe;
  account a;
  a.name = "alice";
  dir.verify_password(a, "alice-pw", probe.done());
  CHECK(probe.results.empty());
  jobs.clear();  // the pool shut down without running it
  REQUIRE(probe.results.size() == 1);
  CHECK(probe.results[0] == password_status::unavailable);
}

TEST_CASE("verify_password: an offload that throws completes with unavailable once") {
  local_directory dir(make_db(alice_hash()),
                      [](std::function<void()>) { throw std::runtime_error("pool stopped"); });
  verify_probe probe;
  account a;
  a.name = "alice";
  dir.verify_password(a, "alice-pw", probe.done());
  REQUIRE(probe.results.size() == 1);
  CHECK(probe.results[0] == password_status::unavailable);
}

TEST_CASE("verify_password on a real thread completes exactly once") {
  std::vector<std::thread> threads;
  local_directory dir(make_db(alice_hash()), [&](std::function<void()> job) {
    threads.emplace_back(std::move(job));
  });
  std::atomic<int> ok{0}, other{0};
  account a;
  a.name = "alice";
  for (int i = 0; i < 4; ++i)
    dir.verify_password(a, i % 2 ? "alice-pw" : "nope", [&](password_status s) {
      (s == password_status::ok ? ok : other).fetch_add(1);
    });
  for (auto& t : threads) t.join();
  CHECK(ok.load() == 2);
  CHECK(other.load() == 2);
}

TEST_CASE("replace_db: a changed password hash takes effect; old cached success is not used") {
  manual_clock clk;
  local_directory dir(make_db(alice_hash()), {}, credential_cache_options{.clock = clk.fn()});
  CHECK(verify_once(dir, "alice", "alice-pw") == password_status::ok);
  CHECK(verify_once(dir, "alice", "alice-pw") == password_status::ok);
  CHECK(dir.cache().hits() == 1);
  const auto new_hash = *hash_password("new-pw", hash_params{.iterations = 1000});
  auto old_db = dir.db();
  dir.replace_db(make_db(new_hash));
  CHECK(dir.db() != old_db);
  CHECK(verify_once(dir, "alice", "alice-pw") == password_status::mismatch);
  CHECK(verify_once(dir, "alice", "new-pw") == password_status::ok);
  CHECK(dir.cache().hits() == 1);
}
