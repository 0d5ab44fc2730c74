#pragma once
// A throwaway PKI for the eap unit tests, made in-process with the OpenSSL C API: a self-signed
// CA (P-256), certificates it issues with exactly the names and purposes a test asks for, the
// PEM files a tls_context loads (in a temporary directory removed at exit), and the context.
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "eap/packet.h"
#include "eap/tls_session.h"

namespace npsd::test {

struct evp_pkey_free {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct x509_free {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, evp_pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

// A SAN otherName: type-id OID and its value, as a string of the given ASN.1 type.
struct other_name {
  std::string oid;
  std::string value;  // may hold a NUL
  int asn1_type = V_ASN1_UTF8STRING;
};

inline constexpr const char* eku_client_auth = "1.3.6.1.5.5.7.3.2";
inline constexpr const char* eku_server_auth = "1.3.6.1.5.5.7.3.1";
inline constexpr const char* eku_email_protection = "1.3.6.1.5.5.7.3.4";

struct cert_spec {
  std::vector<std::pair<std::string, std::string>> subject;  // in order: {"O", ...}, {"CN", ...}
  std::string serial_hex = "01";
  std::vector<other_name> other_names;
  std::vector<std::string> emails;
  std::vector<std::string> dns_names;
  std::optional<std::vector<std::string>> eku;  // dotted OIDs; nullopt: no EKU extension
  bool ca = false;
  long valid_from = -3600;   // seconds from now
  long valid_to = 86400;     // seconds from now
};

struct issued {
  key_ptr key;
  x509_ptr cert;
  eap::bytes der;
};

namespace pki_detail {

inline void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what);
}

inline key_ptr make_key() {
  key_ptr k(EVP_EC_gen("P-256"));
  check(k != nullptr, "EVP_EC_gen");
  return k;
}

inline eap::bytes der_of(X509* c) {
  const int n = i2d_X509(c, nullptr);
  check(n > 0, "i2d_X509");
  eap::bytes out(static_cast<std::size_t>(n));
  unsigned char* p = out.data();
  i2d_X509(c, &p);
  return out;
}

inline void add_conf_ext(X509* x, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
}

inline void add_sans(X509* x, const cert_spec& s) {
  if (s.other_names.empty() && s.emails.empty() && s.dns_names.empty()) return;
  GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
  auto push_ia5 = [&](int type, const std::string& v) {
    ASN1_IA5STRING* str = ASN1_IA5STRING_new();
    ASN1_STRING_set(str, v.data(), static_cast<int>(v.size()));
    GENERAL_NAME* gn = GENERAL_NAME_new();
    GENERAL_NAME_set0_value(gn, type, str);
    sk_GENERAL_NAME_push(names, gn);
  };
  for (const auto& o : s.other_names) {
    ASN1_STRING* str = ASN1_STRING_type_new(o.asn1_type);
    ASN1_STRING_set(str, o.value.data(), static_cast<int>(o.value.size()));
    ASN1_TYPE* value = ASN1_TYPE_new();
    ASN1_TYPE_set(value, o.asn1_type, str);
    GENERAL_NAME* gn = GENERAL_NAME_new();
    check(GENERAL_NAME_set0_othername(gn, OBJ_txt2obj(o.oid.c_str(), 1), value) == 1,
          "GENERAL_NAME_set0_othername");
    sk_GENERAL_NAME_push(names, gn);
  }
  for (const auto& e : s.emails) push_ia5(GEN_EMAIL, e);
  for (const auto& d : s.dns_names) push_ia5(GEN_DNS, d);
  check(X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, 0) == 1, "subjectAltName");
  GENERAL_NAMES_free(names);
}

inline void add_eku(X509* x, const std::vector<std::string>& oids) {
  EXTENDED_KEY_USAGE* eku = sk_ASN1_OBJECT_new_null();
  for (const auto& o : oids) sk_ASN1_OBJECT_push(eku, OBJ_txt2obj(o.c_str(), 1));
  check(X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, 0) == 1, "extendedKeyUsage");
  sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
}

// Issued by `issuer`, or self-signed when it is null.
inline issued make_cert(const cert_spec& s, const issued* issuer) {
  issued out;
  out.key = make_key();
  out.cert.reset(X509_new());
  X509* x = out.cert.get();
  check(X509_set_version(x, 2) == 1, "X509_set_version");
  BIGNUM* bn = nullptr;
  check(BN_hex2bn(&bn, s.serial_hex.c_str()) > 0, "BN_hex2bn");
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x), s.valid_from);
  X509_gmtime_adj(X509_getm_notAfter(x), s.valid_to);
  X509_NAME* name = X509_get_subject_name(x);
  for (const auto& [field, value] : s.subject)
    check(X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                     0) == 1,
          "subject entry");
  X509* signer = issuer != nullptr ? issuer->cert.get() : x;
  check(X509_set_issuer_name(x, X509_get_subject_name(signer)) == 1, "issuer name");
  check(X509_set_pubkey(x, out.key.get()) == 1, "X509_set_pubkey");
  if (s.ca) {
    add_conf_ext(x, signer, NID_basic_constraints, "critical,CA:TRUE");
    add_conf_ext(x, signer, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  } else {
    add_conf_ext(x, signer, NID_basic_constraints, "critical,CA:FALSE");
    add_conf_ext(x, signer, NID_key_usage, "critical,digitalSignature,keyAgreement");
  }
  add_conf_ext(x, signer, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) add_conf_ext(x, signer, NID_authority_key_identifier, "keyid:always");
  add_sans(x, s);
  if (s.eku) add_eku(x, *s.eku);
  EVP_PKEY* signing_key = issuer != nullptr ? issuer->key.get() : out.key.get();
  check(X509_sign(x, signing_key, EVP_sha256()) > 0, "X509_sign");
  out.der = der_of(x);
  return out;
}

inline void write_pem(const std::filesystem::path& p, X509* cert) {
  FILE* f = std::fopen(p.c_str(), "w");
  check(f != nullptr, "fopen");
  const bool ok = PEM_write_X509(f, cert) == 1;
  std::fclose(f);
  check(ok, "PEM_write_X509");
}

inline void write_pem(const std::filesystem::path& p, EVP_PKEY* key) {
  FILE* f = std::fopen(p.c_str(), "w");
  check(f != nullptr, "fopen");
  const bool ok = PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(f);
  check(ok, "PEM_write_PrivateKey");
}

}  // namespace pki_detail

// The CA, a server certificate it issued for radius.test, their PEM files and the tls_context
// npsd builds from them. Made once per process: see shared_pki().
class pki {
 public:
  pki() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "npsd-unit-eap-XXXXXX").string();
    pki_detail::check(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
    dir_ = tmpl;
    cert_spec ca_spec;
    ca_spec.subject = {{"O", "npsd tests"}, {"CN", "npsd unit test CA"}};
    ca_spec.serial_hex = "100";
    ca_spec.ca = true;
    ca_ = pki_detail::make_cert(ca_spec, nullptr);
    cert_spec server_spec;
    server_spec.subject = {{"O", "npsd tests"}, {"CN", "radius.test"}};
    server_spec.serial_hex = "101";
    server_spec.dns_names = {"radius.test"};
    server_spec.eku = std::vector<std::string>{eku_server_auth};
    server_ = pki_detail::make_cert(server_spec, &ca_);
    pki_detail::write_pem(dir_ / "ca.pem", ca_.cert.get());
    pki_detail::write_pem(dir_ / "server.pem", server_.cert.get());
    pki_detail::write_pem(dir_ / "server.key", server_.key.get());
    eap::eap_config cfg;
    cfg.enabled = true;
    cfg.certificate = dir_ / "server.pem";
    cfg.private_key = dir_ / "server.key";
    cfg.ca_file = dir_ / "ca.pem";
    auto ctx = eap::tls_context::make(cfg);
    if (!ctx) throw std::runtime_error("test PKI: tls_context::make: " + ctx.error());
    context_ = *ctx;
  }
  ~pki() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  pki(const pki&) = delete;
  pki& operator=(const pki&) = delete;

  const issued& ca() const noexcept { return ca_; }
  const std::filesystem::path& dir() const noexcept { return dir_; }
  const std::shared_ptr<const eap::tls_context>& context() const noexcept { return context_; }
  // A certificate the CA issues.
  issued issue(const cert_spec& s) const { return pki_detail::make_cert(s, &ca_); }

 private:
  std::filesystem::path dir_;
  issued ca_;
  issued server_;
  std::shared_ptr<const eap::tls_context> context_;
};

inline const pki& shared_pki() {
  static const pki instance;
  return instance;
}

}  // namespace npsd::test
