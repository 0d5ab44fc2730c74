#pragma once
// Deleters for the OpenSSL objects the EAP code holds in std::unique_ptr.
#include <openssl/bio.h>
#include <openssl/x509.h>

namespace npsd::eap {

struct x509_free {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
struct bio_free {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};

}  // namespace npsd::eap
