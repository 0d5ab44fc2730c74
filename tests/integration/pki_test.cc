// The test PKI that scripts/make-pki makes for the EAP tests, checked with `openssl verify`: the
// good certificates verify, each bad one fails for its one defect, and the SANs carry the UPNs.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "eapol.h"

using namespace npsd::test;

namespace {

std::string pki_file(const std::string& name) { return shell_quote((test_pki() / name).string()); }

// `openssl verify` against the root, with extra options placed before the certificate.
command_result verify(const std::string& cert, const std::string& options = "") {
  return run("openssl verify -CAfile " + pki_file("ca.pem") + " " + options + " " + pki_file(cert));
}

// `openssl x509 -serial -subject -issuer -text` of a certificate, run once per certificate
// (openssl x509 is slow to start, ~40 ms).
const std::string& x509(const std::string& cert) {
  static std::map<std::string, std::string> cache;
  auto it = cache.find(cert);
  if (it == cache.end()) {
    const auto r = run("openssl x509 -noout -serial -subject -issuer -text -in " + pki_file(cert));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    it = cache.emplace(cert, r.output).first;
  }
  return it->second;
}

std::string serial(const std::string& cert) {
  const auto& text = x509(cert);
  const auto pos = text.find("serial=");
  REQUIRE(pos != std::string::npos);
  return text.substr(pos + 7, text.find('\n', pos) - pos - 7);
}

bool has(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("make-pki: users, machine and servers issued by the root verify against ca.pem") {
  for (const char* c : {"alice.pem", "bob.pem", "dave.pem", "laptop1.pem"}) {
    CAPTURE(c);
    auto r = verify(c);
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    r = verify(c, "-purpose sslclient");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
  }
  for (const char* c : {"server.pem", "server-ecdsa.pem"}) {
    CAPTURE(c);
    const auto r = verify(c, "-purpose sslserver");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
  }
  const auto r = verify("noeku.pem");  // chains fine; only its purpose is wrong
  CHECK_MESSAGE(r.exit_code == 0, r.output);
}

TEST_CASE("make-pki: carol is issued by the intermediate and verifies only with it") {
  auto r = verify("carol.pem", "-purpose sslclient -untrusted " + pki_file("intermediate.pem"));
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  r = verify("carol.pem", "-untrusted " + pki_file("carol-chain.pem"));
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  r = verify("carol.pem");
  CHECK_MESSAGE(r.exit_code != 0, r.output);
  CHECK(has(x509("carol.pem"), "issuer=O = npsd test, CN = npsd Test Issuing CA"));
  CHECK(has(x509("intermediate.pem"), "CA:TRUE, pathlen:0"));
  CHECK(has(x509("intermediate.pem"), "issuer=O = npsd test, CN = npsd Test Root CA"));
  // the chain file is carol's certificate followed by the intermediate's
  const auto chain = read_file(test_pki() / "carol-chain.pem");
  CHECK(chain == read_file(test_pki() / "carol.pem") + read_file(test_pki() / "intermediate.pem"));
}

TEST_CASE("make-pki: rogue, expired, revoked (with the CRL) and noeku (as sslclient) fail") {
  auto r = verify("rogue.pem");
  CHECK_MESSAGE(r.exit_code != 0, r.output);
  CHECK_MESSAGE(has(r.output, "unable to get local issuer certificate"), r.output);
  r = run("openssl verify -CAfile " + pki_file("rogue-ca.pem") + " " + pki_file("rogue.pem"));
  CHECK_MESSAGE(r.exit_code == 0, r.output);  // it is a real chain, just not ours

  r = verify("expired.pem");
  CHECK_MESSAGE(r.exit_code != 0, r.output);
  CHECK_MESSAGE(has(r.output, "certificate has expired"), r.output);

  r = verify("revoked.pem", "-crl_check -CRLfile " + pki_file("ca.crl"));
  CHECK_MESSAGE(r.exit_code != 0, r.output);
  CHECK_MESSAGE(has(r.output, "certificate revoked"), r.output);
  // the CRL is what rejects it: without one, or with the empty CRL, it verifies
  r = verify("revoked.pem");
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  r = verify("revoked.pem", "-crl_check -CRLfile " + pki_file("ca-empty.crl"));
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  // and the CRL rejects nothing else
  r = verify("alice.pem", "-crl_check -CRLfile " + pki_file("ca.crl"));
  CHECK_MESSAGE(r.exit_code == 0, r.output);

  r = verify("noeku.pem", "-purpose sslclient");
  CHECK_MESSAGE(r.exit_code != 0, r.output);
  CHECK_MESSAGE(has(r.output, "unsuitable certificate purpose"), r.output);
}

TEST_CASE("make-pki: SANs carry the UPN otherName and email; laptop1 a DNS name") {
  // what the brief promises, in the form OpenSSL 3.0 prints it ("UPN::" is its quirk)
  const auto alice = run("openssl x509 -noout -ext subjectAltName -in " + pki_file("alice.pem")).output;
  CHECK_MESSAGE(has(alice, "othername: UPN::alice@corp.example.com, email:alice@corp.example.com"), alice);

  for (const char* user : {"alice", "bob", "carol", "dave"}) {
    CAPTURE(user);
    const std::string upn = std::string(user) + "@corp.example.com";
    const auto& text = x509(std::string(user) + ".pem");
    CHECK_MESSAGE(has(text, "othername: UPN::" + upn + ", email:" + upn), text);
    CHECK(has(text, "subject=CN = " + std::string(user) + "\n"));
    CHECK(has(text, "TLS Web Client Authentication"));
  }
  for (const char* c : {"noeku.pem", "expired.pem", "revoked.pem", "rogue.pem"}) {
    CAPTURE(c);
    CHECK(has(x509(c), "othername: UPN::alice@corp.example.com"));
  }
  const auto& laptop = x509("laptop1.pem");
  CHECK(has(laptop, "DNS:laptop1.corp.example.com"));
  CHECK(has(laptop, "TLS Web Client Authentication"));
  CHECK_FALSE(has(laptop, "othername"));
  CHECK(has(x509("server.pem"), "DNS:npsd.corp.example.com"));
  CHECK(has(x509("server.pem"), "TLS Web Server Authentication"));
  CHECK(has(x509("server-ecdsa.pem"), "id-ecPublicKey"));
  CHECK(has(x509("bob.pem"), "id-ecPublicKey"));
  const auto& noeku = x509("noeku.pem");
  CHECK(has(noeku, "E-mail Protection"));
  CHECK_FALSE(has(noeku, "Client Authentication"));
}

TEST_CASE("make-pki: keys are private, serials unique, CRLs as expected, a second run is a no-op") {
  std::set<std::string> serials;
  int certs = 0;
  for (const auto& e : fs::directory_iterator(test_pki())) {
    const auto name = e.path().filename().string();
    if (e.path().extension() == ".key") {
      CAPTURE(name);
      CHECK((fs::status(e.path()).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
      CHECK(read_file(e.path()).starts_with("-----BEGIN PRIVATE KEY-----"));  // unencrypted PEM
    }
    if (e.path().extension() == ".pem" && name != "carol-chain.pem") {
      ++certs;
      serials.insert(serial(name));
    }
  }
  CHECK(certs == 14);
  CHECK(serials.size() == static_cast<std::size_t>(certs));

  const auto crl = run("openssl crl -noout -text -in " + pki_file("ca.crl")).output;
  CHECK_MESSAGE(has(crl, "Serial Number: " + serial("revoked.pem") + "\n"), crl);
  CHECK(has(crl, "Issuer: O = npsd test, CN = npsd Test Root CA"));
  const auto empty = run("openssl crl -noout -text -in " + pki_file("ca-empty.crl")).output;
  CHECK_MESSAGE(has(empty, "No Revoked Certificates"), empty);

  const auto before = fs::last_write_time(test_pki() / "ca.pem");
  const auto r = run(shell_quote(std::string(NPSD_SOURCE_DIR) + "/scripts/make-pki") + " " +
                     shell_quote(test_pki().string()));
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  CHECK(fs::last_write_time(test_pki() / "ca.pem") == before);
}
