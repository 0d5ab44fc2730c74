// eap/certificate.h: what npsd reads from a client certificate (names, identity, EKU), on
// certificates made in-process by test_pki.h, and on DER that is not a certificate.
#include "eap/certificate.h"

#include <doctest/doctest.h>

#include "test_pki.h"

using namespace npsd;
using eap::cert_identity_source;
using test::cert_spec;
using test::other_name;

namespace {

const std::vector<cert_identity_source> default_order = eap::eap_config{}.identity_sources;

// (a) a user certificate as AD CS issues it: UPN, e-mail, DNS name, CN, clientAuth.
const test::issued& user_cert() {
  static const test::issued c = [] {
    cert_spec s;
    s.subject = {{"C", "FR"}, {"O", "Corp Example"}, {"OU", "Users"}, {"CN", "Alice Example"}};
    s.serial_hex = "0a1b2c3d4e5f";
    s.other_names = {{eap::upn_oid, "alice@corp.example.com"}};
    s.emails = {"alice@example.com"};
    s.dns_names = {"pc1.corp.example.com"};
    s.eku = std::vector<std::string>{test::eku_client_auth};
    return test::shared_pki().issue(s);
  }();
  return c;
}

eap::certificate_info inspect(const test::issued& c) {
  const auto info = eap::inspect_certificate(c.der);
  REQUIRE_MESSAGE(info, (info ? std::string() : info.error()));
  return *info;
}

}  // namespace

TEST_CASE("inspect_certificate reads subject, issuer, serial, UPN, e-mail, DNS name, CN and the "
          "clientAuth EKU of a user certificate") {
  const auto info = inspect(user_cert());
  CHECK(info.subject == "CN=Alice Example,OU=Users,O=Corp Example,C=FR");
  CHECK(info.issuer == "CN=npsd unit test CA,O=npsd tests");
  CHECK(info.serial == "0A1B2C3D4E5F");
  CHECK(info.upns == std::vector<std::string>{"alice@corp.example.com"});
  CHECK(info.emails == std::vector<std::string>{"alice@example.com"});
  CHECK(info.dns_names == std::vector<std::string>{"pc1.corp.example.com"});
  CHECK(info.common_name == "Alice Example");
  CHECK(info.has_eku);
  CHECK(info.eku_oids == std::vector<std::string>{eap::client_auth_oid});
  CHECK(info.client_auth());
}

TEST_CASE("inspect_certificate of a machine certificate with only a DNS SAN") {
  cert_spec s;
  s.subject = {{"O", "Corp Example"}};
  s.serial_hex = "7f";
  s.dns_names = {"pc7.corp.example.com"};
  s.eku = std::vector<std::string>{test::eku_client_auth, test::eku_server_auth};
  const auto info = inspect(test::shared_pki().issue(s));
  CHECK(info.subject == "O=Corp Example");
  CHECK(info.serial == "7F");
  CHECK(info.upns.empty());
  CHECK(info.emails.empty());
  CHECK(info.dns_names == std::vector<std::string>{"pc7.corp.example.com"});
  CHECK(info.common_name.empty());
  CHECK(info.eku_oids == std::vector<std::string>{test::eku_client_auth, test::eku_server_auth});
  CHECK(info.client_auth());
  const auto who = eap::identity_of(info, default_order);
  REQUIRE(who);
  CHECK(who->identity == "host/pc7.corp.example.com");
  CHECK(who->source == cert_identity_source::dns);
}

TEST_CASE("inspect_certificate of a certificate with only a CN and the emailProtection EKU: EKU "
          "present, no client authentication") {
  cert_spec s;
  s.subject = {{"CN", "bob"}};
  s.eku = std::vector<std::string>{test::eku_email_protection};
  const auto info = inspect(test::shared_pki().issue(s));
  CHECK(info.subject == "CN=bob");
  CHECK(info.serial == "01");
  CHECK(info.upns.empty());
  CHECK(info.emails.empty());
  CHECK(info.dns_names.empty());
  CHECK(info.common_name == "bob");
  CHECK(info.has_eku);
  CHECK(info.eku_oids == std::vector<std::string>{test::eku_email_protection});
  CHECK_FALSE(info.client_auth());
  const auto who = eap::identity_of(info, default_order);
  REQUIRE(who);
  CHECK(who->identity == "bob");
  CHECK(who->source == cert_identity_source::cn);
}

TEST_CASE("inspect_certificate of a certificate without EKU: has_eku false, client_auth() false") {
  cert_spec s;
  s.subject = {{"CN", "carol"}};
  s.other_names = {{eap::upn_oid, "carol@corp.example.com"}};
  const auto info = inspect(test::shared_pki().issue(s));
  CHECK_FALSE(info.has_eku);
  CHECK(info.eku_oids.empty());
  CHECK_FALSE(info.client_auth());
  CHECK(info.upns == std::vector<std::string>{"carol@corp.example.com"});
}

TEST_CASE("client_auth() needs the EKU extension, whatever eku_oids says") {
  eap::certificate_info info;
  info.eku_oids = {eap::client_auth_oid};
  CHECK_FALSE(info.client_auth());
  info.has_eku = true;
  CHECK(info.client_auth());
  info.eku_oids = {test::eku_server_auth};
  CHECK_FALSE(info.client_auth());
}

TEST_CASE("inspect_certificate: common_name is the subject's last CN; every SAN of a kind is kept "
          "in order") {
  cert_spec s;
  s.subject = {{"CN", "first"}, {"O", "Corp"}, {"CN", "last"}};
  s.other_names = {{eap::upn_oid, "u1@corp"}, {eap::upn_oid, "u2@corp"}};
  s.emails = {"e1@corp", "e2@corp"};
  s.dns_names = {"d1.corp", "d2.corp"};
  const auto info = inspect(test::shared_pki().issue(s));
  CHECK(info.common_name == "last");
  CHECK(info.upns == std::vector<std::string>{"u1@corp", "u2@corp"});
  CHECK(info.emails == std::vector<std::string>{"e1@corp", "e2@corp"});
  CHECK(info.dns_names == std::vector<std::string>{"d1.corp", "d2.corp"});
  const auto who = eap::identity_of(info, default_order);
  REQUIRE(who);
  CHECK(who->identity == "u1@corp");
}

TEST_CASE("inspect_certificate ignores an otherName that is not a UPN, a UPN that is not a "
          "UTF8String and a UPN holding a NUL") {
  cert_spec s;
  s.subject = {{"CN", "mallory"}};
  s.other_names = {{"1.3.6.1.4.1.311.25.1", "guid-like"},                       // another OID
                   {eap::upn_oid, "ia5@corp.example.com", V_ASN1_IA5STRING},    // wrong type
                   {eap::upn_oid, std::string("admin@corp\0.evil", 16)},        // embedded NUL
                   {eap::upn_oid, "good@corp.example.com"}};
  s.emails = {std::string("x@y\0z", 5)};
  const auto info = inspect(test::shared_pki().issue(s));
  CHECK(info.upns == std::vector<std::string>{"good@corp.example.com"});
  CHECK(info.emails.empty());
  CHECK(info.common_name == "mallory");
}

TEST_CASE("inspect_certificate renders non-ASCII UTF-8 names as UTF-8") {
  cert_spec s;
  s.subject = {{"O", "Société Générale"}, {"CN", "Zoë Ÿ"}};
  const auto info = inspect(test::shared_pki().issue(s));
  CHECK(info.common_name == "Zoë Ÿ");
  CHECK(info.subject == "CN=Zoë Ÿ,O=Société Générale");
}

TEST_CASE("identity_of in the default order prefers UPN, then e-mail, then host/<dns>, then CN") {
  auto info = inspect(user_cert());
  auto who = eap::identity_of(info, default_order);
  REQUIRE(who);
  CHECK(who->identity == "alice@corp.example.com");
  CHECK(who->source == cert_identity_source::upn);
  CHECK(eap::source_name(who->source) == "upn");

  info.upns.clear();
  who = eap::identity_of(info, default_order);
  REQUIRE(who);
  CHECK(who->identity == "alice@example.com");
  CHECK(who->source == cert_identity_source::email);

  info.emails.clear();
  who = eap::identity_of(info, default_order);
  REQUIRE(who);
  CHECK(who->identity == "host/pc1.corp.example.com");
  CHECK(who->source == cert_identity_source::dns);

  info.dns_names.clear();
  who = eap::identity_of(info, default_order);
  REQUIRE(who);
  CHECK(who->identity == "Alice Example");
  CHECK(who->source == cert_identity_source::cn);

  info.common_name.clear();
  CHECK_FALSE(eap::identity_of(info, default_order));
}

TEST_CASE("identity_of follows a custom order and skips the sources it does not list") {
  const auto info = inspect(user_cert());
  auto who = eap::identity_of(info, {cert_identity_source::cn, cert_identity_source::upn});
  REQUIRE(who);
  CHECK(who->identity == "Alice Example");
  CHECK(who->source == cert_identity_source::cn);

  who = eap::identity_of(info, {cert_identity_source::dns});
  REQUIRE(who);
  CHECK(who->identity == "host/pc1.corp.example.com");

  who = eap::identity_of(info, {cert_identity_source::email, cert_identity_source::upn});
  REQUIRE(who);
  CHECK(who->identity == "alice@example.com");

  CHECK_FALSE(eap::identity_of(info, {}));

  eap::certificate_info cn_only;
  cn_only.common_name = "bob";
  CHECK_FALSE(eap::identity_of(cn_only, {cert_identity_source::upn, cert_identity_source::email,
                                         cert_identity_source::dns}));
}

TEST_CASE("source_name names each identity source") {
  CHECK(eap::source_name(cert_identity_source::upn) == "upn");
  CHECK(eap::source_name(cert_identity_source::email) == "email");
  CHECK(eap::source_name(cert_identity_source::dns) == "dns");
  CHECK(eap::source_name(cert_identity_source::cn) == "cn");
}

TEST_CASE("inspect_certificate returns an error for empty input, garbage and every truncation of "
          "a valid certificate") {
  CHECK_FALSE(eap::inspect_certificate({}));
  const auto garbage = eap::inspect_certificate(eap::bytes{0xde, 0xad, 0xbe, 0xef, 0x00, 0x01});
  REQUIRE_FALSE(garbage);
  CHECK_FALSE(garbage.error().empty());
  CHECK_FALSE(eap::inspect_certificate(eap::bytes(1000, 0x30)));
  CHECK_FALSE(eap::inspect_certificate(eap::bytes{0x30, 0x82, 0xff, 0xff}));

  const auto& der = user_cert().der;
  REQUIRE(eap::inspect_certificate(der));
  std::size_t accepted = 0;
  for (std::size_t n = 0; n < der.size(); ++n)
    if (eap::inspect_certificate(eap::byte_view(der).first(n))) ++accepted;
  CHECK(accepted == 0);
}

TEST_CASE("inspect_certificate survives every single-byte corruption of a valid certificate") {
  // Whatever it answers, it answers without crashing (run under ASan); a corrupted signature or
  // name still parses, which is fine: verification is OpenSSL's job, not this function's.
  auto der = user_cert().der;
  std::size_t parsed = 0;
  for (std::size_t i = 0; i < der.size(); ++i) {
    const auto saved = der[i];
    der[i] = static_cast<std::uint8_t>(saved ^ 0xff);
    if (eap::inspect_certificate(der)) ++parsed;
    der[i] = saved;
  }
  CHECK(parsed < der.size());
  CHECK(eap::inspect_certificate(der));
}
