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

// users_cmd.cc
void add_user_commands(CLI::App& app);   // npsctl user hash-password|add|set-password|remove|list
void add_group_commands(CLI::App& app);  // npsctl group add

}  // namespace npsd::npsctl
