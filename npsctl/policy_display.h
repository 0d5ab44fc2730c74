#pragma once
// Readable renderings of policies for `npsctl crp|policy list|show`: conditions, constraints,
// manipulations and reply attributes as an NPS administrator reads them in the console.
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "npsctl/condition_options.h"

namespace npsd::npsctl {

using label_value = std::pair<std::string, std::string>;

// One (NPS name, value) per condition, e.g. {"NAS Port Type", "Virtual"}.
std::vector<label_value> describe_conditions(const nlohmann::ordered_json& conditions);
// One per constraint.
std::vector<label_value> describe_constraints(const nlohmann::ordered_json& constraints);

// "NAS Port Type = Virtual; Windows Groups = VPN Users", or "(none: matches every request)".
std::string summarize_conditions(const nlohmann::ordered_json& conditions);

// "Mon-Fri 08:00-18:00; Sat 09:00-12:00 (Europe/Paris)"
std::string format_day_time(const nlohmann::ordered_json& day_time);

// Prints the whole policy (a CRP or a network policy, as stored in the file).
void print_policy(const nlohmann::ordered_json& policy, policy_type type);

}  // namespace npsd::npsctl
