#pragma once
// One EAP conversation (RFC 3748) on the server: after the peer's Identity, the offered method
// runs one EAP-Response at a time until success or failure; a NAK may switch to another
// allowed method. Methods: EAP-TLS, and PEAPv0 (Microsoft) with inner EAP-TLS ("PEAP-TLS",
// what Always On VPN uses). I/O-free: EAP packets in, EAP packets out; the request pipeline
// carries them in RADIUS and keeps the conversation between rounds.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eap/tls_auth.h"

namespace npsd::eap {

struct step {
  // need_nt_hash: the pipeline looks `user` up and answers with provide_nt_hash().
  enum class kind { challenge, success, failure, need_nt_hash } what = kind::failure;
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
  // need_nt_hash, and success by a password method: the account name the peer gave.
  std::string user;
  std::uint8_t inner_type = 0;  // PEAP: the inner method that succeeded (13, 26)
};

struct conversation_options {
  tls_auth_options tls;
  std::size_t max_rounds = 64;
  std::vector<std::uint8_t> methods{type::tls, type::peap};  // allowed, the first offered
  std::vector<std::uint8_t> inner_methods{type::tls, type::mschapv2};  // inside PEAP, likewise
};

class conversation {
 public:
  // `identity` is the EAP-Response/Identity's text; `identity_id` its identifier.
  conversation(std::string identity, std::uint8_t identity_id, conversation_options o);
  ~conversation();
  conversation(const conversation&) = delete;
  conversation& operator=(const conversation&) = delete;

  // Moves these methods (outer, and inner for PEAP) to the front of the offer, in this order;
  // before begin(). Methods not in the options are ignored.
  void prefer(const std::vector<std::uint8_t>& outer, const std::vector<std::uint8_t>& inner);
  // The first request of the first method (EAP-TLS or PEAP Start).
  step begin();
  step on_response(const packet& p);
  // After a need_nt_hash step: the account's NT hash, or nullopt when it has none.
  step provide_nt_hash(const std::optional<std::array<std::uint8_t, 16>>& hash);

  const std::string& identity() const noexcept { return identity_; }
  // The method in use: type::tls or type::peap.
  std::uint8_t method_type() const noexcept { return type_; }
  // PEAP: the inner method in use (13, 26), 0 before it starts.
  std::uint8_t inner_method() const noexcept { return inner_type_; }
  std::size_t rounds() const noexcept { return rounds_; }

 private:
  step request(bytes payload);
  step fail(failure_kind k, std::string detail, std::uint8_t id);
  step fail(const tls_outcome& o, std::uint8_t id);
  // Success: the MSK and TLS facts from `keys`, the certificate and identity from `who`.
  step succeed(tls_outcome& keys, tls_outcome& who, std::uint8_t id);
  step start_method(std::uint8_t t);
  step on_nak(const packet& p);
  step on_tls(const packet& p);
  step on_peap(const packet& p);
  step on_tunnel_data(const bytes& plain, std::uint8_t id);
  step send_inner(bytes inner, std::uint8_t id);
  step start_inner(std::uint8_t t, std::uint8_t id);
  step on_inner_nak(const bytes& plain, std::uint8_t id);
  step on_mschapv2(const bytes& plain, std::uint8_t id);
  step inner_succeeded(std::uint8_t id);

  std::string identity_;
  conversation_options o_;
  std::uint8_t next_id_;
  std::uint8_t last_request_id_ = 0;
  std::size_t rounds_ = 0;
  std::uint8_t type_ = 0;
  std::unique_ptr<tls_auth> outer_;
  bool answered_ = false;  // the peer answered the current method (a NAK is too late then)
  // PEAP phase 2
  enum class inner_phase { none, identity, tls, mschapv2, mschapv2_success, result } inner_ =
      inner_phase::none;
  std::uint8_t inner_type_ = 0;
  bool inner_answered_ = false;
  // MS-CHAPv2 inside PEAP
  std::array<std::uint8_t, 16> auth_challenge_{}, peer_challenge_{};
  std::array<std::uint8_t, 24> nt_response_{};
  std::uint8_t ms_id_ = 0;
  std::string ms_user_;
  std::uint8_t pending_id_ = 0;  // the EAP identifier a need_nt_hash step answers
  std::unique_ptr<tls_auth> inner_tls_;
  tls_outcome tunnel_;  // the outer tunnel's keys, kept for the Access-Accept
  tls_outcome inner_done_;
  std::uint8_t inner_id_ = 0;
};

}  // namespace npsd::eap
