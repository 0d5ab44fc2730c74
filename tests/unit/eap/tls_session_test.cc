// eap/tls_session.h: the TLS context built from the "eap" configuration, and its errors.
#include "eap/tls_session.h"

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>

#include "test_pki.h"

using namespace npsd;
namespace fs = std::filesystem;

namespace {

// A file in the test PKI's directory, written once per name.
fs::path file(const std::string& name, const std::string& content) {
  const auto p = test::shared_pki().dir() / name;
  std::ofstream(p) << content;
  return p;
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

eap::eap_config good_config() {
  const auto& dir = test::shared_pki().dir();
  eap::eap_config c;
  c.enabled = true;
  c.certificate = dir / "server.pem";
  c.private_key = dir / "server.key";
  c.ca_file = dir / "ca.pem";
  return c;
}

std::string error_of(const eap::eap_config& c) {
  const auto r = eap::tls_context::make(c);
  REQUIRE_FALSE(r);
  return r.error();
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("tls_context::make accepts the test PKI's server certificate, key and CA") {
  const auto r = eap::tls_context::make(good_config());
  REQUIRE_MESSAGE(r, (r ? std::string() : r.error()));
  CHECK(*r != nullptr);
}

TEST_CASE("tls_context::make names the missing certificate file") {
  auto c = good_config();
  c.certificate = test::shared_pki().dir() / "nowhere.pem";
  CHECK(contains(error_of(c), "nowhere.pem"));
}

TEST_CASE("tls_context::make refuses a key that is not the certificate's, without quoting it") {
  const auto other = test::pki_detail::make_key();
  const auto key = test::shared_pki().dir() / "other.key";
  test::pki_detail::write_pem(key, other.get());
  auto c = good_config();
  c.private_key = key;
  const auto e = error_of(c);
  CHECK(contains(e, "other.key"));
  CHECK_FALSE(contains(e, "PRIVATE KEY"));
}

TEST_CASE("tls_context::make refuses a key file given as the certificate, without quoting the key") {
  auto c = good_config();
  c.certificate = c.private_key;
  const auto e = error_of(c);
  CHECK(contains(e, "server.key"));
  const auto pem = read(c.private_key);
  REQUIRE(pem.size() > 60);
  CHECK_FALSE(contains(e, "PRIVATE KEY"));
  CHECK_FALSE(contains(e, pem.substr(30, 30)));  // no part of its base64 either
}

TEST_CASE("tls_context::make refuses a cipher list that selects nothing and an unknown group") {
  auto c = good_config();
  c.cipher_list = "NO-SUCH-CIPHER";
  CHECK(contains(error_of(c), "NO-SUCH-CIPHER"));
  c = good_config();
  c.ciphersuites = "TLS_NO_SUCH_SUITE";
  CHECK(contains(error_of(c), "TLS_NO_SUCH_SUITE"));
  c = good_config();
  c.groups = "nosuchgroup";
  CHECK(contains(error_of(c), "nosuchgroup"));
}

TEST_CASE("tls_context::make refuses a CA file holding no certificate") {
  auto c = good_config();
  c.ca_file = file("empty-ca.pem", "");
  CHECK(contains(error_of(c), "empty-ca.pem"));
}

TEST_CASE("tls_context::make refuses an expired server certificate") {
  test::cert_spec s;
  s.subject = {{"CN", "old.radius.test"}};
  s.eku = std::vector<std::string>{test::eku_server_auth};
  s.valid_from = -7200;
  s.valid_to = -3600;
  const auto old = test::shared_pki().issue(s);
  const auto& dir = test::shared_pki().dir();
  test::pki_detail::write_pem(dir / "old.pem", old.cert.get());
  test::pki_detail::write_pem(dir / "old.key", old.key.get());
  auto c = good_config();
  c.certificate = dir / "old.pem";
  c.private_key = dir / "old.key";
  CHECK(contains(error_of(c), "expired"));
}

TEST_CASE("tls_failure_name names every failure") {
  using f = eap::tls_failure;
  for (const auto v : {f::none, f::handshake, f::no_certificate, f::untrusted_issuer, f::expired,
                       f::not_yet_valid, f::revoked, f::crl_unavailable, f::wrong_purpose,
                       f::bad_certificate})
    CHECK_FALSE(eap::tls_failure_name(v).empty());
  CHECK(eap::tls_failure_name(f::no_certificate) != eap::tls_failure_name(f::expired));
}
