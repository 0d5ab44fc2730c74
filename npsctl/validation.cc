#include "npsctl/validation.h"

#include "ldap/local_directory.h"

namespace npsd::npsctl {

expected<validated_config, std::string> validate_installation(
    const std::filesystem::path& config, const std::filesystem::path& dictionary_dir) {
  auto cfg = policy::load_config(config, dictionary_dir);
  if (!cfg) return unexpected(cfg.error());
  validated_config v;
  if ((*cfg)->directory.backend == ldap::directory_backend::local) {
    auto db = ldap::local_directory::load_user_file((*cfg)->directory.users_file);
    if (!db) return unexpected(db.error());
    v.users = (*db)->users().size();
  }
  v.cfg = std::move(*cfg);
  return v;
}

}  // namespace npsd::npsctl
