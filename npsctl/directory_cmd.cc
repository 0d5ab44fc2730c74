// npsctl directory test IDENTITY: what npsd sees for an identity, asking the configured
// directory (the local user file or LDAP) exactly as npsd would: the account's DN, names,
// kind, state, dial-in permission, every group (direct or nested), the server that answered
// and the time it took.
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ldap/local_directory.h"
#include "npsctl/command.h"
#include "npsctl/config_options.h"
#include "npsctl/directory_lookup.h"
#include "policy/config.h"

namespace npsd::npsctl {

namespace {

struct directory_test_options {
  config_options files;
  std::string identity;
};

std::string_view dial_in_text(ldap::dial_in d) {
  switch (d) {
    case ldap::dial_in::allow: return "allow";
    case ldap::dial_in::deny: return "deny";
    case ldap::dial_in::policy: return "policy (controlled through network policy)";
  }
  return "policy";
}

[[noreturn]] void not_found(const directory_test_options& o, ldap::lookup_status s) {
  throw command_error(exit_failure,
                      s == ldap::lookup_status::not_found
                          ? fmt::format("no account matches \"{}\"", o.identity)
                          : std::string("the directory did not answer"));
}

void run(const directory_test_options& o) {
  auto loaded = policy::load_config(o.files.config_path(), o.files.dictionary_dir());
  if (!loaded) throw command_error(exit_bad_input, loaded.error());
  const auto& cfg = **loaded;
  const bool is_ldap = cfg.directory.backend == ldap::directory_backend::ldap;
  // With --json, the back end's warnings go into the document, not to stderr.
  const auto log = o.files.json ? std::make_shared<directory_log>() : nullptr;
  auto dir = open_directory(cfg.directory, log);
  const auto answer = lookup_account(*dir, o.identity);
  const auto& r = answer.result;
  const auto& info = answer.info;
  const double ms = static_cast<double>(info.elapsed.count()) / 1000.0;

  if (o.files.json) {
    nlohmann::ordered_json j;
    j["identity"] = o.identity;
    j["backend"] = is_ldap ? "ldap" : "local";
    j["status"] = status_name(r.status);
    j["detail"] = r.detail;
    if (r.acct) {
      const auto& a = *r.acct;
      nlohmann::ordered_json acct;
      acct["dn"] = a.dn;
      acct["name"] = a.name;
      acct["upn"] = a.upn;
      acct["machine"] = a.machine;
      acct["enabled"] = a.enabled;
      acct["locked_out"] = a.locked_out;
      acct["dial_in"] = ldap::dial_in_name(a.dial_in_permission);
      acct["groups"] = nlohmann::ordered_json::array();
      for (std::size_t i = 0; i < a.groups.size(); ++i)
        acct["groups"].push_back({{"name", a.groups[i].name},
                                  {"dn", a.groups[i].dn},
                                  {"direct", i < info.direct_groups}});
      j["account"] = std::move(acct);
    } else {
      j["account"] = nullptr;
    }
    j["server"] = info.server;
    j["from_cache"] = info.from_cache;
    j["elapsed_ms"] = ms;
    if (is_ldap) j["ldap_operations"] = info.operations;
    j["log"] = log->lines();
    fmt::print("{}\n", j.dump(2));
    if (r.status != ldap::lookup_status::found) not_found(o, r.status);
    return;
  }

  const auto answered = info.server.empty()
                            ? fmt::format("no answer after {:.1f} ms", ms)
                            : is_ldap ? fmt::format("{} in {:.1f} ms ({} LDAP operation{})",
                                                    info.server, ms, info.operations,
                                                    info.operations == 1 ? "" : "s")
                                      : fmt::format("{} in {:.1f} ms", info.server, ms);
  fmt::print("Identity:     {}\n", o.identity);
  if (r.status != ldap::lookup_status::found) {
    fmt::print("Result:       {}\n",
               r.status == ldap::lookup_status::not_found
                   ? "no such account (npsd rejects the request)"
                   : "directory unavailable (npsd discards the request; the NAS fails over)");
    fmt::print("Detail:       {}\n", r.detail);
    fmt::print("Answered by:  {}\n", answered);
    not_found(o, r.status);
  }
  const auto& a = *r.acct;
  if (!a.dn.empty()) fmt::print("DN:           {}\n", a.dn);
  fmt::print("Name:         {}\n", a.name);
  fmt::print("UPN:          {}\n", a.upn.empty() ? "(none)" : a.upn);
  fmt::print("Kind:         {}\n", a.machine ? "machine (Machine Groups apply)" : "user");
  fmt::print("Enabled:      {}\n", a.enabled ? "yes" : "no (npsd rejects: account disabled)");
  fmt::print("Locked out:   {}\n", a.locked_out ? "yes (npsd rejects: account locked out)" : "no");
  fmt::print("Dial-in:      {}\n", dial_in_text(a.dial_in_permission));
  fmt::print("Groups:       {}\n", a.groups.empty() ? "(none)" : std::to_string(a.groups.size()));
  std::size_t width = 0;
  for (const auto& g : a.groups) width = std::max(width, g.name.size());
  for (std::size_t i = 0; i < a.groups.size(); ++i) {
    const auto& g = a.groups[i];
    const auto line = fmt::format("  {:<{}}  {:<6}  {}", g.name, width,
                                  i < info.direct_groups ? "direct" : "nested", g.dn);
    fmt::print("{}\n", line.substr(0, line.find_last_not_of(' ') + 1));
  }
  fmt::print("Answered by:  {}{}\n", answered, info.from_cache ? " (cache)" : "");
}

}  // namespace

void add_directory_commands(CLI::App& app) {
  auto* directory = app.add_subcommand("directory", "Ask the configured directory");
  directory->require_subcommand(1);
  auto o = std::make_shared<directory_test_options>();
  auto* test = directory->add_subcommand(
      "test",
      "Show what npsd sees for an identity: DN, names, state, dial-in permission, every group "
      "(direct or nested), the server that answered and the time it took (exit 0 found, 1 not "
      "found or unavailable)");
  add_config_options(test, o->files);
  test->add_option("identity", o->identity,
                   "as the NAS presents it: user, user@realm, DOMAIN\\user, host/pc.example.com")
      ->required();
  test->callback([o] { run(*o); });
}

}  // namespace npsd::npsctl
