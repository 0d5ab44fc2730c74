#include "eap/conversation.h"

#include <openssl/crypto.h>

#include <algorithm>

#include <fmt/format.h>

#include "eap/mschapv2.h"
#include "eap/peap_tlv.h"
#include "radius/crypto.h"

namespace npsd::eap {

namespace {


std::string type_name(std::uint8_t t) {
  return t == type::peap       ? "PEAP (25)"
         : t == type::mschapv2 ? "EAP-MSCHAPv2 (26)"
         : t == type::tls      ? "EAP-TLS (13)"
         : t == 0              ? "none (0)"
                               : std::to_string(t);
}

std::string type_list(byte_view types) {
  std::string out;
  for (const auto t : types) {
    if (!out.empty()) out += ", ";
    out += type_name(t);
  }
  return out.empty() ? "nothing" : out;
}

// A Result TLV inside an EAP-TLV Request (PEAPv0 sends it with the full EAP header).
bytes result_tlv_request(std::uint8_t id) {
  return encode(
      packet{code::request, id, peap::eap_type_tlv, peap::result_payload(peap::result_success)});
}

}  // namespace

conversation::conversation(std::string identity, std::uint8_t identity_id, conversation_options o)
    : identity_(std::move(identity)),
      o_(std::move(o)),
      next_id_(static_cast<std::uint8_t>(identity_id + 1)) {}

conversation::~conversation() = default;

step conversation::request(bytes payload) {
  packet p;
  p.code = code::request;
  p.identifier = next_id_++;
  p.type = type_;
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

step conversation::fail(const tls_outcome& o, std::uint8_t id) {
  step s = fail(o.why, o.detail, id);
  s.tls_why = o.tls_why;
  s.certificate = o.certificate;
  return s;
}

step conversation::start_method(std::uint8_t t) {
  type_ = t;
  outer_ = std::make_unique<tls_auth>(
      o_.tls, t == type::peap ? tls_auth::mode::tunnel : tls_auth::mode::eap_tls, t);
  inner_ = inner_phase::none;
  inner_tls_.reset();
  answered_ = false;
  return request(tls_auth::start());
}

void conversation::prefer(const std::vector<std::uint8_t>& outer,
                          const std::vector<std::uint8_t>& inner) {
  const auto reorder = [](std::vector<std::uint8_t>& list, const std::vector<std::uint8_t>& first) {
    std::vector<std::uint8_t> out;  // the preferred ones in the order given, then the rest
    for (const auto t : first)
      if (std::find(list.begin(), list.end(), t) != list.end()) out.push_back(t);
    for (const auto t : list)
      if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
    list = std::move(out);
  };
  reorder(o_.methods, outer);
  reorder(o_.inner_methods, inner);
}

step conversation::begin() {
  return o_.methods.empty() ? fail(failure_kind::method_refused, "no EAP method is enabled",
                                   static_cast<std::uint8_t>(next_id_ - 1))
                            : start_method(o_.methods.front());
}

step conversation::on_response(const packet& p) {
  if (++rounds_ > o_.max_rounds)
    return fail(failure_kind::too_many_rounds, fmt::format("more than {} EAP rounds", o_.max_rounds),
                p.identifier);
  if (p.code != code::response)
    return fail(failure_kind::unexpected_packet, "expected an EAP-Response", p.identifier);
  if (p.identifier != last_request_id_)
    return fail(failure_kind::unexpected_packet,
                fmt::format("EAP identifier {} does not answer request {}", p.identifier,
                            last_request_id_),
                p.identifier);
  if (p.type == type::nak) return on_nak(p);
  if (p.type != type_)
    return fail(failure_kind::unexpected_packet,
                fmt::format("expected an {} response, got EAP type {}", type_name(type_), p.type),
                p.identifier);
  answered_ = true;
  return type_ == type::peap ? on_peap(p) : on_tls(p);
}

step conversation::on_nak(const packet& p) {
  // RFC 3748 5.3.1: a NAK answers only the method's first request, and proposes others.
  if (outer_ == nullptr || answered_)
    return fail(failure_kind::unexpected_packet, "a NAK in the middle of a method", p.identifier);
  for (const auto wanted : p.data)
    if (wanted != type_ &&
        std::find(o_.methods.begin(), o_.methods.end(), wanted) != o_.methods.end())
      return start_method(wanted);
  return fail(failure_kind::method_refused,
              fmt::format("the peer refused {} and asked for {}", type_name(type_),
                          type_list(p.data)),
              p.identifier);
}

step conversation::on_tls(const packet& p) {
  auto o = outer_->on_payload(p.data);
  switch (o.what) {
    case tls_outcome::kind::send: return request(std::move(o.data));
    case tls_outcome::kind::failed: return fail(o, p.identifier);
    case tls_outcome::kind::app_data:
      return fail(failure_kind::unexpected_packet, "application data after EAP-TLS", p.identifier);
    case tls_outcome::kind::done: break;
  }
  return succeed(o, o, p.identifier);
}

step conversation::succeed(tls_outcome& keys, tls_outcome& who, std::uint8_t id) {
  step s;
  s.what = step::kind::success;
  s.msk = std::move(keys.msk);
  s.tls_version = std::move(keys.tls_version);
  s.cipher = std::move(keys.cipher);
  s.resumed = keys.resumed;
  s.certificate = std::move(who.certificate);
  s.identity = std::move(who.identity);
  s.eap = encode(packet{code::success, id, 0, {}});
  return s;
}

step conversation::send_inner(bytes inner, std::uint8_t id) {
  auto o = outer_->send_app(inner);
  if (o.what != tls_outcome::kind::send) return fail(o, id);
  return request(std::move(o.data));
}

step conversation::on_peap(const packet& p) {
  auto o = outer_->on_payload(p.data);
  switch (o.what) {
    case tls_outcome::kind::send: return request(std::move(o.data));
    case tls_outcome::kind::failed: return fail(o, p.identifier);
    case tls_outcome::kind::done:
      // Phase 1 done: the tunnel is up. Phase 2 starts with an inner Identity request; PEAPv0
      // sends inner EAP packets without their header (type first).
      tunnel_ = std::move(o);
      inner_ = inner_phase::identity;
      return send_inner({type::identity}, p.identifier);
    case tls_outcome::kind::app_data:
      return on_tunnel_data(o.data, p.identifier);
  }
  return fail(failure_kind::unexpected_packet, "PEAP", p.identifier);
}

step conversation::on_tunnel_data(const bytes& plain, std::uint8_t id) {
  switch (inner_) {
    case inner_phase::identity:
      if (plain.empty() || plain[0] != type::identity)
        return fail(failure_kind::unexpected_packet, "expected the inner EAP-Response/Identity", id);
      if (o_.inner_methods.empty())
        return fail(failure_kind::method_refused, "no inner method is enabled for PEAP", id);
      return start_inner(o_.inner_methods.front(), id);
    case inner_phase::tls: {
      if (!plain.empty() && plain[0] == type::nak) return on_inner_nak(plain, id);
      if (plain.empty() || plain[0] != type::tls)
        return fail(failure_kind::unexpected_packet, "expected an inner EAP-TLS response", id);
      inner_answered_ = true;
      auto o = inner_tls_->on_payload(byte_view(plain).subspan(1));
      switch (o.what) {
        case tls_outcome::kind::send: {
          bytes inner = {type::tls};
          inner.insert(inner.end(), o.data.begin(), o.data.end());
          return send_inner(std::move(inner), id);
        }
        case tls_outcome::kind::failed: return fail(o, id);
        case tls_outcome::kind::app_data:
          return fail(failure_kind::unexpected_packet, "application data after the inner EAP-TLS",
                      id);
        case tls_outcome::kind::done: break;
      }
      inner_done_ = std::move(o);
      return inner_succeeded(id);
    }
    case inner_phase::mschapv2:
    case inner_phase::mschapv2_success:
      if (!plain.empty() && plain[0] == type::nak) return on_inner_nak(plain, id);
      return on_mschapv2(plain, id);
    case inner_phase::result: {
      auto tlv = parse(plain);
      if (!tlv || tlv->code != code::response || tlv->type != peap::eap_type_tlv)
        return fail(failure_kind::unexpected_packet, "expected the EAP-TLV Result response", id);
      if (peap::result_status(tlv->data) != peap::result_success)
        return fail(failure_kind::unexpected_packet, "the peer did not confirm success (Result TLV)",
                    id);
      // The keys are the outer tunnel's, the identity the inner method's.
      step s = succeed(tunnel_, inner_done_, id);
      s.inner_type = inner_type_;
      if (inner_type_ == type::mschapv2) s.user = ms_user_;
      return s;
    }
    case inner_phase::none: break;
  }
  return fail(failure_kind::unexpected_packet, "data inside the PEAP tunnel before phase 2", id);
}

step conversation::inner_succeeded(std::uint8_t id) {
  // The inner method succeeded: PEAPv0 ends with a Result TLV both ways.
  inner_ = inner_phase::result;
  return send_inner(result_tlv_request(++inner_id_), id);
}

step conversation::start_inner(std::uint8_t t, std::uint8_t id) {
  inner_type_ = t;
  inner_answered_ = false;
  if (t == type::tls) {
    inner_ = inner_phase::tls;
    inner_tls_ = std::make_unique<tls_auth>(o_.tls, tls_auth::mode::eap_tls, type::tls);
    bytes start = {type::tls};
    const auto payload = tls_auth::start();
    start.insert(start.end(), payload.begin(), payload.end());
    return send_inner(std::move(start), id);
  }
  // MS-CHAPv2 Challenge (RFC 2759 through draft-kamath-pppext-eap-mschapv2): OpCode 1, the
  // MS-CHAPv2 identifier, MS-Length, Value-Size 16, the challenge, the server's name.
  inner_ = inner_phase::mschapv2;
  radius::random_bytes(auth_challenge_);
  ms_id_ = static_cast<std::uint8_t>(ms_id_ + 1);
  static constexpr std::string_view name = "npsd";
  const std::size_t ms_length = 5 + auth_challenge_.size() + name.size();
  bytes c = {type::mschapv2, 1, ms_id_, static_cast<std::uint8_t>(ms_length >> 8),
             static_cast<std::uint8_t>(ms_length), 16};
  c.insert(c.end(), auth_challenge_.begin(), auth_challenge_.end());
  c.insert(c.end(), name.begin(), name.end());
  return send_inner(std::move(c), id);
}

step conversation::on_inner_nak(const bytes& plain, std::uint8_t id) {
  if (inner_answered_)
    return fail(failure_kind::unexpected_packet, "an inner NAK in the middle of a method", id);
  const auto wanted = byte_view(plain).subspan(1);
  for (const auto t : wanted)
    if (t != inner_type_ &&
        std::find(o_.inner_methods.begin(), o_.inner_methods.end(), t) != o_.inner_methods.end())
      return start_inner(t, id);
  return fail(failure_kind::method_refused,
              fmt::format("the peer refused the inner {} and asked for {}", type_name(inner_type_),
                          type_list(wanted)),
              id);
}

step conversation::on_mschapv2(const bytes& plain, std::uint8_t id) {
  if (plain.size() < 2 || plain[0] != type::mschapv2)
    return fail(failure_kind::unexpected_packet, "expected an inner EAP-MSCHAPv2 response", id);
  inner_answered_ = true;
  const std::uint8_t opcode = plain[1];
  if (inner_ == inner_phase::mschapv2_success) {
    if (opcode != 3)
      return fail(failure_kind::unexpected_packet, "expected the MS-CHAPv2 Success acknowledgement", id);
    return inner_succeeded(id);
  }
  // Response: OpCode 2, MS-CHAPv2-ID, MS-Length, Value-Size 49, Peer-Challenge 16,
  // Reserved 8, NT-Response 24, Flags 1, Name.
  if (opcode != 2 || plain.size() < 1 + 5 + 49 || plain[2] != ms_id_ || plain[5] != 49)
    return fail(failure_kind::malformed, "malformed MS-CHAPv2 Response", id);
  std::copy_n(plain.begin() + 6, 16, peer_challenge_.begin());
  std::copy_n(plain.begin() + 6 + 16 + 8, 24, nt_response_.begin());
  ms_user_.assign(plain.begin() + 6 + 49, plain.end());
  if (ms_user_.empty() || ms_user_.find('\0') != std::string::npos)
    return fail(failure_kind::malformed, "MS-CHAPv2 Response without a user name", id);
  pending_id_ = id;
  step s;
  s.what = step::kind::need_nt_hash;
  s.user = ms_user_;
  return s;
}

step conversation::provide_nt_hash(const std::optional<std::array<std::uint8_t, 16>>& hash) {
  const auto id = pending_id_;
  if (inner_ != inner_phase::mschapv2)
    return fail(failure_kind::unexpected_packet, "no MS-CHAPv2 response is waiting", id);
  if (!hash)
    return fail(failure_kind::credentials,
                "the account has no NT hash, which MS-CHAPv2 needs (npsctl user set-password "
                "--mschapv2)",
                id);
  const auto user = mschapv2::challenge_user_name(ms_user_);
  const auto ch = mschapv2::challenge_hash(peer_challenge_, auth_challenge_, user);
  const auto expected = mschapv2::nt_response(ch, *hash);
  if (!expected)
    return fail(failure_kind::credentials, "MD4/DES are not available (OpenSSL legacy provider)", id);
  if (CRYPTO_memcmp(expected->data(), nt_response_.data(), nt_response_.size()) != 0)
    return fail(failure_kind::credentials, "wrong password (MS-CHAPv2)", id);
  const auto auth = mschapv2::authenticator_response(*hash, nt_response_, peer_challenge_,
                                                     auth_challenge_, user);
  if (!auth) return fail(failure_kind::credentials, "MD4 is not available", id);
  // Success: OpCode 3, MS-CHAPv2-ID, MS-Length, "S=<authenticator response> M=<message>".
  const std::string message = *auth + " M=OK";
  const std::size_t ms_length = 4 + message.size();
  bytes sp = {type::mschapv2, 3, ms_id_, static_cast<std::uint8_t>(ms_length >> 8),
              static_cast<std::uint8_t>(ms_length)};
  sp.insert(sp.end(), message.begin(), message.end());
  inner_ = inner_phase::mschapv2_success;
  return send_inner(std::move(sp), id);
}

}  // namespace npsd::eap
