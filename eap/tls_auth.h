#pragma once
// One TLS conversation carried in EAP-TLS framing (RFC 5216), as a method's payloads: the
// handshake with fragments and acknowledgements in both directions, then either the end of
// EAP-TLS (the client certificate checked, MSK/EMSK exported) or a tunnel carrying application
// data (PEAP's phase 2). Used for EAP-TLS, for PEAP's outer tunnel, and for the EAP-TLS that
// runs inside PEAP. I/O-free: payloads (the bytes after the EAP type) in and out.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eap/certificate.h"
#include "eap/packet.h"
#include "eap/tls_framing.h"
#include "eap/tls_session.h"

namespace npsd::eap {

enum class failure_kind {
  malformed,          // an EAP or EAP-TLS framing error, or over a size limit
  unexpected_packet,  // not what the method expects now (type, identifier, flags)
  method_refused,     // the peer NAKed every method offered
  too_many_rounds,
  tls,                // the handshake failed: see tls_failure
  no_client_auth,     // the certificate lacks the Client Authentication EKU
  no_identity,        // the certificate names nobody npsd can look up
  credentials,        // MS-CHAPv2: a wrong password, or no NT hash for the account
};

struct tls_auth_options {
  std::shared_ptr<const tls_context> tls;
  std::size_t fragment_size = 1020;
  std::size_t max_message_size = 65536;
  std::vector<cert_identity_source> identity_sources{
      cert_identity_source::upn, cert_identity_source::email, cert_identity_source::dns,
      cert_identity_source::cn};
};

struct tls_outcome {
  enum class kind {
    send,      // `data` is the next payload for the peer
    done,      // EAP-TLS: authenticated; tunnel: established (keys set)
    app_data,  // tunnel: `data` is what the peer sent inside it
    failed,
  } what = kind::failed;
  bytes data;
  // failed:
  failure_kind why = failure_kind::malformed;
  tls_failure tls_why = tls_failure::none;
  std::string detail;  // never a secret
  // done:
  bytes msk, emsk;  // 64 bytes each
  std::string tls_version, cipher;
  bool resumed = false;  // fast reconnect: the TLS session was resumed
  std::optional<certificate_info> certificate;   // the client's, when it sent one
  std::optional<certificate_identity> identity;  // EAP-TLS: what it maps to
};

class tls_auth {
 public:
  enum class mode {
    eap_tls,  // client certificate required and checked; RFC 9190 commitment in TLS 1.3
    tunnel,   // server authentication only; application data after the handshake
  };
  // `eap_type` is the method's type (13, 25): the TLS 1.3 exporter's context.
  tls_auth(const tls_auth_options& o, mode m, std::uint8_t eap_type);

  static bytes start() { return {tls_flag::start}; }
  tls_outcome on_payload(byte_view payload);
  // Tunnel: encrypts `plain` and returns its first payload.
  tls_outcome send_app(byte_view plain);

 private:
  tls_outcome send(bytes records);
  tls_outcome failed(failure_kind k, std::string detail);
  tls_outcome complete();

  enum class phase { handshake, final_ack, tunnel };
  tls_auth_options o_;
  mode mode_;
  std::uint8_t type_;
  phase phase_ = phase::handshake;
  tls_session tls_;
  tls_reassembler in_;
  tls_fragmenter out_;
  std::optional<tls_outcome> pending_failure_;  // an alert was sent: fail on the answer
};

}  // namespace npsd::eap
