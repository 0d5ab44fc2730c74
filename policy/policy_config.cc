#include "radius/ascii.h"
#include "policy/policy_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "radius/value.h"

namespace npsd::policy {

namespace {

using radius::attribute_def;



std::string quoted_list(std::initializer_list<std::string_view> items) {
  std::string out;
  for (auto i : items) out += fmt::format("{}\"{}\"", out.empty() ? "" : ", ", i);
  return out;
}

constexpr std::string_view implicit_crp_name = "Use Windows authentication for all users";
constexpr std::string_view no_credentials_why =
    "accepting without validating credentials cannot serve EAP-TLS, PEAP or MS-CHAPv2";

enum class policy_kind { crp, np };

std::string_view kind_name(policy_kind k) {
  return k == policy_kind::crp ? "connection request policy" : "network policy";
}

// What reading needs besides the JSON: the dictionary and the time zones seen so far.
class context {
 public:
  explicit context(const radius::dictionary& dict) : dict_(dict) {}

  const radius::dictionary& dict() const noexcept { return dict_; }
  const time_zone& default_zone() const noexcept { return default_zone_; }
  void set_default_zone(time_zone z) { default_zone_ = std::move(z); }

  // A zone by name (field `r`), read once per configuration.
  time_zone zone(const json_reader& r) {
    const auto name = r.non_empty_string();
    if (const auto it = zones_.find(name); it != zones_.end()) return it->second;
    auto z = time_zone::load(name);
    if (!z) r.fail(z.error());
    zones_.emplace(name, *z);
    return *z;
  }

  // A dictionary attribute that a condition needs by name.
  const attribute_def& attribute(const json_reader& r, std::string_view name) const {
    const auto* def = dict_.find(name);
    if (def == nullptr) r.fail(fmt::format("the dictionary has no attribute {}", name));
    return *def;
  }

  // The attribute the configuration names in field `r` (a non-empty string).
  const attribute_def& named_attribute(const json_reader& r) const {
    const auto name = r.non_empty_string();
    const auto* def = dict_.find(name);
    if (def == nullptr) r.fail(fmt::format("unknown attribute \"{}\" (not in the dictionary)", name));
    return *def;
  }

 private:
  const radius::dictionary& dict_;
  time_zone default_zone_;
  std::map<std::string, time_zone> zones_;
};

// One element of a list whose elements must be distinct: its value, the key that tells
// duplicates apart and how to name it in the error.
template <class T>
struct distinct_item {
  T value;
  std::string key;
  std::string label;
};

// A non-empty array of distinct elements.
template <class T, class F>
std::vector<T> read_distinct(const json_reader& r, F read_one) {
  if (r.array_size() == 0) r.fail("expected a non-empty array");
  std::vector<T> out;
  std::map<std::string, std::size_t> seen;
  r.for_each([&](const json_reader& e) {
    distinct_item<T> item = read_one(e);
    const auto [pos, fresh] = seen.emplace(item.key, out.size());
    if (!fresh)
      e.fail(
          fmt::format("{} is listed twice (also at {}/{})", item.label, r.pointer(), pos->second));
    out.push_back(std::move(item.value));
  });
  return out;
}

// "CN=VPN Users,OU=Groups,DC=example,DC=com": comma-separated attr=value RDNs, commas in values
// escaped as "\,"; spaces around RDNs are allowed.
bool looks_like_dn(std::string_view dn) {
  const auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
  };
  const auto rdn_ok = [&](std::string_view rdn) {
    rdn = trim(rdn);
    const auto eq = rdn.find('=');
    if (eq == std::string_view::npos) return false;
    const auto attr = trim(rdn.substr(0, eq));
    const auto value = trim(rdn.substr(eq + 1));
    if (attr.empty() || value.empty()) return false;
    return std::all_of(attr.begin(), attr.end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             c == '-' || c == '.';
    });
  };
  std::size_t start = 0;
  for (std::size_t i = 0; i < dn.size(); ++i) {
    if (dn[i] == '\\') {
      if (i + 1 == dn.size()) return false;  // a dangling escape
      ++i;
    } else if (dn[i] == ',') {
      if (!rdn_ok(dn.substr(start, i - start))) return false;
      start = i + 1;
    }
  }
  return rdn_ok(dn.substr(start));
}

std::vector<group_ref> read_groups(const json_reader& r) {
  return read_distinct<group_ref>(r, [](const json_reader& e) {
    group_ref g;
    g.text = e.non_empty_string();
    g.is_dn = g.text.find('=') != std::string::npos;
    if (g.is_dn && !looks_like_dn(g.text))
      e.fail(fmt::format(
          "\"{}\" contains '=' but is not a distinguished name (expected comma-separated "
          "attribute=value parts, e.g. \"CN=VPN Users,OU=Groups,DC=example,DC=com\"; a comma "
          "inside a value is written \\,)",
          g.text));
    return distinct_item<group_ref>{g, (g.is_dn ? "dn:" : "name:") + ascii_fold(g.text),
                                    fmt::format("\"{}\"", g.text)};
  });
}

// Integer attribute values by dictionary VALUE name or number.
value_set read_value_set(const json_reader& r, const context& ctx, std::string_view attribute) {
  const auto& def = ctx.attribute(r, attribute);
  // Tagged integers (Tunnel-Type) keep their value in 24 bits.
  const std::int64_t max = def.has_tag ? 0xFFFFFF : 0xFFFFFFFF;
  value_set s;
  s.values = read_distinct<std::uint32_t>(r, [&](const json_reader& e) {
    std::uint32_t v = 0;
    if (e.json().is_string()) {
      const auto name = e.string();
      const auto found = def.value_of(name);
      if (!found) e.fail(fmt::format("\"{}\" is not a value of {}", name, def.name));
      v = *found;
    } else if (e.json().is_number_integer()) {
      v = static_cast<std::uint32_t>(e.integer(0, max));
    } else {
      e.fail(fmt::format("expected a value name of {} or an integer, found {}", def.name,
                         json_type_name(e.json())));
    }
    const auto name = def.name_of(v);
    return distinct_item<std::uint32_t>{
        v, std::to_string(v), name ? fmt::format("{} ({})", *name, v) : std::to_string(v)};
  });
  return s;
}

enum class ip_family { v4, v6, any };

std::vector<ip_prefix> read_prefixes(const json_reader& r, ip_family family) {
  return read_distinct<ip_prefix>(r, [&](const json_reader& e) {
    std::string why;
    const auto p = ip_prefix::parse(e.string(), &why);
    if (!p) e.fail(why);
    if (family == ip_family::v4 && p->address.v6)
      e.fail(fmt::format("expected an IPv4 address or prefix, found {}", p->to_string()));
    if (family == ip_family::v6 && !p->address.v6)
      e.fail(fmt::format("expected an IPv6 address or prefix, found {}", p->to_string()));
    return distinct_item<ip_prefix>{*p, p->to_string(), p->to_string()};
  });
}

// A non-empty array of distinct names of T (case-insensitive): `parse` reads one, `name_of`
// gives its canonical name; `names` lists them all for the error.
template <class T, class Parse, class Name>
std::vector<T> read_names(const json_reader& r, Parse parse, Name name_of,
                          std::initializer_list<std::string_view> names) {
  return read_distinct<T>(r, [&](const json_reader& e) {
    const auto s = e.string();
    const auto v = parse(s);
    if (!v) e.fail(fmt::format("expected one of {}, found \"{}\"", quoted_list(names), s));
    return distinct_item<T>{*v, std::string(name_of(*v)), std::string(name_of(*v))};
  });
}

std::vector<auth_type> read_auth_types(const json_reader& r) {
  return read_names<auth_type>(r, parse_auth_type, auth_type_name,
                               {"PAP", "CHAP", "MS-CHAPv2", "EAP", "Unauthenticated"});
}

std::vector<std::uint8_t> read_eap_types(const json_reader& r) {
  return read_distinct<std::uint8_t>(r, [](const json_reader& e) {
    std::uint8_t t = 0;
    if (e.json().is_string()) {
      const auto s = e.string();
      if (ascii_iequals(s, "EAP-TLS"))
        t = eap_type_tls;
      else if (ascii_iequals(s, "PEAP"))
        t = eap_type_peap;
      else if (ascii_iequals(s, "EAP-MSCHAPv2"))
        t = eap_type_mschapv2;
      else
        e.fail(
            fmt::format("expected one of \"EAP-TLS\", \"PEAP\", \"EAP-MSCHAPv2\" or an EAP "
                        "type number 1..255, found \"{}\"",
                        s));
    } else if (e.json().is_number_integer()) {
      t = static_cast<std::uint8_t>(e.integer(1, 255));
    } else {
      e.fail(
          fmt::format("expected an EAP type name or number, found {}", json_type_name(e.json())));
    }
    std::string label = std::to_string(t);
    if (t == eap_type_tls) label = "EAP-TLS (13)";
    if (t == eap_type_peap) label = "PEAP (25)";
    if (t == eap_type_mschapv2) label = "EAP-MSCHAPv2 (26)";
    return distinct_item<std::uint8_t>{t, std::to_string(t), label};
  });
}

std::vector<auth_method> read_auth_methods(const json_reader& r) {
  return read_names<auth_method>(r, parse_auth_method, auth_method_name,
                                 {"PAP", "CHAP", "MS-CHAPv2", "EAP-TLS", "PEAP-TLS",
                                  "PEAP-MSCHAPv2", "EAP-MSCHAPv2"});
}

// ---- day and time ----

std::uint8_t parse_day(std::string_view s) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> names{{
      {"Sun", "Sunday"},
      {"Mon", "Monday"},
      {"Tue", "Tuesday"},
      {"Wed", "Wednesday"},
      {"Thu", "Thursday"},
      {"Fri", "Friday"},
      {"Sat", "Saturday"},
  }};
  for (std::uint8_t i = 0; i < names.size(); ++i)
    if (ascii_iequals(s, names[i].first) || ascii_iequals(s, names[i].second)) return i;
  return 0xFF;
}

constexpr std::array<std::string_view, 7> day_abbrev{"Sun", "Mon", "Tue", "Wed",
                                                     "Thu", "Fri", "Sat"};

std::uint8_t read_days(const json_reader& r) {
  if (r.array_size() == 0) r.fail("expected a non-empty array of days");
  std::uint8_t days = 0;
  r.for_each([&](const json_reader& e) {
    const auto s = e.string();
    std::uint8_t these = 0;
    const auto dash = s.find('-');
    if (dash == std::string::npos) {
      const auto d = parse_day(s);
      if (d == 0xFF)
        e.fail(
            fmt::format("expected a day (Sun, Mon, ... Sat, or full names) or a range such as "
                        "\"Mon-Fri\", found \"{}\"",
                        s));
      these = static_cast<std::uint8_t>(1u << d);
    } else {
      const auto a = parse_day(std::string_view(s).substr(0, dash));
      const auto b = parse_day(std::string_view(s).substr(dash + 1));
      if (a == 0xFF || b == 0xFF)
        e.fail(fmt::format("expected a range of days such as \"Mon-Fri\", found \"{}\"", s));
      // A range may wrap past Saturday: "Fri-Mon" is Fri, Sat, Sun, Mon.
      for (unsigned d = a;; d = (d + 1) % 7) {
        these = static_cast<std::uint8_t>(these | 1u << d);
        if (d == b) break;
      }
    }
    if (days & these) {
      std::string again;
      for (unsigned d = 0; d < 7; ++d)
        if (days & these & (1u << d))
          again += fmt::format("{}{}", again.empty() ? "" : ", ", day_abbrev[d]);
      e.fail(fmt::format("{} already listed", again));
    }
    days = static_cast<std::uint8_t>(days | these);
  });
  return days;
}

// "HH:MM" as minutes after midnight; "24:00" only where allowed (the end of a window).
std::uint16_t read_clock(const json_reader& r, bool allow_24) {
  const auto s = r.string();
  const auto bad = [&] {
    r.fail(fmt::format("expected a time of day \"HH:MM\" from 00:00 to {}, found \"{}\"",
                       allow_24 ? "24:00" : "23:59", s));
  };
  const auto colon = s.find(':');
  if (colon == std::string::npos || colon == 0 || colon > 2 || s.size() != colon + 3) bad();
  for (std::size_t i = 0; i < s.size(); ++i)
    if (i != colon && (s[i] < '0' || s[i] > '9')) bad();
  const int h = std::stoi(s.substr(0, colon));
  const int m = std::stoi(s.substr(colon + 1));
  if (m > 59 || h > 24 || (h == 24 && (m != 0 || !allow_24))) bad();
  return static_cast<std::uint16_t>(h * 60 + m);
}

std::string clock_text(unsigned minutes) {
  return fmt::format("{:02}:{:02}", minutes / 60, minutes % 60);
}

day_time read_day_time(const json_reader& r, context& ctx) {
  day_time dt;
  dt.zone = ctx.default_zone();
  if (!r.json().is_object() && !r.json().is_array())
    r.fail(
        fmt::format("expected an array of windows or an object with \"windows\" (and "
                    "\"time_zone\"), found {}",
                    json_type_name(r.json())));
  if (r.json().is_object()) {
    r.expect_object({"time_zone", "windows"});
    if (const auto z = r.get("time_zone")) dt.zone = ctx.zone(*z);
  }
  const auto windows = r.json().is_object() ? r.at("windows") : r;
  dt.windows = read_distinct<day_time_window>(windows, [](const json_reader& w) {
    w.expect_object({"days", "from", "to"});
    day_time_window win;
    win.days = 0x7F;
    if (const auto d = w.get("days")) win.days = read_days(*d);
    if (const auto f = w.get("from")) win.from_minute = read_clock(*f, false);
    if (const auto t = w.get("to")) win.to_minute = read_clock(*t, true);
    if (win.from_minute == win.to_minute)
      w.fail(
          fmt::format("the window from {} to {} is empty (\"from\" must differ from \"to\"; "
                      "the whole day is 00:00 to 24:00)",
                      clock_text(win.from_minute), clock_text(win.to_minute)));
    return distinct_item<day_time_window>{
        win, fmt::format("{}/{}/{}", win.days, win.from_minute, win.to_minute), "this window"};
  });
  return dt;
}

// ---- conditions ----

std::vector<attribute_condition> read_attribute_conditions(const json_reader& r,
                                                           const context& ctx) {
  if (r.array_size() == 0) r.fail("expected a non-empty array");
  std::vector<attribute_condition> out;
  r.for_each([&](const json_reader& e) {
    e.expect_object({"name", "match", "values"});
    const auto name_r = e.at("name");
    attribute_condition c;
    c.def = &ctx.named_attribute(name_r);
    // What a request carries of these is a hidden password or key: matching it means nothing,
    // and the decision trace would write it to the log.
    if (c.def->is_secret())
      name_r.fail(fmt::format("{} cannot be matched: its value is secret", c.def->name));
    if (e.has("match") == e.has("values"))
      e.fail("expected exactly one of \"match\" and \"values\"");
    if (const auto m = e.get("match")) {
      c.match = compile_regex(*m);
    } else {
      c.values = read_distinct<std::string>(e.at("values"), [&](const json_reader& v) {
        const auto wire = radius::parse_value(*c.def, v.string());
        if (!wire) v.fail(wire.error());
        auto formatted = radius::format_value(*c.def, *wire);
        return distinct_item<std::string>{formatted, ascii_fold(formatted),
                                          fmt::format("\"{}\"", formatted)};
      });
    }
    out.push_back(std::move(c));
  });
  return out;
}

conditions read_conditions(const json_reader& r, context& ctx, policy_kind kind) {
  if (kind == policy_kind::crp) {
    for (const auto key : {"windows_groups", "user_groups", "machine_groups", "allowed_eap_types"})
      if (const auto k = r.get(key))
        k->fail(
            fmt::format("{} is a network policy condition; connection request policies "
                        "cannot use it",
                        key));
  }
  r.expect_object({"windows_groups",
                   "user_groups",
                   "machine_groups",
                   "user_name",
                   "day_and_time",
                   "nas_port_type",
                   "tunnel_type",
                   "framed_protocol",
                   "service_type",
                   "called_station_id",
                   "calling_station_id",
                   "nas_identifier",
                   "client_friendly_name",
                   "client_vendor",
                   "ms_ras_vendor",
                   "nas_ipv4_address",
                   "nas_ipv6_address",
                   "client_ip_address",
                   "authentication_type",
                   "allowed_eap_types",
                   "attributes"});
  conditions c;
  const auto regex = [&](std::string_view key, std::optional<regex_match>& out) {
    if (const auto k = r.get(key)) out = compile_regex(*k);
  };
  const auto values = [&](std::string_view key, std::string_view attribute,
                          std::optional<value_set>& out) {
    if (const auto k = r.get(key)) out = read_value_set(*k, ctx, attribute);
  };
  if (const auto k = r.get("windows_groups")) c.windows_groups = read_groups(*k);
  if (const auto k = r.get("user_groups")) c.user_groups = read_groups(*k);
  if (const auto k = r.get("machine_groups")) c.machine_groups = read_groups(*k);
  regex("user_name", c.user_name);
  if (const auto k = r.get("day_and_time")) c.day_and_time = read_day_time(*k, ctx);
  values("nas_port_type", "NAS-Port-Type", c.nas_port_type);
  values("tunnel_type", "Tunnel-Type", c.tunnel_type);
  values("framed_protocol", "Framed-Protocol", c.framed_protocol);
  values("service_type", "Service-Type", c.service_type);
  regex("called_station_id", c.called_station_id);
  regex("calling_station_id", c.calling_station_id);
  regex("nas_identifier", c.nas_identifier);
  regex("client_friendly_name", c.client_friendly_name);
  regex("client_vendor", c.client_vendor);
  regex("ms_ras_vendor", c.ms_ras_vendor);
  if (const auto k = r.get("nas_ipv4_address"))
    c.nas_ipv4_address = read_prefixes(*k, ip_family::v4);
  if (const auto k = r.get("nas_ipv6_address"))
    c.nas_ipv6_address = read_prefixes(*k, ip_family::v6);
  if (const auto k = r.get("client_ip_address"))
    c.client_ip_address = read_prefixes(*k, ip_family::any);
  if (const auto k = r.get("authentication_type")) c.authentication_type = read_auth_types(*k);
  if (const auto k = r.get("allowed_eap_types")) c.allowed_eap_types = read_eap_types(*k);
  if (const auto k = r.get("attributes")) c.attributes = read_attribute_conditions(*k, ctx);
  return c;
}

// ---- policies ----

// Appends `(network policy "NAME")` to every error raised while reading the policy.
template <class F>
auto naming_policy(const json_reader& r, policy_kind kind, F read) {
  std::string suffix;
  if (r.json().is_object() && r.json().contains("name") && r.json()["name"].is_string() &&
      !r.json()["name"].get<std::string>().empty())
    suffix = fmt::format(" ({} \"{}\")", kind_name(kind), r.json()["name"].get<std::string>());
  try {
    return read();
  } catch (const config_error& e) {
    throw config_error(e.what() + suffix);
  }
}

// Name, order and enabled flag, common to both kinds; `position` is 1-based.
template <class P>
void read_identity(const json_reader& r, std::size_t position, P& p) {
  p.name = r.at("name").non_empty_string();
  p.order =
      static_cast<int>(r.integer_or("order", static_cast<std::int64_t>(position), 1, 1'000'000));
  if (!r.has("order") && position > 1'000'000)
    r.fail("more than 1000000 policies: give each an \"order\"");
  p.enabled = r.boolean_or("enabled", true);
  (void)r.string_or("description", "");  // for people; not used by evaluation
}

// Unique names (case-insensitive) and processing orders within one kind of policy.
template <class P>
void check_unique(const json_reader& list, policy_kind kind, const std::vector<P>& ps) {
  std::map<std::string, std::size_t> names;
  std::map<int, std::size_t> orders;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    const auto r = list[i];
    const auto suffix = fmt::format(" ({} \"{}\")", kind_name(kind), ps[i].name);
    if (const auto [pos, fresh] = names.emplace(ascii_fold(ps[i].name), i); !fresh)
      r.at("name").fail(fmt::format("another {} is already named \"{}\" (at {}/{})",
                                    kind_name(kind), ps[pos->second].name, list.pointer(),
                                    pos->second));
    if (const auto [pos, fresh] = orders.emplace(ps[i].order, i); !fresh) {
      const auto& other = ps[pos->second];
      const auto what =
          fmt::format("processing order {} is also that of {} \"{}\" (at {}/{})", ps[i].order,
                      kind_name(kind), other.name, list.pointer(), pos->second);
      if (r.has("order")) r.at("order").fail(what + suffix);
      r.fail(
          fmt::format("{}; this policy has no \"order\" and takes its position in the "
                      "array{}",
                      what, suffix));
    }
  }
}

manipulation read_manipulation(const json_reader& r) {
  r.expect_object({"attribute", "find", "replace"});
  manipulation m;
  const auto a = r.at("attribute").one_of({"User-Name", "Called-Station-Id", "Calling-Station-Id"});
  m.attribute = a == "User-Name" ? 1 : a == "Called-Station-Id" ? 30 : 31;
  const auto find = r.at("find");
  m.find = compile_regex(find);
  const auto rep = r.at("replace");
  m.replace = rep.string();
  // Perl format references: $n and ${n} must name a group of the regex.
  const auto groups = m.find.re.mark_count();
  for (std::size_t i = 0; i + 1 < m.replace.size(); ++i) {
    if (m.replace[i] != '$') continue;
    std::size_t j = i + 1;
    if (m.replace[j] == '$') {  // "$$" is a literal '$'
      i = j;
      continue;
    }
    const bool brace = m.replace[j] == '{';
    if (brace) ++j;
    std::size_t n = 0;
    std::size_t digits = 0;
    while (j < m.replace.size() && m.replace[j] >= '0' && m.replace[j] <= '9' && digits < 6) {
      n = n * 10 + static_cast<std::size_t>(m.replace[j] - '0');
      ++j;
      ++digits;
    }
    if (digits > 0 && n > groups)
      rep.fail(fmt::format("${} refers to group {}, but the regex \"{}\" has {} group{}", n, n,
                           m.find.pattern, groups, groups == 1 ? "" : "s"));
    i = j - 1;
  }
  return m;
}

connection_request_policy read_crp(const json_reader& r, std::size_t position, context& ctx) {
  return naming_policy(r, policy_kind::crp, [&] {
    r.expect_object(
        {"name", "order", "enabled", "description", "conditions", "action", "manipulations"});
    connection_request_policy p;
    read_identity(r, position, p);
    if (const auto c = r.get("conditions")) p.cond = read_conditions(*c, ctx, policy_kind::crp);
    if (const auto a = r.get("action")) {
      const auto s = a->one_of({"authenticate", "accept_without_credentials", "reject"});
      p.action = s == "authenticate" ? crp_action::authenticate
                 : s == "reject"     ? crp_action::reject
                                     : crp_action::accept_without_credentials;
      if (p.action == crp_action::accept_without_credentials) {
        if (p.cond.authentication_type.empty())
          a->fail(
              fmt::format("accept_without_credentials needs an authentication_type condition "
                          "limited to PAP, CHAP and/or Unauthenticated: {}",
                          no_credentials_why));
        const auto types = r.at("conditions").at("authentication_type");
        for (std::size_t i = 0; i < p.cond.authentication_type.size(); ++i) {
          const auto t = p.cond.authentication_type[i];
          if (t != auth_type::pap && t != auth_type::chap && t != auth_type::unauthenticated)
            types[i].fail(
                fmt::format("{} cannot be used with action accept_without_credentials "
                            "(only PAP, CHAP and Unauthenticated): {}",
                            auth_type_name(t), no_credentials_why));
        }
      }
    }
    if (const auto m = r.get("manipulations"))
      m->for_each([&](const json_reader& e) { p.manipulations.push_back(read_manipulation(e)); });
    return p;
  });
}

constraints read_constraints(const json_reader& r, context& ctx) {
  r.expect_object({"authentication_methods", "idle_timeout", "session_timeout", "called_station_id",
                   "calling_station_id", "day_and_time", "nas_port_type", "certificate_ekus",
                   "certificate_issuer"});
  constraints c;
  if (const auto k = r.get("authentication_methods")) c.methods = read_auth_methods(*k);
  if (const auto k = r.get("idle_timeout"))
    c.idle_timeout = static_cast<std::uint32_t>(k->integer(1, 2147483647));
  if (const auto k = r.get("session_timeout"))
    c.session_timeout = static_cast<std::uint32_t>(k->integer(1, 2147483647));
  if (const auto k = r.get("called_station_id")) c.called_station_id = compile_regex(*k);
  if (const auto k = r.get("calling_station_id")) c.calling_station_id = compile_regex(*k);
  if (const auto k = r.get("day_and_time")) c.day_and_time = read_day_time(*k, ctx);
  if (const auto k = r.get("nas_port_type"))
    c.nas_port_type = read_value_set(*k, ctx, "NAS-Port-Type");
  if (const auto k = r.get("certificate_ekus")) {
    if (k->array_size() == 0) k->fail("expected at least one EKU OID");
    k->for_each([&](const json_reader& e) {
      auto oid = e.non_empty_string();
      // A dotted OID: digits separated by single dots, at least two arcs.
      bool ok = oid.front() != '.' && oid.back() != '.' && oid.find("..") == std::string::npos &&
                oid.find('.') != std::string::npos;
      for (const char ch : oid) ok = ok && ((ch >= '0' && ch <= '9') || ch == '.');
      if (!ok) e.fail(fmt::format("\"{}\" is not a dotted OID such as 1.3.6.1.4.1.311.87", oid));
      c.certificate_ekus.push_back(std::move(oid));
    });
  }
  if (const auto k = r.get("certificate_issuer")) c.certificate_issuer = compile_regex(*k);
  return c;
}

// Attributes npsd computes itself for every reply; a policy may not set them.
constexpr std::array<std::string_view, 8> server_owned{
    "Message-Authenticator", "EAP-Message",      "State",           "Proxy-State", "User-Password",
    "CHAP-Password",         "MS-MPPE-Send-Key", "MS-MPPE-Recv-Key"};

reply_attribute read_reply_attribute(const json_reader& r, const context& ctx,
                                     const constraints& cons) {
  r.expect_object({"name", "value", "tag"});
  const auto name_r = r.at("name");
  reply_attribute a;
  a.def = &ctx.named_attribute(name_r);
  const auto& def = *a.def;
  for (const auto owned : server_owned)
    if (const auto* o = ctx.dict().find(owned); o == a.def || ascii_iequals(def.name, owned))
      name_r.fail(
          fmt::format("{} cannot be set by a policy: npsd computes it for each reply", def.name));
  if (def.encrypt == 1)
    name_r.fail(
        fmt::format("{} cannot be set by a policy: it is hidden with the request's "
                    "password scheme (encrypt=1)",
                    def.name));
  if (def.encrypt != 0 && def.encrypt != 2)  // only salt encryption is applied to replies
    name_r.fail(fmt::format(
        "{} cannot be set by a policy: npsd cannot hide it (encrypt={}) and will not send it "
        "in the clear",
        def.name, def.encrypt));
  if (def.is_virtual) name_r.fail(fmt::format("{} is a virtual attribute, never sent", def.name));
  if (def.type == radius::attr_type::vsa)
    name_r.fail(
        fmt::format("{} cannot be given directly: name the vendor's attribute (e.g. "
                    "\"MS-Primary-DNS-Server\")",
                    def.name));
  if (def.type == radius::attr_type::tlv || def.parent != nullptr)
    name_r.fail(fmt::format("{} is part of a TLV and cannot be returned on its own", def.name));
  const auto clash = [&](std::string_view attr, const std::optional<std::uint32_t>& set,
                         std::string_view key) {
    if (set && (ctx.dict().find(attr) == a.def || ascii_iequals(def.name, attr)))
      name_r.fail(fmt::format("{} is also set by the constraint \"{}\": set it in one place",
                              def.name, key));
  };
  clash("Session-Timeout", cons.session_timeout, "session_timeout");
  clash("Idle-Timeout", cons.idle_timeout, "idle_timeout");

  if (const auto t = r.get("tag")) {
    if (!def.has_tag) t->fail(fmt::format("{} does not take a tag", def.name));
    a.tag = static_cast<std::uint8_t>(t->integer(0, 31));
  }
  const auto value_r = r.at("value");
  if (value_r.json().is_number_integer())
    a.text = value_r.json().dump();
  else if (value_r.json().is_string())
    a.text = value_r.string();
  else
    value_r.fail(
        fmt::format("expected the value as a string, found {}", json_type_name(value_r.json())));
  auto wire = def.has_tag ? radius::parse_tagged_value(def, a.tag, a.text)
                          : radius::parse_value(def, a.text);
  if (!wire) value_r.fail(wire.error());
  a.value = std::move(*wire);
  return a;
}

network_policy read_np(const json_reader& r, std::size_t position, context& ctx) {
  return naming_policy(r, policy_kind::np, [&] {
    r.expect_object({"name", "order", "enabled", "description", "conditions", "access",
                     "ignore_dial_in", "constraints", "settings"});
    network_policy p;
    read_identity(r, position, p);
    if (const auto c = r.get("conditions")) p.cond = read_conditions(*c, ctx, policy_kind::np);
    p.permission =
        r.at("access").one_of({"grant", "deny"}) == "grant" ? access::grant : access::deny;
    p.ignore_dial_in = r.boolean_or("ignore_dial_in", false);
    if (const auto c = r.get("constraints")) p.cons = read_constraints(*c, ctx);
    if (const auto s = r.get("settings")) {
      s->expect_object({"attributes"});
      if (const auto attrs = s->get("attributes"))
        attrs->for_each([&](const json_reader& e) {
          p.set.attributes.push_back(read_reply_attribute(e, ctx, p.cons));
        });
    }
    return p;
  });
}

template <class P>
void sort_by_order(std::vector<P>& ps) {
  std::stable_sort(ps.begin(), ps.end(), [](const P& a, const P& b) { return a.order < b.order; });
}

}  // namespace

regex_match compile_regex(const json_reader& r) {
  regex_match m;
  m.pattern = r.string();
  if (m.pattern.empty())
    r.fail("expected a non-empty regular expression (use \".\" to match anything)");
  try {
    m.re = boost::regex(m.pattern, boost::regex::perl | boost::regex::icase);
  } catch (const boost::regex_error& e) {
    // Boost's message quotes the whole pattern again; keep its first sentence.
    std::string why = e.what();
    if (const auto cut = why.find("  The error occurred"); cut != std::string::npos) why.erase(cut);
    r.fail(fmt::format("invalid regular expression \"{}\": {} (at offset {})", m.pattern, why,
                       e.position()));
  }
  return m;
}

policies read_policies(const json_reader& root, const radius::dictionary& dict) {
  context ctx(dict);
  policies out;
  if (const auto z = root.get("time_zone")) {
    out.zone = ctx.zone(*z);
    ctx.set_default_zone(out.zone);
  }

  if (const auto list = root.get("connection_request_policies")) {
    std::size_t n = list->array_size();
    for (std::size_t i = 0; i < n; ++i) out.crps.push_back(read_crp((*list)[i], i + 1, ctx));
    check_unique(*list, policy_kind::crp, out.crps);
  } else {
    // As NPS ships: one policy that authenticates everybody on this server.
    connection_request_policy p;
    p.name = implicit_crp_name;
    p.order = 1;
    out.crps.push_back(std::move(p));
  }

  if (const auto list = root.get("network_policies")) {
    std::size_t n = list->array_size();
    for (std::size_t i = 0; i < n; ++i) out.nps.push_back(read_np((*list)[i], i + 1, ctx));
    check_unique(*list, policy_kind::np, out.nps);
  }

  sort_by_order(out.crps);
  sort_by_order(out.nps);
  return out;
}

}  // namespace npsd::policy
