// A client certificate as the peer sends it, arbitrary DER: what npsd reads from it (subject,
// issuer, serial, SAN UPNs, e-mail addresses and DNS names, EKU) and the identity it maps to
// in every configured order.
#include <cstdint>
#include <cstdlib>

#include "eap/certificate.h"

using namespace npsd;
using src = eap::cert_identity_source;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto info = eap::inspect_certificate(eap::byte_view(data, size));
  if (!info) {
    if (info.error().empty()) std::abort();  // a failure always says why
    return 0;
  }
  (void)info->client_auth();
  static const std::vector<std::vector<src>> orders = {
      {src::upn, src::email, src::dns, src::cn}, {src::cn}, {src::dns, src::upn}, {src::email}};
  for (const auto& order : orders) {
    const auto id = eap::identity_of(*info, order);
    if (id && id->identity.empty()) std::abort();  // an identity is never empty
  }
  return 0;
}
