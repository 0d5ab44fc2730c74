#include "ldap/account_cache.h"

#include <doctest/doctest.h>

using namespace npsd::ldap;
using namespace std::chrono_literals;

namespace {

struct fake_clock {
  std::chrono::steady_clock::time_point now{std::chrono::hours(1)};
  account_cache::clock_fn fn() {
    return [this] { return now; };
  }
};

cached_lookup found(std::string name) {
  cached_lookup c;
  c.result.status = lookup_status::found;
  c.result.acct = account{};
  c.result.acct->name = std::move(name);
  c.server = "ldap://dc1";
  c.direct_groups = 1;
  return c;
}

cached_lookup with_status(lookup_status s) {
  cached_lookup c;
  c.result.status = s;
  return c;
}

}  // namespace

TEST_CASE("found accounts are kept for ttl, not-found for negative_ttl, by folded identity") {
  fake_clock clock;
  account_cache cache(300s, 60s, 100, clock.fn());
  cache.put("Alice@Corp.Example.COM", found("alice"));
  cache.put("nobody", with_status(lookup_status::not_found));
  auto hit = cache.get("alice@corp.example.com");
  REQUIRE(hit);
  CHECK(hit->result.acct->name == "alice");
  CHECK(hit->server == "ldap://dc1");
  CHECK(hit->direct_groups == 1);
  CHECK(cache.get("NOBODY"));
  clock.now += 61s;
  CHECK_FALSE(cache.get("nobody"));  // the negative entry expired
  CHECK(cache.get("alice@corp.example.com"));
  clock.now += 240s;
  CHECK_FALSE(cache.get("alice@corp.example.com"));
  CHECK(cache.hits() == 3);
  CHECK(cache.misses() == 2);
}

TEST_CASE("unavailable is never cached, and a TTL of 0 disables its kind") {
  fake_clock clock;
  account_cache cache(300s, 0s, 100, clock.fn());
  cache.put("a", with_status(lookup_status::unavailable));
  cache.put("b", with_status(lookup_status::not_found));
  CHECK(cache.size() == 0);
  account_cache off(300s, 60s, 0, clock.fn());
  off.put("a", found("a"));
  CHECK_FALSE(off.get("a"));
  CHECK(off.misses() == 1);
}

TEST_CASE("the oldest entry goes first when the cache is full") {
  fake_clock clock;
  account_cache cache(300s, 60s, 2, clock.fn());
  cache.put("a", found("a"));
  clock.now += 1s;
  cache.put("b", found("b"));
  clock.now += 1s;
  cache.put("c", found("c"));
  CHECK(cache.size() == 2);
  CHECK_FALSE(cache.get("a"));
  CHECK(cache.get("b"));
  CHECK(cache.get("c"));
  cache.put("b", found("b2"));  // replacing keeps one entry per identity
  CHECK(cache.size() == 2);
  CHECK(cache.get("b")->result.acct->name == "b2");
  cache.clear();
  CHECK(cache.size() == 0);
}
