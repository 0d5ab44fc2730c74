// npsctl init: a minimal valid configuration to start from (and an empty local user file).
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "npsctl/command.h"
#include "npsctl/config_edit.h"
#include "npsctl/policy_common.h"
#include "npsctl/table.h"
#include "npsctl/user_file_edit.h"

namespace npsd::npsctl {

namespace {

struct init_options {
  config_options cfg;
  std::vector<std::string> listen;
  std::string users_file = "users.json";
  std::string accounting_database = "accounting.db";
  bool no_accounting = false;
  std::optional<std::string> control_socket;
  std::optional<std::string> time_zone;
  bool force = false;
};

// "auth:ADDR:PORT", ADDR an IPv4 address, an IPv6 address, or either in brackets.
ordered_json parse_listen(const std::string& spec) {
  const auto first = spec.find(':');
  const auto last = spec.rfind(':');
  auto fail = [&]() -> ordered_json {
    throw command_error(exit_bad_input,
                        fmt::format("--listen {}: expected auth:ADDRESS:PORT or acct:ADDRESS:PORT "
                                    "(e.g. auth:0.0.0.0:1812, acct:[::]:1813)",
                                    quote(spec)));
  };
  if (first == std::string::npos || last == first) return fail();
  const auto type = spec.substr(0, first);
  std::string address = spec.substr(first + 1, last - first - 1);
  const auto port_text = spec.substr(last + 1);
  if ((type != "auth" && type != "acct") || address.empty() || port_text.empty() ||
      port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos)
    return fail();
  if (address.size() > 2 && address.front() == '[' && address.back() == ']')
    address = address.substr(1, address.size() - 2);
  const int port = std::stoi(port_text);
  if (port > 65535) return fail();
  ordered_json l = ordered_json::object();
  l["type"] = type;
  l["address"] = address;
  l["port"] = port;
  return l;
}

ordered_json initial_document(const init_options& o) {
  ordered_json listen = ordered_json::array();
  for (const auto& l : o.listen) listen.push_back(parse_listen(l));
  if (o.listen.empty()) {
    listen.push_back(parse_listen("auth:0.0.0.0:1812"));
    listen.push_back(parse_listen("acct:0.0.0.0:1813"));
  }
  ordered_json doc = ordered_json::object();
  doc["schema_version"] = policy::config_schema_version;
  doc["server"] = ordered_json::object();
  doc["server"]["listen"] = std::move(listen);
  if (o.control_socket) doc["server"]["control_socket"] = *o.control_socket;
  if (o.time_zone) doc["time_zone"] = *o.time_zone;
  doc["clients"] = ordered_json::array();
  doc["directory"] = ordered_json::object();
  doc["directory"]["backend"] = "local";
  doc["directory"]["users_file"] = o.users_file;
  // As NPS, which logs accounting locally out of the box: stored and acknowledged.
  if (!o.no_accounting) doc["accounting"] = ordered_json{{"database", o.accounting_database}};
  doc["connection_request_policies"] = ordered_json::array({default_crp()});
  doc["network_policies"] = ordered_json::array();
  return doc;
}

}  // namespace

void add_init_command(CLI::App& app) {
  auto o = std::make_shared<init_options>();
  auto* cmd = app.add_subcommand(
      "init",
      "Write a minimal configuration: listeners, no clients, the default connection request "
      "policy, no network policies (and an empty user file if there is none)");
  add_config_options(cmd, o->cfg);
  cmd->add_option("--listen", o->listen,
                  "auth:ADDRESS:PORT or acct:ADDRESS:PORT; repeatable (default: "
                  "auth:0.0.0.0:1812 and acct:0.0.0.0:1813)")
      ->allow_extra_args(false);
  cmd->add_option("--users-file", o->users_file,
                  "Local user file (relative: to the configuration's directory)")
      ->capture_default_str();
  cmd->add_option("--accounting-database", o->accounting_database,
                  "SQLite file for accounting and authentication events (relative: to the "
                  "configuration's directory)")
      ->capture_default_str();
  cmd->add_flag("--no-accounting", o->no_accounting,
                "No accounting section: Accounting-Requests are not acknowledged");
  cmd->add_option("--control-socket", o->control_socket,
                  "Unix socket where npsd takes commands from npsctl (npsctl reload)");
  cmd->add_option("--time-zone", o->time_zone,
                  "Time zone of day-and-time rules (IANA name, e.g. Europe/Paris; default UTC)");
  cmd->add_flag("--force", o->force, "Overwrite an existing file (its old content goes to .bak)");
  cmd->callback([o] {
    auto f = new_config(o->cfg);
    if (f.exists && !o->force)
      throw command_error(exit_bad_input,
                          fmt::format("{} already exists; use --force to overwrite it (the old "
                                      "content is kept as {}.bak)",
                                      f.path.string(), f.path.string()));
    f.doc = initial_document(*o);
    const auto cfg = save_config(f);
    const auto users = cfg->directory.users_file;
    std::error_code ec;
    const bool users_created = !std::filesystem::exists(users, ec);
    if (users_created) {
      auto uf = open_user_file(users, open_mode::edit_or_create);
      save_user_file(uf);
    }
    if (o->cfg.json) {
      ordered_json out = ordered_json::object();
      out["config"] = f.path.string();
      out["users_file"] = users.string();
      out["users_file_created"] = users_created;
      fmt::print("{}\n", out.dump(2));
      return;
    }
    std::vector<std::string> listeners;
    for (const auto& l : cfg->server.listeners)
      listeners.push_back(fmt::format("{} {}:{}", l.kind == policy::listener_kind::auth ? "auth"
                                                                                       : "acct",
                                      l.address, l.port));
    fmt::print("wrote {} (listening on {})\n", f.path.string(), join(listeners));
    if (users_created) fmt::print("created the empty user file {}\n", users.string());
    fmt::print("next: npsctl client add ..., npsctl user add ..., npsctl policy add ...\n");
  });
}

}  // namespace npsd::npsctl
