// npsctl: the npsd administrator's command line. Each subcommand group registers itself from
// its own file (see command.h); this file only wires them up and maps errors to exit codes.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "npsctl/command.h"

int main(int argc, char** argv) {
  namespace n = npsd::npsctl;
  CLI::App app{"npsctl: administer npsd"};
  app.require_subcommand(1);
  n::add_init_command(app);
  n::add_client_commands(app);
  n::add_crp_commands(app);
  n::add_policy_commands(app);
  n::add_validate_command(app);
  n::add_reload_command(app);
  n::add_status_command(app);
  n::add_ping_command(app);
  n::add_backup_commands(app);
  n::add_directory_commands(app);
  n::add_accounting_commands(app);
  n::add_user_commands(app);
  n::add_group_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help or the usage error
    return rc == 0 ? n::exit_ok : n::exit_bad_input;
  } catch (const n::command_error& e) {
    std::cerr << "npsctl: " << e.what() << '\n';
    return e.code();
  } catch (const std::exception& e) {
    std::cerr << "npsctl: " << e.what() << '\n';
    return n::exit_failure;
  }
  return n::exit_ok;
}
