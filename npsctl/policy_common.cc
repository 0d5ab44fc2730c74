#include "npsctl/policy_common.h"

#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "npsctl/command.h"
#include "npsctl/policy_display.h"
#include "npsctl/policy_order.h"
#include "npsctl/table.h"

namespace npsd::npsctl {

const policy_kind connection_request_policies{policy_type::connection_request,
                                              "connection_request_policies",
                                              "connection request policy",
                                              "connection request policies"};
const policy_kind network_policies{policy_type::network, "network_policies", "network policy",
                                   "network policies"};

ordered_json default_crp() {
  ordered_json p = ordered_json::object();
  p["name"] = default_crp_name;
  p["order"] = 1;
  p["enabled"] = true;
  p["conditions"] = ordered_json::object();
  p["action"] = "authenticate";
  return p;
}

ordered_json effective_policies(const ordered_json& doc, const policy_kind& kind, bool* implicit) {
  if (implicit) *implicit = false;
  const auto it = doc.find(kind.key);
  if (it != doc.end() && it->is_array()) return *it;
  if (kind.type == policy_type::connection_request && it == doc.end()) {
    if (implicit) *implicit = true;
    return ordered_json::array({default_crp()});
  }
  return ordered_json::array();
}

ordered_json& editable_policies(ordered_json& doc, const policy_kind& kind, bool* materialized) {
  *materialized = false;
  if (!doc.contains(kind.key)) {
    doc[kind.key] = effective_policies(doc, kind, materialized);
  }
  return doc[kind.key];
}

void warn_if_no_enabled_crp(const ordered_json& doc) {
  for (const auto& p : effective_policies(doc, connection_request_policies))
    if (p.value("enabled", true)) return;
  fmt::print(stderr,
             "warning: no enabled connection request policy is left: npsd will reject every "
             "request (reason 49)\n");
}

namespace {

// Options common to add (name given by --name) and set (NAME positional).
struct policy_options {
  config_options cfg;
  std::string name;
  std::optional<std::int64_t> order;
  bool disabled = false;            // add
  std::optional<bool> enabled;      // set
  std::optional<std::string> description;
  std::optional<std::string> rename;  // set
  bool clear_conditions = false;      // set
  condition_options conditions;
};

void add_policy_options(CLI::App* cmd, policy_options& o, const policy_kind& kind, bool for_set) {
  add_config_options(cmd, o.cfg);
  if (for_set) {
    cmd->add_option("NAME", o.name, std::string("Name of the ") + kind.noun)->required();
    cmd->add_option("--rename", o.rename, "New name");
    cmd->add_option("--enabled", o.enabled, "Enable (true) or disable (false) the policy");
    cmd->add_flag("--clear-conditions", o.clear_conditions,
                  "Remove every condition (before applying the condition options given)");
  } else {
    cmd->add_option("--name", o.name, std::string("Name of the ") + kind.noun + " (unique)")
        ->required();
    cmd->add_flag("--disabled", o.disabled, "Create the policy disabled");
  }
  cmd->add_option("--order", o.order,
                  "Processing order (1 = first); a policy already at it moves down by one")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1000000}));
  cmd->add_option("--description", o.description, "Free text");
  add_condition_options(cmd, o.conditions, kind.type, for_set);
}

// A new policy object (name, order placeholder, enabled, description, conditions), in the key
// order the file uses.
ordered_json new_policy(const policy_options& o) {
  ordered_json p = ordered_json::object();
  p["name"] = o.name;
  p["order"] = 0;  // set by insert_policy
  p["enabled"] = !o.disabled;
  if (o.description) p["description"] = *o.description;
  p["conditions"] = ordered_json::object();
  apply_conditions(o.conditions, p["conditions"]);
  return p;
}

// Adds `entry` to the array (at the end in processing order, or at --order). Returns its index.
std::size_t insert_policy(ordered_json& array, ordered_json entry, const policy_options& o) {
  make_orders_explicit(array);
  entry["order"] = next_order(array);
  array.push_back(std::move(entry));
  const std::size_t index = array.size() - 1;
  return o.order ? place_at_order(array, index, *o.order) : index;
}

// set: applies rename, enabled, description, conditions to array[index], then --order.
// Returns the entry's index afterwards.
std::size_t update_policy(ordered_json& array, std::size_t index, const policy_options& o,
                          const policy_kind& kind) {
  auto& p = array[index];
  if (o.rename) {
    ordered_json view = ordered_json::object();
    view[kind.key] = array;
    require_unique_name(view, kind.key, kind.noun, *o.rename, index);
    p["name"] = *o.rename;
  }
  if (o.enabled) p["enabled"] = *o.enabled;
  if (o.description) p["description"] = *o.description;
  if (o.clear_conditions || !p.contains("conditions")) p["conditions"] = ordered_json::object();
  apply_conditions(o.conditions, p["conditions"]);
  return o.order ? place_at_order(array, index, *o.order) : index;
}

// After a successful save: "added network policy "X" (processing order 2) in FILE", or with
// --json the entry as stored (secret values hidden).
void report_policy(const char* verb, const ordered_json& entry, const policy_kind& kind,
                   const config_file& f, bool json, bool materialized) {
  if (json) {
    fmt::print("{}\n",
               without_secrets(entry, secret_attributes(f.doc, f.path, f.dictionary_dir)).dump(2));
    return;
  }
  fmt::print("{} {} {} (processing order {}) in {}\n", verb, kind.noun,
             quote(entry["name"].get<std::string>()), entry.value("order", ordered_json()).dump(),
             f.path.string());
  if (materialized)
    fmt::print(stderr,
               "note: the file had no connection_request_policies, so npsd was using the "
               "implicit default {}; it is now written out in the file\n",
               quote(default_crp_name));
  fmt::print("npsd applies it when it reloads its configuration (npsctl reload)\n");
}

// add and set: the common part here, the kind's part from its policy_specifics.
void add_add(CLI::App& parent, const policy_kind& kind, std::shared_ptr<policy_specifics> s) {
  auto o = std::make_shared<policy_options>();
  auto* cmd = parent.add_subcommand("add", std::string("Add a ") + kind.noun);
  add_policy_options(cmd, *o, kind, false);
  s->add_options(cmd, false);
  cmd->callback([o, s, &kind] {
    auto f = open_config(o->cfg);
    bool materialized = false;
    auto& array = editable_policies(f.doc, kind, &materialized);
    require_unique_name(f.doc, kind.key, kind.noun, o->name);
    auto p = new_policy(*o);
    s->init(p);
    s->apply(p);
    const auto index = insert_policy(array, std::move(p), *o);
    save_config(f);
    report_policy("added", array[index], kind, f, o->cfg.json, materialized);
  });
}

void add_set(CLI::App& parent, const policy_kind& kind, const char* help,
             std::shared_ptr<policy_specifics> s) {
  auto o = std::make_shared<policy_options>();
  auto* cmd = parent.add_subcommand("set", help);
  add_policy_options(cmd, *o, kind, true);
  s->add_options(cmd, true);
  cmd->callback([o, s, &kind] {
    auto f = open_config(o->cfg);
    bool materialized = false;
    auto& array = editable_policies(f.doc, kind, &materialized);
    auto index = require_entry(f.doc, kind.key, kind.noun, o->name);
    s->apply(array[index]);
    index = update_policy(array, index, *o, kind);
    save_config(f);
    report_policy("changed", array[index], kind, f, o->cfg.json, materialized);
    if (kind.type == policy_type::connection_request) warn_if_no_enabled_crp(f.doc);
  });
}

struct view_options {
  config_options cfg;
  std::string name;
};

void add_list(CLI::App& parent, const policy_kind& kind) {
  auto o = std::make_shared<view_options>();
  auto* cmd = parent.add_subcommand("list", std::string("List the ") + kind.plural +
                                                " in processing order");
  add_config_options(cmd, o->cfg);
  cmd->callback([o, &kind] {
    const auto f = read_config_document(o->cfg);
    bool implicit = false;
    const auto policies = effective_policies(f.doc, kind, &implicit);
    ordered_json sorted = ordered_json::array();
    for (const auto i : processing_sequence(policies)) sorted.push_back(policies[i]);
    if (o->cfg.json) {
      const secret_attributes secrets(f.doc, f.path, f.dictionary_dir);
      for (auto& p : sorted) p = without_secrets(std::move(p), secrets);
      fmt::print("{}\n", sorted.dump(2));
      return;
    }
    if (sorted.empty()) {
      fmt::print("no {} in {}\n", kind.plural, f.path.string());
      return;
    }
    const bool crp = kind.type == policy_type::connection_request;
    std::vector<table_row> rows;
    rows.push_back({"ORDER", "NAME", "STATE", crp ? "ACTION" : "ACCESS", "CONDITIONS"});
    const auto orders = effective_orders(sorted);
    for (std::size_t i = 0; i < sorted.size(); ++i) {
      const auto& p = sorted[i];
      std::string what = crp ? p.value("action", std::string("authenticate"))
                             : p.value("access", std::string("?"));
      if (!crp && p.value("ignore_dial_in", false)) what += " (ignore dial-in)";
      rows.push_back({std::to_string(orders[i]), p.value("name", std::string()),
                      p.value("enabled", true) ? "enabled" : "disabled", what,
                      summarize_conditions(p.value("conditions", ordered_json::object()))});
    }
    print_table(rows);
    if (implicit)
      fmt::print("(the file has no connection_request_policies: npsd uses this implicit "
                 "default, as NPS ships)\n");
  });
}

void add_show(CLI::App& parent, const policy_kind& kind) {
  auto o = std::make_shared<view_options>();
  auto* cmd = parent.add_subcommand("show", std::string("Show one ") + kind.noun);
  add_config_options(cmd, o->cfg);
  cmd->add_option("NAME", o->name, "Name (case-insensitive)")->required();
  cmd->callback([o, &kind] {
    const auto f = read_config_document(o->cfg);
    ordered_json view = ordered_json::object();
    view[kind.key] = effective_policies(f.doc, kind);
    const auto p = without_secrets(view[kind.key][require_entry(view, kind.key, kind.noun, o->name)],
                                   secret_attributes(f.doc, f.path, f.dictionary_dir));
    if (o->cfg.json)
      fmt::print("{}\n", p.dump(2));
    else
      print_policy(p, kind.type);
  });
}

void add_remove(CLI::App& parent, const policy_kind& kind) {
  auto o = std::make_shared<view_options>();
  auto* cmd = parent.add_subcommand("remove", std::string("Remove a ") + kind.noun);
  add_config_options(cmd, o->cfg);
  cmd->add_option("NAME", o->name, "Name (case-insensitive)")->required();
  cmd->callback([o, &kind] {
    auto f = open_config(o->cfg);
    bool materialized = false;
    auto& array = editable_policies(f.doc, kind, &materialized);
    const auto index = require_entry(f.doc, kind.key, kind.noun, o->name);
    const auto removed = array[index]["name"].get<std::string>();
    array.erase(array.begin() + static_cast<std::ptrdiff_t>(index));
    save_config(f);
    report_removed(kind.noun, removed, f, o->cfg.json);
    if (kind.type == policy_type::connection_request) warn_if_no_enabled_crp(f.doc);
  });
}

struct move_options {
  config_options cfg;
  std::string name;
  std::size_t to = 0;
};

void add_move(CLI::App& parent, const policy_kind& kind) {
  auto o = std::make_shared<move_options>();
  auto* cmd = parent.add_subcommand(
      "move", std::string("Move a ") + kind.noun +
                  " to another processing order; renumbers all 1..n, the others keeping their "
                  "relative order");
  add_config_options(cmd, o->cfg);
  cmd->add_option("NAME", o->name, "Name (case-insensitive)")->required();
  cmd->add_option("--to", o->to, "New processing order (1 = first)")
      ->required()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
  cmd->callback([o, &kind] {
    auto f = open_config(o->cfg);
    bool materialized = false;
    auto& array = editable_policies(f.doc, kind, &materialized);
    const auto index = require_entry(f.doc, kind.key, kind.noun, o->name);
    const auto moved = move_to_position(array, index, o->to);
    save_config(f);
    if (o->cfg.json) {
      ordered_json out = ordered_json::array();
      for (const auto& p : array) {
        ordered_json e = ordered_json::object();
        e["name"] = p["name"];
        e["order"] = p["order"];
        out.push_back(std::move(e));
      }
      fmt::print("{}\n", out.dump(2));
      return;
    }
    fmt::print("moved {} {} to processing order {} in {}\n", kind.noun,
               quote(array[moved]["name"].get<std::string>()), moved + 1, f.path.string());
    std::vector<table_row> rows;
    rows.push_back({"ORDER", "NAME"});
    for (const auto& p : array)
      rows.push_back({p["order"].dump(), p["name"].get<std::string>()});
    print_table(rows);
    fmt::print("npsd applies it when it reloads its configuration (npsctl reload)\n");
  });
}

}  // namespace

CLI::App* add_policy_group(CLI::App& app, const char* name, const policy_kind& kind,
                           const policy_command_help& help,
                           const std::function<std::shared_ptr<policy_specifics>()>& specifics) {
  auto* group = app.add_subcommand(name, help.group);
  group->require_subcommand(1);
  add_add(*group, kind, specifics());
  add_list(*group, kind);
  add_show(*group, kind);
  add_set(*group, kind, help.set, specifics());
  add_remove(*group, kind);
  add_move(*group, kind);
  return group;
}

}  // namespace npsd::npsctl
