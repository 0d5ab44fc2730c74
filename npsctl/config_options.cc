#include "npsctl/config_options.h"

#include <CLI/CLI.hpp>
#include <cstdlib>

#ifndef NPSD_DEFAULT_DICTIONARY_DIR
#error "NPSD_DEFAULT_DICTIONARY_DIR must be defined by the build (npsctl/CMakeLists.txt)"
#endif

namespace npsd::npsctl {

std::filesystem::path config_options::config_path() const {
  if (!config.empty()) return config;
  if (const char* env = std::getenv("NPSD_CONFIG"); env != nullptr && *env != '\0') return env;
  return default_config_path;
}

std::filesystem::path config_options::dictionary_dir() const {
  return dictionary.empty() ? std::filesystem::path(NPSD_DEFAULT_DICTIONARY_DIR)
                            : std::filesystem::path(dictionary);
}

void add_config_options(CLI::App* cmd, config_options& o, bool with_json) {
  cmd->add_option("--config", o.config,
                  "Configuration file (default: $NPSD_CONFIG, else /etc/npsd/npsd.json)");
  cmd->add_option("--dictionary", o.dictionary,
                  "Dictionary directory, when the configuration names none (default: the "
                  "dictionaries shipped with npsd)");
  if (with_json) cmd->add_flag("--json", o.json, "Machine-readable JSON output");
}

}  // namespace npsd::npsctl
