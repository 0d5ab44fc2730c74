#include "npsctl/directory_lookup.h"

#include <future>
#include <iostream>

#include "npsctl/command.h"

namespace npsd::npsctl {

void directory_log::add(std::string line) {
  std::lock_guard lock(mu_);
  lines_.push_back(std::move(line));
}

std::vector<std::string> directory_log::lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}

std::shared_ptr<ldap::directory> open_directory(const policy::directory_config& cfg,
                                                std::shared_ptr<directory_log> log) {
  ldap::directory_options options;
  options.log = [log](ldap::log_level level, std::string_view msg,
                      std::span<const ldap::log_field_text> fields) {
    if (level != ldap::log_level::warn && level != ldap::log_level::error) return;
    std::string line(msg);
    for (const auto& f : fields) {
      line += ' ';
      line += f.key;
      line += "=\"";
      line += f.value;
      line += '"';
    }
    if (log)
      log->add(std::move(line));
    else
      std::cerr << "npsctl: " << line << '\n';
  };
  auto dir = ldap::make_directory(cfg, std::move(options));
  if (!dir) throw command_error(exit_bad_input, dir.error());
  return std::move(*dir);
}

directory_answer lookup_account(ldap::directory& dir, const std::string& identity) {
  // Shared with the completion, which may run on a worker thread and outlive this call.
  auto promise = std::make_shared<std::promise<directory_answer>>();
  auto answer = promise->get_future();
  ldap::find_account_detailed(dir, identity,
                              [promise](ldap::lookup_result r, ldap::lookup_info i) {
                                promise->set_value(directory_answer{std::move(r), std::move(i)});
                              });
  return answer.get();
}

}  // namespace npsd::npsctl
