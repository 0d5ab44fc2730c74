// A directory's answer, as the LDAP back end maps it: an entry (DN and attribute values the
// server chose) turned into an account under each profile, with its state rules, groups, DN
// comparisons and the filters built from the values. The input is LDIF-like text: the first
// byte picks the profile and the lookup kind, the first line is the DN, each further line
// "attribute: value".
// Invariants: an escaped filter value holds no filter metacharacter; a DN is within itself;
// mapping never throws or crashes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ldap/ldap_mapping.h"

using namespace npsd;

namespace {

ldap::ldap_entry entry_of(std::string_view text) {
  ldap::ldap_entry e;
  bool first = true;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (first) {
      e.dn = std::string(line);
      first = false;
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    auto value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    const std::string name(line.substr(0, colon));
    auto it = std::find_if(e.attributes.begin(), e.attributes.end(),
                           [&](const auto& a) { return a.first == name; });
    if (it == e.attributes.end()) it = e.attributes.insert(e.attributes.end(), {name, {}});
    it->second.emplace_back(value);
  }
  return e;
}

void check_escaped(std::string_view value) {
  const auto escaped = ldap::escape_filter_value(value);
  for (const char c : escaped)
    if (c == '(' || c == ')' || c == '*' || c == '\0') std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const ldap::ldap_config ad = ldap::profile_defaults(ldap::ldap_profile::active_directory);
  static const ldap::ldap_config openldap = ldap::profile_defaults(ldap::ldap_profile::openldap);
  const auto& cfg = (data[0] & 1) != 0 ? openldap : ad;
  const bool machine = (data[0] & 2) != 0;
  const auto e = entry_of(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));

  const auto mapped = ldap::map_account(e, cfg, machine);
  (void)ldap::map_group(e, cfg);
  (void)ldap::rule_holds(cfg.disabled, e);
  (void)ldap::rule_holds(cfg.locked_out, e);
  (void)ldap::dn_problem(e.dn);
  (void)ldap::first_rdn(e.dn);
  (void)ldap::first_rdn_value(e.dn);
  if (!ldap::dn_problem(e.dn) && !ldap::dn_within(e.dn, e.dn)) std::abort();
  (void)ldap::in_chain_filter(e.dn);
  for (const auto& g : mapped.direct_group_dns) (void)ldap::dn_within(g, e.dn);
  check_escaped(e.dn);
  for (const auto& [name, values] : e.attributes) {
    (void)ldap::valid_attribute_name(name);
    for (const auto& v : values) {
      check_escaped(v);
      const auto id = ldap::parse_identity(v);
      (void)ldap::expand_filter(id.machine ? cfg.machine_filter : cfg.user_filter, id);
      (void)ldap::parse_server_url(v);
      (void)ldap::filter_template_problem(v);
      (void)ldap::normalize_dn(v);
    }
  }
  return 0;
}
