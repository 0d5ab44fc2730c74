#include "eap_peer.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include <fmt/format.h>

#include "radius/crypto.h"

namespace npsd::peer {

namespace {

constexpr std::uint8_t eap_request = 1, eap_response = 2, eap_success = 3, eap_failure = 4;
constexpr std::uint8_t type_identity = 1, type_nak = 3, type_tls = 13, type_peap = 25,
                       type_tlv = 33;
constexpr std::uint8_t flag_length = 0x80, flag_more = 0x40, flag_start = 0x20;
constexpr std::size_t max_message = 64 * 1024;  // a TLS flight larger than this is refused

struct ctx_free {
  void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
};
struct ssl_free {
  void operator()(SSL* p) const noexcept {
    // Freed without a shutdown, OpenSSL would mark the session not resumable.
    SSL_set_shutdown(p, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(p);
  }
};
using ctx_ptr = std::unique_ptr<SSL_CTX, ctx_free>;
using ssl_ptr = std::unique_ptr<SSL, ssl_free>;

std::string openssl_error() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no OpenSSL error queued" : out;
}

ctx_ptr make_ctx(const peer_options& o, bool with_certificate) {
  ctx_ptr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) throw std::runtime_error("eap_peer: SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (o.max_tls_version != 0) SSL_CTX_set_max_proto_version(ctx.get(), o.max_tls_version);
  if (SSL_CTX_load_verify_locations(ctx.get(), o.ca_file.c_str(), nullptr) != 1)
    throw std::runtime_error(fmt::format("eap_peer: cannot load the CA file {}", o.ca_file));
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (with_certificate) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.cert_file.c_str()) != 1)
      throw std::runtime_error(fmt::format("eap_peer: cannot load the certificate {}", o.cert_file));
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), o.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1)
      throw std::runtime_error(fmt::format("eap_peer: cannot load the private key {} (or it does "
                                           "not match {})", o.key_file, o.cert_file));
  }
  // Sessions are kept by the caller (saved_session), not in the context's cache.
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  ERR_clear_error();
  return ctx;
}

void put16(bytes& b, std::size_t at, std::size_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}

// An EAP packet with its header: code, identifier, length, [type, data].
bytes eap_packet(std::uint8_t code, std::uint8_t id, std::uint8_t type, byte_view data) {
  bytes b{code, id, 0, 0, type};
  b.insert(b.end(), data.begin(), data.end());
  put16(b, 2, b.size());
  return b;
}

// One TLS client on memory BIOs, speaking the EAP-TLS payload framing (flags, [length], data).
class tls_layer {
 public:
  tls_layer(SSL_CTX* ctx, std::size_t fragment, SSL_SESSION* resume) : fragment_(fragment) {
    ssl_.reset(SSL_new(ctx));
    if (!ssl_) throw std::runtime_error("eap_peer: SSL_new failed");
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl_.get(), in_, out_);
    SSL_set_connect_state(ssl_.get());
    if (resume != nullptr) SSL_set_session(ssl_.get(), resume);
  }

  // A payload from the server. Returns false (with `error`) when the conversation cannot go
  // on. On true, `app` holds the TLS records of application data it carried (one element per
  // record) and `ack_only` says the payload was a fragment to acknowledge (or an ACK of ours).
  bool receive(byte_view payload, std::vector<bytes>& app, bool& ack_only, std::string& error) {
    app.clear();
    ack_only = false;
    if (payload.empty()) {
      error = "an EAP-TLS request without its flags byte";
      return false;
    }
    const std::uint8_t flags = payload[0];
    std::size_t off = 1;
    if ((flags & flag_length) != 0) {
      if (payload.size() < 5) {
        error = "an EAP-TLS request with the L flag but no length";
        return false;
      }
      off = 5;
    }
    const auto data = payload.subspan(off);
    if (!tls_error_.empty()) {  // the handshake failed: acknowledge whatever comes, until the end
      ack_only = true;
      return true;
    }
    if ((flags & flag_start) != 0) return handshake(error);
    if (sent_ < pending_.size()) {  // our message is going out in fragments: this is the ACK
      if (!data.empty() || (flags & flag_more) != 0) {
        error = "the server sent data before acknowledging all of our fragments";
        return false;
      }
      ack_only = true;
      return true;
    }
    if (reassembly_.size() + data.size() > max_message) {
      error = fmt::format("the server's TLS message exceeds {} bytes", max_message);
      return false;
    }
    reassembly_.insert(reassembly_.end(), data.begin(), data.end());
    if ((flags & flag_more) != 0) {
      ack_only = true;
      return true;
    }
    if (!reassembly_.empty()) {
      flight_seen_ = true;
      BIO_write(in_, reassembly_.data(), static_cast<int>(reassembly_.size()));
      reassembly_.clear();
    }
    if (SSL_is_init_finished(ssl_.get()) == 0) handshake(error);
    if (established()) {
      std::array<std::uint8_t, 16 * 1024 + 256> buf;
      while (true) {
        const int n = SSL_read(ssl_.get(), buf.data(), static_cast<int>(buf.size()));
        if (n <= 0) {
          const int e = SSL_get_error(ssl_.get(), n);
          if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            error = "TLS read failed: " + openssl_error();
            return false;
          }
          break;
        }
        app.emplace_back(buf.begin(), buf.begin() + n);
      }
    }
    ERR_clear_error();
    return true;
  }

  bool write_app(byte_view plain, std::string& error) {
    if (SSL_write(ssl_.get(), plain.data(), static_cast<int>(plain.size())) <= 0) {
      error = "TLS write failed: " + openssl_error();
      return false;
    }
    return true;
  }

  // The payload to answer with: the next fragment of what TLS produced, or an empty ACK.
  bytes respond(bool ack_only) {
    if (!ack_only || sent_ >= pending_.size()) {
      if (!ack_only) {
        pending_.assign(BIO_ctrl_pending(out_), 0);
        if (!pending_.empty()) BIO_read(out_, pending_.data(), static_cast<int>(pending_.size()));
        sent_ = 0;
      }
      if (sent_ >= pending_.size()) return {0};
    }
    const std::size_t n = std::min(fragment_, pending_.size() - sent_);
    const bool first = sent_ == 0, more = sent_ + n < pending_.size();
    bytes out{static_cast<std::uint8_t>((more ? flag_more : 0) | (first && more ? flag_length : 0))};
    if (first && more)
      for (int shift : {24, 16, 8, 0})
        out.push_back(static_cast<std::uint8_t>(pending_.size() >> shift));
    out.insert(out.end(), pending_.begin() + static_cast<std::ptrdiff_t>(sent_),
               pending_.begin() + static_cast<std::ptrdiff_t>(sent_ + n));
    sent_ += n;
    return out;
  }

  bool established() const { return tls_error_.empty() && SSL_is_init_finished(ssl_.get()) == 1; }
  const std::string& tls_error() const { return tls_error_; }
  bool started() const { return flight_seen_; }
  bool resumed() const { return SSL_session_reused(ssl_.get()) == 1; }
  SSL* ssl() const { return ssl_.get(); }

  // RFC 5216 2.3 (TLS 1.2 PRF) or RFC 9190 2.3 / RFC 9427 (TLS 1.3 exporter, type as context).
  bytes export_msk(std::uint8_t type) const {
    std::array<std::uint8_t, 128> km{};
    const bool v13 = SSL_version(ssl_.get()) == TLS1_3_VERSION;
    const std::uint8_t context[] = {type};
    const int ok =
        v13 ? SSL_export_keying_material(ssl_.get(), km.data(), km.size(),
                                         "EXPORTER_EAP_TLS_Key_Material", 29, context, 1, 1)
            : SSL_export_keying_material(ssl_.get(), km.data(), km.size(), "client EAP encryption",
                                         21, nullptr, 0, 0);
    if (ok != 1) return {};
    return bytes(km.begin(), km.begin() + 64);
  }

 private:
  // A failed handshake is not the end of the conversation: the alert OpenSSL wrote (if any) goes
  // to the server, as RFC 5216 2.1.3 has it, and the server ends with an Access-Reject.
  bool handshake(std::string&) {
    const int r = SSL_do_handshake(ssl_.get());
    if (r == 1) return true;
    const int e = SSL_get_error(ssl_.get(), r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
    const long verify = SSL_get_verify_result(ssl_.get());
    tls_error_ = verify != X509_V_OK
                     ? fmt::format("the server's certificate did not verify: {}",
                                   X509_verify_cert_error_string(verify))
                     : "TLS handshake failed: " + openssl_error();
    return true;
  }

  ssl_ptr ssl_;
  BIO* in_ = nullptr;   // owned by ssl_
  BIO* out_ = nullptr;  // owned by ssl_
  std::size_t fragment_;
  bytes reassembly_, pending_;
  std::size_t sent_ = 0;
  bool flight_seen_ = false;
  std::string tls_error_;
};

}  // namespace

struct peer_context::impl {
  peer_options o;
  ctx_ptr outer;  // EAP-TLS: with the client certificate; PEAP: the tunnel, without
  ctx_ptr inner;  // PEAP: the inner EAP-TLS, with the client certificate
};

peer_context::peer_context(const peer_options& o) : impl_(std::make_unique<impl>()) {
  impl_->o = o;
  impl_->outer = make_ctx(o, o.kind == method::eap_tls);
  if (o.kind == method::peap_tls) impl_->inner = make_ctx(o, true);
}
peer_context::~peer_context() = default;
const peer_options& peer_context::options() const noexcept { return impl_->o; }

struct saved_session::impl {
  SSL_SESSION* s = nullptr;
  ~impl() {
    if (s != nullptr) SSL_SESSION_free(s);
  }
};
saved_session::saved_session() noexcept = default;
saved_session::~saved_session() = default;
saved_session::saved_session(saved_session&&) noexcept = default;
saved_session& saved_session::operator=(saved_session&&) noexcept = default;
saved_session::saved_session(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}
saved_session::operator bool() const noexcept { return impl_ != nullptr && impl_->s != nullptr; }

struct conversation::state {
  const peer_context::impl& ctx;
  std::string identity;
  tls_layer outer;
  std::unique_ptr<tls_layer> inner;  // PEAP
  bytes msk;
  std::string tls_error;  // the inner handshake's failure
  bool inner_done = false;
  std::uint8_t type;

  state(const peer_context::impl& c, std::string id, SSL_SESSION* resume)
      : ctx(c), identity(std::move(id)), outer(c.outer.get(), c.o.fragment_size, resume),
        type(c.o.kind == method::peap_tls ? type_peap : type_tls) {}

  // PEAP phase 2: one inner packet in (plaintext of the tunnel) -> the inner packet to send.
  bool on_inner(const bytes& plain, bytes& out, std::string& error) {
    // [MS-PEAP]: inner packets come without their EAP header, except EAP-TLV (type 33) which
    // keeps it. A full header is recognised by its code and length; FreeRADIUS sends its inner
    // Identity request with one, and takes the answer without.
    const bool full = plain.size() >= 5 && (plain[0] == eap_request || plain[0] == eap_success ||
                                            plain[0] == eap_failure) &&
                      (static_cast<std::size_t>(plain[2]) << 8 | plain[3]) == plain.size();
    if (full && plain[0] == eap_request && plain[4] != type_tlv)  // FreeRADIUS's inner Identity
      return on_inner(bytes(plain.begin() + 4, plain.end()), out, error);  // answered headerless
    if (full) {
      if (plain[0] != eap_request) {
        error = fmt::format("unexpected inner EAP packet (code {}, type {}) in the PEAP tunnel",
                            plain[0], plain[4]);
        return false;
      }
      // The Result TLV (mandatory, type 3, length 2): answer with the same status.
      const byte_view tlvs = byte_view(plain).subspan(5);
      std::uint16_t status = 0;
      for (byte_view t = tlvs; t.size() >= 4;) {
        const unsigned tlv_type = (t[0] & 0x3f) << 8 | t[1];
        const std::size_t len = static_cast<std::size_t>(t[2]) << 8 | t[3];
        if (len > t.size() - 4) break;
        if (tlv_type == 3 && len == 2) status = static_cast<std::uint16_t>(t[4] << 8 | t[5]);
        t = t.subspan(4 + len);
      }
      if (status != 1) {
        error = status == 2 ? "the server's Result TLV says failure"
                            : "an EAP-TLV request without a Result TLV";
        return false;
      }
      const std::uint8_t result[] = {0x80, 0x03, 0x00, 0x02, 0x00, 0x01};
      out = eap_packet(eap_response, plain[1], type_tlv, result);
      inner_done = true;
      return true;
    }
    if (plain.empty()) {
      error = "an empty inner packet in the PEAP tunnel";
      return false;
    }
    switch (plain[0]) {
      case type_identity:
        out = {type_identity};
        out.insert(out.end(), identity.begin(), identity.end());
        return true;
      case type_tls: {
        // Inner fragments small enough that each, encrypted, fits one outer fragment: FreeRADIUS
        // 3.2 loses its inner EAP state when a tunneled response spans outer fragments.
        if (!inner)
          inner = std::make_unique<tls_layer>(
              ctx.inner.get(), ctx.o.fragment_size > 200 ? ctx.o.fragment_size - 100 : 100, nullptr);
        std::vector<bytes> app;
        bool ack = false;
        if (!inner->receive(byte_view(plain).subspan(1), app, ack, error)) {
          error = "inner EAP-TLS: " + error;
          return false;
        }
        if (!inner->tls_error().empty() && tls_error.empty()) tls_error = "inner " + inner->tls_error();
        out = {type_tls};
        const bytes p = inner->respond(ack);
        out.insert(out.end(), p.begin(), p.end());
        return true;
      }
      default:  // a method we do not do: ask for EAP-TLS (a NAK, headerless like the rest)
        out = {type_nak, type_tls};
        return true;
    }
  }
};

conversation::conversation(const peer_context& ctx, std::string identity,
                           const saved_session* resume)
    : s_(std::make_unique<state>(ctx.get(), std::move(identity),
                                 resume != nullptr && *resume ? resume->get()->s : nullptr)) {}
conversation::~conversation() = default;

bytes conversation::identity_response() const {
  return eap_packet(eap_response, 0, type_identity, radius::as_bytes(s_->identity));
}

conversation::reply conversation::on_request(byte_view eap) {
  reply r;
  if (eap.size() < 5 || eap[0] != eap_request ||
      (static_cast<std::size_t>(eap[2]) << 8 | eap[3]) != eap.size()) {
    r.error = eap.size() >= 4 && (eap[0] == eap_success || eap[0] == eap_failure)
                  ? "an EAP-Success/Failure inside an Access-Challenge"
                  : "a malformed EAP-Request";
    return r;
  }
  const std::uint8_t id = eap[1], type = eap[4];
  if (type == type_identity) {
    r.eap = eap_packet(eap_response, id, type_identity, radius::as_bytes(s_->identity));
    r.ok = true;
    return r;
  }
  if (type != s_->type) {  // the server offers another method: NAK with ours (RFC 3748 5.3.1)
    if (s_->outer.started()) {
      r.error = fmt::format("the server switched to EAP type {} mid-conversation", type);
      return r;
    }
    const std::uint8_t want[] = {s_->type};
    r.eap = eap_packet(eap_response, id, type_nak, want);
    r.ok = true;
    return r;
  }
  std::vector<bytes> app;
  bool ack = false;
  if (!s_->outer.receive(eap.subspan(5), app, ack, r.error)) return r;
  if (s_->outer.established() && s_->msk.empty()) s_->msk = s_->outer.export_msk(s_->type);
  if (s_->type == type_tls) {
    // TLS 1.3 sends the commitment byte 0x00 as application data (RFC 9190 2.5); nothing else
    // may come.
    for (const auto& a : app)
      if (a.size() != 1 || a[0] != 0) {
        r.error = "application data other than the TLS 1.3 commitment byte in EAP-TLS";
        return r;
      }
  } else {
    for (const auto& a : app) {
      bytes inner_out;
      if (!s_->on_inner(a, inner_out, r.error) || !s_->outer.write_app(inner_out, r.error))
        return r;
    }
  }
  const bytes payload = s_->outer.respond(ack && app.empty());
  r.eap = eap_packet(eap_response, id, s_->type, payload);
  r.ok = true;
  return r;
}

const bytes& conversation::msk() const noexcept { return s_->msk; }
bool conversation::resumed() const noexcept { return s_->outer.resumed(); }
bool conversation::tls_started() const noexcept { return s_->outer.started(); }
bool conversation::inner_done() const noexcept { return s_->inner_done; }
std::string conversation::tls_error() const {
  return !s_->outer.tls_error().empty() ? s_->outer.tls_error() : s_->tls_error;
}
std::string conversation::tls_version() const { return SSL_get_version(s_->outer.ssl()); }

saved_session conversation::take_session() {
  SSL_SESSION* s = SSL_get1_session(s_->outer.ssl());
  if (s == nullptr) return {};
  if (SSL_SESSION_is_resumable(s) != 1) {
    SSL_SESSION_free(s);
    return {};
  }
  auto p = std::make_unique<saved_session::impl>();
  p->s = s;
  return saved_session(std::move(p));
}

mppe_check check_mppe_keys(const radius::packet& accept, byte_view msk, std::string_view secret,
                           const radius::authenticator_t& request_authenticator) {
  bool recv = false, send = false;
  for (const auto& a : accept.attributes) {
    if (a.type != radius::attr::vendor_specific) continue;
    const auto vsas = radius::split_vsa(a.value);
    if (!vsas) continue;
    for (const auto& v : *vsas) {
      if (v.vendor != 311 || (v.type != 16 && v.type != 17)) continue;
      if (msk.size() < 64) return mppe_check::mismatch;
      const auto key = radius::salt_decrypt(v.value, secret, request_authenticator);
      // MS-MPPE-Recv-Key (17) is MSK[0..31], MS-MPPE-Send-Key (16) MSK[32..63].
      const auto want = msk.subspan(v.type == 17 ? 0 : 32, 32);
      if (!key || key->size() < 32 || !std::equal(want.begin(), want.end(), key->begin()))
        return mppe_check::mismatch;
      (v.type == 17 ? recv : send) = true;
    }
  }
  return recv && send ? mppe_check::match : mppe_check::missing;
}

}  // namespace npsd::peer
