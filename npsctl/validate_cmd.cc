// npsctl validate: the checks npsd makes when it starts or reloads, without touching npsd.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <memory>

#include "npsctl/command.h"
#include "npsctl/config_edit.h"
#include "npsctl/validation.h"

namespace npsd::npsctl {

void add_validate_command(CLI::App& app) {
  auto o = std::make_shared<config_options>();
  auto* cmd = app.add_subcommand(
      "validate",
      "Check the configuration, its dictionary, policies and user file as npsd would (exit 0 "
      "valid, 2 invalid)");
  add_config_options(cmd, *o);
  cmd->callback([o] {
    const auto v = validate_installation(o->config_path(), o->dictionary_dir());
    if (o->json) {
      ordered_json out = ordered_json::object();
      out["ok"] = v.has_value();
      if (v) {
        out["clients"] = v->cfg->clients.size();
        out["connection_request_policies"] = v->cfg->pol.crps.size();
        out["network_policies"] = v->cfg->pol.nps.size();
        out["users"] = v->users;
      } else {
        out["error"] = v.error();
      }
      fmt::print("{}\n", out.dump(2));
      if (!v) throw command_error(exit_bad_input, "the configuration is invalid");
      return;
    }
    if (!v) throw command_error(exit_bad_input, v.error());
    fmt::print("configuration OK: {} clients, {} connection request policies, {} network "
               "policies\n",
               v->cfg->clients.size(), v->cfg->pol.crps.size(), v->cfg->pol.nps.size());
  });
}

}  // namespace npsd::npsctl
