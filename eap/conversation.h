#pragma once
// One EAP conversation (RFC 3748) on the server: after the peer's Identity, the offered method
// runs one EAP-Response at a time until success or failure; a NAK may switch to another
// allowed method. Methods: EAP-TLS, and PEAPv0 (Microsoft) with inner EAP-TLS ("PEAP-TLS",
// what Always On VPN uses). I/O-free: EAP packets in, EAP packets out; the request pipeline
// carries them in RADIUS and keeps the conversation between rounds.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eap/tls_auth.h"

namespace npsd::eap {

struct step {
  enum class kind { challenge, success, failure } what = kind::failure;
  bytes eap;  // the EAP packet to send: a Request (challenge), Success or Failure
  // failure:
  failure_kind why = failure_kind::malformed;
  tls_failure tls_why = tls_failure::none;
  std::string detail;  // never a secret
  // success:
  bytes msk;   // 64 bytes: the keys RRAS gets (the outer TLS's for PEAP)
  std::string tls_version;
  std::string cipher;
  bool resumed = false;  // fast reconnect (the outer session for PEAP)
  // success and certificate failures, when the peer sent one:
  std::optional<certificate_info> certificate;
  std::optional<certificate_identity> identity;  // the identity its certificate maps to
};

struct conversation_options {
  tls_auth_options tls;
  std::size_t max_rounds = 64;
  std::vector<std::uint8_t> methods{type::tls, type::peap};  // allowed, the first offered
};

class conversation {
 public:
  // `identity` is the EAP-Response/Identity's text; `identity_id` its identifier.
  conversation(std::string identity, std::uint8_t identity_id, conversation_options o);
  ~conversation();
  conversation(const conversation&) = delete;
  conversation& operator=(const conversation&) = delete;

  // The first request of the first method (EAP-TLS or PEAP Start).
  step begin();
  step on_response(const packet& p);

  const std::string& identity() const noexcept { return identity_; }
  // The method in use: type::tls or type::peap.
  std::uint8_t method_type() const noexcept { return type_; }
  std::size_t rounds() const noexcept { return rounds_; }

 private:
  step request(bytes payload);
  step fail(failure_kind k, std::string detail, std::uint8_t id);
  step fail(const tls_outcome& o, std::uint8_t id);
  step start_method(std::uint8_t t);
  step on_nak(const packet& p);
  step on_tls(const packet& p);
  step on_peap(const packet& p);
  step on_tunnel_data(const bytes& plain, std::uint8_t id);
  step send_inner(bytes inner, std::uint8_t id);

  std::string identity_;
  conversation_options o_;
  std::uint8_t next_id_;
  std::uint8_t last_request_id_ = 0;
  std::size_t rounds_ = 0;
  std::uint8_t type_ = 0;
  std::unique_ptr<tls_auth> outer_;
  bool answered_ = false;  // the peer answered the current method (a NAK is too late then)
  // PEAP phase 2
  enum class inner_phase { none, identity, tls, result } inner_ = inner_phase::none;
  std::unique_ptr<tls_auth> inner_tls_;
  tls_outcome tunnel_;  // the outer tunnel's keys, kept for the Access-Accept
  tls_outcome inner_done_;
  std::uint8_t inner_id_ = 0;
};

}  // namespace npsd::eap
