#pragma once
// Why a TLS connection to a directory server failed, in words. libldap (built with GnuTLS on
// Debian) reports a refused certificate as "Can't contact LDAP server"; on such a failure the
// LDAP back end connects once more with OpenSSL (StartTLS first for ldap://) to name the
// reason: the certificate verification error, a host name mismatch, a refused StartTLS.
#include <string>

#include "ldap/ldap_connection.h"

namespace npsd::ldap::detail {

// Empty when the server cannot be reached at all or the OpenSSL handshake succeeds.
std::string explain_tls_failure(const connection_options& options);

}  // namespace npsd::ldap::detail
