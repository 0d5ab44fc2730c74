#pragma once
// Builds the directory back end a configuration names (the local user file or LDAP), for npsd
// and npsctl alike, and answers "what does npsd see for this identity" for either.
#include <functional>
#include <memory>
#include <string>

#include "ldap/directory.h"
#include "ldap/directory_config.h"
#include "ldap/ldap_directory.h"
#include "ldap/local_directory.h"
#include "radius/expected.h"

namespace npsd::ldap {

struct directory_options {
  local_directory::offload_fn offload;  // local: where password KDFs run (empty: inline)
  log_fn log;                           // ldap: where log lines go (empty: spdlog's default)
  timing_fn timing;                     // ldap: told each directory operation's time
};

// local: loads the user file (its errors name the file and the field). ldap: starts the worker
// pool; servers are contacted when first needed, so this does not fail for an unreachable
// directory. Both get the password cache settings.
expected<std::shared_ptr<directory>, std::string> make_directory(const directory_config& cfg,
                                                                 directory_options options = {});

// find_account with what `npsctl directory test` shows: which server (or user file) answered,
// how long it took, which groups are direct. Any back end: for one that is neither local nor
// LDAP, the info holds only the time.
void find_account_detailed(directory& dir, std::string identity,
                           std::function<void(lookup_result, lookup_info)> done);

}  // namespace npsd::ldap
