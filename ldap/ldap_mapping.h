#pragma once
// The pure parts of the LDAP back end, unit-tested and fuzzable without a server: RFC 4515
// filter escaping, the identity forms RRAS and EAP present, filter templates, server URLs,
// distinguished names, and the mapping from a directory entry to an account.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ldap/directory.h"
#include "ldap/directory_config.h"
#include "radius/expected.h"

namespace npsd::ldap {

// RFC 4515 assertion value escaping: '*', '(', ')', '\' and NUL, and also every other control
// byte and every byte >= 0x80, become \xx (two lower-case hex digits). The result matches
// exactly the bytes given, whatever they are.
std::string escape_filter_value(std::string_view value);

// An identity as the NAS presents it, split for the filter placeholders:
//   user@realm             name=user  upn=user@realm  domain=realm
//   DOMAIN\user            name=user  upn=user        domain=DOMAIN
//   host/pc1.example.com   name=pc1   upn=pc1         domain=example.com  machine
//   PC1$, DOMAIN\PC1$      name=PC1   upn=PC1         (domain)            machine
//   anything else          name=upn=identity
struct identity_parts {
  std::string identity;  // {identity}: as presented
  std::string name;      // {name}
  std::string upn;       // {upn}
  std::string domain;    // {domain}, may be empty
  bool machine = false;  // look it up with the machine filter
};
identity_parts parse_identity(std::string_view identity);

// What is wrong with a filter template, or nullopt. A template is one parenthesized filter
// (balanced parentheses, '\' followed by two hex digits), at most 4096 bytes, using at least
// one placeholder and only {identity}, {name}, {upn} and {domain}.
std::optional<std::string> filter_template_problem(std::string_view tmpl);

// The template (already validated) with every placeholder replaced by its escaped value.
std::string expand_filter(std::string_view tmpl, const identity_parts& id);

// ldap://host[:port][/] or ldaps://host[:port][/]; host a name, an IPv4 address or [IPv6].
expected<ldap_server, std::string> parse_server_url(std::string_view url);

// An attribute description: a name (letter, then letters, digits, '-') or a numeric OID,
// optionally followed by ;options.
bool valid_attribute_name(std::string_view name);

// What is wrong with a distinguished name (RFC 4514), or nullopt.
std::optional<std::string> dn_problem(std::string_view dn);

// A DN in a form for comparison: attribute types and values ASCII-lower-cased, no spaces
// around separators. Two DNs naming the same entry normally compare equal this way.
std::string normalize_dn(std::string_view dn);
// True when `dn` is `base` or below it (compared normalized).
bool dn_within(std::string_view dn, std::string_view base);
// The first RDN's attribute type and value ("CN=VPN Users,OU=Groups,..." -> {"CN", "VPN
// Users"}), or nullopt when the DN does not parse.
std::optional<std::pair<std::string, std::string>> first_rdn(std::string_view dn);
// The value of the first RDN, or the DN itself when it does not parse.
std::string first_rdn_value(std::string_view dn);

// A search result entry. Attribute names compare case-insensitively.
struct ldap_entry {
  std::string dn;
  std::vector<std::pair<std::string, std::vector<std::string>>> attributes;

  const std::vector<std::string>* find(std::string_view attribute) const;
  const std::string* first(std::string_view attribute) const;
};

// Whether the rule holds for the entry. An attribute that is absent never holds; a value that
// is not an integer holds for a bitmask rule (fail closed: a garbled userAccountControl reads
// as disabled).
bool rule_holds(const state_rule& rule, const ldap_entry& e);

struct mapped_account {
  account acct;                               // groups left empty
  std::vector<std::string> direct_group_dns;  // the member_of values, as the server gave them
  std::vector<std::string> notes;             // oddities worth a log line; no secrets
};

// The account an entry describes. `machine_lookup`: it was found with the machine filter.
// The name falls back to the first RDN value; dial-in TRUE/FALSE (any case) allow/deny,
// absent or anything else policy; machine if looked up as one or objectClass computer.
mapped_account map_account(const ldap_entry& e, const ldap_config& cfg, bool machine_lookup);

// A group entry: its name (group_name attribute, else the first RDN value) and DN.
group map_group(const ldap_entry& e, const ldap_config& cfg);

// The attributes to request for an account entry (objectClass, the named attributes and the
// state rules' attributes; no duplicates).
std::vector<std::string> account_attributes(const ldap_config& cfg);

// The in_chain group filter for an account DN.
std::string in_chain_filter(std::string_view account_dn);

}  // namespace npsd::ldap
