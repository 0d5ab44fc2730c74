#pragma once
// One EAP conversation (RFC 3748) on the server: after the peer's Identity, the method runs
// one EAP-Response at a time until success or failure. I/O-free: EAP packets in, EAP packets
// out; the request pipeline carries them in RADIUS and keeps the conversation between rounds.
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
};

struct step {
  enum class kind { challenge, success, failure } what = kind::failure;
  bytes eap;  // the EAP packet to send: a Request (challenge), Success or Failure
  // failure:
  failure_kind why = failure_kind::malformed;
  tls_failure tls_why = tls_failure::none;
  std::string detail;  // never a secret
  // success:
  bytes msk;   // 64 bytes
  bytes emsk;  // 64 bytes
  std::string tls_version;
  std::string cipher;
  // success and certificate failures, when the peer sent one:
  std::optional<certificate_info> certificate;
  std::optional<certificate_identity> identity;  // the identity its certificate maps to
};

struct conversation_options {
  std::shared_ptr<const tls_context> tls;
  std::size_t fragment_size = 1020;
  std::size_t max_message_size = 65536;
  std::size_t max_rounds = 64;
  std::vector<cert_identity_source> identity_sources;
};

class conversation {
 public:
  // `identity` is the EAP-Response/Identity's text; `identity_id` its identifier.
  conversation(std::string identity, std::uint8_t identity_id, conversation_options o);
  ~conversation();
  conversation(const conversation&) = delete;
  conversation& operator=(const conversation&) = delete;

  // The first request of the method: EAP-Request/TLS Start.
  step begin();
  step on_response(const packet& p);

  const std::string& identity() const noexcept { return identity_; }
  std::uint8_t method_type() const noexcept { return type::tls; }
  std::size_t rounds() const noexcept { return rounds_; }

 private:
  step request(bytes payload);
  step fail(failure_kind k, std::string detail, std::uint8_t id);
  step finish(std::uint8_t id);

  std::string identity_;
  conversation_options o_;
  std::uint8_t next_id_;
  std::uint8_t last_request_id_ = 0;
  std::size_t rounds_ = 0;
  tls_session tls_;
  tls_reassembler in_;
  tls_fragmenter out_;
  bool handshake_done_ = false;    // established and our last flight queued
  std::optional<step> pending_failure_;  // an alert was sent; fail on the peer's answer
};

}  // namespace npsd::eap
