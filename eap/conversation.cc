#include "eap/conversation.h"

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <fmt/format.h>

namespace npsd::eap {

namespace {

constexpr std::size_t key_material_size = 128;  // MSK (64) then EMSK (64), RFC 5216 2.3

std::string nak_text(byte_view types) {
  std::string out;
  for (const auto t : types) {
    if (!out.empty()) out += ", ";
    out += t == type::peap       ? "PEAP (25)"
           : t == type::mschapv2 ? "EAP-MSCHAPv2 (26)"
           : t == type::tls      ? "EAP-TLS (13)"
           : t == 0              ? "none (0)"
                                 : std::to_string(t);
  }
  return out.empty() ? "nothing" : out;
}

}  // namespace

conversation::conversation(std::string identity, std::uint8_t identity_id, conversation_options o)
    : identity_(std::move(identity)),
      o_(std::move(o)),
      next_id_(static_cast<std::uint8_t>(identity_id + 1)),
      tls_(o_.tls),
      in_(o_.max_message_size) {}

conversation::~conversation() = default;

step conversation::request(bytes payload) {
  packet p;
  p.code = code::request;
  p.identifier = next_id_++;
  p.type = type::tls;
  p.data = std::move(payload);
  last_request_id_ = p.identifier;
  step s;
  s.what = step::kind::challenge;
  s.eap = encode(p);
  return s;
}

step conversation::fail(failure_kind k, std::string detail, std::uint8_t id) {
  step s;
  s.what = step::kind::failure;
  s.why = k;
  s.detail = std::move(detail);
  s.eap = encode(packet{code::failure, id, 0, {}});
  return s;
}

step conversation::begin() { return request({tls_flag::start}); }

step conversation::on_response(const packet& p) {
  if (++rounds_ > o_.max_rounds)
    return fail(failure_kind::too_many_rounds,
                fmt::format("more than {} EAP rounds", o_.max_rounds), p.identifier);
  if (p.code != code::response)
    return fail(failure_kind::unexpected_packet, "expected an EAP-Response", p.identifier);
  if (p.identifier != last_request_id_)
    return fail(failure_kind::unexpected_packet,
                fmt::format("EAP identifier {} does not answer request {}", p.identifier,
                            last_request_id_),
                p.identifier);
  if (p.type == type::nak)
    return fail(failure_kind::method_refused,
                "the peer refused EAP-TLS and asked for " + nak_text(p.data), p.identifier);
  if (p.type != type::tls)
    return fail(failure_kind::unexpected_packet,
                fmt::format("expected an EAP-TLS response, got EAP type {}", p.type), p.identifier);
  if (pending_failure_) {
    auto f = std::move(*pending_failure_);
    f.eap = encode(packet{code::failure, p.identifier, 0, {}});
    return f;
  }

  // Sending a message in fragments: each response must be an empty ACK.
  if (out_.pending()) {
    if (p.data.size() != 1 || (p.data[0] & tls_flag::more_fragments) != 0)
      return fail(failure_kind::unexpected_packet,
                  "expected an EAP-TLS acknowledgement while sending fragments", p.identifier);
    return request(out_.next(o_.fragment_size));
  }

  switch (in_.add(p.data)) {
    case tls_reassembler::status::error:
      return fail(failure_kind::malformed, std::string(in_.error()), p.identifier);
    case tls_reassembler::status::need_more:
      return request({0});  // acknowledge the fragment
    case tls_reassembler::status::complete:
      break;
  }
  const bytes message = in_.take();
  if (handshake_done_) {
    if (!message.empty())
      return fail(failure_kind::unexpected_packet,
                  "expected the final EAP-TLS acknowledgement, got TLS data", p.identifier);
    return finish(p.identifier);
  }
  if (message.empty())
    return fail(failure_kind::unexpected_packet, "an empty EAP-TLS response during the handshake",
                p.identifier);

  const auto st = tls_.feed(message);
  bytes output = tls_.take_output();
  if (st == tls_session::state::failed) {
    step f = fail(failure_kind::tls, tls_.failure_detail(), p.identifier);
    f.tls_why = tls_.failure();
    if (const auto der = tls_.peer_certificate_der(); !der.empty())
      if (auto info = inspect_certificate(der)) f.certificate = std::move(*info);
    if (output.empty()) return f;
    // RFC 5216 2.1.3: the alert goes to the peer; its answer gets the EAP-Failure.
    pending_failure_ = std::move(f);
    out_.set(std::move(output));
    return request(out_.next(o_.fragment_size));
  }
  if (st == tls_session::state::established) {
    handshake_done_ = true;
    // RFC 9190 2.5: in TLS 1.3 the server commits to sending no more handshake messages with
    // one byte of application data, 0x00.
    if (tls_.version() == TLS1_3_VERSION) {
      if (!tls_.write(bytes{0}))
        return fail(failure_kind::tls, "cannot write the TLS 1.3 commitment message", p.identifier);
      const auto more = tls_.take_output();
      output.insert(output.end(), more.begin(), more.end());
    }
  }
  if (output.empty())
    return fail(failure_kind::unexpected_packet, "the TLS handshake stalled", p.identifier);
  out_.set(std::move(output));
  return request(out_.next(o_.fragment_size));
}

step conversation::finish(std::uint8_t id) {
  step s;
  const auto der = tls_.peer_certificate_der();
  if (der.empty()) {
    s = fail(failure_kind::tls, "the client sent no certificate", id);
    s.tls_why = tls_failure::no_certificate;
    return s;
  }
  auto info = inspect_certificate(der);
  if (!info) return fail(failure_kind::tls, info.error(), id);
  if (!info->client_auth()) {
    s = fail(failure_kind::no_client_auth,
             "the certificate lacks the Client Authentication purpose (1.3.6.1.5.5.7.3.2)", id);
    s.certificate = std::move(*info);
    return s;
  }
  auto who = identity_of(*info, o_.identity_sources);
  if (!who) {
    s = fail(failure_kind::no_identity,
             "the certificate names no identity in the configured sources", id);
    s.certificate = std::move(*info);
    return s;
  }
  // RFC 5216 2.3 (TLS 1.2) and RFC 9190 2.3 (TLS 1.3).
  const bool v13 = tls_.version() == TLS1_3_VERSION;
  const std::uint8_t context[] = {type::tls};
  auto keys = v13 ? tls_.export_keying_material("EXPORTER_EAP_TLS_Key_Material", context, true,
                                                key_material_size)
                  : tls_.export_keying_material("client EAP encryption", {}, false,
                                                key_material_size);
  if (!keys) return fail(failure_kind::tls, "cannot export the EAP key material", id);
  s.what = step::kind::success;
  s.msk.assign(keys->begin(), keys->begin() + 64);
  s.emsk.assign(keys->begin() + 64, keys->end());
  OPENSSL_cleanse(keys->data(), keys->size());
  s.tls_version = tls_.version_name();
  s.cipher = tls_.cipher_name();
  s.certificate = std::move(*info);
  s.identity = std::move(*who);
  s.eap = encode(packet{code::success, id, 0, {}});
  return s;
}

}  // namespace npsd::eap
