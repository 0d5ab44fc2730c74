#pragma once
// The LDAP back end (Active Directory, OpenLDAP): a pool of worker threads, each owning its
// own connections (libldap handles are not thread-safe), fed by a bounded queue. find_account
// and verify_password never block the caller: they answer from the cache inline, or queue the
// work, or answer `unavailable` at once when the queue is full. Servers are tried in order; a
// failed one is skipped for retry_after; when none answers the answer is `unavailable`, so the
// request is discarded and the NAS fails over, as NPS does.
//
// A new ldap_directory per configuration load: a reload starts with empty caches. Destroying
// it stops the workers; operations still queued complete with `unavailable`. The destructor
// waits for an operation in progress (bounded by timeout_ms per server); when the last
// reference goes away on a worker thread (a completion handler held it), that worker finishes
// on its own.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ldap/directory.h"
#include "ldap/directory_config.h"
#include "ldap/local_directory.h"

namespace npsd::ldap {

// Where the back end's log lines go. The daemon passes its structured logger; the default
// writes "message key=value ..." to spdlog's default logger.
enum class log_level { debug, info, warn, error };
struct log_field_text {
  std::string_view key;
  std::string_view value;
};
using log_fn =
    std::function<void(log_level, std::string_view message, std::span<const log_field_text>)>;

// One operation that went to the directory (answers from npsd's caches are not timed): op
// "lookup" (an account's entry and its groups) or "password_check" (a bind as the account),
// its outcome (lookup: found, not_found, unavailable; password_check: ok, mismatch,
// no_password (refused without TLS), unavailable) and how long it took from the call, time
// in the queue included. Called on a worker thread; it must be quick and must not throw.
using timing_fn = std::function<void(std::string_view op, std::string_view outcome,
                                     std::chrono::microseconds elapsed)>;

// What one lookup took, for `npsctl directory test` and the logs.
struct lookup_info {
  std::string server;             // the URL that answered (or answered first, when cached)
  bool from_cache = false;
  std::chrono::microseconds elapsed{0};
  std::size_t direct_groups = 0;  // acct->groups[0, direct_groups) are direct memberships
  std::uint64_t operations = 0;   // LDAP requests this lookup sent (0 from the cache)
};

struct ldap_stats {
  std::uint64_t lookups = 0;          // find_account calls
  std::uint64_t cache_hits = 0;       // account cache
  std::uint64_t cache_misses = 0;
  std::uint64_t password_checks = 0;  // verify_password calls
  std::uint64_t password_cache_hits = 0;
  std::uint64_t password_cache_misses = 0;
  std::uint64_t connects = 0;         // connections opened
  std::uint64_t searches = 0;         // search requests sent (each page, each group read)
  std::uint64_t binds = 0;            // binds sent (service account and PAP)
  std::uint64_t operations = 0;       // searches + binds
  std::uint64_t unavailable = 0;      // answers "unavailable" (lookups and password checks)
  std::uint64_t queue_full = 0;       // of which: refused because the queue was full
};

class ldap_directory final : public directory {
 public:
  // `cfg` must be validated (policy::load_config does it). Starts pool_size worker threads;
  // connections are opened when first needed.
  explicit ldap_directory(ldap_config cfg, credential_cache_options password_cache = {},
                          log_fn log = {}, timing_fn timing = {});
  ~ldap_directory() override;
  ldap_directory(const ldap_directory&) = delete;
  ldap_directory& operator=(const ldap_directory&) = delete;

  void find_account(std::string identity, std::function<void(lookup_result)> done) override;
  // Binds as the account's DN with the password on a connection of its own (never a service
  // connection). An empty password is a mismatch without a bind.
  void verify_password(const account& acct, std::string password,
                       std::function<void(password_status)> done) override;

  // find_account, also telling which server answered, how long it took, which groups are
  // direct and how many LDAP requests it sent.
  void find_account_detailed(std::string identity,
                             std::function<void(lookup_result, lookup_info)> done);

  ldap_stats stats() const;
  const ldap_config& config() const noexcept;

  struct state;  // internal

 private:
  std::shared_ptr<state> state_;
  std::vector<std::thread> threads_;
};

}  // namespace npsd::ldap
