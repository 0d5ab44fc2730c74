#include "radius/ascii.h"
#include "policy/evaluate.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <iterator>
#include <span>
#include <string_view>

#include "radius/value.h"

namespace npsd::policy {

namespace {

using radius::attribute;
using radius::attribute_def;
using radius::byte_view;

constexpr std::string_view crp_kind = "connection request policy";
constexpr std::string_view np_kind = "network policy";

constexpr std::uint32_t microsoft_vendor = 311;
constexpr std::uint32_t ms_ras_vendor_type = 9;
constexpr std::uint32_t ms_chap2_response_type = 25;
constexpr std::uint8_t eap_code_response = 2;
constexpr std::uint8_t eap_first_method_type = 4;  // 1 Identity, 2 Notification, 3 Nak
constexpr std::size_t max_tlv_depth = 8;


std::uint32_t read_be32(const std::uint8_t* p) noexcept {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

// A value from the request, quoted for a sentence; quotes, backslashes and control characters
// are escaped so that a request cannot forge lines in a log.
std::string quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      std::array<char, 5> buf{};
      std::snprintf(buf.data(), buf.size(), "\\x%02x", c);
      out += buf.data();
    } else {
      out += ch;
    }
  }
  out += '"';
  return out;
}

std::string hex(byte_view b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s = "0x";
  s.reserve(2 + 2 * b.size());
  for (const std::uint8_t x : b) {
    s += digits[x >> 4];
    s += digits[x & 0xf];
  }
  return s;
}

// "A", or "any of A, B" for several.
template <class Range, class Show>
std::string any_of_list(const Range& r, Show show) {
  std::string s = std::size(r) > 1 ? "any of " : "";
  bool first = true;
  for (const auto& x : r) {
    if (!first) s += ", ";
    first = false;
    s += show(x);
  }
  return s;
}

template <class Range, class Show>
std::string comma_list(const Range& r, Show show) {
  std::string s;
  for (const auto& x : r) {
    if (!s.empty()) s += ", ";
    s += show(x);
  }
  return s;
}

const radius::packet& request_of(const request_facts& f) noexcept {
  static const radius::packet empty;
  return f.packet != nullptr ? *f.packet : empty;
}

const attribute_def* standard_def(const request_facts& f, std::uint8_t type) noexcept {
  return f.dict != nullptr ? f.dict->find(0, type) : nullptr;
}

radius::vsa_format vendor_format(const radius::dictionary* dict, std::uint32_t vendor) noexcept {
  if (dict != nullptr) {
    if (const auto* v = dict->find_vendor(vendor)) return v->format();
  }
  return {};
}

// Calls fn(sub-attribute) for every sub-attribute of `vendor` in the packet's well-formed
// Vendor-Specific attributes, until fn returns true. Returns whether it did.
template <class Fn>
bool for_each_vsa(const radius::packet& p, const radius::dictionary* dict, std::uint32_t vendor,
                  Fn&& fn) {
  const radius::vsa_format fmt = vendor_format(dict, vendor);
  for (const auto& a : p.attributes) {
    if (a.type != radius::attr::vendor_specific || a.value.size() < 4) continue;
    if (read_be32(a.value.data()) != vendor) continue;
    const auto subs = radius::split_vsa(a.value, fmt);
    if (!subs) continue;
    for (const auto& s : *subs) {
      if (fn(s)) return true;
    }
  }
  return false;
}

// The TLVs of `value` along `chain` (child numbers, outermost first); fn(value) for each found.
template <class Fn>
bool descend_tlvs(std::span<const attribute_def* const> chain, byte_view value, Fn& fn) {
  if (chain.empty()) return fn(value);
  std::size_t pos = 0;
  while (value.size() - pos >= 2) {
    const std::size_t len = value[pos + 1];
    if (len < 2 || len > value.size() - pos) break;  // malformed: nothing further is trusted
    if (value[pos] == chain.front()->number &&
        descend_tlvs(chain.subspan(1), value.subspan(pos + 2, len - 2), fn)) {
      return true;
    }
    pos += len;
  }
  return false;
}

// Every instance of an attribute in the request (standard by number, vendor attributes inside
// Vendor-Specific, TLV children inside their parents): fn(wire value) until it returns true.
template <class Fn>
bool for_each_instance(const request_facts& f, const attribute_def& def, Fn&& fn) {
  std::array<const attribute_def*, max_tlv_depth> chain{};
  std::size_t depth = 0;
  const attribute_def* top = &def;
  for (; top->parent != nullptr; top = top->parent) {
    if (depth == chain.size()) return false;
    chain[depth++] = top;
  }
  std::reverse(chain.begin(), chain.begin() + static_cast<std::ptrdiff_t>(depth));
  const std::span<const attribute_def* const> children(chain.data(), depth);
  if (top->vendor == 0) {
    if (top->number > 255) return false;
    for (const auto& a : request_of(f).attributes) {
      if (a.type == top->number && descend_tlvs(children, a.value, fn)) return true;
    }
    return false;
  }
  return for_each_vsa(request_of(f), f.dict, top->vendor, [&](const radius::vsa& s) {
    return s.type == top->number && descend_tlvs(children, s.value, fn);
  });
}

// "Ethernet (15)" when the dictionary names the value, else "15".
std::string show_number(const attribute_def* def, std::uint32_t v) {
  if (def != nullptr) {
    if (const auto name = def->name_of(v)) return std::string(*name) + " (" + std::to_string(v) + ")";
  }
  return std::to_string(v);
}

std::optional<std::string> check_value_set(const value_set& set, std::uint8_t type,
                                           std::string_view name, const request_facts& f) {
  const attribute_def* def = standard_def(f, type);
  const bool tagged = def != nullptr ? def->has_tag : type == radius::attr::tunnel_type;
  const auto value_of = [tagged](std::uint32_t v) { return tagged ? v & 0x00ffffffu : v; };
  const attribute* first = nullptr;
  for (const auto& a : request_of(f).attributes) {
    if (a.type != type) continue;
    if (first == nullptr) first = &a;
    if (const auto v = a.as_uint32(); v && set.contains(value_of(*v))) return std::nullopt;
  }
  std::string why(name);
  if (first == nullptr) return why + " is absent";
  why += " is ";
  if (const auto v = first->as_uint32()) {
    why += show_number(def, value_of(*v));
  } else {
    why += hex(first->value) + " (not a 4-byte integer)";
  }
  why += ", not one of ";
  why += comma_list(set.values, [def](std::uint32_t v) { return show_number(def, v); });
  return why;
}

std::optional<std::string> check_text(const regex_match& r, std::string_view name,
                                      std::string_view value) {
  if (r.matches(value)) return std::nullopt;
  return std::string(name) + " " + quote(value) + " does not match " + r.pattern;
}

std::optional<std::string> check_string_attribute(const regex_match& r, std::uint8_t type,
                                                  std::string_view name, const request_facts& f) {
  const attribute* a = request_of(f).find(type);
  if (a == nullptr) return std::string(name) + " is absent";
  return check_text(r, name, a->as_string());
}

std::optional<std::string> check_client_text(const regex_match& r, std::string_view name,
                                             const request_facts& f,
                                             const std::string client_config::*field) {
  if (f.client == nullptr) return std::string(name) + " is unknown (no RADIUS client)";
  return check_text(r, name, f.client->*field);
}

std::string show_prefixes(const std::vector<ip_prefix>& v) {
  return any_of_list(v, [](const ip_prefix& p) { return p.to_string(); });
}

bool in_any(const std::vector<ip_prefix>& v, const ip_address& a) noexcept {
  return std::any_of(v.begin(), v.end(), [&](const ip_prefix& p) { return p.contains(a); });
}

std::optional<std::string> check_nas_address(const std::vector<ip_prefix>& prefixes, bool v6,
                                              const request_facts& f) {
  const std::string name = v6 ? "NAS-IPv6-Address" : "NAS-IPv4-Address";
  const std::uint8_t type = v6 ? radius::attr::nas_ipv6_address : radius::attr::nas_ip_address;
  const attribute* a = request_of(f).find(type);
  if (a == nullptr) return name + " is absent";
  ip_address addr;
  if (!v6 && a->value.size() == 4) {
    addr = ip_address::from_v4(read_be32(a->value.data()));
  } else if (v6 && a->value.size() == 16) {
    std::array<std::uint8_t, 16> b{};
    std::copy(a->value.begin(), a->value.end(), b.begin());
    addr = ip_address::from_v6(b);
  } else {
    return name + " " + hex(a->value) + " is not an " + (v6 ? "IPv6" : "IPv4") + " address";
  }
  if (in_any(prefixes, addr)) return std::nullopt;
  return name + " " + addr.to_string() + " is not in " + show_prefixes(prefixes);
}

std::optional<std::string> check_client_address(const std::vector<ip_prefix>& prefixes,
                                                const request_facts& f) {
  if (in_any(prefixes, f.client_address)) return std::nullopt;
  return std::string(f.client_address.v6 ? "Client-IPv6-Address " : "Client-IPv4-Address ") +
         f.client_address.to_string() + " is not in " + show_prefixes(prefixes);
}

std::optional<std::string> check_ms_ras_vendor(const regex_match& r, const request_facts& f) {
  constexpr std::string_view name = "MS-RAS-Vendor";
  std::optional<std::string> first;
  const bool matched =
      for_each_vsa(request_of(f), f.dict, microsoft_vendor, [&](const radius::vsa& s) {
        if (s.type != ms_ras_vendor_type) return false;
        std::string text = s.value.size() == 4 ? std::to_string(read_be32(s.value.data()))
                                               : hex(s.value);
        if (r.matches(text)) return true;
        if (!first) first = std::move(text);
        return false;
      });
  if (matched) return std::nullopt;
  if (!first) return std::string(name) + " is absent";
  return std::string(name) + " " + *first + " does not match " + r.pattern;
}

std::string eap_type_text(std::uint8_t t) {
  switch (t) {
    case eap_type_tls: return "EAP-TLS (13)";
    case eap_type_peap: return "PEAP (25)";
    case eap_type_mschapv2: return "EAP-MSCHAPv2 (26)";
    default: return "EAP type " + std::to_string(t);
  }
}

// The outer EAP type in use: from the facts, else from the method, else from an EAP-Response
// that already carries a method (not Identity, Notification or Nak).
std::optional<std::uint8_t> request_eap_type(const request_facts& f) noexcept {
  if (f.eap_type) return f.eap_type;
  if (f.method) return eap_type_of(*f.method);
  const attribute* e = request_of(f).find(radius::attr::eap_message);
  if (e != nullptr && e->value.size() >= 5 && e->value[0] == eap_code_response &&
      e->value[4] >= eap_first_method_type) {
    return e->value[4];
  }
  return std::nullopt;
}

std::optional<std::string> check_eap_types(const std::vector<std::uint8_t>& allowed,
                                           const request_facts& f) {
  const auto t = request_eap_type(f);
  if (!t) {
    // Not negotiated yet (EAP-Response/Identity): the condition is decided once the method
    // is known, as the method constraint is.
    if (!f.method && detect_auth_type(f) == auth_type::eap) return std::nullopt;
    return std::string("Allowed-EAP-Types: the request does not use EAP");
  }
  if (std::find(allowed.begin(), allowed.end(), *t) != allowed.end()) return std::nullopt;
  return "Allowed-EAP-Types: the request uses " + eap_type_text(*t) + ", not one of " +
         comma_list(allowed, eap_type_text);
}

std::optional<std::string> check_auth_type(const std::vector<auth_type>& allowed,
                                           const request_facts& f) {
  const auth_type t = detect_auth_type(f);
  if (std::find(allowed.begin(), allowed.end(), t) != allowed.end()) return std::nullopt;
  return "Authentication-Type is " + std::string(auth_type_name(t)) + ", not one of " +
         comma_list(allowed, [](auth_type x) { return std::string(auth_type_name(x)); });
}

std::optional<std::string> check_attribute(const attribute_condition& c, const request_facts& f) {
  if (c.def == nullptr) return std::string("an attribute condition names no attribute");
  const attribute_def& def = *c.def;
  const bool quoted = def.type == radius::attr_type::string;
  const auto show = [quoted](const std::string& s) { return quoted ? quote(s) : s; };
  std::size_t count = 0;
  std::string first;
  const bool matched = for_each_instance(f, def, [&](byte_view wire) {
    std::string text = radius::format_value(def, radius::split_tag(def, wire).value);
    const bool ok = c.match ? c.match->matches(text)
                            : std::any_of(c.values.begin(), c.values.end(),
                                          [&](const std::string& v) { return ascii_iequals(v, text); });
    if (ok) return true;
    if (count++ == 0) first = std::move(text);
    return false;
  });
  if (matched) return std::nullopt;
  if (count == 0) return def.name + " is absent";
  std::string why = count == 1 ? def.name + " " + show(first)
                               : "none of " + std::to_string(count) + " " + def.name +
                                     " attributes (the first " + show(first) + ")";
  if (c.match) return why + (count == 1 ? " does not match " : " matches ") + c.match->pattern;
  return why + (count == 1 ? " is not one of " : " is one of ") + comma_list(c.values, show);
}

std::string time_text(const day_time& d, std::chrono::system_clock::time_point now) {
  static constexpr std::array<std::string_view, 7> days{"Sun", "Mon", "Tue", "Wed",
                                                        "Thu", "Fri", "Sat"};
  const auto lt = d.zone.local(now);
  std::array<char, 8> hhmm{};
  std::snprintf(hhmm.data(), hhmm.size(), "%02d:%02d", (lt.minute_of_day / 60) % 100,
                lt.minute_of_day % 60);
  const std::string_view day =
      lt.weekday >= 0 && lt.weekday < 7 ? days[static_cast<std::size_t>(lt.weekday)] : "?";
  return std::string(day) + " " + hhmm.data() + " (" + d.zone.name() + ")";
}

std::optional<std::string> check_day_time(const day_time& d,
                                          std::chrono::system_clock::time_point now) {
  if (d.allows(now)) return std::nullopt;
  return "day-and-time restrictions: " + time_text(d, now) + " is outside the allowed times";
}

bool member_of(const ldap::account& a, const std::vector<group_ref>& refs) noexcept {
  for (const auto& r : refs) {
    for (const auto& g : a.groups) {
      if (r.is_dn ? (!g.dn.empty() && ascii_iequals(g.dn, r.text)) : ascii_iequals(g.name, r.text)) {
        return true;
      }
    }
  }
  return false;
}

enum class group_kind { windows, user, machine };

std::optional<std::string> check_groups(const std::vector<group_ref>& refs, group_kind k,
                                        const ldap::account* acct) {
  const char* what = k == group_kind::windows ? "Windows groups"
                     : k == group_kind::user  ? "user groups"
                                              : "machine groups";
  if (acct == nullptr) return "no account is known (" + std::string(what) + " need one)";
  if (k == group_kind::user && acct->machine) {
    return "user groups apply to user accounts; " + acct->name + " is a machine account";
  }
  if (k == group_kind::machine && !acct->machine) {
    return "machine groups apply to machine accounts; " + acct->name + " is a user account";
  }
  if (member_of(*acct, refs)) return std::nullopt;
  return "the account is not a member of " +
         any_of_list(refs, [](const group_ref& r) { return r.text; });
}

// Policies by processing order (the lowest first; equal orders keep their listed order),
// without allocating when they are already sorted, as the loader leaves them.
template <class P, class Fn>
void for_each_in_order(const std::vector<P>& v, Fn&& fn) {
  const auto by_order = [](const P& a, const P& b) { return a.order < b.order; };
  if (std::is_sorted(v.begin(), v.end(), by_order)) {
    for (const auto& x : v) {
      if (fn(x)) return;
    }
    return;
  }
  std::vector<const P*> sorted;
  sorted.reserve(v.size());
  for (const auto& x : v) sorted.push_back(&x);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const P* a, const P* b) { return a->order < b->order; });
  for (const P* x : sorted) {
    if (fn(*x)) return;
  }
}

// The first enabled policy (CRP or NP) whose conditions all match, by processing order; a trace
// step for each one passed over on the way. Null when none matches.
template <class P>
const P* first_matching(const std::vector<P>& v, std::string_view kind, const request_facts& f,
                        const ldap::account* acct, trace& t) {
  const P* found = nullptr;
  for_each_in_order(v, [&](const P& p) {
    if (!p.enabled) {
      t.push_back({std::string(kind), p.name, "skipped: disabled"});
      return false;
    }
    if (auto why = first_failing_condition(p.cond, f, acct)) {
      t.push_back({std::string(kind), p.name, "not matched: " + *why});
      return false;
    }
    found = &p;
    return true;
  });
  return found;
}

struct constraint_failure {
  reason why;
  std::string detail;
};

std::optional<constraint_failure> failing_constraint(const constraints& c,
                                                     const request_facts& f) {
  if (!c.methods.empty()) {
    const auto enabled = [&] {
      return " (enabled: " +
             comma_list(c.methods, [](auth_method m) { return std::string(auth_method_name(m)); }) +
             ")";
    };
    if (f.method && std::find(c.methods.begin(), c.methods.end(), *f.method) == c.methods.end()) {
      return constraint_failure{reason::auth_method_not_enabled,
                                "authentication method " +
                                    std::string(auth_method_name(*f.method)) +
                                    " is not enabled on the policy" + enabled()};
    }
    // A request that negotiates no method at all (accepted without validating credentials)
    // needs a policy that allows any method, as NPS needs "unauthenticated access" enabled.
    if (!f.method && detect_auth_type(f) == auth_type::unauthenticated) {
      return constraint_failure{reason::auth_method_not_enabled,
                                "the request uses no authentication method, and the policy "
                                "enables only some" +
                                    enabled()};
    }
  }
  if (c.nas_port_type) {
    if (auto why = check_value_set(*c.nas_port_type, radius::attr::nas_port_type, "NAS-Port-Type", f)) {
      return constraint_failure{reason::nas_port_type_constraint, std::move(*why)};
    }
  }
  if (c.called_station_id) {
    if (auto why = check_string_attribute(*c.called_station_id, radius::attr::called_station_id,
                                          "Called-Station-Id", f)) {
      return constraint_failure{reason::called_station_constraint, std::move(*why)};
    }
  }
  if (c.calling_station_id) {
    if (auto why = check_string_attribute(*c.calling_station_id,
                                          radius::attr::calling_station_id, "Calling-Station-Id", f)) {
      return constraint_failure{reason::calling_station_constraint, std::move(*why)};
    }
  }
  if (c.day_and_time) {
    if (auto why = check_day_time(*c.day_and_time, f.now)) {
      return constraint_failure{reason::day_time_constraint, std::move(*why)};
    }
  }
  if (!c.certificate_ekus.empty() || c.certificate_issuer) {
    if (f.certificate_ekus == nullptr || f.certificate_issuer == nullptr)
      return constraint_failure{reason::certificate_unusable,
                                "the policy constrains the client certificate and the request "
                                "authenticated without one"};
    for (const auto& oid : c.certificate_ekus)
      if (std::find(f.certificate_ekus->begin(), f.certificate_ekus->end(), oid) ==
          f.certificate_ekus->end())
        return constraint_failure{reason::missing_client_auth_eku,
                                  "the client certificate lacks the purpose " + oid +
                                      " the policy requires"};
    if (c.certificate_issuer && !c.certificate_issuer->matches(*f.certificate_issuer))
      return constraint_failure{reason::untrusted_root,
                                "the client certificate's issuer " + *f.certificate_issuer +
                                    " does not match " + quote(c.certificate_issuer->pattern)};
  }
  return std::nullopt;
}

}  // namespace

std::string format_trace(const trace& t) {
  std::string out;
  for (const auto& s : t) {
    if (!out.empty()) out += '\n';
    out += s.kind;
    out += ' ';
    out += quote(s.name);
    out += ": ";
    out += s.verdict;
  }
  return out;
}

std::optional<std::string> first_failing_condition(const conditions& c, const request_facts& f,
                                                   const ldap::account* acct) {
  std::optional<std::string> why;
  if (c.client_friendly_name &&
      (why = check_client_text(*c.client_friendly_name, "Client-Friendly-Name", f,
                               &client_config::name))) {
    return why;
  }
  if (c.client_vendor &&
      (why = check_client_text(*c.client_vendor, "Client-Vendor", f, &client_config::vendor))) {
    return why;
  }
  if (!c.client_ip_address.empty() && (why = check_client_address(c.client_ip_address, f))) {
    return why;
  }
  if (!c.nas_ipv4_address.empty() && (why = check_nas_address(c.nas_ipv4_address, false, f))) {
    return why;
  }
  if (!c.nas_ipv6_address.empty() && (why = check_nas_address(c.nas_ipv6_address, true, f))) {
    return why;
  }
  if (c.nas_identifier && (why = check_string_attribute(*c.nas_identifier,
                                                        radius::attr::nas_identifier,
                                                        "NAS-Identifier", f))) {
    return why;
  }
  if (c.nas_port_type && (why = check_value_set(*c.nas_port_type, radius::attr::nas_port_type,
                                                "NAS-Port-Type", f))) {
    return why;
  }
  if (c.service_type && (why = check_value_set(*c.service_type, radius::attr::service_type,
                                               "Service-Type", f))) {
    return why;
  }
  if (c.framed_protocol && (why = check_value_set(*c.framed_protocol,
                                                  radius::attr::framed_protocol,
                                                  "Framed-Protocol", f))) {
    return why;
  }
  if (c.tunnel_type &&
      (why = check_value_set(*c.tunnel_type, radius::attr::tunnel_type, "Tunnel-Type", f))) {
    return why;
  }
  if (c.called_station_id && (why = check_string_attribute(*c.called_station_id,
                                                           radius::attr::called_station_id,
                                                           "Called-Station-Id", f))) {
    return why;
  }
  if (c.calling_station_id && (why = check_string_attribute(*c.calling_station_id,
                                                            radius::attr::calling_station_id,
                                                            "Calling-Station-Id", f))) {
    return why;
  }
  if (c.ms_ras_vendor && (why = check_ms_ras_vendor(*c.ms_ras_vendor, f))) return why;
  if (c.user_name &&
      (why = check_string_attribute(*c.user_name, radius::attr::user_name, "User-Name", f))) {
    return why;
  }
  if (!c.authentication_type.empty() && (why = check_auth_type(c.authentication_type, f))) {
    return why;
  }
  if (!c.allowed_eap_types.empty() && (why = check_eap_types(c.allowed_eap_types, f))) {
    return why;
  }
  for (const auto& a : c.attributes) {
    if ((why = check_attribute(a, f))) return why;
  }
  if (c.day_and_time && (why = check_day_time(*c.day_and_time, f.now))) return why;
  if (!c.windows_groups.empty() &&
      (why = check_groups(c.windows_groups, group_kind::windows, acct))) {
    return why;
  }
  if (!c.user_groups.empty() && (why = check_groups(c.user_groups, group_kind::user, acct))) {
    return why;
  }
  if (!c.machine_groups.empty() &&
      (why = check_groups(c.machine_groups, group_kind::machine, acct))) {
    return why;
  }
  return std::nullopt;
}

std::optional<reason> account_rejection(const ldap::account& acct) noexcept {
  if (!acct.enabled) return reason::account_disabled;
  if (acct.locked_out) return reason::account_locked_out;
  return std::nullopt;
}

auth_type detect_auth_type(const request_facts& f) noexcept {
  if (f.method) return auth_type_of(*f.method);
  const radius::packet& p = request_of(f);
  if (p.find(radius::attr::eap_message) != nullptr) return auth_type::eap;
  if (p.find(radius::attr::user_password) != nullptr) return auth_type::pap;
  if (p.find(radius::attr::chap_password) != nullptr) return auth_type::chap;
  try {
    if (for_each_vsa(p, f.dict, microsoft_vendor,
                     [](const radius::vsa& s) { return s.type == ms_chap2_response_type; })) {
      return auth_type::mschapv2;
    }
  } catch (const std::bad_alloc&) {
    // Out of memory while splitting a Vendor-Specific attribute: treated as absent.
  }
  return auth_type::unauthenticated;
}

radius::packet apply_manipulations(const connection_request_policy& crp, const radius::packet& p) {
  radius::packet out = p;
  const auto flags = boost::match_default | boost::format_perl;
  std::string replaced;
  for (const auto& m : crp.manipulations) {
    for (auto& a : out.attributes) {
      if (a.type != m.attribute) continue;
      const std::string_view value = a.as_string();
      replaced.clear();
      try {
        boost::regex_replace(std::back_inserter(replaced), value.data(),
                             value.data() + value.size(), m.find.re, m.replace, flags);
      } catch (const std::runtime_error&) {
        continue;  // the match exceeded Boost's complexity limit: the value is left as it was
      }
      // A value that no longer fits in an attribute is left as it was.
      if (replaced.size() > radius::max_attribute_value) continue;
      a.value.assign(replaced.begin(), replaced.end());
    }
  }
  return out;
}

crp_decision evaluate_crp(const policies& p, const request_facts& f, trace& t) {
  crp_decision d;
  d.policy = first_matching(p.crps, crp_kind, f, nullptr, t);
  if (d.policy != nullptr) {
    t.push_back({std::string(crp_kind), d.policy->name,
                 d.policy->action == crp_action::reject ? "matched: the policy rejects the request"
                 : d.policy->action == crp_action::accept_without_credentials
                     ? "matched: accept users without validating credentials"
                     : "matched"});
  }
  const radius::packet& original = request_of(f);
  if (d.policy == nullptr) {
    d.reject = reason::no_connection_request_policy;
    d.detail = "no connection request policy matched";
    d.request = original;
    return d;
  }
  d.request = d.policy->manipulations.empty() ? original : apply_manipulations(*d.policy, original);
  if (d.policy->action == crp_action::reject) {
    d.reject = reason::no_connection_request_policy;
    d.detail = "rejected by connection request policy " + quote(d.policy->name);
  }
  return d;
}

np_decision evaluate_network_policy(const policies& p, const request_facts& f,
                                    const ldap::account* acct, trace& t) {
  np_decision d;
  d.policy = first_matching(p.nps, np_kind, f, acct, t);
  if (d.policy == nullptr) {
    d.why = reason::no_network_policy;
    d.detail = "no network policy matched";
    return d;
  }
  const network_policy& np = *d.policy;
  if (auto failed = failing_constraint(np.cons, f)) {
    d.why = failed->why;
    d.detail = std::move(failed->detail);
    t.push_back({std::string(np_kind), np.name, "constraint failed: " + d.detail});
    return d;
  }
  const ldap::dial_in dial_in =
      np.ignore_dial_in || acct == nullptr ? ldap::dial_in::policy : acct->dial_in_permission;
  std::string verdict;
  switch (dial_in) {
    case ldap::dial_in::allow:
      d.accept = true;
      d.detail = "dial-in permission of the account allows access";
      verdict = np.permission == access::deny
                    ? "granted: dial-in permission of the account allows access (overrides the "
                      "policy's deny)"
                    : "granted";
      break;
    case ldap::dial_in::deny:
      d.why = reason::dial_in_denied;
      d.detail = "dial-in permission of the account denies access";
      verdict = "denied: " + d.detail;
      break;
    case ldap::dial_in::policy:
      if (np.permission == access::grant) {
        d.accept = true;
        d.detail = "granted by network policy " + quote(np.name);
        verdict = "granted";
      } else {
        d.why = reason::dial_in_denied;
        d.detail = "denied by network policy " + quote(np.name);
        verdict = "denied: " + d.detail;
      }
      break;
  }
  if (d.accept) {
    d.why = reason::success;
    d.reply.reserve(np.set.attributes.size());
    for (const auto& a : np.set.attributes) d.reply.push_back(&a);
    d.session_timeout = np.cons.session_timeout;
    d.idle_timeout = np.cons.idle_timeout;
  }
  t.push_back({std::string(np_kind), np.name, std::move(verdict)});
  return d;
}

}  // namespace npsd::policy
