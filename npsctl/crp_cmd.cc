// npsctl crp ...: connection request policies (NPS "Connection Request Policies"): which
// requests this server takes, how (authenticate, accept without credentials, reject), and the
// attribute manipulation applied before authentication (realm stripping).
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "npsctl/command.h"
#include "npsctl/config_edit.h"
#include "npsctl/file_edit.h"
#include "npsctl/policy_common.h"

namespace npsd::npsctl {

namespace {


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
    bad_input(fmt::format("--rewrite {}: expected ATTRIBUTE/FIND/REPLACE, e.g. "
                    "'User-Name/@example\\.com$/'",
                    quote(spec)));
  std::size_t i = slash + 1;
  for (; i < spec.size() && spec[i] != '/'; ++i)
    if (spec[i] == '\\') ++i;
  if (i >= spec.size())
    bad_input(fmt::format("--rewrite {}: expected ATTRIBUTE/FIND/REPLACE (the REPLACE part may be "
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
  if (suffix.empty()) bad_input("--strip-realm: expected a realm, e.g. example.com");
  return manipulation("User-Name", "@" + regex_escape(suffix) + "$", "");
}

std::string action_value(const std::string& a) {
  std::string out = fold_case(a);
  for (char& c : out)
    if (c == '-') c = '_';
  return out;
}

// The action and the attribute manipulations: what only a connection request policy has.
class crp_specifics final : public policy_specifics {
 public:
  void add_options(CLI::App* cmd, bool for_set) override {
    cmd->add_option("--action", action_,
                    "authenticate (on this server; the default), accept-without-credentials "
                    "(PAP/CHAP only) or reject")
        ->check(CLI::IsMember({"authenticate", "accept-without-credentials", "reject",
                               "accept_without_credentials"},
                              CLI::ignore_case));
    const char* group = "Attribute manipulation (before authentication)";
    cmd->add_option("--rewrite", rewrite_,
                    "Regex find/replace: 'ATTR/FIND/REPLACE' with ATTR User-Name, "
                    "Called-Station-Id or Calling-Station-Id; $1 references; repeatable")
        ->allow_extra_args(false)
        ->group(group);
    cmd->add_option("--strip-realm", strip_realm_,
                    "Remove '@SUFFIX' from the end of User-Name (find @SUFFIX$ replace \"\")")
        ->allow_extra_args(false)
        ->group(group);
    if (for_set)
      cmd->add_flag("--clear-manipulations", clear_manipulations_,
                    "Remove every manipulation (before adding the ones given)")
          ->group(group);
  }

  void init(ordered_json& p) const override { p["action"] = "authenticate"; }

  void apply(ordered_json& p) const override {
    if (action_) p["action"] = action_value(*action_);
    if (clear_manipulations_) p.erase("manipulations");
    ordered_json added = ordered_json::array();
    for (const auto& s : strip_realm_) added.push_back(strip_realm(s));
    for (const auto& r : rewrite_) added.push_back(parse_rewrite(r));
    if (!added.empty()) {
      if (!p.contains("manipulations") || !p["manipulations"].is_array())
        p["manipulations"] = ordered_json::array();
      for (auto& m : added) p["manipulations"].push_back(std::move(m));
    }
  }

 private:
  std::optional<std::string> action_;
  std::vector<std::string> rewrite_;
  std::vector<std::string> strip_realm_;
  bool clear_manipulations_ = false;
};

}  // namespace

void add_crp_commands(CLI::App& app) {
  add_policy_group(
      app, "crp", connection_request_policies,
      {"Manage connection request policies (which requests are taken, and how)",
       "Change a connection request policy: each condition given replaces that condition; "
       "--rewrite/--strip-realm add manipulations"},
      [] { return std::make_shared<crp_specifics>(); });
}

}  // namespace npsd::npsctl
