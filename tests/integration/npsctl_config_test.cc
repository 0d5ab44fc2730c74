// npsctl's configuration commands end to end, on real files: init, client, crp, policy,
// validate, export/import and reload (against the real npsd and against a scripted peer on the
// control socket). Every refused edit must leave the file and its .bak byte for byte as they
// were.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "harness.h"

using namespace npsd::test;
using json = nlohmann::json;

namespace {


std::string sh(const std::string& s) {
  std::string out = "'";
  for (const char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

struct ctl_fixture {
  temp_dir dir;
  fs::path config = dir.path / "npsd.json";
  fs::path bak = dir.path / "npsd.json.bak";

  // npsctl ARGS... --config FILE, with `input` on standard input; stdout and stderr together.
  command_result ctl(const std::vector<std::string>& args, const std::string& input = "",
                     bool with_stderr = true) const {
    std::string cmd = "printf %s " + sh(input) + " | env -u NPSD_CONFIG " + sh(npsctl);
    for (const auto& a : args) cmd += " " + sh(a);
    cmd += " --config " + sh(config.string());
    if (!with_stderr) cmd = "(" + cmd + " 2>/dev/null)";
    return run(cmd);
  }
  // The same with --json; stdout parsed.
  json ctl_json(std::vector<std::string> args) const {
    args.push_back("--json");
    const auto r = ctl(args, "", /*with_stderr=*/false);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    return json::parse(r.output);
  }
  void ok(const std::vector<std::string>& args, const std::string& input = "") const {
    const auto r = ctl(args, input);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  }
  json doc() const { return json::parse(read_file(config)); }
  void init(std::vector<std::string> extra = {}) const {
    extra.insert(extra.begin(), "init");
    ok(extra);
  }
};

std::vector<std::pair<std::string, int>> names_and_orders(const json& list) {
  std::vector<std::pair<std::string, int>> out;
  for (const auto& p : list) out.emplace_back(p.at("name"), p.at("order"));
  return out;
}

using order_list = std::vector<std::pair<std::string, int>>;

}  // namespace

TEST_CASE("npsctl init writes a minimal valid configuration, 0600, and refuses to overwrite it") {
  ctl_fixture f;
  f.init();
  CHECK(mode_of(f.config) == 0600);
  CHECK(mode_of(f.dir.path / "users.json") == 0600);  // the empty user file it names
  CHECK_FALSE(fs::exists(f.bak));
  const auto d = f.doc();
  CHECK(d.at("schema_version") == 1);
  CHECK(d.at("server").at("listen") == json::parse(R"([
    {"type": "auth", "address": "0.0.0.0", "port": 1812},
    {"type": "acct", "address": "0.0.0.0", "port": 1813}])"));
  CHECK(d.at("clients") == json::array());
  CHECK(d.at("directory") == json::parse(R"({"backend": "local", "users_file": "users.json"})"));
  CHECK(d.at("accounting") == json::parse(R"({"database": "accounting.db"})"));
  CHECK(d.at("connection_request_policies") == json::parse(R"([{
    "name": "Use Windows authentication for all users", "order": 1, "enabled": true,
    "conditions": {}, "action": "authenticate"}])"));
  CHECK(d.at("network_policies") == json::array());

  auto r = f.ctl({"validate"});
  CHECK(r.exit_code == 0);
  CHECK_MESSAGE(contains(r.output, "configuration OK: 0 clients, 1 connection request policies, "
                                   "0 network policies"),
                r.output);

  const auto first = read_file(f.config);
  r = f.ctl({"init"});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(contains(r.output, "--force"), r.output);
  CHECK(read_file(f.config) == first);

  f.ok({"init", "--force", "--listen", "auth:127.0.0.1:0", "--listen", "acct:[::1]:1813",
        "--control-socket", "ctl.sock", "--time-zone", "Europe/Paris", "--users-file",
        "people.json"});
  CHECK(read_file(f.bak) == first);
  const auto d2 = f.doc();
  CHECK(d2.at("server").at("listen") == json::parse(R"([
    {"type": "auth", "address": "127.0.0.1", "port": 0},
    {"type": "acct", "address": "::1", "port": 1813}])"));
  CHECK(d2.at("server").at("control_socket") == "ctl.sock");
  CHECK(d2.at("time_zone") == "Europe/Paris");
  CHECK(fs::exists(f.dir.path / "people.json"));

  const auto second = read_file(f.config);
  for (const auto& bad : {"udp:0.0.0.0:1812", "auth:0.0.0.0", "auth:0.0.0.0:99999"}) {
    r = f.ctl({"init", "--force", "--listen", bad});
    CHECK_MESSAGE(r.exit_code == 2, bad);
  }
  r = f.ctl({"init", "--force", "--time-zone", "Mars/Olympus_Mons"});
  CHECK(r.exit_code == 2);
  CHECK(read_file(f.config) == second);
}

TEST_CASE("npsctl client add/list/show/set/remove work by name and never print the secret") {
  ctl_fixture f;
  f.init();
  const std::string secret1 = "correct-horse-battery-staple-42";
  const std::string secret2 = "from-standard-input-0123456789";
  std::string all_output;
  auto ctl = [&](const std::vector<std::string>& args, const std::string& input = "") {
    auto r = f.ctl(args, input);
    all_output += r.output;
    return r;
  };

  auto r = ctl({"client", "add", "--name", "rras1", "--address", "192.0.2.10", "--secret", secret1});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  r = ctl({"client", "add", "--name", "switches", "--address", "10.20.0.0/16", "--secret-stdin",
           "--no-require-message-authenticator", "--vendor", "Cisco"},
          secret2 + "\n");
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  const auto d = f.doc();
  CHECK(d["clients"][0] == json::parse(R"({"name": "rras1", "address": "192.0.2.10",
    "secret": "correct-horse-battery-staple-42", "require_message_authenticator": true})"));
  CHECK(d["clients"][1]["secret"] == secret2);
  CHECK(d["clients"][1]["require_message_authenticator"] == false);
  CHECK(d["clients"][1]["vendor"] == "Cisco");

  r = ctl({"client", "list"});
  CHECK(r.exit_code == 0);
  CHECK(contains(r.output, "rras1"));
  CHECK(contains(r.output, "10.20.0.0/16"));
  CHECK(contains(r.output, "(set)"));
  const auto list = f.ctl_json({"client", "list"});
  CHECK(list == json::parse(R"json([
    {"name": "rras1", "address": "192.0.2.10", "secret": "(set)",
     "require_message_authenticator": true, "limit_proxy_state": true, "vendor": "RADIUS Standard"},
    {"name": "switches", "address": "10.20.0.0/16", "secret": "(set)",
     "require_message_authenticator": false, "limit_proxy_state": true, "vendor": "Cisco"}])json"));
  all_output += list.dump();

  r = ctl({"client", "show", "RRAS1"});  // names are case-insensitive
  CHECK(r.exit_code == 0);
  CHECK(contains(r.output, "192.0.2.10"));
  CHECK(contains(r.output, "(set)"));

  write_file(f.dir.path / "rras.secret", "secret-kept-in-a-file-0123456789\n");
  r = ctl({"client", "set", "Rras1", "--address", "192.0.2.11", "--secret-file", "rras.secret",
           "--require-message-authenticator", "false", "--rename", "rras-a"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  const auto shown = f.ctl_json({"client", "show", "rras-a"});
  CHECK(shown == json::parse(R"({"name": "rras-a", "address": "192.0.2.11",
    "secret_file": "rras.secret", "require_message_authenticator": false,
    "limit_proxy_state": true, "vendor": "RADIUS Standard"})"));
  CHECK_FALSE(f.doc()["clients"][0].contains("secret"));
  r = ctl({"client", "set", "rras-a", "--limit-proxy-state", "false"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  CHECK(f.doc()["clients"][0]["limit_proxy_state"] == false);
  CHECK(f.ctl_json({"client", "show", "rras-a"})["limit_proxy_state"] == false);
  CHECK(contains(ctl({"client", "show", "rras-a"}).output, "Limit Proxy-State"));
  r = ctl({"client", "show", "rras-a"});
  CHECK(contains(r.output, "(from file rras.secret)"));

  r = ctl({"client", "set", "rras-a", "--rename", "SWITCHES"});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(contains(r.output, "already exists"), r.output);

  r = ctl({"client", "remove", "switches"});
  CHECK(r.exit_code == 0);
  CHECK(f.ctl_json({"client", "list"}).size() == 1);
  r = ctl({"client", "remove", "nope"});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(contains(r.output, "no RADIUS client named \"nope\" (there are: \"rras-a\")"),
                r.output);

  CHECK_FALSE(contains(all_output, secret1));
  CHECK_FALSE(contains(all_output, secret2));
  CHECK_FALSE(contains(all_output, "secret-kept-in-a-file"));
}

TEST_CASE("npsctl crp add with every kind of option: show --json holds exactly what was asked") {
  ctl_fixture f;
  f.init();
  f.ok({"crp", "add", "--name", "VPN realm", "--order", "1", "--disabled", "--description",
        "strip the realm of VPN users", "--user-name", "^[a-z]+@", "--day-time",
        "Mon-Fri 08:00-18:00", "--day-time", "Sat 09:00-12:00", "--day-time-zone",
        "Europe/Paris", "--nas-port-type", "Virtual", "--nas-port-type", "15", "--tunnel-type",
        "L2TP", "--framed-protocol", "PPP", "--service-type", "Framed-User",
        "--called-station-id", "^192\\.0\\.2\\.1$", "--calling-station-id", "^198\\.51\\.",
        "--nas-identifier", "^rras", "--client-friendly-name", "^rras", "--client-vendor",
        "Microsoft", "--ms-ras-vendor", "^311$", "--nas-ipv4-address", "192.0.2.0/24",
        "--nas-ipv6-address", "2001:db8::/32", "--client-ip-address", "192.0.2.10",
        "--client-ip-address", "2001:db8::10", "--auth-type", "eap", "--match", "NAS-Port~^1",
        "--match", "Service-Type=Framed-User,Login-User", "--strip-realm", "example.com",
        "--rewrite", "Called-Station-Id/-/:"});
  const auto shown = f.ctl_json({"crp", "show", "vpn REALM"});
  CHECK(shown == json::parse(R"({
    "name": "VPN realm", "order": 1, "enabled": false,
    "description": "strip the realm of VPN users",
    "conditions": {
      "user_name": "^[a-z]+@",
      "day_and_time": {"time_zone": "Europe/Paris", "windows": [
        {"days": ["Mon-Fri"], "from": "08:00", "to": "18:00"},
        {"days": ["Sat"], "from": "09:00", "to": "12:00"}]},
      "nas_port_type": ["Virtual", 15],
      "tunnel_type": ["L2TP"],
      "framed_protocol": ["PPP"],
      "service_type": ["Framed-User"],
      "called_station_id": "^192\\.0\\.2\\.1$",
      "calling_station_id": "^198\\.51\\.",
      "nas_identifier": "^rras",
      "client_friendly_name": "^rras",
      "client_vendor": "Microsoft",
      "ms_ras_vendor": "^311$",
      "nas_ipv4_address": ["192.0.2.0/24"],
      "nas_ipv6_address": ["2001:db8::/32"],
      "client_ip_address": ["192.0.2.10", "2001:db8::10"],
      "authentication_type": ["EAP"],
      "attributes": [{"name": "NAS-Port", "match": "^1"},
                     {"name": "Service-Type", "values": ["Framed-User", "Login-User"]}]
    },
    "action": "authenticate",
    "manipulations": [
      {"attribute": "User-Name", "find": "@example\\.com$", "replace": ""},
      {"attribute": "Called-Station-Id", "find": "-", "replace": ":"}]
  })"));
  // --order 1 put it before the default policy, which moved down.
  CHECK(names_and_orders(f.ctl_json({"crp", "list"})) ==
        order_list{{"VPN realm", 1}, {"Use Windows authentication for all users", 2}});
  auto r = f.ctl({"crp", "show", "VPN realm"});
  CHECK(contains(r.output, "Mon-Fri 08:00-18:00; Sat 09:00-12:00 (Europe/Paris)"));
  CHECK(contains(r.output, "find \"@example\\.com$\" replace with \"\""));

  // set: a condition given replaces that condition; --clear-* empty what they name.
  f.ok({"crp", "set", "vpn realm", "--enabled", "true", "--clear-conditions", "--nas-port-type",
        "Virtual", "--clear-manipulations", "--strip-realm", "@corp.example.com", "--action",
        "reject"});
  CHECK(f.ctl_json({"crp", "show", "VPN realm"}) == json::parse(R"({
    "name": "VPN realm", "order": 1, "enabled": true,
    "description": "strip the realm of VPN users",
    "conditions": {"nas_port_type": ["Virtual"]},
    "action": "reject",
    "manipulations": [
      {"attribute": "User-Name", "find": "@corp\\.example\\.com$", "replace": ""}]
  })"));

  // accept without credentials needs PAP/CHAP only: refused by the loader, then accepted.
  r = f.ctl({"crp", "add", "--name", "Guests", "--action", "accept-without-credentials"});
  CHECK(r.exit_code == 2);
  f.ok({"crp", "add", "--name", "Guests", "--action", "accept-without-credentials",
        "--auth-type", "PAP"});
  CHECK(f.ctl_json({"crp", "show", "guests"}).at("action") == "accept_without_credentials");
  // group conditions belong to network policies; the loader says so.
  r = f.ctl({"crp", "add", "--name", "G", "--windows-group", "VPN Users"});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(contains(r.output, "network policy condition"), r.output);
}

TEST_CASE("npsctl policy add with conditions, constraints and reply attributes; set changes them") {
  ctl_fixture f;
  f.init();
  f.ok({"policy", "add", "--name", "VPN Users", "--access", "grant", "--ignore-dial-in",
        "--windows-group", "VPN Users", "--user-group", "Staff", "--machine-group",
        "CN=VPN Machines,OU=Groups,DC=example,DC=com", "--allowed-eap-type", "peap",
        "--allowed-eap-type", "13", "--nas-port-type", "Virtual", "--auth-method", "PEAP-TLS",
        "--auth-method", "eap-tls", "--idle-timeout", "900", "--session-timeout", "28800",
        "--constraint-called-station-id", "^192\\.0\\.2\\.", "--constraint-calling-station-id",
        ".", "--constraint-day-time", "Mon-Sun 06:00-23:00", "--constraint-nas-port-type",
        "Virtual", "--reply", "Tunnel-Type:1=VLAN", "--reply", "Tunnel-Medium-Type:1=IEEE-802",
        "--reply", "Tunnel-Private-Group-Id:1=42", "--reply", "Framed-MTU=1400"});
  CHECK(f.ctl_json({"policy", "show", "vpn users"}) == json::parse(R"({
    "name": "VPN Users", "order": 1, "enabled": true,
    "conditions": {
      "windows_groups": ["VPN Users"],
      "user_groups": ["Staff"],
      "machine_groups": ["CN=VPN Machines,OU=Groups,DC=example,DC=com"],
      "nas_port_type": ["Virtual"],
      "allowed_eap_types": ["PEAP", 13]
    },
    "access": "grant",
    "ignore_dial_in": true,
    "constraints": {
      "authentication_methods": ["PEAP-TLS", "EAP-TLS"],
      "idle_timeout": 900,
      "session_timeout": 28800,
      "called_station_id": "^192\\.0\\.2\\.",
      "calling_station_id": ".",
      "day_and_time": [{"days": ["Mon-Sun"], "from": "06:00", "to": "23:00"}],
      "nas_port_type": ["Virtual"]
    },
    "settings": {"attributes": [
      {"name": "Tunnel-Type", "value": "VLAN", "tag": 1},
      {"name": "Tunnel-Medium-Type", "value": "IEEE-802", "tag": 1},
      {"name": "Tunnel-Private-Group-Id", "value": "42", "tag": 1},
      {"name": "Framed-MTU", "value": "1400"}]}
  })"));
  auto r = f.ctl({"policy", "show", "VPN Users"});
  CHECK(contains(r.output, "Tunnel-Type:1 = VLAN"));
  CHECK(contains(r.output, "PEAP-TLS, EAP-TLS"));
  r = f.ctl({"policy", "list"});
  CHECK(contains(r.output, "grant (ignore dial-in)"));

  f.ok({"policy", "set", "VPN USERS", "--access", "deny", "--ignore-dial-in", "false",
        "--clear-condition", "machine-group", "--clear-condition", "allowed_eap_types",
        "--nas-port-type", "Ethernet", "--clear-constraints", "--idle-timeout", "60",
        "--clear-reply", "--reply", "Framed-MTU=1500", "--description", "now denied"});
  CHECK(f.ctl_json({"policy", "show", "VPN Users"}) == json::parse(R"({
    "name": "VPN Users", "order": 1, "enabled": true,
    "conditions": {
      "windows_groups": ["VPN Users"],
      "user_groups": ["Staff"],
      "nas_port_type": ["Ethernet"]
    },
    "access": "deny",
    "ignore_dial_in": false,
    "constraints": {"idle_timeout": 60},
    "settings": {"attributes": [{"name": "Framed-MTU", "value": "1500"}]},
    "description": "now denied"
  })"));
  r = f.ctl({"validate"});
  CHECK_MESSAGE(contains(r.output, "configuration OK: 0 clients, 1 connection request policies, "
                                   "1 network policies"),
                r.output);
}

TEST_CASE("npsctl move renumbers 1..n keeping the others' order; --order moves the holder down") {
  ctl_fixture f;
  f.init();
  for (const char* n : {"A", "B", "C"}) f.ok({"policy", "add", "--name", n, "--access", "grant"});
  CHECK(names_and_orders(f.ctl_json({"policy", "list"})) ==
        order_list{{"A", 1}, {"B", 2}, {"C", 3}});
  f.ok({"policy", "add", "--name", "D", "--access", "deny", "--order", "2"});
  CHECK(names_and_orders(f.ctl_json({"policy", "list"})) ==
        order_list{{"A", 1}, {"D", 2}, {"B", 3}, {"C", 4}});
  f.ok({"policy", "move", "c", "--to", "1"});
  CHECK(names_and_orders(f.ctl_json({"policy", "list"})) ==
        order_list{{"C", 1}, {"A", 2}, {"D", 3}, {"B", 4}});
  f.ok({"policy", "move", "A", "--to", "99"});  // past the end: last
  CHECK(names_and_orders(f.ctl_json({"policy", "list"})) ==
        order_list{{"C", 1}, {"D", 2}, {"B", 3}, {"A", 4}});
  // The file reads in processing order too.
  CHECK(names_and_orders(f.doc()["network_policies"]) ==
        order_list{{"C", 1}, {"D", 2}, {"B", 3}, {"A", 4}});
  f.ok({"policy", "remove", "D"});
  f.ok({"policy", "set", "a", "--order", "1"});
  CHECK(names_and_orders(f.ctl_json({"policy", "list"})) ==
        order_list{{"A", 1}, {"C", 2}, {"B", 3}});
  auto r = f.ctl({"policy", "move", "nope", "--to", "1"});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(contains(r.output, "no network policy named \"nope\" (there are: \"A\", \"C\", "
                                   "\"B\")"),
                r.output);

  // Connection request policies alike, the default one included.
  f.ok({"crp", "add", "--name", "Realm", "--strip-realm", "example.com"});
  f.ok({"crp", "move", "realm", "--to", "1"});
  CHECK(names_and_orders(f.ctl_json({"crp", "list"})) ==
        order_list{{"Realm", 1}, {"Use Windows authentication for all users", 2}});
  f.ok({"crp", "remove", "use windows authentication for all users"});
  CHECK(names_and_orders(f.ctl_json({"crp", "list"})) == order_list{{"Realm", 1}});
}

TEST_CASE("npsctl crp add on a file without connection_request_policies keeps the implicit default") {
  ctl_fixture f;
  f.init();
  auto d = f.doc();
  d.erase("connection_request_policies");
  write_file(f.config, d.dump(2));
  auto r = f.ctl({"crp", "list"});
  CHECK(contains(r.output, "Use Windows authentication for all users"));
  CHECK(contains(r.output, "implicit default"));
  r = f.ctl({"crp", "add", "--name", "Realm", "--strip-realm", "example.com"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  CHECK(names_and_orders(f.doc()["connection_request_policies"]) ==
        order_list{{"Use Windows authentication for all users", 1}, {"Realm", 2}});
}

TEST_CASE("invalid edits are refused with exit 2, naming the field; the file and .bak stay as they were") {
  ctl_fixture f;
  f.init();
  f.ok({"client", "add", "--name", "rras1", "--address", "192.0.2.10", "--secret",
        "a-shared-secret-long-enough"});
  f.ok({"policy", "add", "--name", "VPN Users", "--access", "grant"});
  const auto before = read_file(f.config);
  const auto bak_before = read_file(f.bak);
  REQUIRE(bak_before != before);

  struct refused {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<refused> cases = {
      {{"policy", "add", "--name", "P", "--access", "grant", "--user-name", "(unclosed"},
       "/network_policies/1/conditions/user_name"},
      {{"policy", "add", "--name", "P", "--access", "grant", "--nas-port-type", "Virtul"},
       "\"Virtul\" is not a value of NAS-Port-Type"},
      {{"policy", "add", "--name", "P", "--access", "grant", "--reply", "No-Such-Attribute=1"},
       "No-Such-Attribute"},
      {{"policy", "add", "--name", "P", "--access", "grant", "--reply", "Framed-MTU=many"},
       "/network_policies/1/settings/attributes/0"},
      {{"policy", "add", "--name", "vpn users", "--access", "deny"}, "already exists"},
      {{"policy", "add", "--name", "P", "--access", "grant", "--day-time", "Funday 08:00-09:00"},
       "/network_policies/1/conditions/day_and_time"},
      {{"policy", "set", "VPN Users", "--auth-method", "Telepathy"}, "Telepathy"},
      {{"policy", "set", "nope", "--access", "deny"},
       "no network policy named \"nope\" (there are: \"VPN Users\")"},
      {{"policy", "add", "--name", "P"}, "--access"},
      {{"crp", "add", "--name", "use windows AUTHENTICATION for all users"}, "already exists"},
      {{"crp", "add", "--name", "R", "--rewrite", "User-Name/(/x"}, "manipulations/0/find"},
      {{"crp", "add", "--name", "R", "--rewrite", "no-slashes"}, "ATTRIBUTE/FIND/REPLACE"},
      {{"client", "add", "--name", "RRAS1", "--address", "192.0.2.20", "--secret",
        "another-secret-long-enough"},
       "already exists"},
      {{"client", "add", "--name", "c2", "--address", "192.0.2.300", "--secret",
        "another-secret-long-enough"},
       "/clients/1/address"},
      {{"client", "add", "--name", "c2", "--address", "192.0.2.10"}, "shared secret is required"},
      {{"client", "set", "rras1", "--secret-file", "missing.secret"}, "missing.secret"},
  };
  for (const auto& c : cases) {
    const auto r = f.ctl(c.args);
    std::string all;
    for (const auto& a : c.args) all += a + " ";
    CHECK_MESSAGE(r.exit_code == 2, all << "\n" << r.output);
    CHECK_MESSAGE(contains(r.output, c.says), all << "\n" << r.output);
    CHECK_MESSAGE(read_file(f.config) == before, all);
    CHECK_MESSAGE(read_file(f.bak) == bak_before, all);
  }

  // A file that is already invalid is not edited at all.
  auto d = f.doc();
  d["network_policies"][0]["conditions"]["user_name"] = "(";
  write_file(f.config, d.dump(2));
  const auto broken = read_file(f.config);
  const auto r = f.ctl({"client", "remove", "rras1"});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(contains(r.output, "refusing to edit an invalid file"), r.output);
  CHECK(read_file(f.config) == broken);
  CHECK(read_file(f.bak) == bak_before);
}

TEST_CASE("every edit keeps the previous version as .bak; files are created 0600, edits keep the mode") {
  ctl_fixture f;
  f.init();
  CHECK(mode_of(f.config) == 0600);
  CHECK_FALSE(fs::exists(f.bak));
  const auto v1 = read_file(f.config);
  f.ok({"client", "add", "--name", "a", "--address", "192.0.2.1", "--secret",
        "a-shared-secret-long-enough"});
  CHECK(read_file(f.bak) == v1);
  CHECK(mode_of(f.bak) == 0600);
  const auto v2 = read_file(f.config);
  CHECK(v2 != v1);

  REQUIRE(::chmod(f.config.c_str(), 0640) == 0);
  f.ok({"crp", "add", "--name", "Realm", "--strip-realm", "example.com"});
  CHECK(mode_of(f.config) == 0640);
  CHECK(read_file(f.bak) == v2);
  CHECK(mode_of(f.bak) == 0640);
  const auto v3 = read_file(f.config);
  f.ok({"crp", "remove", "Realm"});
  CHECK(read_file(f.bak) == v3);
  CHECK(mode_of(f.config) == 0640);
  // No temporary file is left behind.
  for (const auto& e : fs::directory_iterator(f.dir.path))
    CHECK_MESSAGE(e.path().filename().string().rfind(".npsd.json.", 0) != 0, e.path());
}

TEST_CASE("npsctl validate reports the counts, or the error with its JSON pointer (exit 2)") {
  ctl_fixture f;
  f.init();
  f.ok({"client", "add", "--name", "a", "--address", "192.0.2.1", "--secret",
        "a-shared-secret-long-enough"});
  f.ok({"policy", "add", "--name", "VPN", "--access", "grant", "--nas-port-type", "Virtual"});
  auto r = f.ctl({"validate"});
  CHECK(r.exit_code == 0);
  CHECK_MESSAGE(contains(r.output, "configuration OK: 1 clients, 1 connection request policies, "
                                   "1 network policies"),
                r.output);
  const auto j = f.ctl_json({"validate"});
  CHECK(j.at("ok") == true);
  CHECK(j.at("network_policies") == 1);

  auto d = f.doc();
  d["network_policies"][0]["conditions"]["nas_port_type"][0] = "Virtul";
  write_file(f.config, d.dump(2));
  r = f.ctl({"validate"});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(contains(r.output, "/network_policies/0/conditions/nas_port_type/0"), r.output);
  r = f.ctl({"validate", "--json"}, "", /*with_stderr=*/false);
  CHECK(r.exit_code == 2);
  const auto bad = json::parse(r.output);
  CHECK(bad.at("ok") == false);
  CHECK(contains(bad.at("error").get<std::string>(), "/network_policies/0/conditions/nas_port_type/0"));

  d["network_policies"][0]["conditions"]["nas_port_type"][0] = "Virtual";
  write_file(f.config, d.dump(2));
  fs::remove(f.dir.path / "users.json");
  r = f.ctl({"validate"});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(contains(r.output, "users.json"), r.output);
}

TEST_CASE("npsctl export then import --replace restores the configuration, secrets included") {
  ctl_fixture f;
  f.init();
  const std::string secret = "exported-secret-0123456789abc";
  f.ok({"client", "add", "--name", "rras1", "--address", "192.0.2.10", "--secret", secret});
  f.ok({"policy", "add", "--name", "VPN Users", "--access", "grant", "--windows-group",
        "VPN Users", "--reply", "Tunnel-Type:1=VLAN"});
  f.ok({"crp", "add", "--name", "Realm", "--strip-realm", "example.com"});
  const auto original = f.doc();

  const auto backup = f.dir.path / "backup.json";
  auto r = f.ctl({"export", "--output", backup.string()});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  CHECK_MESSAGE(contains(r.output, "shared secrets"), r.output);  // the warning
  CHECK(mode_of(backup) == 0600);
  CHECK(json::parse(read_file(backup)) == original);
  r = f.ctl({"export"});
  CHECK(r.exit_code == 0);
  CHECK(contains(r.output, secret));  // a backup is a backup

  f.ok({"client", "remove", "rras1"});
  f.ok({"policy", "remove", "VPN Users"});
  f.ok({"crp", "remove", "Realm"});
  CHECK(f.doc() != original);

  const auto before_import = read_file(f.config);
  r = f.ctl({"import", backup.string(), "--replace"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  CHECK(f.doc() == original);
  CHECK(read_file(f.bak) == before_import);
  CHECK(f.ctl({"validate"}).exit_code == 0);

  // An invalid file is refused as a whole: nothing written.
  auto broken = original;
  broken["network_policies"][0]["access"] = "maybe";
  write_file(f.dir.path / "broken.json", broken.dump());
  const auto now = read_file(f.config);
  r = f.ctl({"import", (f.dir.path / "broken.json").string(), "--replace"});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(contains(r.output, "/network_policies/0/access"), r.output);
  CHECK(read_file(f.config) == now);
  r = f.ctl({"import", backup.string()});
  CHECK(r.exit_code == 2);  // --merge or --replace is required
}

TEST_CASE("npsctl import --merge adds new clients and policies and replaces same-named ones") {
  ctl_fixture f;
  f.init();
  f.ok({"client", "add", "--name", "rras1", "--address", "192.0.2.10", "--secret",
        "old-secret-0123456789abcdef"});
  f.ok({"policy", "add", "--name", "VPN Users", "--access", "grant"});
  f.ok({"policy", "add", "--name", "Other", "--access", "deny"});
  const auto merge = f.dir.path / "merge.json";
  write_file(merge, R"({
    "clients": [
      {"name": "RRAS1", "address": "192.0.2.20", "secret": "new-secret-0123456789abcdef"},
      {"name": "rras2", "address": "192.0.2.30", "secret": "rras2-secret-0123456789abc"}],
    "network_policies": [
      {"name": "vpn users", "order": 1, "access": "deny"},
      {"name": "New", "order": 3, "access": "grant"}]
  })");
  auto r = f.ctl({"import", merge.string(), "--merge"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  CHECK_MESSAGE(contains(r.output, "clients: 1 added, 1 replaced"), r.output);
  CHECK_MESSAGE(contains(r.output, "network_policies: 1 added, 1 replaced"), r.output);
  const auto d = f.doc();
  REQUIRE(d["clients"].size() == 2);
  CHECK(d["clients"][0]["name"] == "RRAS1");
  CHECK(d["clients"][0]["address"] == "192.0.2.20");
  CHECK(d["clients"][1]["name"] == "rras2");
  CHECK(names_and_orders(d["network_policies"]) ==
        order_list{{"vpn users", 1}, {"Other", 2}, {"New", 3}});
  CHECK(d["network_policies"][0]["access"] == "deny");
  // The connection request policies were not in the file: untouched.
  CHECK(d["connection_request_policies"].size() == 1);

  // A merge whose result is invalid writes nothing.
  const auto now = read_file(f.config);
  write_file(merge, R"({"network_policies": [{"name": "Bad", "access": "grant",
    "conditions": {"user_name": "("}}]})");
  r = f.ctl({"import", merge.string(), "--merge"});
  CHECK(r.exit_code == 2);
  CHECK(read_file(f.config) == now);
}

namespace {

// A Unix socket at `path`: bound, listening when `listen` (then a thread answers one request
// with `reply` and records what it read).
class scripted_peer {
 public:
  scripted_peer(const fs::path& path, bool listen, std::string reply)
      : reply_(std::move(reply)) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    if (!listen) return;
    REQUIRE(::listen(fd_, 4) == 0);
    thread_ = std::thread([this] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[256];
      while (received_.find('\n') == std::string::npos) {
        const auto n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        received_.append(buf, static_cast<std::size_t>(n));
      }
      if (!reply_.empty()) {
        (void)!::write(c, reply_.data(), reply_.size());
      } else {
        std::this_thread::sleep_for(std::chrono::seconds(2));  // never answers in time
      }
      ::close(c);
    });
  }
  ~scripted_peer() {
    ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  std::string received() {
    if (thread_.joinable()) thread_.join();
    return received_;
  }

 private:
  int fd_ = -1;
  std::string reply_;
  std::string received_;
  std::thread thread_;
};

}  // namespace

TEST_CASE("npsctl reload: no control socket, nobody listening, refusals, timeouts") {
  ctl_fixture f;
  f.init();
  auto r = f.ctl({"reload"});
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(contains(r.output, "the configuration has no server.control_socket: npsd cannot "
                                   "be told to reload (send it SIGHUP)"),
                r.output);

  f.init({"--force", "--control-socket", "ctl.sock"});
  const auto socket = f.dir.path / "ctl.sock";
  const std::string not_running = "npsd is not running (no one listens on " + socket.string() + ")";
  r = f.ctl({"reload"});
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(contains(r.output, not_running), r.output);
  {
    scripted_peer bound_only(socket, /*listen=*/false, "");
    r = f.ctl({"reload"});
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(contains(r.output, not_running), r.output);
  }
  fs::remove(socket);
  {
    scripted_peer peer(socket, true, R"({"ok":false,"error":"the users file is unreadable"})" "\n");
    r = f.ctl({"reload"});
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(contains(r.output, "npsd refused the reload: the users file is unreadable"),
                  r.output);
    CHECK(peer.received() == "{\"command\":\"reload\"}\n");
  }
  fs::remove(socket);
  {
    scripted_peer peer(socket, true, R"({"ok":true,"message":"reloaded","generation":7})" "\n");
    r = f.ctl({"reload"});
    CHECK(r.exit_code == 0);
    CHECK_MESSAGE(contains(r.output, "npsd reloaded the configuration: reloaded (generation 7)"),
                  r.output);
  }
  fs::remove(socket);
  {
    scripted_peer silent(socket, true, "");
    r = f.ctl({"reload", "--timeout", "0.3"});
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(contains(r.output, "did not answer"), r.output);
  }
  fs::remove(socket);
  // An invalid configuration is never sent for reloading.
  {
    scripted_peer peer(socket, true, R"({"ok":true})" "\n");
    auto d = f.doc();
    d["network_policies"] = json::parse(R"([{"name": "x", "access": "sometimes"}])");
    write_file(f.config, d.dump());
    r = f.ctl({"reload", "--timeout", "1"});
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(contains(r.output, "/network_policies/0/access"), r.output);
  }
}

TEST_CASE("npsctl reload tells the real npsd to load the edited configuration") {
  ctl_fixture f;
  f.init({"--listen", "auth:127.0.0.1:0", "--control-socket", "ctl.sock"});
  f.ok({"client", "add", "--name", "loopback", "--address", "127.0.0.1", "--secret",
        "testing123-testing123-testing123"});
  npsd_process npsd(f.config, f.dir.path);

  const auto first = f.ctl_json({"reload"});
  CHECK(first.at("ok") == true);
  f.ok({"policy", "add", "--name", "VPN Users", "--access", "grant", "--user-group",
        "VPN Users"});
  auto r = f.ctl({"reload"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output << npsd.log());
  CHECK_MESSAGE(contains(r.output, "npsd reloaded the configuration"), r.output);
  CHECK_MESSAGE(contains(r.output, "(generation " +
                                       std::to_string(first.at("generation").get<int>() + 1) +
                                       ")"),
                r.output);
  CHECK(npsd.wait_for_log("configuration reloaded", 2));
}

TEST_CASE("a secret reply attribute (Tunnel-Password) is written to the file but never printed") {
  ctl_fixture f;
  f.init();
  f.ok({"client", "add", "--name", "rras1", "--address", "127.0.0.1", "--secret",
        "testing123-testing123-testing123"});
  const std::string secret = "hunter2-tunnel-secret";
  const auto added = f.ctl({"policy", "add", "--name", "VPN", "--access", "grant", "--reply",
                            "Tunnel-Password:1=" + secret, "--reply", "Reply-Message=hello",
                            "--json"});
  REQUIRE_MESSAGE(added.exit_code == 0, added.output);
  CHECK_MESSAGE(!contains(added.output, secret), added.output);
  // npsd needs it: the file has it
  CHECK(f.doc().at("network_policies").at(0).at("settings").at("attributes").at(0).at("value") ==
        secret);

  const auto shown = f.ctl_json({"policy", "show", "VPN"});
  const auto& attrs = shown.at("settings").at("attributes");
  CHECK(attrs.at(0).at("value") == "(hidden)");
  CHECK(attrs.at(1).at("value") == "hello");  // only secrets are hidden
  CHECK(f.ctl_json({"policy", "list"}).at(0).at("settings").at("attributes").at(0).at("value") ==
        "(hidden)");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"policy", "show", "VPN"},
        std::vector<std::string>{"policy", "list", "--json"},
        std::vector<std::string>{"policy", "set", "VPN", "--description", "x", "--json"},
        std::vector<std::string>{"policy", "test", "--client", "rras1", "--user", "alice",
                                 "--group", "Staff"},
        std::vector<std::string>{"policy", "test", "--client", "rras1", "--user", "alice",
                                 "--group", "Staff", "--json"}}) {
    const auto r = f.ctl(args);
    CAPTURE(args.at(1));
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK_MESSAGE(!contains(r.output, secret), r.output);
    CHECK_MESSAGE(contains(r.output, "(hidden)"), r.output);
  }
}
