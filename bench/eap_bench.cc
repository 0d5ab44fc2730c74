// eap_bench: what one full EAP-TLS authentication costs npsd's EAP core, on one thread.
//
//   eap_bench --pki DIR [--seconds 3] [--server-key rsa|ecdsa] [--client-key rsa|ecdsa]
//             [--tls 1.2|1.3] [--held 1000] [--no-speed] [--json]
//
// DIR is made by scripts/make-pki. Three phases:
//   full handshakes  for --seconds, one eap::conversation after another (EAP-TLS only, the
//                    tls_context npsd builds from an eap_config) driven to Success by an
//                    in-memory OpenSSL client through EAP packets (eap::encode / eap::parse),
//                    fragments and acknowledgements both ways at --fragment bytes. Every
//                    success is checked: the MSK must be the client's own export (RFC 5216
//                    2.3 / RFC 9190 2.3) and, in TLS 1.3, the client must have received the
//                    commitment byte 0x00. The server's and the client's thread CPU time
//                    (CLOCK_THREAD_CPUTIME_ID) are summed apart; the server's covers building
//                    the conversation, parsing each EAP-Response from its wire bytes,
//                    begin()/on_response() and destroying the conversation.
//   memory           VmRSS before and after building --held conversations, each left where the
//                    server holds its TLS state mid-handshake: its first flight produced (the
//                    ClientHello answered, its first fragment returned, the rest pending).
//                    One ClientHello, made once, is answered by all of them, so no client
//                    state is in the figure. Then they are destroyed and VmRSS read again.
//   hardware         `openssl speed` of the server key's private-key operation (rsa2048 or
//                    ecdsap256), on the same CPU: a full handshake costs the server at least
//                    one, so handshakes/s of server CPU / sign/s is at most about 1.
// No timing is asserted. Exit 0; 1 if any handshake failed or a key check did not hold; 2 for
// a bad PKI directory or option.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <time.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "eap/conversation.h"
#include "eap/eap_config.h"
#include "eap/packet.h"
#include "eap/tls_framing.h"
#include "eap/tls_session.h"

namespace {

using namespace npsd;
using eap::byte_view;
using eap::bytes;
using wall_clock = std::chrono::steady_clock;
namespace flag = eap::tls_flag;

// ---- time and memory --------------------------------------------------------------------------

std::int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Thread CPU time summed over the windows it is started and stopped around.
class cpu_meter {
 public:
  void start() { t0_ = thread_cpu_ns(); }
  void stop() { total_ += thread_cpu_ns() - t0_; }
  double seconds() const { return static_cast<double>(total_) / 1e9; }
  void reset() { total_ = 0; }

 private:
  std::int64_t t0_ = 0;
  std::int64_t total_ = 0;
};

// VmRSS from /proc/self/status, bytes; 0 when unreadable.
std::uint64_t vm_rss() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  return 0;
}

// Bytes the allocator has handed out (glibc), or nullopt.
std::optional<std::uint64_t> heap_in_use() {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  const auto m = mallinfo2();
  return static_cast<std::uint64_t>(m.uordblks) + m.hblkhd;
#else
  return std::nullopt;
#endif
}

// Gives free heap pages back to the kernel, so that reusing them shows in VmRSS again.
void trim_heap() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

// ---- the client -------------------------------------------------------------------------------

struct ssl_ctx_free {
  void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
};
struct ssl_free {
  void operator()(SSL* p) const noexcept { SSL_free(p); }
};
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ssl_ctx_free>;
using ssl_ptr = std::unique_ptr<SSL, ssl_free>;

std::string openssl_error() {
  std::string out;
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out = buf;
  }
  return out.empty() ? std::string("unknown OpenSSL error") : out;
}

// The supplicant's TLS configuration: its certificate and key, the PKI's CA trusted for the
// server's certificate, at most `max_version`. Made once; one SSL per handshake.
ssl_ctx_ptr make_client_ctx(const std::filesystem::path& cert, const std::filesystem::path& key,
                            const std::filesystem::path& ca, int max_version, std::string& error) {
  ssl_ctx_ptr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) {
    error = "SSL_CTX_new: " + openssl_error();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    error = fmt::format("{} / {}: not a usable client certificate and key: {}", cert.string(),
                        key.string(), openssl_error());
    return nullptr;
  }
  if (SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr) != 1) {
    error = fmt::format("{}: cannot load the CA: {}", ca.string(), openssl_error());
    return nullptr;
  }
  // The server's chain is verified (client CPU); its name is not, the PKI's domain varies.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  return ctx;
}

// One supplicant: an OpenSSL client on memory BIOs and the EAP-TLS framing around it.
class supplicant {
 public:
  supplicant(SSL_CTX* ctx, std::size_t fragment) : fragment_(fragment) {
    ssl_.reset(SSL_new(ctx));
    if (!ssl_) {
      error_ = "SSL_new: " + openssl_error();
      return;
    }
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl_.get(), in_, out_);
    SSL_set_connect_state(ssl_.get());
  }

  // The EAP-TLS payload answering the server's; nullopt when the client gives up (error()).
  std::optional<bytes> answer(byte_view request) {
    if (!error_.empty()) return std::nullopt;
    if (request.empty()) return fail("an EAP-Request/TLS without a flags byte");
    if (!started_) {
      if (request.size() != 1 || (request[0] & flag::start) == 0)
        return fail("the first EAP-Request/TLS is not a Start");
      started_ = true;
      return flight(bytes{});
    }
    if (to_server_.pending()) {
      if (request.size() != 1 || request[0] != 0)
        return fail("expected the server's acknowledgement of our fragment");
      return to_server_.next(fragment_);
    }
    switch (from_server_.add(request)) {
      case eap::tls_reassembler::status::error:
        return fail(fmt::format("server's EAP-TLS framing: {}", from_server_.error()));
      case eap::tls_reassembler::status::need_more:
        return bytes{0};
      case eap::tls_reassembler::status::complete:
        break;
    }
    return flight(from_server_.take());
  }

  bool established() const { return error_.empty() && SSL_is_init_finished(ssl_.get()) == 1; }
  const std::string& error() const { return error_; }
  const bytes& app_data() const { return app_data_; }
  int version() const { return SSL_version(ssl_.get()); }

  std::optional<bytes> export_keys(const char* label, const bytes& context, bool use_context) const {
    bytes out(128);
    if (SSL_export_keying_material(ssl_.get(), out.data(), out.size(), label, std::strlen(label),
                                   context.data(), context.size(), use_context ? 1 : 0) != 1)
      return std::nullopt;
    return out;
  }

 private:
  std::optional<bytes> fail(std::string why) {
    error_ = std::move(why);
    return std::nullopt;
  }

  // Hands a whole message from the server to OpenSSL and answers with what it sends back
  // (cut into fragments), or with an acknowledgement when it has nothing to say.
  std::optional<bytes> flight(const bytes& from_server) {
    if (!from_server.empty() &&
        BIO_write(in_, from_server.data(), static_cast<int>(from_server.size())) !=
            static_cast<int>(from_server.size()))
      return fail("BIO_write");
    if (SSL_is_init_finished(ssl_.get()) != 1) {
      const int r = SSL_do_handshake(ssl_.get());
      if (r != 1) {
        const int e = SSL_get_error(ssl_.get(), r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
          return fail("client handshake: " + openssl_error());
      }
    }
    if (SSL_is_init_finished(ssl_.get()) == 1) {
      // Session tickets and, in TLS 1.3, the server's commitment byte.
      unsigned char buf[256];
      for (;;) {
        const int n = SSL_read(ssl_.get(), buf, sizeof buf);
        if (n <= 0) {
          const int e = SSL_get_error(ssl_.get(), n);
          if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return fail("client read: " + openssl_error());
          break;
        }
        app_data_.insert(app_data_.end(), buf, buf + n);
      }
    }
    ERR_clear_error();
    bytes records(BIO_ctrl_pending(out_));
    if (!records.empty() &&
        BIO_read(out_, records.data(), static_cast<int>(records.size())) !=
            static_cast<int>(records.size()))
      return fail("BIO_read");
    if (records.empty()) return bytes{0};
    to_server_.set(std::move(records));
    return to_server_.next(fragment_);
  }

  ssl_ptr ssl_;
  BIO* in_ = nullptr;   // owned by ssl_
  BIO* out_ = nullptr;  // owned by ssl_
  std::size_t fragment_;
  bool started_ = false;
  eap::tls_reassembler from_server_{1 << 20};
  eap::tls_fragmenter to_server_;
  bytes app_data_;
  std::string error_;
};

// ---- one handshake ----------------------------------------------------------------------------

struct setup {
  eap::conversation_options options;
  ssl_ctx_ptr client;
  std::string identity;  // the EAP-Response/Identity text
  int tls_version = TLS1_3_VERSION;
  std::size_t fragment = 1020;
};

struct handshake {
  bool ok = false;
  std::string error;
  std::size_t rounds = 0;                       // EAP-Responses the server answered
  std::size_t server_bytes = 0, client_bytes = 0;  // EAP packets each way (Success included)
  std::string version, cipher;
};

std::optional<eap::packet> parse_wire(const bytes& wire, std::string& error) {
  auto p = eap::parse(wire);
  if (!p) {
    error = std::string(eap::parse_error_text(p.error()));
    return std::nullopt;
  }
  return std::move(*p);
}

// One EAP-TLS conversation from Start to Success, and the checks of its result.
handshake run_handshake(const setup& s, cpu_meter& server, cpu_meter& client) {
  handshake h;
  server.start();
  std::optional<eap::conversation> conv;
  conv.emplace(s.identity, 0, s.options);
  eap::step st = conv->begin();
  server.stop();

  client.start();
  std::optional<supplicant> peer;
  peer.emplace(s.client.get(), s.fragment);
  client.stop();

  bool succeeded = false, client_gave_up = false;
  while (h.error.empty()) {
    h.server_bytes += st.eap.size();
    if (st.what == eap::step::kind::failure) {
      h.error = fmt::format("the server failed the conversation: {}{}", st.detail,
                            st.tls_why != eap::tls_failure::none
                                ? fmt::format(" ({})", eap::tls_failure_name(st.tls_why))
                                : "");
      if (client_gave_up) h.error += "; the client: " + peer->error();
      break;
    }
    if (client_gave_up) {
      h.error = "the client gave up (" + peer->error() +
                ") and the server went on after its acknowledgement";
      break;
    }
    if (st.what == eap::step::kind::success) {
      succeeded = true;
      break;
    }
    if (h.rounds >= 100) {
      h.error = "more than 100 rounds";
      break;
    }
    client.start();
    std::optional<bytes> response_wire;
    if (auto req = parse_wire(st.eap, h.error)) {
      if (req->code != eap::code::request || req->type != eap::type::tls) {
        h.error = "the server sent something other than an EAP-Request/TLS";
      } else if (auto payload = peer->answer(req->data)) {
        response_wire = eap::encode(
            eap::packet{eap::code::response, req->identifier, eap::type::tls, std::move(*payload)});
      } else if (!client_gave_up) {
        // The client refused (an alert from the server, usually): acknowledge once, as a
        // supplicant does, to hear the server's own reason.
        client_gave_up = true;
        response_wire = eap::encode(
            eap::packet{eap::code::response, req->identifier, eap::type::tls, bytes{0}});
      }
    }
    client.stop();
    if (!response_wire) {
      if (h.error.empty()) h.error = "the client gave up: " + peer->error();
      break;
    }
    h.client_bytes += response_wire->size();

    server.start();
    std::string parse_error;
    if (auto rsp = parse_wire(*response_wire, parse_error)) {
      st = conv->on_response(*rsp);
    } else {
      h.error = "the server could not parse the response: " + parse_error;
    }
    server.stop();
    ++h.rounds;
  }

  if (succeeded) {
    // Outside both meters: the checks.
    if (!peer->established()) {
      h.error = "the server succeeded before the client finished its handshake";
    } else if (peer->version() != s.tls_version) {
      h.error = fmt::format("negotiated {}, not the version asked for", st.tls_version);
    } else {
      const bool v13 = peer->version() == TLS1_3_VERSION;
      const auto keys = v13 ? peer->export_keys("EXPORTER_EAP_TLS_Key_Material",
                                                {eap::type::tls}, true)
                            : peer->export_keys("client EAP encryption", {}, false);
      if (!keys)
        h.error = "the client cannot export its keying material";
      else if (st.msk.size() != 64 || st.msk != bytes(keys->begin(), keys->begin() + 64))
        h.error = "MSK mismatch: the server's MSK is not the client's exported key material";
      else if (v13 && peer->app_data() != bytes{0x00})
        h.error = "TLS 1.3: the client did not receive the commitment byte 0x00 (RFC 9190 2.5)";
      else if (!st.identity)
        h.error = "success without a certificate identity";
      else
        h.ok = true;
    }
    h.version = st.tls_version;
    h.cipher = st.cipher;
  }

  client.start();
  peer.reset();
  client.stop();
  server.start();
  conv.reset();
  server.stop();
  return h;
}

// ---- phases -----------------------------------------------------------------------------------

struct handshake_phase {
  std::uint64_t handshakes = 0, failed = 0;
  std::string first_error;
  double wall_seconds = 0, server_cpu = 0, client_cpu = 0;
  std::uint64_t rounds = 0, server_bytes = 0, client_bytes = 0;
  std::string version, cipher;
};

handshake_phase full_handshakes(const setup& s, double seconds) {
  handshake_phase p;
  cpu_meter server, client;
  {
    // One untimed, unchecked warm-up: OpenSSL's lazy initialisation and first allocations.
    cpu_meter ignore_s, ignore_c;
    run_handshake(s, ignore_s, ignore_c);
  }
  const auto budget = std::chrono::duration<double>(seconds);
  const auto t0 = wall_clock::now();
  do {
    const auto h = run_handshake(s, server, client);
    ++p.handshakes;
    p.rounds += h.rounds;
    p.server_bytes += h.server_bytes;
    p.client_bytes += h.client_bytes;
    if (!h.ok) {
      if (p.failed++ == 0) p.first_error = h.error;
    } else if (p.version.empty()) {
      p.version = h.version;
      p.cipher = h.cipher;
    }
  } while (wall_clock::now() - t0 < budget);
  p.wall_seconds = std::chrono::duration<double>(wall_clock::now() - t0).count();
  p.server_cpu = server.seconds();
  p.client_cpu = client.seconds();
  return p;
}

struct memory_phase {
  std::size_t held = 0, failed = 0;
  std::string first_error;
  std::uint64_t rss_before = 0, rss_held = 0, rss_destroyed = 0, rss_trimmed = 0;
  std::optional<std::uint64_t> heap_before, heap_held;
  double server_cpu = 0;  // building them and answering the ClientHello
  std::size_t client_hello = 0;  // bytes
};

memory_phase conversations_in_flight(const setup& s, std::size_t n) {
  memory_phase m;
  m.held = n;
  // One ClientHello for all of them, made by a client that is gone before the first reading.
  bytes hello;
  {
    supplicant peer(s.client.get(), s.fragment);
    auto payload = peer.answer(bytes{flag::start});
    if (!payload) {
      m.failed = n;
      m.first_error = "the client made no ClientHello: " + peer.error();
      return m;
    }
    hello = std::move(*payload);
  }
  m.client_hello = hello.size() - 1;
  if ((hello[0] & flag::more_fragments) != 0) {
    m.failed = n;
    m.first_error = "the ClientHello does not fit one fragment";
    return m;
  }
  std::vector<std::unique_ptr<eap::conversation>> convs;
  convs.reserve(n);
  trim_heap();
  m.rss_before = vm_rss();
  m.heap_before = heap_in_use();
  cpu_meter server;
  for (std::size_t i = 0; i < n; ++i) {
    server.start();
    auto c = std::make_unique<eap::conversation>(s.identity, 0, s.options);
    const auto start = c->begin();
    std::string error;
    std::optional<eap::step> first_flight;
    if (auto req = parse_wire(start.eap, error))
      first_flight = c->on_response(eap::packet{eap::code::response, req->identifier,
                                                eap::type::tls, hello});
    server.stop();
    if (!first_flight || first_flight->what != eap::step::kind::challenge) {
      if (m.failed++ == 0)
        m.first_error = first_flight ? "the server did not answer the ClientHello: " +
                                           first_flight->detail
                                     : error;
    }
    convs.push_back(std::move(c));
  }
  m.rss_held = vm_rss();
  m.heap_held = heap_in_use();
  m.server_cpu = server.seconds();
  convs.clear();
  m.rss_destroyed = vm_rss();
  trim_heap();
  m.rss_trimmed = vm_rss();
  return m;
}

struct speed_result {
  std::string test;  // rsa2048, ecdsap256
  std::optional<double> sign_per_second;
  std::string error;
};

// The "sign/s" column of `openssl speed`'s summary: the next-to-last figure of the line under
// the header naming it, e.g. "rsa 2048 bits 0.000660s 0.000019s   1515.2  52631.6".
std::optional<double> parse_sign_per_second(const std::string& output) {
  std::istringstream in(output);
  bool header = false;
  for (std::string line; std::getline(in, line);) {
    if (!header) {
      header = line.find("sign/s") != std::string::npos;
      continue;
    }
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string x; words >> x;) w.push_back(x);
    if (w.size() < 2) continue;
    char* end = nullptr;
    const std::string& figure = w[w.size() - 2];
    const double v = std::strtod(figure.c_str(), &end);
    if (end != figure.c_str() && *end == '\0' && v > 0) return v;
    return std::nullopt;
  }
  return std::nullopt;
}

speed_result openssl_speed(const std::string& openssl, const std::string& test, int seconds) {
  speed_result r;
  r.test = test;
  const auto cmd = fmt::format("'{}' speed -seconds {} {} 2>/dev/null", openssl, seconds, test);
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) {
    r.error = "cannot run " + cmd;
    return r;
  }
  std::string output;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) output.append(buf, n);
  const int status = ::pclose(f);
  r.sign_per_second = parse_sign_per_second(output);
  if (!r.sign_per_second)
    r.error = fmt::format("no sign/s figure in the output of `{}` (exit status {})", cmd, status);
  return r;
}

double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"What one full EAP-TLS authentication costs npsd's EAP core, on one thread: "
               "handshakes per second of server CPU, memory per conversation in flight, and "
               "the ratio to the server key's signatures per second"};
  std::string pki_dir, server_key = "rsa", client_key = "rsa", tls = "1.3", openssl = "openssl";
  double seconds = 3.0;
  std::size_t held = 1000, fragment = 1020;
  int speed_seconds = 3;
  bool json = false, no_speed = false;
  app.add_option("--pki", pki_dir, "a directory made by scripts/make-pki")->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("--seconds", seconds, "how long to run full handshakes (at least one)")
      ->check(CLI::PositiveNumber);
  app.add_option("--server-key", server_key, "server certificate: server.pem (rsa) or "
                                             "server-ecdsa.pem (ecdsa)")
      ->check(CLI::IsMember({"rsa", "ecdsa"}));
  app.add_option("--client-key", client_key, "client certificate: alice (rsa) or bob (ecdsa)")
      ->check(CLI::IsMember({"rsa", "ecdsa"}));
  app.add_option("--tls", tls, "the client's highest TLS version")
      ->check(CLI::IsMember({"1.2", "1.3"}));
  app.add_option("--held", held, "conversations held mid-handshake for the memory figure (0: "
                                 "skip)");
  app.add_option("--fragment", fragment, "EAP-TLS fragment size, both ways")
      ->check(CLI::Range(64, 65535));
  app.add_flag("--no-speed", no_speed, "skip the `openssl speed` phase");
  app.add_option("--openssl", openssl, "the openssl command, for the speed phase");
  app.add_option("--speed-seconds", speed_seconds, "`openssl speed -seconds`")
      ->check(CLI::Range(1, 60));
  app.add_flag("--json", json, "print JSON");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int r = app.exit(e);
    return r == 0 ? 0 : 2;
  }

  const std::filesystem::path dir(pki_dir);
  const bool ecdsa_server = server_key == "ecdsa";
  const bool ecdsa_client = client_key == "ecdsa";
  const std::string client_name = ecdsa_client ? "bob" : "alice";

  eap::eap_config cfg;
  cfg.enabled = true;
  cfg.certificate = dir / (ecdsa_server ? "server-ecdsa.pem" : "server.pem");
  cfg.private_key = dir / (ecdsa_server ? "server-ecdsa.key" : "server.key");
  cfg.ca_file = dir / "ca.pem";
  cfg.fragment_size = fragment;
  cfg.methods = {eap::type::tls};
  auto ctx = eap::tls_context::make(cfg);
  if (!ctx) {
    std::cerr << "eap_bench: " << ctx.error() << '\n';
    return 2;
  }

  setup s;
  s.options.tls.tls = *ctx;
  s.options.tls.fragment_size = cfg.fragment_size;
  s.options.tls.max_message_size = cfg.max_message_size;
  s.options.tls.identity_sources = cfg.identity_sources;
  s.options.max_rounds = cfg.max_rounds;
  s.options.methods = cfg.methods;
  s.identity = client_name + "@corp.example.com";
  s.tls_version = tls == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION;
  s.fragment = fragment;
  {
    std::string error;
    s.client = make_client_ctx(dir / (client_name + ".pem"), dir / (client_name + ".key"),
                               dir / "ca.pem", s.tls_version, error);
    if (!s.client) {
      std::cerr << "eap_bench: " << error << '\n';
      return 2;
    }
  }

  const auto hs = full_handshakes(s, seconds);
  std::optional<memory_phase> mem;
  if (held > 0) mem = conversations_in_flight(s, held);
  std::optional<speed_result> speed;
  if (!no_speed) speed = openssl_speed(openssl, ecdsa_server ? "ecdsap256" : "rsa2048", speed_seconds);

  const double ok = static_cast<double>(hs.handshakes - hs.failed);
  const double per_server_cpu = ratio(ok, hs.server_cpu);
  const double per_wall = ratio(ok, hs.wall_seconds);
  const double n_hs = static_cast<double>(hs.handshakes);
  const bool failed = hs.failed > 0 || hs.handshakes == 0 || (mem && mem->failed > 0);

  const auto per_conv = [&](std::uint64_t after, std::uint64_t before) {
    return mem && mem->held > 0
               ? (static_cast<double>(after) - static_cast<double>(before)) /
                     static_cast<double>(mem->held)
               : 0.0;
  };

  if (json) {
    nlohmann::ordered_json j;
    j["server_key"] = server_key;
    j["server_certificate"] = cfg.certificate.string();
    j["client_key"] = client_key;
    j["client_certificate"] = (dir / (client_name + ".pem")).string();
    j["tls"] = tls;
    j["fragment_size"] = fragment;
    j["session_tickets"] = cfg.resumption_lifetime.count() > 0;
    auto& h = j["handshakes"];
    h["count"] = hs.handshakes;
    h["failed"] = hs.failed;
    if (!hs.first_error.empty()) h["first_error"] = hs.first_error;
    h["negotiated"] = hs.version;
    h["cipher"] = hs.cipher;
    h["wall_seconds"] = hs.wall_seconds;
    h["server_cpu_seconds"] = hs.server_cpu;
    h["client_cpu_seconds"] = hs.client_cpu;
    h["per_second_server_cpu"] = per_server_cpu;
    h["per_second_wall"] = per_wall;
    h["server_cpu_ms_per_handshake"] = ratio(hs.server_cpu * 1e3, n_hs);
    h["client_cpu_ms_per_handshake"] = ratio(hs.client_cpu * 1e3, n_hs);
    h["eap_rounds_per_handshake"] = ratio(static_cast<double>(hs.rounds), n_hs);
    h["server_eap_bytes_per_handshake"] = ratio(static_cast<double>(hs.server_bytes), n_hs);
    h["client_eap_bytes_per_handshake"] = ratio(static_cast<double>(hs.client_bytes), n_hs);
    if (mem) {
      auto& m = j["memory"];
      m["held"] = mem->held;
      m["failed"] = mem->failed;
      if (!mem->first_error.empty()) m["first_error"] = mem->first_error;
      m["client_hello_bytes"] = mem->client_hello;
      m["rss_before_bytes"] = mem->rss_before;
      m["rss_held_bytes"] = mem->rss_held;
      m["rss_destroyed_bytes"] = mem->rss_destroyed;
      m["rss_destroyed_trimmed_bytes"] = mem->rss_trimmed;
      m["rss_bytes_per_conversation"] = per_conv(mem->rss_held, mem->rss_before);
      if (mem->heap_before && mem->heap_held)
        m["heap_bytes_per_conversation"] = per_conv(*mem->heap_held, *mem->heap_before);
      m["server_cpu_ms_per_first_flight"] =
          ratio(mem->server_cpu * 1e3, static_cast<double>(mem->held));
    }
    if (speed) {
      auto& sp = j["hardware"];
      sp["openssl_speed"] = speed->test;
      if (speed->sign_per_second) {
        sp["sign_per_second"] = *speed->sign_per_second;
        sp["handshakes_per_sign"] = ratio(per_server_cpu, *speed->sign_per_second);
      } else {
        sp["error"] = speed->error;
      }
    }
    j["ok"] = !failed;
    std::cout << j.dump(2) << '\n';
  } else {
    fmt::print("EAP-TLS server benchmark, one thread: server {} ({}), client {} ({}), TLS {} asked, "
               "fragment {}\n",
               server_key, cfg.certificate.filename().string(), client_key, client_name, tls,
               fragment);
    fmt::print("negotiated {} {}, {:.1f} EAP rounds, {:.0f} B from the server and {:.0f} B from "
               "the client per handshake\n\n",
               hs.version.empty() ? "-" : hs.version, hs.cipher,
               ratio(static_cast<double>(hs.rounds), n_hs),
               ratio(static_cast<double>(hs.server_bytes), n_hs),
               ratio(static_cast<double>(hs.client_bytes), n_hs));
    fmt::print("{:<18} {:>8} {:>6} {:>8} {:>13} {:>13} {:>16} {:>11}\n", "full handshakes",
               "count", "failed", "wall s", "server CPU s", "client CPU s", "hs/s server CPU",
               "hs/s wall");
    fmt::print("{:<18} {:>8} {:>6} {:>8.3f} {:>13.3f} {:>13.3f} {:>16.1f} {:>11.1f}\n", "", hs.handshakes,
               hs.failed, hs.wall_seconds, hs.server_cpu, hs.client_cpu, per_server_cpu, per_wall);
    fmt::print("server CPU {:.3f} ms, client CPU {:.3f} ms per handshake\n",
               ratio(hs.server_cpu * 1e3, n_hs), ratio(hs.client_cpu * 1e3, n_hs));
    if (!hs.first_error.empty()) fmt::print("first failure: {}\n", hs.first_error);
    if (mem) {
      fmt::print("\nmemory: {} conversations held after answering the ClientHello ({} B)\n",
                 mem->held, mem->client_hello);
      fmt::print("  VmRSS before {:.1f} MiB, holding them {:.1f} MiB, destroyed {:.1f} MiB "
                 "(after malloc_trim {:.1f} MiB)\n",
                 mem->rss_before / 1048576.0, mem->rss_held / 1048576.0,
                 mem->rss_destroyed / 1048576.0, mem->rss_trimmed / 1048576.0);
      fmt::print("  per conversation: {:.1f} KiB of RSS", per_conv(mem->rss_held, mem->rss_before) / 1024);
      if (mem->heap_before && mem->heap_held)
        fmt::print(", {:.1f} KiB of heap", per_conv(*mem->heap_held, *mem->heap_before) / 1024);
      fmt::print("; server CPU {:.3f} ms each to get there\n",
                 ratio(mem->server_cpu * 1e3, static_cast<double>(mem->held)));
      if (!mem->first_error.empty()) fmt::print("  first failure: {}\n", mem->first_error);
    }
    if (speed) {
      if (speed->sign_per_second)
        fmt::print("\nhardware: openssl speed {}: {:.1f} sign/s; handshakes/s of server CPU / "
                   "sign/s = {:.3f}\n",
                   speed->test, *speed->sign_per_second,
                   ratio(per_server_cpu, *speed->sign_per_second));
      else
        fmt::print("\nhardware: {}\n", speed->error);
    }
    if (failed) fmt::print("\nFAILED: handshakes or checks did not hold\n");
  }
  return failed ? 1 : 0;
}
