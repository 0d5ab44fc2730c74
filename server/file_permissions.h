#pragma once
// The permissions of the files that hold secrets (the configuration, shared secret files, the
// local user file, the LDAP bind password file, the EAP private key): a file other users can
// read is a warning or a refusal (server.file_permissions); one they can write is always refused,
// since anyone could replace the secrets or the policy. Group permissions are left alone: the
// group is how an administrator lets the unprivileged account (server.user) read them.
#include <string>
#include <vector>

#include "policy/config.h"

namespace npsd::server {

struct file_permission_finding {
  std::filesystem::path file;
  std::string pointer;  // the field naming it, "" for the configuration file itself
  unsigned mode = 0;    // the permission bits (07777)
  bool writable = false;  // by others (else: readable by others)
};

struct file_permission_report {
  std::vector<file_permission_finding> warnings;
  // Empty: nothing refused. Otherwise the message: the configuration file, the field, the file
  // and its mode; never any content.
  std::string refusal;
};

file_permission_report check_file_permissions(const policy::config& c);

// Logs each warning of the report, one line per file.
void log_file_permission_warnings(const file_permission_report& r);

}  // namespace npsd::server
