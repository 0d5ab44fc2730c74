// npsd: the network policy server daemon.
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "server/log.h"
#include "server/privileges.h"
#include "server/server.h"

#include <filesystem>

#ifndef NPSD_DEFAULT_DICTIONARY_DIR
#define NPSD_DEFAULT_DICTIONARY_DIR "/usr/share/npsd/dictionaries"
#endif
#ifndef NPSD_INSTALLED_DICTIONARY_DIR
#define NPSD_INSTALLED_DICTIONARY_DIR "/usr/share/npsd/dictionaries"
#endif

namespace {

// The source tree's dictionaries while running from the build tree; where `cmake --install`
// put them once the source tree is gone (an installed package, the Docker image).
std::filesystem::path default_dictionary_dir() {
  std::error_code ec;
  if (std::filesystem::exists(NPSD_DEFAULT_DICTIONARY_DIR "/dictionary", ec))
    return NPSD_DEFAULT_DICTIONARY_DIR;
  return NPSD_INSTALLED_DICTIONARY_DIR;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any secret is read: a core file or a ptrace by the same user would expose them.
  npsd::server::disable_core_dumps();
  CLI::App app{"npsd: a RADIUS network policy server"};
  npsd::server::server_options opts;
  opts.default_dictionary = default_dictionary_dir();
  bool check = false;
  app.add_option("-c,--config", opts.config_file, "configuration file (JSON)")->required();
  app.add_flag("--check", check, "validate the configuration and everything it names, then exit");
  app.add_option("--ready-file", opts.ready_file,
                 "write the bound listeners as JSON to this file once ready (removed at exit)");
  app.set_version_flag("--version", "npsd 0.1.0");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  try {
    if (check) {
      const auto rt = npsd::server::load_runtime(opts, nullptr);
      if (!rt) {
        std::cerr << "npsd: configuration refused: " << rt.error() << '\n';
        return 2;
      }
      std::cout << "npsd: configuration OK (" << (*rt)->cfg->clients.size() << " clients, "
                << (*rt)->cfg->server.listeners.size() << " listeners)\n";
      return 0;
    }
    npsd::server::server s(std::move(opts));
    return s.run();
  } catch (const std::exception& e) {
    npsd::server::log_event(spdlog::level::critical, "fatal error", {{"error", e.what()}});
    return 1;
  }
}
