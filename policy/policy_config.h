#pragma once
// Reading and validating the policy sections of the configuration: "time_zone",
// "connection_request_policies" and "network_policies", checked against the dictionary.
#include "policy/json_reader.h"
#include "policy/model.h"
#include "radius/dictionary.h"

namespace npsd::policy {

// Throws config_error naming the JSON pointer (and the policy by name) on any problem.
policies read_policies(const json_reader& root, const radius::dictionary& dict);

// Compiles a regex for a configuration field (case-insensitive, Perl syntax); `r` names the
// field in the error.
regex_match compile_regex(const json_reader& r);

}  // namespace npsd::policy
