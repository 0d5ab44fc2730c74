#include "ldap/tls_probe.h"

#include <fcntl.h>
#include <ldap.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <string_view>

namespace npsd::ldap::detail {

namespace {

using clock = std::chrono::steady_clock;

struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};
struct addrinfo_deleter {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};
struct ctx_deleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct ssl_deleter {
  void operator()(SSL* s) const { SSL_free(s); }
};

int remaining_ms(clock::time_point until) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now());
  return static_cast<int>(std::max<std::int64_t>(0, ms.count()));
}

// A TCP connection within the deadline, left blocking with send/receive timeouts; -1 if none.
int connect_tcp(const ldap_server& s, clock::time_point until) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  if (getaddrinfo(s.host.c_str(), std::to_string(s.port).c_str(), &hints, &raw) != 0) return -1;
  std::unique_ptr<addrinfo, addrinfo_deleter> list(raw);
  for (addrinfo* a = raw; a != nullptr; a = a->ai_next) {
    fd_guard g{::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                        a->ai_protocol)};
    if (g.fd < 0) continue;
    if (::connect(g.fd, a->ai_addr, a->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) continue;
      pollfd p{g.fd, POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(until)) != 1) continue;
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(g.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) continue;
    }
    const int flags = ::fcntl(g.fd, F_GETFL);
    ::fcntl(g.fd, F_SETFL, flags & ~O_NONBLOCK);
    const int ms = std::max(1, remaining_ms(until));
    timeval tv{ms / 1000, (ms % 1000) * 1000};
    ::setsockopt(g.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(g.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    const int fd = g.fd;
    g.fd = -1;
    return fd;
  }
  return -1;
}

bool read_exact(int fd, unsigned char* out, std::size_t n) {
  while (n > 0) {
    const auto got = ::recv(fd, out, n, 0);
    if (got <= 0) return false;
    out += got;
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

// Sends the StartTLS extended request and reads the result code; -1 when unreadable.
int start_tls(int fd) {
  static constexpr std::string_view oid = "1.3.6.1.4.1.1466.20037";
  std::string req = {0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, static_cast<char>(0x80), 0x16};
  req += oid;
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
    return -1;
  unsigned char head[2];
  if (!read_exact(fd, head, 2) || head[0] != 0x30) return -1;
  std::size_t len = head[1];
  if (len & 0x80) {
    const std::size_t n = len & 0x7f;
    if (n == 0 || n > 2) return -1;
    unsigned char l[2];
    if (!read_exact(fd, l, n)) return -1;
    len = n == 1 ? l[0] : (std::size_t{l[0]} << 8) | l[1];
  }
  if (len > 4096) return -1;
  std::string body(len, '\0');
  if (!read_exact(fd, reinterpret_cast<unsigned char*>(body.data()), len)) return -1;
  // messageID INTEGER, then ExtendedResponse [APPLICATION 24] { resultCode ENUMERATED ... }
  std::size_t i = 0;
  if (body.size() < 2 || body[0] != 0x02) return -1;
  i = 2 + static_cast<unsigned char>(body[1]);
  if (i + 2 > body.size() || static_cast<unsigned char>(body[i]) != 0x78) return -1;
  i += 1;
  const auto l = static_cast<unsigned char>(body[i]);
  i += (l & 0x80) ? 1 + (l & 0x7f) : 1;
  if (i + 3 > body.size() || body[i] != 0x0a || body[i + 1] != 0x01) return -1;
  return static_cast<unsigned char>(body[i + 2]);
}

thread_local std::string* probe_subject = nullptr;

int remember_subject(int ok, X509_STORE_CTX* ctx) {
  if (probe_subject != nullptr && probe_subject->empty() &&
      X509_STORE_CTX_get_error_depth(ctx) == 0) {
    if (X509* cert = X509_STORE_CTX_get_current_cert(ctx)) {
      char subject[512];
      if (X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject) != nullptr)
        *probe_subject = subject;
    }
  }
  return ok;
}

}  // namespace

std::string explain_tls_failure(const connection_options& o) {
  const auto& s = o.server;
  const auto until = clock::now() + o.timeout;
  fd_guard fd{connect_tcp(s, until)};
  if (fd.fd < 0) return {};  // unreachable: libldap's own message says it
  if (!s.ldaps) {
    const int rc = start_tls(fd.fd);
    if (rc < 0) return "the server did not answer the StartTLS request";
    if (rc != LDAP_SUCCESS)
      return "the server refused StartTLS (" + std::string(ldap_err2string(rc)) +
             "): does it have a certificate?";
  }
  std::unique_ptr<SSL_CTX, ctx_deleter> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return {};
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (o.verify_certificate) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, remember_subject);
    if (o.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx.get()) != 1
                          : SSL_CTX_load_verify_locations(ctx.get(), o.ca_file.c_str(), nullptr) != 1) {
      ERR_clear_error();
      return "TLS: cannot load the CA file " + o.ca_file;
    }
  }
  std::unique_ptr<SSL, ssl_deleter> ssl(SSL_new(ctx.get()));
  if (!ssl) return {};
  SSL_set_fd(ssl.get(), fd.fd);
  unsigned char addr[16];
  const bool ip = inet_pton(AF_INET, s.host.c_str(), addr) == 1 ||
                  inet_pton(AF_INET6, s.host.c_str(), addr) == 1;
  if (o.verify_certificate) {
    if (ip)
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), s.host.c_str());
    else
      SSL_set1_host(ssl.get(), s.host.c_str());
  }
  if (!ip) SSL_set_tlsext_host_name(ssl.get(), s.host.c_str());
  std::string subject;
  probe_subject = &subject;
  const int rc = SSL_connect(ssl.get());
  probe_subject = nullptr;
  if (rc == 1) {
    SSL_shutdown(ssl.get());
    if (s.host == "localhost")
      return "TLS: libldap checks the certificate of \"localhost\" against this machine's own "
             "host name: use 127.0.0.1 (with an IP address in the certificate) or the real name";
    return {};
  }
  const long verify = SSL_get_verify_result(ssl.get());
  std::string out;
  if (o.verify_certificate && verify != X509_V_OK) {
    out = "TLS: the certificate of " + s.host +
          (subject.empty() ? std::string() : " (" + subject + ")") +
          " was not accepted: " + X509_verify_cert_error_string(verify);
    if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH)
      out += " (the certificate does not name " + s.host + ")";
    else
      out += " (is ca_file the CA that issued it?)";
  } else if (const unsigned long e = ERR_peek_error(); e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out = std::string("TLS handshake failed: ") + buf;
  }
  ERR_clear_error();
  return out;
}

}  // namespace npsd::ldap::detail
