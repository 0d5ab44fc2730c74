// The policy sections of the configuration: every validation rule of the schema has a row in
// the error table below; the valid fragments check what is parsed, defaults included.
#include "policy/policy_config.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "policy/config.h"
#include "radius/value.h"
#include "time_helpers.h"

using namespace npsd::policy;
using namespace std::chrono;

using npsd::test::utc;

namespace {

const std::string minimal_root = R"({
  "schema_version": 1,
  "server": { "listen": [ { "type": "auth", "address": "127.0.0.1" } ] },
  "clients": [ { "name": "rras1", "address": "10.0.0.0/24", "secret": "s3cret" } ],
  "directory": { "backend": "local", "users_file": "users.json" })";

// The minimal root plus some root keys.
std::string root(const std::string& extra) {
  return minimal_root + (extra.empty() ? "" : ",\n  " + extra) + "\n}";
}

// One network policy named "A" granting access, with more keys.
std::string np(const std::string& keys) {
  return root(R"("network_policies": [ { "name": "A", "access": "grant")" +
              (keys.empty() ? "" : ", " + keys) + " } ]");
}
std::string np_conditions(const std::string& conditions) {
  return np(R"("conditions": { )" + conditions + " }");
}
std::string np_constraints(const std::string& constraints) {
  return np(R"("constraints": { )" + constraints + " }");
}
std::string np_reply(const std::string& attribute) {
  return np(R"("settings": { "attributes": [ )" + attribute + " ] }");
}

// One connection request policy named "C", with more keys.
std::string crp(const std::string& keys) {
  return root(R"("connection_request_policies": [ { "name": "C")" +
              (keys.empty() ? "" : ", " + keys) + " } ]");
}

std::shared_ptr<const config> parse_policy(const std::string& text) {
  auto c = parse_config(text, "npsd.json", "/etc/npsd", NPSD_DICTIONARY_DIR);
  REQUIRE_MESSAGE(c, (c ? std::string() : c.error()));
  return *c;
}

std::string policy_error_of(const std::string& text) {
  const auto c = parse_config(text, "npsd.json", "/etc/npsd", NPSD_DICTIONARY_DIR);
  REQUIRE_FALSE(c.has_value());
  return c.error();
}

const std::string in_a = R"( (network policy "A"))";
const std::string in_c = R"( (connection request policy "C"))";
const std::string no_credentials =
    "accepting without validating credentials cannot serve EAP-TLS, PEAP or MS-CHAPv2";

struct error_case {
  std::string config;
  std::string error;  // the whole message after "npsd.json: ", or a part of it (contains = true)
  bool contains = false;
};

}  // namespace

TEST_CASE("every policy validation rule fails on the offending field, saying what was expected") {
  const std::vector<error_case> cases = {
      // ---- root keys ----
      {root(R"("time_zone": 1)"), "/time_zone: expected a string, found an integer"},
      {root(R"("time_zone": "")"), "/time_zone: expected a non-empty string"},
      {root(R"("time_zone": "Mars/Base")"),
       "/time_zone: unknown time zone \"Mars/Base\": no such file in /usr/share/zoneinfo"},
      {root(R"("time_zone": "../etc/passwd")"),
       "/time_zone: invalid time zone name \"../etc/passwd\"", true},
      {root(R"("time_zone": "CET-1CEST,M3.5.0")"),
       "/time_zone: invalid POSIX time zone \"CET-1CEST,M3.5.0\"", true},
      {root(R"("connection_request_policies": {})"),
       "/connection_request_policies: expected an array, found an object"},
      {root(R"("network_policies": "A")"), "/network_policies: expected an array, found a string"},

      // ---- name, order, enabled, description (both kinds) ----
      {root(R"("network_policies": [ 7 ])"),
       "/network_policies/0: expected an object, found an integer"},
      {root(R"("network_policies": [ { "access": "grant" } ])"),
       "/network_policies/0: missing required key \"name\""},
      {root(R"("network_policies": [ { "name": "", "access": "grant" } ])"),
       "/network_policies/0/name: expected a non-empty string"},
      {root(R"("connection_request_policies": [ { "name": 3 } ])"),
       "/connection_request_policies/0/name: expected a string, found an integer"},
      {np(R"("acess": "deny")"),
       "/network_policies/0/acess: unknown key \"acess\" (expected one of \"name\", \"order\", "
       "\"enabled\", \"description\", \"conditions\", \"access\", \"ignore_dial_in\", "
       "\"constraints\", \"settings\")" +
           in_a},
      {crp(R"("access": "grant")"),
       "/connection_request_policies/0/access: unknown key \"access\" (expected one of \"name\", "
       "\"order\", \"enabled\", \"description\", \"conditions\", \"action\", \"manipulations\")" +
           in_c},
      {root(R"("network_policies": [ { "name": "VPN", "access": "grant" },
                                     { "name": "vpn", "access": "deny" } ])"),
       "/network_policies/1/name: another network policy is already named \"VPN\" (at "
       "/network_policies/0)"},
      {root(R"("connection_request_policies": [ { "name": "X" }, { "name": "x" } ])"),
       "/connection_request_policies/1/name: another connection request policy is already named "
       "\"X\" (at /connection_request_policies/0)"},
      {np(R"("order": 0)"),
       "/network_policies/0/order: expected an integer from 1 to 1000000, found 0" + in_a},
      {np(R"("order": 1000001)"),
       "/network_policies/0/order: expected an integer from 1 to 1000000, found 1000001" + in_a},
      {crp(R"("order": "1")"),
       "/connection_request_policies/0/order: expected an integer from 1 to 1000000, found a "
       "string" +
           in_c},
      {root(R"("network_policies": [ { "name": "A", "order": 5, "access": "grant" },
                                     { "name": "B", "order": 5, "access": "grant" } ])"),
       "/network_policies/1/order: processing order 5 is also that of network policy \"A\" (at "
       "/network_policies/0) (network policy \"B\")"},
      {root(R"("connection_request_policies": [ { "name": "A", "order": 2 }, { "name": "B" } ])"),
       "/connection_request_policies/1: processing order 2 is also that of connection request "
       "policy \"A\" (at /connection_request_policies/0); this policy has no \"order\" and takes "
       "its position in the array (connection request policy \"B\")"},
      {np(R"("enabled": "yes")"),
       "/network_policies/0/enabled: expected true or false, found a string" + in_a},
      {crp(R"("description": 1)"),
       "/connection_request_policies/0/description: expected a string, found an integer" + in_c},

      // ---- network policy keys ----
      {root(R"("network_policies": [ { "name": "A" } ])"),
       "/network_policies/0: missing required key \"access\"" + in_a},
      {root(R"("network_policies": [ { "name": "A", "access": "allow" } ])"),
       "/network_policies/0/access: expected one of \"grant\", \"deny\", found \"allow\"" + in_a},
      {np(R"("ignore_dial_in": 1)"),
       "/network_policies/0/ignore_dial_in: expected true or false, found an integer" + in_a},

      // ---- connection request policy keys ----
      {crp(R"("action": "accept")"),
       "/connection_request_policies/0/action: expected one of \"authenticate\", "
       "\"accept_without_credentials\", \"reject\", found \"accept\"" +
           in_c},
      {crp(R"("conditions": { "windows_groups": [ "VPN Users" ] })"),
       "/connection_request_policies/0/conditions/windows_groups: windows_groups is a network "
       "policy condition; connection request policies cannot use it" +
           in_c},
      {crp(R"("conditions": { "user_groups": [ "VPN Users" ] })"),
       "/connection_request_policies/0/conditions/user_groups: user_groups is a network policy "
       "condition; connection request policies cannot use it" +
           in_c},
      {crp(R"("conditions": { "machine_groups": [ "Domain Computers" ] })"),
       "/connection_request_policies/0/conditions/machine_groups: machine_groups is a network "
       "policy condition; connection request policies cannot use it" +
           in_c},
      {crp(R"("conditions": { "allowed_eap_types": [ "PEAP" ] })"),
       "/connection_request_policies/0/conditions/allowed_eap_types: allowed_eap_types is a "
       "network policy condition; connection request policies cannot use it" +
           in_c},
      {crp(R"("action": "accept_without_credentials")"),
       "/connection_request_policies/0/action: accept_without_credentials needs an "
       "authentication_type condition limited to PAP, CHAP and/or Unauthenticated: " +
           no_credentials + in_c},
      {crp(R"("action": "accept_without_credentials",
              "conditions": { "authentication_type": [ "PAP", "EAP" ] })"),
       "/connection_request_policies/0/conditions/authentication_type/1: EAP cannot be used with "
       "action accept_without_credentials (only PAP, CHAP and Unauthenticated): " +
           no_credentials + in_c},
      {crp(R"("action": "accept_without_credentials",
              "conditions": { "authentication_type": [ "MS-CHAPv2" ] })"),
       "/connection_request_policies/0/conditions/authentication_type/0: MS-CHAPv2 cannot be used",
       true},
      {crp(R"("manipulations": {})"),
       "/connection_request_policies/0/manipulations: expected an array, found an object" + in_c},
      {crp(R"("manipulations": [ { "attribute": "User-Name", "find": "a", "replace": "b", "x": 1 } ])"),
       "/connection_request_policies/0/manipulations/0/x: unknown key \"x\" (expected one of "
       "\"attribute\", \"find\", \"replace\")" +
           in_c},
      {crp(R"("manipulations": [ { "attribute": "NAS-Identifier", "find": "a", "replace": "b" } ])"),
       "/connection_request_policies/0/manipulations/0/attribute: expected one of \"User-Name\", "
       "\"Called-Station-Id\", \"Calling-Station-Id\", found \"NAS-Identifier\"" +
           in_c},
      {crp(R"("manipulations": [ { "attribute": "User-Name", "find": "(a", "replace": "b" } ])"),
       "/connection_request_policies/0/manipulations/0/find: invalid regular expression \"(a\": "
       "Unmatched marking parenthesis ( or \\(. (at offset 2)" +
           in_c},
      {crp(R"("manipulations": [ { "attribute": "User-Name", "find": "a" } ])"),
       "/connection_request_policies/0/manipulations/0: missing required key \"replace\"" + in_c},
      {crp(R"("manipulations": [ { "attribute": "User-Name", "find": "a", "replace": 1 } ])"),
       "/connection_request_policies/0/manipulations/0/replace: expected a string, found an "
       "integer" +
           in_c},
      {crp(R"("manipulations": [ { "attribute": "User-Name", "find": "^(.*)@(.*)$", "replace": "$3" } ])"),
       "/connection_request_policies/0/manipulations/0/replace: $3 refers to group 3, but the "
       "regex \"^(.*)@(.*)$\" has 2 groups" +
           in_c},
      {crp(R"("manipulations": [ { "attribute": "User-Name", "find": "x", "replace": "${1}" } ])"),
       "/connection_request_policies/0/manipulations/0/replace: $1 refers to group 1, but the "
       "regex \"x\" has 0 groups" +
           in_c},

      // ---- conditions ----
      {np(R"("conditions": [])"),
       "/network_policies/0/conditions: expected an object, found an array" + in_a},
      {np_conditions(R"("user": "x")"),
       "/network_policies/0/conditions/user: unknown key \"user\" (expected one of", true},
      {np_conditions(R"("windows_groups": [])"),
       "/network_policies/0/conditions/windows_groups: expected a non-empty array" + in_a},
      {np_conditions(R"("user_groups": "VPN Users")"),
       "/network_policies/0/conditions/user_groups: expected an array, found a string" + in_a},
      {np_conditions(R"("machine_groups": [ "" ])"),
       "/network_policies/0/conditions/machine_groups/0: expected a non-empty string" + in_a},
      {np_conditions(R"("windows_groups": [ "VPN Users", "vpn users" ])"),
       "/network_policies/0/conditions/windows_groups/1: \"vpn users\" is listed twice (also at "
       "/network_policies/0/conditions/windows_groups/0)" +
           in_a},
      {np_conditions(R"("windows_groups": [ "CN=VPN,DC=example", "cn=vpn,dc=EXAMPLE" ])"),
       "/network_policies/0/conditions/windows_groups/1: \"cn=vpn,dc=EXAMPLE\" is listed twice",
       true},
      {np_conditions(R"("windows_groups": [ "CN=VPN Users,,DC=example" ])"),
       "/network_policies/0/conditions/windows_groups/0: \"CN=VPN Users,,DC=example\" contains "
       "'=' but is not a distinguished name (expected comma-separated attribute=value parts, e.g. "
       "\"CN=VPN Users,OU=Groups,DC=example,DC=com\"; a comma inside a value is written \\,)" +
           in_a},
      {np_conditions(R"("user_groups": [ "CN=,DC=example" ])"), "is not a distinguished name",
       true},
      {np_conditions(R"("user_groups": [ "=VPN" ])"), "is not a distinguished name", true},
      {np_conditions(R"("user_groups": [ "C N=VPN,DC=x" ])"), "is not a distinguished name", true},
      {np_conditions(R"("user_groups": [ "VPN Users, Sales=yes" ])"), "is not a distinguished name",
       true},
      {np_conditions(R"("user_groups": [ "CN=VPN\\" ])"), "is not a distinguished name", true},
      {np_conditions(R"("user_name": "(abc")"),
       "/network_policies/0/conditions/user_name: invalid regular expression \"(abc\": Unmatched "
       "marking parenthesis ( or \\(. (at offset 4)" +
           in_a},
      {np_conditions(R"("user_name": "")"),
       "/network_policies/0/conditions/user_name: expected a non-empty regular expression (use "
       "\".\" to match anything)" +
           in_a},
      {np_conditions(R"("user_name": [ "x" ])"),
       "/network_policies/0/conditions/user_name: expected a string, found an array" + in_a},
      {np_conditions(R"("called_station_id": "a{2,1}")"),
       "/network_policies/0/conditions/called_station_id: invalid regular expression", true},
      {np_conditions(R"("calling_station_id": "[a")"),
       "/network_policies/0/conditions/calling_station_id: invalid regular expression", true},
      {np_conditions(R"("nas_identifier": "*")"),
       "/network_policies/0/conditions/nas_identifier: invalid regular expression", true},
      {np_conditions(R"j("client_friendly_name": "a)")j"),
       "/network_policies/0/conditions/client_friendly_name: invalid regular expression", true},
      {np_conditions(R"("client_vendor": "\\")"),
       "/network_policies/0/conditions/client_vendor: invalid regular expression", true},
      {np_conditions(R"("ms_ras_vendor": 311)"),
       "/network_policies/0/conditions/ms_ras_vendor: expected a string, found an integer" + in_a},
      {np_conditions(R"("nas_port_type": [ "Virtul" ])"),
       "/network_policies/0/conditions/nas_port_type/0: \"Virtul\" is not a value of "
       "NAS-Port-Type" +
           in_a},
      {np_conditions(R"("nas_port_type": [ "Virtual", 5 ])"),
       "/network_policies/0/conditions/nas_port_type/1: Virtual (5) is listed twice (also at "
       "/network_policies/0/conditions/nas_port_type/0)" +
           in_a},
      {np_conditions(R"("nas_port_type": [])"),
       "/network_policies/0/conditions/nas_port_type: expected a non-empty array" + in_a},
      {np_conditions(R"("nas_port_type": [ true ])"),
       "/network_policies/0/conditions/nas_port_type/0: expected a value name of NAS-Port-Type or "
       "an integer, found a boolean" +
           in_a},
      {np_conditions(R"("nas_port_type": [ -1 ])"),
       "/network_policies/0/conditions/nas_port_type/0: expected an integer from 0 to 4294967295, "
       "found -1" +
           in_a},
      {np_conditions(R"("tunnel_type": [ 16777216 ])"),
       "/network_policies/0/conditions/tunnel_type/0: expected an integer from 0 to 16777215, "
       "found 16777216" +
           in_a},
      {np_conditions(R"("tunnel_type": [ "VLAN", "Vlan" ])"),
       "/network_policies/0/conditions/tunnel_type/1: VLAN (13) is listed twice", true},
      {np_conditions(R"("framed_protocol": [ "PPTP" ])"),
       "/network_policies/0/conditions/framed_protocol/0: \"PPTP\" is not a value of "
       "Framed-Protocol" +
           in_a},
      {np_conditions(R"("service_type": [ "Framed" ])"),
       "/network_policies/0/conditions/service_type/0: \"Framed\" is not a value of Service-Type" +
           in_a},
      {np_conditions(R"("nas_ipv4_address": [ "2001:db8::/32" ])"),
       "/network_policies/0/conditions/nas_ipv4_address/0: expected an IPv4 address or prefix, "
       "found 2001:db8::/32" +
           in_a},
      {np_conditions(R"("nas_ipv4_address": [ "10.0.0.1/8" ])"),
       "/network_policies/0/conditions/nas_ipv4_address/0: address has bits set beyond the prefix "
       "length" +
           in_a},
      {np_conditions(R"("nas_ipv4_address": [ "10.0.0.0/8", "10.0.0.0/8" ])"),
       "/network_policies/0/conditions/nas_ipv4_address/1: 10.0.0.0/8 is listed twice", true},
      {np_conditions(R"("nas_ipv4_address": [])"),
       "/network_policies/0/conditions/nas_ipv4_address: expected a non-empty array" + in_a},
      {np_conditions(R"("nas_ipv6_address": [ "10.0.0.0/8" ])"),
       "/network_policies/0/conditions/nas_ipv6_address/0: expected an IPv6 address or prefix, "
       "found 10.0.0.0/8" +
           in_a},
      {np_conditions(R"("client_ip_address": [ "rras.example.com" ])"),
       "/network_policies/0/conditions/client_ip_address/0: expected an IPv4 or IPv6 address, "
       "optionally with /prefix-length" +
           in_a},
      {np_conditions(R"("client_ip_address": [ 10 ])"),
       "/network_policies/0/conditions/client_ip_address/0: expected a string, found an integer" +
           in_a},
      {np_conditions(R"("authentication_type": [ "PEAP" ])"),
       "/network_policies/0/conditions/authentication_type/0: expected one of \"PAP\", \"CHAP\", "
       "\"MS-CHAPv2\", \"EAP\", \"Unauthenticated\", found \"PEAP\"" +
           in_a},
      {np_conditions(R"("authentication_type": [ "pap", "PAP" ])"),
       "/network_policies/0/conditions/authentication_type/1: PAP is listed twice", true},
      {np_conditions(R"("authentication_type": [])"),
       "/network_policies/0/conditions/authentication_type: expected a non-empty array" + in_a},
      {np_conditions(R"("allowed_eap_types": [ "TLS" ])"),
       "/network_policies/0/conditions/allowed_eap_types/0: expected one of \"EAP-TLS\", \"PEAP\", "
       "\"EAP-MSCHAPv2\" or an EAP type number 1..255, found \"TLS\"" +
           in_a},
      {np_conditions(R"("allowed_eap_types": [ 0 ])"),
       "/network_policies/0/conditions/allowed_eap_types/0: expected an integer from 1 to 255, "
       "found 0" +
           in_a},
      {np_conditions(R"("allowed_eap_types": [ 256 ])"),
       "/network_policies/0/conditions/allowed_eap_types/0: expected an integer from 1 to 255, "
       "found 256" +
           in_a},
      {np_conditions(R"("allowed_eap_types": [ "peap", 25 ])"),
       "/network_policies/0/conditions/allowed_eap_types/1: PEAP (25) is listed twice", true},
      {np_conditions(R"("allowed_eap_types": [ null ])"),
       "/network_policies/0/conditions/allowed_eap_types/0: expected an EAP type name or number, "
       "found null" +
           in_a},
      {np_conditions(R"("attributes": [])"),
       "/network_policies/0/conditions/attributes: expected a non-empty array" + in_a},
      {np_conditions(R"("attributes": [ { "name": "Frobnicate", "match": "x" } ])"),
       "/network_policies/0/conditions/attributes/0/name: unknown attribute \"Frobnicate\" (not "
       "in the dictionary)" +
           in_a},
      {np_conditions(
           R"("attributes": [ { "name": "NAS-Identifier", "match": "x", "values": [ "x" ] } ])"),
       "/network_policies/0/conditions/attributes/0: expected exactly one of \"match\" and "
       "\"values\"" +
           in_a},
      {np_conditions(R"("attributes": [ { "name": "NAS-Identifier" } ])"),
       "/network_policies/0/conditions/attributes/0: expected exactly one of \"match\" and "
       "\"values\"" +
           in_a},
      {np_conditions(R"("attributes": [ { "name": "NAS-Identifier", "regex": "x" } ])"),
       "/network_policies/0/conditions/attributes/0/regex: unknown key \"regex\" (expected one of "
       "\"name\", \"match\", \"values\")" +
           in_a},
      {np_conditions(R"("attributes": [ { "name": "NAS-Identifier", "match": "(" } ])"),
       "/network_policies/0/conditions/attributes/0/match: invalid regular expression", true},
      {np_conditions(
           R"("attributes": [ { "name": "Framed-IP-Address", "values": [ "10.0.0" ] } ])"),
       "/network_policies/0/conditions/attributes/0/values/0: expected an IPv4 address for "
       "Framed-IP-Address" +
           in_a},
      {np_conditions(
           R"("attributes": [ { "name": "Service-Type", "values": [ "Framed-User", "2" ] } ])"),
       "/network_policies/0/conditions/attributes/0/values/1: \"Framed-User\" is listed twice",
       true},
      {np_conditions(R"("attributes": [ { "name": "Service-Type", "values": [] } ])"),
       "/network_policies/0/conditions/attributes/0/values: expected a non-empty array" + in_a},

      // ---- day and time ----
      {np_conditions(R"("day_and_time": "Mon-Fri 08:00-18:00")"),
       "/network_policies/0/conditions/day_and_time: expected an array of windows or an object "
       "with \"windows\" (and \"time_zone\"), found a string" +
           in_a},
      {np_conditions(R"("day_and_time": [])"),
       "/network_policies/0/conditions/day_and_time: expected a non-empty array" + in_a},
      {np_conditions(R"("day_and_time": { "time_zone": "UTC" })"),
       "/network_policies/0/conditions/day_and_time: missing required key \"windows\"" + in_a},
      {np_conditions(R"("day_and_time": { "zone": "UTC", "windows": [ {} ] })"),
       "/network_policies/0/conditions/day_and_time/zone: unknown key \"zone\" (expected one of "
       "\"time_zone\", \"windows\")" +
           in_a},
      {np_conditions(R"("day_and_time": { "time_zone": "Europe/Pariss", "windows": [ {} ] })"),
       "/network_policies/0/conditions/day_and_time/time_zone: unknown time zone "
       "\"Europe/Pariss\": no such file in /usr/share/zoneinfo" +
           in_a},
      {np_conditions(R"("day_and_time": [ { "day": [ "Mon" ] } ])"),
       "/network_policies/0/conditions/day_and_time/0/day: unknown key \"day\" (expected one of "
       "\"days\", \"from\", \"to\")" +
           in_a},
      {np_conditions(R"("day_and_time": [ { "days": [] } ])"),
       "/network_policies/0/conditions/day_and_time/0/days: expected a non-empty array of days" +
           in_a},
      {np_conditions(R"("day_and_time": [ { "days": [ "Mun" ] } ])"),
       "/network_policies/0/conditions/day_and_time/0/days/0: expected a day (Sun, Mon, ... Sat, "
       "or full names) or a range such as \"Mon-Fri\", found \"Mun\"" +
           in_a},
      {np_conditions(R"("day_and_time": [ { "days": [ "Mon-Fro" ] } ])"),
       "/network_policies/0/conditions/day_and_time/0/days/0: expected a range of days such as "
       "\"Mon-Fri\", found \"Mon-Fro\"" +
           in_a},
      {np_conditions(R"("day_and_time": [ { "days": [ "Mon-Fri", "wednesday" ] } ])"),
       "/network_policies/0/conditions/day_and_time/0/days/1: Wed already listed" + in_a},
      {np_conditions(R"("day_and_time": [ { "days": [ "Sat", "Fri-Mon" ] } ])"),
       "/network_policies/0/conditions/day_and_time/0/days/1: Sat already listed" + in_a},
      {np_conditions(R"("day_and_time": [ { "from": "08:60" } ])"),
       "/network_policies/0/conditions/day_and_time/0/from: expected a time of day \"HH:MM\" from "
       "00:00 to 23:59, found \"08:60\"" +
           in_a},
      {np_conditions(R"("day_and_time": [ { "from": "24:00" } ])"),
       "/network_policies/0/conditions/day_and_time/0/from: expected a time of day \"HH:MM\" from "
       "00:00 to 23:59, found \"24:00\"" +
           in_a},
      {np_conditions(R"("day_and_time": [ { "to": "24:01" } ])"),
       "/network_policies/0/conditions/day_and_time/0/to: expected a time of day \"HH:MM\" from "
       "00:00 to 24:00, found \"24:01\"" +
           in_a},
      {np_conditions(R"("day_and_time": [ { "from": "0800" } ])"),
       "/network_policies/0/conditions/day_and_time/0/from: expected a time of day", true},
      {np_conditions(R"("day_and_time": [ { "from": "8:0" } ])"),
       "/network_policies/0/conditions/day_and_time/0/from: expected a time of day", true},
      {np_conditions(R"("day_and_time": [ { "from": " 8:00" } ])"),
       "/network_policies/0/conditions/day_and_time/0/from: expected a time of day", true},
      {np_conditions(R"("day_and_time": [ { "to": 18 } ])"),
       "/network_policies/0/conditions/day_and_time/0/to: expected a string, found an integer" +
           in_a},
      {np_conditions(R"("day_and_time": [ { "from": "08:00", "to": "08:00" } ])"),
       "/network_policies/0/conditions/day_and_time/0: the window from 08:00 to 08:00 is empty "
       "(\"from\" must differ from \"to\"; the whole day is 00:00 to 24:00)" +
           in_a},
      {np_conditions(R"("day_and_time": [ { "days": [ "Mon" ], "from": "08:00" },
                                           { "days": [ "monday" ], "from": "08:00", "to": "24:00" } ])"),
       "/network_policies/0/conditions/day_and_time/1: this window is listed twice (also at "
       "/network_policies/0/conditions/day_and_time/0)" +
           in_a},

      // ---- constraints ----
      {np(R"("constraints": [])"),
       "/network_policies/0/constraints: expected an object, found an array" + in_a},
      {np_constraints(R"("methods": [ "PAP" ])"),
       "/network_policies/0/constraints/methods: unknown key \"methods\" (expected one of "
       "\"authentication_methods\", \"idle_timeout\", \"session_timeout\", \"called_station_id\", "
       "\"calling_station_id\", \"day_and_time\", \"nas_port_type\", \"certificate_ekus\", "
       "\"certificate_issuer\")" +
           in_a},
      {np_constraints(R"("authentication_methods": [])"),
       "/network_policies/0/constraints/authentication_methods: expected a non-empty array" + in_a},
      {np_constraints(R"("authentication_methods": [ "EAP" ])"),
       "/network_policies/0/constraints/authentication_methods/0: expected one of \"PAP\", "
       "\"CHAP\", \"MS-CHAPv2\", \"EAP-TLS\", \"PEAP-TLS\", \"PEAP-MSCHAPv2\", \"EAP-MSCHAPv2\", "
       "found \"EAP\"" +
           in_a},
      {np_constraints(R"("authentication_methods": [ "EAP-TLS", "eap-tls" ])"),
       "/network_policies/0/constraints/authentication_methods/1: EAP-TLS is listed twice (also "
       "at /network_policies/0/constraints/authentication_methods/0)" +
           in_a},
      {np_constraints(R"("idle_timeout": 0)"),
       "/network_policies/0/constraints/idle_timeout: expected an integer from 1 to 2147483647, "
       "found 0" +
           in_a},
      {np_constraints(R"("session_timeout": 2147483648)"),
       "/network_policies/0/constraints/session_timeout: expected an integer from 1 to "
       "2147483647, found 2147483648" +
           in_a},
      {np_constraints(R"("session_timeout": "1h")"),
       "/network_policies/0/constraints/session_timeout: expected an integer from 1 to "
       "2147483647, found a string" +
           in_a},
      {np_constraints(R"("called_station_id": "(")"),
       "/network_policies/0/constraints/called_station_id: invalid regular expression", true},
      {np_constraints(R"("calling_station_id": "[")"),
       "/network_policies/0/constraints/calling_station_id: invalid regular expression", true},
      {np_constraints(R"("day_and_time": [ { "days": [ "Someday" ] } ])"),
       "/network_policies/0/constraints/day_and_time/0/days/0: expected a day", true},
      {np_constraints(R"("nas_port_type": [ "Wireless" ])"),
       "/network_policies/0/constraints/nas_port_type/0: \"Wireless\" is not a value of "
       "NAS-Port-Type" +
           in_a},

      // ---- settings ----
      {np(R"("settings": [])"),
       "/network_policies/0/settings: expected an object, found an array" + in_a},
      {np(R"("settings": { "attribute": [] })"),
       "/network_policies/0/settings/attribute: unknown key \"attribute\" (expected one of "
       "\"attributes\")" +
           in_a},
      {np(R"("settings": { "attributes": {} })"),
       "/network_policies/0/settings/attributes: expected an array, found an object" + in_a},
      {np_reply(R"({ "name": "Frobnicate", "value": "1" })"),
       "/network_policies/0/settings/attributes/0/name: unknown attribute \"Frobnicate\" (not in "
       "the dictionary)" +
           in_a},
      {np_reply(R"({ "name": "Reply-Message", "value": "hi", "vendor": 1 })"),
       "/network_policies/0/settings/attributes/0/vendor: unknown key \"vendor\" (expected one of "
       "\"name\", \"value\", \"tag\")" +
           in_a},
      {np_reply(R"({ "name": "Reply-Message" })"),
       "/network_policies/0/settings/attributes/0: missing required key \"value\"" + in_a},
      {np_reply(R"({ "name": "Reply-Message", "value": true })"),
       "/network_policies/0/settings/attributes/0/value: expected the value as a string, found a "
       "boolean" +
           in_a},
      {np_reply(R"({ "name": "Framed-IP-Address", "value": "10.0.0.256" })"),
       "/network_policies/0/settings/attributes/0/value: expected an IPv4 address for "
       "Framed-IP-Address" +
           in_a},
      {np_reply(R"({ "name": "Session-Timeout", "value": "forever" })"),
       "/network_policies/0/settings/attributes/0/value: expected", true},
      {np_reply(R"({ "name": "Tunnel-Type", "value": "VLAN", "tag": 32 })"),
       "/network_policies/0/settings/attributes/0/tag: expected an integer from 0 to 31, found 32" +
           in_a},
      {np_reply(R"({ "name": "Framed-IP-Address", "value": "10.0.0.1", "tag": 1 })"),
       "/network_policies/0/settings/attributes/0/tag: Framed-IP-Address does not take a tag" +
           in_a},
      {np_reply(R"({ "name": "Tunnel-Type", "value": "16777216", "tag": 1 })"),
       "/network_policies/0/settings/attributes/0/value: expected a value below 16777216 for "
       "Tunnel-Type, whose first byte holds the tag" +
           in_a},
      {np_reply(R"({ "name": "MS-CHAP-MPPE-Keys", "value": "0x00" })"),
       "/network_policies/0/settings/attributes/0/name: MS-CHAP-MPPE-Keys cannot be set by a "
       "policy: it is hidden with the request's password scheme (encrypt=1)" +
           in_a},
      {np_reply(R"({ "name": "Vendor-Specific", "value": "0x00000137" })"),
       "/network_policies/0/settings/attributes/0/name: Vendor-Specific cannot be given directly: "
       "name the vendor's attribute (e.g. \"MS-Primary-DNS-Server\")" +
           in_a},
      {np(R"("constraints": { "session_timeout": 3600 },
             "settings": { "attributes": [ { "name": "session-timeout", "value": "60" } ] })"),
       "/network_policies/0/settings/attributes/0/name: Session-Timeout is also set by the "
       "constraint \"session_timeout\": set it in one place" +
           in_a},
      {np(R"("settings": { "attributes": [ { "name": "Idle-Timeout", "value": "60" } ] },
             "constraints": { "idle_timeout": 600 })"),
       "/network_policies/0/settings/attributes/0/name: Idle-Timeout is also set by the "
       "constraint \"idle_timeout\": set it in one place" +
           in_a},
  };
  for (const auto& owned :
       {"Message-Authenticator", "EAP-Message", "State", "Proxy-State", "User-Password",
        "CHAP-Password", "MS-MPPE-Send-Key", "MS-MPPE-Recv-Key"}) {
    CAPTURE(owned);
    const auto e =
        policy_error_of(np_reply(std::string(R"({ "name": ")") + owned + R"(", "value": "0x00" })"));
    CHECK(e == "npsd.json: /network_policies/0/settings/attributes/0/name: " + std::string(owned) +
                   " cannot be set by a policy: npsd computes it for each reply" + in_a);
  }
  for (const auto& c : cases) {
    CAPTURE(c.config);
    const auto e = policy_error_of(c.config);
    if (c.contains) {
      CHECK_MESSAGE(e.find(c.error) != std::string::npos, e);
    } else {
      CHECK(e == "npsd.json: " + c.error);
    }
  }
}

TEST_CASE("absent connection_request_policies: the one NPS ships; empty: none at all") {
  const auto absent = parse_policy(root(""));
  REQUIRE(absent->pol.crps.size() == 1);
  const auto& d = absent->pol.crps[0];
  CHECK(d.name == "Use Windows authentication for all users");
  CHECK(d.order == 1);
  CHECK(d.enabled);
  CHECK(d.action == crp_action::authenticate);
  CHECK(d.manipulations.empty());
  CHECK_FALSE(d.cond.user_name);
  CHECK(d.cond.authentication_type.empty());
  CHECK(absent->pol.nps.empty());
  CHECK(absent->pol.zone.name() == "UTC");

  const auto empty = parse_policy(root(R"("connection_request_policies": [], "network_policies": [])"));
  CHECK(empty->pol.crps.empty());
  CHECK(empty->pol.nps.empty());
}

TEST_CASE("policies come sorted by processing order; a missing order is the array position") {
  const auto c = parse_policy(root(R"(
    "connection_request_policies": [
      { "name": "second", "order": 20 },
      { "name": "first", "order": 2 },
      { "name": "by-position" }
    ],
    "network_policies": [
      { "name": "C", "order": 300, "access": "deny" },
      { "name": "A", "order": 100, "access": "grant" },
      { "name": "B", "order": 200, "access": "grant", "enabled": false }
    ])"));
  const auto& crps = c->pol.crps;
  REQUIRE(crps.size() == 3);
  CHECK(crps[0].name == "first");
  CHECK(crps[1].name == "by-position");
  CHECK(crps[1].order == 3);
  CHECK(crps[2].name == "second");
  const auto& nps = c->pol.nps;
  REQUIRE(nps.size() == 3);
  CHECK(nps[0].name == "A");
  CHECK(nps[1].name == "B");
  CHECK_FALSE(nps[1].enabled);
  CHECK(nps[2].name == "C");
  CHECK(nps[2].permission == access::deny);
}

TEST_CASE("a network policy's defaults") {
  const auto c = parse_policy(np(R"("description": "for people")"));
  REQUIRE(c->pol.nps.size() == 1);
  const auto& p = c->pol.nps[0];
  CHECK(p.name == "A");
  CHECK(p.order == 1);
  CHECK(p.enabled);
  CHECK(p.permission == access::grant);
  CHECK_FALSE(p.ignore_dial_in);
  CHECK(p.cons.methods.empty());
  CHECK_FALSE(p.cons.session_timeout);
  CHECK_FALSE(p.cons.idle_timeout);
  CHECK_FALSE(p.cons.day_and_time);
  CHECK_FALSE(p.cons.nas_port_type);
  CHECK(p.set.attributes.empty());
  CHECK_FALSE(p.cond.needs_account());
  CHECK(p.cond.attributes.empty());
}

TEST_CASE("conditions are parsed into their model form") {
  const auto c = parse_policy(np(R"("ignore_dial_in": true, "conditions": {
      "windows_groups": [ "VPN Users", "CN=VPN Admins,OU=Groups,DC=example,DC=com" ],
      "user_groups": [ "CN=Smith\\, John,OU=People,DC=example,DC=com" ],
      "machine_groups": [ "Domain Computers" ],
      "user_name": "^[a-z]+@example\\.com$",
      "nas_port_type": [ "virtual", 15 ],
      "tunnel_type": [ "VLAN" ],
      "framed_protocol": [ "PPP" ],
      "service_type": [ "Framed-User", 8 ],
      "called_station_id": "-SSID$",
      "calling_station_id": "^00-11",
      "nas_identifier": "^rras",
      "client_friendly_name": "rras1",
      "client_vendor": "Microsoft",
      "ms_ras_vendor": "^311$",
      "nas_ipv4_address": [ "10.0.0.0/8", "192.0.2.1" ],
      "nas_ipv6_address": [ "2001:db8::/32" ],
      "client_ip_address": [ "10.0.0.0/24", "2001:db8::1" ],
      "authentication_type": [ "eap", "MS-CHAPv2" ],
      "allowed_eap_types": [ "peap", "EAP-TLS", "eap-mschapv2", 21 ],
      "attributes": [ { "name": "service-type", "values": [ "framed-user", "8" ] },
                      { "name": "NAS-Identifier", "match": "^ap-" } ]
    })"));
  const auto& p = c->pol.nps.at(0);
  CHECK(p.ignore_dial_in);
  const auto& k = p.cond;
  REQUIRE(k.windows_groups.size() == 2);
  CHECK(k.windows_groups[0].text == "VPN Users");
  CHECK_FALSE(k.windows_groups[0].is_dn);
  CHECK(k.windows_groups[1].is_dn);
  REQUIRE(k.user_groups.size() == 1);
  CHECK(k.user_groups[0].text == "CN=Smith\\, John,OU=People,DC=example,DC=com");
  CHECK(k.user_groups[0].is_dn);
  CHECK(k.machine_groups.size() == 1);
  CHECK(k.needs_account());
  REQUIRE(k.user_name);
  CHECK(k.user_name->pattern == "^[a-z]+@example\\.com$");
  CHECK(k.user_name->matches("Alice@EXAMPLE.com"));  // case-insensitive
  CHECK_FALSE(k.user_name->matches("alice@example.org"));
  REQUIRE(k.nas_port_type);
  CHECK(k.nas_port_type->values == std::vector<std::uint32_t>{5, 15});
  CHECK(k.tunnel_type->values == std::vector<std::uint32_t>{13});
  CHECK(k.framed_protocol->values == std::vector<std::uint32_t>{1});
  CHECK(k.service_type->values == std::vector<std::uint32_t>{2, 8});
  CHECK(k.called_station_id->matches("00-11-22-33-44-55:corp-ssid"));
  CHECK(k.calling_station_id->matches("00-11-22-33-44-55"));
  CHECK(k.nas_identifier->matches("RRAS1"));
  CHECK(k.client_friendly_name->matches("rras1"));
  CHECK(k.client_vendor->matches("microsoft"));
  CHECK(k.ms_ras_vendor->matches("311"));
  CHECK_FALSE(k.ms_ras_vendor->matches("3110"));
  REQUIRE(k.nas_ipv4_address.size() == 2);
  CHECK(k.nas_ipv4_address[1].to_string() == "192.0.2.1/32");
  CHECK(k.nas_ipv6_address.at(0).to_string() == "2001:db8::/32");
  CHECK(k.client_ip_address.at(1).address.v6);
  CHECK(k.authentication_type == std::vector<auth_type>{auth_type::eap, auth_type::mschapv2});
  CHECK(k.allowed_eap_types == std::vector<std::uint8_t>{25, 13, 26, 21});
  REQUIRE(k.attributes.size() == 2);
  REQUIRE(k.attributes[0].def != nullptr);
  CHECK(k.attributes[0].def->name == "Service-Type");
  CHECK_FALSE(k.attributes[0].match);
  CHECK(k.attributes[0].values == std::vector<std::string>{"Framed-User", "Authenticate-Only"});
  CHECK(k.attributes[1].def->name == "NAS-Identifier");
  REQUIRE(k.attributes[1].match);
  CHECK(k.attributes[1].match->matches("AP-12"));
  CHECK(k.attributes[1].values.empty());
}

TEST_CASE("day-and-time windows: days, ranges, defaults, zones") {
  const auto c = parse_policy(root(R"("time_zone": "Europe/Paris", "network_policies": [
    { "name": "A", "access": "grant", "conditions": { "day_and_time": [
        { "days": [ "Mon-Fri" ], "from": "08:00", "to": "18:30" },
        { "days": [ "saturday", "Sun" ], "from": "9:15" },
        { "days": [ "Fri-Mon" ], "from": "22:00", "to": "06:00" },
        { "to": "00:01" } ] } },
    { "name": "B", "access": "grant", "constraints": { "day_and_time":
        { "time_zone": "America/New_York", "windows": [ { "days": [ "Wed" ] } ] } } }
  ])"));
  CHECK(c->pol.zone.name() == "Europe/Paris");
  const auto& nps = c->pol.nps;
  REQUIRE(nps.size() == 2);
  const auto& dt = *nps[0].cond.day_and_time;
  CHECK(dt.zone.name() == "Europe/Paris");  // the root's zone by default
  REQUIRE(dt.windows.size() == 4);
  CHECK(dt.windows[0].days == 0x3E);  // Mon..Fri
  CHECK(dt.windows[0].from_minute == 480);
  CHECK(dt.windows[0].to_minute == 1110);
  CHECK(dt.windows[1].days == 0x41);  // Sat, Sun
  CHECK(dt.windows[1].from_minute == 555);
  CHECK(dt.windows[1].to_minute == 1440);
  CHECK(dt.windows[2].days == 0x63);  // Fri, Sat, Sun, Mon
  CHECK(dt.windows[2].from_minute == 1320);
  CHECK(dt.windows[2].to_minute == 360);
  CHECK(dt.windows[3].days == 0x7F);  // every day by default
  CHECK(dt.windows[3].from_minute == 0);
  CHECK(dt.windows[3].to_minute == 1);
  // Monday 2024-07-01 06:30 UTC is 08:30 in Paris.
  CHECK(dt.allows(utc(2024, 7, 1, 6, 30)));
  const auto& ny = *nps[1].cons.day_and_time;
  CHECK(ny.zone.name() == "America/New_York");
  CHECK(ny.windows.at(0).days == 0x08);
  // Thursday 2024-07-04 03:00 UTC is still Wednesday 23:00 in New York.
  CHECK(ny.allows(utc(2024, 7, 4, 3, 0)));
  CHECK_FALSE(ny.allows(utc(2024, 7, 4, 4, 0)));
  CHECK_FALSE(nps[1].cond.day_and_time);
}

TEST_CASE("constraints are parsed") {
  const auto c = parse_policy(np_constraints(R"(
      "authentication_methods": [ "peap-mschapv2", "EAP-TLS" ],
      "idle_timeout": 900, "session_timeout": 28800,
      "called_station_id": ":corp$", "calling_station_id": "^00",
      "day_and_time": [ { "days": [ "Mon" ] } ],
      "nas_port_type": [ "Ethernet", "Wireless-802.11" ])"));
  const auto& k = c->pol.nps.at(0).cons;
  CHECK(k.methods == std::vector<auth_method>{auth_method::peap_mschapv2, auth_method::eap_tls});
  CHECK(k.idle_timeout == 900u);
  CHECK(k.session_timeout == 28800u);
  CHECK(k.called_station_id->matches("aa:CORP"));
  CHECK(k.calling_station_id->matches("00-11"));
  CHECK(k.day_and_time->zone.name() == "UTC");
  CHECK(k.nas_port_type->values == std::vector<std::uint32_t>{15, 19});
}

TEST_CASE("reply attributes: VLAN assignment with tags, a vendor attribute, Tunnel-Password") {
  const auto c = parse_policy(np(R"(
    "constraints": { "idle_timeout": 600 },
    "settings": { "attributes": [
      { "name": "Tunnel-Type", "value": "VLAN", "tag": 1 },
      { "name": "tunnel-medium-type", "value": "IEEE-802", "tag": 1 },
      { "name": "Tunnel-Private-Group-Id", "value": "100", "tag": 1 },
      { "name": "MS-Primary-DNS-Server", "value": "192.0.2.53" },
      { "name": "Tunnel-Password", "value": "s3cret", "tag": 2 },
      { "name": "Session-Timeout", "value": 3600 },
      { "name": "Reply-Message", "value": "Welcome" },
      { "name": "Tunnel-Private-Group-Id", "value": "VLAN-X" }
    ] })"));
  const auto& a = c->pol.nps.at(0).set.attributes;
  REQUIRE(a.size() == 8);
  using b = npsd::radius::bytes;
  CHECK(a[0].def->name == "Tunnel-Type");
  CHECK(a[0].tag == 1);
  CHECK(a[0].text == "VLAN");
  CHECK(a[0].value == b{1, 0, 0, 13});
  CHECK(a[1].def->name == "Tunnel-Medium-Type");
  CHECK(a[1].value == b{1, 0, 0, 6});
  CHECK(a[2].value == b{1, '1', '0', '0'});
  CHECK(a[3].def->vendor == 311);
  CHECK(a[3].value == b{192, 0, 2, 53});
  CHECK(a[4].def->encrypt == 2);
  CHECK(a[4].tag == 2);
  CHECK(a[4].value == b{2, 's', '3', 'c', 'r', 'e', 't'});  // plaintext: encrypted per reply
  CHECK(a[5].text == "3600");
  CHECK(a[5].value == b{0, 0, 0x0e, 0x10});
  CHECK(a[6].value == b{'W', 'e', 'l', 'c', 'o', 'm', 'e'});
  CHECK(a[7].tag == 0);
  CHECK(a[7].value == b{'V', 'L', 'A', 'N', '-', 'X'});  // tag 0 left out: 'V' is above 0x1F
}

TEST_CASE("connection request policies: actions and manipulations") {
  const auto c = parse_policy(root(R"("connection_request_policies": [
    { "name": "guests", "order": 1, "action": "accept_without_credentials",
      "conditions": { "authentication_type": [ "PAP", "unauthenticated" ],
                      "called_station_id": ":guest$" } },
    { "name": "blocked", "order": 2, "action": "reject", "enabled": false },
    { "name": "strip realm", "order": 3, "description": "user@realm -> user",
      "conditions": { "user_name": "@", "day_and_time": [ { "days": [ "Mon" ] } ] },
      "manipulations": [
        { "attribute": "User-Name", "find": "^(.*)@(.*)$", "replace": "$1" },
        { "attribute": "Called-Station-Id", "find": "-", "replace": ":" },
        { "attribute": "Calling-Station-Id", "find": "x", "replace": "$$ $& ${0}" } ] }
  ])"));
  const auto& crps = c->pol.crps;
  REQUIRE(crps.size() == 3);
  CHECK(crps[0].action == crp_action::accept_without_credentials);
  CHECK(crps[0].cond.authentication_type ==
        std::vector<auth_type>{auth_type::pap, auth_type::unauthenticated});
  CHECK(crps[1].action == crp_action::reject);
  CHECK_FALSE(crps[1].enabled);
  CHECK(crps[2].action == crp_action::authenticate);
  REQUIRE(crps[2].manipulations.size() == 3);
  CHECK(crps[2].manipulations[0].attribute == 1);
  CHECK(crps[2].manipulations[0].replace == "$1");
  CHECK(crps[2].manipulations[0].find.matches("alice@example.com"));
  CHECK(crps[2].manipulations[1].attribute == 30);
  CHECK(crps[2].manipulations[2].attribute == 31);
  CHECK(crps[2].cond.day_and_time->windows.at(0).days == 0x02);
}

TEST_CASE("a CRP and a network policy may share a name; orders are per kind") {
  const auto c = parse_policy(root(R"(
    "connection_request_policies": [ { "name": "VPN", "order": 1 } ],
    "network_policies": [ { "name": "VPN", "order": 1, "access": "grant" } ])"));
  CHECK(c->pol.crps.at(0).name == "VPN");
  CHECK(c->pol.nps.at(0).name == "VPN");
}

TEST_CASE("compile_regex: Perl syntax, case-insensitive, searched anywhere") {
  const nlohmann::json j = "^host/[^.]+\\.example\\.com$";
  const auto m = compile_regex(json_reader(j, "/x"));
  CHECK(m.pattern == "^host/[^.]+\\.example\\.com$");
  CHECK(m.matches("HOST/pc1.Example.COM"));
  CHECK_FALSE(m.matches("host/pc1.example.com.evil"));
  const nlohmann::json bad = "a(?<";
  CHECK_THROWS_AS(compile_regex(json_reader(bad, "/x")), config_error);
}

TEST_CASE("a condition cannot match a secret attribute (its hidden value would reach the trace)") {
  for (const auto& secret : {"User-Password", "Tunnel-Password", "MS-MPPE-Send-Key"}) {
    CAPTURE(secret);
    for (const auto& how : {R"("match": "x")", R"("values": [ "x" ])"}) {
      const auto e = policy_error_of(np_conditions(std::string(R"("attributes": [ { "name": ")") +
                                            secret + "\", " + how + " } ]"));
      CHECK(e == "npsd.json: /network_policies/0/conditions/attributes/0/name: " +
                     std::string(secret) + " cannot be matched: its value is secret" + in_a);
    }
  }
  // a dictionary's "secret" flag counts too
  auto dict = npsd::radius::dictionary::parse("ATTRIBUTE Token 200 string secret\n", "tiny");
  REQUIRE(dict);
  const auto j = nlohmann::json::parse(R"({ "connection_request_policies": [ { "name": "C",
      "conditions": { "attributes": [ { "name": "Token", "match": "." } ] } } ] })");
  try {
    (void)read_policies(json_reader(j, ""), *dict);
    FAIL("expected a config_error");
  } catch (const config_error& e) {
    CHECK(std::string(e.what()) ==
          "/connection_request_policies/0/conditions/attributes/0/name: Token cannot be matched: "
          "its value is secret (connection request policy \"C\")");
  }
}

TEST_CASE("a reply attribute that npsd cannot hide (encrypt=3) is refused, not sent in clear") {
  auto dict = npsd::radius::dictionary::parse(
      "ATTRIBUTE Ascend-Send-Secret 214 string encrypt=3\n"
      "ATTRIBUTE Tunnel-Password 69 string has_tag,encrypt=2\n",
      "tiny");
  REQUIRE(dict);
  const auto j = nlohmann::json::parse(R"({ "network_policies": [ { "name": "A",
      "access": "grant", "settings": { "attributes": [
        { "name": "Ascend-Send-Secret", "value": "s3cret" } ] } } ] })");
  try {
    (void)read_policies(json_reader(j, ""), *dict);
    FAIL("expected a config_error");
  } catch (const config_error& e) {
    CHECK(std::string(e.what()) ==
          "/network_policies/0/settings/attributes/0/name: Ascend-Send-Secret cannot be set by a "
          "policy: npsd cannot hide it (encrypt=3) and will not send it in the clear (network "
          "policy \"A\")");
  }
  // salt encryption (encrypt=2) is applied per reply: accepted
  const auto ok = nlohmann::json::parse(R"({ "network_policies": [ { "name": "A",
      "access": "grant", "settings": { "attributes": [
        { "name": "Tunnel-Password", "value": "s3cret", "tag": 1 } ] } } ] })");
  CHECK(read_policies(json_reader(ok, ""), *dict).nps.at(0).set.attributes.size() == 1);
}

TEST_CASE("read_policies against a dictionary that lacks an attribute a condition needs") {
  auto dict = npsd::radius::dictionary::parse("ATTRIBUTE User-Name 1 string\n", "tiny");
  REQUIRE(dict);
  const auto j = nlohmann::json::parse(R"({ "network_policies": [ { "name": "A",
      "access": "grant", "conditions": { "nas_port_type": [ "Virtual" ] } } ] })");
  try {
    (void)read_policies(json_reader(j, ""), *dict);
    FAIL("expected a config_error");
  } catch (const config_error& e) {
    CHECK(std::string(e.what()) ==
          "/network_policies/0/conditions/nas_port_type: the dictionary has no attribute "
          "NAS-Port-Type (network policy \"A\")");
  }
  const auto ok = nlohmann::json::parse(R"({ "network_policies": [ { "name": "A",
      "access": "grant", "conditions": { "user_name": "^a" } } ] })");
  const auto p = read_policies(json_reader(ok, ""), *dict);
  CHECK(p.nps.at(0).cond.user_name->matches("alice"));
}
