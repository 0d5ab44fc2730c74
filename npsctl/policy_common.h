#pragma once
// What `npsctl crp ...` and `npsctl policy ...` share: the two kinds of policy, the options of
// add and set common to both (name, order, state, description, conditions), and the list,
// show, remove and move commands, which work the same on both.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "npsctl/condition_options.h"
#include "npsctl/config_edit.h"
#include "npsctl/config_options.h"

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

void add_policy_options(CLI::App* cmd, policy_options& o, const policy_kind& kind, bool for_set);

// A new policy object (name, order placeholder, enabled, description, conditions), in the key
// order the file uses.
ordered_json new_policy(const policy_options& o);

// Adds `entry` to the array (at the end in processing order, or at --order). Returns its index.
std::size_t insert_policy(ordered_json& array, ordered_json entry, const policy_options& o);

// set: applies rename, enabled, description, conditions to array[index], then --order.
// Returns the entry's index afterwards.
std::size_t update_policy(ordered_json& array, std::size_t index, const policy_options& o,
                          const policy_kind& kind);

// After a successful save: "added network policy "X" (processing order 2) in FILE", or with
// --json the entry as stored.
void report_policy(const char* verb, const ordered_json& entry, const policy_kind& kind,
                   const config_file& f, bool json, bool materialized);

// Prints a note on standard error when no enabled connection request policy is left.
void warn_if_no_enabled_crp(const ordered_json& doc);

// list and show; remove and move.
void add_policy_view_commands(CLI::App& parent, const policy_kind& kind);
void add_policy_remove_move_commands(CLI::App& parent, const policy_kind& kind);

}  // namespace npsd::npsctl
