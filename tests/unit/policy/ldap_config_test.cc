// The "directory" section with the LDAP back end: profile defaults resolved at parse time,
// every validation error naming its JSON pointer, and the bind password never in an error.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "policy/config.h"

using namespace npsd::policy;
namespace ldap = npsd::ldap;
namespace fs = std::filesystem;

namespace {

struct files {
  fs::path dir;
  files() {
    std::string tmpl = (fs::temp_directory_path() / "npsd-ldapcfg-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    write("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    write("not-a-ca.pem", "hello\n");
    write("svc.pw", "Fil3-Secret\n");
    write("empty.pw", "\n");
  }
  ~files() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
  }
};

const files& fixture() {
  static const files f;
  return f;
}

// A configuration whose "ldap" object is `ldap` (JSON members without braces).
std::string config_with(const std::string& ldap) {
  return R"({
  "schema_version": 1,
  "server": { "listen": [ { "type": "auth", "address": "127.0.0.1" } ] },
  "clients": [ { "name": "rras1", "address": "10.0.0.0/24", "secret": "s3cret" } ],
  "directory": { "backend": "ldap", "ldap": {)" +
         ldap + "} }\n}";
}

const std::string base = R"("servers": ["ldaps://dc1.corp.example.com", "ldap://dc2.corp.example.com:389"],
  "ca_file": "ca.pem", "base_dn": "DC=corp,DC=example,DC=com", "profile": "active-directory")";

npsd::expected<std::shared_ptr<const config>, std::string> parse_ldap(const std::string& text) {
  return parse_config(text, "npsd.json", fixture().dir, NPSD_DICTIONARY_DIR);
}

std::string ldap_error_of(const std::string& ldap) {
  const auto c = parse_ldap(config_with(ldap));
  REQUIRE_FALSE(c.has_value());
  return c.error();
}

const ldap::ldap_config& ldap_of(const std::shared_ptr<const config>& c) {
  REQUIRE(c->directory.backend == ldap::directory_backend::ldap);
  return c->directory.ldap;
}

}  // namespace

TEST_CASE("an ldap directory gets the profile's filters, attributes and rules at parse time") {
  const auto c = parse_ldap(config_with(base));
  REQUIRE_MESSAGE(c, (c ? "" : c.error()));
  const auto& l = ldap_of(*c);
  REQUIRE(l.servers.size() == 2);
  CHECK(l.servers[0].ldaps);
  CHECK(l.servers[0].port == 636);
  CHECK(l.servers[1].host == "dc2.corp.example.com");
  CHECK(l.start_tls);
  CHECK(l.verify_certificate);
  CHECK_FALSE(l.allow_insecure);
  CHECK(l.ca_file == fixture().dir / "ca.pem");
  CHECK(l.bind_dn.empty());
  CHECK(l.group_base_dn == l.base_dn);
  CHECK(l.pool_size == 4);
  CHECK(l.queue_limit == 1024);
  CHECK(l.timeout == std::chrono::milliseconds(3000));
  CHECK(l.retry_after == std::chrono::seconds(10));
  CHECK(l.cache.ttl == std::chrono::seconds(300));
  CHECK(l.cache.negative_ttl == std::chrono::seconds(60));
  CHECK(l.cache.max_entries == 10000);
  const auto ad = ldap::profile_defaults(ldap::ldap_profile::active_directory);
  CHECK(l.user_filter == ad.user_filter);
  CHECK(l.machine_filter == ad.machine_filter);
  CHECK(l.attributes.name == "sAMAccountName");
  CHECK(l.attributes.dial_in == "msNPAllowDialin");
  CHECK(l.nested_groups == ldap::nested_groups_mode::in_chain);
  CHECK(l.disabled.attribute == "userAccountControl");
  CHECK(l.disabled.kind == ldap::state_rule::test::bitmask);
  CHECK(l.disabled.bitmask == 2);
  CHECK(l.locked_out.kind == ldap::state_rule::test::nonzero);
  CHECK((*c)->directory.users_file.empty());
}

TEST_CASE("the openldap profile and every override") {
  const auto c = parse_ldap(config_with(R"~(
    "servers": ["ldap://ldap1:389"], "start_tls": false, "allow_insecure": true,
    "verify_certificate": false,
    "bind_dn": "cn=npsd,ou=Services,dc=example,dc=org", "bind_password_file": "svc.pw",
    "base_dn": "dc=example,dc=org", "group_base_dn": "ou=Groups,dc=example,dc=org",
    "profile": "openldap", "pool_size": 8, "queue_limit": 10, "timeout_ms": 500,
    "retry_after_seconds": 2,
    "cache": { "ttl_seconds": 30, "negative_ttl_seconds": 0, "max_entries": 5 },
    "user_filter": "(&(objectClass=person)(uid={name}))",
    "machine_filter": "(cn={name})",
    "attributes": { "name": "uid", "upn": "", "member_of": "memberOf", "dial_in": "radiusDialin",
                    "group_name": "description" },
    "nested_groups": "none",
    "disabled": { "attribute": "nsAccountLock", "value": "TRUE" },
    "locked_out": { "attribute": "pwdAccountLockedTime", "present": true })~"));
  REQUIRE_MESSAGE(c, (c ? "" : c.error()));
  const auto& l = ldap_of(*c);
  CHECK(l.profile == ldap::ldap_profile::openldap);
  CHECK_FALSE(l.start_tls);
  CHECK_FALSE(l.uses_tls());
  CHECK(l.ca_file.empty());  // no TLS: not required
  CHECK(l.bind_password == "Fil3-Secret");
  CHECK(l.bind_password_file == fixture().dir / "svc.pw");
  CHECK(l.group_base_dn == "ou=Groups,dc=example,dc=org");
  CHECK(l.pool_size == 8);
  CHECK(l.timeout == std::chrono::milliseconds(500));
  CHECK(l.cache.negative_ttl == std::chrono::seconds(0));
  CHECK(l.user_filter == "(&(objectClass=person)(uid={name}))");
  CHECK(l.attributes.upn.empty());
  CHECK(l.attributes.group_name == "description");
  CHECK(l.nested_groups == ldap::nested_groups_mode::none);
  CHECK(l.disabled.kind == ldap::state_rule::test::value);
  CHECK(l.disabled.value == "TRUE");
  CHECK(l.locked_out.kind == ldap::state_rule::test::present);

  const auto o = parse_ldap(config_with(R"("servers": ["ldaps://ldap1"], "ca_file": "ca.pem",
    "base_dn": "dc=example,dc=org", "profile": "openldap")"));
  REQUIRE(o);
  CHECK(ldap_of(*o).attributes.name == "uid");
  CHECK(ldap_of(*o).nested_groups == ldap::nested_groups_mode::member_of);
  CHECK(ldap_of(*o).disabled.attribute.empty());
}

TEST_CASE("the back end decides which of users_file and ldap is required") {
  const std::string local_with_ldap = R"({"schema_version": 1,
    "server": { "listen": [ { "type": "auth", "address": "127.0.0.1" } ] }, "clients": [],
    "directory": { "backend": "local", "users_file": "u.json", "ldap": {} } })";
  auto c = parse_ldap(local_with_ldap);
  REQUIRE_FALSE(c);
  CHECK(c.error() == "npsd.json: /directory/ldap: \"ldap\" settings need \"backend\": \"ldap\"");
  const std::string ldap_without = R"({"schema_version": 1,
    "server": { "listen": [ { "type": "auth", "address": "127.0.0.1" } ] }, "clients": [],
    "directory": { "backend": "ldap" } })";
  c = parse_ldap(ldap_without);
  REQUIRE_FALSE(c);
  CHECK(c.error() == "npsd.json: /directory: missing required key \"ldap\"");
  const std::string ldap_with_file = R"({"schema_version": 1,
    "server": { "listen": [ { "type": "auth", "address": "127.0.0.1" } ] }, "clients": [],
    "directory": { "backend": "ldap", "users_file": "u.json", "ldap": {} } })";
  c = parse_ldap(ldap_with_file);
  REQUIRE_FALSE(c);
  CHECK(c.error().find("/directory/users_file: the ldap back end reads no user file") !=
        std::string::npos);
  c = parse_ldap(R"({"schema_version": 1,
    "server": { "listen": [ { "type": "auth", "address": "127.0.0.1" } ] }, "clients": [],
    "directory": { "backend": "nis" } })");
  REQUIRE_FALSE(c);
  CHECK(c.error().find("/directory/backend: expected one of \"local\", \"ldap\"") !=
        std::string::npos);
}

TEST_CASE("server URLs must be ldap:// or ldaps:// with a host") {
  CHECK(ldap_error_of(R"("servers": [], "base_dn": "dc=x", "profile": "openldap")") ==
        "npsd.json: /directory/ldap/servers: expected at least one server URL");
  CHECK(ldap_error_of(R"("servers": ["ldaps://dc1", "http://dc2"], "ca_file": "ca.pem", "base_dn": "dc=x", "profile": "openldap")") ==
        "npsd.json: /directory/ldap/servers/1: expected an ldap:// or ldaps:// URL with a host");
  CHECK(ldap_error_of(R"("servers": ["ldaps://"], "base_dn": "dc=x", "profile": "openldap")")
            .find("/directory/ldap/servers/0: ") != std::string::npos);
  CHECK(ldap_error_of(R"("servers": ["ldaps://dc1", "LDAPS://DC1:636"], "ca_file": "ca.pem", "base_dn": "dc=x", "profile": "openldap")") ==
        "npsd.json: /directory/ldap/servers/1: this server is already listed");
}

TEST_CASE("TLS needs a readable CA file; plain ldap:// needs allow_insecure") {
  CHECK(ldap_error_of(R"("servers": ["ldaps://dc1"], "base_dn": "dc=x", "profile": "openldap")")
            .find("npsd.json: /directory/ldap: missing required key \"ca_file\"") == 0);
  CHECK(ldap_error_of(R"("servers": ["ldap://dc1"], "base_dn": "dc=x", "profile": "openldap")")
            .find("missing required key \"ca_file\"") != std::string::npos);  // StartTLS
  CHECK(ldap_error_of(R"("servers": ["ldaps://dc1"], "ca_file": "missing.pem", "base_dn": "dc=x", "profile": "openldap")")
            .find("/directory/ldap/ca_file: cannot read the CA file") != std::string::npos);
  CHECK(ldap_error_of(R"("servers": ["ldaps://dc1"], "ca_file": "not-a-ca.pem", "base_dn": "dc=x", "profile": "openldap")")
            .find("/directory/ldap/ca_file: ") != std::string::npos);
  CHECK(ldap_error_of(R"("servers": ["ldap://dc1"], "start_tls": false, "base_dn": "dc=x", "profile": "openldap")")
            .find("npsd.json: /directory/ldap/start_tls: ldap://dc1 without StartTLS would send "
                  "passwords in clear text") == 0);
  // ldaps:// servers only: start_tls false changes nothing.
  CHECK(parse_ldap(config_with(R"("servers": ["ldaps://dc1"], "start_tls": false, "ca_file": "ca.pem", "base_dn": "dc=x", "profile": "openldap")")));
}

TEST_CASE("bind credentials: at most one password source, and only with bind_dn") {
  const std::string where = R"("servers": ["ldaps://dc1"], "ca_file": "ca.pem", "base_dn": "dc=x", "profile": "openldap", )";
  auto e = ldap_error_of(where + R"("bind_dn": "cn=svc,dc=x", "bind_password": "Inline-Secret", "bind_password_file": "svc.pw")");
  CHECK(e.find("/directory/ldap: expected at most one of \"bind_password\" and \"bind_password_file\"") != std::string::npos);
  CHECK(e.find("Inline-Secret") == std::string::npos);
  e = ldap_error_of(where + R"("bind_dn": "cn=svc,dc=x")");
  CHECK(e.find("\"bind_dn\" needs \"bind_password\" or \"bind_password_file\"") != std::string::npos);
  e = ldap_error_of(where + R"("bind_password": "Inline-Secret")");
  CHECK(e == "npsd.json: /directory/ldap/bind_password: a bind password needs \"bind_dn\"");
  e = ldap_error_of(where + R"("bind_dn": "cn=svc,dc=x", "bind_password": "")");
  CHECK(e == "npsd.json: /directory/ldap/bind_password: expected a non-empty password");
  e = ldap_error_of(where + R"("bind_dn": "cn=svc,dc=x", "bind_password": 7)");
  CHECK(e == "npsd.json: /directory/ldap/bind_password: expected a string");
  e = ldap_error_of(where + R"("bind_dn": "cn=svc,dc=x", "bind_password_file": "empty.pw")");
  CHECK(e.find("/directory/ldap/bind_password_file: the password file") != std::string::npos);
  e = ldap_error_of(where + R"("bind_dn": "not a dn", "bind_password": "Inline-Secret")");
  CHECK(e.find("/directory/ldap/bind_dn: is not a valid distinguished name") != std::string::npos);
  CHECK(e.find("Inline-Secret") == std::string::npos);
  const auto ok = parse_ldap(config_with(where + R"("bind_dn": "cn=svc,dc=x", "bind_password": "Inline-Secret")"));
  REQUIRE(ok);
  CHECK(ldap_of(*ok).bind_password == "Inline-Secret");
}

TEST_CASE("filters, attributes, rules and limits are checked where they are") {
  const std::string where = R"("servers": ["ldaps://dc1"], "ca_file": "ca.pem", "base_dn": "dc=x", )";
  CHECK(ldap_error_of(where + R"("profile": "samba")") ==
        "npsd.json: /directory/ldap/profile: expected one of \"active-directory\", \"openldap\", found \"samba\"");
  CHECK(ldap_error_of(R"("servers": ["ldaps://dc1"], "ca_file": "ca.pem", "base_dn": "dc=x")") ==
        "npsd.json: /directory/ldap: missing required key \"profile\"");
  CHECK(ldap_error_of(where + R"~("profile": "openldap", "user_filter": "(&(uid={name})")~") ==
        "npsd.json: /directory/ldap/user_filter: the filter has unbalanced parentheses");
  CHECK(ldap_error_of(where + R"~("profile": "openldap", "machine_filter": "(cn={host})")~")
            .find("/directory/ldap/machine_filter: the filter unknown placeholder {host}") !=
        std::string::npos);
  CHECK(ldap_error_of(where + R"("profile": "openldap", "attributes": { "name": "u id" })") ==
        "npsd.json: /directory/ldap/attributes/name: expected an LDAP attribute name");
  CHECK(ldap_error_of(where + R"("profile": "openldap", "attributes": { "member": "member" })")
            .find("/directory/ldap/attributes/member: unknown key") != std::string::npos);
  CHECK(ldap_error_of(where + R"("profile": "openldap", "nested_groups": "tokenGroups")")
            .find("/directory/ldap/nested_groups: expected one of \"in_chain\", \"member_of\", \"none\"") !=
        std::string::npos);
  CHECK(ldap_error_of(where + R"("profile": "openldap", "disabled": { "attribute": "x", "bitmask": 2, "value": "y" })") ==
        "npsd.json: /directory/ldap/disabled: expected exactly one of \"bitmask\", \"value\", "
        "\"nonzero\": true, \"present\": true");
  CHECK(ldap_error_of(where + R"("profile": "openldap", "locked_out": { "attribute": "x", "present": false })") ==
        "npsd.json: /directory/ldap/locked_out/present: expected true (leave the key out otherwise)");
  CHECK(ldap_error_of(where + R"("profile": "openldap", "disabled": { "bitmask": 2 })") ==
        "npsd.json: /directory/ldap/disabled: missing required key \"attribute\"");
  CHECK(ldap_error_of(where + R"("profile": "openldap", "pool_size": 0)") ==
        "npsd.json: /directory/ldap/pool_size: expected an integer from 1 to 64, found 0");
  CHECK(ldap_error_of(where + R"("profile": "openldap", "timeout_ms": 5)")
            .find("/directory/ldap/timeout_ms: expected an integer from 100") != std::string::npos);
  CHECK(ldap_error_of(where + R"("profile": "openldap", "cache": { "ttl": 5 })")
            .find("/directory/ldap/cache/ttl: unknown key") != std::string::npos);
  CHECK(ldap_error_of(where + R"("profile": "openldap", "base": "dc=x")")
            .find("/directory/ldap/base: unknown key \"base\"") != std::string::npos);
  CHECK(ldap_error_of(R"("servers": ["ldaps://dc1"], "ca_file": "ca.pem", "base_dn": "dc=x", "group_base_dn": "groups", "profile": "openldap")")
            .find("/directory/ldap/group_base_dn: is not a valid distinguished name") !=
        std::string::npos);
}

TEST_CASE("the shipped LDAP examples load") {
  for (const char* name : {"active-directory.json", "openldap.json"}) {
    const auto c = load_config(fs::path(NPSD_SOURCE_DIR) / "examples/ldap" / name, NPSD_DICTIONARY_DIR);
    REQUIRE_MESSAGE(c, name, ": ", (c ? "" : c.error()));
    const auto& l = ldap_of(*c);
    CHECK(l.uses_tls());
    CHECK(l.verify_certificate);
    CHECK_FALSE(l.bind_password.empty());
  }
}
