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

// A subcommand that talks to the running npsd: the configuration options and --timeout.
std::shared_ptr<reload_options> add_control_subcommand(CLI::App& app, CLI::App*& cmd,
                                                       const char* name, const char* help) {
  auto o = std::make_shared<reload_options>();
  cmd = app.add_subcommand(name, help);
  add_config_options(cmd, o->cfg);
  cmd->add_option("--timeout", o->timeout_seconds, "Seconds to wait for npsd's answer")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  return o;
}

// Sends one command over the configuration's control socket; npsd's answer, parsed.
ordered_json ask_npsd(const reload_options& o, const std::string& command,
                      const char* invalid_prefix, const char* no_socket) {
  const auto v = validate_installation(o.cfg.config_path(), o.cfg.dictionary_dir());
  if (!v) throw command_error(exit_bad_input, invalid_prefix + v.error());
  const auto& socket = v->cfg->server.control_socket;
  if (socket.empty()) throw command_error(exit_bad_input, no_socket);
  const auto timeout = std::chrono::milliseconds(static_cast<long>(o.timeout_seconds * 1000));
  const auto reply = control_exchange(socket, R"({"command":")" + command + R"("})", timeout);
  if (!reply) throw command_error(exit_failure, reply.error().message);
  try {
    return ordered_json::parse(*reply);
  } catch (const nlohmann::json::parse_error&) {
    throw command_error(exit_failure,
                        "unexpected reply from npsd (not JSON) on " + socket.string());
  }
}

}  // namespace

void add_reload_command(CLI::App& app) {
  CLI::App* cmd = nullptr;
  auto o = add_control_subcommand(
      app, cmd, "reload",
      "Validate the configuration, then tell the running npsd to load it (through "
      "server.control_socket)");
  cmd->callback([o] {
    const auto j = ask_npsd(*o, "reload", "not reloading, the configuration is invalid: ",
                            "the configuration has no server.control_socket: npsd cannot be "
                            "told to reload (send it SIGHUP)");
    if (!j.is_object() || !j.contains("ok") || !j["ok"].is_boolean())
      throw command_error(exit_failure, "unexpected reply from npsd (no \"ok\")");
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
  CLI::App* cmd = nullptr;
  auto o = add_control_subcommand(
      app, cmd, "status",
      "Ask the running npsd for its counters (requests, EAP conversations, directory) as JSON");
  cmd->callback([o] {
    fmt::print("{}\n", ask_npsd(*o, "status", "the configuration is invalid: ",
                                "the configuration has no server.control_socket: npsd cannot "
                                "be asked")
                           .dump(2));
  });
}

}  // namespace npsd::npsctl
