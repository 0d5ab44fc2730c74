// The configuration loader on any text: JSON parsing, the schema (every section, field type,
// range and cross-reference: clients, directory, EAP, accounting, connection request policies
// and network policies with their conditions, constraints and settings checked against the
// dictionary). Relative paths resolve against examples/always-on-vpn, so the shipped
// configurations (the seeds) load fully.
// Invariants: a refusal is a message naming the input, never an exception or a crash.
// Inputs naming device or kernel files (/dev, /proc, /sys) are skipped: reading /dev/zero as
// a secret file is not a bug of the loader.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "policy/config.h"

using namespace npsd;

namespace {

bool names_a_device(const nlohmann::json& j) {
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    for (const std::string_view dir : {"dev", "proc", "sys"})
      if (s.find(dir) != std::string::npos) return true;
    return false;
  }
  if (j.is_structured())
    for (const auto& v : j)
      if (names_a_device(v)) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded() && names_a_device(j)) return 0;
  const auto c = policy::parse_config(text, "fuzz.json", NPSD_EXAMPLES_DIR, NPSD_DICTIONARY_DIR);
  if (!c && c.error().rfind("fuzz.json: ", 0) != 0) std::abort();  // the message names the file
  return 0;
}
