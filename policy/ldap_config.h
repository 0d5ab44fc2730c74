#pragma once
// Reading the "ldap" object of the directory section (policy/config.cc read_directory): every
// key checked, the profile's defaults applied, secrets read from their files.
#include <filesystem>

#include "ldap/directory_config.h"
#include "policy/json_reader.h"

namespace npsd::policy {

// Throws config_error naming the JSON pointer; the message never holds the bind password.
ldap::ldap_config read_ldap_config(const json_reader& r, const std::filesystem::path& base);

}  // namespace npsd::policy
