#pragma once
// A small EAP-TLS supplicant for the integration tests that need what eapol_test cannot do: keep
// a TLS session between two separate authentications (fast reconnect with a change made in
// between). OpenSSL on memory BIOs; EAP-TLS framing with fragments and ACKs; RADIUS over UDP
// with Message-Authenticator, State echoed, every reply verified, and the MS-MPPE keys of the
// Access-Accept decrypted and compared with the client's own MSK.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "eap_peer.h"
#include "harness.h"
#include "radius/crypto.h"

namespace npsd::test {

struct eap_tls_result {
  std::string code;        // Access-Accept, Access-Reject, or "" when npsd did not answer
  bool mppe_match = false;  // MS-MPPE-Recv/Send-Key equal the client's MSK halves
  bool resumed = false;     // the client's TLS session was resumed
  int rounds = 0;
  std::string msk_hex;  // the client's MSK (64 bytes, lowercase hex), after an Access-Accept
};

class eap_tls_client {
 public:
  eap_tls_client(const fs::path& ca, const fs::path& cert, const fs::path& key, int max_version)
      : ctx_(SSL_CTX_new(TLS_client_method()), SSL_CTX_free) {
    SSL_CTX_set_max_proto_version(ctx_.get(), max_version);
    SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION);
    SSL_CTX_load_verify_locations(ctx_.get(), ca.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_use_certificate_chain_file(ctx_.get(), cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_.get(), key.c_str(), SSL_FILETYPE_PEM) != 1)
      throw std::runtime_error("eap_tls_client: cannot load " + cert.string());
    SSL_CTX_set_session_cache_mode(ctx_.get(), SSL_SESS_CACHE_CLIENT);
  }
  ~eap_tls_client() {
    if (session_ != nullptr) SSL_SESSION_free(session_);
  }

  // One whole authentication; the TLS session is kept for the next one.
  eap_tls_result authenticate(std::uint16_t port, const std::string& secret,
                              const std::string& identity) {
    eap_tls_result out;
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx_.get()), SSL_free);
    BIO* in = BIO_new(BIO_s_mem());
    BIO* wr = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl.get(), in, wr);
    SSL_set_connect_state(ssl.get());
    if (session_ != nullptr) SSL_set_session(ssl.get(), session_);

    udp_client udp;
    radius::bytes state;
    // EAP-Response/Identity (sized first: GCC's -Warray-bounds misreads an insert after an
    // initializer list)
    radius::bytes eap(5 + identity.size());
    eap[0] = 2;
    eap[4] = 1;
    std::copy(identity.begin(), identity.end(), eap.begin() + 5);
    radius::bytes reassembled, pending;  // server message; our message still to send
    std::size_t sent = 0;
    for (std::uint8_t id = 1; out.rounds < 100; ++id, ++out.rounds) {
      eap[2] = static_cast<std::uint8_t>(eap.size() >> 8);
      eap[3] = static_cast<std::uint8_t>(eap.size());
      radius::packet p;
      p.identifier = id;
      p.authenticator = radius::random_authenticator();
      p.attributes.push_back({radius::attr::message_authenticator, radius::bytes(16, 0)});
      p.add(radius::attr::user_name, std::string_view(identity));
      p.add_uint32(radius::attr::nas_port_type, 5);  // Virtual, as RRAS sends
      for (std::size_t off = 0; off < eap.size(); off += 253)
        p.add(radius::attr::eap_message,
              radius::byte_view(eap).subspan(off, std::min<std::size_t>(253, eap.size() - off)));
      if (!state.empty()) p.add(radius::attr::state, radius::byte_view(state));
      auto wire = *radius::encode(p);
      radius::sign_request(wire, secret);
      udp.send(port, wire);
      const auto reply = udp.receive(std::chrono::milliseconds(3000));
      if (!reply) return out;
      if (radius::verify_response(*reply, p.authenticator, secret, true) != radius::verify_result::ok)
        throw std::runtime_error("eap_tls_client: a reply failed verification");
      const auto r = *radius::decode(*reply);
      if (r.code == radius::code::access_reject) {
        out.code = "Access-Reject";
        return out;
      }
      if (r.code == radius::code::access_accept) {
        out.code = "Access-Accept";
        out.resumed = SSL_session_reused(ssl.get()) == 1;
        out.mppe_match = mppe_matches(r, ssl.get(), secret, p.authenticator, &out.msk_hex);
        if (session_ != nullptr) SSL_SESSION_free(session_);
        session_ = SSL_get1_session(ssl.get());
        // Freed without a shutdown, OpenSSL would mark the session not resumable.
        SSL_set_shutdown(ssl.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        return out;
      }
      if (const auto* s = r.find(radius::attr::state)) state = s->value;
      const auto req = r.concat(radius::attr::eap_message);
      if (req.size() < 6 || req[4] != 13) throw std::runtime_error("eap_tls_client: not EAP-TLS");
      const std::uint8_t flags = req[5];
      std::size_t off = 6 + ((flags & 0x80) ? 4 : 0);
      radius::bytes payload;  // our EAP-TLS payload: flags [length] data
      if (sent < pending.size() && req.size() == 6) {
        payload = next_fragment(pending, sent);  // the server ACKed our fragment
      } else {
        reassembled.insert(reassembled.end(), req.begin() + static_cast<long>(off), req.end());
        if ((flags & 0x40) != 0) {
          payload = {0};  // ACK the server's fragment
        } else {
          if (!reassembled.empty()) BIO_write(in, reassembled.data(), static_cast<int>(reassembled.size()));
          reassembled.clear();
          if (SSL_is_init_finished(ssl.get()) == 0) (void)SSL_do_handshake(ssl.get());
          if (SSL_is_init_finished(ssl.get()) == 1) {
            // Application data (TLS 1.3's commitment byte) and post-handshake messages (the
            // session ticket) are read here.
            unsigned char buf[256];
            while (SSL_read(ssl.get(), buf, sizeof buf) > 0) {
            }
          }
          ERR_clear_error();
          pending.assign(BIO_ctrl_pending(wr), 0);
          if (!pending.empty()) BIO_read(wr, pending.data(), static_cast<int>(pending.size()));
          sent = 0;
          payload = pending.empty() ? radius::bytes{0} : next_fragment(pending, sent);
        }
      }
      eap = {2, req[1], 0, 0, 13};
      eap.insert(eap.end(), payload.begin(), payload.end());
    }
    return out;
  }

 private:
  static radius::bytes next_fragment(const radius::bytes& msg, std::size_t& sent) {
    constexpr std::size_t fragment = 1000;
    const std::size_t n = std::min(fragment, msg.size() - sent);
    const bool first = sent == 0, more = sent + n < msg.size();
    radius::bytes out{static_cast<std::uint8_t>((more ? 0x40 : 0) | (first && more ? 0x80 : 0))};
    if (first && more)
      for (int shift : {24, 16, 8, 0}) out.push_back(static_cast<std::uint8_t>(msg.size() >> shift));
    out.insert(out.end(), msg.begin() + static_cast<long>(sent), msg.begin() + static_cast<long>(sent + n));
    sent += n;
    return out;
  }

  static bool mppe_matches(const radius::packet& accept, SSL* ssl, const std::string& secret,
                           const radius::authenticator_t& auth, std::string* msk_hex) {
    unsigned char km[128];
    const bool v13 = SSL_version(ssl) == TLS1_3_VERSION;
    const unsigned char context[] = {13};
    const int ok = v13 ? SSL_export_keying_material(ssl, km, sizeof km, "EXPORTER_EAP_TLS_Key_Material",
                                                    29, context, 1, 1)
                       : SSL_export_keying_material(ssl, km, sizeof km, "client EAP encryption", 21,
                                                    nullptr, 0, 0);
    if (ok != 1) return false;
    static constexpr char digits[] = "0123456789abcdef";
    msk_hex->clear();
    for (int i = 0; i < 64; ++i) (*msk_hex += digits[km[i] >> 4]) += digits[km[i] & 15];
    return peer::check_mppe_keys(accept, radius::byte_view(km, 64), secret, auth) ==
           peer::mppe_check::match;
  }

  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx_{nullptr, SSL_CTX_free};
  SSL_SESSION* session_ = nullptr;
};

}  // namespace npsd::test
