// npsctl policy ...: network policies (NPS "Network Policies"): who is granted or denied
// access, under which constraints, and which RADIUS attributes the Access-Accept carries.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "npsctl/command.h"
#include "npsctl/config_edit.h"
#include "npsctl/constraint_options.h"
#include "npsctl/file_edit.h"
#include "npsctl/policy_common.h"

namespace npsd::npsctl {

namespace {

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

// Access permission, dial-in, constraints and reply attributes: what only a network policy has.
class np_specifics final : public policy_specifics {
 public:
  void add_options(CLI::App* cmd, bool for_set) override {
    auto* access = cmd->add_option("--access", access_, "Access permission: grant or deny")
                       ->check(CLI::IsMember({"grant", "deny"}, CLI::ignore_case));
    if (for_set) {
      cmd->add_option("--ignore-dial-in", ignore_dial_in_set_,
                      "true: ignore the account's dial-in permission; false: honour it");
      cmd->add_flag("--clear-constraints", clear_constraints_,
                    "Remove every constraint (before applying the constraint options given)");
    } else {
      access->required();
      cmd->add_flag("--ignore-dial-in", ignore_dial_in_,
                    "Ignore the user account's dial-in permission");
    }
    add_constraint_options(cmd, constraints_, for_set);
    const char* group = "Settings";
    cmd->add_option("--reply", reply_,
                    "RADIUS attribute returned in the Access-Accept: 'Name=value', or "
                    "'Name:TAG=value' for tagged ones (Tunnel-Type:1=VLAN); repeatable")
        ->allow_extra_args(false)
        ->group(group);
    if (for_set)
      cmd->add_flag("--clear-reply", clear_reply_,
                    "Remove every reply attribute (before adding the ones given)")
          ->group(group);
  }

  void init(ordered_json& p) const override {
    p["access"] = "grant";
    p["ignore_dial_in"] = ignore_dial_in_;
  }

  void apply(ordered_json& p) const override {
    if (access_) p["access"] = fold_case(*access_);
    if (ignore_dial_in_set_) p["ignore_dial_in"] = *ignore_dial_in_set_;
    ordered_json cons = clear_constraints_ ? ordered_json::object()
                                           : p.value("constraints", ordered_json::object());
    apply_constraints(constraints_, cons);
    if (cons.empty())
      p.erase("constraints");
    else
      p["constraints"] = std::move(cons);
    if (clear_reply_ && p.contains("settings") && p["settings"].is_object())
      p["settings"].erase("attributes");
    if (!reply_.empty()) {
      if (!p.contains("settings") || !p["settings"].is_object())
        p["settings"] = ordered_json::object();
      auto& attrs = p["settings"]["attributes"];
      if (!attrs.is_array()) attrs = ordered_json::array();
      for (const auto& r : reply_) attrs.push_back(parse_reply(r));
    }
    if (p.contains("settings") && p["settings"].is_object() && p["settings"].empty())
      p.erase("settings");
  }

 private:
  std::optional<std::string> access_;
  bool ignore_dial_in_ = false;              // add
  std::optional<bool> ignore_dial_in_set_;  // set
  constraint_options constraints_;
  bool clear_constraints_ = false;
  std::vector<std::string> reply_;
  bool clear_reply_ = false;
};

}  // namespace

void add_policy_commands(CLI::App& app) {
  auto* policy = add_policy_group(
      app, "policy", network_policies,
      {"Manage network policies (who gets access, under which constraints)",
       "Change a network policy: each condition or constraint given replaces that one; --reply "
       "adds attributes"},
      [] { return std::make_shared<np_specifics>(); });
  add_policy_test_command(*policy);
}

}  // namespace npsd::npsctl
