// npsctl crp ...: connection request policies (NPS "Connection Request Policies"): which
// requests this server takes, how (authenticate, accept without credentials, reject), and the
// attribute manipulation applied before authentication (realm stripping).
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "npsctl/command.h"
#include "npsctl/config_edit.h"
#include "npsctl/file_edit.h"
#include "npsctl/policy_common.h"

namespace npsd::npsctl {

namespace {

const policy_kind& kind = connection_request_policies;

struct crp_options {
  policy_options common;
  std::optional<std::string> action;
  std::vector<std::string> rewrite;
  std::vector<std::string> strip_realm;
  bool clear_manipulations = false;
};

[[noreturn]] void bad(const std::string& what) { throw command_error(exit_bad_input, what); }

constexpr const char* manipulated_attributes[] = {"User-Name", "Called-Station-Id",
                                                  "Calling-Station-Id"};

std::string canonical_attribute(const std::string& name) {
  for (const char* a : manipulated_attributes)
    if (fold_case(name) == fold_case(a)) return a;
  return name;  // the loader names what is allowed
}

ordered_json manipulation(const std::string& attribute, const std::string& find,
                          const std::string& replace) {
  ordered_json m = ordered_json::object();
  m["attribute"] = canonical_attribute(attribute);
  m["find"] = find;
  m["replace"] = replace;
  return m;
}

// "ATTR/FIND/REPLACE": FIND ends at the first '/' not escaped by a backslash (the escape stays:
// "\/" matches a slash in a regex); REPLACE is the rest, '/' included.
ordered_json parse_rewrite(const std::string& spec) {
  const auto slash = spec.find('/');
  if (slash == std::string::npos || slash == 0)
    bad(fmt::format("--rewrite {}: expected ATTRIBUTE/FIND/REPLACE, e.g. "
                    "'User-Name/@example\\.com$/'",
                    quote(spec)));
  std::size_t i = slash + 1;
  for (; i < spec.size() && spec[i] != '/'; ++i)
    if (spec[i] == '\\') ++i;
  if (i >= spec.size())
    bad(fmt::format("--rewrite {}: expected ATTRIBUTE/FIND/REPLACE (the REPLACE part may be "
                    "empty, but its slash is needed)",
                    quote(spec)));
  return manipulation(spec.substr(0, slash), spec.substr(slash + 1, i - slash - 1),
                      spec.substr(i + 1));
}

std::string regex_escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (std::string_view(R"(\^$.|?*+()[]{})").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

ordered_json strip_realm(std::string suffix) {
  if (!suffix.empty() && suffix.front() == '@') suffix.erase(0, 1);
  if (suffix.empty()) bad("--strip-realm: expected a realm, e.g. example.com");
  return manipulation("User-Name", "@" + regex_escape(suffix) + "$", "");
}

std::string action_value(const std::string& a) {
  std::string out = fold_case(a);
  for (char& c : out)
    if (c == '-') c = '_';
  return out;
}

void add_specific_options(CLI::App* cmd, crp_options& o, bool for_set) {
  cmd->add_option("--action", o.action,
                  "authenticate (on this server; the default), accept-without-credentials "
                  "(PAP/CHAP only) or reject")
      ->check(CLI::IsMember({"authenticate", "accept-without-credentials", "reject",
                             "accept_without_credentials"},
                            CLI::ignore_case));
  const char* group = "Attribute manipulation (before authentication)";
  cmd->add_option("--rewrite", o.rewrite,
                  "Regex find/replace: 'ATTR/FIND/REPLACE' with ATTR User-Name, "
                  "Called-Station-Id or Calling-Station-Id; $1 references; repeatable")
      ->allow_extra_args(false)
      ->group(group);
  cmd->add_option("--strip-realm", o.strip_realm,
                  "Remove '@SUFFIX' from the end of User-Name (find @SUFFIX$ replace \"\")")
      ->allow_extra_args(false)
      ->group(group);
  if (for_set)
    cmd->add_flag("--clear-manipulations", o.clear_manipulations,
                  "Remove every manipulation (before adding the ones given)")
        ->group(group);
}

void apply_specific(const crp_options& o, ordered_json& p) {
  if (o.action) p["action"] = action_value(*o.action);
  if (o.clear_manipulations) p.erase("manipulations");
  ordered_json added = ordered_json::array();
  for (const auto& s : o.strip_realm) added.push_back(strip_realm(s));
  for (const auto& r : o.rewrite) added.push_back(parse_rewrite(r));
  if (!added.empty()) {
    if (!p.contains("manipulations") || !p["manipulations"].is_array())
      p["manipulations"] = ordered_json::array();
    for (auto& m : added) p["manipulations"].push_back(std::move(m));
  }
}

void add_crp_add(CLI::App& crp) {
  auto o = std::make_shared<crp_options>();
  auto* cmd = crp.add_subcommand("add", "Add a connection request policy");
  add_policy_options(cmd, o->common, kind, false);
  add_specific_options(cmd, *o, false);
  cmd->callback([o] {
    auto f = open_config(o->common.cfg);
    bool materialized = false;
    auto& array = editable_policies(f.doc, kind, &materialized);
    require_unique_name(f.doc, kind.key, kind.noun, o->common.name);
    auto p = new_policy(o->common);
    p["action"] = "authenticate";
    apply_specific(*o, p);
    const auto index = insert_policy(array, std::move(p), o->common);
    save_config(f);
    report_policy("added", array[index], kind, f, o->common.cfg.json, materialized);
  });
}

void add_crp_set(CLI::App& crp) {
  auto o = std::make_shared<crp_options>();
  auto* cmd = crp.add_subcommand(
      "set",
      "Change a connection request policy: each condition given replaces that condition; "
      "--rewrite/--strip-realm add manipulations");
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
    warn_if_no_enabled_crp(f.doc);
  });
}

}  // namespace

void add_crp_commands(CLI::App& app) {
  auto* crp = app.add_subcommand(
      "crp", "Manage connection request policies (which requests are taken, and how)");
  crp->require_subcommand(1);
  add_crp_add(*crp);
  add_policy_view_commands(*crp, kind);
  add_crp_set(*crp);
  add_policy_remove_move_commands(*crp, kind);
}

}  // namespace npsd::npsctl
