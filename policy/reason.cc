#include "policy/reason.h"

namespace npsd::policy {

std::string_view reason_text(reason r) noexcept {
  switch (r) {
    case reason::success: return "success";
    case reason::internal_error: return "internal error";
    case reason::malformed_request: return "malformed request";
    case reason::no_such_user: return "user account does not exist";
    case reason::authentication_failed: return "authentication failed: credentials mismatch";
    case reason::eap_type_not_processed: return "EAP type cannot be processed";
    case reason::account_disabled: return "user account is disabled";
    case reason::account_locked_out: return "user account is locked out";
    case reason::no_network_policy: return "no network policy matched";
    case reason::no_connection_request_policy: return "no connection request policy matched";
    case reason::dial_in_denied: return "dial-in permission denies access";
    case reason::auth_method_not_enabled: return "authentication method not enabled";
    case reason::calling_station_constraint: return "Calling-Station-Id constraint not met";
    case reason::day_time_constraint: return "day-and-time constraint not met";
    case reason::called_station_constraint: return "Called-Station-Id constraint not met";
    case reason::nas_port_type_constraint: return "NAS-Port-Type constraint not met";
    case reason::crl_unreadable: return "revocation list could not be read";
    case reason::revocation_server_unavailable: return "revocation server unavailable";
    case reason::message_authenticator_invalid:
      return "request incomplete: Message-Authenticator missing or invalid";
    case reason::untrusted_root: return "certificate chains to an untrusted root";
    case reason::missing_client_auth_eku: return "certificate lacks Client Authentication";
    case reason::certificate_revoked: return "certificate revoked";
    case reason::certificate_unusable: return "no usable client certificate";
    case reason::certificate_trust_failure: return "certificate not valid";
  }
  return "unknown";
}

}  // namespace npsd::policy
