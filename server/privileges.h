#pragma once
// What npsd does about its own privileges: no core dumps (they would hold secrets and keys), and,
// when started as root, the switch to the unprivileged account of server.user / server.group
// once the sockets are bound and the keys read.
#include <sys/types.h>

#include <optional>
#include <string>

#include "policy/config.h"
#include "radius/expected.h"

namespace npsd::server {

// RLIMIT_CORE to 0 (soft and hard) and the process not dumpable (no core, no ptrace by the same
// user, /proc/PID owned by root). Called at start and again after the switch of user, which
// resets the dumpable flag.
void disable_core_dumps();

struct run_as_account {
  std::string user;
  uid_t uid = 0;
  gid_t gid = 0;
};

// The account of server.user / server.group, looked up; nullopt when none is configured. The
// error names the configuration file and the field.
expected<std::optional<run_as_account>, std::string> resolve_run_as(const policy::config& c);

// Switches the whole process (every thread) to the account: supplementary groups from the group
// database, then group and user (real, effective and saved), then checks that the switch cannot
// be undone (setuid(0) fails) and disables core dumps again. Needs root. Empty = done; otherwise
// the error.
std::string drop_privileges(const run_as_account& a);

}  // namespace npsd::server
