// eap/conversation.h: the EAP-TLS server conversation (RFC 5216, RFC 9190), driven I/O-free
// against an in-memory OpenSSL client: EAP packets in and out, TLS through memory BIOs.
#include "eap/conversation.h"

#include <openssl/ssl.h>

#include <doctest/doctest.h>

#include "test_pki.h"
#include "tls_peer.h"

using namespace npsd;
using eap::bytes;
using eap::failure_kind;
using eap::step;
using eap::tls_failure;
using test::alice;
using test::supplicant;
using test::tls_client;
using test::tls_options;
namespace flag = eap::tls_flag;

namespace {

eap::conversation_options options(std::size_t fragment_size = 300) {
  eap::conversation_options o;
  o.tls = tls_options(fragment_size);
  return o;
}

eap::packet parsed(const bytes& wire) {
  const auto p = eap::parse(wire);
  REQUIRE(p);
  return *p;
}

eap::packet response(std::uint8_t id, bytes data, std::uint8_t type = eap::type::tls) {
  return eap::packet{eap::code::response, id, type, std::move(data)};
}

struct run_result {
  step last;
  std::uint8_t last_response_id = 0;
  std::size_t rounds = 0;
  std::size_t server_fragments = 0;
  std::size_t client_fragments = 0;
  std::size_t max_server_data = 0;
};

// Runs `conv` from begin() against `client`: each EAP-Request/TLS is answered with an
// EAP-Response/TLS carrying its identifier, until the server sends something other than a
// challenge.
run_result run(eap::conversation& conv, tls_client& client, std::size_t client_fragment = 300) {
  run_result r;
  r.last = conv.begin();
  {
    const auto start = parsed(r.last.eap);
    CHECK(start.code == eap::code::request);
    CHECK(start.type == eap::type::tls);
    CHECK(start.data == bytes{flag::start});
  }
  supplicant peer(client, client_fragment);
  while (r.last.what == step::kind::challenge) {
    REQUIRE(r.rounds < 100);
    const auto req = parsed(r.last.eap);
    REQUIRE(req.code == eap::code::request);
    REQUIRE(req.type == eap::type::tls);
    auto answer = peer.answer(req.data);
    r.last_response_id = req.identifier;
    ++r.rounds;
    // Through the wire format both ways, as the RADIUS layer carries it.
    r.last = conv.on_response(parsed(eap::encode(response(req.identifier, std::move(answer)))));
  }
  r.server_fragments = peer.server_fragments;
  r.client_fragments = peer.client_fragments;
  r.max_server_data = peer.max_server_data;
  return r;
}

void check_failure_packet(const run_result& r) {
  const auto f = parsed(r.last.eap);
  CHECK(f.code == eap::code::failure);
  CHECK(f.identifier == r.last_response_id);
}

void check_success(int max_version) {
  eap::conversation conv("alice@corp.example.com", 7, options(300));
  tls_client client(max_version, &alice());
  const auto r = run(conv, client);
  REQUIRE_MESSAGE(r.last.what == step::kind::success, r.last.detail);
  CHECK(client.established());
  CHECK(client.version() == max_version);
  CHECK(r.server_fragments > 0);  // the server's flight went in several requests, ACKed
  CHECK(r.client_fragments > 0);  // and the client's flight in several responses
  CHECK(r.max_server_data <= 300);

  const auto ok = parsed(r.last.eap);
  CHECK(ok.code == eap::code::success);
  CHECK(ok.identifier == r.last_response_id);

  const bytes keys = max_version == TLS1_3_VERSION
                         ? client.export_keys("EXPORTER_EAP_TLS_Key_Material", {eap::type::tls}, true)
                         : client.export_keys("client EAP encryption", {}, false);
  REQUIRE(r.last.msk.size() == 64);
  CHECK(r.last.msk == bytes(keys.begin(), keys.begin() + 64));
  CHECK(r.last.tls_version == (max_version == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2"));
  CHECK_FALSE(r.last.cipher.empty());

  REQUIRE(r.last.identity);
  CHECK(r.last.identity->identity == "alice@corp.example.com");
  CHECK(r.last.identity->source == eap::cert_identity_source::upn);
  REQUIRE(r.last.certificate);
  CHECK(r.last.certificate->serial == "0A11CE");
  CHECK(r.last.certificate->issuer == "CN=npsd unit test CA,O=npsd tests");
  CHECK(conv.rounds() == r.rounds);
  CHECK(conv.identity() == "alice@corp.example.com");
  CHECK(conv.method_type() == eap::type::tls);
}

// A conversation whose peer presents `cert` (or none), run to its end.
run_result run_with(const test::issued* cert, int max_version, eap::conversation_options o = options()) {
  eap::conversation conv("someone", 1, std::move(o));
  tls_client client(max_version, cert);
  return run(conv, client);
}

}  // namespace

TEST_CASE("EAP-TLS over TLS 1.2 succeeds; the MSK is the client's \"client EAP encryption\" "
          "export; the identity is the UPN") {
  check_success(TLS1_2_VERSION);
}

TEST_CASE("EAP-TLS over TLS 1.3 succeeds; the MSK is the client's "
          "EXPORTER_EAP_TLS_Key_Material export with context 0x0D; the identity is the UPN") {
  check_success(TLS1_3_VERSION);
}

TEST_CASE("EAP-TLS over TLS 1.3: the server commits with one byte of application data, 0x00") {
  eap::conversation conv("alice", 1, options(1020));
  tls_client client(TLS1_3_VERSION, &alice());
  const auto r = run(conv, client);
  REQUIRE_MESSAGE(r.last.what == step::kind::success, r.last.detail);
  CHECK(client.app_data() == bytes{0x00});
}

TEST_CASE("EAP-TLS succeeds unfragmented at fragment size 1020 with a client sending 1020") {
  eap::conversation conv("alice", 1, options(1020));
  tls_client client(TLS1_3_VERSION, &alice());
  const auto r = run(conv, client, 1020);
  REQUIRE_MESSAGE(r.last.what == step::kind::success, r.last.detail);
  CHECK(r.max_server_data <= 1020);
}

TEST_CASE("begin() sends EAP-Request/TLS Start with the identifier after the Identity's, and each "
          "request takes the next identifier") {
  eap::conversation conv("alice", 255, options());
  const auto start = conv.begin();
  CHECK(start.what == step::kind::challenge);
  const auto p = parsed(start.eap);
  CHECK(p.code == eap::code::request);
  CHECK(p.identifier == 0);  // 255 + 1, wrapped
  CHECK(p.type == eap::type::tls);
  CHECK(p.data == bytes{flag::start});

  tls_client client(TLS1_3_VERSION, &alice());
  const auto hello = client.exchange({});
  REQUIRE(hello.size() < 300);
  bytes answer{0};
  answer.insert(answer.end(), hello.begin(), hello.end());
  const auto next = conv.on_response(response(0, answer));
  REQUIRE(next.what == step::kind::challenge);
  CHECK(parsed(next.eap).identifier == 1);
}

TEST_CASE("a response with a wrong EAP identifier fails with unexpected_packet") {
  eap::conversation conv("alice", 7, options());
  const auto start = parsed(conv.begin().eap);
  const auto s = conv.on_response(response(static_cast<std::uint8_t>(start.identifier + 1), {0}));
  CHECK(s.what == step::kind::failure);
  CHECK(s.why == failure_kind::unexpected_packet);
  CHECK(parsed(s.eap).code == eap::code::failure);
}

TEST_CASE("a response repeating the previous request's identifier mid-handshake fails with "
          "unexpected_packet") {
  eap::conversation conv("alice", 7, options());
  const auto start = parsed(conv.begin().eap);
  tls_client client(TLS1_3_VERSION, &alice());
  const auto hello = client.exchange({});
  bytes answer{0};
  answer.insert(answer.end(), hello.begin(), hello.end());
  const auto next = conv.on_response(response(start.identifier, answer));
  REQUIRE(next.what == step::kind::challenge);
  const auto s = conv.on_response(response(start.identifier, {0}));
  CHECK(s.what == step::kind::failure);
  CHECK(s.why == failure_kind::unexpected_packet);
}

TEST_CASE("a NAK asking only for methods not allowed fails with method_refused and names them") {
  eap::conversation conv("alice", 7, options());
  const auto start = parsed(conv.begin().eap);
  const auto s = conv.on_response(response(start.identifier, {eap::type::mschapv2}, eap::type::nak));
  CHECK(s.what == step::kind::failure);
  CHECK(s.why == failure_kind::method_refused);
  CHECK(s.detail.find("EAP-MSCHAPv2 (26)") != std::string::npos);
  const auto f = parsed(s.eap);
  CHECK(f.code == eap::code::failure);
  CHECK(f.identifier == start.identifier);
}

TEST_CASE("a NAK for PEAP when only EAP-TLS is allowed fails with method_refused") {
  auto o = options();
  o.methods = {eap::type::tls};
  eap::conversation conv("alice", 7, std::move(o));
  const auto start = parsed(conv.begin().eap);
  const auto s = conv.on_response(response(start.identifier, {eap::type::peap}, eap::type::nak));
  CHECK(s.what == step::kind::failure);
  CHECK(s.why == failure_kind::method_refused);
  CHECK(s.detail.find("PEAP (25)") != std::string::npos);
}

TEST_CASE("an empty NAK (no alternative proposed) fails with method_refused") {
  eap::conversation conv("alice", 7, options());
  const auto start = parsed(conv.begin().eap);
  const auto s = conv.on_response(response(start.identifier, {}, eap::type::nak));
  CHECK(s.what == step::kind::failure);
  CHECK(s.why == failure_kind::method_refused);
}

TEST_CASE("a NAK for an allowed method switches to it: PEAP Start with the next identifier") {
  eap::conversation conv("alice", 7, options());
  const auto start = parsed(conv.begin().eap);
  const auto s = conv.on_response(
      response(start.identifier, {eap::type::mschapv2, eap::type::peap}, eap::type::nak));
  REQUIRE(s.what == step::kind::challenge);
  const auto peap = parsed(s.eap);
  CHECK(peap.code == eap::code::request);
  CHECK(peap.type == eap::type::peap);
  CHECK(peap.identifier == static_cast<std::uint8_t>(start.identifier + 1));
  CHECK((peap.data.at(0) & flag::start) != 0);
  CHECK(conv.method_type() == eap::type::peap);
}

TEST_CASE("a NAK after the peer answered the method fails with unexpected_packet") {
  eap::conversation conv("alice", 7, options());
  const auto start = parsed(conv.begin().eap);
  tls_client client(TLS1_3_VERSION, &alice());
  const auto hello = client.exchange({});
  bytes answer{0};
  answer.insert(answer.end(), hello.begin(), hello.end());
  const auto next = conv.on_response(response(start.identifier, answer));
  REQUIRE(next.what == step::kind::challenge);
  const auto s = conv.on_response(response(parsed(next.eap).identifier, {eap::type::peap}, eap::type::nak));
  CHECK(s.what == step::kind::failure);
  CHECK(s.why == failure_kind::unexpected_packet);
}

TEST_CASE("with no method allowed, begin() fails with method_refused") {
  auto o = options();
  o.methods.clear();
  eap::conversation conv("alice", 7, std::move(o));
  const auto s = conv.begin();
  CHECK(s.what == step::kind::failure);
  CHECK(s.why == failure_kind::method_refused);
  CHECK(parsed(s.eap).code == eap::code::failure);
}

TEST_CASE("a response of another EAP type, or not a Response, fails with unexpected_packet") {
  {
    eap::conversation conv("alice", 7, options());
    const auto start = parsed(conv.begin().eap);
    const auto s = conv.on_response(response(start.identifier, {'x'}, eap::type::identity));
    CHECK(s.what == step::kind::failure);
    CHECK(s.why == failure_kind::unexpected_packet);
  }
  {
    eap::conversation conv("alice", 7, options());
    const auto start = parsed(conv.begin().eap);
    auto p = response(start.identifier, {0});
    p.code = eap::code::request;
    const auto s = conv.on_response(p);
    CHECK(s.what == step::kind::failure);
    CHECK(s.why == failure_kind::unexpected_packet);
  }
}

TEST_CASE("an empty ACK in answer to Start fails with unexpected_packet") {
  eap::conversation conv("alice", 7, options());
  const auto start = parsed(conv.begin().eap);
  const auto s = conv.on_response(response(start.identifier, {0}));
  CHECK(s.what == step::kind::failure);
  CHECK(s.why == failure_kind::unexpected_packet);
}

TEST_CASE("an EAP-TLS response without a flags byte fails with malformed") {
  eap::conversation conv("alice", 7, options());
  const auto start = parsed(conv.begin().eap);
  const auto s = conv.on_response(response(start.identifier, {}));
  CHECK(s.what == step::kind::failure);
  CHECK(s.why == failure_kind::malformed);
  CHECK_FALSE(s.detail.empty());
}

TEST_CASE("a client message over max_message_size fails with malformed") {
  auto o = options();
  o.tls.max_message_size = 1000;
  eap::conversation conv("alice", 7, std::move(o));
  const auto start = parsed(conv.begin().eap);
  bytes first{flag::length_included | flag::more_fragments, 0, 0, 0x10, 0};  // 4096
  first.resize(first.size() + 200, 0x16);
  const auto s = conv.on_response(response(start.identifier, first));
  CHECK(s.what == step::kind::failure);
  CHECK(s.why == failure_kind::malformed);
}

TEST_CASE("a client's fragment is acknowledged with an empty EAP-TLS request") {
  eap::conversation conv("alice", 7, options());
  const auto start = parsed(conv.begin().eap);
  bytes first{flag::length_included | flag::more_fragments, 0, 0, 0, 200};
  first.resize(first.size() + 100, 0x16);
  const auto s = conv.on_response(response(start.identifier, first));
  REQUIRE(s.what == step::kind::challenge);
  const auto ack = parsed(s.eap);
  CHECK(ack.type == eap::type::tls);
  CHECK(ack.data == bytes{0});
}

TEST_CASE("TLS data that is not a ClientHello fails with tls / handshake") {
  eap::conversation conv("alice", 7, options());
  const auto start = parsed(conv.begin().eap);
  bytes junk{0};
  for (int i = 0; i < 50; ++i) junk.push_back(static_cast<std::uint8_t>(0x41 + i));
  auto r = conv.on_response(response(start.identifier, junk));
  if (r.what == step::kind::challenge) {  // an alert was sent first: answer it
    const auto req = parsed(r.eap);
    r = conv.on_response(response(req.identifier, {0}));
  }
  CHECK(r.what == step::kind::failure);
  CHECK(r.why == failure_kind::tls);
  CHECK(r.tls_why == tls_failure::handshake);
}

TEST_CASE("while the server sends fragments, a response other than an ACK fails with "
          "unexpected_packet") {
  eap::conversation conv("alice", 7, options(64));
  const auto start = parsed(conv.begin().eap);
  tls_client client(TLS1_3_VERSION, &alice());
  const auto hello = client.exchange({});
  bytes answer{0};
  answer.insert(answer.end(), hello.begin(), hello.end());
  const auto first = conv.on_response(response(start.identifier, answer));
  REQUIRE(first.what == step::kind::challenge);
  const auto req = parsed(first.eap);
  REQUIRE((req.data[0] & flag::more_fragments) != 0);
  const auto s = conv.on_response(response(req.identifier, {0, 0x16, 0x03}));
  CHECK(s.what == step::kind::failure);
  CHECK(s.why == failure_kind::unexpected_packet);
}

TEST_CASE("more rounds than max_rounds fail with too_many_rounds") {
  auto o = options(64);
  o.max_rounds = 3;
  const auto r = run_with(&alice(), TLS1_3_VERSION, std::move(o));
  CHECK(r.last.what == step::kind::failure);
  CHECK(r.last.why == failure_kind::too_many_rounds);
  CHECK(r.rounds == 4);
  check_failure_packet(r);
}

TEST_CASE("a client without a certificate fails with tls / no_certificate, over TLS 1.2 and 1.3") {
  for (const int v : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    CAPTURE(v);
    const auto r = run_with(nullptr, v);
    CHECK(r.last.what == step::kind::failure);
    CHECK(r.last.why == failure_kind::tls);
    CHECK(r.last.tls_why == tls_failure::no_certificate);
    CHECK_FALSE(r.last.certificate);
    check_failure_packet(r);
  }
}

TEST_CASE("a client certificate without any EKU completes TLS but fails with no_client_auth") {
  test::cert_spec s;
  s.subject = {{"CN", "noeku"}};
  s.other_names = {{eap::upn_oid, "noeku@corp.example.com"}};
  const auto cert = test::shared_pki().issue(s);
  for (const int v : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    CAPTURE(v);
    const auto r = run_with(&cert, v);
    CHECK(r.last.what == step::kind::failure);
    CHECK(r.last.why == failure_kind::no_client_auth);
    REQUIRE(r.last.certificate);
    CHECK(r.last.certificate->common_name == "noeku");
    CHECK(r.last.msk.empty());
    check_failure_packet(r);
  }
}

TEST_CASE("a client certificate with only the emailProtection EKU fails with tls / wrong_purpose "
          "and reports the certificate") {
  test::cert_spec s;
  s.subject = {{"CN", "mailer"}};
  s.serial_hex = "beef";
  s.eku = std::vector<std::string>{test::eku_email_protection};
  const auto cert = test::shared_pki().issue(s);
  const auto r = run_with(&cert, TLS1_3_VERSION);
  CHECK(r.last.what == step::kind::failure);
  CHECK(r.last.why == failure_kind::tls);
  CHECK(r.last.tls_why == tls_failure::wrong_purpose);
  REQUIRE(r.last.certificate);
  CHECK(r.last.certificate->serial == "BEEF");
  check_failure_packet(r);
}

TEST_CASE("a self-signed client certificate fails with tls / untrusted_issuer") {
  test::cert_spec s;
  s.subject = {{"CN", "stranger"}};
  s.eku = std::vector<std::string>{test::eku_client_auth};
  const auto cert = test::pki_detail::make_cert(s, nullptr);
  const auto r = run_with(&cert, TLS1_2_VERSION);
  CHECK(r.last.what == step::kind::failure);
  CHECK(r.last.why == failure_kind::tls);
  CHECK(r.last.tls_why == tls_failure::untrusted_issuer);
  REQUIRE(r.last.certificate);
  CHECK(r.last.certificate->common_name == "stranger");
}

TEST_CASE("an expired client certificate fails with tls / expired") {
  test::cert_spec s;
  s.subject = {{"CN", "late"}};
  s.eku = std::vector<std::string>{test::eku_client_auth};
  s.valid_from = -7200;
  s.valid_to = -3600;
  const auto cert = test::shared_pki().issue(s);
  const auto r = run_with(&cert, TLS1_3_VERSION);
  CHECK(r.last.what == step::kind::failure);
  CHECK(r.last.why == failure_kind::tls);
  CHECK(r.last.tls_why == tls_failure::expired);
}

TEST_CASE("a certificate naming no identity in the configured sources fails with no_identity") {
  auto o = options();
  o.tls.identity_sources = {eap::cert_identity_source::dns};
  const auto r = run_with(&alice(), TLS1_3_VERSION, std::move(o));
  CHECK(r.last.what == step::kind::failure);
  CHECK(r.last.why == failure_kind::no_identity);
  REQUIRE(r.last.certificate);
  CHECK(r.last.certificate->upns == std::vector<std::string>{"alice@corp.example.com"});
}

TEST_CASE("the identity follows the configured order: e-mail first gives the rfc822Name") {
  auto o = options();
  o.tls.identity_sources = {eap::cert_identity_source::email, eap::cert_identity_source::upn};
  const auto r = run_with(&alice(), TLS1_2_VERSION, std::move(o));
  REQUIRE_MESSAGE(r.last.what == step::kind::success, r.last.detail);
  REQUIRE(r.last.identity);
  CHECK(r.last.identity->identity == "alice@example.com");
  CHECK(r.last.identity->source == eap::cert_identity_source::email);
}

TEST_CASE("TLS data after the handshake, instead of the final ACK, fails with unexpected_packet") {
  eap::conversation conv("alice", 7, options());
  tls_client client(TLS1_2_VERSION, &alice());
  supplicant peer(client, 300);
  auto s = conv.begin();
  bool replaced = false;
  for (int i = 0; i < 100 && s.what == step::kind::challenge; ++i) {
    const auto req = parsed(s.eap);
    auto answer = peer.answer(req.data);
    if (client.established() && answer == bytes{0}) {
      // The server's last flight is in: answer with a TLS record instead of the final ACK.
      answer = {0, 0x17, 0x03, 0x03, 0x00, 0x01, 0x00};
      replaced = true;
    }
    s = conv.on_response(response(req.identifier, std::move(answer)));
    if (replaced) break;
  }
  REQUIRE(replaced);
  CHECK(s.what == step::kind::failure);
  CHECK(s.why == failure_kind::unexpected_packet);
}

TEST_CASE("a TLS renegotiation attempt after the handshake ends the conversation in failure") {
  eap::conversation conv("alice", 7, options());
  tls_client client(TLS1_2_VERSION, &alice());
  supplicant peer(client, 300);
  auto s = conv.begin();
  bool renegotiated = false;
  for (int i = 0; i < 100 && s.what == step::kind::challenge; ++i) {
    const auto req = parsed(s.eap);
    auto answer = peer.answer(req.data);
    if (client.established() && answer == bytes{0}) {
      // The handshake is done: a new ClientHello, encrypted, instead of the final ACK.
      const auto hello = client.renegotiate();
      REQUIRE(hello.size() > 5);
      REQUIRE(hello[0] == 0x16);  // a handshake record
      answer = {0};
      answer.insert(answer.end(), hello.begin(), hello.end());
      renegotiated = true;
    }
    s = conv.on_response(response(req.identifier, std::move(answer)));
    if (renegotiated) break;
  }
  REQUIRE(renegotiated);
  CHECK(s.what == step::kind::failure);
  CHECK(s.msk.empty());
}
