#pragma once
// The peer side of EAP-TLS for the unit tests: an in-memory OpenSSL client (memory BIOs, the
// test CA trusted, a client certificate when given) and the supplicant's EAP-TLS framing around
// it (fragments, acknowledgements).
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "eap/certificate.h"
#include "eap/eap_config.h"
#include "eap/tls_auth.h"
#include "eap/tls_framing.h"
#include "test_pki.h"

namespace npsd::test {

using eap::bytes;
namespace flag = eap::tls_flag;

struct ssl_ctx_free {
  void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
};
struct ssl_free {
  void operator()(SSL* p) const noexcept { SSL_free(p); }
};

// The supplicant's TLS: an OpenSSL client on memory BIOs, trusting the test CA, presenting
// `cert` when given.
class tls_client {
 public:
  tls_client(int max_version, const issued* cert) {
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    REQUIRE(ctx_);
    SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx_.get(), max_version);
    if (cert != nullptr) {
      REQUIRE(SSL_CTX_use_certificate(ctx_.get(), cert->cert.get()) == 1);
      REQUIRE(SSL_CTX_use_PrivateKey(ctx_.get(), cert->key.get()) == 1);
    }
    REQUIRE(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_.get()),
                                shared_pki().ca().cert.get()) == 1);
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    ssl_.reset(SSL_new(ctx_.get()));
    REQUIRE(ssl_);
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl_.get(), in_, out_);
    SSL_set_connect_state(ssl_.get());
    SSL_set1_host(ssl_.get(), "radius.test");
  }

  // Hands the server's TLS bytes to the client, advances it, returns what it sends back.
  bytes exchange(eap::byte_view from_server) {
    if (!from_server.empty())
      REQUIRE(BIO_write(in_, from_server.data(), static_cast<int>(from_server.size())) ==
              static_cast<int>(from_server.size()));
    if (!failed_ && !SSL_is_init_finished(ssl_.get())) {
      const int r = SSL_do_handshake(ssl_.get());
      if (r != 1) {
        const int e = SSL_get_error(ssl_.get(), r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) failed_ = true;
      }
    }
    if (!failed_ && SSL_is_init_finished(ssl_.get())) {
      unsigned char buf[1024];
      for (;;) {
        const int n = SSL_read(ssl_.get(), buf, sizeof buf);
        if (n <= 0) {
          const int e = SSL_get_error(ssl_.get(), n);
          if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) failed_ = true;
          break;
        }
        app_data_.insert(app_data_.end(), buf, buf + n);
      }
    }
    ERR_clear_error();
    return drain();
  }

  // Application data for the server, as TLS records.
  bytes write(eap::byte_view plain) {
    REQUIRE(established());
    REQUIRE(SSL_write(ssl_.get(), plain.data(), static_cast<int>(plain.size())) ==
            static_cast<int>(plain.size()));
    return drain();
  }

  // Starts a TLS 1.2 renegotiation: the ClientHello it sends inside the established session.
  bytes renegotiate() {
    REQUIRE(established());
    REQUIRE(SSL_renegotiate(ssl_.get()) == 1);
    (void)SSL_do_handshake(ssl_.get());
    ERR_clear_error();
    return drain();
  }

  bool established() const { return !failed_ && SSL_is_init_finished(ssl_.get()) == 1; }
  bool failed() const { return failed_; }
  int version() const { return SSL_version(ssl_.get()); }
  const bytes& app_data() const { return app_data_; }

  bytes export_keys(const char* label, const bytes& context, bool use_context) const {
    bytes out(128);
    REQUIRE(SSL_export_keying_material(ssl_.get(), out.data(), out.size(), label,
                                       std::strlen(label), context.data(), context.size(),
                                       use_context ? 1 : 0) == 1);
    return out;
  }

 private:
  bytes drain() {
    bytes out(BIO_ctrl_pending(out_));
    if (!out.empty()) {
      const int got = BIO_read(out_, out.data(), static_cast<int>(out.size()));
      out.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
    }
    return out;
  }

  std::unique_ptr<SSL_CTX, ssl_ctx_free> ctx_;
  std::unique_ptr<SSL, ssl_free> ssl_;
  BIO* in_ = nullptr;   // owned by ssl_
  BIO* out_ = nullptr;  // owned by ssl_
  bool failed_ = false;
  bytes app_data_;
};

// The user certificate the happy paths present: UPN, e-mail, CN, clientAuth.
inline const issued& alice() {
  static const issued c = [] {
    cert_spec s;
    s.subject = {{"O", "Corp Example"}, {"CN", "Alice Example"}};
    s.serial_hex = "a11ce";
    s.other_names = {{eap::upn_oid, "alice@corp.example.com"}};
    s.emails = {"alice@example.com"};
    s.eku = std::vector<std::string>{eku_client_auth};
    return shared_pki().issue(s);
  }();
  return c;
}

// The supplicant side of EAP-TLS framing: takes the server's EAP-TLS payloads, ACKs its
// fragments, hands whole messages to the client, and sends the client's flights cut at
// `fragment` bytes, ACKed one by one.
class supplicant {
 public:
  supplicant(tls_client& client, std::size_t fragment) : client_(client), fragment_(fragment) {}

  bytes answer(const bytes& request_payload) {
    REQUIRE_FALSE(request_payload.empty());
    if ((request_payload[0] & flag::more_fragments) != 0) ++server_fragments;
    const std::size_t header = (request_payload[0] & flag::length_included) != 0 ? 5 : 1;
    max_server_data = std::max(max_server_data, request_payload.size() - header);
    bytes out;
    if (to_server_.pending()) {
      REQUIRE(request_payload == bytes{0});  // the server acknowledges our fragment
      out = to_server_.next(fragment_);
    } else {
      const auto st = from_server_.add(request_payload);
      REQUIRE_MESSAGE(st != eap::tls_reassembler::status::error, from_server_.error());
      if (st == eap::tls_reassembler::status::need_more) {
        out = {0};
      } else {
        auto records = client_.exchange(from_server_.take());
        if (records.empty()) {
          out = {0};
        } else {
          to_server_.set(std::move(records));
          out = to_server_.next(fragment_);
        }
      }
    }
    if ((out[0] & flag::more_fragments) != 0) ++client_fragments;
    return out;
  }

  std::size_t server_fragments = 0;  // payloads from the server with M set
  std::size_t client_fragments = 0;  // payloads to the server with M set
  std::size_t max_server_data = 0;   // the longest TLS data in one server payload

 private:
  tls_client& client_;
  std::size_t fragment_;
  eap::tls_reassembler from_server_{1 << 20};
  eap::tls_fragmenter to_server_;
};

// The server side of EAP-TLS as the tests run it: the shared PKI's server, the default
// identity sources, and the fragment size given.
inline eap::tls_auth_options tls_options(std::size_t fragment_size = 300) {
  eap::tls_auth_options o;
  o.tls = shared_pki().context();
  o.fragment_size = fragment_size;
  o.identity_sources = eap::eap_config{}.identity_sources;
  return o;
}

}  // namespace npsd::test
