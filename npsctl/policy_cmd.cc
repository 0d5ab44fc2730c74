// npsctl policy ...: network policies (NPS "Network Policies"): who is granted or denied
// access, under which constraints, and which RADIUS attributes the Access-Accept carries.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "npsctl/command.h"
#include "npsctl/config_edit.h"
#include "npsctl/constraint_options.h"
#include "npsctl/file_edit.h"
#include "npsctl/policy_common.h"

namespace npsd::npsctl {

namespace {

const policy_kind& kind = network_policies;

struct np_options {
  policy_options common;
  std::optional<std::string> access;
  bool ignore_dial_in = false;              // add
  std::optional<bool> ignore_dial_in_set;  // set
  constraint_options constraints;
  bool clear_constraints = false;
  std::vector<std::string> reply;
  bool clear_reply = false;
};

// "Name=value" or "Name:TAG=value".
ordered_json parse_reply(const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0)
    throw command_error(exit_bad_input,
                        fmt::format("--reply {}: expected 'Attribute=value' or "
                                    "'Attribute:TAG=value'",
                                    quote(spec)));
  std::string name = spec.substr(0, eq);
  ordered_json a = ordered_json::object();
  std::optional<int> tag;
  if (const auto colon = name.find(':'); colon != std::string::npos) {
    const auto t = name.substr(colon + 1);
    if (t.empty() || t.size() > 2 || t.find_first_not_of("0123456789") != std::string::npos)
      throw command_error(exit_bad_input,
                          fmt::format("--reply {}: the tag after ':' must be a number 0..31",
                                      quote(spec)));
    tag = std::stoi(t);
    name.erase(colon);
  }
  a["name"] = name;
  a["value"] = spec.substr(eq + 1);
  if (tag) a["tag"] = *tag;
  return a;
}

void add_specific_options(CLI::App* cmd, np_options& o, bool for_set) {
  auto* access = cmd->add_option("--access", o.access, "Access permission: grant or deny")
                     ->check(CLI::IsMember({"grant", "deny"}, CLI::ignore_case));
  if (for_set) {
    cmd->add_option("--ignore-dial-in", o.ignore_dial_in_set,
                    "true: ignore the account's dial-in permission; false: honour it");
    cmd->add_flag("--clear-constraints", o.clear_constraints,
                  "Remove every constraint (before applying the constraint options given)");
  } else {
    access->required();
    cmd->add_flag("--ignore-dial-in", o.ignore_dial_in,
                  "Ignore the user account's dial-in permission");
  }
  add_constraint_options(cmd, o.constraints, for_set);
  const char* group = "Settings";
  cmd->add_option("--reply", o.reply,
                  "RADIUS attribute returned in the Access-Accept: 'Name=value', or "
                  "'Name:TAG=value' for tagged ones (Tunnel-Type:1=VLAN); repeatable")
      ->allow_extra_args(false)
      ->group(group);
  if (for_set)
    cmd->add_flag("--clear-reply", o.clear_reply,
                  "Remove every reply attribute (before adding the ones given)")
        ->group(group);
}

void apply_specific(const np_options& o, ordered_json& p) {
  if (o.access) p["access"] = fold_case(*o.access);
  if (o.ignore_dial_in_set) p["ignore_dial_in"] = *o.ignore_dial_in_set;
  ordered_json cons = o.clear_constraints ? ordered_json::object()
                                          : p.value("constraints", ordered_json::object());
  apply_constraints(o.constraints, cons);
  if (cons.empty())
    p.erase("constraints");
  else
    p["constraints"] = std::move(cons);
  if (o.clear_reply && p.contains("settings") && p["settings"].is_object())
    p["settings"].erase("attributes");
  if (!o.reply.empty()) {
    if (!p.contains("settings") || !p["settings"].is_object())
      p["settings"] = ordered_json::object();
    auto& attrs = p["settings"]["attributes"];
    if (!attrs.is_array()) attrs = ordered_json::array();
    for (const auto& r : o.reply) attrs.push_back(parse_reply(r));
  }
  if (p.contains("settings") && p["settings"].is_object() && p["settings"].empty())
    p.erase("settings");
}

void add_policy_add(CLI::App& policy) {
  auto o = std::make_shared<np_options>();
  auto* cmd = policy.add_subcommand("add", "Add a network policy");
  add_policy_options(cmd, o->common, kind, false);
  add_specific_options(cmd, *o, false);
  cmd->callback([o] {
    auto f = open_config(o->common.cfg);
    bool materialized = false;
    auto& array = editable_policies(f.doc, kind, &materialized);
    require_unique_name(f.doc, kind.key, kind.noun, o->common.name);
    auto p = new_policy(o->common);
    p["access"] = "grant";
    p["ignore_dial_in"] = o->ignore_dial_in;
    apply_specific(*o, p);
    const auto index = insert_policy(array, std::move(p), o->common);
    save_config(f);
    report_policy("added", array[index], kind, f, o->common.cfg.json, materialized);
  });
}

void add_policy_set(CLI::App& policy) {
  auto o = std::make_shared<np_options>();
  auto* cmd = policy.add_subcommand(
      "set",
      "Change a network policy: each condition or constraint given replaces that one; --reply "
      "adds attributes");
  add_policy_options(cmd, o->common, kind, true);
  add_specific_options(cmd, *o, true);
  cmd->callback([o] {
    auto f = open_config(o->common.cfg);
    bool materialized = false;
    auto& array = editable_policies(f.doc, kind, &materialized);
    auto index = require_entry(f.doc, kind.key, kind.noun, o->common.name);
    apply_specific(*o, array[index]);
    index = update_policy(array, index, o->common, kind);
    save_config(f);
    report_policy("changed", array[index], kind, f, o->common.cfg.json, materialized);
  });
}

}  // namespace

void add_policy_commands(CLI::App& app) {
  auto* policy = app.add_subcommand(
      "policy", "Manage network policies (who gets access, under which constraints)");
  policy->require_subcommand(1);
  add_policy_add(*policy);
  add_policy_view_commands(*policy, kind);
  add_policy_set(*policy);
  add_policy_remove_move_commands(*policy, kind);
  add_policy_test_command(*policy);
}

}  // namespace npsd::npsctl
