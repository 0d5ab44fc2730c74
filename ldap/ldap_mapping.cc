#include "ldap/ldap_mapping.h"
#include "radius/ascii.h"

#include <ldap.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <memory>

namespace npsd::ldap {

namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

constexpr std::string_view placeholders[] = {"identity", "name", "upn", "domain"};
constexpr std::size_t max_filter_template = 4096;

struct dn_deleter {
  void operator()(LDAPDN dn) const { ldap_dnfree(dn); }
};
using dn_ptr = std::unique_ptr<LDAPRDN, dn_deleter>;

dn_ptr parse_dn(std::string_view dn) {
  if (dn.find('\0') != std::string_view::npos) return nullptr;
  const std::string s(dn);
  LDAPDN parsed = nullptr;
  if (ldap_str2dn(s.c_str(), &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS) return nullptr;
  return dn_ptr(parsed);
}

}  // namespace

std::string escape_filter_value(std::string_view value) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(value.size());
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 || c >= 0x7f) {
      out += '\\';
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += ch;
    }
  }
  return out;
}

identity_parts parse_identity(std::string_view identity) {
  identity_parts p;
  p.identity = std::string(identity);
  std::string_view name = identity;
  if (identity.size() > 5 && ascii_iequals(identity.substr(0, 5), "host/")) {
    // A computer as Windows presents it for machine authentication: host/pc1.example.com.
    const auto fqdn = identity.substr(5);
    const auto dot = fqdn.find('.');
    p.machine = true;
    p.name = std::string(fqdn.substr(0, dot));
    p.domain = dot == std::string_view::npos ? std::string() : std::string(fqdn.substr(dot + 1));
    p.upn = p.name;
    return p;
  }
  if (const auto bs = identity.find('\\'); bs != std::string_view::npos) {
    p.domain = std::string(identity.substr(0, bs));
    name = identity.substr(bs + 1);
    p.upn = std::string(name);
  } else if (const auto at = identity.rfind('@'); at != std::string_view::npos && at > 0) {
    name = identity.substr(0, at);
    p.domain = std::string(identity.substr(at + 1));
    p.upn = std::string(identity);
  } else {
    p.upn = std::string(identity);
  }
  if (name.size() > 1 && name.back() == '$') {  // PC1$: a computer account's name
    p.machine = true;
    name.remove_suffix(1);
    if (p.upn.size() > 1 && p.upn.back() == '$') p.upn.pop_back();
  }
  p.name = std::string(name);
  return p;
}

std::optional<std::string> filter_template_problem(std::string_view t) {
  if (t.empty()) return "must not be empty";
  if (t.size() > max_filter_template)
    return "is longer than " + std::to_string(max_filter_template) + " bytes";
  if (t.front() != '(' || t.back() != ')') return "must be one filter in parentheses";
  int depth = 0;
  std::size_t used = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    const auto at = " (at byte " + std::to_string(i) + ")";
    if (static_cast<unsigned char>(c) < 0x20) return "must not contain control characters" + at;
    if (c == '\\') {
      if (i + 2 >= t.size() || !is_hex(t[i + 1]) || !is_hex(t[i + 2]))
        return "a backslash must be followed by two hex digits (RFC 4515)" + at;
      i += 2;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (--depth < 0) return "has a ')' without its '('" + at;
      if (depth == 0 && i + 1 != t.size()) return "has more than one top-level filter" + at;
    } else if (c == '{') {
      const auto close = t.find('}', i);
      if (close == std::string_view::npos) return "has a '{' without its '}'" + at;
      const auto name = t.substr(i + 1, close - i - 1);
      if (std::find(std::begin(placeholders), std::end(placeholders), name) ==
          std::end(placeholders))
        return "unknown placeholder {" + std::string(name) +
               "} (expected {identity}, {name}, {upn} or {domain})";
      ++used;
      i = close;
    } else if (c == '}') {
      return "has a '}' without its '{'" + at;
    }
  }
  if (depth != 0) return "has unbalanced parentheses";
  if (used == 0)
    return "uses no placeholder, so it would find the same entry for every identity";
  return std::nullopt;
}

std::string expand_filter(std::string_view t, const identity_parts& id) {
  std::string out;
  out.reserve(t.size() + 64);
  for (std::size_t i = 0; i < t.size(); ++i) {
    const auto close = t[i] == '{' ? t.find('}', i) : std::string_view::npos;
    if (close == std::string_view::npos) {
      out += t[i];
      continue;
    }
    const auto name = t.substr(i + 1, close - i - 1);
    const std::string* value = name == "identity" ? &id.identity
                               : name == "name"   ? &id.name
                               : name == "upn"    ? &id.upn
                               : name == "domain" ? &id.domain
                                                  : nullptr;
    if (value == nullptr) {  // not validated: keep the text
      out += t[i];
      continue;
    }
    out += escape_filter_value(*value);
    i = close;
  }
  return out;
}

expected<ldap_server, std::string> parse_server_url(std::string_view url) {
  using u = npsd::unexpected<std::string>;
  ldap_server s;
  s.url = std::string(url);
  std::string_view rest;
  if (url.size() > 8 && ascii_iequals(url.substr(0, 8), "ldaps://")) {
    s.ldaps = true;
    s.port = 636;
    rest = url.substr(8);
  } else if (url.size() > 7 && ascii_iequals(url.substr(0, 7), "ldap://")) {
    s.port = 389;
    rest = url.substr(7);
  } else {
    return u("expected an ldap:// or ldaps:// URL with a host");
  }
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    if (slash + 1 != rest.size())
      return u("the URL must name only a server (no base DN or options: use base_dn)");
    rest = rest.substr(0, slash);
  }
  std::string_view host = rest, port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return u("expected ']' after an IPv6 address");
    host = rest.substr(1, close - 1);
    const auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return u("expected ':port' after ']'");
      port = after.substr(1);
    }
    if (host.empty() || host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos)
      return u("expected an IPv6 address between '[' and ']'");
  } else {
    if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
    }
    if (host.empty()) return u("expected a host after ://");
    for (const char c : host)
      if (!is_alpha(c) && !is_digit(c) && c != '.' && c != '-' && c != '_')
        return u("the host may hold only letters, digits, '.', '-' and '_'");
  }
  if (port.data() != nullptr) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
        value > 65535)
      return u("expected a port from 1 to 65535 after ':'");
    s.port = static_cast<std::uint16_t>(value);
  }
  s.host = std::string(host);
  return s;
}

bool valid_attribute_name(std::string_view name) {
  const auto semi = name.find(';');
  const auto base = name.substr(0, semi);
  if (base.empty()) return false;
  if (is_digit(base.front())) {  // numeric OID: digits separated by single dots
    bool dot_ok = false;
    for (const char c : base) {
      if (c == '.') {
        if (!dot_ok) return false;
        dot_ok = false;
      } else if (is_digit(c)) {
        dot_ok = true;
      } else {
        return false;
      }
    }
    if (!dot_ok) return false;
  } else {
    if (!is_alpha(base.front())) return false;
    for (const char c : base)
      if (!is_alpha(c) && !is_digit(c) && c != '-') return false;
  }
  if (semi == std::string_view::npos) return true;
  auto options = name.substr(semi + 1);
  for (;;) {  // each option: letters, digits, '-'; non-empty
    const auto next = options.find(';');
    const auto opt = options.substr(0, next);
    if (opt.empty()) return false;
    for (const char c : opt)
      if (!is_alpha(c) && !is_digit(c) && c != '-') return false;
    if (next == std::string_view::npos) return true;
    options = options.substr(next + 1);
  }
}

std::optional<std::string> dn_problem(std::string_view dn) {
  if (dn.empty()) return "must not be empty";
  if (!parse_dn(dn)) return "is not a valid distinguished name (RFC 4514)";
  return std::nullopt;
}

std::string normalize_dn(std::string_view dn) {
  const auto parsed = parse_dn(dn);
  if (!parsed) {
    std::string out;
    for (const char c : dn)
      if (c != ' ') out += ascii_lower(c);
    return out;
  }
  std::string out;
  for (LDAPRDN* rdn = parsed.get(); *rdn != nullptr; ++rdn) {
    if (!out.empty()) out += ',';
    bool first = true;
    for (LDAPAVA** ava = *rdn; *ava != nullptr; ++ava) {
      if (!first) out += '+';
      first = false;
      out += ascii_fold(std::string_view((*ava)->la_attr.bv_val, (*ava)->la_attr.bv_len));
      out += '=';
      // Escaped so that the separators stay unambiguous.
      for (ber_len_t i = 0; i < (*ava)->la_value.bv_len; ++i) {
        const char c = ascii_lower((*ava)->la_value.bv_val[i]);
        if (c == ',' || c == '+' || c == '=' || c == '\\') out += '\\';
        out += c;
      }
    }
  }
  return out;
}

bool dn_within(std::string_view dn, std::string_view base) {
  const auto d = normalize_dn(dn);
  const auto b = normalize_dn(base);
  if (b.empty()) return true;
  if (d.size() < b.size() || d.compare(d.size() - b.size(), b.size(), b) != 0) return false;
  if (d.size() == b.size()) return true;
  // The character before the suffix must be an unescaped ','.
  const auto sep = d.size() - b.size() - 1;
  if (d[sep] != ',') return false;
  std::size_t backslashes = 0;
  for (std::size_t i = sep; i > 0 && d[i - 1] == '\\'; --i) ++backslashes;
  return backslashes % 2 == 0;
}

std::optional<std::pair<std::string, std::string>> first_rdn(std::string_view dn) {
  const auto parsed = parse_dn(dn);
  if (!parsed || *parsed == nullptr || **parsed == nullptr) return std::nullopt;
  const LDAPAVA* ava = **parsed;
  return std::pair{std::string(ava->la_attr.bv_val, ava->la_attr.bv_len),
                   std::string(ava->la_value.bv_val, ava->la_value.bv_len)};
}

std::string first_rdn_value(std::string_view dn) {
  auto rdn = first_rdn(dn);
  return rdn ? std::move(rdn->second) : std::string(dn);
}

const std::vector<std::string>* ldap_entry::find(std::string_view attribute) const {
  for (const auto& [name, values] : attributes)
    if (ascii_iequals(name, attribute)) return &values;
  return nullptr;
}

const std::string* ldap_entry::first(std::string_view attribute) const {
  const auto* v = find(attribute);
  return v != nullptr && !v->empty() ? &v->front() : nullptr;
}

bool rule_holds(const state_rule& rule, const ldap_entry& e) {
  if (rule.attribute.empty()) return false;
  const auto* values = e.find(rule.attribute);
  if (values == nullptr || values->empty()) return false;
  for (const auto& v : *values) {
    switch (rule.kind) {
      case state_rule::test::present:
        return true;
      case state_rule::test::value:
        if (ascii_iequals(v, rule.value)) return true;
        break;
      case state_rule::test::nonzero:
        if (v.find_first_not_of('0') != std::string::npos) return true;
        break;
      case state_rule::test::bitmask: {
        std::int64_t n = 0;
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec != std::errc() || end != v.data() + v.size()) return true;  // fail closed
        if ((static_cast<std::uint64_t>(n) & rule.bitmask) != 0) return true;
        break;
      }
    }
  }
  return false;
}

mapped_account map_account(const ldap_entry& e, const ldap_config& cfg, bool machine_lookup) {
  mapped_account m;
  account& a = m.acct;
  a.dn = e.dn;
  if (const auto* name = e.first(cfg.attributes.name); name != nullptr && !name->empty()) {
    a.name = *name;
  } else {
    a.name = first_rdn_value(e.dn);
    m.notes.push_back("the entry has no " + cfg.attributes.name +
                      " attribute: its name is taken from the DN");
  }
  if (!cfg.attributes.upn.empty())
    if (const auto* upn = e.first(cfg.attributes.upn)) a.upn = *upn;
  a.machine = machine_lookup;
  if (const auto* classes = e.find("objectClass"))
    for (const auto& c : *classes) a.machine = a.machine || ascii_iequals(c, "computer");
  a.enabled = !rule_holds(cfg.disabled, e);
  a.locked_out = rule_holds(cfg.locked_out, e);
  a.dial_in_permission = dial_in::policy;
  if (!cfg.attributes.dial_in.empty()) {
    if (const auto* d = e.first(cfg.attributes.dial_in)) {
      if (ascii_iequals(*d, "TRUE")) {
        a.dial_in_permission = dial_in::allow;
      } else if (ascii_iequals(*d, "FALSE")) {
        a.dial_in_permission = dial_in::deny;
      } else {
        m.notes.push_back(cfg.attributes.dial_in +
                          " is neither TRUE nor FALSE: access is controlled through policy");
      }
    }
  }
  if (const auto* groups = e.find(cfg.attributes.member_of)) m.direct_group_dns = *groups;
  return m;
}

group map_group(const ldap_entry& e, const ldap_config& cfg) {
  group g;
  g.dn = e.dn;
  const auto* name = e.first(cfg.attributes.group_name);
  g.name = name != nullptr && !name->empty() ? *name : first_rdn_value(e.dn);
  return g;
}

std::vector<std::string> account_attributes(const ldap_config& cfg) {
  std::vector<std::string> out;
  auto add = [&](const std::string& a) {
    if (a.empty()) return;
    for (const auto& have : out)
      if (ascii_iequals(have, a)) return;
    out.push_back(a);
  };
  add("objectClass");
  add(cfg.attributes.name);
  add(cfg.attributes.upn);
  add(cfg.attributes.member_of);
  add(cfg.attributes.dial_in);
  add(cfg.disabled.attribute);
  add(cfg.locked_out.attribute);
  return out;
}

std::string in_chain_filter(std::string_view account_dn) {
  return "(member:1.2.840.113556.1.4.1941:=" + escape_filter_value(account_dn) + ")";
}

}  // namespace npsd::ldap
