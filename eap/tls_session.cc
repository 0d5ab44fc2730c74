#include "eap/tls_session.h"

#include "eap/certificate_x509.h"
#include "eap/openssl_free.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

namespace npsd::eap {

namespace {

struct ctx_free {
  void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
};
struct ssl_free {
  void operator()(SSL* p) const noexcept {
    // A conversation ends without a TLS close_notify (EAP says Success or Failure instead);
    // without this, SSL_free would take the session out of the cache as if it were broken.
    // A handshake that did not finish leaves no session in the cache anyway.
    SSL_set_shutdown(p, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(p);
  }
};

// The error queue's newest entry as text, and the queue cleared. No key material is in it.
std::string openssl_error() {
  std::string out;
  unsigned long e = 0;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out = buf;
  }
  return out.empty() ? std::string("unknown OpenSSL error") : out;
}

// Safe default for TLS 1.2: forward secrecy and AEAD first, no legacy ciphers.
constexpr const char* default_cipher_list =
    "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:ECDHE+AES:!aNULL:!eNULL:!MD5:!RC4:!3DES:!DSS";

bytes der_of(X509* cert) {
  bytes out;
  const int n = cert != nullptr ? i2d_X509(cert, nullptr) : 0;
  if (n <= 0) return out;
  out.resize(static_cast<std::size_t>(n));
  unsigned char* p = out.data();
  i2d_X509(cert, &p);
  return out;
}

struct name_free {
  void operator()(X509_NAME* p) const noexcept { X509_NAME_free(p); }
};

// Revocation modes by issuing CA, kept with the SSL_CTX (its app data) for verify_callback.
struct revocation_policy {
  bool enabled = false;
  revocation_mode default_mode = revocation_mode::require;
  std::vector<std::pair<std::unique_ptr<X509_NAME, name_free>, revocation_mode>> cas;

  revocation_mode mode_for(const X509_NAME* issuer) const {
    for (const auto& [name, mode] : cas)
      if (X509_NAME_cmp(name.get(), issuer) == 0) return mode;
    return default_mode;
  }
};

bool is_revocation_error(int e) {
  switch (e) {
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_CERT_REVOKED:
      return true;
    default:
      return false;
  }
}

// Applies the per-CA revocation mode, and keeps the client's leaf certificate when
// verification fails (OpenSSL does not keep it then), so that the failure can be logged with
// its subject, issuer and serial.
int verify_callback(int ok, X509_STORE_CTX* store) {
  if (ok == 1) return ok;
  auto* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (ssl == nullptr) return ok;
  const int err = X509_STORE_CTX_get_error(store);
  if (is_revocation_error(err)) {
    const auto* policy = static_cast<const revocation_policy*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
    X509* cert = X509_STORE_CTX_get_current_cert(store);
    if (policy != nullptr && cert != nullptr) {
      const auto mode = policy->mode_for(X509_get_issuer_name(cert));
      if (mode == revocation_mode::off ||
          (mode == revocation_mode::best_effort && err != X509_V_ERR_CERT_REVOKED)) {
        X509_STORE_CTX_set_error(store, X509_V_OK);
        return 1;
      }
    }
  }
  if (auto* leaf_der = static_cast<bytes*>(SSL_get_app_data(ssl)); leaf_der && leaf_der->empty())
    *leaf_der = der_of(X509_STORE_CTX_get0_cert(store));
  return ok;
}


// Adds every CRL of a PEM file to the store; the number added, or an error.
expected<int, std::string> load_crls(X509_STORE* store, const std::filesystem::path& file) {
  std::unique_ptr<BIO, bio_free> bio(BIO_new_file(file.c_str(), "r"));
  if (!bio) return unexpected(fmt::format("{}: cannot read it", file.string()));
  int n = 0;
  while (X509_CRL* crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
    X509_STORE_add_crl(store, crl);
    X509_CRL_free(crl);
    ++n;
  }
  ERR_clear_error();
  if (n == 0) return unexpected(fmt::format("{}: holds no PEM CRL (-----BEGIN X509 CRL-----)", file.string()));
  return n;
}

// The server's TLS sessions for fast reconnect, shared by every tls_context (EAP-TLS and the
// PEAP tunnel, before and after a reload: OpenSSL only resumes a session in the session ID
// context it was made in). Bounded, least recently used dropped first. A session kept here is
// not serialised: OpenSSL 3.0's stateless tickets encode each session and parse it back,
// client certificate included, whose public-key decoding is a large part of a handshake.
class session_cache {
 public:
  static session_cache& instance() {
    static session_cache c;
    return c;
  }
  ~session_cache() {
    for (auto& [id, s] : order_) SSL_SESSION_free(s);
  }

  void set_capacity(std::size_t n) {
    std::lock_guard lock(mu_);
    capacity_ = std::max<std::size_t>(n, 1);
    trim();
  }

  static int on_new(SSL*, SSL_SESSION* s) { return instance().add(s) ? 1 : 0; }
  static SSL_SESSION* on_get(SSL*, const unsigned char* id, int len, int* copy) {
    *copy = 1;  // OpenSSL takes its own reference
    return instance().find(std::string(reinterpret_cast<const char*>(id), static_cast<std::size_t>(len)));
  }
  static void on_remove(SSL_CTX*, SSL_SESSION* s) { instance().erase(s); }

 private:
  using lru = std::list<std::pair<std::string, SSL_SESSION*>>;

  static std::string id_of(const SSL_SESSION* s) {
    unsigned int len = 0;
    const unsigned char* id = SSL_SESSION_get_id(s, &len);
    return std::string(reinterpret_cast<const char*>(id), len);
  }

  // Takes the reference OpenSSL hands over (the callback returns 1).
  bool add(SSL_SESSION* s) {
    auto id = id_of(s);
    if (id.empty()) return false;
    std::lock_guard lock(mu_);
    if (const auto it = index_.find(id); it != index_.end()) {
      SSL_SESSION_free(it->second->second);
      order_.erase(it->second);
      index_.erase(it);
    }
    order_.emplace_front(id, s);
    index_.emplace(std::move(id), order_.begin());
    trim();
    return true;
  }

  SSL_SESSION* find(const std::string& id) {
    std::lock_guard lock(mu_);
    const auto it = index_.find(id);
    if (it == index_.end()) return nullptr;
    SSL_SESSION* s = it->second->second;
    const long age = static_cast<long>(std::time(nullptr)) - SSL_SESSION_get_time(s);
    if (age > SSL_SESSION_get_timeout(s)) {  // expired: gone
      SSL_SESSION_free(s);
      order_.erase(it->second);
      index_.erase(it);
      return nullptr;
    }
    order_.splice(order_.begin(), order_, it->second);
    return s;
  }

  void erase(SSL_SESSION* s) {
    const auto id = id_of(s);
    std::lock_guard lock(mu_);
    const auto it = index_.find(id);
    if (it == index_.end() || it->second->second != s) return;
    SSL_SESSION_free(s);
    order_.erase(it->second);
    index_.erase(it);
  }

  void trim() {
    while (order_.size() > capacity_) {
      SSL_SESSION_free(order_.back().second);
      index_.erase(order_.back().first);
      order_.pop_back();
    }
  }

  std::mutex mu_;
  std::size_t capacity_ = 20000;
  lru order_;
  std::unordered_map<std::string, lru::iterator> index_;
};

}  // namespace

struct tls_context::impl {
  std::unique_ptr<SSL_CTX, ctx_free> ctx;
  revocation_policy revocation;  // the SSL_CTX's app data
};

tls_context::tls_context(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
tls_context::~tls_context() = default;

expected<std::shared_ptr<const tls_context>, std::string> tls_context::make(const eap_config& cfg) {
  ERR_clear_error();
  auto p = std::make_unique<impl>();
  p->ctx.reset(SSL_CTX_new(TLS_server_method()));
  if (!p->ctx) return unexpected("cannot create a TLS context: " + openssl_error());
  SSL_CTX* ctx = p->ctx.get();
  // Buffers are freed between rounds: a conversation waiting for the peer's next message
  // holds less (what bounds memory under many conversations in flight).
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_min_proto_version(ctx, cfg.tls_min_version);
  SSL_CTX_set_max_proto_version(ctx, cfg.tls_max_version);
  // No renegotiation (a client may not restart the handshake inside the conversation), no
  // compression; session resumption is off until fast reconnect is configured.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Fast reconnect from the server's own session cache (see session_cache): no stateless
  // tickets; TLS 1.3 sends one stateful ticket (it names a cached session).
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  if (cfg.resumption_lifetime.count() > 0) {
    session_cache::instance().set_capacity(cfg.session_cache_size);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL |
                                            SSL_SESS_CACHE_NO_AUTO_CLEAR);
    SSL_CTX_sess_set_new_cb(ctx, session_cache::on_new);
    SSL_CTX_sess_set_get_cb(ctx, session_cache::on_get);
    SSL_CTX_sess_set_remove_cb(ctx, session_cache::on_remove);
    SSL_CTX_set_num_tickets(ctx, 1);
    SSL_CTX_set_timeout(ctx, static_cast<long>(cfg.resumption_lifetime.count()));
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
  }
  const auto cipher_list = cfg.cipher_list.empty() ? std::string(default_cipher_list) : cfg.cipher_list;
  if (SSL_CTX_set_cipher_list(ctx, cipher_list.c_str()) != 1)
    return unexpected(fmt::format("cipher_list \"{}\" selects no cipher", cipher_list));
  if (!cfg.ciphersuites.empty() && SSL_CTX_set_ciphersuites(ctx, cfg.ciphersuites.c_str()) != 1)
    return unexpected(fmt::format("ciphersuites \"{}\" selects no TLS 1.3 suite", cfg.ciphersuites));
  if (!cfg.groups.empty() && SSL_CTX_set1_groups_list(ctx, cfg.groups.c_str()) != 1)
    return unexpected(fmt::format("groups \"{}\" names an unknown group", cfg.groups));

  if (SSL_CTX_use_certificate_chain_file(ctx, cfg.certificate.c_str()) != 1)
    return unexpected(fmt::format("{}: cannot use it as the server certificate: {}",
                                  cfg.certificate.string(), openssl_error()));
  if (SSL_CTX_use_PrivateKey_file(ctx, cfg.private_key.c_str(), SSL_FILETYPE_PEM) != 1)
    return unexpected(fmt::format("{}: cannot read the private key (PEM, unencrypted): {}",
                                  cfg.private_key.string(), openssl_error()));
  if (SSL_CTX_check_private_key(ctx) != 1)
    return unexpected(fmt::format("{} is not the key of the certificate in {}",
                                  cfg.private_key.string(), cfg.certificate.string()));
  {
    X509* leaf = SSL_CTX_get0_certificate(ctx);
    if (leaf != nullptr && X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0)
      return unexpected(fmt::format("{}: the server certificate has expired", cfg.certificate.string()));
  }

  const char* file = cfg.ca_file.empty() ? nullptr : cfg.ca_file.c_str();
  const char* dir = cfg.ca_path.empty() ? nullptr : cfg.ca_path.c_str();
  if (SSL_CTX_load_verify_locations(ctx, file, dir) != 1)
    return unexpected(fmt::format("{}: cannot load the trusted CA certificates: {}",
                                  cfg.ca_file.empty() ? cfg.ca_path.string() : cfg.ca_file.string(),
                                  openssl_error()));
  if (file != nullptr) {
    // The CertificateRequest names the trusted CAs, so a client with several certificates
    // picks one they issued.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(file))
      SSL_CTX_set_client_CA_list(ctx, names);
    else
      return unexpected(fmt::format("{}: holds no CA certificate", cfg.ca_file.string()));
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_callback);
  SSL_CTX_set_verify_depth(ctx, 8);
  SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);

  const auto& rv = cfg.revocation;
  if (rv.enabled) {
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    for (const auto& f : rv.crl_files)
      if (auto n = load_crls(store, f); !n) return unexpected(n.error());
    p->revocation.enabled = true;
    p->revocation.default_mode = rv.default_mode;
    for (const auto& ca : rv.cas) {
      std::unique_ptr<BIO, bio_free> bio(BIO_new_file(ca.certificate.c_str(), "r"));
      std::unique_ptr<X509, x509_free> cert(
          bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
      if (!cert)
        return unexpected(fmt::format("{}: holds no PEM certificate", ca.certificate.string()));
      p->revocation.cas.emplace_back(X509_NAME_dup(X509_get_subject_name(cert.get())), ca.mode);
    }
    // The leaf's CRL is consulted; verify_callback applies the modes.
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  }
  SSL_CTX_set_app_data(ctx, &p->revocation);
  ERR_clear_error();
  return std::shared_ptr<const tls_context>(new tls_context(std::move(p)));
}

std::string_view tls_failure_name(tls_failure f) noexcept {
  switch (f) {
    case tls_failure::none: return "none";
    case tls_failure::handshake: return "TLS handshake failed";
    case tls_failure::no_certificate: return "no client certificate";
    case tls_failure::untrusted_issuer: return "certificate issuer not trusted";
    case tls_failure::expired: return "certificate expired";
    case tls_failure::not_yet_valid: return "certificate not yet valid";
    case tls_failure::revoked: return "certificate revoked";
    case tls_failure::crl_unavailable: return "certificate revocation list unavailable";
    case tls_failure::wrong_purpose: return "certificate not valid for client authentication";
    case tls_failure::bad_certificate: return "certificate verification failed";
  }
  return "TLS failure";
}

struct tls_session::impl {
  std::shared_ptr<const tls_context> ctx;
  std::unique_ptr<SSL, ssl_free> ssl;
  BIO* in = nullptr;   // owned by ssl
  BIO* out = nullptr;  // owned by ssl
  bytes failed_leaf;   // set by verify_callback
};

tls_session::tls_session(std::shared_ptr<const tls_context> ctx, bool client_certificate)
    : impl_(std::make_unique<impl>()) {
  impl_->ctx = std::move(ctx);
  impl_->ssl.reset(SSL_new(impl_->ctx->get().ctx.get()));
  if (!impl_->ssl) {
    state_ = state::failed;
    failure_ = tls_failure::handshake;
    detail_ = "cannot create a TLS session: " + openssl_error();
    return;
  }
  impl_->in = BIO_new(BIO_s_mem());
  impl_->out = BIO_new(BIO_s_mem());
  SSL_set_bio(impl_->ssl.get(), impl_->in, impl_->out);
  SSL_set_accept_state(impl_->ssl.get());
  SSL_set_app_data(impl_->ssl.get(), &impl_->failed_leaf);
  if (!client_certificate) SSL_set_verify(impl_->ssl.get(), SSL_VERIFY_NONE, nullptr);
  // A session resumes only as the kind it was made: an EAP-TLS session (which proved a client
  // certificate) never from a PEAP tunnel's ticket, nor the other way round.
  static constexpr unsigned char eap_tls_ctx[] = "npsd eap-tls";
  static constexpr unsigned char tunnel_ctx[] = "npsd tunnel";
  if (client_certificate)
    SSL_set_session_id_context(impl_->ssl.get(), eap_tls_ctx, sizeof eap_tls_ctx - 1);
  else
    SSL_set_session_id_context(impl_->ssl.get(), tunnel_ctx, sizeof tunnel_ctx - 1);
}

tls_session::~tls_session() = default;
tls_session::tls_session(tls_session&&) noexcept = default;
tls_session& tls_session::operator=(tls_session&&) noexcept = default;

tls_session::state tls_session::feed(byte_view data) {
  if (state_ == state::failed) return state_;
  ERR_clear_error();
  if (!data.empty() &&
      BIO_write(impl_->in, data.data(), static_cast<int>(data.size())) != static_cast<int>(data.size())) {
    state_ = state::failed;
    failure_ = tls_failure::handshake;
    detail_ = "cannot buffer the TLS data";
    return state_;
  }
  if (state_ == state::established) return state_;
  const int r = SSL_do_handshake(impl_->ssl.get());
  if (r == 1) {
    state_ = state::established;
    return state_;
  }
  const int err = SSL_get_error(impl_->ssl.get(), r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return state_;
  state_ = state::failed;
  detail_ = openssl_error();
  classify_failure();
  return state_;
}

namespace {

tls_failure failure_of_verify_error(long v) {
  switch (v) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
      return tls_failure::untrusted_issuer;
    case X509_V_ERR_CERT_HAS_EXPIRED: return tls_failure::expired;
    case X509_V_ERR_CERT_NOT_YET_VALID: return tls_failure::not_yet_valid;
    case X509_V_ERR_CERT_REVOKED: return tls_failure::revoked;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
      return tls_failure::crl_unavailable;
    case X509_V_ERR_INVALID_PURPOSE: return tls_failure::wrong_purpose;
    default: return tls_failure::bad_certificate;
  }
}

struct store_ctx_free {
  void operator()(X509_STORE_CTX* p) const noexcept { X509_STORE_CTX_free(p); }
};
struct x509_stack_free {
  void operator()(STACK_OF(X509)* p) const noexcept { sk_X509_pop_free(p, X509_free); }
};

// Intermediate CA certificates clients have sent in verified chains (see
// remember_peer_intermediates), for verifying resumed sessions again.
struct intermediate_pool {
  static constexpr std::size_t limit = 256;
  std::mutex mu;
  std::unique_ptr<STACK_OF(X509), x509_stack_free> certs{sk_X509_new_null()};

  void add(X509* cert) {
    std::lock_guard lock(mu);
    if (!certs || sk_X509_num(certs.get()) >= static_cast<int>(limit)) return;
    for (int i = 0; i < sk_X509_num(certs.get()); ++i)
      if (X509_cmp(sk_X509_value(certs.get(), i), cert) == 0) return;
    X509_up_ref(cert);
    if (sk_X509_push(certs.get(), cert) <= 0) X509_free(cert);
  }
  std::unique_ptr<STACK_OF(X509), x509_stack_free> copy() {
    std::lock_guard lock(mu);
    return std::unique_ptr<STACK_OF(X509), x509_stack_free>(
        certs ? X509_chain_up_ref(certs.get()) : sk_X509_new_null());
  }
};

intermediate_pool& intermediates() {
  static intermediate_pool pool;
  return pool;
}

}  // namespace

void tls_session::classify_failure() {
  const long v = SSL_get_verify_result(impl_->ssl.get());
  failure_ = tls_failure::handshake;
  if (v == X509_V_OK) {
    if (detail_.find("peer did not return a certificate") != std::string::npos ||
        detail_.find("certificate required") != std::string::npos)
      failure_ = tls_failure::no_certificate;
    return;
  }
  detail_ = X509_verify_cert_error_string(v);
  failure_ = failure_of_verify_error(v);
}

tls_failure tls_session::reverify_peer() {
  SSL* ssl = impl_->ssl.get();
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) {
    detail_ = "the session holds no client certificate";
    return failure_ = tls_failure::no_certificate;
  }
  std::unique_ptr<X509_STORE_CTX, store_ctx_free> sc(X509_STORE_CTX_new());
  auto untrusted = intermediates().copy();
  if (!sc || X509_STORE_CTX_init(sc.get(), SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl)), cert,
                                 untrusted.get()) != 1) {
    detail_ = "cannot verify the certificate again";
    return failure_ = tls_failure::bad_certificate;
  }
  X509_STORE_CTX_set_ex_data(sc.get(), SSL_get_ex_data_X509_STORE_CTX_idx(), ssl);
  X509_STORE_CTX_set_purpose(sc.get(), X509_PURPOSE_SSL_CLIENT);
  X509_STORE_CTX_set_verify_cb(sc.get(), verify_callback);
  if (X509_verify_cert(sc.get()) == 1) return tls_failure::none;
  const long v = X509_STORE_CTX_get_error(sc.get());
  ERR_clear_error();
  detail_ = X509_verify_cert_error_string(v);
  return failure_ = failure_of_verify_error(v);
}

void tls_session::remember_peer_intermediates() const {
  // On a server the chain may or may not hold the leaf: only CA certificates are kept.
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(impl_->ssl.get());
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i)
    if (X509* c = sk_X509_value(chain, i); X509_check_ca(c) > 0) intermediates().add(c);
}

bytes tls_session::take_output() {
  bytes out;
  const auto n = BIO_ctrl_pending(impl_->out);
  if (n == 0) return out;
  out.resize(n);
  const int got = BIO_read(impl_->out, out.data(), static_cast<int>(n));
  out.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  return out;
}

bool tls_session::write(byte_view data) {
  if (state_ != state::established) return false;
  ERR_clear_error();
  return SSL_write(impl_->ssl.get(), data.data(), static_cast<int>(data.size())) ==
         static_cast<int>(data.size());
}

bytes tls_session::read() {
  bytes out;
  if (state_ != state::established) return out;
  unsigned char buf[4096];
  for (;;) {
    const int n = SSL_read(impl_->ssl.get(), buf, sizeof buf);
    if (n <= 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  ERR_clear_error();
  return out;
}

int tls_session::version() const noexcept { return SSL_version(impl_->ssl.get()); }
std::string tls_session::version_name() const { return SSL_get_version(impl_->ssl.get()); }
std::string tls_session::cipher_name() const {
  const char* n = SSL_get_cipher_name(impl_->ssl.get());
  return n != nullptr ? n : "";
}
bool tls_session::resumed() const noexcept { return SSL_session_reused(impl_->ssl.get()) == 1; }

std::optional<bytes> tls_session::export_keying_material(std::string_view label, byte_view context,
                                                         bool use_context,
                                                         std::size_t length) const {
  bytes out(length);
  const std::string l(label);
  if (SSL_export_keying_material(impl_->ssl.get(), out.data(), out.size(), l.c_str(), l.size(),
                                 context.data(), context.size(), use_context ? 1 : 0) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  return out;
}

bytes tls_session::peer_certificate_der() const {
  if (X509* cert = SSL_get0_peer_certificate(impl_->ssl.get())) return der_of(cert);
  return impl_->failed_leaf;
}

expected<certificate_info, std::string> tls_session::peer_certificate() const {
  if (X509* cert = SSL_get0_peer_certificate(impl_->ssl.get())) return detail::inspect_x509(cert);
  if (impl_->failed_leaf.empty()) return unexpected(std::string("the client sent no certificate"));
  return inspect_certificate(impl_->failed_leaf);
}

}  // namespace npsd::eap
