// eap/conversation_table.h: conversations kept between rounds under their State, bounded by a
// timeout, a global count and a per-station count. Time is stepped by hand.
#include "eap/conversation_table.h"

#include <doctest/doctest.h>

#include <set>

#include "test_pki.h"

using namespace npsd;
using namespace std::chrono_literals;
using table = eap::conversation_table;

namespace {

std::shared_ptr<eap::conversation> make_conversation(const std::string& identity = "alice") {
  eap::conversation_options o;
  o.tls.tls = test::shared_pki().context();
  o.tls.identity_sources = {eap::cert_identity_source::upn};
  return std::make_shared<eap::conversation>(identity, 0, std::move(o));
}

const table::clock::time_point t0 = table::clock::time_point{} + 1000h;

table::limits limits_of(std::size_t total, std::size_t per_station, std::chrono::seconds timeout = 30s) {
  table::limits l;
  l.max_total = total;
  l.max_per_station = per_station;
  l.timeout = timeout;
  return l;
}

std::string state_of(int i) { return "state-" + std::to_string(i); }

}  // namespace

TEST_CASE("conversation_table: put then take gives back the same conversation") {
  table t;
  const auto c = make_conversation();
  CHECK(t.put("s1", "station-a", c, table::limits{}, t0) == 0);
  CHECK(t.size() == 1);
  const auto got = t.take("s1", t0 + 1s);
  CHECK(got == c);
  CHECK(t.size() == 0);
  CHECK(t.stats().expired == 0);
  CHECK(t.stats().evicted == 0);
}

TEST_CASE("conversation_table: take of an unknown state is null") {
  table t;
  CHECK(t.take("nobody", t0) == nullptr);
  t.put("s1", "station-a", make_conversation(), table::limits{}, t0);
  CHECK(t.take("s2", t0) == nullptr);
  CHECK(t.take("", t0) == nullptr);
  CHECK(t.size() == 1);
}

TEST_CASE("conversation_table: take removes the entry, a second take is null") {
  table t;
  t.put("s1", "station-a", make_conversation(), table::limits{}, t0);
  CHECK(t.take("s1", t0) != nullptr);
  CHECK(t.take("s1", t0) == nullptr);
  CHECK(t.size() == 0);
  CHECK(t.stats().expired == 0);
}

TEST_CASE("conversation_table: an entry taken after its timeout is null and counted expired") {
  table t;
  const auto l = limits_of(100, 10, 30s);
  t.put("old", "station-a", make_conversation(), l, t0);
  t.put("young", "station-a", make_conversation(), l, t0 + 20s);
  CHECK(t.take("old", t0 + 31s) == nullptr);
  CHECK(t.stats().expired == 1);
  CHECK(t.size() == 1);
  CHECK(t.take("young", t0 + 31s) != nullptr);  // 11 s old
  CHECK(t.stats().expired == 1);
}

TEST_CASE("conversation_table: an entry within its timeout is still there at t0+29 s") {
  table t;
  const auto c = make_conversation();
  t.put("s1", "station-a", c, limits_of(100, 10, 30s), t0);
  CHECK(t.take("s1", t0 + 29s) == c);
  CHECK(t.stats().expired == 0);
}

TEST_CASE("conversation_table: put sweeps the expired entries") {
  table t;
  const auto l = limits_of(100, 10, 30s);
  for (int i = 0; i < 5; ++i) t.put(state_of(i), "station-a", make_conversation(), l, t0);
  CHECK(t.size() == 5);
  t.put("late", "station-b", make_conversation(), l, t0 + 31s);
  CHECK(t.size() == 1);
  CHECK(t.stats().expired == 5);
  CHECK(t.stats().evicted == 0);
  CHECK(t.take("late", t0 + 32s) != nullptr);
}

TEST_CASE("conversation_table: max_total evicts the oldest; 10 puts under max_total 5 keep the 5 "
          "newest") {
  table t;
  const auto l = limits_of(5, 100);
  std::vector<std::shared_ptr<eap::conversation>> cs;
  std::size_t dropped = 0;
  for (int i = 0; i < 10; ++i) {
    cs.push_back(make_conversation());
    // Each from its own station, so only the global bound applies.
    dropped += t.put(state_of(i), "station-" + std::to_string(i), cs.back(), l, t0 + std::chrono::seconds(i));
    CHECK(t.size() == static_cast<std::size_t>(std::min(i + 1, 5)));
  }
  CHECK(dropped == 5);
  CHECK(t.size() == 5);
  CHECK(t.stats().evicted == 5);
  CHECK(t.stats().expired == 0);
  for (int i = 0; i < 5; ++i) CHECK_MESSAGE(t.take(state_of(i), t0 + 10s) == nullptr, i);
  for (int i = 5; i < 10; ++i) CHECK_MESSAGE(t.take(state_of(i), t0 + 10s) == cs[static_cast<std::size_t>(i)], i);
}

TEST_CASE("conversation_table: max_total skips entries already taken when evicting the oldest") {
  table t;
  const auto l = limits_of(3, 100);
  for (int i = 0; i < 3; ++i) t.put(state_of(i), "st" + std::to_string(i), make_conversation(), l, t0);
  CHECK(t.take(state_of(0), t0) != nullptr);     // the oldest leaves on its own
  CHECK(t.put(state_of(3), "st3", make_conversation(), l, t0) == 0);
  CHECK(t.put(state_of(4), "st4", make_conversation(), l, t0) == 1);  // evicts 1, not 0 again
  CHECK(t.take(state_of(1), t0) == nullptr);
  CHECK(t.take(state_of(2), t0) != nullptr);
  CHECK(t.take(state_of(3), t0) != nullptr);
  CHECK(t.take(state_of(4), t0) != nullptr);
  CHECK(t.stats().evicted == 1);
}

TEST_CASE("conversation_table: max_per_station evicts that station's oldest and leaves other "
          "stations alone") {
  table t;
  const auto l = limits_of(100, 3);
  t.put("b0", "station-b", make_conversation(), l, t0);
  t.put("a0", "station-a", make_conversation(), l, t0 + 1s);
  t.put("b1", "station-b", make_conversation(), l, t0 + 2s);
  t.put("a1", "station-a", make_conversation(), l, t0 + 3s);
  t.put("a2", "station-a", make_conversation(), l, t0 + 4s);
  CHECK(t.size() == 5);
  CHECK(t.put("a3", "station-a", make_conversation(), l, t0 + 5s) == 1);
  CHECK(t.put("a4", "station-a", make_conversation(), l, t0 + 6s) == 1);
  CHECK(t.size() == 5);
  CHECK(t.stats().evicted == 2);
  const auto now = t0 + 7s;
  CHECK(t.take("a0", now) == nullptr);
  CHECK(t.take("a1", now) == nullptr);
  CHECK(t.take("a2", now) != nullptr);
  CHECK(t.take("a3", now) != nullptr);
  CHECK(t.take("a4", now) != nullptr);
  CHECK(t.take("b0", now) != nullptr);  // older than every station-a entry, yet kept
  CHECK(t.take("b1", now) != nullptr);
}

TEST_CASE("conversation_table: a station's slot freed by take is reused without eviction") {
  table t;
  const auto l = limits_of(100, 2);
  t.put("a0", "station-a", make_conversation(), l, t0);
  t.put("a1", "station-a", make_conversation(), l, t0);
  CHECK(t.take("a0", t0) != nullptr);
  CHECK(t.put("a2", "station-a", make_conversation(), l, t0) == 0);
  CHECK(t.stats().evicted == 0);
  CHECK(t.take("a1", t0) != nullptr);
  CHECK(t.take("a2", t0) != nullptr);
}

TEST_CASE("conversation_table: many rounds of put and take stay bounded and consistent") {
  // One conversation per round, as the request pipeline does: take the old State, put a new one.
  table t;
  const auto l = limits_of(8, 4);
  const auto c = make_conversation();
  std::string state = "s-0";
  t.put(state, "station-a", c, l, t0);
  for (int i = 1; i < 2000; ++i) {
    auto got = t.take(state, t0 + std::chrono::milliseconds(i));
    REQUIRE(got == c);
    state = "s-" + std::to_string(i);
    REQUIRE(t.put(state, "station-a", got, l, t0 + std::chrono::milliseconds(i)) == 0);
  }
  CHECK(t.size() == 1);
  CHECK(t.stats().evicted == 0);
  CHECK(t.stats().expired == 0);
}

TEST_CASE("conversation_table: new_state() gives 16 bytes that differ between calls") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const auto s = table::new_state();
    CHECK(s.size() == 16);
    seen.insert(s);
  }
  CHECK(seen.size() == 100);
}

TEST_CASE("conversation_table: the same State put twice replaces the entry and never hangs") {
  table t;
  const auto a1 = make_conversation("a1");
  const auto a2 = make_conversation("a2");
  t.put("s", "A", a1, limits_of(10, 1), t0);
  t.put("s", "A", a2, limits_of(10, 1), t0);
  CHECK(t.size() == 1);
  CHECK(t.take("s", t0) == a2);
  t.put("x", "A", a1, limits_of(10, 1), t0);  // used to spin on a stale station item
  CHECK(t.size() == 1);
  // Moved to another station: the first station keeps nothing of it.
  t.put("m", "A", a1, limits_of(10, 1), t0);
  t.put("m", "B", a2, limits_of(10, 1), t0);
  t.put("b2", "B", a1, limits_of(10, 1), t0);
  t.put("a2", "A", a2, limits_of(10, 1), t0);
  CHECK(t.take("a2", t0) == a2);
  CHECK(t.take("b2", t0) == a1);
}

TEST_CASE("conversation_table: after a flood bounded by both limits, sweep() drops every expired entry") {
  table t;
  const auto c = make_conversation();
  for (int i = 0; i < 3500; ++i)
    t.put(state_of(i), i < 3000 ? "station-" + std::to_string(i % 500) : std::string("one"), c,
          limits_of(1000, 5, 2s), t0 + std::chrono::milliseconds(i));
  CHECK(t.size() <= 1000);
  const auto held = t.size();
  CHECK(t.sweep(t0 + 10s) == held);
  CHECK(t.size() == 0);
}
