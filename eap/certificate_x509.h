#pragma once
// Internal to eap/: certificate_info from a certificate OpenSSL has already parsed (the TLS
// session's peer certificate), without encoding and parsing it again.
#include "eap/certificate.h"

struct x509_st;

namespace npsd::eap::detail {

certificate_info inspect_x509(x509_st* cert);

}  // namespace npsd::eap::detail
