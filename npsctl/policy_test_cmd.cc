// npsctl policy test: the dry run NPS lacks. Builds the request an administrator describes,
// runs it through the same engine npsd uses (connection request policies, the account from
// the configured directory or --group, account state, network policies) and shows every
// policy's verdict, the decision, the reason code and the reply attributes.
#include <cstdlib>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "command.h"
#include "config_options.h"
#include "directory_lookup.h"
#include "ldap/local_directory.h"
#include "policy/config.h"
#include "policy/evaluate.h"
#include "radius/crypto.h"
#include "radius/value.h"

namespace npsd::npsctl {

namespace {

struct test_options {
  config_options files;
  std::string user;
  std::string client;
  std::string client_address;
  std::string auth_method = "PAP";
  std::vector<std::string> attrs;  // "Name=value"
  std::vector<std::string> groups;
  bool groups_given = false;
  bool machine = false;
  std::string dial_in;
  std::string time;
  // the client certificate of an EAP-TLS / PEAP-TLS request, for certificate constraints
  std::string cert_issuer;
  std::vector<std::string> cert_ekus;
  // shorthands for the attributes NPS conditions use most
  std::string nas_port_type, service_type, framed_protocol, tunnel_type, called_station_id,
      calling_station_id, nas_identifier, nas_ip_address, nas_ipv6_address;
};


void add_attribute(radius::packet& p, const radius::dictionary& dict, const std::string& name,
                   const std::string& text) {
  const auto* def = dict.find(name);
  if (def == nullptr) bad_input(fmt::format("no attribute named \"{}\" in the dictionary", name));
  std::uint8_t tag = 0;
  std::string value = text;
  if (def->has_tag) {  // "1:VLAN" gives a tag
    const auto colon = text.find(':');
    if (colon != std::string::npos && colon > 0 && colon <= 2 &&
        text.find_first_not_of("0123456789") == colon) {
      tag = static_cast<std::uint8_t>(std::stoi(text.substr(0, colon)));
      value = text.substr(colon + 1);
    }
  }
  auto wire = def->has_tag ? radius::parse_tagged_value(*def, tag, value)
                           : radius::parse_value(*def, value);
  if (!wire) bad_input(fmt::format("{}: {}", name, wire.error()));
  if (def->vendor == 0) {
    p.add(static_cast<std::uint8_t>(def->number), *wire);
  } else {
    const auto* vendor = dict.find_vendor(def->vendor);
    p.add(radius::attr::vendor_specific,
          radius::make_vsa(def->vendor, def->number, *wire,
                           vendor != nullptr ? vendor->format() : radius::vsa_format{}));
  }
}

std::chrono::system_clock::time_point parse_time(const std::string& text) {
  if (text.empty()) return std::chrono::system_clock::now();
  std::tm tm{};
  std::istringstream in(text);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M");
  if (in.fail()) bad_input("--time: expected YYYY-MM-DDTHH:MM (UTC), e.g. 2026-11-23T09:30");
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

struct outcome {
  bool accept = false;
  policy::reason why = policy::reason::success;
  std::string detail;
  std::string crp, np;
  std::vector<std::pair<std::string, std::string>> reply;
  std::vector<std::string> notes;
};

int run(const test_options& o) {
  auto loaded = policy::load_config(o.files.config_path(), o.files.dictionary_dir());
  if (!loaded) bad_input(loaded.error());
  const auto& cfg = **loaded;
  const auto& dict = *cfg.dict;

  // The client: by name, or the one the source address maps to.
  const policy::client_config* client = nullptr;
  policy::ip_address source;
  if (!o.client.empty()) {
    for (const auto& c : cfg.clients)
      if (c.name == o.client) client = &c;
    if (client == nullptr) bad_input(fmt::format("no RADIUS client named \"{}\"", o.client));
    source = client->address.address;
  }
  if (!o.client_address.empty()) {
    const auto a = policy::ip_address::parse(o.client_address);
    if (!a) bad_input("--client-address: expected an IPv4 or IPv6 address");
    source = *a;
    if (client == nullptr) {
      std::uint8_t best = 0;
      for (const auto& c : cfg.clients)
        if (c.address.contains(*a) && (client == nullptr || c.address.length > best))
          client = &c, best = c.address.length;
      if (client == nullptr)
        bad_input(fmt::format("no RADIUS client covers {}: npsd would drop the request", o.client_address));
    }
  }
  if (client == nullptr) bad_input("say which client sends the request: --client NAME or --client-address IP");

  const auto method = policy::parse_auth_method(o.auth_method);
  if (!method) bad_input("--auth-method: expected PAP, CHAP, MS-CHAPv2, EAP-TLS, PEAP-TLS, PEAP-MSCHAPv2 or EAP-MSCHAPv2");

  radius::packet req;
  req.authenticator = radius::random_authenticator();
  req.add(radius::attr::user_name, o.user);
  const std::pair<const char*, const std::string*> shorthands[] = {
      {"NAS-Port-Type", &o.nas_port_type}, {"Service-Type", &o.service_type},
      {"Framed-Protocol", &o.framed_protocol}, {"Tunnel-Type", &o.tunnel_type},
      {"Called-Station-Id", &o.called_station_id}, {"Calling-Station-Id", &o.calling_station_id},
      {"NAS-Identifier", &o.nas_identifier}, {"NAS-IP-Address", &o.nas_ip_address},
      {"NAS-IPv6-Address", &o.nas_ipv6_address}};
  for (const auto& [name, value] : shorthands)
    if (!value->empty()) add_attribute(req, dict, name, *value);
  for (const auto& a : o.attrs) {
    const auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) bad_input(fmt::format("--attr \"{}\": expected Name=value", a));
    add_attribute(req, dict, a.substr(0, eq), a.substr(eq + 1));
  }

  policy::request_facts facts;
  facts.packet = &req;
  facts.dict = &dict;
  facts.client = client;
  facts.client_address = source;
  facts.method = *method;
  facts.eap_type = policy::eap_type_of(*method);
  const bool with_certificate =
      *method == policy::auth_method::eap_tls || *method == policy::auth_method::peap_tls;
  // The client certificate: Client Authentication unless told otherwise.
  const std::vector<std::string> cert_ekus =
      o.cert_ekus.empty() ? std::vector<std::string>{"1.3.6.1.5.5.7.3.2"} : o.cert_ekus;
  if (with_certificate) {
    facts.certificate_ekus = &cert_ekus;
    facts.certificate_issuer = &o.cert_issuer;
  }
  facts.now = parse_time(o.time);

  outcome out;
  policy::trace trace;
  const auto crp = policy::evaluate_crp(cfg.pol, facts, trace);
  if (crp.policy != nullptr) out.crp = crp.policy->name;
  std::optional<ldap::account> acct;
  auto decided = [&](bool accept, policy::reason why, std::string detail = {}) {
    out.accept = accept;
    out.why = why;
    out.detail = detail.empty() ? std::string(policy::reason_text(why)) : std::move(detail);
  };
  if (crp.reject) {
    decided(false, *crp.reject,
            crp.policy ? fmt::format("rejected by connection request policy \"{}\"", crp.policy->name)
                       : std::string("no connection request policy matched"));
  } else {
    const auto* un = crp.request.find(radius::attr::user_name);
    const std::string mapped = un != nullptr ? std::string(un->as_string()) : std::string();
    if (mapped != o.user) out.notes.push_back(fmt::format("User-Name rewritten to \"{}\"", mapped));
    if (o.groups_given) {
      ldap::account a;
      a.name = mapped;
      a.machine = o.machine;
      for (const auto& g : o.groups)
        a.groups.push_back(g.find('=') != std::string::npos ? ldap::group{"", g} : ldap::group{g, ""});
      acct = std::move(a);
      out.notes.push_back("groups given with --group, not read from the directory");
    } else {
      // The configured directory, whatever its back end, as npsd would ask it.
      const auto log = o.files.json ? std::make_shared<directory_log>() : nullptr;
      const auto dir = open_directory(cfg.directory, log);
      auto answer = lookup_account(*dir, mapped);
      if (log)
        for (auto& line : log->lines()) out.notes.push_back("directory: " + line);
      if (answer.result.status == ldap::lookup_status::unavailable)
        throw command_error(exit_failure,
                            fmt::format("the directory did not answer ({}): npsd would discard "
                                        "the request",
                                        answer.result.detail));
      if (answer.result.status == ldap::lookup_status::found) acct = std::move(answer.result.acct);
    }
    if (acct && !o.dial_in.empty())
      acct->dial_in_permission = *ldap::parse_dial_in(o.dial_in);
    if (!acct && crp.policy->action == policy::crp_action::authenticate) {
      decided(false, policy::reason::no_such_user);
    } else {
      if (crp.policy->action == policy::crp_action::authenticate)
        out.notes.push_back("credentials are assumed valid: a dry run does not check passwords");
      std::optional<policy::reason> state;
      if (acct) state = policy::account_rejection(*acct);
      if (state) {
        decided(false, *state);
      } else {
        auto np_facts = facts;  // network policies see the request after manipulation
        np_facts.packet = &crp.request;
        const auto np = policy::evaluate_network_policy(cfg.pol, np_facts,
                                                        acct ? &*acct : nullptr, trace);
        if (np.policy != nullptr) out.np = np.policy->name;
        decided(np.accept, np.why, np.detail);
        if (np.accept) {
          for (const auto* a : np.reply) {
            const auto name = a->def->has_tag ? fmt::format("{}:{}", a->def->name, a->tag) : a->def->name;
            out.reply.emplace_back(name, a->def->is_secret() ? "(hidden)" : a->text);
          }
          if (np.session_timeout) out.reply.emplace_back("Session-Timeout", std::to_string(*np.session_timeout));
          if (np.idle_timeout) out.reply.emplace_back("Idle-Timeout", std::to_string(*np.idle_timeout));
          out.reply.emplace_back("Class", "(a unique value per Access-Accept)");
        }
      }
    }
  }

  const auto result = out.accept ? "Access-Accept" : "Access-Reject";
  if (o.files.json) {
    nlohmann::ordered_json j;
    j["result"] = result;
    j["reason"] = policy::reason_number(out.why);
    j["reason_text"] = out.detail;
    j["connection_request_policy"] = out.crp.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(out.crp);
    j["network_policy"] = out.np.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(out.np);
    j["trace"] = nlohmann::ordered_json::array();
    for (const auto& s : trace)
      j["trace"].push_back({{"kind", s.kind}, {"name", s.name}, {"verdict", s.verdict}});
    j["reply"] = nlohmann::ordered_json::array();
    for (const auto& [n, v] : out.reply) j["reply"].push_back({{"name", n}, {"value", v}});
    j["notes"] = out.notes;
    std::cout << j.dump(2) << '\n';
    return exit_ok;
  }
  std::cout << "Request: User-Name \"" << o.user << "\" from client \"" << client->name << "\" ("
            << source.to_string() << "), " << policy::auth_method_name(*method) << "\n\n";
  std::string kind;
  std::size_t width = 0;
  for (const auto& s : trace) width = std::max(width, s.name.size());
  for (const auto& s : trace) {
    if (s.kind != kind) {
      kind = s.kind;
      std::cout << (kind == "connection request policy" ? "Connection request policies:\n"
                                                        : "Network policies:\n");
    }
    std::cout << fmt::format("  {:<{}}  {}\n", s.name, width, s.verdict);
  }
  std::cout << fmt::format("\nDecision: {}, reason {} ({})\n", result, policy::reason_number(out.why),
                           out.detail);
  if (!out.crp.empty()) std::cout << "Connection request policy: " << out.crp << '\n';
  if (!out.np.empty()) std::cout << "Network policy: " << out.np << '\n';
  if (!out.reply.empty()) {
    std::cout << "Reply attributes:\n";
    for (const auto& [n, v] : out.reply) std::cout << fmt::format("  {} = {}\n", n, v);
  }
  for (const auto& n : out.notes) std::cout << "Note: " << n << '\n';
  return exit_ok;
}

}  // namespace

void add_policy_test_command(CLI::App& policy) {
  auto o = std::make_shared<test_options>();
  auto* t = policy.add_subcommand(
      "test", "Dry run: what npsd would decide for a request, policy by policy, and why");
  add_config_options(t, o->files);
  t->add_option("--user", o->user, "User-Name as the NAS sends it")->required();
  t->add_option("--client", o->client, "the RADIUS client (friendly name) sending it");
  t->add_option("--client-address", o->client_address, "the source address of the request");
  t->add_option("--auth-method", o->auth_method,
                "PAP, CHAP, MS-CHAPv2, EAP-TLS, PEAP-TLS, PEAP-MSCHAPv2 or EAP-MSCHAPv2")
      ->capture_default_str();
  t->add_option("--nas-port-type", o->nas_port_type, "NAS-Port-Type, e.g. Virtual");
  t->add_option("--service-type", o->service_type, "Service-Type, e.g. Framed-User");
  t->add_option("--framed-protocol", o->framed_protocol, "Framed-Protocol, e.g. PPP");
  t->add_option("--tunnel-type", o->tunnel_type, "Tunnel-Type");
  t->add_option("--called-station-id", o->called_station_id, "Called-Station-Id");
  t->add_option("--calling-station-id", o->calling_station_id, "Calling-Station-Id");
  t->add_option("--nas-identifier", o->nas_identifier, "NAS-Identifier");
  t->add_option("--nas-ip-address", o->nas_ip_address, "NAS-IP-Address");
  t->add_option("--nas-ipv6-address", o->nas_ipv6_address, "NAS-IPv6-Address");
  t->add_option("--attr", o->attrs, "any dictionary attribute, Name=value (repeatable)");
  auto* groups = t->add_option("--group", o->groups,
                               "the account's groups (repeatable), instead of the directory's");
  t->add_flag("--machine", o->machine, "with --group: the account is a machine account");
  t->add_option("--dial-in", o->dial_in, "override the account's dial-in permission")
      ->check(CLI::IsMember({"allow", "deny", "policy"}));
  t->add_option("--time", o->time, "evaluate at this UTC time, YYYY-MM-DDTHH:MM (default now)");
  t->add_option("--cert-issuer", o->cert_issuer,
                "EAP-TLS / PEAP-TLS: the client certificate's issuer DN (certificate constraints)");
  t->add_option("--cert-eku", o->cert_ekus,
                "EAP-TLS / PEAP-TLS: an EKU OID of the client certificate; repeatable (default: "
                "Client Authentication only)")
      ->allow_extra_args(false);
  t->callback([o, groups] {
    o->groups_given = groups->count() > 0;
    const int rc = run(*o);
    if (rc != exit_ok) throw command_error(rc, "policy test failed");
  });
}

}  // namespace npsd::npsctl
