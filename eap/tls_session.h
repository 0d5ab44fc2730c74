#pragma once
// The server side of TLS for EAP-TLS and PEAP: a context built once per configuration (server
// certificate, key, trust store for client certificates, versions, ciphers) and one session per
// conversation, run by OpenSSL on memory BIOs: bytes from the peer in, bytes for the peer out.
// No socket, no thread; the handles stay inside the .cc.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "eap/certificate.h"
#include "eap/eap_config.h"
#include "eap/packet.h"
#include "radius/expected.h"

namespace npsd::eap {

class tls_context {
 public:
  // Loads and checks everything the configuration names; the error names the file and what is
  // wrong with it (never a key's content).
  static expected<std::shared_ptr<const tls_context>, std::string> make(const eap_config& cfg);
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  struct impl;
  const impl& get() const noexcept { return *impl_; }

 private:
  explicit tls_context(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

// Why a TLS handshake failed, as far as the client certificate is concerned.
enum class tls_failure {
  none,
  handshake,         // a protocol error, no common version or cipher, a bad signature...
  no_certificate,    // the client sent none
  untrusted_issuer,  // does not chain to a trusted CA
  expired,
  not_yet_valid,
  revoked,
  crl_unavailable,
  wrong_purpose,     // the chain's purposes do not allow client authentication
  bad_certificate,   // any other verification failure
};
std::string_view tls_failure_name(tls_failure f) noexcept;

class tls_session {
 public:
  // `client_certificate`: ask for and verify one (EAP-TLS); PEAP's outer tunnel does not.
  explicit tls_session(std::shared_ptr<const tls_context> ctx, bool client_certificate = true);
  ~tls_session();
  tls_session(tls_session&&) noexcept;
  tls_session& operator=(tls_session&&) noexcept;

  enum class state { handshaking, established, failed };
  // Hands the peer's TLS bytes to OpenSSL and advances the handshake.
  state feed(byte_view in);
  state current() const noexcept { return state_; }
  // Bytes OpenSSL produced for the peer (handshake records, alerts, application data).
  bytes take_output();
  // Application data for the peer (the TLS 1.3 commitment message, PEAP's inner EAP).
  bool write(byte_view data);
  // Application data the peer sent, once established.
  bytes read();

  // After the handshake:
  int version() const noexcept;            // TLS1_2_VERSION, TLS1_3_VERSION
  std::string version_name() const;        // "TLSv1.3"
  std::string cipher_name() const;
  bool resumed() const noexcept;
  // RFC 5705 keying material; nullopt if OpenSSL refuses.
  std::optional<bytes> export_keying_material(std::string_view label, byte_view context,
                                              bool use_context, std::size_t length) const;
  // The client's certificate (leaf), DER; empty when none was sent. A resumed session gives
  // the certificate of the session it resumes.
  bytes peer_certificate_der() const;
  // What that certificate says (names, SANs, EKUs), read from OpenSSL's parsed copy; an error
  // when there is none.
  expected<certificate_info, std::string> peer_certificate() const;
  // Verifies the peer's certificate again, as of now, against the trust store, the CRLs and
  // their modes (a resumed session's certificate was verified when the session was made).
  // tls_failure::none when it still holds; else the failure, with failure_detail() set.
  tls_failure reverify_peer();
  // After a full handshake whose client certificate was verified: keeps the intermediate CA
  // certificates the client sent, so that a resumed session (whose ticket holds only the
  // leaf) can be verified again. Process-wide, bounded; only chain-building material, the
  // trust still comes from the configured CAs.
  void remember_peer_intermediates() const;

  // After a failure:
  tls_failure failure() const noexcept { return failure_; }
  const std::string& failure_detail() const noexcept { return detail_; }

 private:
  void classify_failure();
  struct impl;
  std::unique_ptr<impl> impl_;
  state state_ = state::handshaking;
  tls_failure failure_ = tls_failure::none;
  std::string detail_;
};

}  // namespace npsd::eap
