#pragma once
// The configured directory, as npsd builds it (ldap::make_directory), for npsctl's commands
// that look accounts up: `directory test` and `policy test`. Lookups wait for the answer.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ldap/directory_factory.h"
#include "policy/config.h"

namespace npsd::npsctl {

// The LDAP back end's warnings and errors (a server down, a refused bind), as
// "message key=\"value\" ...", kept for a command's JSON output. Thread-safe.
class directory_log {
 public:
  void add(std::string line);
  std::vector<std::string> lines() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

// Throws command_error when the back end cannot be built (e.g. the user file is invalid).
// The back end's warnings and errors go to `log` when given, else to stderr.
std::shared_ptr<ldap::directory> open_directory(const policy::directory_config& cfg,
                                                std::shared_ptr<directory_log> log = nullptr);

struct directory_answer {
  ldap::lookup_result result;
  ldap::lookup_info info;
};

// find_account, waiting for the answer (the LDAP back end bounds it with its timeouts).
directory_answer lookup_account(ldap::directory& dir, const std::string& identity);

}  // namespace npsd::npsctl
