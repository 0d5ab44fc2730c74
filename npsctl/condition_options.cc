#include "npsctl/condition_options.h"

#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>

#include "npsctl/command.h"
#include "npsctl/file_edit.h"
#include "npsctl/table.h"
#include "policy/model.h"

namespace npsd::npsctl {

using ordered_json = nlohmann::ordered_json;

namespace {

using k = condition_kind;

constexpr condition_spec condition_specs[] = {
    {"windows_groups", "--windows-group", "Windows Groups", k::names, true,
     "Windows group (name or DN) the user or machine account is in; repeatable: any of them"},
    {"user_groups", "--user-group", "User Groups", k::names, true,
     "Group a user account is in; repeatable: any of them"},
    {"machine_groups", "--machine-group", "Machine Groups", k::names, true,
     "Group a machine account is in; repeatable: any of them"},
    {"user_name", "--user-name", "User Name", k::regex, false, "Regex on User-Name"},
    {"day_and_time", "--day-time", "Day and Time Restrictions", k::day_time, false,
     "When requests match, e.g. 'Mon-Fri 08:00-18:00', 'Sat,Sun'; repeatable: any window"},
    {"nas_port_type", "--nas-port-type", "NAS Port Type", k::values, false,
     "NAS-Port-Type value name or number (Virtual, Ethernet, Wireless-802.11...); repeatable"},
    {"tunnel_type", "--tunnel-type", "Tunnel Type", k::values, false,
     "Tunnel-Type value name or number; repeatable"},
    {"framed_protocol", "--framed-protocol", "Framed Protocol", k::values, false,
     "Framed-Protocol value name or number (PPP...); repeatable"},
    {"service_type", "--service-type", "Service Type", k::values, false,
     "Service-Type value name or number (Framed-User...); repeatable"},
    {"called_station_id", "--called-station-id", "Called Station ID", k::regex, false,
     "Regex on Called-Station-Id"},
    {"calling_station_id", "--calling-station-id", "Calling Station ID", k::regex, false,
     "Regex on Calling-Station-Id"},
    {"nas_identifier", "--nas-identifier", "NAS Identifier", k::regex, false,
     "Regex on NAS-Identifier"},
    {"client_friendly_name", "--client-friendly-name", "Client Friendly Name", k::regex, false,
     "Regex on the RADIUS client's configured name"},
    {"client_vendor", "--client-vendor", "Client Vendor", k::regex, false,
     "Regex on the RADIUS client's configured vendor"},
    {"ms_ras_vendor", "--ms-ras-vendor", "MS-RAS Vendor", k::regex, false,
     "Regex on MS-RAS-Vendor as a number, e.g. '^311$'"},
    {"nas_ipv4_address", "--nas-ipv4-address", "NAS IPv4 Address", k::names, false,
     "NAS-IP-Address within this IPv4 prefix; repeatable"},
    {"nas_ipv6_address", "--nas-ipv6-address", "NAS IPv6 Address", k::names, false,
     "NAS-IPv6-Address within this IPv6 prefix; repeatable"},
    {"client_ip_address", "--client-ip-address", "Client IP Address", k::names, false,
     "RADIUS client source address within this prefix; repeatable"},
    {"authentication_type", "--auth-type", "Authentication Type", k::names, false,
     "PAP, CHAP, MS-CHAPv2, EAP or Unauthenticated; repeatable"},
    {"allowed_eap_types", "--allowed-eap-type", "Allowed EAP Types", k::eap_types, true,
     "EAP-TLS, PEAP, EAP-MSCHAPv2 or a number 1..255; repeatable"},
    {"attributes", "--match", "Attributes", k::attributes, false,
     "Any attribute: 'Attr~REGEX' or 'Attr=value1,value2'; repeatable: all must match"},
};


std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  for (;;) {
    const auto pos = s.find(sep);
    out.push_back(trim(s.substr(0, pos)));
    if (pos == std::string_view::npos) break;
    s.remove_prefix(pos + 1);
  }
  return out;
}

std::string canonical_auth_type(const std::string& s) {
  const auto t = policy::parse_auth_type(s);
  return t ? std::string(policy::auth_type_name(*t)) : s;
}

ordered_json canonical_eap_type(const std::string& s) {
  for (const char* name : {"EAP-TLS", "PEAP", "EAP-MSCHAPv2"})
    if (fold_case(s) == fold_case(name)) return name;
  return value_or_number(s);
}

ordered_json parse_match(const std::string& spec) {
  const auto pos = spec.find_first_of("~=");
  if (pos == std::string::npos || pos == 0)
    bad_input(fmt::format("--match {}: expected 'Attribute~REGEX' or 'Attribute=value1,value2'",
                    spec));
  ordered_json a = ordered_json::object();
  a["name"] = trim(spec.substr(0, pos));
  if (spec[pos] == '~') {
    a["match"] = spec.substr(pos + 1);
  } else {
    ordered_json values = ordered_json::array();
    for (const auto& v : split(std::string_view(spec).substr(pos + 1), ',')) values.push_back(v);
    a["values"] = std::move(values);
  }
  return a;
}

}  // namespace

std::span<const condition_spec> condition_catalogue() { return condition_specs; }

void no_such_entry(const std::string& name, std::string_view option, std::string_view what,
                   const std::vector<std::string>& known) {
  bad_input(fmt::format("{} {}: no such {} (one of: {})", option, name, what, join(known)));
}

std::string option_word(std::string_view s) {
  while (!s.empty() && s.front() == '-') s.remove_prefix(1);
  std::string out = fold_case(s);
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

ordered_json value_or_number(const std::string& text) {
  if (!text.empty() && text.size() <= 10 &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::stoll(text);
  return text;
}

ordered_json parse_day_time_window(const std::string& spec, const std::string& option) {
  std::string days_text;
  std::optional<std::string> times;
  std::string word;
  auto take = [&](const std::string& w) {
    if (w.empty()) return;
    if (w.find(':') != std::string::npos) {
      if (times) bad_input(fmt::format("{} '{}': more than one time range", option, spec));
      times = w;
    } else {
      days_text += (days_text.empty() ? "" : ",") + w;
    }
  };
  for (const char c : spec) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      take(word);
      word.clear();
    } else {
      word += c;
    }
  }
  take(word);
  if (days_text.empty() && !times)
    bad_input(fmt::format("{} '{}': expected days and/or a time range, e.g. 'Mon-Fri 08:00-18:00'",
                    option, spec));
  ordered_json w = ordered_json::object();
  if (!days_text.empty()) {
    ordered_json days = ordered_json::array();
    for (const auto& d : split(days_text, ','))
      if (!d.empty()) days.push_back(d);
    w["days"] = std::move(days);
  }
  if (times) {
    const auto dash = times->find('-');
    if (dash == std::string::npos)
      bad_input(fmt::format("{} '{}': expected a time range HH:MM-HH:MM", option, spec));
    w["from"] = times->substr(0, dash);
    w["to"] = times->substr(dash + 1);
  }
  return w;
}

ordered_json day_time_value(const std::vector<std::string>& specs,
                            const std::optional<std::string>& zone, const std::string& option) {
  ordered_json windows = ordered_json::array();
  for (const auto& s : specs) windows.push_back(parse_day_time_window(s, option));
  if (!zone) return windows;
  ordered_json v = ordered_json::object();
  v["time_zone"] = *zone;
  v["windows"] = std::move(windows);
  return v;
}

void add_condition_options(CLI::App* cmd, condition_options& o, policy_type type, bool for_set) {
  const char* group = "Conditions (all given must match)";
  for (const auto& s : condition_specs) {
    // Network-policy-only conditions are accepted but hidden on connection request policies,
    // so that the loader's refusal explains why rather than CLI11 calling the option unknown.
    const char* in = s.network_only && type != policy_type::network ? "" : group;
    if (s.kind == condition_kind::regex)
      cmd->add_option(s.option, o.single[s.key], s.help)->group(in);
    else
      cmd->add_option(s.option, o.lists[s.key], s.help)->allow_extra_args(false)->group(in);
  }
  cmd->add_option("--day-time-zone", o.day_time_zone,
                  "Time zone of the --day-time windows (default: the configuration's time_zone)")
      ->group(group);
  if (for_set)
    cmd->add_option("--clear-condition", o.clear,
                    "Remove one condition (its option name, e.g. nas-port-type); repeatable")
        ->allow_extra_args(false)
        ->group(group);
}

void apply_conditions(const condition_options& o, ordered_json& conditions) {
  if (!conditions.is_object()) conditions = ordered_json::object();
  for (const auto& name : o.clear)
    conditions.erase(
        find_in_catalogue(condition_catalogue(), name, "--clear-condition", "condition").key);
  bool day_time_given = false;
  for (const auto& s : condition_specs) {
    if (s.kind == condition_kind::regex) {
      const auto it = o.single.find(s.key);
      if (it != o.single.end() && it->second) conditions[s.key] = *it->second;
      continue;
    }
    const auto it = o.lists.find(s.key);
    if (it == o.lists.end() || it->second.empty()) continue;
    const auto& given = it->second;
    ordered_json arr = ordered_json::array();
    switch (s.kind) {
      case condition_kind::names:
        for (const auto& v : given)
          arr.push_back(std::string_view(s.key) == "authentication_type" ? canonical_auth_type(v)
                                                                         : v);
        break;
      case condition_kind::values:
        for (const auto& v : given) arr.push_back(value_or_number(v));
        break;
      case condition_kind::eap_types:
        for (const auto& v : given) arr.push_back(canonical_eap_type(v));
        break;
      case condition_kind::attributes:
        for (const auto& v : given) arr.push_back(parse_match(v));
        break;
      case condition_kind::day_time:
        day_time_given = true;
        arr = day_time_value(given, o.day_time_zone, s.option);
        break;
      case condition_kind::regex:
        break;
    }
    conditions[s.key] = std::move(arr);
  }
  if (o.day_time_zone && !day_time_given) bad_input("--day-time-zone needs --day-time");
}

}  // namespace npsd::npsctl
