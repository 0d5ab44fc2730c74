#pragma once
// Readable renderings of policies for `npsctl crp|policy list|show`: conditions, constraints,
// manipulations and reply attributes as an NPS administrator reads them in the console.
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "npsctl/condition_options.h"
#include "radius/dictionary.h"

namespace npsd::npsctl {

// The reply attributes whose values are secrets (Tunnel-Password: the dictionary hides it on
// the wire), so that no listing shows them, as no listing shows a shared secret.
class secret_attributes {
 public:
  // The dictionary the configuration names ("dictionary", relative to the file's directory),
  // else `dictionary_dir`. When it cannot be loaded, every reply value counts as secret.
  secret_attributes(const nlohmann::ordered_json& doc, const std::filesystem::path& config,
                    const std::filesystem::path& dictionary_dir);
  bool is_secret(std::string_view attribute) const;

 private:
  std::shared_ptr<const radius::dictionary> dict_;
};

// What stands for a secret value in npsctl's output.
inline constexpr const char* hidden_value = "(hidden)";

// The policy as stored, with the value of each secret reply attribute replaced by "(hidden)".
nlohmann::ordered_json without_secrets(nlohmann::ordered_json policy,
                                       const secret_attributes& secrets);

using label_value = std::pair<std::string, std::string>;

// One (NPS name, value) per condition, e.g. {"NAS Port Type", "Virtual"}.
std::vector<label_value> describe_conditions(const nlohmann::ordered_json& conditions);
// One per constraint.
std::vector<label_value> describe_constraints(const nlohmann::ordered_json& constraints);

// "NAS Port Type = Virtual; Windows Groups = VPN Users", or "(none: matches every request)".
std::string summarize_conditions(const nlohmann::ordered_json& conditions);

// "Mon-Fri 08:00-18:00; Sat 09:00-12:00 (Europe/Paris)"
std::string format_day_time(const nlohmann::ordered_json& day_time);

// Prints the whole policy (a CRP or a network policy, as stored in the file; secret reply
// values already hidden, see without_secrets).
void print_policy(const nlohmann::ordered_json& policy, policy_type type);

}  // namespace npsd::npsctl
