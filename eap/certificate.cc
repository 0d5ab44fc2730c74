#include "eap/certificate.h"
#include "eap/certificate_x509.h"
#include "eap/openssl_free.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace npsd::eap {

namespace {

struct names_free {
  void operator()(GENERAL_NAMES* p) const noexcept { GENERAL_NAMES_free(p); }
};
struct eku_free {
  void operator()(EXTENDED_KEY_USAGE* p) const noexcept {
    sk_ASN1_OBJECT_pop_free(p, ASN1_OBJECT_free);
  }
};

std::string name_text(const X509_NAME* n) {
  if (n == nullptr) return {};
  std::unique_ptr<BIO, bio_free> bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
    return {};
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

std::string string_of(const ASN1_STRING* s) {
  if (s == nullptr) return {};
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, s);
  if (n < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
  OPENSSL_free(utf8);
  // An identity with a NUL in it would compare as something else: refused.
  if (out.find('\0') != std::string::npos) return {};
  return out;
}

std::string oid_text(const ASN1_OBJECT* o) {
  char buf[128];
  const int n = OBJ_obj2txt(buf, sizeof buf, o, 1);
  return n > 0 && static_cast<std::size_t>(n) < sizeof buf ? std::string(buf, static_cast<std::size_t>(n))
                                                            : std::string();
}

}  // namespace

bool certificate_info::client_auth() const {
  if (!has_eku) return false;
  for (const auto& o : eku_oids)
    if (o == client_auth_oid) return true;
  return false;
}

expected<certificate_info, std::string> inspect_certificate(byte_view der) {
  const unsigned char* p = der.data();
  std::unique_ptr<X509, x509_free> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) return unexpected(std::string("the certificate is not valid DER"));
  return detail::inspect_x509(cert.get());
}

namespace detail {

certificate_info inspect_x509(x509_st* cert) {
  // Only names and extensions: a parsed X509 is reused as it is (parsing DER again would decode
  // its public key again, which OpenSSL 3.0's decoders make a large part of a handshake).
  certificate_info info;
  info.subject = name_text(X509_get_subject_name(cert));
  info.issuer = name_text(X509_get_issuer_name(cert));
  if (const ASN1_INTEGER* serial = X509_get0_serialNumber(cert)) {
    if (BIGNUM* bn = ASN1_INTEGER_to_BN(serial, nullptr)) {
      if (char* hex = BN_bn2hex(bn)) {
        info.serial = hex;
        OPENSSL_free(hex);
      }
      BN_free(bn);
    }
  }
  if (const X509_NAME* subject = X509_get_subject_name(cert)) {
    int last = -1;
    for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
         i = X509_NAME_get_index_by_NID(subject, NID_commonName, i))
      last = i;
    if (last >= 0)
      info.common_name = string_of(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, last)));
  }
  int crit = 0;
  std::unique_ptr<GENERAL_NAMES, names_free> sans(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, nullptr)));
  if (sans) {
    const ASN1_OBJECT* upn = OBJ_txt2obj(upn_oid, 1);
    for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
      switch (gn->type) {
        case GEN_EMAIL:
          if (auto s = string_of(gn->d.rfc822Name); !s.empty()) info.emails.push_back(std::move(s));
          break;
        case GEN_DNS:
          if (auto s = string_of(gn->d.dNSName); !s.empty()) info.dns_names.push_back(std::move(s));
          break;
        case GEN_OTHERNAME:
          if (upn != nullptr && OBJ_cmp(gn->d.otherName->type_id, upn) == 0 &&
              gn->d.otherName->value != nullptr &&
              gn->d.otherName->value->type == V_ASN1_UTF8STRING) {
            if (auto s = string_of(gn->d.otherName->value->value.utf8string); !s.empty())
              info.upns.push_back(std::move(s));
          }
          break;
        default: break;
      }
    }
    ASN1_OBJECT_free(const_cast<ASN1_OBJECT*>(upn));
  }
  std::unique_ptr<EXTENDED_KEY_USAGE, eku_free> eku(static_cast<EXTENDED_KEY_USAGE*>(
      X509_get_ext_d2i(cert, NID_ext_key_usage, &crit, nullptr)));
  if (eku) {
    info.has_eku = true;
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku.get()); ++i)
      info.eku_oids.push_back(oid_text(sk_ASN1_OBJECT_value(eku.get(), i)));
  }
  return info;
}

}  // namespace detail

std::optional<certificate_identity> identity_of(const certificate_info& c,
                                                const std::vector<cert_identity_source>& order) {
  for (const auto s : order) {
    switch (s) {
      case cert_identity_source::upn:
        if (!c.upns.empty()) return certificate_identity{c.upns.front(), s};
        break;
      case cert_identity_source::email:
        if (!c.emails.empty()) return certificate_identity{c.emails.front(), s};
        break;
      case cert_identity_source::dns:
        if (!c.dns_names.empty()) return certificate_identity{"host/" + c.dns_names.front(), s};
        break;
      case cert_identity_source::cn:
        if (!c.common_name.empty()) return certificate_identity{c.common_name, s};
        break;
    }
  }
  return std::nullopt;
}

std::string_view source_name(cert_identity_source s) noexcept {
  switch (s) {
    case cert_identity_source::upn: return "upn";
    case cert_identity_source::email: return "email";
    case cert_identity_source::dns: return "dns";
    case cert_identity_source::cn: return "cn";
  }
  return "upn";
}

}  // namespace npsd::eap
