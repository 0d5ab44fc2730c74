#pragma once
// The policy model in NPS terms: connection request policies (CRP) and network policies (NP),
// each with a unique name, a processing order and an enabled flag; conditions, constraints
// and settings. Parsed and validated once (policy_config.cc) against the dictionary; then
// immutable and shared by every request.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/regex.hpp>

#include "policy/ip.h"
#include "policy/time_zone.h"
#include "radius/dictionary.h"

namespace npsd::policy {

// A case-insensitive regular expression, matched anywhere in the value (NPS's MATCH()),
// anchored with ^ and $ where the administrator wants. Boost.Regex (Perl syntax): no
// recursion, and a match that would take too long fails instead of hanging.
struct regex_match {
  std::string pattern;
  boost::regex re;
  bool matches(std::string_view value) const;  // false (not a throw) when too complex
};

// Authentication methods, as NPS names them on a network policy's constraints.
enum class auth_method : std::uint8_t {
  pap,
  chap,
  mschapv2,
  eap_tls,        // EAP-TLS ("Smart Card or other certificate")
  peap_tls,       // PEAP with inner EAP-TLS (Always On VPN)
  peap_mschapv2,  // PEAP with inner EAP-MSCHAPv2
  eap_mschapv2,
};
std::string_view auth_method_name(auth_method m) noexcept;  // "PAP", "EAP-TLS", "PEAP-TLS", ...
std::optional<auth_method> parse_auth_method(std::string_view s) noexcept;  // case-insensitive

// NPS "Authentication Type" condition values.
enum class auth_type : std::uint8_t { pap, chap, mschapv2, eap, unauthenticated };
std::string_view auth_type_name(auth_type t) noexcept;  // "PAP", "CHAP", "MS-CHAPv2", "EAP", ...
std::optional<auth_type> parse_auth_type(std::string_view s) noexcept;
auth_type auth_type_of(auth_method m) noexcept;  // EAP and PEAP methods -> eap

// EAP types (IANA numbers) for the "Allowed EAP Types" condition.
inline constexpr std::uint8_t eap_type_tls = 13;
inline constexpr std::uint8_t eap_type_peap = 25;
inline constexpr std::uint8_t eap_type_mschapv2 = 26;
std::optional<std::uint8_t> eap_type_of(auth_method m) noexcept;  // outer EAP type, if EAP

// Integer attribute values as a set, given in the file by dictionary VALUE name or number.
struct value_set {
  std::vector<std::uint32_t> values;
  bool contains(std::uint32_t v) const noexcept;
};

// Day-and-time restrictions: the request's local time (in the zone) must fall in one window.
struct day_time_window {
  std::uint8_t days = 0;           // bit 0 = Sunday ... bit 6 = Saturday
  std::uint16_t from_minute = 0;   // minutes after midnight, inclusive
  std::uint16_t to_minute = 1440;  // exclusive; from > to spans midnight
};
struct day_time {
  time_zone zone;
  std::vector<day_time_window> windows;
  bool allows(std::chrono::system_clock::time_point t) const;
};

// A group named by name ("VPN Users") or by DN ("CN=VPN Users,OU=Groups,DC=example,DC=com").
struct group_ref {
  std::string text;
  bool is_dn = false;  // contains '=': compared with the group DN, case-insensitively
};

// Any dictionary attribute, matched by regex on its formatted value or by a set of values.
struct attribute_condition {
  const radius::attribute_def* def = nullptr;  // lives as long as the config's dictionary
  std::optional<regex_match> match;            // exactly one of match / values
  std::vector<std::string> values;             // formatted values, compared case-insensitively
};

struct conditions {
  std::vector<group_ref> windows_groups;  // user or machine account
  std::vector<group_ref> user_groups;     // user accounts only
  std::vector<group_ref> machine_groups;  // machine accounts only (host/..., name$)
  std::optional<regex_match> user_name;
  std::optional<day_time> day_and_time;
  std::optional<value_set> nas_port_type;
  std::optional<value_set> tunnel_type;
  std::optional<value_set> framed_protocol;
  std::optional<value_set> service_type;
  std::optional<regex_match> called_station_id;
  std::optional<regex_match> calling_station_id;
  std::optional<regex_match> nas_identifier;
  std::optional<regex_match> client_friendly_name;
  std::optional<regex_match> client_vendor;
  std::optional<regex_match> ms_ras_vendor;  // MS-RAS-Vendor (311/9) as a decimal number
  std::vector<ip_prefix> nas_ipv4_address;   // NAS-IP-Address within any of these
  std::vector<ip_prefix> nas_ipv6_address;   // NAS-IPv6-Address within any of these
  std::vector<ip_prefix> client_ip_address;  // the RADIUS client's source address
  std::vector<auth_type> authentication_type;  // empty = any
  std::vector<std::uint8_t> allowed_eap_types;  // empty = any; the request's EAP type must be in it
  std::vector<attribute_condition> attributes;

  bool needs_account() const noexcept {
    return !windows_groups.empty() || !user_groups.empty() || !machine_groups.empty();
  }
};

enum class crp_action : std::uint8_t {
  authenticate,                // authenticate requests on this server
  accept_without_credentials,  // NPS "accept users without validating credentials" (PAP/CHAP only)
  reject,
};
std::string_view crp_action_name(crp_action a) noexcept;

// Attribute manipulation: find/replace (regex, $1-style references) before authentication.
struct manipulation {
  std::uint8_t attribute = 1;  // User-Name (1), Called-Station-Id (30), Calling-Station-Id (31)
  regex_match find;
  std::string replace;
};

struct connection_request_policy {
  std::string name;
  int order = 0;
  bool enabled = true;
  conditions cond;
  crp_action action = crp_action::authenticate;
  std::vector<manipulation> manipulations;  // applied in order
};

struct constraints {
  std::vector<auth_method> methods;  // allowed authentication methods; empty = any
  std::optional<std::uint32_t> idle_timeout;     // seconds, returned as Idle-Timeout
  std::optional<std::uint32_t> session_timeout;  // seconds, returned as Session-Timeout
  std::optional<regex_match> called_station_id;   // failing: reason 69
  std::optional<regex_match> calling_station_id;  // failing: reason 67
  std::optional<day_time> day_and_time;           // failing: reason 68
  std::optional<value_set> nas_port_type;         // failing: reason 70
  // The client certificate (EAP-TLS, PEAP-TLS): every one of these EKU OIDs (e.g. Entra ID's
  // 1.3.6.1.4.1.311.87), failing: 283; an issuer DN matching this, failing: 265. A request
  // without a certificate fails either with 285.
  std::vector<std::string> certificate_ekus;
  std::optional<regex_match> certificate_issuer;
};

// One RADIUS attribute to return, checked against the dictionary when loaded. The value is
// kept in wire form (tag byte included for has_tag string attributes, tag in the high byte for
// has_tag integers); encrypted attributes (encrypt=2, e.g. Tunnel-Password) are encrypted per
// reply with the request's authenticator.
struct reply_attribute {
  const radius::attribute_def* def = nullptr;
  std::uint8_t tag = 0;
  std::string text;   // as configured, for display
  radius::bytes value;  // wire value before any encryption
};

struct settings {
  std::vector<reply_attribute> attributes;
};

enum class access : std::uint8_t { grant, deny };

struct network_policy {
  std::string name;
  int order = 0;
  bool enabled = true;
  conditions cond;
  access permission = access::grant;
  bool ignore_dial_in = false;  // "ignore user account dial-in properties"
  constraints cons;
  settings set;
};

struct policies {
  time_zone zone;  // default zone of day-and-time rules
  std::vector<connection_request_policy> crps;  // sorted by processing order
  std::vector<network_policy> nps;              // sorted by processing order
};

}  // namespace npsd::policy
