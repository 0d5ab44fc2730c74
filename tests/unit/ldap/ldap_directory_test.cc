// The LDAP back end's pool, queue, failover bookkeeping and completion guarantees, against
// servers that do not answer: a closed port (refused at once) and a "black hole" that accepts
// TCP connections and never says a word. Lookups against a real slapd are integration tests.
#include "ldap/ldap_directory.h"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace npsd::ldap;
using namespace std::chrono_literals;

namespace {

// A listening TCP socket on 127.0.0.1 that never accepts: connections complete in the kernel's
// backlog and then hear nothing.
struct black_hole {
  int fd = -1;
  std::uint16_t port = 0;
  black_hole() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 16) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~black_hole() { ::close(fd); }
};

// A port nobody listens on (bound, then closed).
std::uint16_t closed_port() {
  black_hole h;
  return h.port;
}

ldap_server server(std::uint16_t port) {
  ldap_server s;
  s.url = "ldap://127.0.0.1:" + std::to_string(port);
  s.host = "127.0.0.1";
  s.port = port;
  return s;
}

ldap_config config(std::vector<ldap_server> servers) {
  auto c = profile_defaults(ldap_profile::active_directory);
  c.servers = std::move(servers);
  c.start_tls = false;
  c.allow_insecure = true;
  c.base_dn = "dc=corp,dc=example,dc=com";
  c.group_base_dn = c.base_dn;
  c.timeout = 300ms;
  c.retry_after = 60s;
  c.pool_size = 1;
  return c;
}

struct answers {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<lookup_status> lookups;
  std::vector<password_status> passwords;

  std::function<void(lookup_result)> on_lookup() {
    return [this](lookup_result r) {
      std::lock_guard lock(mu);
      lookups.push_back(r.status);
      cv.notify_all();
    };
  }
  std::function<void(password_status)> on_password() {
    return [this](password_status s) {
      std::lock_guard lock(mu);
      passwords.push_back(s);
      cv.notify_all();
    };
  }
  bool wait(std::size_t n_lookups, std::size_t n_passwords = 0) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 10s, [&] {
      return lookups.size() >= n_lookups && passwords.size() >= n_passwords;
    });
  }
};

void silent(log_level, std::string_view, std::span<const log_field_text>) {}

}  // namespace

TEST_CASE("no server answering means unavailable, and a failed server rests for retry_after") {
  std::vector<std::string> lines;
  std::mutex lines_mu;
  answers a;  // declared first: it must outlive the directory, which may still answer
  ldap_directory dir(config({server(closed_port())}), {},
                     [&](log_level, std::string_view msg, std::span<const log_field_text>) {
                       std::lock_guard lock(lines_mu);
                       lines.emplace_back(msg);
                     });
  dir.find_account("alice", a.on_lookup());
  REQUIRE(a.wait(1));
  CHECK(a.lookups[0] == lookup_status::unavailable);
  CHECK(dir.stats().connects == 1);
  // The server is resting: the next lookup is answered without trying it again.
  dir.find_account("bob", a.on_lookup());
  REQUIRE(a.wait(2));
  CHECK(a.lookups[1] == lookup_status::unavailable);
  const auto s = dir.stats();
  CHECK(s.connects == 1);
  CHECK(s.unavailable == 2);
  CHECK(s.lookups == 2);
  CHECK(s.cache_misses == 2);  // unavailable is never cached
  std::lock_guard lock(lines_mu);
  CHECK(std::count(lines.begin(), lines.end(), "ldap server down") == 1);  // logged once
}

TEST_CASE("the next server is tried when the first is down") {
  black_hole second;  // answers nothing: the lookup times out there, after the first refused
  auto c = config({server(closed_port()), server(second.port)});
  answers a;
  ldap_directory dir(c, {}, silent);
  const auto start = std::chrono::steady_clock::now();
  dir.find_account("alice", a.on_lookup());
  REQUIRE(a.wait(1));
  CHECK(a.lookups[0] == lookup_status::unavailable);
  CHECK(dir.stats().connects == 2);
  CHECK(dir.stats().searches == 1);  // sent to the second server, which never answered
  CHECK(std::chrono::steady_clock::now() - start >= c.timeout - 50ms);  // it waited there
}

TEST_CASE("an empty password is a mismatch without any bind; no DN is no password") {
  answers a;
  ldap_directory dir(config({server(closed_port())}), {}, silent);
  account acct;
  acct.name = "alice";
  acct.dn = "cn=alice,dc=corp,dc=example,dc=com";
  dir.verify_password(acct, "", a.on_password());
  acct.dn.clear();
  dir.verify_password(acct, "secret", a.on_password());
  REQUIRE(a.wait(0, 2));
  CHECK(a.passwords[0] == password_status::mismatch);
  CHECK(a.passwords[1] == password_status::no_password);
  CHECK(dir.stats().binds == 0);
  CHECK(dir.stats().connects == 0);
}

TEST_CASE("a password check with no server answering is unavailable, never ok") {
  answers a;
  ldap_directory dir(config({server(closed_port())}), {}, silent);
  account acct;
  acct.dn = "cn=alice,dc=corp,dc=example,dc=com";
  dir.verify_password(acct, "alice-password", a.on_password());
  REQUIRE(a.wait(0, 1));
  CHECK(a.passwords[0] == password_status::unavailable);
  CHECK(dir.stats().unavailable == 1);
}

TEST_CASE("operations sent to the directory are timed with their outcome; the others are not") {
  black_hole hole;  // the lookup waits there for the whole timeout
  struct timed {
    std::string op, outcome;
    std::chrono::microseconds elapsed;
  };
  std::mutex mu;
  std::vector<timed> timings;
  answers a;
  const auto c = config({server(hole.port)});
  ldap_directory dir(c, {}, silent,
                     [&](std::string_view op, std::string_view outcome, std::chrono::microseconds us) {
                       std::lock_guard lock(mu);
                       timings.push_back({std::string(op), std::string(outcome), us});
                     });
  account acct;
  acct.dn = "cn=alice,dc=corp,dc=example,dc=com";
  dir.verify_password(acct, "", a.on_password());  // answered without the directory
  acct.dn.clear();
  dir.verify_password(acct, "secret", a.on_password());  // no DN: not asked either
  dir.find_account("alice", a.on_lookup());
  REQUIRE(a.wait(1, 2));
  acct.dn = "cn=alice,dc=corp,dc=example,dc=com";
  dir.verify_password(acct, "alice-password", a.on_password());  // the server is resting now
  REQUIRE(a.wait(1, 3));
  std::lock_guard lock(mu);
  REQUIRE(timings.size() == 2);
  CHECK(timings[0].op == "lookup");
  CHECK(timings[0].outcome == "unavailable");
  CHECK(timings[0].elapsed >= c.timeout - 50ms);  // the time waited on the silent server
  CHECK(timings[1].op == "password_check");
  CHECK(timings[1].outcome == "unavailable");
  CHECK(timings[1].elapsed < c.timeout);
}

TEST_CASE("beyond queue_limit a lookup is unavailable at once, without blocking the caller") {
  black_hole hole;
  auto c = config({server(hole.port)});
  c.timeout = 2000ms;
  c.queue_limit = 1;
  answers a;
  ldap_directory dir(c, {}, silent);
  dir.find_account("first", a.on_lookup());  // the worker takes it and waits on the server
  for (int i = 0; i < 200 && dir.stats().connects == 0; ++i) std::this_thread::sleep_for(5ms);
  REQUIRE(dir.stats().connects == 1);
  dir.find_account("second", a.on_lookup());  // queued
  const auto start = std::chrono::steady_clock::now();
  dir.find_account("third", a.on_lookup());  // refused
  CHECK(std::chrono::steady_clock::now() - start < 100ms);
  {
    std::lock_guard lock(a.mu);
    REQUIRE(a.lookups.size() == 1);
    CHECK(a.lookups[0] == lookup_status::unavailable);
  }
  CHECK(dir.stats().queue_full == 1);
}

TEST_CASE("destroying the directory answers every operation exactly once") {
  black_hole hole;
  auto c = config({server(hole.port)});
  c.timeout = 500ms;
  answers a;
  std::atomic<int> calls{0};
  {
    ldap_directory dir(c, {}, silent);
    for (int i = 0; i < 5; ++i)
      dir.find_account("user" + std::to_string(i), [&](lookup_result r) {
        ++calls;
        a.on_lookup()(std::move(r));
      });
    account acct;
    acct.dn = "cn=x,dc=corp,dc=example,dc=com";
    dir.verify_password(acct, "pw", a.on_password());
  }  // queued work is answered "unavailable"; the one in progress ends at its timeout
  REQUIRE(a.wait(5, 1));
  CHECK(calls == 5);
  for (auto s : a.lookups) CHECK(s == lookup_status::unavailable);
  CHECK(a.passwords[0] == password_status::unavailable);
}

TEST_CASE("the last reference may go on a worker thread without deadlock") {
  auto c = config({server(closed_port())});
  auto dir = std::make_shared<ldap_directory>(c, credential_cache_options{}, silent);
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::weak_ptr<ldap_directory> weak = dir;
  // The completion holds the only reference (as a request holds its runtime).
  auto* raw = dir.get();
  raw->find_account("alice", [keep = std::move(dir), &mu, &cv, &done](lookup_result) mutable {
    keep.reset();  // destroys the directory here, on its own worker thread
    std::lock_guard lock(mu);
    done = true;
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  CHECK(cv.wait_for(lock, 10s, [&] { return done; }));
  CHECK(weak.expired());
}
