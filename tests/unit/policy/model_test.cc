#include "policy/model.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "time_helpers.h"
using namespace npsd::policy;
using namespace std::chrono;
using npsd::test::utc;
using npsd::test::weekdays;
using npsd::test::zone;

namespace {

regex_match re(const std::string& pattern) {
  return {pattern, boost::regex(pattern, boost::regex::perl | boost::regex::icase)};
}

constexpr std::uint8_t sun = 1, mon = 2, tue = 4, wed = 8, thu = 16, fri = 32, sat = 64;

}  // namespace

TEST_CASE("regex_match searches anywhere, case-insensitively, and anchors with ^ and $") {
  CHECK(re("vpn").matches("corp-VPN-01"));
  CHECK_FALSE(re("^vpn").matches("corp-VPN-01"));
  CHECK(re("^311$").matches("311"));
  CHECK_FALSE(re("^311$").matches("3110"));
  CHECK(re("^$").matches(""));
}

TEST_CASE("regex_match counts a match beyond Boost's complexity limit as no match") {
  // Catastrophic backtracking: Boost gives up with an exception, which must not escape.
  const auto evil = re("(a+)+b");
  const std::string input(64, 'a');
  bool result = true;
  CHECK_NOTHROW(result = evil.matches(input));
  CHECK_FALSE(result);
}

TEST_CASE("a regex_match that was never compiled matches nothing") {
  const regex_match none;
  CHECK_FALSE(none.matches(""));
  CHECK_FALSE(none.matches("anything"));
}

TEST_CASE("authentication method names round-trip and parse case-insensitively") {
  for (auto m : {auth_method::pap, auth_method::chap, auth_method::mschapv2, auth_method::eap_tls,
                 auth_method::peap_tls, auth_method::peap_mschapv2, auth_method::eap_mschapv2}) {
    CAPTURE(auth_method_name(m));
    CHECK(parse_auth_method(auth_method_name(m)) == m);
  }
  CHECK(auth_method_name(auth_method::peap_mschapv2) == "PEAP-MSCHAPv2");
  CHECK(auth_method_name(auth_method::mschapv2) == "MS-CHAPv2");
  CHECK(parse_auth_method("peap-tls") == auth_method::peap_tls);
  CHECK(parse_auth_method("ms-chapv2") == auth_method::mschapv2);
  CHECK_FALSE(parse_auth_method("MSCHAP"));
  CHECK_FALSE(parse_auth_method("PEAP"));
  CHECK_FALSE(parse_auth_method(""));
}

TEST_CASE("authentication type names round-trip and parse case-insensitively") {
  for (auto t : {auth_type::pap, auth_type::chap, auth_type::mschapv2, auth_type::eap,
                 auth_type::unauthenticated}) {
    CAPTURE(auth_type_name(t));
    CHECK(parse_auth_type(auth_type_name(t)) == t);
  }
  CHECK(auth_type_name(auth_type::unauthenticated) == "Unauthenticated");
  CHECK(parse_auth_type("eap") == auth_type::eap);
  CHECK(parse_auth_type("UNAUTHENTICATED") == auth_type::unauthenticated);
  CHECK_FALSE(parse_auth_type("EAP-TLS"));
}

TEST_CASE("every EAP and PEAP method is of authentication type EAP, with its outer EAP type") {
  CHECK(auth_type_of(auth_method::pap) == auth_type::pap);
  CHECK(auth_type_of(auth_method::chap) == auth_type::chap);
  CHECK(auth_type_of(auth_method::mschapv2) == auth_type::mschapv2);
  CHECK(auth_type_of(auth_method::eap_tls) == auth_type::eap);
  CHECK(auth_type_of(auth_method::peap_tls) == auth_type::eap);
  CHECK(auth_type_of(auth_method::peap_mschapv2) == auth_type::eap);
  CHECK(auth_type_of(auth_method::eap_mschapv2) == auth_type::eap);

  CHECK(eap_type_of(auth_method::eap_tls) == 13);
  CHECK(eap_type_of(auth_method::peap_tls) == 25);
  CHECK(eap_type_of(auth_method::peap_mschapv2) == 25);
  CHECK(eap_type_of(auth_method::eap_mschapv2) == 26);
  CHECK_FALSE(eap_type_of(auth_method::pap));
  CHECK_FALSE(eap_type_of(auth_method::chap));
  CHECK_FALSE(eap_type_of(auth_method::mschapv2));
}

TEST_CASE("value_set contains exactly its values") {
  const value_set s{{5, 15}};
  CHECK(s.contains(5));
  CHECK(s.contains(15));
  CHECK_FALSE(s.contains(0));
  CHECK_FALSE(s.contains(19));
  CHECK_FALSE(value_set{}.contains(0));
}

TEST_CASE("crp_action names") {
  CHECK(crp_action_name(crp_action::authenticate) == "authenticate");
  CHECK(crp_action_name(crp_action::accept_without_credentials) == "accept_without_credentials");
  CHECK(crp_action_name(crp_action::reject) == "reject");
}

TEST_CASE("day_time: a daytime window on weekdays, bounds inclusive from, exclusive to") {
  day_time dt;  // UTC
  dt.windows = {{weekdays, 8 * 60, 18 * 60}};
  // 2024-06-03 is a Monday.
  CHECK(dt.allows(utc(2024, 6, 3, 8, 0)));
  CHECK(dt.allows(utc(2024, 6, 3, 17, 59)));
  CHECK_FALSE(dt.allows(utc(2024, 6, 3, 18, 0)));
  CHECK_FALSE(dt.allows(utc(2024, 6, 3, 7, 59)));
  CHECK(dt.allows(utc(2024, 6, 7, 12, 0)));        // Friday
  CHECK_FALSE(dt.allows(utc(2024, 6, 8, 12, 0)));  // Saturday
  CHECK_FALSE(dt.allows(utc(2024, 6, 2, 12, 0)));  // Sunday
  // Seconds within the last minute still count as that minute.
  CHECK(dt.allows(utc(2024, 6, 3, 17, 59) + seconds(59)));
}

TEST_CASE("day_time: a window across midnight continues into the next day's morning") {
  day_time dt;
  dt.windows = {{fri, 22 * 60, 6 * 60}};     // Friday 22:00 to Saturday 06:00
  CHECK(dt.allows(utc(2024, 6, 7, 22, 0)));  // Friday evening
  CHECK(dt.allows(utc(2024, 6, 7, 23, 59)));
  CHECK(dt.allows(utc(2024, 6, 8, 0, 0)));  // Saturday after midnight
  CHECK(dt.allows(utc(2024, 6, 8, 5, 59)));
  CHECK_FALSE(dt.allows(utc(2024, 6, 8, 6, 0)));
  CHECK_FALSE(dt.allows(utc(2024, 6, 8, 22, 30)));  // Saturday evening: not a listed day
  CHECK_FALSE(dt.allows(utc(2024, 6, 7, 3, 0)));    // Friday morning belongs to Thursday
  CHECK_FALSE(dt.allows(utc(2024, 6, 7, 21, 59)));
}

TEST_CASE("day_time: Saturday night runs into Sunday morning (the week wraps)") {
  day_time dt;
  dt.windows = {{sat, 20 * 60, 2 * 60}};
  CHECK(dt.allows(utc(2024, 6, 8, 21, 0)));        // Saturday
  CHECK(dt.allows(utc(2024, 6, 9, 1, 0)));         // Sunday morning
  CHECK_FALSE(dt.allows(utc(2024, 6, 9, 21, 0)));  // Sunday evening
  day_time sunday;
  sunday.windows = {{sun, 20 * 60, 2 * 60}};
  CHECK(sunday.allows(utc(2024, 6, 10, 1, 0)));       // Monday morning
  CHECK_FALSE(sunday.allows(utc(2024, 6, 9, 1, 0)));  // Sunday morning belongs to Saturday
}

TEST_CASE("day_time: any of several windows; none at all allows nothing") {
  day_time dt;
  dt.windows = {{mon, 9 * 60, 10 * 60}, {wed, 0, 1440}};
  CHECK(dt.allows(utc(2024, 6, 3, 9, 30)));
  CHECK(dt.allows(utc(2024, 6, 5, 0, 0)));
  CHECK(dt.allows(utc(2024, 6, 5, 23, 59)));
  CHECK_FALSE(dt.allows(utc(2024, 6, 4, 9, 30)));
  CHECK_FALSE(day_time{}.allows(utc(2024, 6, 3, 9, 30)));
}

TEST_CASE("day_time: judged in the zone's local time, daylight saving included") {
  day_time dt;
  dt.zone = zone("Europe/Paris");
  dt.windows = {{weekdays, 8 * 60, 18 * 60}};
  // Winter (UTC+1): Monday 2024-01-08 07:30 UTC is 08:30 in Paris.
  CHECK(dt.allows(utc(2024, 1, 8, 7, 30)));
  CHECK_FALSE(dt.allows(utc(2024, 1, 8, 17, 0)));  // 18:00 Paris
  // Summer (UTC+2): 06:30 UTC is 08:30 in Paris; 16:00 UTC is 18:00.
  CHECK(dt.allows(utc(2024, 7, 1, 6, 30)));
  CHECK_FALSE(dt.allows(utc(2024, 7, 1, 16, 0)));
  CHECK(dt.allows(utc(2024, 7, 1, 15, 59)));
  // Friday 2024-07-05 22:30 UTC is already Saturday in Paris.
  day_time friday;
  friday.zone = dt.zone;
  friday.windows = {{fri, 0, 1440}};
  CHECK(friday.allows(utc(2024, 7, 5, 21, 59)));
  CHECK_FALSE(friday.allows(utc(2024, 7, 5, 22, 0)));
  // Sunday 2024-07-07 23:00 UTC in New York is still Sunday 19:00.
  day_time ny;
  ny.zone = zone("America/New_York");
  ny.windows = {{sun, 18 * 60, 20 * 60}};
  CHECK(ny.allows(utc(2024, 7, 7, 23, 0)));
  CHECK_FALSE(ny.allows(utc(2024, 7, 8, 1, 0)));
}
