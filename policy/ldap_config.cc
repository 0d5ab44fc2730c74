#include "radius/ascii.h"
#include "policy/ldap_config.h"

#include <fstream>
#include <iterator>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "ldap/ldap_mapping.h"

namespace npsd::policy {

namespace {



std::string read_dn(const json_reader& r) {
  auto dn = r.non_empty_string();
  if (auto why = ldap::dn_problem(dn)) r.fail(*why);
  return dn;
}

std::string read_filter(const json_reader& r) {
  auto f = r.string();
  if (auto why = ldap::filter_template_problem(f)) r.fail("the filter " + *why);
  return f;
}

std::string read_attribute(const json_reader& r, bool may_be_empty) {
  auto a = r.string();
  if (a.empty() && may_be_empty) return a;
  if (!ldap::valid_attribute_name(a))
    r.fail(may_be_empty ? "expected an LDAP attribute name, or \"\" to read none"
                        : "expected an LDAP attribute name");
  return a;
}

ldap::state_rule read_state_rule(const json_reader& r) {
  r.expect_object({"attribute", "bitmask", "value", "nonzero", "present"});
  ldap::state_rule rule;
  rule.attribute = read_attribute(r.at("attribute"), false);
  int tests = 0;
  for (auto k : {"bitmask", "value", "nonzero", "present"}) tests += r.has(k) ? 1 : 0;
  if (tests != 1)
    r.fail("expected exactly one of \"bitmask\", \"value\", \"nonzero\": true, \"present\": true");
  if (const auto b = r.get("bitmask")) {
    rule.kind = ldap::state_rule::test::bitmask;
    rule.bitmask = static_cast<std::uint64_t>(b->integer(1, std::numeric_limits<std::int64_t>::max()));
  } else if (const auto v = r.get("value")) {
    rule.kind = ldap::state_rule::test::value;
    rule.value = v->non_empty_string();
  } else if (const auto n = r.get("nonzero")) {
    rule.kind = ldap::state_rule::test::nonzero;
    if (!n->boolean()) n->fail("expected true (leave the key out otherwise)");
  } else {
    const auto p = r.at("present");
    rule.kind = ldap::state_rule::test::present;
    if (!p.boolean()) p.fail("expected true (leave the key out otherwise)");
  }
  return rule;
}

// The first line of a password file (a trailing newline is not part of the password).
std::string read_password_file(const json_reader& r, const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) r.fail(fmt::format("cannot read the password file {}", path.string()));
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (s.empty()) r.fail(fmt::format("the password file {} is empty", path.string()));
  if (s.find('\n') != std::string::npos)
    r.fail(fmt::format("the password file {} holds more than one line", path.string()));
  return s;
}

void check_ca_file(const json_reader& r, const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) r.fail(fmt::format("cannot read the CA file {}", path.string()));
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (s.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    r.fail(fmt::format("{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path.string()));
}

}  // namespace

ldap::ldap_config read_ldap_config(const json_reader& r, const std::filesystem::path& base) {
  r.expect_object({"servers", "start_tls", "ca_file", "verify_certificate", "allow_insecure",
                   "bind_dn", "bind_password", "bind_password_file", "base_dn", "group_base_dn",
                   "profile", "pool_size", "queue_limit", "timeout_ms", "retry_after_seconds",
                   "cache", "user_filter", "machine_filter", "attributes", "nested_groups",
                   "disabled", "locked_out"});
  const auto profile = r.at("profile").one_of({"active-directory", "openldap"}) == "openldap"
                           ? ldap::ldap_profile::openldap
                           : ldap::ldap_profile::active_directory;
  auto c = ldap::profile_defaults(profile);

  const auto servers = r.at("servers");
  if (servers.array_size() == 0) servers.fail("expected at least one server URL");
  std::set<std::string> seen;
  servers.for_each([&](const json_reader& s) {
    auto parsed = ldap::parse_server_url(s.non_empty_string());
    if (!parsed) s.fail(parsed.error());
    if (!seen.insert(ascii_fold(parsed->host) + ":" + std::to_string(parsed->port)).second)
      s.fail("this server is already listed");
    c.servers.push_back(std::move(*parsed));
  });

  c.start_tls = r.boolean_or("start_tls", true);
  c.verify_certificate = r.boolean_or("verify_certificate", true);
  c.allow_insecure = r.boolean_or("allow_insecure", false);
  if (!c.start_tls && !c.allow_insecure)
    for (const auto& s : c.servers)
      if (!s.ldaps)
        r.at("start_tls").fail(fmt::format(
            "{} without StartTLS would send passwords in clear text: use StartTLS or ldaps://, "
            "or set \"allow_insecure\": true in a lab",
            s.url));

  if (const auto ca = r.get("ca_file")) {
    c.ca_file = resolve_path(base, ca->non_empty_string());
    check_ca_file(*ca, c.ca_file);
  } else if (c.uses_tls()) {
    r.fail("missing required key \"ca_file\" (the CA certificates that sign the directory "
           "servers' certificates: TLS is used)");
  }

  const bool inline_password = r.has("bind_password");
  const bool password_file = r.has("bind_password_file");
  if (inline_password && password_file)
    r.fail("expected at most one of \"bind_password\" and \"bind_password_file\"");
  if (const auto dn = r.get("bind_dn")) {
    c.bind_dn = read_dn(*dn);
    if (!inline_password && !password_file)
      r.fail("\"bind_dn\" needs \"bind_password\" or \"bind_password_file\" (leave all three "
             "out to search anonymously)");
  } else if (inline_password || password_file) {
    r.at(inline_password ? "bind_password" : "bind_password_file")
        .fail("a bind password needs \"bind_dn\"");
  }
  if (inline_password) {
    const auto p = r.at("bind_password");
    if (!p.json().is_string()) p.fail("expected a string");
    c.bind_password = p.json().get<std::string>();
    if (c.bind_password.empty()) p.fail("expected a non-empty password");
  } else if (password_file) {
    const auto p = r.at("bind_password_file");
    c.bind_password_file = resolve_path(base, p.non_empty_string());
    c.bind_password = read_password_file(p, c.bind_password_file);
  }

  c.base_dn = read_dn(r.at("base_dn"));
  c.group_base_dn = r.has("group_base_dn") ? read_dn(r.at("group_base_dn")) : c.base_dn;

  c.pool_size = static_cast<unsigned>(r.integer_or("pool_size", 4, 1, 64));
  c.queue_limit = static_cast<std::size_t>(r.integer_or("queue_limit", 1024, 1, 1'000'000));
  c.timeout = std::chrono::milliseconds(r.integer_or("timeout_ms", 3000, 100, 600'000));
  c.retry_after = std::chrono::seconds(r.integer_or("retry_after_seconds", 10, 0, 86'400));
  if (const auto cache = r.get("cache")) {
    cache->expect_object({"ttl_seconds", "negative_ttl_seconds", "max_entries"});
    c.cache.ttl = std::chrono::seconds(cache->integer_or("ttl_seconds", 300, 0, 86'400));
    c.cache.negative_ttl =
        std::chrono::seconds(cache->integer_or("negative_ttl_seconds", 60, 0, 86'400));
    c.cache.max_entries =
        static_cast<std::size_t>(cache->integer_or("max_entries", 10000, 0, 10'000'000));
  }

  if (const auto f = r.get("user_filter")) c.user_filter = read_filter(*f);
  if (const auto f = r.get("machine_filter")) c.machine_filter = read_filter(*f);
  if (const auto a = r.get("attributes")) {
    a->expect_object({"name", "upn", "member_of", "dial_in", "group_name"});
    if (const auto v = a->get("name")) c.attributes.name = read_attribute(*v, false);
    if (const auto v = a->get("upn")) c.attributes.upn = read_attribute(*v, true);
    if (const auto v = a->get("member_of")) c.attributes.member_of = read_attribute(*v, false);
    if (const auto v = a->get("dial_in")) c.attributes.dial_in = read_attribute(*v, true);
    if (const auto v = a->get("group_name")) c.attributes.group_name = read_attribute(*v, false);
  }
  if (const auto n = r.get("nested_groups")) {
    const auto mode = n->one_of({"in_chain", "member_of", "none"});
    c.nested_groups = mode == "in_chain"    ? ldap::nested_groups_mode::in_chain
                      : mode == "member_of" ? ldap::nested_groups_mode::member_of
                                            : ldap::nested_groups_mode::none;
  }
  if (const auto d = r.get("disabled")) c.disabled = read_state_rule(*d);
  if (const auto l = r.get("locked_out")) c.locked_out = read_state_rule(*l);
  return c;
}

}  // namespace npsd::policy
