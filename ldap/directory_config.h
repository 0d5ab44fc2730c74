#pragma once
// The directory section of the configuration, as plain validated structs: which back end, and
// for the LDAP back end every setting with the profile's defaults already applied (the back end
// sees resolved filters and attribute names). Parsed by policy/config.cc (read_directory);
// policy::directory_config names the same struct.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace npsd::ldap {

enum class directory_backend { local, ldap };

enum class ldap_profile { active_directory, openldap };

// How groups of groups are found:
// - in_chain: one search (member:1.2.840.113556.1.4.1941:=<user DN>) under group_base_dn
//   (Active Directory's LDAP_MATCHING_RULE_IN_CHAIN);
// - member_of: npsd follows memberOf from the account to its groups, their groups and so on,
//   reading the group entries (cycles stopped; at most max_group_depth levels and max_groups);
// - none: the account's direct groups (its memberOf values) only.
enum class nested_groups_mode { none, in_chain, member_of };

inline constexpr std::size_t max_group_depth = 32;
inline constexpr std::size_t max_groups = 1024;

// A test on one attribute of the account entry: "disabled" and "locked_out".
struct state_rule {
  enum class test {
    bitmask,  // the value, an integer, has a bit of `bitmask` set (userAccountControl & 2)
    value,    // some value equals `value` (ASCII case-insensitive)
    nonzero,  // some value is not "0" (lockoutTime)
    present,  // the attribute has a value (pwdAccountLockedTime)
  };
  std::string attribute;  // empty: the rule never holds
  test kind = test::present;
  std::uint64_t bitmask = 0;
  std::string value;
};

struct ldap_attribute_names {
  std::string name;        // the account name (sAMAccountName, uid)
  std::string upn;         // userPrincipalName, mail; empty: not read
  std::string member_of;   // the account's (and a group's) direct groups, as DNs
  std::string dial_in;     // msNPAllowDialin (TRUE / FALSE / absent); empty: not read
  std::string group_name;  // a group's name (cn)
};

struct ldap_server {
  std::string url;   // as configured: ldap://host[:port] or ldaps://host[:port]
  std::string host;  // without brackets for IPv6
  std::uint16_t port = 0;
  bool ldaps = false;
};

struct ldap_cache_config {
  std::chrono::seconds ttl{300};          // found accounts; 0 disables
  std::chrono::seconds negative_ttl{60};  // "no such account"; 0 disables
  std::size_t max_entries = 10000;        // the oldest entry goes first; 0 disables
};

struct ldap_config {
  std::vector<ldap_server> servers;  // tried in order
  bool start_tls = true;             // for ldap:// servers; ldaps:// is always TLS
  std::filesystem::path ca_file;     // required when TLS is used
  bool verify_certificate = true;    // peer certificate and host name
  bool allow_insecure = false;       // lab only: plain ldap:// without StartTLS, user binds too
  std::string bind_dn;               // empty: anonymous
  std::string bind_password;         // secret: never logged, never in an error message
  std::filesystem::path bind_password_file;  // where bind_password came from, if a file
  std::string base_dn;
  std::string group_base_dn;  // defaults to base_dn
  ldap_profile profile = ldap_profile::active_directory;
  unsigned pool_size = 4;             // connections = worker threads, 1..64
  std::size_t queue_limit = 1024;     // operations waiting for a worker; beyond: unavailable
  std::chrono::milliseconds timeout{3000};  // every connect, bind and search
  std::chrono::seconds retry_after{10};     // a failed server is skipped this long
  ldap_cache_config cache;
  std::string user_filter;     // templates: {identity} {name} {upn} {domain}
  std::string machine_filter;  // for host/name.example.com and NAME$ identities
  ldap_attribute_names attributes;
  nested_groups_mode nested_groups = nested_groups_mode::in_chain;
  state_rule disabled;
  state_rule locked_out;

  // True when some server is reached over TLS (ldaps://, or ldap:// with StartTLS).
  bool uses_tls() const noexcept {
    for (const auto& s : servers)
      if (s.ldaps || start_tls) return true;
    return false;
  }
};

// The filters, attribute names, state rules and nested-group mode of a profile; every other
// field keeps its default.
ldap_config profile_defaults(ldap_profile p);
std::string_view profile_name(ldap_profile p) noexcept;
std::string_view nested_groups_name(nested_groups_mode m) noexcept;

struct directory_config {
  directory_backend backend = directory_backend::local;
  std::filesystem::path users_file;  // backend local
  std::chrono::seconds password_cache_ttl{300};  // successful password checks (both back ends)
  std::size_t password_cache_entries = 10000;
  ldap_config ldap;  // backend ldap
};

}  // namespace npsd::ldap
