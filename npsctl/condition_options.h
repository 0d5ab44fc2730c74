#pragma once
// The condition options shared by `npsctl crp add|set` and `npsctl policy add|set`, and the
// catalogue of conditions (JSON key, option, NPS name) that the display uses too.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace npsd::npsctl {

enum class policy_type { connection_request, network };

enum class condition_kind {
  names,       // repeatable; array of strings (groups, CIDRs, authentication types)
  values,      // repeatable; array of dictionary VALUE names or integers
  eap_types,   // repeatable; array of EAP type names or integers
  regex,       // one string
  day_time,    // repeatable windows "Mon-Fri 08:00-18:00"
  attributes,  // repeatable "Attr~REGEX" or "Attr=v1,v2"
};

struct condition_spec {
  const char* key;     // JSON key in "conditions"
  const char* option;  // command-line option
  const char* label;   // the NPS name, for display
  condition_kind kind;
  bool network_only;   // not allowed on connection request policies
  const char* help;
};

std::span<const condition_spec> condition_catalogue();

// Values of the condition options as given on the command line.
struct condition_options {
  std::map<std::string, std::vector<std::string>> lists;   // by JSON key
  std::map<std::string, std::optional<std::string>> single;  // by JSON key (regexes)
  std::optional<std::string> day_time_zone;
  std::vector<std::string> clear;  // --clear-condition (set only)
};

// Registers the options valid for `type` on `cmd`; `for_set` adds --clear-condition.
void add_condition_options(CLI::App* cmd, condition_options& o, policy_type type, bool for_set);

// Sets each condition given on the command line in `conditions` (a JSON object), replacing
// any previous value of that condition; removes the ones named by --clear-condition first.
// Throws command_error (exit 2) on a malformed option value.
void apply_conditions(const condition_options& o, nlohmann::ordered_json& conditions);

// Parsing helpers shared with the constraint options.
// "Mon-Fri 08:00-18:00", "Mon,Wed 09:00-12:00", "Sat,Sun", "22:00-06:00" -> a window object.
nlohmann::ordered_json parse_day_time_window(const std::string& spec, const std::string& option);
// The windows, or {"time_zone": zone, "windows": [...]} when a zone is given.
nlohmann::ordered_json day_time_value(const std::vector<std::string>& specs,
                                      const std::optional<std::string>& zone,
                                      const std::string& option);
// A VALUE name stays a string; a decimal number becomes an integer.
nlohmann::ordered_json value_or_number(const std::string& text);
// "--NAS_Port-Type" -> "nas-port-type": how --clear-condition and --clear-constraint compare
// an option name or a JSON key.
std::string option_word(std::string_view s);

// Exit 2: "OPTION NAME: no such WHAT (one of: KNOWN)".
[[noreturn]] void no_such_entry(const std::string& name, std::string_view option,
                                std::string_view what, const std::vector<std::string>& known);

// The entry of a catalogue (conditions, constraints) whose option or JSON key is `name`, as
// option_word compares them; exit 2 otherwise (no_such_entry, listing the options).
template <class Spec>
const Spec& find_in_catalogue(std::span<const Spec> catalogue, const std::string& name,
                              std::string_view option, std::string_view what) {
  const auto want = option_word(name);
  for (const auto& s : catalogue)
    if (want == option_word(s.option) || want == option_word(s.key)) return s;
  std::vector<std::string> known;
  for (const auto& s : catalogue) known.push_back(option_word(s.option));
  no_such_entry(name, option, what, known);
}

}  // namespace npsd::npsctl
