#pragma once
// The options every configuration command takes: --config FILE (default $NPSD_CONFIG, else
// /etc/npsd/npsd.json), --dictionary DIR (used when the file names none) and --json.
#include <filesystem>
#include <string>

namespace CLI {
class App;
}

namespace npsd::npsctl {

inline constexpr const char* default_config_path = "/etc/npsd/npsd.json";

struct config_options {
  std::string config;      // empty: $NPSD_CONFIG, else default_config_path
  std::string dictionary;  // empty: the dictionaries npsd ships
  bool json = false;

  std::filesystem::path config_path() const;
  std::filesystem::path dictionary_dir() const;
};

// Adds --config and --dictionary to `cmd`, and --json when `with_json`.
void add_config_options(CLI::App* cmd, config_options& o, bool with_json = true);

}  // namespace npsd::npsctl
