#include "ldap/ldap_mapping.h"

#include <doctest/doctest.h>

#include <string>

using namespace npsd::ldap;

namespace {

ldap_entry entry(std::string dn,
                 std::vector<std::pair<std::string, std::vector<std::string>>> attrs) {
  return ldap_entry{std::move(dn), std::move(attrs)};
}

const ldap_config ad = profile_defaults(ldap_profile::active_directory);
const ldap_config openldap = profile_defaults(ldap_profile::openldap);

}  // namespace

TEST_CASE("filter values are escaped as RFC 4515 asks: * ( ) \\ and NUL") {
  CHECK(escape_filter_value("alice") == "alice");
  CHECK(escape_filter_value("*") == "\\2a");
  CHECK(escape_filter_value("(") == "\\28");
  CHECK(escape_filter_value(")") == "\\29");
  CHECK(escape_filter_value("\\") == "\\5c");
  CHECK(escape_filter_value(std::string("a\0b", 3)) == "a\\00b");
  CHECK(escape_filter_value("CORP\\alice") == "CORP\\5calice");
  // Control bytes and bytes of multi-byte UTF-8 characters become \xx: always exact.
  CHECK(escape_filter_value("j\xc3\xbcrgen\n") == "j\\c3\\bcrgen\\0a");
  CHECK(escape_filter_value("") == "");
}

TEST_CASE("an identity that tries to inject filter syntax stays one value") {
  const auto id = parse_identity("*)(uid=*))(|(uid=*");
  const auto f = expand_filter(ad.user_filter, id);
  CHECK(f.find("*)(") == std::string::npos);
  CHECK(f.find("\\2a\\29\\28uid=\\2a\\29\\29\\28|\\28uid=\\2a") != std::string::npos);
  // Still one balanced filter: the template's own parentheses only.
  int depth = 0, min_depth = 1;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] == '(') ++depth;
    if (f[i] == ')') --depth;
    if (i + 1 < f.size()) min_depth = std::min(min_depth, depth);
  }
  CHECK(depth == 0);
  CHECK(min_depth >= 1);
}

TEST_CASE("identity forms give the placeholders their values") {
  SUBCASE("user@realm") {
    const auto p = parse_identity("alice@corp.example.com");
    CHECK(p.identity == "alice@corp.example.com");
    CHECK(p.name == "alice");
    CHECK(p.upn == "alice@corp.example.com");
    CHECK(p.domain == "corp.example.com");
    CHECK_FALSE(p.machine);
  }
  SUBCASE("DOMAIN\\user") {
    const auto p = parse_identity("CORP\\bob");
    CHECK(p.name == "bob");
    CHECK(p.upn == "bob");
    CHECK(p.domain == "CORP");
    CHECK_FALSE(p.machine);
  }
  SUBCASE("host/machine.example.com is a machine named by its first label") {
    const auto p = parse_identity("host/laptop1.corp.example.com");
    CHECK(p.machine);
    CHECK(p.name == "laptop1");
    CHECK(p.domain == "corp.example.com");
    CHECK(p.identity == "host/laptop1.corp.example.com");
    CHECK(parse_identity("HOST/pc7").name == "pc7");
    CHECK(parse_identity("HOST/pc7").machine);
  }
  SUBCASE("NAME$ and DOMAIN\\NAME$ are machines without the $") {
    const auto p = parse_identity("LAPTOP1$");
    CHECK(p.machine);
    CHECK(p.name == "LAPTOP1");
    const auto q = parse_identity("CORP\\LAPTOP1$");
    CHECK(q.machine);
    CHECK(q.name == "LAPTOP1");
    CHECK(q.domain == "CORP");
    CHECK_FALSE(parse_identity("$").machine);
  }
  SUBCASE("anything else is the name itself") {
    const auto p = parse_identity("carol");
    CHECK(p.name == "carol");
    CHECK(p.upn == "carol");
    CHECK(p.domain.empty());
    CHECK_FALSE(p.machine);
    CHECK(parse_identity("@realm").name == "@realm");
  }
}

TEST_CASE("the profiles' filters expand as Active Directory and OpenLDAP expect") {
  CHECK(expand_filter(ad.user_filter, parse_identity("alice@corp.example.com")) ==
        "(&(objectCategory=person)(objectClass=user)(|(sAMAccountName=alice)"
        "(userPrincipalName=alice@corp.example.com)))");
  CHECK(expand_filter(ad.machine_filter, parse_identity("host/laptop1.corp.example.com")) ==
        "(&(objectClass=computer)(|(sAMAccountName=laptop1$)"
        "(servicePrincipalName=host/laptop1.corp.example.com)))");
  CHECK(expand_filter(openldap.user_filter, parse_identity("CORP\\bob")) ==
        "(&(objectClass=inetOrgPerson)(|(uid=bob)(mail=bob)))");
  CHECK(expand_filter("(x={domain})", parse_identity("CORP\\bob")) == "(x=CORP)");
  for (const auto* c : {&ad, &openldap}) {
    CHECK_FALSE(filter_template_problem(c->user_filter));
    CHECK_FALSE(filter_template_problem(c->machine_filter));
  }
}

TEST_CASE("filter templates must be one balanced filter with known placeholders") {
  CHECK_FALSE(filter_template_problem("(uid={name})"));
  CHECK_FALSE(filter_template_problem("(&(a=\\2a)(uid={name}))"));
  CHECK(filter_template_problem("")->find("empty") != std::string::npos);
  CHECK(filter_template_problem("uid={name}")->find("parentheses") != std::string::npos);
  CHECK(filter_template_problem("(&(uid={name})")->find("unbalanced") != std::string::npos);
  CHECK(filter_template_problem("(uid={name}))")->find("more than one") != std::string::npos);
  CHECK(filter_template_problem("(a={name})(b=x)")->find("more than one") != std::string::npos);
  CHECK(filter_template_problem("(uid={user})")->find("unknown placeholder {user}") !=
        std::string::npos);
  CHECK(filter_template_problem("(uid={name)")->find("'{' without") != std::string::npos);
  CHECK(filter_template_problem("(uid=name})")->find("'}' without") != std::string::npos);
  CHECK(filter_template_problem("(uid=\\zz{name})")->find("hex") != std::string::npos);
  CHECK(filter_template_problem("(objectClass=user)")->find("no placeholder") !=
        std::string::npos);
}

TEST_CASE("server URLs are ldap:// or ldaps:// with a host and an optional port") {
  auto s = parse_server_url("ldaps://dc1.corp.example.com");
  REQUIRE(s);
  CHECK(s->ldaps);
  CHECK(s->host == "dc1.corp.example.com");
  CHECK(s->port == 636);
  s = parse_server_url("LDAP://dc2:3389/");
  REQUIRE(s);
  CHECK_FALSE(s->ldaps);
  CHECK(s->port == 3389);
  s = parse_server_url("ldap://[2001:db8::1]:389");
  REQUIRE(s);
  CHECK(s->host == "2001:db8::1");
  CHECK(parse_server_url("ldap://127.0.0.1")->port == 389);
  for (const auto* bad : {"dc1.corp.example.com", "http://dc1", "ldap://", "ldaps://:636",
                          "ldap://dc1:0", "ldap://dc1:65536", "ldap://dc1:x",
                          "ldap://dc1/dc=corp,dc=example", "ldap://user@dc1", "ldapi:///"})
    CHECK_MESSAGE(!parse_server_url(bad), bad);
}

TEST_CASE("attribute names, DNs and DN comparison") {
  CHECK(valid_attribute_name("sAMAccountName"));
  CHECK(valid_attribute_name("msNPAllowDialin"));
  CHECK(valid_attribute_name("1.2.840.113556.1.4.656"));
  CHECK(valid_attribute_name("memberOf;range=0-1499") == false);  // '=' is no option char
  CHECK(valid_attribute_name("cn;lang-en"));
  CHECK_FALSE(valid_attribute_name(""));
  CHECK_FALSE(valid_attribute_name("1sam"));
  CHECK_FALSE(valid_attribute_name("a b"));
  CHECK_FALSE(valid_attribute_name("1..2"));

  CHECK_FALSE(dn_problem("DC=corp,DC=example,DC=com"));
  CHECK_FALSE(dn_problem("CN=Smith\\, John,OU=Users,DC=corp"));
  CHECK(dn_problem(""));
  CHECK(dn_problem("not a dn"));

  CHECK(normalize_dn("CN=VPN Users, OU=Groups,DC=Corp") ==
        normalize_dn("cn=vpn users,ou=groups,dc=corp"));
  CHECK(dn_within("cn=G1,ou=Groups,dc=corp", "OU=Groups, DC=corp"));
  CHECK(dn_within("ou=Groups,dc=corp", "ou=groups,dc=corp"));
  CHECK_FALSE(dn_within("cn=G1,ou=OtherGroups,dc=corp", "ou=Groups,dc=corp"));
  CHECK_FALSE(dn_within("cn=x\\,ou=Groups,dc=corp", "ou=Groups,dc=corp"));
  const auto rdn = first_rdn("CN=VPN Users,OU=Groups,DC=corp");
  REQUIRE(rdn);
  CHECK(rdn->first == "CN");
  CHECK(rdn->second == "VPN Users");
  CHECK(first_rdn_value("CN=Smith\\, John,OU=Users") == "Smith, John");
  CHECK(in_chain_filter("CN=Smith (IT),DC=corp") ==
        "(member:1.2.840.113556.1.4.1941:=CN=Smith \\28IT\\29,DC=corp)");
}

TEST_CASE("state rules: bitmask, value, nonzero, present") {
  const state_rule uac{"userAccountControl", state_rule::test::bitmask, 0x2, {}};
  CHECK_FALSE(rule_holds(uac, entry("cn=a", {{"userAccountControl", {"512"}}})));
  CHECK(rule_holds(uac, entry("cn=a", {{"userAccountControl", {"514"}}})));
  CHECK(rule_holds(uac, entry("cn=a", {{"USERACCOUNTCONTROL", {"66050"}}})));
  CHECK(rule_holds(uac, entry("cn=a", {{"userAccountControl", {"garbled"}}})));  // fail closed
  CHECK_FALSE(rule_holds(uac, entry("cn=a", {})));

  const state_rule lockout{"lockoutTime", state_rule::test::nonzero, 0, {}};
  CHECK_FALSE(rule_holds(lockout, entry("cn=a", {{"lockoutTime", {"0"}}})));
  CHECK(rule_holds(lockout, entry("cn=a", {{"lockoutTime", {"133497720000000000"}}})));
  CHECK_FALSE(rule_holds(lockout, entry("cn=a", {})));

  const state_rule present{"pwdAccountLockedTime", state_rule::test::present, 0, {}};
  CHECK(rule_holds(present, entry("cn=a", {{"pwdAccountLockedTime", {"20260101000000Z"}}})));
  CHECK_FALSE(rule_holds(present, entry("cn=a", {{"pwdAccountLockedTime", {}}})));

  const state_rule value{"nsAccountLock", state_rule::test::value, 0, "TRUE"};
  CHECK(rule_holds(value, entry("cn=a", {{"nsAccountLock", {"true"}}})));
  CHECK_FALSE(rule_holds(value, entry("cn=a", {{"nsAccountLock", {"FALSE"}}})));

  CHECK_FALSE(rule_holds(state_rule{}, entry("cn=a", {{"x", {"1"}}})));  // no rule
}

TEST_CASE("an Active Directory user entry maps to its account") {
  const auto m = map_account(
      entry("CN=Alice Anders,OU=Users,DC=corp,DC=example,DC=com",
            {{"objectClass", {"top", "person", "organizationalPerson", "user"}},
             {"sAMAccountName", {"alice"}},
             {"userPrincipalName", {"alice@corp.example.com"}},
             {"userAccountControl", {"512"}},
             {"lockoutTime", {"0"}},
             {"memberOf", {"CN=VPN Users,OU=Groups,DC=corp,DC=example,DC=com"}}}),
      ad, false);
  const auto& a = m.acct;
  CHECK(a.dn == "CN=Alice Anders,OU=Users,DC=corp,DC=example,DC=com");
  CHECK(a.name == "alice");
  CHECK(a.upn == "alice@corp.example.com");
  CHECK(a.enabled);
  CHECK_FALSE(a.locked_out);
  CHECK_FALSE(a.machine);
  CHECK(a.dial_in_permission == dial_in::policy);  // msNPAllowDialin absent
  CHECK(a.groups.empty());
  CHECK(m.direct_group_dns == std::vector<std::string>{"CN=VPN Users,OU=Groups,DC=corp,DC=example,DC=com"});
  CHECK(m.notes.empty());
}

TEST_CASE("Active Directory account state: disabled, locked out, dial-in") {
  auto with = [](std::vector<std::pair<std::string, std::vector<std::string>>> extra) {
    std::vector<std::pair<std::string, std::vector<std::string>>> attrs{
        {"sAMAccountName", {"carol"}}, {"userAccountControl", {"512"}}};
    for (auto& e : extra) {
      bool replaced = false;
      for (auto& a : attrs)
        if (a.first == e.first) a.second = e.second, replaced = true;
      if (!replaced) attrs.push_back(e);
    }
    return map_account(entry("CN=Carol,DC=corp", std::move(attrs)), ad, false);
  };
  CHECK_FALSE(with({{"userAccountControl", {"514"}}}).acct.enabled);  // ACCOUNTDISABLE 0x2
  CHECK(with({{"userAccountControl", {"66048"}}}).acct.enabled);      // DONT_EXPIRE_PASSWD
  CHECK(with({{"lockoutTime", {"133497720000000000"}}}).acct.locked_out);
  CHECK_FALSE(with({{"lockoutTime", {"0"}}}).acct.locked_out);
  CHECK(with({{"msNPAllowDialin", {"TRUE"}}}).acct.dial_in_permission == dial_in::allow);
  CHECK(with({{"msNPAllowDialin", {"FALSE"}}}).acct.dial_in_permission == dial_in::deny);
  CHECK(with({{"msNPAllowDialin", {"false"}}}).acct.dial_in_permission == dial_in::deny);
  CHECK(with({}).acct.dial_in_permission == dial_in::policy);
  const auto odd = with({{"msNPAllowDialin", {"MAYBE"}}});
  CHECK(odd.acct.dial_in_permission == dial_in::policy);
  CHECK(odd.notes.size() == 1);
}

TEST_CASE("a computer entry maps to a machine account") {
  const auto by_filter = map_account(
      entry("CN=LAPTOP1,OU=Computers,DC=corp",
            {{"sAMAccountName", {"LAPTOP1$"}}, {"userAccountControl", {"4096"}}}),
      ad, true);
  CHECK(by_filter.acct.machine);
  CHECK(by_filter.acct.name == "LAPTOP1$");
  CHECK(by_filter.acct.enabled);
  const auto by_class = map_account(
      entry("CN=LAPTOP2,OU=Computers,DC=corp",
            {{"objectClass", {"top", "user", "Computer"}}, {"sAMAccountName", {"LAPTOP2$"}}}),
      ad, false);
  CHECK(by_class.acct.machine);
  CHECK_FALSE(by_class.acct.upn.size());
}

TEST_CASE("an OpenLDAP entry maps with the openldap profile's attributes") {
  const auto m = map_account(
      entry("uid=dave,ou=People,dc=example,dc=org",
            {{"objectClass", {"inetOrgPerson"}},
             {"uid", {"dave"}},
             {"mail", {"dave@example.org"}},
             {"msNPAllowDialin", {"FALSE"}},  // not read: the profile names no dial-in attribute
             {"pwdAccountLockedTime", {"000001010000Z"}},
             {"memberOf", {"cn=staff,ou=Groups,dc=example,dc=org", "cn=vpn,ou=Groups,dc=example,dc=org"}}}),
      openldap, false);
  CHECK(m.acct.name == "dave");
  CHECK(m.acct.upn == "dave@example.org");
  CHECK(m.acct.enabled);  // no "disabled" rule unless configured
  CHECK(m.acct.locked_out);
  CHECK(m.acct.dial_in_permission == dial_in::policy);
  CHECK(m.direct_group_dns.size() == 2);
}

TEST_CASE("a missing name attribute falls back to the DN's first value, with a note") {
  const auto m = map_account(entry("uid=erin,ou=People,dc=example", {}), openldap, false);
  CHECK(m.acct.name == "erin");
  CHECK(m.notes.size() == 1);
  CHECK(map_group(entry("cn=VPN,ou=Groups,dc=x", {}), openldap).name == "VPN");
  CHECK(map_group(entry("cn=VPN,ou=Groups,dc=x", {{"cn", {"VPN Users"}}}), openldap).name ==
        "VPN Users");
}

TEST_CASE("the attributes requested for an account have no duplicates") {
  const auto a = account_attributes(ad);
  CHECK(a == std::vector<std::string>{"objectClass", "sAMAccountName", "userPrincipalName",
                                      "memberOf", "msNPAllowDialin", "userAccountControl",
                                      "lockoutTime"});
  auto c = ad;
  c.locked_out.attribute = "USERACCOUNTCONTROL";
  CHECK(account_attributes(c).size() == 6);
  CHECK(account_attributes(openldap) ==
        std::vector<std::string>{"objectClass", "uid", "mail", "memberOf", "pwdAccountLockedTime"});
}
