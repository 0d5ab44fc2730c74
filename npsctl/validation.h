#pragma once
// The whole check npsd makes at start-up: the configuration with npsd's own loader (dictionary
// and policies included) and the local user file it names. Used by validate, reload, import.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include "policy/config.h"
#include "radius/expected.h"

namespace npsd::npsctl {

struct validated_config {
  std::shared_ptr<const policy::config> cfg;
  std::size_t users = 0;
};

expected<validated_config, std::string> validate_installation(
    const std::filesystem::path& config, const std::filesystem::path& dictionary_dir);

}  // namespace npsd::npsctl
