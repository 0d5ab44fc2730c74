// The slapd fixture itself, checked with the OpenLDAP command-line tools: the tree, the
// memberof overlay, the access rules, TLS with the test CA, stop/restart, freeze/thaw. If these
// fail, the LDAP directory tests that build on the fixture prove nothing.
#include <doctest/doctest.h>

#include <cctype>

#include "radius/ascii.h"
#include "ldap_fixture.h"

using namespace npsd::test;

namespace {

bool has(const command_result& r, const std::string& text) {
  return r.output.find(text) != std::string::npos;
}

// dynlist returns memberOf values normalised (lower case)
bool has_nocase(const command_result& r, const std::string& text) {
  return npsd::ascii_fold(r.output).find(npsd::ascii_fold(text)) != std::string::npos;
}

}  // namespace

TEST_CASE("ldap fixture: slapd serves the AD-like tree with direct memberOf from the overlay") {
  const auto t0 = std::chrono::steady_clock::now();
  slapd_process slapd;
  const auto started = std::chrono::steady_clock::now() - t0;
  MESSAGE("slapd started and loaded in "
          << std::chrono::duration_cast<std::chrono::milliseconds>(started).count() << " ms");
  INFO(slapd.log());

  // AD attribute names, served under AD's OIDs
  auto r = run("ldapsearch -LLL -x -H " + slapd.ldap_url() +
               " -b cn=Subschema -s base attributeTypes objectClasses -o ldif-wrap=no");
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  for (const char* oid : {"( 1.2.840.113556.1.4.656 NAME 'userPrincipalName'",
                          "( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'",
                          "( 1.2.840.113556.1.4.8 NAME 'userAccountControl'",
                          "( 1.2.840.113556.1.4.1119 NAME 'msNPAllowDialin'",
                          "( 1.2.840.113556.1.4.662 NAME 'lockoutTime'",
                          "( 1.2.840.113556.1.4.771 NAME 'servicePrincipalName'",
                          "( 1.2.840.113556.1.2.102 NAME 'memberOf'",
                          "( 1.2.840.113556.1.5.9 NAME 'user'",
                          "( 1.2.840.113556.1.5.8 NAME 'group'",
                          "( 1.2.840.113556.1.3.30 NAME 'computer'"})
    CHECK_MESSAGE(has(r, oid), oid);

  // alice by UPN and by sAMAccountName: memberOf holds her direct group only
  r = slapd.search("'(userPrincipalName=ALICE@corp.example.com)' memberOf");
  CHECK(has(r, "dn: cn=Alice Anders,ou=Users,dc=corp,dc=example,dc=com"));
  CHECK(has(r, "memberOf: cn=Engineering Team,ou=Groups,dc=corp,dc=example,dc=com"));
  CHECK_FALSE(has(r, "VPN Users"));
  r = slapd.search("'(&(objectCategory=person)(objectClass=user)(sAMAccountName=alice))' dn");
  CHECK(has(r, "dn: cn=Alice Anders"));
  // the chain: Engineering Team -> Engineering -> VPN Users, and the cycle G1 -> G2 -> G1
  r = slapd.search("'(objectClass=group)' memberOf");
  CHECK(has(r, "dn: cn=Engineering Team,ou=Groups,dc=corp,dc=example,dc=com\n"
               "memberOf: cn=Engineering,ou=Groups,dc=corp,dc=example,dc=com"));
  CHECK(has(r, "dn: cn=Engineering,ou=Groups,dc=corp,dc=example,dc=com\n"
               "memberOf: cn=VPN Users,ou=Groups,dc=corp,dc=example,dc=com"));
  CHECK(has(r, "dn: cn=G1,ou=Groups,dc=corp,dc=example,dc=com\n"
               "memberOf: cn=G2,ou=Groups,dc=corp,dc=example,dc=com"));
  CHECK(has(r, "dn: cn=G2,ou=Groups,dc=corp,dc=example,dc=com\n"
               "memberOf: cn=G1,ou=Groups,dc=corp,dc=example,dc=com"));
  // the machine account by its SPN, in the AD profile's machine filter
  r = slapd.search("'(&(objectClass=computer)(|(sAMAccountName=laptop1$)"
                   "(servicePrincipalName=host/laptop1.corp.example.com)))' memberOf");
  CHECK(has(r, "dn: cn=LAPTOP1,ou=Computers,dc=corp,dc=example,dc=com"));
  CHECK(has(r, "memberOf: cn=VPN Machines,ou=Groups,dc=corp,dc=example,dc=com"));
  // account state attributes as the tests expect them
  r = slapd.search("'(|(userAccountControl=514)(msNPAllowDialin=FALSE)(msNPAllowDialin=TRUE)"
                   "(lockoutTime>=1))' sAMAccountName");
  for (const char* u : {"carol", "dave", "erin", "frank"})
    CHECK_MESSAGE(has(r, std::string("sAMAccountName: ") + u), u);
  CHECK_FALSE(has(r, "sAMAccountName: alice"));

  // slapd has no LDAP_MATCHING_RULE_IN_CHAIN: the AD rule matches nothing here
  r = slapd.search(std::string("'(member:1.2.840.113556.1.4.1941:=cn=Alice Anders,ou=Users,") +
                   ldap_base_dn + ")' cn");
  CHECK(r.exit_code == 0);
  CHECK_FALSE(has(r, "dn:"));

  // anonymous reads nothing; user binds check passwords
  r = run("ldapsearch -LLL -x -H " + slapd.ldap_url() + " -b " + ldap_base_dn +
          " '(sAMAccountName=alice)' dn");
  CHECK_FALSE(has(r, "dn: cn=Alice"));
  r = run("ldapwhoami -x -H " + slapd.ldap_url() +
          " -D 'cn=Alice Anders,ou=Users,dc=corp,dc=example,dc=com' -w alice-password");
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  r = run("ldapwhoami -x -H " + slapd.ldap_url() +
          " -D 'cn=Alice Anders,ou=Users,dc=corp,dc=example,dc=com' -w wrong");
  CHECK(has(r, "Invalid credentials (49)"));
}

TEST_CASE("ldap fixture: ldaps and StartTLS with the test CA; an unrelated CA or wrong name fail") {
  slapd_process slapd;
  INFO(slapd.log());
  const auto& pki = ldap_test_pki();
  const std::string probe = " -b '' -s base namingContexts";
  auto r = run("LDAPTLS_CACERT=" + pki.ca.string() + " ldapsearch -LLL -x -H " +
               slapd.ldaps_url() + probe);
  CHECK_MESSAGE(has(r, "namingContexts: dc=corp"), r.output);
  r = run("LDAPTLS_CACERT=" + pki.ca.string() + " ldapsearch -ZZ -LLL -x -H " +
          slapd.ldap_url() + probe);
  CHECK_MESSAGE(has(r, "namingContexts: dc=corp"), r.output);
  r = run("LDAPTLS_CACERT=" + pki.other_ca.string() + " ldapsearch -LLL -x -H " +
          slapd.ldaps_url() + probe);
  CHECK(r.exit_code != 0);
  CHECK_FALSE(has(r, "namingContexts"));
  r = run("LDAPTLS_CACERT=" + pki.other_ca.string() + " ldapsearch -ZZ -LLL -x -H " +
          slapd.ldap_url() + probe);
  CHECK(r.exit_code != 0);

  slapd_options o;
  o.wrong_name_certificate = true;
  o.ldif.clear();
  slapd_process misnamed(o);
  r = run("LDAPTLS_CACERT=" + pki.ca.string() + " ldapsearch -LLL -x -H " +
          misnamed.ldaps_url() + probe);
  CHECK(r.exit_code != 0);
  CHECK_FALSE(has(r, "namingContexts"));
  r = run("LDAPTLS_REQCERT=never ldapsearch -LLL -x -H " + misnamed.ldaps_url() + probe);
  CHECK_MESSAGE(has(r, "namingContexts"), r.output);
}

TEST_CASE("ldap fixture: stop, restart on the same ports and data, freeze and thaw") {
  slapd_process slapd;
  INFO(slapd.log());
  const auto port = slapd.ldap_port();
  slapd.stop();
  CHECK_FALSE(slapd.running());
  auto r = run("ldapsearch -x -o nettimeout=1 -H " + slapd.ldap_url() + " -b '' -s base");
  CHECK(r.exit_code != 0);
  slapd.restart();
  CHECK(slapd.ldap_port() == port);
  r = slapd.search("'(sAMAccountName=alice)' memberOf");
  CHECK(has(r, "memberOf: cn=Engineering Team"));

  slapd.freeze();
  // a frozen slapd accepts the connection (the kernel does) and never answers
  r = run("timeout 1 ldapsearch -x -H " + slapd.ldap_url() + " -b '' -s base");
  CHECK(r.exit_code == 124);
  slapd.thaw();
  r = slapd.search("'(sAMAccountName=bob)' memberOf");
  CHECK(has(r, "memberOf: cn=G1"));
}

TEST_CASE("ldap fixture: the dynlist variant fills memberOf with nested groups in one read") {
  slapd_options o;
  o.member_of = "dynlist-nested";
  slapd_process slapd(o);
  INFO(slapd.log());
  auto r = slapd.search("'(sAMAccountName=alice)' memberOf");
  CHECK(has_nocase(r, "memberOf: cn=Engineering Team,ou=Groups,dc=corp,dc=example,dc=com"));
  CHECK(has_nocase(r, "memberOf: cn=Engineering,ou=Groups,dc=corp,dc=example,dc=com"));
  CHECK(has_nocase(r, "memberOf: cn=VPN Users,ou=Groups,dc=corp,dc=example,dc=com"));
  r = slapd.search("'(sAMAccountName=bob)' memberOf");
  CHECK(has_nocase(r, "memberOf: cn=G1,ou=Groups,dc=corp,dc=example,dc=com"));
  CHECK(has_nocase(r, "memberOf: cn=G2,ou=Groups,dc=corp,dc=example,dc=com"));
}
