#pragma once
// What npsd reads from a client certificate: names for the logs, the identity it maps to, and
// its Extended Key Usage. Pure: takes DER, never a handle (and is fuzzed on arbitrary DER).
#include <optional>
#include <string>
#include <vector>

#include "eap/eap_config.h"
#include "eap/packet.h"
#include "radius/expected.h"

namespace npsd::eap {

inline constexpr const char* upn_oid = "1.3.6.1.4.1.311.20.2.3";
inline constexpr const char* client_auth_oid = "1.3.6.1.5.5.7.3.2";

struct certificate_info {
  std::string subject;  // RFC 2253
  std::string issuer;
  std::string serial;   // upper-case hex
  std::vector<std::string> upns;       // SAN otherName UPN
  std::vector<std::string> emails;     // SAN rfc822Name
  std::vector<std::string> dns_names;  // SAN dNSName
  std::string common_name;             // the subject's last CN
  bool has_eku = false;                // an Extended Key Usage extension is present
  std::vector<std::string> eku_oids;   // its purposes, dotted
  bool client_auth() const;            // EKU present and holds Client Authentication
};

expected<certificate_info, std::string> inspect_certificate(byte_view der);

struct certificate_identity {
  std::string identity;  // as the directory is asked: alice@corp.example.com, host/pc1.corp...
  cert_identity_source source;
};
// The first identity the certificate offers, in the configured order.
std::optional<certificate_identity> identity_of(const certificate_info& c,
                                                const std::vector<cert_identity_source>& order);
std::string_view source_name(cert_identity_source s) noexcept;

}  // namespace npsd::eap
