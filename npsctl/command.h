#pragma once
// What every npsctl subcommand group shares: exit codes, the error a command throws, and the
// functions that register each group on the root CLI11 app (one file per group).
#include <stdexcept>
#include <string>

namespace CLI {
class App;
}

namespace npsd::npsctl {

enum exit_code : int {
  exit_ok = 0,
  exit_failure = 1,    // I/O and other failures
  exit_bad_input = 2,  // bad arguments, invalid files, validation errors
};

// Thrown by a command; main() prints "npsctl: <what>" on stderr and exits with code(). The
// message must never hold a password, a hash or any other secret.
class command_error : public std::runtime_error {
 public:
  command_error(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

// Bad arguments or input: exit status 2, the message as given.
[[noreturn]] inline void bad_input(const std::string& what) {
  throw command_error(exit_bad_input, what);
}

// users_cmd.cc
void add_user_commands(CLI::App& app);   // npsctl user hash-password|add|set-password|remove|list
void add_group_commands(CLI::App& app);  // npsctl group add

void add_init_command(CLI::App& app);      // init_cmd.cc: npsctl init
void add_client_commands(CLI::App& app);   // client_cmd.cc: npsctl client add|list|show|set|remove
void add_crp_commands(CLI::App& app);      // crp_cmd.cc: npsctl crp add|list|show|set|remove|move
void add_policy_commands(CLI::App& app);   // policy_cmd.cc: npsctl policy add|list|...|move|test
void add_validate_command(CLI::App& app);  // validate_cmd.cc: npsctl validate
void add_reload_command(CLI::App& app);    // reload_cmd.cc: npsctl reload
void add_status_command(CLI::App& app);    // reload_cmd.cc: npsctl status
void add_ping_command(CLI::App& app);      // ping_cmd.cc: npsctl ping (Status-Server)
void add_backup_commands(CLI::App& app);   // backup_cmd.cc: npsctl export, npsctl import
void add_directory_commands(CLI::App& app);  // directory_cmd.cc: npsctl directory test
// accounting_cmd.cc: npsctl accounting export|report|sessions|prune
void add_accounting_commands(CLI::App& app);

// policy_test_cmd.cc: npsctl policy test (the dry run through the policy engine), registered
// by add_policy_commands under `policy_cmd`.
void add_policy_test_command(CLI::App& policy_cmd);

}  // namespace npsd::npsctl
