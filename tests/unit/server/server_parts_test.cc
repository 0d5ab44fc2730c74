#include <doctest/doctest.h>

#include "server/client_table.h"
#include "server/duplicate_cache.h"
#include "server/log.h"

using namespace npsd;
using namespace npsd::server;
using namespace std::chrono_literals;

namespace {
policy::client_config client(const char* name, const char* prefix) {
  policy::client_config c;
  c.name = name;
  c.address = *policy::ip_prefix::parse(prefix);
  c.secret = "x";
  return c;
}

duplicate_key key(std::uint8_t id, std::uint8_t auth0 = 0) {
  duplicate_key k;
  k.address = {127, 0, 0, 1};
  k.port = 5000;
  k.identifier = id;
  k.authenticator[0] = auth0;
  return k;
}
}  // namespace

TEST_CASE("client table: the most specific prefix wins; unknown addresses find nothing") {
  const std::vector<policy::client_config> clients{
      client("wide", "10.0.0.0/8"), client("narrow", "10.1.0.0/16"), client("host", "10.1.2.3"),
      client("v6", "2001:db8::/32")};
  const client_table t(clients);
  CHECK(t.find(*policy::ip_address::parse("10.1.2.3"))->name == "host");
  CHECK(t.find(*policy::ip_address::parse("10.1.2.4"))->name == "narrow");
  CHECK(t.find(*policy::ip_address::parse("10.9.9.9"))->name == "wide");
  CHECK(t.find(*policy::ip_address::parse("2001:db8::5"))->name == "v6");
  CHECK(t.find(*policy::ip_address::parse("11.0.0.1")) == nullptr);
  CHECK(t.find(*policy::ip_address::parse("::ffff:10.1.2.3"))->name == "host");
}

TEST_CASE("duplicate cache: fresh, in progress, replay, forget") {
  duplicate_cache c(30s, 1024);
  const auto t0 = duplicate_cache::clock::now();
  CHECK(c.begin(key(1), t0).state == duplicate_cache::status::fresh);
  CHECK(c.begin(key(1), t0).state == duplicate_cache::status::in_progress);
  CHECK(c.begin(key(1, 9), t0).state == duplicate_cache::status::fresh);  // other authenticator
  auto reply = std::make_shared<const radius::bytes>(radius::bytes{2, 1, 0, 20});
  c.complete(key(1), reply, t0);
  const auto r = c.begin(key(1), t0 + 1s);
  CHECK(r.state == duplicate_cache::status::replay);
  CHECK(r.reply == reply);
  c.forget(key(1, 9));
  CHECK(c.begin(key(1, 9), t0).state == duplicate_cache::status::fresh);
}

TEST_CASE("duplicate cache: entries expire after the ttl") {
  duplicate_cache c(5s, 1024);
  const auto t0 = duplicate_cache::clock::now();
  c.begin(key(1), t0);
  c.complete(key(1), std::make_shared<const radius::bytes>(), t0);
  CHECK(c.begin(key(1), t0 + 4s).state == duplicate_cache::status::replay);
  CHECK(c.begin(key(1), t0 + 6s).state == duplicate_cache::status::fresh);
}

TEST_CASE("duplicate cache: the size stays bounded under a flood of distinct requests") {
  duplicate_cache c(3600s, 256);
  const auto t0 = duplicate_cache::clock::now();
  for (int i = 0; i < 100000; ++i) {
    duplicate_key k = key(static_cast<std::uint8_t>(i));
    k.authenticator[1] = static_cast<std::uint8_t>(i >> 8);
    k.authenticator[2] = static_cast<std::uint8_t>(i >> 16);
    c.begin(k, t0);
  }
  CHECK(c.size() <= 256);
  CHECK(c.size() >= 128);
}

TEST_CASE("log limiter: one line per key per interval, counting what it held back") {
  log_limiter l(60s, 2);
  const auto t0 = log_limiter::clock::now();
  CHECK(l.allow("a", t0) == 0u);
  CHECK_FALSE(l.allow("a", t0 + 1s));
  CHECK_FALSE(l.allow("a", t0 + 2s));
  CHECK(l.allow("b", t0) == 0u);
  CHECK_FALSE(l.allow("c", t0));  // key table full: held back rather than growing
  CHECK(l.allow("a", t0 + 61s) == 2u);
}

TEST_CASE("log fields: text quoting and JSON escaping") {
  const log_field fields[] = {
      {"user", std::string_view("a b\"c")}, {"reason", std::int64_t{16}}, {"ok", false}};
  const std::string text = format_fields("decision", fields);
  CHECK(text == R"(decision user="a b\"c" reason=16 ok=false)");
}
