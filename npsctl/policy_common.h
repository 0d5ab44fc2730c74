#pragma once
// What `npsctl crp ...` and `npsctl policy ...` share: the two kinds of policy, and their
// commands: add and set (the options common to both kinds: name, order, state, description,
// conditions; each kind adds its own through policy_specifics), list, show, remove and move.
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "npsctl/condition_options.h"
#include "npsctl/config_edit.h"

namespace CLI {
class App;
}

namespace npsd::npsctl {

struct policy_kind {
  policy_type type;
  const char* key;     // the configuration's array: "network_policies"
  const char* noun;    // "network policy"
  const char* plural;  // "network policies"
};

extern const policy_kind connection_request_policies;
extern const policy_kind network_policies;

// The connection request policy npsd uses when the file has no "connection_request_policies"
// (as NPS ships): order 1, enabled, no conditions, authenticate.
inline constexpr const char* default_crp_name = "Use Windows authentication for all users";
ordered_json default_crp();

// The policies npsd sees, as stored (not sorted): doc[key], or for CRPs without the key the
// implicit default (then *implicit is set).
ordered_json effective_policies(const ordered_json& doc, const policy_kind& kind,
                                bool* implicit = nullptr);

// doc[key] for editing, created if absent; for CRPs the implicit default is written out first
// so that adding a policy does not silently remove it (then *materialized is set).
ordered_json& editable_policies(ordered_json& doc, const policy_kind& kind, bool* materialized);

// What add and set do differently for each kind of policy: its own options, the keys a new
// policy starts with, and how the options given change a policy. One object per command (add
// or set): it holds that command's option values.
class policy_specifics {
 public:
  virtual ~policy_specifics() = default;
  // Registers the kind's own options on `cmd` (for set, or for add).
  virtual void add_options(CLI::App* cmd, bool for_set) = 0;
  // add: the kind's keys of a new policy, before apply().
  virtual void init(ordered_json& policy) const = 0;
  // add and set: applies the kind's options given.
  virtual void apply(ordered_json& policy) const = 0;
};

struct policy_command_help {
  const char* group;  // the help of `npsctl crp` or `npsctl policy`
  const char* set;    // the help of set
};

// Registers `npsctl crp|policy` with add, list, show, set, remove and move, which work the same
// on both kinds; `specifics` makes the kind's part of add and of set (called once for each).
// Returns the group's command, for more subcommands.
CLI::App* add_policy_group(CLI::App& app, const char* name, const policy_kind& kind,
                           const policy_command_help& help,
                           const std::function<std::shared_ptr<policy_specifics>()>& specifics);

// Prints a note on standard error when no enabled connection request policy is left.
void warn_if_no_enabled_crp(const ordered_json& doc);

}  // namespace npsd::npsctl
