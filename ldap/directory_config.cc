#include "ldap/directory_config.h"

namespace npsd::ldap {

ldap_config profile_defaults(ldap_profile p) {
  ldap_config c;
  c.profile = p;
  switch (p) {
    case ldap_profile::active_directory:
      c.user_filter =
          "(&(objectCategory=person)(objectClass=user)"
          "(|(sAMAccountName={name})(userPrincipalName={upn})))";
      c.machine_filter =
          "(&(objectClass=computer)(|(sAMAccountName={name}$)(servicePrincipalName={identity})))";
      c.attributes = {"sAMAccountName", "userPrincipalName", "memberOf", "msNPAllowDialin", "cn"};
      c.nested_groups = nested_groups_mode::in_chain;
      c.disabled = {"userAccountControl", state_rule::test::bitmask, 0x2, {}};
      c.locked_out = {"lockoutTime", state_rule::test::nonzero, 0, {}};
      break;
    case ldap_profile::openldap:
      c.user_filter = "(&(objectClass=inetOrgPerson)(|(uid={name})(mail={upn})))";
      c.machine_filter = "(&(objectClass=device)(|(cn={name})(cn={name}$)))";
      // OpenLDAP has no dial-in attribute and no standard "disabled" one: dial-in is left to
      // network policy and "disabled" is configured per directory when one is used.
      c.attributes = {"uid", "mail", "memberOf", "", "cn"};
      c.nested_groups = nested_groups_mode::member_of;
      c.disabled = {};
      c.locked_out = {"pwdAccountLockedTime", state_rule::test::present, 0, {}};
      break;
  }
  return c;
}

std::string_view profile_name(ldap_profile p) noexcept {
  return p == ldap_profile::active_directory ? "active-directory" : "openldap";
}

std::string_view nested_groups_name(nested_groups_mode m) noexcept {
  switch (m) {
    case nested_groups_mode::none: return "none";
    case nested_groups_mode::in_chain: return "in_chain";
    case nested_groups_mode::member_of: return "member_of";
  }
  return "none";
}

}  // namespace npsd::ldap
