#pragma once
// The directory interface the policy engine and the request pipeline ask: accounts, group
// memberships (nested groups resolved), account state, dial-in permission, password checks.
// Back ends: local (the user file, the embedded default) and, later, LDAP.
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace npsd::ldap {

// msNPAllowDialin: TRUE allow, FALSE deny, absent = control access through network policy.
enum class dial_in { allow, deny, policy };

struct group {
  std::string name;
  std::string dn;  // empty for local groups
  bool operator==(const group&) const = default;
};

struct account {
  std::string name;  // canonical account name
  std::string dn;    // empty for local accounts
  std::string upn;   // userPrincipalName or equivalent, may be empty
  bool machine = false;  // a computer account (host/name, name$): Machine Groups apply
  bool enabled = true;
  bool locked_out = false;
  dial_in dial_in_permission = dial_in::policy;
  std::vector<group> groups;  // every group the account is a member of, transitively
};

enum class lookup_status {
  found,
  not_found,
  unavailable,  // no directory server answered: the request must be discarded, never accepted
};

// The names logs, metrics and npsctl's JSON use for these outcomes.
constexpr std::string_view status_name(lookup_status s) noexcept {
  switch (s) {
    case lookup_status::found: return "found";
    case lookup_status::not_found: return "not_found";
    case lookup_status::unavailable: break;
  }
  return "unavailable";
}

struct lookup_result {
  lookup_status status = lookup_status::not_found;
  std::optional<account> acct;  // set when found
  std::string detail;           // for logs; never holds a secret
};

enum class password_status {
  ok,
  mismatch,     // wrong password
  no_password,  // the account has no password that can be checked
  unavailable,  // the directory could not be asked
};

constexpr std::string_view status_name(password_status s) noexcept {
  switch (s) {
    case password_status::ok: return "ok";
    case password_status::mismatch: return "mismatch";
    case password_status::no_password: return "no_password";
    case password_status::unavailable: break;
  }
  return "unavailable";
}

// The NT password hash (MD4 of the UTF-16LE password) that MS-CHAPv2 needs: only the local
// user file can hold one (Active Directory does not hand it out over LDAP).
struct nt_hash_result {
  password_status status = password_status::no_password;  // ok: `hash` is set
  std::array<std::uint8_t, 16> hash{};
};

class directory {
 public:
  virtual ~directory() = default;
  // Each call completes by invoking `done` exactly once, possibly on another thread, possibly
  // before returning. `identity` is as the NAS presented it: "user", "user@realm",
  // "DOMAIN\\user".
  virtual void find_account(std::string identity, std::function<void(lookup_result)> done) = 0;
  virtual void verify_password(const account& acct, std::string password,
                               std::function<void(password_status)> done) = 0;
  // The account's NT hash for MS-CHAPv2. By default there is none (no_password).
  virtual void nt_hash(const account& acct, std::function<void(nt_hash_result)> done) {
    (void)acct;
    done({});
  }
};

}  // namespace npsd::ldap
