// eap/tls_auth.h: one TLS conversation in EAP-TLS framing, at the payload level (the bytes
// after the EAP type), against the in-memory OpenSSL client of tls_peer.h.
#include "eap/tls_auth.h"

#include <openssl/ssl.h>

#include <doctest/doctest.h>

#include "test_pki.h"
#include "tls_peer.h"

using namespace npsd;
using eap::bytes;
using test::alice;
using test::supplicant;
using test::tls_client;
using test::tls_options;

namespace {

// Runs `server` from Start against `client` until it says something other than `send`.
eap::tls_outcome run(eap::tls_auth& server, tls_client& client, std::size_t client_fragment = 300) {
  supplicant peer(client, client_fragment);
  bytes payload = eap::tls_auth::start();
  eap::tls_outcome o;
  for (int i = 0; i < 100; ++i) {
    o = server.on_payload(peer.answer(payload));
    if (o.what != eap::tls_outcome::kind::send) break;
    payload = o.data;
  }
  return o;
}

}  // namespace

TEST_CASE("tls_auth in eap_tls mode exports MSK and EMSK as the client's first and second 64 "
          "bytes, over TLS 1.2 and 1.3") {
  for (const int v : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    CAPTURE(v);
    eap::tls_auth server(tls_options(300), eap::tls_auth::mode::eap_tls, eap::type::tls);
    tls_client client(v, &alice());
    const auto o = run(server, client);
    REQUIRE_MESSAGE(o.what == eap::tls_outcome::kind::done, o.detail);
    const bytes keys = v == TLS1_3_VERSION
                           ? client.export_keys("EXPORTER_EAP_TLS_Key_Material", {eap::type::tls}, true)
                           : client.export_keys("client EAP encryption", {}, false);
    CHECK(o.msk == bytes(keys.begin(), keys.begin() + 64));
    CHECK(o.emsk == bytes(keys.begin() + 64, keys.end()));
    REQUIRE(o.identity);
    CHECK(o.identity->identity == "alice@corp.example.com");
  }
}

TEST_CASE("tls_auth: the TLS 1.3 exporter context is the method's EAP type") {
  // The same handshake run as EAP type 25 gives the keys of context {25}, not {13}.
  eap::tls_auth server(tls_options(300), eap::tls_auth::mode::eap_tls, eap::type::peap);
  tls_client client(TLS1_3_VERSION, &alice());
  const auto o = run(server, client);
  REQUIRE_MESSAGE(o.what == eap::tls_outcome::kind::done, o.detail);
  const auto k25 = client.export_keys("EXPORTER_EAP_TLS_Key_Material", {eap::type::peap}, true);
  const auto k13 = client.export_keys("EXPORTER_EAP_TLS_Key_Material", {eap::type::tls}, true);
  CHECK(o.msk == bytes(k25.begin(), k25.begin() + 64));
  CHECK(o.msk != bytes(k13.begin(), k13.begin() + 64));
}

TEST_CASE("tls_auth in tunnel mode needs no client certificate and carries application data "
          "both ways") {
  for (const int v : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    CAPTURE(v);
    eap::tls_auth server(tls_options(300), eap::tls_auth::mode::tunnel, eap::type::peap);
    tls_client client(v, nullptr);
    supplicant peer(client, 300);
    const auto o = run(server, client);
    REQUIRE_MESSAGE(o.what == eap::tls_outcome::kind::done, o.detail);
    CHECK(o.msk.size() == 64);
    CHECK_FALSE(o.certificate);
    CHECK_FALSE(o.identity);
    CHECK(client.established());
    // Server to client.
    const auto sent = server.send_app(bytes{1, 2, 3});
    REQUIRE(sent.what == eap::tls_outcome::kind::send);
    (void)peer.answer(sent.data);  // the client decrypts it
    CHECK(client.app_data() == bytes{1, 2, 3});
    // Client to server.
    bytes payload{0};
    const auto records = client.write(bytes{4, 5, 6, 7});
    payload.insert(payload.end(), records.begin(), records.end());
    const auto got = server.on_payload(payload);
    REQUIRE_MESSAGE(got.what == eap::tls_outcome::kind::app_data, got.detail);
    CHECK(got.data == bytes{4, 5, 6, 7});
  }
}

TEST_CASE("tls_auth: send_app before the tunnel is up fails") {
  eap::tls_auth server(tls_options(300), eap::tls_auth::mode::tunnel, eap::type::peap);
  CHECK(server.send_app(bytes{1}).what == eap::tls_outcome::kind::failed);
}
