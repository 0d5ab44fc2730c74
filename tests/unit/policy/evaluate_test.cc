#include "policy/evaluate.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "policy/config.h"
#include "radius/dictionary.h"
#include "radius/value.h"
#include "time_helpers.h"

using namespace npsd::policy;
namespace radius = npsd::radius;
using npsd::ldap::account;
using npsd::ldap::dial_in;
using npsd::ldap::group;
// POSIX access() hides the enum's plain name once everything is in scope.
using permit = npsd::policy::access;

using npsd::test::weekdays;
using npsd::test::zone;

namespace {

namespace attr = radius::attr;
using namespace std::chrono_literals;
using clock_time = std::chrono::system_clock::time_point;

const radius::dictionary& dict() {
  static const radius::dictionary d = [] {
    auto loaded = radius::dictionary::load_directory(NPSD_DICTIONARY_DIR);
    if (!loaded) FAIL("dictionary: " << loaded.error().to_string());
    return std::move(loaded).value();
  }();
  return d;
}

const radius::attribute_def& def(std::string_view name) {
  const auto* d = dict().find(name);
  REQUIRE_MESSAGE(d != nullptr, name);
  return *d;
}

regex_match rx(const std::string& p) {
  return {p, boost::regex(p, boost::regex::perl | boost::regex::icase)};
}

ip_prefix prefix(std::string_view text) {
  const auto p = ip_prefix::parse(text);
  REQUIRE_MESSAGE(p.has_value(), text);
  return *p;
}

ip_address address(std::string_view text) {
  const auto a = ip_address::parse(text);
  REQUIRE_MESSAGE(a.has_value(), text);
  return *a;
}

clock_time at(std::chrono::year_month_day day, std::chrono::minutes time_of_day) {
  return std::chrono::sys_days(day) + time_of_day;
}

using std::chrono::June;
// Wednesday 5 June 2024, 10:00 UTC = 12:00 in Paris (CEST).
const clock_time wednesday_noon_paris = at(2024y / June / 5, 10h);
// Saturday 8 June 2024, 21:10 UTC = 23:10 in Paris.
const clock_time saturday_night_paris = at(2024y / June / 8, 21h + 10min);

constexpr std::uint8_t friday = 1u << 5;

day_time office_hours_paris() {
  return {zone("Europe/Paris"), {{weekdays, 8 * 60, 18 * 60}}};
}

radius::bytes be32(std::uint32_t v) {
  return {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
          static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}

radius::bytes text_bytes(std::string_view s) { return {s.begin(), s.end()}; }

void remove(radius::packet& p, std::uint8_t type) {
  std::erase_if(p.attributes, [type](const radius::attribute& a) { return a.type == type; });
}

void set(radius::packet& p, std::uint8_t type, std::string_view v) {
  remove(p, type);
  p.add(type, v);
}

void set_u32(radius::packet& p, std::uint8_t type, std::uint32_t v) {
  remove(p, type);
  p.add_uint32(type, v);
}

void set_bytes(radius::packet& p, std::uint8_t type, const radius::bytes& v) {
  remove(p, type);
  p.add(type, radius::byte_view(v));
}

// Microsoft vendor-specific attributes (vendor 311, one-byte type and length).
constexpr std::uint32_t ms_ras_vendor = 9;
constexpr std::uint32_t ms_chap2_response = 25;
constexpr std::uint32_t ms_ras_client_name = 34;
constexpr std::uint32_t ms_network_access_server_type = 47;

void remove_ms(radius::packet& p, std::uint32_t type) {
  std::erase_if(p.attributes, [type](const radius::attribute& a) {
    return a.type == attr::vendor_specific && a.value.size() >= 5 && a.value[3] == 0x37 &&
           a.value[2] == 0x01 && a.value[4] == type;
  });
}

void set_ms(radius::packet& p, std::uint32_t type, const radius::bytes& v) {
  remove_ms(p, type);
  p.add(attr::vendor_specific, radius::byte_view(radius::make_vsa(311, type, v)));
}

const radius::bytes eap_identity_alice = {2, 1, 0, 10, 1, 'a', 'l', 'i', 'c', 'e'};
const radius::bytes eap_tls_start_response = {2, 2, 0, 6, 13, 0};  // EAP-Response/EAP-TLS
const radius::bytes eap_peap_response = {2, 2, 0, 6, 25, 0};       // EAP-Response/PEAP

group vpn_users() { return {"VPN Users", "CN=VPN Users,OU=Groups,DC=example,DC=com"}; }
group domain_users() { return {"Domain Users", "CN=Domain Users,CN=Users,DC=example,DC=com"}; }
group vpn_devices() { return {"VPN Devices", "CN=VPN Devices,OU=Groups,DC=example,DC=com"}; }

account alice() {
  account a;
  a.name = "alice";
  a.dn = "CN=Alice,OU=People,DC=example,DC=com";
  a.groups = {domain_users(), vpn_users()};
  return a;
}

account machine(std::string name, std::vector<group> groups) {
  account a;
  a.name = std::move(name);
  a.machine = true;
  a.groups = std::move(groups);
  return a;
}

// One request as the engine sees it, owning everything request_facts points to.
struct request_env {
  radius::packet pkt;
  client_config client;
  ip_address client_address;
  std::optional<auth_method> method;
  std::optional<std::uint8_t> eap_type;
  clock_time now;
  std::optional<account> acct;

  request_facts facts() const {
    request_facts f;
    f.packet = &pkt;
    f.dict = &dict();
    f.client = &client;
    f.client_address = client_address;
    f.method = method;
    f.eap_type = eap_type;
    f.now = now;
    return f;
  }
  const account* user() const { return acct ? &*acct : nullptr; }
};

// What RRAS sends for an IKEv2 connection (first round: EAP-Response/Identity), from an
// authenticated user alice in VPN Users.
request_env rras_request() {
  request_env e;
  auto& p = e.pkt;
  p.code = radius::code::access_request;
  p.add(attr::user_name, "alice@example.com");
  p.add_uint32(attr::nas_ip_address, 0x0a010101);  // 10.1.1.1
  const auto v6 = address("2001:db8:0:1::1");
  p.add(attr::nas_ipv6_address, radius::byte_view(v6.bytes.data(), 16));
  p.add(attr::nas_identifier, "rras1");
  p.add_uint32(attr::nas_port_type, 5);    // Virtual
  p.add_uint32(attr::service_type, 2);     // Framed-User
  p.add_uint32(attr::framed_protocol, 1);  // PPP
  p.add_uint32(attr::tunnel_type, 0x01000003);  // tag 1, L2TP
  p.add_uint32(12, 1400);                       // Framed-MTU
  p.add(attr::called_station_id, "203.0.113.10");
  p.add(attr::calling_station_id, "198.51.100.7");
  p.add(attr::eap_message, radius::byte_view(eap_identity_alice));
  set_ms(p, ms_ras_vendor, be32(311));
  set_ms(p, ms_ras_client_name, text_bytes("WIN-LAPTOP7"));
  set_ms(p, ms_network_access_server_type, be32(2));  // Remote-Access-Server
  p.add(66, "\x01" "192.0.2.7");  // Tunnel-Client-Endpoint, tag 1
  e.client.name = "rras1";
  e.client.vendor = "Microsoft";
  e.client.address = prefix("10.0.0.0/24");
  e.client_address = address("10.0.0.5");
  e.now = wednesday_noon_paris;
  e.acct = alice();
  return e;
}

std::string verdict(const std::optional<std::string>& why) { return why ? *why : "matches"; }

std::string failing(const conditions& c, const request_env& e) {
  return verdict(first_failing_condition(c, e.facts(), e.user()));
}

group_ref name_ref(std::string s) { return {std::move(s), false}; }
group_ref dn_ref(std::string s) { return {std::move(s), true}; }

attribute_condition attribute_regex(std::string_view name, const std::string& re) {
  attribute_condition a;
  a.def = &def(name);
  a.match = rx(re);
  return a;
}

attribute_condition attribute_values(std::string_view name, std::vector<std::string> values) {
  attribute_condition a;
  a.def = &def(name);
  a.values = std::move(values);
  return a;
}

struct condition_case {
  const char* name;
  std::function<void(conditions&)> set;
  std::function<void(request_env&)> match;     // on top of rras_request(); null: as it is
  std::function<void(request_env&)> mismatch;  // on top of rras_request()
  std::string sentence;                        // why the mismatch fails
  bool ordered = false;  // one per condition, in evaluation order (see the ordering test)
};

std::vector<condition_case> condition_cases() {
  const auto no_account = [](request_env& e) { e.acct.reset(); };
  return {
      {"client_friendly_name", [](conditions& c) { c.client_friendly_name = rx("^rras"); }, {},
       [](request_env& e) { e.client.name = "wifi-ap"; },
       R"(Client-Friendly-Name "wifi-ap" does not match ^rras)", true},
      {"client_vendor", [](conditions& c) { c.client_vendor = rx("^Microsoft$"); }, {},
       [](request_env& e) { e.client.vendor = "RADIUS Standard"; },
       R"(Client-Vendor "RADIUS Standard" does not match ^Microsoft$)", true},
      {"client_ip_address (IPv4)",
       [](conditions& c) { c.client_ip_address = {prefix("10.0.0.0/8")}; }, {},
       [](request_env& e) { e.client_address = address("127.0.0.2"); },
       "Client-IPv4-Address 127.0.0.2 is not in 10.0.0.0/8", true},
      {"client_ip_address (IPv6)",
       [](conditions& c) { c.client_ip_address = {prefix("2001:db8::/32")}; },
       [](request_env& e) { e.client_address = address("2001:db8::5"); },
       [](request_env& e) { e.client_address = address("2001:db9::1"); },
       "Client-IPv6-Address 2001:db9::1 is not in 2001:db8::/32"},
      {"nas_ipv4_address",
       [](conditions& c) {
         c.nas_ipv4_address = {prefix("10.1.0.0/16"), prefix("192.168.0.0/16")};
       },
       {}, [](request_env& e) { set_u32(e.pkt, attr::nas_ip_address, 0x0a020101); },
       "NAS-IPv4-Address 10.2.1.1 is not in any of 10.1.0.0/16, 192.168.0.0/16", true},
      {"nas_ipv4_address (absent)",
       [](conditions& c) { c.nas_ipv4_address = {prefix("10.1.0.0/16")}; }, {},
       [](request_env& e) { remove(e.pkt, attr::nas_ip_address); },
       "NAS-IPv4-Address is absent"},
      {"nas_ipv6_address",
       [](conditions& c) { c.nas_ipv6_address = {prefix("2001:db8:0:1::/64")}; }, {},
       [](request_env& e) {
         const auto a = address("2001:db8:0:2::1");
         set_bytes(e.pkt, attr::nas_ipv6_address, {a.bytes.begin(), a.bytes.end()});
       },
       "NAS-IPv6-Address 2001:db8:0:2::1 is not in 2001:db8:0:1::/64", true},
      {"nas_identifier", [](conditions& c) { c.nas_identifier = rx("^rras"); }, {},
       [](request_env& e) { set(e.pkt, attr::nas_identifier, "wlc-1"); },
       R"(NAS-Identifier "wlc-1" does not match ^rras)", true},
      {"nas_port_type", [](conditions& c) { c.nas_port_type = value_set{{5}}; }, {},
       [](request_env& e) { set_u32(e.pkt, attr::nas_port_type, 15); },
       "NAS-Port-Type is Ethernet (15), not one of Virtual (5)", true},
      {"nas_port_type (absent)", [](conditions& c) { c.nas_port_type = value_set{{5}}; }, {},
       [](request_env& e) { remove(e.pkt, attr::nas_port_type); }, "NAS-Port-Type is absent"},
      {"nas_port_type (a value without a name)",
       [](conditions& c) { c.nas_port_type = value_set{{19, 5}}; }, {},
       [](request_env& e) { set_u32(e.pkt, attr::nas_port_type, 99); },
       "NAS-Port-Type is 99, not one of Wireless-802.11 (19), Virtual (5)"},
      {"service_type", [](conditions& c) { c.service_type = value_set{{2}}; }, {},
       [](request_env& e) { set_u32(e.pkt, attr::service_type, 1); },
       "Service-Type is Login-User (1), not one of Framed-User (2)", true},
      {"framed_protocol", [](conditions& c) { c.framed_protocol = value_set{{1}}; }, {},
       [](request_env& e) { set_u32(e.pkt, attr::framed_protocol, 2); },
       "Framed-Protocol is SLIP (2), not one of PPP (1)", true},
      {"tunnel_type (tag in the high byte is ignored)",
       [](conditions& c) { c.tunnel_type = value_set{{3}}; }, {},
       [](request_env& e) { set_u32(e.pkt, attr::tunnel_type, 0x01000001); },
       "Tunnel-Type is PPTP (1), not one of L2TP (3)", true},
      {"tunnel_type (untagged)", [](conditions& c) { c.tunnel_type = value_set{{3}}; },
       [](request_env& e) { set_u32(e.pkt, attr::tunnel_type, 3); },
       [](request_env& e) { set_u32(e.pkt, attr::tunnel_type, 0x0300000d); },
       "Tunnel-Type is VLAN (13), not one of L2TP (3)"},
      {"called_station_id", [](conditions& c) { c.called_station_id = rx(R"(^203\.0\.113\.)"); },
       {}, [](request_env& e) { set(e.pkt, attr::called_station_id, "192.0.2.1"); },
       R"(Called-Station-Id "192.0.2.1" does not match ^203\.0\.113\.)", true},
      {"calling_station_id",
       [](conditions& c) { c.calling_station_id = rx(R"(^198\.51\.100\.)"); }, {},
       [](request_env& e) { set(e.pkt, attr::calling_station_id, "203.0.113.99"); },
       R"(Calling-Station-Id "203.0.113.99" does not match ^198\.51\.100\.)", true},
      {"calling_station_id (absent)",
       [](conditions& c) { c.calling_station_id = rx("."); }, {},
       [](request_env& e) { remove(e.pkt, attr::calling_station_id); },
       "Calling-Station-Id is absent"},
      {"ms_ras_vendor", [](conditions& c) { c.ms_ras_vendor = rx("^311$"); }, {},
       [](request_env& e) { set_ms(e.pkt, ms_ras_vendor, be32(9)); },
       "MS-RAS-Vendor 9 does not match ^311$", true},
      {"ms_ras_vendor (absent)", [](conditions& c) { c.ms_ras_vendor = rx("^311$"); }, {},
       [](request_env& e) { remove_ms(e.pkt, ms_ras_vendor); }, "MS-RAS-Vendor is absent"},
      {"user_name", [](conditions& c) { c.user_name = rx("^alice$"); },
       [](request_env& e) { set(e.pkt, attr::user_name, "alice"); },
       [](request_env& e) { set(e.pkt, attr::user_name, "bob"); },
       R"(User-Name "bob" does not match ^alice$)", true},
      {"user_name (case-insensitive, found anywhere)",
       [](conditions& c) { c.user_name = rx("ALICE@"); }, {},
       [](request_env& e) { set(e.pkt, attr::user_name, "mallory@example.com"); },
       R"(User-Name "mallory@example.com" does not match ALICE@)"},
      {"user_name (control characters are escaped in the sentence)",
       [](conditions& c) { c.user_name = rx("^alice$"); },
       [](request_env& e) { set(e.pkt, attr::user_name, "ALICE"); },
       [](request_env& e) { set(e.pkt, attr::user_name, "bob\r\n\"x\""); },
       R"(User-Name "bob\x0d\x0a\"x\"" does not match ^alice$)"},
      {"user_name (absent)", [](conditions& c) { c.user_name = rx(""); }, {},
       [](request_env& e) { remove(e.pkt, attr::user_name); }, "User-Name is absent"},
      {"authentication_type (EAP)",
       [](conditions& c) { c.authentication_type = {auth_type::eap}; }, {},
       [](request_env& e) {
         remove(e.pkt, attr::eap_message);
         e.pkt.add(attr::user_password, "0123456789abcdef");
       },
       "Authentication-Type is PAP, not one of EAP", true},
      {"authentication_type (the method in use wins over the attributes)",
       [](conditions& c) { c.authentication_type = {auth_type::mschapv2, auth_type::chap}; },
       [](request_env& e) {
         remove(e.pkt, attr::eap_message);
         set_ms(e.pkt, ms_chap2_response, radius::bytes(50, 0));
       },
       [](request_env& e) {
         remove(e.pkt, attr::eap_message);
         set_ms(e.pkt, ms_chap2_response, radius::bytes(50, 0));
         e.method = auth_method::eap_tls;
       },
       "Authentication-Type is EAP, not one of MS-CHAPv2, CHAP"},
      {"authentication_type (unauthenticated)",
       [](conditions& c) { c.authentication_type = {auth_type::unauthenticated}; },
       [](request_env& e) { remove(e.pkt, attr::eap_message); }, [](request_env&) {},
       "Authentication-Type is EAP, not one of Unauthenticated"},
      {"allowed_eap_types (from the facts)",
       [](conditions& c) { c.allowed_eap_types = {eap_type_tls}; },
       [](request_env& e) { e.eap_type = eap_type_tls; },
       [](request_env& e) { e.eap_type = eap_type_peap; },
       "Allowed-EAP-Types: the request uses PEAP (25), not one of EAP-TLS (13)", true},
      {"allowed_eap_types (from the method)",
       [](conditions& c) { c.allowed_eap_types = {eap_type_peap, eap_type_mschapv2}; },
       [](request_env& e) { e.method = auth_method::peap_mschapv2; },
       [](request_env& e) { e.method = auth_method::eap_tls; },
       "Allowed-EAP-Types: the request uses EAP-TLS (13), not one of PEAP (25), "
       "EAP-MSCHAPv2 (26)"},
      {"allowed_eap_types (from the EAP-Response; Identity defers to the method)",
       [](conditions& c) { c.allowed_eap_types = {eap_type_tls}; },
       [](request_env& e) { set_bytes(e.pkt, attr::eap_message, eap_tls_start_response); },
       [](request_env& e) { set_bytes(e.pkt, attr::eap_message, eap_peap_response); },
       "Allowed-EAP-Types: the request uses PEAP (25), not one of EAP-TLS (13)"},
      {"allowed_eap_types (not EAP)",
       [](conditions& c) { c.allowed_eap_types = {eap_type_tls}; }, {},
       [](request_env& e) {
         remove(e.pkt, attr::eap_message);
         e.pkt.add(attr::user_password, "0123456789abcdef");
       },
       "Allowed-EAP-Types: the request does not use EAP"},
      {"attributes (regex on a vendor attribute)",
       [](conditions& c) { c.attributes = {attribute_regex("MS-RAS-Client-Name", "^WIN-")}; },
       {}, [](request_env& e) { set_ms(e.pkt, ms_ras_client_name, text_bytes("MACBOOK")); },
       R"(MS-RAS-Client-Name "MACBOOK" does not match ^WIN-)", true},
      {"attributes (integer values)",
       [](conditions& c) { c.attributes = {attribute_values("Framed-MTU", {"1400", "1500"})}; },
       {}, [](request_env& e) { set_u32(e.pkt, 12, 1280); },
       "Framed-MTU 1280 is not one of 1400, 1500"},
      {"attributes (VALUE names, compared case-insensitively)",
       [](conditions& c) {
         c.attributes = {
             attribute_values("MS-Network-Access-Server-Type", {"remote-access-server"})};
       },
       {}, [](request_env& e) { set_ms(e.pkt, ms_network_access_server_type, be32(4)); },
       "MS-Network-Access-Server-Type Wireless-Access-Point is not one of remote-access-server"},
      {"attributes (tag stripped from a tagged string)",
       [](conditions& c) {
         c.attributes = {attribute_values("Tunnel-Client-Endpoint", {"192.0.2.7"})};
       },
       {}, [](request_env& e) { set(e.pkt, 66, "\x01" "192.0.2.8"); },
       R"(Tunnel-Client-Endpoint "192.0.2.8" is not one of "192.0.2.7")"},
      {"attributes (any instance matches)",
       [](conditions& c) {
         c.attributes = {attribute_values("Tunnel-Client-Endpoint", {"192.0.2.7"})};
       },
       [](request_env& e) {
         set(e.pkt, 66, "\x01" "198.51.100.1");
         e.pkt.add(66, "\x02" "192.0.2.7");
       },
       [](request_env& e) {
         set(e.pkt, 66, "\x01" "198.51.100.1");
         e.pkt.add(66, "\x02" "198.51.100.2");
       },
       R"(none of 2 Tunnel-Client-Endpoint attributes (the first "198.51.100.1") is one of "192.0.2.7")"},
      {"attributes (regex on a tagged integer, by VALUE name)",
       [](conditions& c) { c.attributes = {attribute_regex("Tunnel-Type", "^L2TP$")}; }, {},
       [](request_env& e) { set_u32(e.pkt, attr::tunnel_type, 0x0100000d); },
       "Tunnel-Type VLAN does not match ^L2TP$"},
      {"attributes (absent)",
       [](conditions& c) { c.attributes = {attribute_values("Framed-MTU", {"1400"})}; }, {},
       [](request_env& e) { remove(e.pkt, 12); }, "Framed-MTU is absent"},
      {"day_and_time", [](conditions& c) { c.day_and_time = office_hours_paris(); }, {},
       [](request_env& e) { e.now = saturday_night_paris; },
       "day-and-time restrictions: Sat 23:10 (Europe/Paris) is outside the allowed times", true},
      {"day_and_time (a window spanning midnight)",
       [](conditions& c) { c.day_and_time = day_time{time_zone(), {{friday, 22 * 60, 6 * 60}}}; },
       [](request_env& e) { e.now = at(2024y / June / 8, 5h); },
       [](request_env& e) { e.now = at(2024y / June / 8, 7h); },
       "day-and-time restrictions: Sat 07:00 (UTC) is outside the allowed times"},
      {"windows_groups", [](conditions& c) { c.windows_groups = {name_ref("VPN Users")}; }, {},
       [](request_env& e) { e.acct->groups = {domain_users()}; },
       "the account is not a member of VPN Users"},
      {"windows_groups (names compared case-insensitively; no account)",
       [](conditions& c) { c.windows_groups = {name_ref("vpn users")}; }, {}, no_account,
       "no account is known (Windows groups need one)", true},
      {"windows_groups (any of several)",
       [](conditions& c) { c.windows_groups = {name_ref("Admins"), name_ref("Contractors")}; },
       [](request_env& e) { e.acct->groups.push_back({"Contractors", ""}); },
       [](request_env&) {}, "the account is not a member of any of Admins, Contractors"},
      {"windows_groups (a DN, compared case-insensitively with the group's DN)",
       [](conditions& c) {
         c.windows_groups = {dn_ref("cn=vpn users,ou=groups,dc=example,dc=com")};
       },
       {},
       [](request_env& e) {
         e.acct->groups = {{"VPN Users", "CN=VPN Users,OU=Legacy,DC=example,DC=com"}};
       },
       "the account is not a member of cn=vpn users,ou=groups,dc=example,dc=com"},
      {"windows_groups (machine accounts too)",
       [](conditions& c) { c.windows_groups = {name_ref("VPN Devices")}; },
       [](request_env& e) { e.acct = machine("laptop7$", {vpn_devices()}); },
       [](request_env& e) { e.acct = machine("laptop7$", {domain_users()}); },
       "the account is not a member of VPN Devices"},
      {"user_groups", [](conditions& c) { c.user_groups = {name_ref("VPN Users")}; }, {},
       [](request_env& e) { e.acct = machine("bob$", {vpn_users()}); },
       "user groups apply to user accounts; bob$ is a machine account"},
      {"user_groups (no account)", [](conditions& c) { c.user_groups = {name_ref("VPN Users")}; },
       {}, no_account, "no account is known (user groups need one)", true},
      {"machine_groups", [](conditions& c) { c.machine_groups = {name_ref("VPN Devices")}; },
       [](request_env& e) { e.acct = machine("laptop7$", {domain_users(), vpn_devices()}); },
       [](request_env&) {}, "machine groups apply to machine accounts; alice is a user account"},
      {"machine_groups (not a member)",
       [](conditions& c) { c.machine_groups = {name_ref("VPN Devices")}; },
       [](request_env& e) { e.acct = machine("laptop7$", {vpn_devices()}); },
       [](request_env& e) { e.acct = machine("laptop7$", {domain_users()}); },
       "the account is not a member of VPN Devices"},
      {"machine_groups (no account)",
       [](conditions& c) { c.machine_groups = {name_ref("VPN Devices")}; },
       [](request_env& e) { e.acct = machine("laptop7$", {vpn_devices()}); }, no_account,
       "no account is known (machine groups need one)", true},
  };
}

// ---- network policies and connection request policies, built by hand ----

network_policy np(std::string name, int order, permit a = permit::grant) {
  network_policy p;
  p.name = std::move(name);
  p.order = order;
  p.permission = a;
  return p;
}

connection_request_policy crp(std::string name, int order, crp_action a = crp_action::authenticate) {
  connection_request_policy p;
  p.name = std::move(name);
  p.order = order;
  p.action = a;
  return p;
}

manipulation manip(std::uint8_t attribute, const std::string& find, std::string replace) {
  return {attribute, rx(find), std::move(replace)};
}

reply_attribute reply(std::string_view name, std::uint8_t tag, std::string text) {
  reply_attribute r;
  r.def = &def(name);
  r.tag = tag;
  const auto wire = r.def->has_tag ? radius::parse_tagged_value(*r.def, tag, text)
                                   : radius::parse_value(*r.def, text);
  REQUIRE_MESSAGE(wire.has_value(), name);
  r.value = *wire;
  r.text = std::move(text);
  return r;
}

std::vector<std::string> verdicts(const trace& t) {
  std::vector<std::string> v;
  for (const auto& s : t) v.push_back(s.name + ": " + s.verdict);
  return v;
}

std::string user_name(const radius::packet& p) {
  const auto* a = p.find(attr::user_name);
  return a != nullptr ? std::string(a->as_string()) : "(absent)";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Conditions

TEST_CASE("every condition matches its request and names itself and the value when it does not") {
  for (const auto& k : condition_cases()) {
    INFO(k.name);
    conditions c;
    k.set(c);
    request_env yes = rras_request();
    if (k.match) k.match(yes);
    CHECK(failing(c, yes) == "matches");
    request_env no = rras_request();
    k.mismatch(no);
    CHECK(failing(c, no) == k.sentence);
  }
}

TEST_CASE("conditions are checked in a fixed order, cheap ones first, groups last") {
  std::vector<condition_case> ordered;
  for (auto& k : condition_cases()) {
    if (k.ordered) ordered.push_back(std::move(k));
  }
  REQUIRE(ordered.size() == 21);  // one per kind of condition
  // With the conditions from i on all set and all failing, the i-th is the one reported.
  for (std::size_t i = 0; i < ordered.size(); ++i) {
    INFO(ordered[i].name);
    conditions c;
    request_env e = rras_request();
    for (std::size_t j = i; j < ordered.size(); ++j) {
      ordered[j].set(c);
      ordered[j].mismatch(e);
    }
    CHECK(failing(c, e) == ordered[i].sentence);
  }
}

TEST_CASE("no condition matches everything, even a request without attributes") {
  const conditions none;
  CHECK(failing(none, rras_request()) == "matches");
  request_facts bare;  // no packet, no client, no dictionary
  CHECK_FALSE(first_failing_condition(none, bare, nullptr).has_value());
  conditions groups;
  groups.windows_groups = {name_ref("VPN Users")};
  CHECK(verdict(first_failing_condition(groups, bare, nullptr)) ==
        "no account is known (Windows groups need one)");
  conditions by_client;
  by_client.client_friendly_name = rx(".");
  CHECK(verdict(first_failing_condition(by_client, bare, nullptr)) ==
        "Client-Friendly-Name is unknown (no RADIUS client)");
}

TEST_CASE("malformed attribute values fail their condition without throwing") {
  request_env e = rras_request();
  set_bytes(e.pkt, attr::nas_port_type, {0, 5});
  set_bytes(e.pkt, attr::nas_ip_address, {10, 1});
  e.pkt.add(attr::vendor_specific, radius::byte_view(radius::bytes{0, 0, 1, 0x37, 9, 200, 1}));
  conditions port;
  port.nas_port_type = value_set{{5}};
  CHECK(failing(port, e) == "NAS-Port-Type is 0x0005 (not a 4-byte integer), not one of Virtual (5)");
  conditions nas;
  nas.nas_ipv4_address = {prefix("10.0.0.0/8")};
  CHECK(failing(nas, e) == "NAS-IPv4-Address 0x0a01 is not an IPv4 address");
  conditions vendor;  // the well-formed MS-RAS-Vendor still matches; the broken VSA is ignored
  vendor.ms_ras_vendor = rx("^311$");
  CHECK(failing(vendor, e) == "matches");
}

TEST_CASE("attribute conditions read vendor sub-attributes in the vendor's layout, and TLVs") {
  auto parsed = radius::dictionary::parse(
      "VENDOR Wide 9999 format=2,1\n"
      "BEGIN-VENDOR Wide\n"
      "ATTRIBUTE Wide-Role 300 string\n"
      "ATTRIBUTE Wide-Info 301 tlv\n"
      "BEGIN-TLV Wide-Info\n"
      "ATTRIBUTE Wide-Site 1 string\n"
      "ATTRIBUTE Wide-Rack 2 tlv\n"
      "END-TLV Wide-Info\n"
      "ATTRIBUTE Wide-Slot 301.2.5 integer\n"
      "END-VENDOR Wide\n",
      "test-dictionary");
  REQUIRE(parsed.has_value());
  const radius::dictionary& wide = *parsed;
  const auto vsa = [](std::uint32_t type, const radius::bytes& v) {
    return radius::make_vsa(9999, type, v, {2, 1});
  };
  radius::packet p;
  // One-byte layout would read type 0x01 here: only the vendor's own layout finds 300.
  p.add(attr::vendor_specific, radius::byte_view(vsa(300, text_bytes("engineering"))));
  // Wide-Info { Wide-Site "paris", Wide-Rack { Wide-Slot 7 } }
  const radius::bytes info = {1, 7, 'p', 'a', 'r', 'i', 's', 2, 8, 5, 6, 0, 0, 0, 7};
  p.add(attr::vendor_specific, radius::byte_view(vsa(301, info)));
  request_facts f;
  f.packet = &p;
  f.dict = &wide;
  const auto check = [&](std::string_view name, const std::string& re) {
    conditions c;
    attribute_condition a;
    a.def = wide.find(name);
    REQUIRE(a.def != nullptr);
    a.match = rx(re);
    c.attributes = {a};
    return verdict(first_failing_condition(c, f, nullptr));
  };
  CHECK(check("Wide-Role", "^engineering$") == "matches");
  CHECK(check("Wide-Role", "^sales$") == R"(Wide-Role "engineering" does not match ^sales$)");
  CHECK(check("Wide-Site", "^paris$") == "matches");
  CHECK(check("Wide-Site", "^0x") == R"(Wide-Site "paris" does not match ^0x)");  // not the rack
  CHECK(check("Wide-Slot", "^7$") == "matches");
  CHECK(check("Wide-Slot", "^8$") == "Wide-Slot 7 does not match ^8$");
  p.attributes.pop_back();
  CHECK(check("Wide-Site", ".") == "Wide-Site is absent");
}

// ---------------------------------------------------------------------------------------------
// Authentication type and the account's state

TEST_CASE("detect_auth_type: the method in use, else the request's credential attributes") {
  struct row {
    const char* name;
    std::function<void(request_env&)> prepare;
    auth_type expected;
  };
  const auto strip = [](request_env& e) { remove(e.pkt, attr::eap_message); };
  const std::vector<row> rows{
      {"EAP-Message", [](request_env&) {}, auth_type::eap},
      {"User-Password", [&](request_env& e) { strip(e); e.pkt.add(attr::user_password, "x"); },
       auth_type::pap},
      {"CHAP-Password", [&](request_env& e) { strip(e); e.pkt.add(attr::chap_password, "x"); },
       auth_type::chap},
      {"MS-CHAP2-Response",
       [&](request_env& e) { strip(e); set_ms(e.pkt, ms_chap2_response, radius::bytes(50, 0)); },
       auth_type::mschapv2},
      {"no credentials", strip, auth_type::unauthenticated},
      {"EAP-Message wins over User-Password",
       [](request_env& e) { e.pkt.add(attr::user_password, "x"); }, auth_type::eap},
      {"known method PAP", [](request_env& e) { e.method = auth_method::pap; }, auth_type::pap},
      {"known method CHAP", [](request_env& e) { e.method = auth_method::chap; }, auth_type::chap},
      {"known method MS-CHAPv2", [](request_env& e) { e.method = auth_method::mschapv2; },
       auth_type::mschapv2},
      {"known method PEAP-TLS",
       [&](request_env& e) { strip(e); e.method = auth_method::peap_tls; }, auth_type::eap},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    request_env e = rras_request();
    r.prepare(e);
    CHECK(auth_type_name(detect_auth_type(e.facts())) == auth_type_name(r.expected));
  }
  CHECK(detect_auth_type(request_facts{}) == auth_type::unauthenticated);
}

TEST_CASE("account_rejection: disabled 34, locked out 36, disabled first") {
  account a = alice();
  CHECK_FALSE(account_rejection(a).has_value());
  a.locked_out = true;
  CHECK(account_rejection(a) == reason::account_locked_out);
  CHECK(reason_number(*account_rejection(a)) == 36);
  a.enabled = false;
  CHECK(account_rejection(a) == reason::account_disabled);
  CHECK(reason_number(*account_rejection(a)) == 34);
  a.locked_out = false;
  CHECK(account_rejection(a) == reason::account_disabled);
}

// ---------------------------------------------------------------------------------------------
// Connection request policies

TEST_CASE("attribute manipulation: Perl find/replace on User-Name, Called- and Calling-Station-Id") {
  struct row {
    const char* name;
    std::vector<manipulation> manips;
    std::string user_name;
    std::string expected;
  };
  const std::vector<row> rows{
      {"realm stripped", {manip(attr::user_name, R"(@example\.com$)", "")}, "alice@example.com",
       "alice"},
      {"case-insensitive find", {manip(attr::user_name, R"(@example\.com$)", "")},
       "ALICE@EXAMPLE.COM", "ALICE"},
      {"$1 and $2 references",
       {manip(attr::user_name, R"(^([^\\]+)\\(.+)$)", "$2@$1.example.com")}, R"(CORP\alice)",
       "alice@CORP.example.com"},
      {"$& reference", {manip(attr::user_name, "^.*$", "host/$&")}, "laptop7", "host/laptop7"},
      {"no match: unchanged", {manip(attr::user_name, R"(@example\.com$)", "")},
       "alice@other.org", "alice@other.org"},
      {"applied in order",
       {manip(attr::user_name, R"(@example\.com$)", ""),
        manip(attr::user_name, "^(.+)$", "$1@corp.example")},
       "alice@example.com", "alice@corp.example"},
      {"an empty result keeps an empty attribute", {manip(attr::user_name, "^.*$", "")}, "alice",
       ""},
      {"a result too long for an attribute leaves the value",
       {manip(attr::user_name, "^.*$", std::string(300, 'x'))}, "alice", "alice"},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    auto policy = crp("Strip", 1);
    policy.manipulations = r.manips;
    radius::packet p;
    p.add(attr::user_name, r.user_name);
    p.add(attr::calling_station_id, "198.51.100.7");
    const auto out = apply_manipulations(policy, p);
    CHECK(out.count(attr::user_name) == 1);
    CHECK(user_name(out) == r.expected);
    CHECK(out.find(attr::calling_station_id)->as_string() == "198.51.100.7");
    CHECK(out.attributes.size() == 2);
  }

  auto station = crp("Stations", 1);
  station.manipulations = {manip(attr::called_station_id, "^(.*):.*$", "$1"),
                           manip(attr::calling_station_id, "-", ":")};
  radius::packet p;
  p.add(attr::called_station_id, "00-11-22-33-44-55:CorpWiFi");
  p.add(attr::calling_station_id, "aa-bb-cc-dd-ee-ff");
  p.add(attr::calling_station_id, "11-22");
  const auto out = apply_manipulations(station, p);
  CHECK(out.find(attr::called_station_id)->as_string() == "00-11-22-33-44-55");
  REQUIRE(out.count(attr::calling_station_id) == 2);  // every instance, every occurrence
  CHECK(out.attributes[1].as_string() == "aa:bb:cc:dd:ee:ff");
  CHECK(out.attributes[2].as_string() == "11:22");

  radius::packet no_user;
  no_user.add(attr::nas_identifier, "rras1");
  auto strip = crp("Strip", 1);
  strip.manipulations = {manip(attr::user_name, "^.*$", "x")};
  CHECK(apply_manipulations(strip, no_user) == no_user);  // absent attribute: nothing added
}

TEST_CASE("evaluate_crp: first enabled matching policy by processing order; 49 otherwise") {
  const request_env e = rras_request();
  trace t;

  SUBCASE("the NPS default: one policy without conditions authenticates everything") {
    policies p;
    p.crps = {crp("Use Windows authentication for all users", 1)};
    const auto d = evaluate_crp(p, e.facts(), t);
    REQUIRE(d.policy == &p.crps[0]);
    CHECK_FALSE(d.reject.has_value());
    CHECK(d.request == e.pkt);  // no manipulation: a copy of the request
    CHECK(verdicts(t) == std::vector<std::string>{
                             "Use Windows authentication for all users: matched"});
    CHECK(t[0].kind == "connection request policy");
  }
  SUBCASE("no policy at all: 49") {
    const auto d = evaluate_crp(policies{}, e.facts(), t);
    CHECK(d.policy == nullptr);
    REQUIRE(d.reject.has_value());
    CHECK(reason_number(*d.reject) == 49);
    CHECK(d.detail == "no connection request policy matched");
    CHECK(d.request == e.pkt);
    CHECK(t.empty());
  }
  SUBCASE("none matches: 49, each policy's failing condition in the trace") {
    policies p;
    p.crps = {crp("Wireless", 1), crp("Disabled", 2), crp("Branch RRAS", 3)};
    p.crps[0].cond.nas_port_type = value_set{{19}};
    p.crps[1].enabled = false;
    p.crps[2].cond.nas_identifier = rx("^branch-");
    const auto d = evaluate_crp(p, e.facts(), t);
    CHECK(d.policy == nullptr);
    CHECK(d.reject == reason::no_connection_request_policy);
    CHECK(verdicts(t) ==
          std::vector<std::string>{
              "Wireless: not matched: NAS-Port-Type is Virtual (5), not one of Wireless-802.11 (19)",
              "Disabled: skipped: disabled",
              R"(Branch RRAS: not matched: NAS-Identifier "rras1" does not match ^branch-)"});
  }
  SUBCASE("the lowest processing order wins even when listed later; disabled ones are skipped") {
    policies p;
    p.crps = {crp("Later", 20, crp_action::reject), crp("Earlier", 10),
              crp("Disabled first", 5, crp_action::reject)};
    p.crps[2].enabled = false;
    const auto d = evaluate_crp(p, e.facts(), t);
    REQUIRE(d.policy != nullptr);
    CHECK(d.policy->name == "Earlier");
    CHECK_FALSE(d.reject.has_value());
    CHECK(verdicts(t) ==
          std::vector<std::string>{"Disabled first: skipped: disabled", "Earlier: matched"});
  }
  SUBCASE("a matching policy whose action is reject: 49 naming it") {
    policies p;
    p.crps = {crp("Block contractors", 1, crp_action::reject), crp("Everyone", 2)};
    p.crps[0].cond.user_name = rx(R"(@contractors\.example\.com$)");
    request_env contractor = rras_request();
    set(contractor.pkt, attr::user_name, "carol@contractors.example.com");
    const auto d = evaluate_crp(p, contractor.facts(), t);
    REQUIRE(d.policy == &p.crps[0]);
    CHECK(d.reject == reason::no_connection_request_policy);
    CHECK(d.detail == R"(rejected by connection request policy "Block contractors")");
    CHECK(verdicts(t) ==
          std::vector<std::string>{"Block contractors: matched: the policy rejects the request"});
  }
  SUBCASE("accept without validating credentials is reported as such") {
    policies p;
    p.crps = {crp("Guests", 1, crp_action::accept_without_credentials)};
    const auto d = evaluate_crp(p, e.facts(), t);
    REQUIRE(d.policy == &p.crps[0]);
    CHECK_FALSE(d.reject.has_value());
    CHECK(t[0].verdict == "matched: accept users without validating credentials");
  }
  SUBCASE("conditions see the original request; the manipulated one is returned") {
    policies p;
    p.crps = {crp("Strip example.com", 1)};
    p.crps[0].cond.user_name = rx(R"(@example\.com$)");
    p.crps[0].manipulations = {manip(attr::user_name, R"(@example\.com$)", "")};
    const auto d = evaluate_crp(p, e.facts(), t);
    REQUIRE(d.policy == &p.crps[0]);
    CHECK(user_name(d.request) == "alice");
    CHECK(user_name(e.pkt) == "alice@example.com");  // the caller's request is untouched
    CHECK(d.request.attributes.size() == e.pkt.attributes.size());
  }
}

// ---------------------------------------------------------------------------------------------
// Network policies

TEST_CASE("evaluate_network_policy: no policy matches: 48") {
  const request_env e = rras_request();
  trace t;
  auto d = evaluate_network_policy(policies{}, e.facts(), e.user(), t);
  CHECK(d.policy == nullptr);
  CHECK_FALSE(d.accept);
  CHECK(reason_number(d.why) == 48);
  CHECK(d.detail == "no network policy matched");
  CHECK(t.empty());

  policies p;
  p.nps = {np("Wireless", 1), np("Admins", 2)};
  p.nps[0].cond.nas_port_type = value_set{{19}};
  p.nps[1].cond.windows_groups = {name_ref("Domain Admins")};
  d = evaluate_network_policy(p, e.facts(), e.user(), t);
  CHECK(d.policy == nullptr);
  CHECK(d.why == reason::no_network_policy);
  CHECK(d.reply.empty());
  CHECK(verdicts(t) ==
        std::vector<std::string>{
            "Wireless: not matched: NAS-Port-Type is Virtual (5), not one of Wireless-802.11 (19)",
            "Admins: not matched: the account is not a member of Domain Admins"});
}

TEST_CASE("evaluate_network_policy: processing order, disabled policies skipped") {
  const request_env e = rras_request();
  trace t;
  policies p;
  p.nps = {np("Deny all", 100, permit::deny), np("VPN", 10), np("Disabled", 1, permit::deny)};
  p.nps[2].enabled = false;
  const auto d = evaluate_network_policy(p, e.facts(), e.user(), t);
  REQUIRE(d.policy == &p.nps[1]);
  CHECK(d.accept);
  CHECK(verdicts(t) == std::vector<std::string>{"Disabled: skipped: disabled", "VPN: granted"});
}

TEST_CASE("the first matching network policy decides even when its constraint fails") {
  const request_env e = rras_request();
  trace t;
  policies p;
  p.nps = {np("VPN (Ethernet only)", 1), np("VPN", 2)};
  p.nps[0].cond.windows_groups = {name_ref("VPN Users")};
  p.nps[0].cons.nas_port_type = value_set{{15}};
  p.nps[1].cond.windows_groups = {name_ref("VPN Users")};  // would grant: never tried
  const auto d = evaluate_network_policy(p, e.facts(), e.user(), t);
  REQUIRE(d.policy == &p.nps[0]);
  CHECK_FALSE(d.accept);
  CHECK(reason_number(d.why) == 70);
  CHECK(verdicts(t) == std::vector<std::string>{
                           "VPN (Ethernet only): constraint failed: NAS-Port-Type is Virtual (5), "
                           "not one of Ethernet (15)"});
}

TEST_CASE("each constraint rejects with its reason code, checked in NPS order") {
  struct row {
    const char* name;
    std::function<void(constraints&)> set;
    std::function<void(request_env&)> pass;  // makes the request satisfy it
    int code;
    std::string detail;
  };
  const std::vector<row> rows{
      {"authentication methods",
       [](constraints& c) { c.methods = {auth_method::eap_tls, auth_method::peap_tls}; },
       [](request_env& e) { e.method = auth_method::peap_tls; }, 66,
       "authentication method PEAP-MSCHAPv2 is not enabled on the policy (enabled: EAP-TLS, "
       "PEAP-TLS)"},
      {"NAS-Port-Type", [](constraints& c) { c.nas_port_type = value_set{{15, 19}}; },
       [](request_env& e) { set_u32(e.pkt, attr::nas_port_type, 19); }, 70,
       "NAS-Port-Type is Virtual (5), not one of Ethernet (15), Wireless-802.11 (19)"},
      {"Called-Station-Id", [](constraints& c) { c.called_station_id = rx("^192\\.0\\.2\\."); },
       [](request_env& e) { set(e.pkt, attr::called_station_id, "192.0.2.1"); }, 69,
       R"(Called-Station-Id "203.0.113.10" does not match ^192\.0\.2\.)"},
      {"Calling-Station-Id", [](constraints& c) { c.calling_station_id = rx("^10\\."); },
       [](request_env& e) { set(e.pkt, attr::calling_station_id, "10.9.9.9"); }, 67,
       R"(Calling-Station-Id "198.51.100.7" does not match ^10\.)"},
      {"day and time",
       [](constraints& c) {
         c.day_and_time = day_time{zone("Europe/Paris"), {{0b1000001, 0, 1440}}};  // weekends
       },
       [](request_env& e) { e.now = saturday_night_paris; }, 68,
       "day-and-time restrictions: Wed 12:00 (Europe/Paris) is outside the allowed times"},
  };
  // With every constraint from i on failing, the i-th one decides; each alone decides too.
  for (std::size_t i = 0; i < rows.size(); ++i) {
    INFO(rows[i].name);
    for (const bool alone : {false, true}) {
      policies p;
      p.nps = {np("VPN", 1), np("Fallback", 2)};
      request_env e = rras_request();
      e.method = auth_method::peap_mschapv2;
      for (std::size_t j = i; j < (alone ? i + 1 : rows.size()); ++j) rows[j].set(p.nps[0].cons);
      for (std::size_t j = 0; j < i; ++j) rows[j].pass(e);
      trace t;
      auto d = evaluate_network_policy(p, e.facts(), e.user(), t);
      CHECK(d.policy == &p.nps[0]);
      CHECK_FALSE(d.accept);
      CHECK(reason_number(d.why) == rows[i].code);
      CHECK(d.detail == rows[i].detail);
      CHECK(d.reply.empty());
      REQUIRE(t.size() == 1);
      CHECK(t[0].verdict == "constraint failed: " + rows[i].detail);
      // Satisfied, the constraint lets the request through.
      rows[i].pass(e);
      if (alone) {
        t.clear();
        d = evaluate_network_policy(p, e.facts(), e.user(), t);
        CHECK(d.accept);
        CHECK(d.why == reason::success);
      }
    }
  }
}

TEST_CASE("the authentication method constraint waits until the method is known") {
  request_env e = rras_request();  // EAP-Response/Identity: method not negotiated yet
  policies p;
  p.nps = {np("VPN", 1)};
  p.nps[0].cons.methods = {auth_method::peap_tls};
  trace t;
  CHECK(evaluate_network_policy(p, e.facts(), e.user(), t).accept);
  e.method = auth_method::eap_tls;
  const auto d = evaluate_network_policy(p, e.facts(), e.user(), t);
  CHECK_FALSE(d.accept);
  CHECK(d.why == reason::auth_method_not_enabled);
}

TEST_CASE("a request with no authentication method fails a method constraint: 66") {
  // What a CRP accepting without credentials lets through with no credentials at all.
  request_env e = rras_request();
  remove(e.pkt, attr::eap_message);
  e.acct.reset();
  policies p;
  p.nps = {np("PAP only", 1)};
  p.nps[0].cons.methods = {auth_method::pap};
  trace t;
  const auto d = evaluate_network_policy(p, e.facts(), e.user(), t);
  CHECK_FALSE(d.accept);
  CHECK(d.why == reason::auth_method_not_enabled);
  CHECK(d.detail ==
        "the request uses no authentication method, and the policy enables only some "
        "(enabled: PAP)");
  // a policy that enables every method (none listed) grants it
  p.nps[0].cons.methods.clear();
  t.clear();
  CHECK(evaluate_network_policy(p, e.facts(), e.user(), t).accept);
}

TEST_CASE("dial-in permission: the account's allow or deny overrides the policy unless ignored") {
  struct row {
    const char* name;
    std::optional<dial_in> account_dial_in;  // nullopt: no account known
    permit policy;
    bool ignore_dial_in;
    bool accept;
    int code;
    std::string detail;
    std::string verdict;
  };
  const std::vector<row> rows{
      {"policy grants", dial_in::policy, permit::grant, false, true, 0,
       R"(granted by network policy "VPN")", "granted"},
      {"policy denies", dial_in::policy, permit::deny, false, false, 65,
       R"(denied by network policy "VPN")", R"(denied: denied by network policy "VPN")"},
      {"account allow overrides a deny policy", dial_in::allow, permit::deny, false, true, 0,
       "dial-in permission of the account allows access",
       "granted: dial-in permission of the account allows access (overrides the policy's deny)"},
      {"account allow, policy grants", dial_in::allow, permit::grant, false, true, 0,
       "dial-in permission of the account allows access", "granted"},
      {"account deny overrides a grant policy", dial_in::deny, permit::grant, false, false, 65,
       "dial-in permission of the account denies access",
       "denied: dial-in permission of the account denies access"},
      {"ignore_dial_in: account deny ignored", dial_in::deny, permit::grant, true, true, 0,
       R"(granted by network policy "VPN")", "granted"},
      {"ignore_dial_in: account allow ignored", dial_in::allow, permit::deny, true, false, 65,
       R"(denied by network policy "VPN")", R"(denied: denied by network policy "VPN")"},
      {"no account: the policy decides (grant)", std::nullopt, permit::grant, false, true, 0,
       R"(granted by network policy "VPN")", "granted"},
      {"no account: the policy decides (deny)", std::nullopt, permit::deny, false, false, 65,
       R"(denied by network policy "VPN")", R"(denied: denied by network policy "VPN")"},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    request_env e = rras_request();
    if (r.account_dial_in) {
      e.acct->dial_in_permission = *r.account_dial_in;
    } else {
      e.acct.reset();
    }
    policies p;
    p.nps = {np("VPN", 1, r.policy), np("Fallback", 2, permit::grant)};
    p.nps[0].ignore_dial_in = r.ignore_dial_in;
    p.nps[0].set.attributes = {reply("Filter-Id", 0, "vpn")};
    trace t;
    const auto d = evaluate_network_policy(p, e.facts(), e.user(), t);
    CHECK(d.policy == &p.nps[0]);
    CHECK(d.accept == r.accept);
    CHECK(reason_number(d.why) == r.code);
    CHECK(d.detail == r.detail);
    CHECK(d.reply.size() == (r.accept ? 1u : 0u));
    REQUIRE(t.size() == 1);
    CHECK(t[0].verdict == r.verdict);
  }
}

TEST_CASE("machine groups and user groups pick different policies") {
  policies p;
  p.nps = {np("Device tunnel", 1), np("User tunnel", 2)};
  p.nps[0].cond.machine_groups = {name_ref("VPN Devices")};
  p.nps[1].cond.user_groups = {dn_ref("CN=VPN Users,OU=Groups,DC=example,DC=com")};
  trace t;

  request_env user = rras_request();
  auto d = evaluate_network_policy(p, user.facts(), user.user(), t);
  REQUIRE(d.policy == &p.nps[1]);
  CHECK(d.accept);
  CHECK(verdicts(t) ==
        std::vector<std::string>{
            "Device tunnel: not matched: machine groups apply to machine accounts; alice is a "
            "user account",
            "User tunnel: granted"});

  t.clear();
  request_env device = rras_request();
  device.acct = machine("laptop7$", {vpn_devices(), vpn_users()});
  d = evaluate_network_policy(p, device.facts(), device.user(), t);
  REQUIRE(d.policy == &p.nps[0]);
  CHECK(verdicts(t) == std::vector<std::string>{"Device tunnel: granted"});

  t.clear();
  device.acct = machine("laptop8$", {vpn_users()});  // a machine in the users' group only
  d = evaluate_network_policy(p, device.facts(), device.user(), t);
  CHECK(d.policy == nullptr);
  CHECK(d.why == reason::no_network_policy);
  CHECK(verdicts(t) ==
        std::vector<std::string>{
            "Device tunnel: not matched: the account is not a member of VPN Devices",
            "User tunnel: not matched: user groups apply to user accounts; laptop8$ is a "
            "machine account"});
}

TEST_CASE("day-and-time condition: outside the window the policy does not match at all") {
  policies p;
  p.nps = {np("Office hours", 1), np("Out of hours", 2, permit::deny)};
  p.nps[0].cond.day_and_time = office_hours_paris();
  trace t;
  request_env e = rras_request();
  CHECK(evaluate_network_policy(p, e.facts(), e.user(), t).accept);
  t.clear();
  e.now = saturday_night_paris;
  const auto d = evaluate_network_policy(p, e.facts(), e.user(), t);
  REQUIRE(d.policy == &p.nps[1]);
  CHECK(d.why == reason::dial_in_denied);
  CHECK(verdicts(t) == std::vector<std::string>{
                           "Office hours: not matched: day-and-time restrictions: Sat 23:10 "
                           "(Europe/Paris) is outside the allowed times",
                           R"(Out of hours: denied: denied by network policy "Out of hours")"});
}

TEST_CASE("on accept: the policy's reply attributes in order, timeouts from the constraints") {
  policies p;
  p.nps = {np("VLAN 100", 1)};
  auto& vlan = p.nps[0];
  vlan.cond.nas_port_type = value_set{{5}};
  vlan.cons.session_timeout = 28800;
  vlan.cons.idle_timeout = 900;
  vlan.set.attributes = {reply("Tunnel-Type", 1, "VLAN"), reply("Tunnel-Medium-Type", 1, "IEEE-802"),
                         reply("Tunnel-Private-Group-Id", 1, "100"),
                         reply("MS-Primary-DNS-Server", 0, "192.0.2.53")};
  const request_env e = rras_request();
  trace t;
  auto d = evaluate_network_policy(p, e.facts(), e.user(), t);
  REQUIRE(d.accept);
  CHECK(d.why == reason::success);
  REQUIRE(d.reply.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) CHECK(d.reply[i] == &vlan.set.attributes[i]);
  CHECK(d.reply[0]->value == radius::bytes{1, 0, 0, 13});  // tag 1, VLAN
  CHECK(d.session_timeout == 28800u);
  CHECK(d.idle_timeout == 900u);

  vlan.permission = permit::deny;  // denied: nothing to return
  t.clear();
  d = evaluate_network_policy(p, e.facts(), e.user(), t);
  CHECK_FALSE(d.accept);
  CHECK(d.reply.empty());
  CHECK_FALSE(d.session_timeout.has_value());
  CHECK_FALSE(d.idle_timeout.has_value());

  vlan.permission = permit::grant;  // no timeouts configured: none returned
  vlan.cons.session_timeout.reset();
  vlan.cons.idle_timeout.reset();
  d = evaluate_network_policy(p, e.facts(), e.user(), t);
  CHECK(d.accept);
  CHECK_FALSE(d.session_timeout.has_value());
  CHECK_FALSE(d.idle_timeout.has_value());
}

TEST_CASE("the trace has one step per policy considered, and format_trace one line per step") {
  policies p;
  p.crps = {crp("Strip realm", 1)};
  p.crps[0].manipulations = {manip(attr::user_name, R"(@example\.com$)", "")};
  p.nps = {np("Old VPN", 1), np("Wireless", 2), np("VPN", 3), np("Never reached", 4)};
  p.nps[0].enabled = false;
  p.nps[1].cond.nas_port_type = value_set{{19}};
  p.nps[2].cond.user_name = rx("^alice$");  // sees the manipulated request
  p.nps[2].cond.windows_groups = {name_ref("VPN Users")};
  const request_env e = rras_request();
  trace t;
  const auto c = evaluate_crp(p, e.facts(), t);
  REQUIRE_FALSE(c.reject.has_value());
  request_facts after = e.facts();
  after.packet = &c.request;
  const auto d = evaluate_network_policy(p, after, e.user(), t);
  CHECK(d.accept);
  REQUIRE(t.size() == 4);
  CHECK(t[0].kind == "connection request policy");
  CHECK(t[1].kind == "network policy");
  CHECK(format_trace(t) ==
        "connection request policy \"Strip realm\": matched\n"
        "network policy \"Old VPN\": skipped: disabled\n"
        "network policy \"Wireless\": not matched: NAS-Port-Type is Virtual (5), not one of "
        "Wireless-802.11 (19)\n"
        "network policy \"VPN\": granted");
  CHECK(format_trace({}).empty());
}

TEST_CASE("every reason code the engine produces, from its documented cause") {
  struct row {
    int code;
    std::function<reason()> produce;
  };
  const auto np_reason = [](std::function<void(policies&, request_env&)> prepare) {
    return [prepare] {
      policies p;
      p.nps = {np("VPN", 1)};
      request_env e = rras_request();
      e.method = auth_method::peap_tls;
      prepare(p, e);
      trace t;
      return evaluate_network_policy(p, e.facts(), e.user(), t).why;
    };
  };
  const std::vector<row> rows{
      {0, np_reason([](policies&, request_env&) {})},
      {34, [] { account a = alice(); a.enabled = false; return *account_rejection(a); }},
      {36, [] { account a = alice(); a.locked_out = true; return *account_rejection(a); }},
      {48, np_reason([](policies& p, request_env&) { p.nps.clear(); })},
      {49, [] {
         trace t;
         return *evaluate_crp(policies{}, rras_request().facts(), t).reject;
       }},
      {65, np_reason([](policies&, request_env& e) { e.acct->dial_in_permission = dial_in::deny; })},
      {66, np_reason([](policies& p, request_env&) { p.nps[0].cons.methods = {auth_method::eap_tls}; })},
      {67, np_reason([](policies& p, request_env&) { p.nps[0].cons.calling_station_id = rx("^$"); })},
      {68, np_reason([](policies& p, request_env&) {
         p.nps[0].cons.day_and_time = day_time{time_zone(), {{0, 0, 1440}}};  // no day at all
       })},
      {69, np_reason([](policies& p, request_env&) { p.nps[0].cons.called_station_id = rx("^$"); })},
      {70, np_reason([](policies& p, request_env&) { p.nps[0].cons.nas_port_type = value_set{{15}}; })},
  };
  for (const auto& r : rows) {
    INFO("reason " << r.code);
    CHECK(reason_number(r.produce()) == r.code);
  }
}

// ---------------------------------------------------------------------------------------------
// Policies as an administrator writes them, read by the configuration loader

namespace {
const char* vpn_config = R"({
  "schema_version": 1,
  "server": { "listen": [ { "type": "auth", "address": "127.0.0.1" } ] },
  "clients": [ { "name": "rras1", "address": "10.0.0.0/24", "secret": "s3cret",
                 "vendor": "Microsoft" } ],
  "directory": { "backend": "local", "users_file": "users.json" },
  "time_zone": "Europe/Paris",
  "connection_request_policies": [
    { "name": "Block contractors", "order": 5, "action": "reject",
      "conditions": { "user_name": "@contractors\\.example\\.com$" } },
    { "name": "Virtual Private Network (VPN) Connections", "order": 10,
      "conditions": { "nas_port_type": ["Virtual"], "client_vendor": "^Microsoft$" },
      "manipulations": [ { "attribute": "User-Name", "find": "^(.+)@example\\.com$",
                           "replace": "$1" } ] }
  ],
  "network_policies": [
    { "name": "Deny everyone else", "order": 100, "access": "deny" },
    { "name": "Virtual Private Network (VPN) Connections", "order": 10, "access": "grant",
      "conditions": { "windows_groups": ["VPN Users"], "nas_port_type": ["virtual"],
                      "ms_ras_vendor": "^311$", "user_name": "^[a-z]+$" },
      "constraints": { "authentication_methods": ["PEAP-TLS", "EAP-TLS"],
                       "session_timeout": 28800, "idle_timeout": 900,
                       "day_and_time": [ { "days": ["Mon-Fri"], "from": "07:00", "to": "20:00" } ] },
      "settings": { "attributes": [
        { "name": "Tunnel-Type", "value": "VLAN", "tag": 1 },
        { "name": "Tunnel-Medium-Type", "value": "IEEE-802", "tag": 1 },
        { "name": "Tunnel-Private-Group-Id", "value": "100", "tag": 1 } ] } },
    { "name": "Old VPN", "order": 1, "enabled": false, "access": "grant" }
  ]
})";
}  // namespace

TEST_CASE("a configuration file's policies, end to end: CRP, manipulation, NP, reply") {
  const auto loaded = parse_config(vpn_config, "npsd.json", "/tmp", NPSD_DICTIONARY_DIR);
  REQUIRE_MESSAGE(loaded.has_value(), (loaded.has_value() ? "" : loaded.error()));
  const config& cfg = **loaded;
  const policies& p = cfg.pol;
  REQUIRE(cfg.clients.size() == 1);

  const auto run = [&](request_env& e, trace& t) {
    e.client = cfg.clients[0];
    request_facts f = e.facts();
    f.dict = cfg.dict.get();
    const auto c = evaluate_crp(p, f, t);
    if (c.reject) {
      np_decision d;
      d.why = *c.reject;
      d.detail = c.detail;
      return d;
    }
    f.packet = &c.request;
    return evaluate_network_policy(p, f, e.user(), t);
  };

  request_env e = rras_request();
  e.method = auth_method::peap_tls;
  trace t;
  auto d = run(e, t);
  CHECK(d.accept);
  CHECK(reason_number(d.why) == 0);
  REQUIRE(d.policy != nullptr);
  CHECK(d.policy->name == "Virtual Private Network (VPN) Connections");
  REQUIRE(d.reply.size() == 3);
  CHECK(d.reply[0]->def->name == "Tunnel-Type");
  CHECK(d.reply[1]->def->name == "Tunnel-Medium-Type");
  CHECK(d.reply[2]->def->name == "Tunnel-Private-Group-Id");
  CHECK(d.session_timeout == 28800u);
  CHECK(d.idle_timeout == 900u);
  CHECK(format_trace(t) ==
        "connection request policy \"Block contractors\": not matched: User-Name "
        "\"alice@example.com\" does not match @contractors\\.example\\.com$\n"
        "connection request policy \"Virtual Private Network (VPN) Connections\": matched\n"
        "network policy \"Old VPN\": skipped: disabled\n"
        "network policy \"Virtual Private Network (VPN) Connections\": granted");

  SUBCASE("outside the constraint's hours (Paris time): 68, the deny policy is not tried") {
    e.now = saturday_night_paris;
    t.clear();
    d = run(e, t);
    CHECK(reason_number(d.why) == 68);
    CHECK(d.detail ==
          "day-and-time restrictions: Sat 23:10 (Europe/Paris) is outside the allowed times");
  }
  SUBCASE("MS-CHAPv2 inside PEAP is not enabled: 66") {
    e.method = auth_method::peap_mschapv2;
    t.clear();
    CHECK(reason_number(run(e, t).why) == 66);
  }
  SUBCASE("not in VPN Users: the deny policy decides, 65") {
    e.acct->groups = {domain_users()};
    t.clear();
    d = run(e, t);
    CHECK(reason_number(d.why) == 65);
    CHECK(d.detail == R"(denied by network policy "Deny everyone else")");
  }
  SUBCASE("a contractor: rejected by the first CRP, 49") {
    set(e.pkt, attr::user_name, "carol@contractors.example.com");
    t.clear();
    d = run(e, t);
    CHECK(reason_number(d.why) == 49);
    CHECK(d.detail == R"(rejected by connection request policy "Block contractors")");
  }
  SUBCASE("a wireless request matches no CRP: 49") {
    set_u32(e.pkt, attr::nas_port_type, 19);
    t.clear();
    d = run(e, t);
    CHECK(reason_number(d.why) == 49);
    CHECK(d.detail == "no connection request policy matched");
  }
}

TEST_CASE("certificate constraints: required EKUs (283) and issuer (265); no certificate (285)") {
  request_env e = rras_request();
  policies p;
  p.nps = {np("Entra ID conditional access", 1)};
  p.nps[0].cons.certificate_ekus = {"1.3.6.1.5.5.7.3.2", "1.3.6.1.4.1.311.87"};
  p.nps[0].cons.certificate_issuer = rx("^CN=Microsoft VPN root CA gen 1");
  const std::vector<std::string> client_auth_only = {"1.3.6.1.5.5.7.3.2"};
  const std::vector<std::string> both = {"1.3.6.1.5.5.7.3.2", "1.3.6.1.4.1.311.87"};
  const std::string entra = "CN=Microsoft VPN root CA gen 1";
  const std::string corp = "CN=Corp Issuing CA,DC=corp";
  struct row {
    const std::vector<std::string>* ekus;
    const std::string* issuer;
    bool accept;
    reason why;
  };
  for (const auto& r : std::vector<row>{{&both, &entra, true, reason::success},
                                        {&client_auth_only, &entra, false, reason::missing_client_auth_eku},
                                        {&both, &corp, false, reason::untrusted_root},
                                        {nullptr, nullptr, false, reason::certificate_unusable}}) {
    auto f = e.facts();
    f.certificate_ekus = r.ekus;
    f.certificate_issuer = r.issuer;
    trace t;
    const auto d = evaluate_network_policy(p, f, e.user(), t);
    CHECK(d.accept == r.accept);
    if (!r.accept) CHECK(d.why == r.why);
  }
}
