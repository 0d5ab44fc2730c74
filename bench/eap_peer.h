#pragma once
// An EAP peer (supplicant) for load generation and tests: EAP-TLS (RFC 5216, RFC 9190) and
// PEAPv0 with inner EAP-TLS (the Always On VPN method: [MS-PEAP], inner packets without their
// header, EAP-TLV Result both ways). I/O-free like eap/: EAP packets in, EAP packets out; OpenSSL
// on memory BIOs. Fragments and their acknowledgements both ways. After the (outer) handshake
// the peer holds the MSK it derived itself, which `check_mppe_keys` compares with the
// MS-MPPE-Recv/Send-Key of an Access-Accept. A conversation can start from a saved TLS session
// (resumption, "fast reconnect") and hands its own session back for the next one.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "radius/packet.h"

namespace npsd::peer {

using bytes = std::vector<std::uint8_t>;
using byte_view = std::span<const std::uint8_t>;

enum class method { eap_tls, peap_tls };

struct peer_options {
  method kind = method::eap_tls;
  std::string ca_file;     // trusted to sign the server's certificate (checked)
  std::string cert_file;   // the client's certificate chain (PEM)
  std::string key_file;    // its private key (PEM)
  int max_tls_version = 0;  // TLS1_2_VERSION, TLS1_3_VERSION; 0: what OpenSSL allows
  std::size_t fragment_size = 1398;  // TLS bytes per EAP-Response (wpa_supplicant's default)
};

// The TLS contexts, built once and shared by every conversation (not thread-safe to build,
// safe to share read-only afterwards as OpenSSL allows). Throws std::runtime_error naming the
// file that cannot be loaded.
class peer_context {
 public:
  explicit peer_context(const peer_options& o);
  ~peer_context();
  peer_context(const peer_context&) = delete;
  peer_context& operator=(const peer_context&) = delete;
  const peer_options& options() const noexcept;

  struct impl;
  const impl& get() const noexcept { return *impl_; }

 private:
  std::unique_ptr<impl> impl_;
};

// A TLS session kept from one conversation for the next (the outer one for PEAP).
class saved_session {
 public:
  saved_session() noexcept;
  ~saved_session();
  saved_session(saved_session&&) noexcept;
  saved_session& operator=(saved_session&&) noexcept;
  explicit operator bool() const noexcept;

  struct impl;
  impl* get() const noexcept { return impl_.get(); }
  explicit saved_session(std::unique_ptr<impl> p) noexcept;

 private:
  std::unique_ptr<impl> impl_;
};

class conversation {
 public:
  // `resume`, when it holds a session, is offered to the server.
  conversation(const peer_context& ctx, std::string identity, const saved_session* resume = nullptr);
  ~conversation();
  conversation(const conversation&) = delete;
  conversation& operator=(const conversation&) = delete;

  // The first message: EAP-Response/Identity (the one a NAS forwards), identifier 0.
  bytes identity_response() const;

  // An EAP-Request from the server (reassembled from its EAP-Message attributes) -> the
  // EAP-Response to send, or the reason the conversation cannot go on (an error, not a throw).
  struct reply {
    bool ok = false;
    bytes eap;
    std::string error;
  };
  reply on_request(byte_view eap);

  // The MSK (64 bytes) once the (outer) TLS handshake is done; empty before.
  const bytes& msk() const noexcept;
  bool resumed() const noexcept;          // the (outer) TLS session was resumed
  bool tls_started() const noexcept;      // the server's first TLS flight has arrived
  bool inner_done() const noexcept;       // PEAP: the Result TLV was answered
  std::string tls_version() const;
  // Why the (outer or inner) TLS handshake failed, "" when it has not: the conversation goes
  // on (the alert is sent, the server's Access-Reject is expected), no MSK is derived.
  std::string tls_error() const;
  // The (outer) session, for the next conversation; empty when it is not resumable.
  saved_session take_session();

 private:
  struct state;
  std::unique_ptr<state> s_;
};

enum class mppe_check { match, missing, mismatch };
// MS-MPPE-Recv-Key must be MSK[0..31] and MS-MPPE-Send-Key MSK[32..63] (RFC 2548 2.4, RFC 5216
// 2.3), decrypted with the secret and the Access-Request's authenticator.
mppe_check check_mppe_keys(const radius::packet& accept, byte_view msk, std::string_view secret,
                           const radius::authenticator_t& request_authenticator);

}  // namespace npsd::peer
