#include "eap/tls_auth.h"

#include <openssl/crypto.h>
#include <openssl/ssl.h>

namespace npsd::eap {

namespace {
constexpr std::size_t key_material_size = 128;  // MSK (64) then EMSK (64), RFC 5216 2.3
}

tls_auth::tls_auth(const tls_auth_options& o, mode m, std::uint8_t eap_type)
    : o_(o), mode_(m), type_(eap_type), tls_(o.tls, m == mode::eap_tls), in_(o.max_message_size) {}

tls_outcome tls_auth::failed(failure_kind k, std::string detail) {
  tls_outcome f;
  f.what = tls_outcome::kind::failed;
  f.why = k;
  f.detail = std::move(detail);
  return f;
}

tls_outcome tls_auth::send(bytes records) {
  out_.set(std::move(records));
  tls_outcome s;
  s.what = tls_outcome::kind::send;
  s.data = out_.next(o_.fragment_size);
  return s;
}

tls_outcome tls_auth::send_app(byte_view plain) {
  if (phase_ != phase::tunnel || !tls_.write(plain))
    return failed(failure_kind::tls, "cannot write into the TLS tunnel");
  return send(tls_.take_output());
}

tls_outcome tls_auth::on_payload(byte_view payload) {
  if (pending_failure_) {
    auto f = std::move(*pending_failure_);
    pending_failure_.reset();
    return f;
  }
  // Sending a message in fragments: each response must be an empty acknowledgement.
  if (out_.pending()) {
    if (payload.size() != 1 || (payload[0] & tls_flag::more_fragments) != 0)
      return failed(failure_kind::unexpected_packet,
                    "expected an EAP-TLS acknowledgement while sending fragments");
    tls_outcome s;
    s.what = tls_outcome::kind::send;
    s.data = out_.next(o_.fragment_size);
    return s;
  }
  switch (in_.add(payload)) {
    case tls_reassembler::status::error:
      return failed(failure_kind::malformed, std::string(in_.error()));
    case tls_reassembler::status::need_more: {
      tls_outcome ack;
      ack.what = tls_outcome::kind::send;
      ack.data = {0};
      return ack;
    }
    case tls_reassembler::status::complete:
      break;
  }
  const bytes message = in_.take();
  switch (phase_) {
    case phase::final_ack:
      if (!message.empty())
        return failed(failure_kind::unexpected_packet,
                      "expected the EAP-TLS acknowledgement of the last handshake flight");
      return complete();
    case phase::tunnel: {
      if (message.empty())
        return failed(failure_kind::unexpected_packet, "an empty response inside the tunnel");
      if (tls_.feed(message) == tls_session::state::failed)
        return failed(failure_kind::tls, tls_.failure_detail());
      tls_outcome a;
      a.what = tls_outcome::kind::app_data;
      a.data = tls_.read();
      if (a.data.empty())
        return failed(failure_kind::unexpected_packet, "no application data inside the tunnel");
      return a;
    }
    case phase::handshake:
      break;
  }
  if (message.empty())
    return failed(failure_kind::unexpected_packet, "an empty EAP-TLS response during the handshake");

  const auto st = tls_.feed(message);
  bytes output = tls_.take_output();
  if (st == tls_session::state::failed) {
    auto f = failed(failure_kind::tls, tls_.failure_detail());
    f.tls_why = tls_.failure();
    if (auto info = tls_.peer_certificate()) f.certificate = std::move(*info);
    if (output.empty()) return f;
    // RFC 5216 2.1.3: the alert goes to the peer; its answer gets the failure.
    pending_failure_ = std::move(f);
    return send(std::move(output));
  }
  if (st == tls_session::state::established) {
    // RFC 9190 2.5: in TLS 1.3 the EAP-TLS server commits to sending no more handshake
    // messages with one byte of application data, 0x00. A tunnel's own data does that.
    if (mode_ == mode::eap_tls && tls_.version() == TLS1_3_VERSION) {
      if (!tls_.write(bytes{0}))
        return failed(failure_kind::tls, "cannot write the TLS 1.3 commitment message");
      const auto more = tls_.take_output();
      output.insert(output.end(), more.begin(), more.end());
    }
    if (output.empty()) return complete();  // a TLS 1.3 tunnel: nothing left to say
    phase_ = phase::final_ack;
    return send(std::move(output));
  }
  if (output.empty())
    return failed(failure_kind::unexpected_packet, "the TLS handshake stalled");
  return send(std::move(output));
}

tls_outcome tls_auth::complete() {
  tls_outcome s;
  s.resumed = tls_.resumed();
  if (mode_ == mode::eap_tls) {
    if (s.resumed) {
      // The certificate proved itself when the session was made; it must still hold now.
      if (const auto why = tls_.reverify_peer(); why != tls_failure::none) {
        s = failed(failure_kind::tls, tls_.failure_detail());
        s.tls_why = why;
        s.resumed = true;
        if (auto info = tls_.peer_certificate()) s.certificate = std::move(*info);
        return s;
      }
    }
    if (!s.resumed) tls_.remember_peer_intermediates();
    auto info = tls_.peer_certificate();
    if (!info) {
      s = failed(failure_kind::tls, info.error());
      s.tls_why = tls_failure::no_certificate;
      return s;
    }
    if (!info->client_auth()) {
      s = failed(failure_kind::no_client_auth,
                 "the certificate lacks the Client Authentication purpose (1.3.6.1.5.5.7.3.2)");
      s.certificate = std::move(*info);
      return s;
    }
    auto who = identity_of(*info, o_.identity_sources);
    if (!who) {
      s = failed(failure_kind::no_identity,
                 "the certificate names no identity in the configured sources");
      s.certificate = std::move(*info);
      return s;
    }
    s.certificate = std::move(*info);
    s.identity = std::move(*who);
  }
  // RFC 5216 2.3 (TLS 1.2: the PRF) and RFC 9190 2.3 / RFC 9427 (TLS 1.3: the exporter with
  // the EAP type as context).
  const bool v13 = tls_.version() == TLS1_3_VERSION;
  const std::uint8_t context[] = {type_};
  auto keys = v13 ? tls_.export_keying_material("EXPORTER_EAP_TLS_Key_Material", context, true,
                                                key_material_size)
                  : tls_.export_keying_material("client EAP encryption", {}, false,
                                                key_material_size);
  if (!keys) return failed(failure_kind::tls, "cannot export the EAP key material");
  s.what = tls_outcome::kind::done;
  s.msk.assign(keys->begin(), keys->begin() + 64);
  s.emsk.assign(keys->begin() + 64, keys->end());
  OPENSSL_cleanse(keys->data(), keys->size());
  s.tls_version = tls_.version_name();
  s.cipher = tls_.cipher_name();
  s.resumed = tls_.resumed();
  phase_ = phase::tunnel;
  return s;
}

}  // namespace npsd::eap
