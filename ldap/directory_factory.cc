#include "ldap/directory_factory.h"

#include <chrono>
#include <utility>

namespace npsd::ldap {

expected<std::shared_ptr<directory>, std::string> make_directory(const directory_config& cfg,
                                                                 directory_options options) {
  credential_cache_options cache;
  cache.ttl = cfg.password_cache_ttl;
  cache.max_entries = cfg.password_cache_entries;
  switch (cfg.backend) {
    case directory_backend::local: {
      auto db = local_directory::load_user_file(cfg.users_file);
      if (!db) return npsd::unexpected(std::move(db.error()));
      return std::shared_ptr<directory>(std::make_shared<local_directory>(
          std::move(*db), std::move(options.offload), std::move(cache)));
    }
    case directory_backend::ldap:
      return std::shared_ptr<directory>(
          std::make_shared<ldap_directory>(cfg.ldap, std::move(cache), std::move(options.log),
                                           std::move(options.timing)));
  }
  return npsd::unexpected(std::string("unknown directory back end"));
}

void find_account_detailed(directory& dir, std::string identity,
                           std::function<void(lookup_result, lookup_info)> done) {
  if (auto* l = dynamic_cast<ldap_directory*>(&dir)) {
    l->find_account_detailed(std::move(identity), std::move(done));
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  auto* local = dynamic_cast<local_directory*>(&dir);
  const auto db = local != nullptr ? local->db() : nullptr;
  dir.find_account(identity, [identity, start, db, done = std::move(done)](lookup_result r) mutable {
    lookup_info info;
    info.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - start);
    if (db) {
      info.server = db->source_name();
      if (const auto m = db->resolve_identity(identity); m.user != nullptr)
        info.direct_groups = m.user->direct_groups.size();
    }
    done(std::move(r), std::move(info));
  });
}

}  // namespace npsd::ldap
