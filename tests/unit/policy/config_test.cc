#include "policy/config.h"

#include <doctest/doctest.h>

#include <string>

using namespace npsd::policy;

namespace {
const char* minimal = R"({
  "schema_version": 1,
  "server": { "listen": [ { "type": "auth", "address": "127.0.0.1" } ] },
  "clients": [ { "name": "rras1", "address": "10.0.0.0/24", "secret": "s3cret" } ],
  "directory": { "backend": "local", "users_file": "users.json" }
})";

std::string config_error_of(const std::string& text) {
  const auto c = parse_config(text, "npsd.json", "/etc/npsd", NPSD_DICTIONARY_DIR);
  REQUIRE_FALSE(c.has_value());
  return c.error();
}

std::string with(const std::string& from, const std::string& to) {
  std::string s = minimal;
  const auto pos = s.find(from);
  REQUIRE(pos != std::string::npos);
  return s.replace(pos, from.size(), to);
}
}  // namespace

TEST_CASE("a minimal configuration gets safe defaults") {
  const auto c = parse_config(minimal, "npsd.json", "/etc/npsd", NPSD_DICTIONARY_DIR);
  REQUIRE(c);
  const auto& cfg = **c;
  REQUIRE(cfg.server.listeners.size() == 1);
  CHECK(cfg.server.listeners[0].port == 1812);
  CHECK(cfg.clients[0].require_message_authenticator);
  CHECK(cfg.clients[0].address.to_string() == "10.0.0.0/24");
  CHECK(cfg.directory.users_file == "/etc/npsd/users.json");
  CHECK(cfg.dictionary == NPSD_DICTIONARY_DIR);
  CHECK(cfg.server.duplicate_max_entries == 65536);
  CHECK(cfg.server.max_pending_requests == 4096);
  CHECK(cfg.server.max_queue_wait == std::chrono::milliseconds(1000));
  CHECK(cfg.log.format == log_format::text);
}

TEST_CASE("a number too large for JSON is a clear error, not an exception (found by fuzzing)") {
  CHECK(config_error_of(R"({"schema_version": 1e99999})") ==
        "npsd.json: not valid JSON (a number out of range)");
}

TEST_CASE("server.max_queue_wait_ms is read and bounded") {
  const auto c = parse_config(with(R"("server": {)", R"("server": { "max_queue_wait_ms": 750,)"),
                              "npsd.json", "/etc/npsd", NPSD_DICTIONARY_DIR);
  REQUIRE(c);
  CHECK((*c)->server.max_queue_wait == std::chrono::milliseconds(750));
  CHECK(config_error_of(with(R"("server": {)", R"("server": { "max_queue_wait_ms": 5,)"))
            .find("/server/max_queue_wait_ms") != std::string::npos);
}

TEST_CASE("errors name the file, the JSON pointer and what was expected") {
  CHECK(config_error_of(with(R"("type": "auth")", R"("type": "auth", "prot": 1812)")) ==
        "npsd.json: /server/listen/0/prot: unknown key \"prot\" (expected one of \"type\", "
        "\"address\", \"port\")");
  CHECK(config_error_of(with(R"("address": "127.0.0.1")", R"("address": "localhost")")) ==
        "npsd.json: /server/listen/0/address: expected a literal IPv4 or IPv6 address");
  CHECK(config_error_of(with(R"("type": "auth")", R"("type": "radius")")) ==
        "npsd.json: /server/listen/0/type: expected one of \"auth\", \"acct\", found \"radius\"");
  CHECK(config_error_of(with(R"("10.0.0.0/24")", R"("10.0.0.1/24")")) ==
        "npsd.json: /clients/0/address: address has bits set beyond the prefix length");
  CHECK(config_error_of(with(R"("schema_version": 1)", R"("schema_version": 2)")).find(
            "/schema_version: this npsd reads schema version 1") != std::string::npos);
  CHECK(config_error_of(with(R"("backend": "local")", R"("backend": 7)")) ==
        "npsd.json: /directory/backend: expected a string, found an integer");
  CHECK(config_error_of("{ not json").find("npsd.json: not valid JSON") == 0);
  CHECK(config_error_of(with(R"("name": "rras1", )", "")) ==
        "npsd.json: /clients/0: missing required key \"name\"");
}

TEST_CASE("a secret never appears in an error") {
  const auto e = config_error_of(with(R"("secret": "s3cret")", R"("secret": "s3cret", "secret_file": "x")"));
  CHECK(e.find("s3cret") == std::string::npos);
  CHECK(e.find("exactly one of") != std::string::npos);
  const auto e2 = config_error_of(with(R"("s3cret")", R"("")"));
  CHECK(e2 == "npsd.json: /clients/0/secret: expected a non-empty shared secret");
}

TEST_CASE("duplicate clients and listeners are refused") {
  auto two = with(R"("secret": "s3cret" })",
                  R"("secret": "s3cret" }, { "name": "RRAS1", "address": "10.1.0.1", "secret": "x" })");
  CHECK(config_error_of(two) ==
        "npsd.json: /clients/1/name: another client is already named \"RRAS1\"");
  auto same_addr = with(R"("secret": "s3cret" })",
                        R"("secret": "s3cret" }, { "name": "b", "address": "10.0.0.0/24", "secret": "x" })");
  CHECK(config_error_of(same_addr).find("/clients/1/address") != std::string::npos);
  auto listeners = with(R"({ "type": "auth", "address": "127.0.0.1" })",
                        R"({ "type": "auth", "address": "127.0.0.1" }, { "type": "acct", "address": "127.0.0.1", "port": 1812 })");
  CHECK(config_error_of(listeners).find("/server/listen/1: 127.0.0.1 port 1812 is already used") !=
        std::string::npos);
}

TEST_CASE("ip prefixes: parsing, containment, IPv4-mapped addresses") {
  const auto p = ip_prefix::parse("192.168.0.0/16");
  REQUIRE(p);
  CHECK(p->contains(*ip_address::parse("192.168.44.1")));
  CHECK_FALSE(p->contains(*ip_address::parse("192.169.0.1")));
  CHECK(p->contains(*ip_address::parse("::ffff:192.168.1.1")));
  const auto v6 = ip_prefix::parse("2001:db8::/33");
  REQUIRE(v6);
  CHECK(v6->contains(*ip_address::parse("2001:db8:7fff::1")));
  CHECK_FALSE(v6->contains(*ip_address::parse("2001:db8:8000::1")));
  CHECK_FALSE(v6->contains(*ip_address::parse("192.168.0.1")));
  CHECK(ip_prefix::parse("0.0.0.0/0")->contains(*ip_address::parse("8.8.8.8")));
  CHECK_FALSE(ip_prefix::parse("10.0.0.0/33"));
  CHECK_FALSE(ip_prefix::parse("10.0.0.0/"));
  CHECK_FALSE(ip_prefix::parse("10.0.0.0/8x"));
  CHECK_FALSE(ip_prefix::parse("host.example.com"));
  CHECK(ip_prefix::parse("::1")->length == 128);
}

TEST_CASE("security settings: defaults, values, and errors naming the field") {
  const auto c = parse_config(minimal, "npsd.json", "/etc/npsd", NPSD_DICTIONARY_DIR);
  REQUIRE(c);
  CHECK((*c)->clients[0].limit_proxy_state);
  CHECK((*c)->server.file_permissions == file_permission_mode::warn);
  CHECK((*c)->server.user.empty());
  CHECK((*c)->server.group.empty());

  const auto set = parse_config(
      with(R"("type": "auth", "address": "127.0.0.1" } ])",
           R"("type": "auth", "address": "127.0.0.1" } ], "file_permissions": "refuse",
              "user": "npsd", "group": "npsd-ro")"),
      "npsd.json", "/etc/npsd", NPSD_DICTIONARY_DIR);
  REQUIRE_MESSAGE(set, set.error());
  CHECK((*set)->server.file_permissions == file_permission_mode::refuse);
  CHECK((*set)->server.user == "npsd");
  CHECK((*set)->server.group == "npsd-ro");

  const auto legacy = parse_config(
      with(R"("secret": "s3cret")",
           R"("secret": "s3cret", "require_message_authenticator": false, "limit_proxy_state": false)"),
      "npsd.json", "/etc/npsd", NPSD_DICTIONARY_DIR);
  REQUIRE(legacy);
  CHECK_FALSE((*legacy)->clients[0].require_message_authenticator);
  CHECK_FALSE((*legacy)->clients[0].limit_proxy_state);

  const std::string listen = R"("type": "auth", "address": "127.0.0.1" } ])";
  CHECK(config_error_of(with(R"("secret": "s3cret")", R"("secret": "s3cret", "limit_proxy_state": "yes")")) ==
        "npsd.json: /clients/0/limit_proxy_state: expected true or false, found a string");
  CHECK(config_error_of(with(listen, listen + R"(, "file_permissions": "ignore")")) ==
        "npsd.json: /server/file_permissions: expected one of \"warn\", \"refuse\", found "
        "\"ignore\"");
  CHECK(config_error_of(with(listen, listen + R"(, "group": "nogroup")")) ==
        "npsd.json: /server/group: \"group\" needs \"user\" (the account npsd switches to)");
  CHECK(config_error_of(with(listen, listen + R"(, "user": "root")")).find("/server/user: npsd switches "
                                                                   "to an unprivileged user") !=
        std::string::npos);
  CHECK(config_error_of(with(listen, listen + R"(, "user": "no body")")).find(
            "npsd.json: /server/user: expected a user name") == 0);
  CHECK(config_error_of(with(listen, listen + R"(, "user": "")")).find("npsd.json: /server/user:") == 0);
}

TEST_CASE("secret_files lists the configuration and every file holding a secret, with its field") {
  const auto c = parse_config(minimal, "/etc/npsd/npsd.json", "/etc/npsd", NPSD_DICTIONARY_DIR);
  REQUIRE(c);
  const auto files = secret_files(**c);
  REQUIRE(files.size() == 2);
  CHECK(files[0].path == "/etc/npsd/npsd.json");
  CHECK(files[0].pointer.empty());
  CHECK(files[1].path == "/etc/npsd/users.json");
  CHECK(files[1].pointer == "/directory/users_file");
}

TEST_CASE("metrics: off without the section; on loopback:9812 with it; bad values named") {
  auto c = parse_config(minimal, "npsd.json", "/etc/npsd", NPSD_DICTIONARY_DIR);
  REQUIRE(c);
  CHECK_FALSE((*c)->metrics.enabled);
  const std::string dir_line = R"("directory": { "backend": "local", "users_file": "users.json" })";
  c = parse_config(with(dir_line, dir_line + R"(, "metrics": {})"), "npsd.json", "/etc/npsd",
                   NPSD_DICTIONARY_DIR);
  REQUIRE(c);
  CHECK((*c)->metrics.enabled);
  CHECK((*c)->metrics.address == "127.0.0.1");
  CHECK((*c)->metrics.port == 9812);
  CHECK((*c)->metrics.max_connections == 16);
  c = parse_config(with(dir_line, dir_line + R"(, "metrics": { "address": "::1", "port": 0 })"),
                   "npsd.json", "/etc/npsd", NPSD_DICTIONARY_DIR);
  REQUIRE(c);
  CHECK((*c)->metrics.address == "::1");
  CHECK((*c)->metrics.port == 0);
  auto e = config_error_of(with(dir_line, dir_line + R"(, "metrics": { "address": "localhost" })"));
  CHECK(e.find("/metrics/address") != std::string::npos);
  CHECK(e.find("literal IPv4 or IPv6") != std::string::npos);
  e = config_error_of(with(dir_line, dir_line + R"(, "metrics": { "max_connections": 0 })"));
  CHECK(e.find("/metrics/max_connections") != std::string::npos);
  e = config_error_of(with(dir_line, dir_line + R"(, "metrics": { "prot": 9100 })"));
  CHECK(e.find("prot") != std::string::npos);
}
