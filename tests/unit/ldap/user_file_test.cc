// The user file parser: validation errors name the file and the JSON pointer; nested groups;
// identity resolution.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "ldap/local_directory.h"
#include "ldap/password_hash.h"

using namespace npsd::ldap;

namespace {

// A valid hash computed once (i=1000 keeps the tests fast).
const std::string& test_hash() {
  static const std::string h = *hash_password("pw", hash_params{.iterations = 1000});
  return h;
}

std::string parse_error(const std::string& json) {
  auto r = local_directory::parse_user_file(json, "users.json");
  if (r) return "(parsed)";
  return r.error();
}

std::vector<std::string> group_names(const account& a) {
  std::vector<std::string> out;
  for (const auto& g : a.groups) out.push_back(g.name);
  return out;
}

const char* const full_file = R"({
  "schema_version": 1,
  "groups": [ { "name": "VPN Users", "member_of": ["Staff"] }, { "name": "Staff" },
              { "name": "Contractors" } ],
  "users": [
    { "name": "alice", "upn": "alice@example.com", "groups": ["VPN Users"],
      "enabled": true, "locked_out": false, "dial_in": "allow" },
    { "name": "bob" },
    { "name": "host/ws1.example.com", "dial_in": "deny", "enabled": false, "locked_out": true },
    { "name": "carol@partner", "upn": "carol@example.com", "groups": ["contractors"] }
  ]
})";

}  // namespace

TEST_CASE("a complete user file parses with defaults applied") {
  auto db = local_directory::parse_user_file(full_file, "users.json");
  REQUIRE_MESSAGE(db, (db ? "" : db.error()));
  REQUIRE((*db)->users().size() == 4);
  REQUIRE((*db)->groups().size() == 3);
  const auto& alice = (*db)->users()[0];
  CHECK(alice.acct.name == "alice");
  CHECK(alice.acct.upn == "alice@example.com");
  CHECK(alice.acct.dial_in_permission == dial_in::allow);
  CHECK_FALSE(alice.password_hash.has_value());
  const auto& bob = (*db)->users()[1];
  CHECK(bob.acct.enabled);
  CHECK_FALSE(bob.acct.locked_out);
  CHECK(bob.acct.dial_in_permission == dial_in::policy);
  CHECK(bob.acct.groups.empty());
  CHECK(bob.acct.upn.empty());
  const auto& host = (*db)->users()[2];
  CHECK_FALSE(host.acct.enabled);
  CHECK(host.acct.locked_out);
  CHECK(host.acct.dial_in_permission == dial_in::deny);
  // A reference in another case resolves to the name as declared.
  CHECK(group_names((*db)->users()[3].acct) == std::vector<std::string>{"Contractors"});
  CHECK((*db)->users()[3].direct_groups == std::vector<std::string>{"Contractors"});
  CHECK((*db)->source_name() == "users.json");
}

TEST_CASE("a user with a valid password hash keeps it") {
  auto db = local_directory::parse_user_file(
      R"({"schema_version":1,"users":[{"name":"a","password_hash":")" + test_hash() + R"("}]})",
      "u.json");
  REQUIRE(db);
  REQUIRE((*db)->users()[0].password_hash);
  CHECK(*(*db)->users()[0].password_hash == test_hash());
}

TEST_CASE("parse errors name the file, the JSON pointer and what was expected") {
  CHECK(parse_error(R"({"schema_version":1,"users":[{"name":"a"},{"name":"b","dial_in":"yes"}]})") ==
        R"(users.json: /users/1/dial_in: expected one of "allow", "deny", "policy")");
  CHECK(parse_error(R"({"schema_version":1,"users":[{"name":"a","enabled":"true"}]})") ==
        "users.json: /users/0/enabled: expected true or false, got string");
  CHECK(parse_error(R"({"schema_version":1,"users":[{"name":"a","pasword_hash":"x"}]})")
            .rfind("users.json: /users/0/pasword_hash: unknown key", 0) == 0);
  CHECK(parse_error(R"({"schema_version":1,"users":[],"extra":1})")
            .rfind("users.json: /extra: unknown key", 0) == 0);
  CHECK(parse_error(R"({"users":[]})") == "users.json: /schema_version: missing (expected 1)");
  CHECK(parse_error(R"({"schema_version":2,"users":[]})")
            .rfind("users.json: /schema_version: unsupported version 2", 0) == 0);
  CHECK(parse_error(R"({"schema_version":"1","users":[]})") ==
        "users.json: /schema_version: expected the integer 1, got string");
  CHECK(parse_error(R"({"schema_version":1})") ==
        "users.json: /users: missing (expected an array of users)");
  CHECK(parse_error(R"({"schema_version":1,"users":{}})") ==
        "users.json: /users: expected an array, got object");
  CHECK(parse_error(R"([])") ==
        "users.json: expected a JSON object at the top level, got array");
  CHECK(parse_error(R"({"schema_version":1,"users":[{"upn":"a@b"}]})") ==
        "users.json: /users/0/name: missing (expected a user name)");
  CHECK(parse_error(R"({"schema_version":1,"users":[{"name":""}]})") ==
        "users.json: /users/0/name: user name must not be empty");
  CHECK(parse_error(R"({"schema_version":1,"users":[{"name":"a\u0001"}]})") ==
        "users.json: /users/0/name: user name must not contain control characters");
  CHECK(parse_error(R"({"schema_version":1,"users":[{"name":"DOM\\a"}]})")
            .rfind("users.json: /users/0/name: user name must not contain a backslash", 0) == 0);
  CHECK(parse_error(R"({"schema_version":1,"users":[{"name":"a","upn":"nobody"}]})") ==
        "users.json: /users/0/upn: expected a user principal name of the form user@suffix");
  CHECK(parse_error(R"({"schema_version":1,"users":[{"name":"a","groups":"Staff"}]})") ==
        "users.json: /users/0/groups: expected an array of group names, got string");
  CHECK(parse_error(R"({"schema_version":1,"groups":[{"name":"G","member_of":[1]}],"users":[]})") ==
        "users.json: /groups/0/member_of/0: expected a group name (string), got number");
  CHECK(parse_error(R"({"schema_version":1,"groups":[{"name":"G","owner":"x"}],"users":[]})")
            .rfind("users.json: /groups/0/owner: unknown key", 0) == 0);
}

TEST_CASE("a key containing '/' or '~' is escaped in the JSON pointer") {
  CHECK(parse_error(R"({"schema_version":1,"users":[{"name":"a","x/y~z":1}]})")
            .rfind("users.json: /users/0/x~1y~0z: unknown key", 0) == 0);
}

TEST_CASE("duplicate user names are errors, case-insensitively") {
  CHECK(parse_error(R"({"schema_version":1,"users":[{"name":"alice"},{"name":"bob"},{"name":"ALICE"}]})") ==
        R"(users.json: /users/2/name: duplicate user name "ALICE" (names are case-insensitive; first declared at /users/0))");
  CHECK(parse_error(
            R"({"schema_version":1,"users":[{"name":"a","upn":"x@y"},{"name":"b","upn":"X@Y"}]})")
            .rfind("users.json: /users/1/upn: duplicate user principal name", 0) == 0);
  CHECK(parse_error(R"({"schema_version":1,"groups":[{"name":"G"},{"name":"g"}],"users":[]})")
            .rfind("users.json: /groups/1/name: duplicate group name", 0) == 0);
}

TEST_CASE("duplicate JSON keys are errors rather than last-one-wins") {
  CHECK(parse_error(R"({"schema_version":1,"users":[{"name":"a"},{"name":"b","enabled":true,"enabled":false}]})") ==
        "users.json: /users/1/enabled: duplicate key");
  CHECK(parse_error(R"({"schema_version":1,"schema_version":1,"users":[]})") ==
        "users.json: /schema_version: duplicate key");
  CHECK(parse_error(R"({"schema_version":1,"groups":[{"name":"G","member_of":[]},{"name":"H","name":"I"}],"users":[]})") ==
        "users.json: /groups/1/name: duplicate key");
}

TEST_CASE("groups referenced but not declared are errors") {
  CHECK(parse_error(R"({"schema_version":1,"users":[{"name":"a","groups":["VPN Users"]}]})") ==
        R"(users.json: /users/0/groups/0: group "VPN Users" is not declared in /groups)");
  CHECK(parse_error(
            R"({"schema_version":1,"groups":[{"name":"A","member_of":["A","Nope"]}],"users":[]})") ==
        R"(users.json: /groups/0/member_of/1: group "Nope" is not declared in /groups)");
}

TEST_CASE("a malformed password hash is an error that does not print the hash") {
  const std::string secretish = "$pbkdf2-sha256$i=10$AAECAwQFBgcICQoLDA0ODw$c2VjcmV0c2VjcmV0c2VjcmV0";
  const auto e = parse_error(R"({"schema_version":1,"users":[{"name":"a","password_hash":")" +
                             secretish + R"("}]})");
  CHECK(e.rfind("users.json: /users/0/password_hash: malformed password hash: ", 0) == 0);
  CHECK(e.find("AAECAwQF") == std::string::npos);
  CHECK(e.find("c2VjcmV0") == std::string::npos);
}

TEST_CASE("a JSON syntax error gives its position but no excerpt of the file") {
  const auto e = parse_error(R"({"schema_version":1,"users":[{"name":"a","password_hash":"$pbkdf2-sha256$abc)");
  CHECK(e.rfind("users.json: invalid JSON: ", 0) == 0);
  CHECK(e.find("line 1") != std::string::npos);
  CHECK(e.find("pbkdf2") == std::string::npos);
  const auto e2 = parse_error("{\"schema_version\":1,\n \"users\": [ tru ] }");
  CHECK(e2.find("line 2") != std::string::npos);
  CHECK(e2.find("tru") == std::string::npos);
}

TEST_CASE("nested groups resolve transitively: direct first, then inherited, no duplicates") {
  auto db = local_directory::parse_user_file(R"({
    "schema_version": 1,
    "groups": [ { "name": "VPN Users", "member_of": ["Staff", "Remote"] },
                { "name": "Staff", "member_of": ["Everyone"] },
                { "name": "Remote", "member_of": ["Everyone"] },
                { "name": "Everyone" },
                { "name": "Unrelated" } ],
    "users": [ { "name": "alice", "groups": ["VPN Users", "staff"] } ]
  })", "users.json");
  REQUIRE_MESSAGE(db, (db ? "" : db.error()));
  const auto& a = (*db)->users()[0].acct;
  CHECK(group_names(a) == std::vector<std::string>{"VPN Users", "Staff", "Remote", "Everyone"});
  for (const auto& g : a.groups) CHECK(g.dn.empty());
}

TEST_CASE("a cycle in group nesting terminates and lists each group once") {
  auto db = local_directory::parse_user_file(R"({
    "schema_version": 1,
    "groups": [ { "name": "A", "member_of": ["B"] }, { "name": "B", "member_of": ["C"] },
                { "name": "C", "member_of": ["A", "D"] }, { "name": "D", "member_of": ["D"] } ],
    "users": [ { "name": "u", "groups": ["B"] } ]
  })", "users.json");
  REQUIRE_MESSAGE(db, (db ? "" : db.error()));
  CHECK(group_names((*db)->users()[0].acct) == std::vector<std::string>{"B", "C", "A", "D"});
}

TEST_CASE("identity resolution: name, then UPN, then the part after DOMAIN\\") {
  auto r = local_directory::parse_user_file(full_file, "users.json");
  REQUIRE(r);
  const auto& db = **r;
  using mk = local_user_db::match_kind;
  auto name_of = [&](std::string_view id) -> std::string {
    const auto m = db.resolve_identity(id);
    return m.user ? m.user->acct.name : "(none)";
  };
  CHECK(name_of("alice") == "alice");
  CHECK(db.resolve_identity("alice").kind == mk::name);
  CHECK(name_of("ALICE") == "alice");
  CHECK(name_of("Alice@Example.COM") == "alice");
  CHECK(db.resolve_identity("alice@example.com").kind == mk::upn);
  CHECK(name_of("EXAMPLE\\alice") == "alice");
  CHECK(db.resolve_identity("EXAMPLE\\alice").kind == mk::name_after_domain);
  CHECK(name_of("example\\BOB") == "bob");
  // A realm that is not a UPN is not stripped here (policy does realm stripping).
  CHECK(name_of("alice@corp.example") == "(none)");
  CHECK(name_of("bob@example.com") == "(none)");
  // Machine accounts are plain names.
  CHECK(name_of("host/WS1.example.com") == "host/ws1.example.com");
  // A name containing '@' matches as a name before any UPN.
  CHECK(name_of("carol@partner") == "carol@partner");
  CHECK(name_of("carol@example.com") == "carol@partner");
  CHECK(name_of("") == "(none)");
  CHECK(name_of("EXAMPLE\\") == "(none)");
  CHECK(name_of("\\alice") == "alice");
  CHECK(name_of("alice ") == "(none)");
  CHECK(name_of("nobody") == "(none)");
}

TEST_CASE("load_user_file reads a file and names it in errors") {
  const auto dir = std::filesystem::temp_directory_path() / "npsd_ldap_user_file_test";
  std::filesystem::create_directories(dir);
  const auto path = dir / "users.json";
  {
    std::ofstream(path) << R"({"schema_version":1,"users":[{"name":"a","dial_in":"no"}]})";
  }
  auto bad = local_directory::load_user_file(path);
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == path.string() + R"(: /users/0/dial_in: expected one of "allow", "deny", "policy")");
  {
    std::ofstream(path) << R"({"schema_version":1,"users":[{"name":"a"}]})";
  }
  auto good = local_directory::load_user_file(path);
  REQUIRE(good);
  CHECK((*good)->users().size() == 1);
  auto missing = local_directory::load_user_file(dir / "absent.json");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().find("absent.json: cannot open: ") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("the demo users file is valid and its passwords verify") {
  auto db = local_directory::load_user_file(std::string(NPSD_SOURCE_DIR) +
                                            "/examples/demo/users.json");
  REQUIRE_MESSAGE(db, (db ? "" : db.error()));
  const auto* alice = (*db)->find_user("alice");
  const auto* bob = (*db)->find_user("bob");
  REQUIRE(alice);
  REQUIRE(bob);
  CHECK(alice->acct.upn == "alice@example.com");
  CHECK(group_names(alice->acct) == std::vector<std::string>{"VPN Users"});
  CHECK(bob->acct.groups.empty());
  REQUIRE(alice->password_hash);
  REQUIRE(bob->password_hash);
  CHECK(alice->password_hash->rfind("$pbkdf2-sha256$i=100000$", 0) == 0);
  CHECK(verify_password_hash(*alice->password_hash, "alice-password") == verify_outcome::match);
  CHECK(verify_password_hash(*bob->password_hash, "bob-password") == verify_outcome::match);
  CHECK(verify_password_hash(*bob->password_hash, "alice-password") == verify_outcome::mismatch);
}
