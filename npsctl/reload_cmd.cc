// npsctl reload: validate the configuration as npsd would, then ask the running npsd to load it
// through its control socket (server.control_socket).
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>

#include "npsctl/command.h"
#include "npsctl/config_edit.h"
#include "npsctl/control_client.h"
#include "npsctl/validation.h"

namespace npsd::npsctl {

namespace {

struct reload_options {
  config_options cfg;
  double timeout_seconds = 10;
};

}  // namespace

void add_reload_command(CLI::App& app) {
  auto o = std::make_shared<reload_options>();
  auto* cmd = app.add_subcommand(
      "reload",
      "Validate the configuration, then tell the running npsd to load it (through "
      "server.control_socket)");
  add_config_options(cmd, o->cfg);
  cmd->add_option("--timeout", o->timeout_seconds, "Seconds to wait for npsd's answer")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  cmd->callback([o] {
    const auto v = validate_installation(o->cfg.config_path(), o->cfg.dictionary_dir());
    if (!v)
      throw command_error(exit_bad_input,
                          "not reloading, the configuration is invalid: " + v.error());
    const auto& socket = v->cfg->server.control_socket;
    if (socket.empty())
      throw command_error(exit_bad_input,
                          "the configuration has no server.control_socket: npsd cannot be told "
                          "to reload (send it SIGHUP)");
    const auto timeout = std::chrono::milliseconds(static_cast<long>(o->timeout_seconds * 1000));
    const auto reply = control_exchange(socket, R"({"command":"reload"})", timeout);
    if (!reply) throw command_error(exit_failure, reply.error().message);
    ordered_json j;
    try {
      j = ordered_json::parse(*reply);
    } catch (const nlohmann::json::parse_error&) {
      throw command_error(exit_failure, "unexpected reply from npsd (not JSON) on " +
                                            socket.string());
    }
    if (!j.is_object() || !j.contains("ok") || !j["ok"].is_boolean())
      throw command_error(exit_failure, "unexpected reply from npsd (no \"ok\") on " +
                                            socket.string());
    const bool ok = j["ok"].get<bool>();
    if (o->cfg.json) {
      fmt::print("{}\n", j.dump(2));
      if (!ok) throw command_error(exit_bad_input, "npsd refused the reload");
      return;
    }
    const auto text = [&](const char* key) {
      const auto it = j.find(key);
      return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (!ok) {
      const auto error = text("error");
      throw command_error(exit_bad_input,
                          "npsd refused the reload: " + (error.empty() ? j.dump() : error));
    }
    std::string line = "npsd reloaded the configuration";
    if (const auto m = text("message"); !m.empty()) line += ": " + m;
    if (j.contains("generation")) line += " (generation " + j["generation"].dump() + ")";
    fmt::print("{}\n", line);
  });
}

void add_status_command(CLI::App& app) {
  auto o = std::make_shared<reload_options>();
  auto* cmd = app.add_subcommand(
      "status",
      "Ask the running npsd for its counters (requests, EAP conversations, directory) as JSON");
  add_config_options(cmd, o->cfg);
  cmd->add_option("--timeout", o->timeout_seconds, "Seconds to wait for npsd's answer")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  cmd->callback([o] {
    const auto v = validate_installation(o->cfg.config_path(), o->cfg.dictionary_dir());
    if (!v) throw command_error(exit_bad_input, "the configuration is invalid: " + v.error());
    const auto& socket = v->cfg->server.control_socket;
    if (socket.empty())
      throw command_error(exit_bad_input,
                          "the configuration has no server.control_socket: npsd cannot be asked");
    const auto timeout = std::chrono::milliseconds(static_cast<long>(o->timeout_seconds * 1000));
    const auto reply = control_exchange(socket, R"({"command":"status"})", timeout);
    if (!reply) throw command_error(exit_failure, reply.error().message);
    try {
      fmt::print("{}\n", ordered_json::parse(*reply).dump(2));
    } catch (const nlohmann::json::parse_error&) {
      throw command_error(exit_failure, "unexpected reply from npsd (not JSON) on " +
                                            socket.string());
    }
  });
}

}  // namespace npsd::npsctl
