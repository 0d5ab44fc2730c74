#pragma once
// The constraint options of `npsctl policy add|set` (NPS network policy constraints: checked
// once the policy's conditions have matched; a failing one rejects the request).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace npsd::npsctl {

struct constraint_spec {
  const char* key;     // JSON key in "constraints"
  const char* option;  // command-line option
  const char* label;   // the NPS name, for display
};

std::span<const constraint_spec> constraint_catalogue();

struct constraint_options {
  std::vector<std::string> auth_methods;
  std::optional<std::int64_t> idle_timeout;
  std::optional<std::int64_t> session_timeout;
  std::optional<std::string> called_station_id;
  std::optional<std::string> calling_station_id;
  std::vector<std::string> day_time;
  std::optional<std::string> day_time_zone;
  std::vector<std::string> nas_port_type;
  std::vector<std::string> cert_ekus;
  std::optional<std::string> cert_issuer;
  std::vector<std::string> clear;  // --clear-constraint (set only)
};

void add_constraint_options(CLI::App* cmd, constraint_options& o, bool for_set);

// Sets each constraint given in `constraints` (a JSON object), replacing its previous value;
// removes the ones named by --clear-constraint first. Exit 2 on a malformed value.
void apply_constraints(const constraint_options& o, nlohmann::ordered_json& constraints);

}  // namespace npsd::npsctl
