#pragma once
// NPS reason codes (the numbering NPS administrators know from their logs).
#include <cstdint>
#include <string_view>

namespace npsd::policy {

enum class reason : std::uint16_t {
  success = 0,
  internal_error = 1,
  malformed_request = 3,
  no_such_user = 8,
  authentication_failed = 16,
  eap_type_not_processed = 22,
  account_disabled = 34,
  account_locked_out = 36,
  no_network_policy = 48,
  no_connection_request_policy = 49,
  dial_in_denied = 65,
  auth_method_not_enabled = 66,
  calling_station_constraint = 67,
  day_time_constraint = 68,
  called_station_constraint = 69,
  nas_port_type_constraint = 70,
  crl_unreadable = 258,
  revocation_server_unavailable = 259,
  message_authenticator_invalid = 262,
  untrusted_root = 265,
  missing_client_auth_eku = 283,
  certificate_unusable = 285,       // none sent, or it names no identity npsd can look up
  certificate_trust_failure = 288,  // expired, not yet valid, or another verification failure
  certificate_revoked = 289,
};

std::string_view reason_text(reason r) noexcept;
inline std::uint16_t reason_number(reason r) noexcept { return static_cast<std::uint16_t>(r); }

}  // namespace npsd::policy
