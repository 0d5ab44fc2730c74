#pragma once
// The local user file: the embedded default directory.
//
//   { "schema_version": 1,
//     "groups": [ { "name": "VPN Users", "member_of": ["Staff"] }, { "name": "Staff" } ],
//     "users":  [ { "name": "alice", "password_hash": "$pbkdf2-sha256$...",
//                   "upn": "alice@example.com", "groups": ["VPN Users"], "enabled": true,
//                   "locked_out": false, "dial_in": "policy" } ] }
//
// The file is parsed once into an immutable local_user_db, shared as
// std::shared_ptr<const local_user_db>; reload parses a new one and swaps the pointer
// (local_directory::replace_db). Names, UPNs and group references compare case-insensitively
// (ASCII case folding); names are reported as declared.
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ldap/directory.h"
#include "radius/expected.h"

namespace npsd::ldap {

inline constexpr int user_file_schema_version = 1;
inline constexpr std::size_t max_user_file_bytes = 64u << 20;

// "allow", "deny", "policy".
std::string_view dial_in_name(dial_in d) noexcept;
std::optional<dial_in> parse_dial_in(std::string_view s) noexcept;

struct local_group {
  std::string name;                    // as declared
  std::vector<std::string> member_of;  // direct parents, by their declared names
};

struct local_user {
  // name, upn, enabled, locked_out, dial_in_permission as in the file; groups holds every
  // group the user is in, direct and inherited (direct ones first, no duplicates).
  account acct;
  std::vector<std::string> direct_groups;    // by their declared names
  std::optional<std::string> password_hash;  // validated PHC string; absent: no password
  // MD4 of the UTF-16LE password, for MS-CHAPv2 (PEAP-MSCHAPv2); absent: that method fails.
  // Password-equivalent: kept only for the accounts that need it.
  std::optional<std::array<std::uint8_t, 16>> nt_hash;
};

class local_user_db {
 public:
  enum class match_kind { none, name, upn, name_after_domain };
  struct identity_match {
    const local_user* user = nullptr;
    match_kind kind = match_kind::none;
  };

  // `name` is used in error messages (normally the file path). Errors read
  // "<name>: <JSON pointer>: <what was expected>" and never quote a password hash.
  static expected<std::shared_ptr<const local_user_db>, std::string> parse(std::string_view json,
                                                                           std::string name);
  static expected<std::shared_ptr<const local_user_db>, std::string> load(
      const std::filesystem::path& path);

  const std::string& source_name() const noexcept { return source_name_; }
  const std::vector<local_user>& users() const noexcept { return users_; }
  const std::vector<local_group>& groups() const noexcept { return groups_; }

  const local_user* find_user(std::string_view name) const;    // by name, case-insensitive
  const local_group* find_group(std::string_view name) const;  // case-insensitive

  // Case-insensitive match on name, then on UPN; for "DOMAIN\user" the part after the first
  // backslash is tried as a name. A "user@realm" that is no UPN is not stripped.
  identity_match resolve_identity(std::string_view identity) const;

 private:
  local_user_db() = default;

  std::string source_name_;
  std::vector<local_group> groups_;
  std::vector<local_user> users_;
  std::unordered_map<std::string, std::size_t> user_by_name_;  // folded name -> index
  std::unordered_map<std::string, std::size_t> user_by_upn_;   // folded UPN -> index
  std::unordered_map<std::string, std::size_t> group_by_name_;
};

// Successful password verifications, so that repeated PAP logins do not pay the KDF each time.
// An entry is keyed by HMAC-SHA256(random per-cache key, name '\0' password '\0' stored hash):
// neither the password nor anything that tests a guess without the key is kept. Thread-safe.
struct credential_cache_options {
  std::size_t max_entries = 10000;  // the oldest entry goes first; 0 disables
  std::chrono::seconds ttl{300};    // from the verification that inserted it; 0 disables
  std::function<std::chrono::steady_clock::time_point()> clock{};  // empty: steady_clock::now
};

class credential_cache {
 public:
  explicit credential_cache(credential_cache_options options = {});
  ~credential_cache();
  credential_cache(const credential_cache&) = delete;
  credential_cache& operator=(const credential_cache&) = delete;

  // True when an unexpired entry exists; counts one hit or one miss.
  bool lookup(std::string_view account_name, std::string_view password,
              std::string_view stored_hash);
  // Call only after a successful verification.
  void insert(std::string_view account_name, std::string_view password,
              std::string_view stored_hash);
  void clear();

  bool enabled() const noexcept;
  std::size_t size() const;
  std::uint64_t hits() const noexcept { return hits_.load(std::memory_order_relaxed); }
  std::uint64_t misses() const noexcept { return misses_.load(std::memory_order_relaxed); }

 private:
  using key_type = std::array<std::uint8_t, 32>;
  struct key_hash {
    std::size_t operator()(const key_type& k) const noexcept;
  };
  struct entry {
    key_type key;
    std::chrono::steady_clock::time_point expires;
  };

  bool make_key(std::string_view account_name, std::string_view password,
                std::string_view stored_hash, key_type& out) const;
  void expire_locked(std::chrono::steady_clock::time_point now);

  credential_cache_options options_;
  std::array<std::uint8_t, 32> hmac_key_{};
  bool key_ok_ = false;
  mutable std::mutex mutex_;
  std::list<entry> order_;  // oldest first
  std::unordered_map<key_type, std::list<entry>::iterator, key_hash> index_;
  std::atomic<std::uint64_t> hits_{0}, misses_{0};
};

class local_directory final : public directory {
 public:
  // Runs a job elsewhere (the daemon passes its compute pool). Empty: run inline.
  using offload_fn = std::function<void(std::function<void()>)>;

  explicit local_directory(std::shared_ptr<const local_user_db> db, offload_fn offload = {},
                           credential_cache_options cache_options = {});

  static expected<std::shared_ptr<const local_user_db>, std::string> load_user_file(
      const std::filesystem::path& path);
  static expected<std::shared_ptr<const local_user_db>, std::string> parse_user_file(
      std::string_view json, std::string name);

  // Reload: requests already in flight keep the db they started with.
  void replace_db(std::shared_ptr<const local_user_db> db);
  std::shared_ptr<const local_user_db> db() const;

  // Completes inline; never `unavailable`.
  void find_account(std::string identity, std::function<void(lookup_result)> done) override;
  // Looks the account up by name in the current db: gone or without a password ->
  // no_password. A cache hit completes inline; otherwise the KDF runs through `offload`.
  // If the offloaded job is dropped without running, `done` gets `unavailable`.
  void verify_password(const account& acct, std::string password,
                       std::function<void(password_status)> done) override;

  // Completes inline: the account's nt_hash from the current db, or no_password.
  void nt_hash(const account& acct, std::function<void(nt_hash_result)> done) override;

  const credential_cache& cache() const noexcept { return *cache_; }

 private:
  mutable std::mutex db_mutex_;
  std::shared_ptr<const local_user_db> db_;
  offload_fn offload_;
  std::shared_ptr<credential_cache> cache_;  // shared with jobs in flight
};

}  // namespace npsd::ldap
