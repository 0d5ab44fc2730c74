// npsctl client ...: RADIUS clients (NPS "RADIUS Clients"; New-/Get-/Set-/Remove-
// NpsRadiusClient). Shared secrets are written to the file but never printed.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "npsctl/command.h"
#include "npsctl/config_edit.h"
#include "npsctl/password_input.h"
#include "npsctl/table.h"

namespace npsd::npsctl {

namespace {

constexpr const char* noun = "RADIUS client";
constexpr std::size_t recommended_secret_length = 22;

struct secret_options {
  std::optional<std::string> secret;
  std::optional<std::string> secret_file;
  bool secret_stdin = false;
  bool given() const { return secret || secret_file || secret_stdin; }
};

void add_secret_options(CLI::App* cmd, secret_options& o) {
  const char* group = "Shared secret (one of)";
  auto* s = cmd->add_option("--secret", o.secret,
                            "The shared secret (visible to other local users while npsctl "
                            "runs: prefer --secret-stdin)")
                ->group(group);
  auto* f = cmd->add_option("--secret-file", o.secret_file,
                            "File holding the shared secret (relative: to the configuration's "
                            "directory); the configuration refers to it")
                ->group(group);
  auto* i = cmd->add_flag("--secret-stdin", o.secret_stdin,
                          "Read the shared secret from standard input (first line; prompts "
                          "twice on a terminal)")
                ->group(group);
  s->excludes(f)->excludes(i);
  f->excludes(i);
}

// Sets "secret" or "secret_file" on the client (removing the other one).
void apply_secret(const secret_options& o, ordered_json& client) {
  std::optional<std::string> inline_secret = o.secret;
  if (o.secret_stdin) inline_secret = read_secret("shared secret", true).value();
  if (inline_secret) {
    if (inline_secret->empty()) throw command_error(exit_bad_input, "empty shared secret refused");
    if (inline_secret->size() < recommended_secret_length)
      fmt::print(stderr,
                 "warning: this shared secret is short; use at least {} random characters\n",
                 recommended_secret_length);
    client.erase("secret_file");
    client["secret"] = *inline_secret;
  } else if (o.secret_file) {
    client.erase("secret");
    client["secret_file"] = *o.secret_file;
  }
}

std::string secret_text(const ordered_json& c) {
  if (c.contains("secret_file")) return "(from file " + c["secret_file"].get<std::string>() + ")";
  return c.contains("secret") ? "(set)" : "(none)";
}

bool requires_message_authenticator(const ordered_json& c) {
  return c.value("require_message_authenticator", true);
}

bool limits_proxy_state(const ordered_json& c) { return c.value("limit_proxy_state", true); }

std::string vendor_of(const ordered_json& c) {
  return c.value("vendor", std::string("RADIUS Standard"));
}

// What list/show --json print: everything but the secret's value.
ordered_json client_view(const ordered_json& c) {
  ordered_json v = ordered_json::object();
  v["name"] = c.value("name", std::string());
  v["address"] = c.value("address", std::string());
  if (c.contains("secret_file"))
    v["secret_file"] = c["secret_file"];
  else
    v["secret"] = c.contains("secret") ? "(set)" : "(none)";
  v["require_message_authenticator"] = requires_message_authenticator(c);
  v["limit_proxy_state"] = limits_proxy_state(c);
  v["vendor"] = vendor_of(c);
  return v;
}

const ordered_json& clients_of(const ordered_json& doc) {
  static const ordered_json none = ordered_json::array();
  const auto it = doc.find("clients");
  return it != doc.end() && it->is_array() ? *it : none;
}

void report(const char* verb, const ordered_json& c, const config_file& f, bool json) {
  if (json) {
    fmt::print("{}\n", client_view(c).dump(2));
    return;
  }
  fmt::print("{} {} {} ({}) in {}\n", verb, noun, quote(c["name"].get<std::string>()),
             c["address"].get<std::string>(), f.path.string());
  fmt::print("npsd applies it when it reloads its configuration (npsctl reload)\n");
}

// ---- client add ----

struct add_options {
  config_options cfg;
  std::string name, address;
  secret_options secret;
  bool no_message_authenticator = false;
  bool no_limit_proxy_state = false;
  std::optional<std::string> vendor;
};

void add_client_add(CLI::App& client) {
  auto o = std::make_shared<add_options>();
  auto* cmd = client.add_subcommand("add", "Add a RADIUS client (New-NpsRadiusClient)");
  add_config_options(cmd, o->cfg);
  cmd->add_option("--name", o->name, "Friendly name (unique)")->required();
  cmd->add_option("--address", o->address, "Address or CIDR prefix the requests come from")
      ->required();
  add_secret_options(cmd, o->secret);
  cmd->add_flag("--no-require-message-authenticator", o->no_message_authenticator,
                "Accept Access-Requests without Message-Authenticator (only for a legacy NAS: "
                "exposes it to BlastRADIUS)");
  cmd->add_flag("--no-limit-proxy-state", o->no_limit_proxy_state,
                "With --no-require-message-authenticator: also accept Access-Requests that carry "
                "Proxy-State without Message-Authenticator (dropped by default)");
  cmd->add_option("--vendor", o->vendor, "Client vendor (default \"RADIUS Standard\")");
  cmd->callback([o] {
    if (!o->secret.given())
      throw command_error(exit_bad_input,
                          "a shared secret is required: --secret, --secret-file or --secret-stdin");
    auto f = open_config(o->cfg);
    require_unique_name(f.doc, "clients", noun, o->name);
    ordered_json c = ordered_json::object();
    c["name"] = o->name;
    c["address"] = o->address;
    apply_secret(o->secret, c);
    c["require_message_authenticator"] = !o->no_message_authenticator;
    if (o->no_limit_proxy_state) c["limit_proxy_state"] = false;
    if (o->vendor) c["vendor"] = *o->vendor;
    f.doc["clients"].push_back(c);
    save_config(f);
    report("added", c, f, o->cfg.json);
  });
}

// ---- client list / show ----

struct name_options {
  config_options cfg;
  std::string name;
};

void add_client_list(CLI::App& client) {
  auto o = std::make_shared<name_options>();
  auto* cmd = client.add_subcommand("list", "List the RADIUS clients (never shows secrets)");
  add_config_options(cmd, o->cfg);
  cmd->callback([o] {
    const auto f = read_config_document(o->cfg);
    const auto& clients = clients_of(f.doc);
    if (o->cfg.json) {
      ordered_json out = ordered_json::array();
      for (const auto& c : clients) out.push_back(client_view(c));
      fmt::print("{}\n", out.dump(2));
      return;
    }
    if (clients.empty()) {
      fmt::print("no RADIUS clients in {} (add one with npsctl client add)\n", f.path.string());
      return;
    }
    std::vector<table_row> rows;
    rows.push_back({"NAME", "ADDRESS", "MESSAGE-AUTHENTICATOR", "VENDOR", "SECRET"});
    for (const auto& c : clients)
      rows.push_back({c.value("name", std::string()), c.value("address", std::string()),
                      requires_message_authenticator(c) ? "required" : "NOT required",
                      vendor_of(c), secret_text(c)});
    print_table(rows);
  });
}

void add_client_show(CLI::App& client) {
  auto o = std::make_shared<name_options>();
  auto* cmd = client.add_subcommand("show", "Show one RADIUS client (never shows the secret)");
  add_config_options(cmd, o->cfg);
  cmd->add_option("NAME", o->name, "Name (case-insensitive)")->required();
  cmd->callback([o] {
    const auto f = read_config_document(o->cfg);
    const auto& c = f.doc["clients"][require_entry(f.doc, "clients", noun, o->name)];
    if (o->cfg.json) {
      fmt::print("{}\n", client_view(c).dump(2));
      return;
    }
    auto field = [](const char* label, const std::string& value) {
      fmt::print("{:<32}{}\n", std::string(label) + ":", value);
    };
    field("Name", c.value("name", std::string()));
    field("Address", c.value("address", std::string()));
    field("Shared secret", secret_text(c));
    field("Require Message-Authenticator", requires_message_authenticator(c) ? "yes" : "no");
    field("Limit Proxy-State", limits_proxy_state(c) ? "yes" : "no");
    field("Vendor", vendor_of(c));
  });
}

// ---- client set ----

struct set_options {
  config_options cfg;
  std::string name;
  std::optional<std::string> address, vendor, rename;
  secret_options secret;
  std::optional<bool> require_message_authenticator;
  std::optional<bool> limit_proxy_state;
};

void add_client_set(CLI::App& client) {
  auto o = std::make_shared<set_options>();
  auto* cmd = client.add_subcommand("set", "Change a RADIUS client (Set-NpsRadiusClient)");
  add_config_options(cmd, o->cfg);
  cmd->add_option("NAME", o->name, "Name (case-insensitive)")->required();
  cmd->add_option("--address", o->address, "New address or CIDR prefix");
  add_secret_options(cmd, o->secret);
  cmd->add_option("--require-message-authenticator", o->require_message_authenticator,
                  "true (the default) or false (legacy NAS only)");
  cmd->add_option("--limit-proxy-state", o->limit_proxy_state,
                  "true (the default): without --require-message-authenticator, drop "
                  "Access-Requests with Proxy-State but no Message-Authenticator");
  cmd->add_option("--vendor", o->vendor, "Client vendor");
  cmd->add_option("--rename", o->rename, "New friendly name");
  cmd->callback([o] {
    auto f = open_config(o->cfg);
    const auto index = require_entry(f.doc, "clients", noun, o->name);
    auto& c = f.doc["clients"][index];
    if (o->rename) {
      require_unique_name(f.doc, "clients", noun, *o->rename, index);
      c["name"] = *o->rename;
    }
    if (o->address) c["address"] = *o->address;
    apply_secret(o->secret, c);
    if (o->require_message_authenticator)
      c["require_message_authenticator"] = *o->require_message_authenticator;
    if (o->limit_proxy_state) c["limit_proxy_state"] = *o->limit_proxy_state;
    if (o->vendor) c["vendor"] = *o->vendor;
    save_config(f);
    report("changed", f.doc["clients"][index], f, o->cfg.json);
  });
}

// ---- client remove ----

void add_client_remove(CLI::App& client) {
  auto o = std::make_shared<name_options>();
  auto* cmd = client.add_subcommand("remove", "Remove a RADIUS client (Remove-NpsRadiusClient)");
  add_config_options(cmd, o->cfg);
  cmd->add_option("NAME", o->name, "Name (case-insensitive)")->required();
  cmd->callback([o] {
    auto f = open_config(o->cfg);
    const auto index = require_entry(f.doc, "clients", noun, o->name);
    auto& clients = f.doc["clients"];
    const auto removed = clients[index]["name"].get<std::string>();
    clients.erase(clients.begin() + static_cast<std::ptrdiff_t>(index));
    save_config(f);
    report_removed(noun, removed, f, o->cfg.json);
  });
}

}  // namespace

void add_client_commands(CLI::App& app) {
  auto* client = app.add_subcommand("client", "Manage RADIUS clients (the NAS devices)");
  client->require_subcommand(1);
  add_client_add(*client);
  add_client_list(*client);
  add_client_show(*client);
  add_client_set(*client);
  add_client_remove(*client);
}

}  // namespace npsd::npsctl
