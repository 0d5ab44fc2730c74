// radload: a RADIUS load generator that checks every reply, and the hardware limits it is read
// against.
//
//   radload --port N [--mode acct|pap|status|eap-tls|peap-tls] [--host 127.0.0.1|::1]
//           [--secret S] [--window 256] [--seconds 10 | --count N] [--rate R] [--timeout 1]
//           [--retries 2] [--user U --password P] [--interims 2] [--dictionary DIR]
//           [--ca F --cert F --key F [--tls 1.2|1.3] [--resume] [--hold S]] [--server-pid P]
//           [--allow-unsigned] [--json]
//   radload --echo [--host H] [--port 0] [--secret S] [--max-seconds 120] [--fault F]
//   radload --relay PORT [--host H] [--port 0] [--secret S] [--max-seconds 120] --fault F
//   radload --fsync-test DIR [--fsync-seconds 1] [--json]
//
// Modes:
//   acct    Accounting-Requests (RFC 2866). Each window lane plays one session after another,
//           the way a NAS does: Start, --interims Interim-Updates, Stop, each sent only once the
//           one before it is acknowledged, so a server sees every session in order. Every
//           session has its own Acct-Session-Id (a per-run prefix and a counter). Requests carry
//           User-Name, NAS-IP-Address, NAS-Port, NAS-Port-Type, Service-Type, Framed-Protocol,
//           Framed-IP-Address, Calling-Station-Id, Called-Station-Id, Class, Event-Timestamp,
//           Acct-Delay-Time, the session time, octet and packet counters, Acct-Terminate-Cause
//           on Stop, and a Message-Authenticator (RFC 3579).
//   pap     Access-Requests with --user and --password (User-Password hidden, RFC 2865 5.2),
//           Message-Authenticator first, NAS-Port-Type Virtual; Accepts and Rejects counted.
//   status  Status-Server (RFC 5997) with Message-Authenticator: the server's liveness under
//           load; answered by Access-Accept (auth port) or Accounting-Response (acct port).
//   eap-tls, peap-tls
//           whole EAP conversations, one after another per window lane: EAP-TLS, or PEAPv0 with
//           inner EAP-TLS (Always On VPN), run by an in-process peer (bench/eap_peer: OpenSSL on
//           memory BIOs) with the client certificate --cert/--key (RSA or ECDSA), checking the
//           server's against --ca. Access-Requests carry User-Name (--user), the EAP-Message
//           (split at 253 bytes), the State of the last Access-Challenge, NAS-Port-Type
//           Virtual, a Calling-Station-Id of their own per lane, and a Message-Authenticator.
//           Every Access-Accept must carry MS-MPPE-Recv-Key and MS-MPPE-Send-Key equal to the
//           halves of the MSK the peer derived itself (decrypted with the secret and the
//           request's authenticator): a wrong or missing key is a bad reply. --resume offers
//           each lane's last TLS session to the server (the outer one for PEAP) and counts
//           the resumed handshakes. A unit is a conversation: --count and --rate count
//           conversations, answered_per_second is finished conversations (Accept or Reject)
//           per second, latency runs from the Identity to the Access-Accept.
//           --hold S: every lane runs one conversation only as far as the server's first TLS
//           flight (the server then holds its TLS state, mid-handshake), all of them at once;
//           then radload reads the server's memory (--server-pid) and waits S seconds before
//           it ends: the server's memory per conversation in flight.
// --server-pid P: the server's VmRSS before the load (and while holding) and its VmHWM at the
// end, from /proc/P/status, are reported.
// --allow-unsigned accepts Access-Accept/Reject without Message-Authenticator (servers from
// before the BlastRADIUS fixes, e.g. FreeRADIUS 3.2.1 for PAP) and counts them as unsigned.
// Every reply is verified against the request it answers: its Response Authenticator, and its
// Message-Authenticator (required on Access-Accept/Reject, checked whenever present). A reply
// that fails counts as bad (by kind), never as an answer; so a benchmark is also a check.
// Identifiers: at most --per-socket requests are outstanding on one UDP socket and each socket's
// 256 identifiers are reused in FIFO order, so an identifier rests 256 - per-socket exchanges
// before it names another request; windows above --per-socket use several sockets. A request
// unanswered after --timeout is sent again, byte for byte (same identifier and authenticator),
// at most --retries times, then given up (a "timeout") and the lane moves on. New requests stop
// after --seconds (or --count); what is outstanding then is waited for, within the retry budget.
// --rate paces new requests (per second, over the whole run); without it, as fast as the
// window allows.
// answered_per_second = answered during the load / its duration: with --seconds, the answers
// that came before new requests stopped, over --seconds (the drain that follows, and any
// retransmission it waits for, does not dilute the rate of a saturated server); with --count,
// all of them over first send .. last answer. Latency runs from a request's first
// transmission to its answer.
//
// Echo: a trivial responder that answers each request with a signed, empty reply
// (Accounting-Response; Access-Accept with Message-Authenticator) and does nothing else: load
// against it is the loopback round-trip limit of this tool on this machine. --fault makes its
// replies wrong on purpose (bad-authenticator, bad-message-authenticator,
// no-message-authenticator), to show radload refuses them. Prints {"echo_port": N, "pid": P} once
// listening; stops on SIGINT/SIGTERM or after --max-seconds.
//
// Relay: forwards every request to the server at 127.0.0.1/::1 port PORT and its replies back
// (one upstream socket per client socket, identifiers kept), spoiling them on purpose with
// --fault wrong-mppe-key: one byte of the encrypted MS-MPPE-Recv-Key of each Access-Accept is
// changed and the reply signed again with the secret (Message-Authenticator and Response
// Authenticator correct), so only the key check can tell. Prints {"echo_port": N, "pid": P}.
//
// fsync test: writes 4 KiB and fsync()s, in a loop, to a temporary file in DIR for
// --fsync-seconds: the commits per second a disk allows a store that syncs every commit.
//
// Only loopback targets (127.0.0.1, ::1). Exit 0 when every answer verified and at least one
// came; 1 when none came, or any reply failed verification (load), or the test file could not
// be written (fsync); 2 for a bad option.
#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <memory>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "eap_peer.h"
#include "radius/crypto.h"
#include "radius/dictionary.h"
#include "radius/packet.h"

namespace {

namespace radius = npsd::radius;
using clock_type = std::chrono::steady_clock;
constexpr std::size_t batch = 64;  // datagrams per recvmmsg/sendmmsg

double seconds_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

clock_type::duration to_duration(double seconds) {
  return std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
}

// ---- sockets ---------------------------------------------------------------------------------

class fd_owner {
 public:
  explicit fd_owner(int fd = -1) noexcept : fd_(fd) {}
  fd_owner(fd_owner&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  fd_owner& operator=(fd_owner&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~fd_owner() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

struct endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family() const noexcept { return addr.ss_family; }
};

// 127.0.0.1 or ::1 only: this tool floods what it is pointed at.
std::optional<endpoint> loopback_endpoint(const std::string& host, std::uint16_t port) {
  endpoint e;
  if (host == "127.0.0.1") {
    auto* a = reinterpret_cast<sockaddr_in*>(&e.addr);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &a->sin_addr);
    e.len = sizeof(sockaddr_in);
  } else if (host == "::1") {
    auto* a = reinterpret_cast<sockaddr_in6*>(&e.addr);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_addr = in6addr_loopback;
    e.len = sizeof(sockaddr_in6);
  } else {
    return std::nullopt;
  }
  return e;
}

std::uint16_t port_of(const endpoint& e) {
  return ntohs(e.family() == AF_INET ? reinterpret_cast<const sockaddr_in*>(&e.addr)->sin_port
                                     : reinterpret_cast<const sockaddr_in6*>(&e.addr)->sin6_port);
}

fd_owner udp_socket(int family) {
  fd_owner fd(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw std::runtime_error(fmt::format("socket: {}", std::strerror(errno)));
  const int size = 4 << 20;  // capped by net.core.[rw]mem_max; large bursts of a window fit
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  return fd;
}

// Receive buffers for one recvmmsg call.
struct receive_batch {
  std::array<std::array<std::uint8_t, radius::max_packet_size>, batch> data{};
  std::array<iovec, batch> iov{};
  std::array<mmsghdr, batch> msg{};
  std::array<sockaddr_storage, batch> from{};

  // Returns how many datagrams arrived (0 when none or on an error).
  std::size_t receive(int fd) {
    for (std::size_t i = 0; i < batch; ++i) {
      iov[i] = {data[i].data(), data[i].size()};
      msg[i] = {};
      msg[i].msg_hdr.msg_iov = &iov[i];
      msg[i].msg_hdr.msg_iovlen = 1;
      msg[i].msg_hdr.msg_name = &from[i];
      msg[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    const int n = ::recvmmsg(fd, msg.data(), batch, MSG_DONTWAIT, nullptr);
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  radius::byte_view datagram(std::size_t i) const { return {data[i].data(), msg[i].msg_len}; }
};

// Sends `views` (to `to[i]` when given, else on a connected socket); returns how many went.
std::size_t send_batch(int fd, const std::vector<radius::byte_view>& views,
                       const std::vector<sockaddr_storage>* to = nullptr,
                       const std::vector<socklen_t>* to_len = nullptr) {
  std::size_t done = 0;
  std::array<iovec, batch> iov{};
  std::array<mmsghdr, batch> msg{};
  while (done < views.size()) {
    const std::size_t n = std::min(batch, views.size() - done);
    for (std::size_t i = 0; i < n; ++i) {
      const auto v = views[done + i];
      iov[i] = {const_cast<std::uint8_t*>(v.data()), v.size()};
      msg[i] = {};
      msg[i].msg_hdr.msg_iov = &iov[i];
      msg[i].msg_hdr.msg_iovlen = 1;
      if (to != nullptr) {
        msg[i].msg_hdr.msg_name = const_cast<sockaddr_storage*>(&(*to)[done + i]);
        msg[i].msg_hdr.msg_namelen = (*to_len)[done + i];
      }
    }
    const int sent = ::sendmmsg(fd, msg.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
    if (sent <= 0) break;  // EAGAIN (buffer full) or an error: the caller tries again later
    done += static_cast<std::size_t>(sent);
  }
  return done;
}

// ---- the requests ----------------------------------------------------------------------------

enum class load_mode { acct, pap, status, eap_tls, peap_tls };

bool is_eap(load_mode m) { return m == load_mode::eap_tls || m == load_mode::peap_tls; }

struct load_options {
  load_mode mode = load_mode::acct;
  std::string user = "bench";
  std::string password;
  double rate = 0;  // new requests per second; 0: as fast as the window allows
  endpoint target;
  std::string secret = "testing123";
  std::size_t window = 256;
  std::size_t per_socket = 128;
  double seconds = 10;
  std::uint64_t count = 0;  // new requests; 0: run for `seconds`
  double max_seconds = 600;
  double timeout = 1.0;
  unsigned retries = 2;
  unsigned interims = 2;
  const npsd::peer::peer_context* peer = nullptr;  // eap modes
  bool resume = false;
  double hold = 0;         // > 0: hold conversations at the server's first flight this long
  int server_pid = 0;      // > 0: report its memory
  bool allow_unsigned = false;
};

// One window lane: a NAS port playing sessions back to back.
struct lane {
  std::size_t socket = 0;
  std::uint32_t port = 0;       // NAS-Port
  std::uint64_t session = 0;    // the session being played
  unsigned step = 0;            // 0: Start, 1..interims: Interim-Update, interims+1: Stop
  bool busy = false;            // a request is outstanding
  bool pending_send = false;    // waiting in its socket's send list
  std::uint8_t id = 0;
  unsigned transmissions = 0;
  std::uint64_t send_seq = 0;   // tells a live retransmission deadline from a stale one
  clock_type::time_point first_sent;
  radius::bytes wire;
  radius::authenticator_t authenticator{};
  // eap modes
  std::unique_ptr<npsd::peer::conversation> conv;  // the conversation being played
  npsd::peer::saved_session tls_session;           // --resume: the last one's TLS session
  radius::bytes eap_out;                           // the EAP-Response to send next
  radius::bytes state;                             // the last Access-Challenge's State
  clock_type::time_point conv_started;
  std::uint64_t conversations = 0;                 // started by this lane
  bool held = false;
};

// A standard attribute's number, or one of its VALUEs, from the dictionary.
std::uint8_t number_of(const radius::dictionary& d, std::string_view name) {
  const auto* a = d.find(name);
  if (a == nullptr || a->vendor != 0 || a->parent != nullptr)
    throw std::runtime_error(fmt::format("the dictionary has no standard attribute {}", name));
  return static_cast<std::uint8_t>(a->number);
}
std::uint32_t value_of(const radius::dictionary& d, std::string_view name, std::string_view value) {
  const auto v = d.find(name) != nullptr ? d.find(name)->value_of(value) : std::nullopt;
  if (!v) throw std::runtime_error(fmt::format("the dictionary has no {} {}", name, value));
  return *v;
}

class request_maker {
 public:
  request_maker(const load_options& o, const radius::dictionary& d, std::uint32_t run_prefix)
      : mode_(o.mode), user_(o.user), password_(o.password), secret_(o.secret),
        interims_(o.interims), run_prefix_(run_prefix),
        status_start_(value_of(d, "Acct-Status-Type", "Start")),
        status_stop_(value_of(d, "Acct-Status-Type", "Stop")),
        status_interim_(value_of(d, "Acct-Status-Type", "Interim-Update")),
        port_virtual_(value_of(d, "NAS-Port-Type", "Virtual")),
        framed_user_(value_of(d, "Service-Type", "Framed-User")),
        ppp_(value_of(d, "Framed-Protocol", "PPP")),
        user_request_(value_of(d, "Acct-Terminate-Cause", "User-Request")),
        session_time_(number_of(d, "Acct-Session-Time")),
        input_octets_(number_of(d, "Acct-Input-Octets")),
        output_octets_(number_of(d, "Acct-Output-Octets")),
        input_packets_(number_of(d, "Acct-Input-Packets")),
        output_packets_(number_of(d, "Acct-Output-Packets")),
        terminate_cause_(number_of(d, "Acct-Terminate-Cause")) {}

  radius::bytes make(const lane& l, std::uint8_t id) const {
    if (mode_ != load_mode::acct) return make_access(l, id);
    const std::uint64_t s = l.session;
    const bool start = l.step == 0, stop = l.step == interims_ + 1;
    const std::uint32_t seconds = l.step * 300;  // an interim interval of five minutes
    radius::packet p;
    p.code = radius::code::accounting_request;
    p.identifier = id;
    p.add_uint32(radius::attr::acct_status_type,
                 start ? status_start_ : stop ? status_stop_ : status_interim_);
    p.add(radius::attr::acct_session_id, fmt::format("{:08X}{:08X}", run_prefix_, s));
    p.add(radius::attr::user_name, fmt::format("user{}@example.com", s % 5000));
    const std::array<std::uint8_t, 4> nas{127, 0, 0, 1};
    p.add(radius::attr::nas_ip_address, nas);
    p.add_uint32(radius::attr::nas_port, l.port);
    p.add_uint32(radius::attr::nas_port_type, port_virtual_);  // a VPN
    p.add_uint32(radius::attr::service_type, framed_user_);
    p.add_uint32(radius::attr::framed_protocol, ppp_);
    const std::uint64_t host = s % 0xFFFFFE + 1;  // 10.0.0.1 .. 10.255.255.254
    const std::array<std::uint8_t, 4> framed{10, static_cast<std::uint8_t>(host >> 16),
                                             static_cast<std::uint8_t>(host >> 8),
                                             static_cast<std::uint8_t>(host)};
    p.add(radius::attr::framed_ip_address, framed);
    p.add(radius::attr::calling_station_id, fmt::format("203.0.113.{}", s % 254 + 1));
    p.add(radius::attr::called_station_id, std::string_view("vpn.example.com"));
    p.add(radius::attr::class_, fmt::format("npsd-bench:{:08X}{:08X}", run_prefix_, s));
    p.add_uint32(radius::attr::acct_delay_time, 0);
    p.add_uint32(radius::attr::event_timestamp, static_cast<std::uint32_t>(std::time(nullptr)));
    if (!start) {
      p.add_uint32(session_time_, seconds);
      p.add_uint32(input_octets_, seconds * 1200 + static_cast<std::uint32_t>(s % 997));
      p.add_uint32(output_octets_, seconds * 9000 + static_cast<std::uint32_t>(s % 991));
      p.add_uint32(input_packets_, seconds * 3);
      p.add_uint32(output_packets_, seconds * 7);
    }
    if (stop) p.add_uint32(terminate_cause_, user_request_);
    const std::array<std::uint8_t, 16> zeros{};
    p.add(radius::attr::message_authenticator, zeros);  // filled by sign_request
    auto wire = radius::encode(p);
    if (!wire) throw std::logic_error("radload: an Accounting-Request did not encode");
    radius::sign_request(*wire, secret_);
    return std::move(*wire);
  }

  unsigned last_step() const noexcept { return mode_ == load_mode::acct ? interims_ + 1 : 0; }

 private:
  // Access-Request (PAP) or Status-Server: a random Request Authenticator, the
  // Message-Authenticator first (as BlastRADIUS advice has it), filled by sign_request.
  radius::bytes make_access(const lane& l, std::uint8_t id) const {
    radius::packet p;
    p.code = mode_ == load_mode::status ? radius::code::status_server : radius::code::access_request;
    p.identifier = id;
    p.authenticator = radius::random_authenticator();
    p.attributes.push_back({radius::attr::message_authenticator, radius::bytes(16, 0)});
    if (mode_ == load_mode::pap) {
      p.add(radius::attr::user_name, user_);
      auto hidden = radius::hide_user_password(radius::as_bytes(password_), secret_, p.authenticator);
      if (!hidden) throw std::runtime_error("radload: the password is too long to hide (128 bytes at most)");
      p.add(radius::attr::user_password, *hidden);
      const std::array<std::uint8_t, 4> nas{127, 0, 0, 1};
      p.add(radius::attr::nas_ip_address, nas);
      p.add_uint32(radius::attr::nas_port, l.port);
      p.add_uint32(radius::attr::nas_port_type, port_virtual_);
      p.add_uint32(radius::attr::service_type, framed_user_);
      p.add(radius::attr::calling_station_id, fmt::format("203.0.113.{}", l.port % 254 + 1));
    } else if (is_eap(mode_)) {
      p.add(radius::attr::user_name, user_);
      const std::array<std::uint8_t, 4> nas{127, 0, 0, 1};
      p.add(radius::attr::nas_ip_address, nas);
      p.add_uint32(radius::attr::nas_port, l.port);
      p.add_uint32(radius::attr::nas_port_type, port_virtual_);
      p.add_uint32(radius::attr::service_type, framed_user_);
      // One station per lane: a server's per-station bound on conversations is not the test.
      p.add(radius::attr::calling_station_id,
            fmt::format("198.18.{}.{}", (l.port >> 8) & 0xff, l.port & 0xff));
      const radius::byte_view eap(l.eap_out);
      for (std::size_t off = 0; off < eap.size(); off += 253)
        p.add(radius::attr::eap_message, eap.subspan(off, std::min<std::size_t>(253, eap.size() - off)));
      if (!l.state.empty()) p.add(radius::attr::state, radius::byte_view(l.state));
    }
    auto wire = radius::encode(p);
    if (!wire) throw std::logic_error("radload: a request did not encode");
    radius::sign_request(*wire, secret_);
    return std::move(*wire);
  }

  load_mode mode_;
  std::string user_, password_;
  std::string secret_;
  unsigned interims_;
  std::uint32_t run_prefix_;
  std::uint32_t status_start_, status_stop_, status_interim_, port_virtual_, framed_user_, ppp_,
      user_request_;
  std::uint8_t session_time_, input_octets_, output_octets_, input_packets_, output_packets_,
      terminate_cause_;
};

// ---- the load --------------------------------------------------------------------------------

// A "Vm...:" line of /proc/PID/status, in bytes; 0 when unreadable.
std::uint64_t proc_status_bytes(int pid, std::string_view key) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0) return std::strtoull(line.c_str() + key.size(), nullptr, 10) * 1024;
  return 0;
}

std::atomic<bool> stop_requested{false};
extern "C" void on_stop_signal(int) { stop_requested.store(true); }

// Sleeps `seconds`, or until SIGINT/SIGTERM.
void wait_or_stop(double seconds) {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  const auto end = clock_type::now() + to_duration(seconds);
  while (!stop_requested.load() && clock_type::now() < end) ::poll(nullptr, 0, 20);
}

struct load_result {
  std::uint64_t sent = 0, retransmits = 0, acked = 0, timeouts = 0, bad = 0, unmatched = 0;
  // Replies refused, by why (they are in `bad` too), and Access-Rejects (answers, in `acked`).
  std::uint64_t bad_authenticator = 0, bad_message_authenticator = 0,
                missing_message_authenticator = 0, wrong_code = 0, rejects = 0;
  std::uint64_t sessions = 0;  // Stops acknowledged
  // eap modes: conversations started, Access-Accepts verified (resumed among them), rounds
  // (Access-Challenges) answered, and what went wrong (bad keys are in `bad`; an EAP error is
  // a conversation the peer could not go on with).
  std::uint64_t conversations = 0, accepts = 0, resumed = 0, challenges = 0, bad_mppe_key = 0,
                missing_mppe_key = 0, eap_errors = 0, held = 0, unsigned_replies = 0;
  std::string first_eap_error, first_tls_error;
  std::uint64_t server_rss_before = 0, server_rss_held = 0, server_hwm = 0;
  std::uint64_t acked_in_load = 0;  // within `duration`
  double duration = 0;
  std::vector<std::uint32_t> latency_us;  // every sample, or a uniform reservoir of them
  std::uint64_t latency_samples = 0;
  std::uint32_t max_us = 0;
  std::mt19937_64 rng{42};

  // Algorithm R beyond `reservoir` samples: memory stays bounded on long runs.
  void record_latency(std::uint32_t us) {
    max_us = std::max(max_us, us);
    constexpr std::size_t reservoir = std::size_t{1} << 24;
    if (latency_us.size() < reservoir) {
      latency_us.push_back(us);
    } else if (const auto k = rng() % (latency_samples + 1); k < reservoir) {
      latency_us[k] = us;
    }
    ++latency_samples;
  }

  double rate() const {
    return duration > 0 ? static_cast<double>(acked_in_load) / duration : 0;
  }
  double max_ms() const { return max_us / 1000.0; }
  double percentile_ms(double q) {
    if (latency_us.empty()) return 0;
    const auto k = static_cast<std::size_t>(q * static_cast<double>(latency_us.size() - 1));
    std::nth_element(latency_us.begin(), latency_us.begin() + static_cast<std::ptrdiff_t>(k),
                     latency_us.end());
    return latency_us[k] / 1000.0;
  }
};

class load_generator {
 public:
  load_generator(const load_options& o, const radius::dictionary& d, std::uint32_t run_prefix)
      : o_(o), maker_(o, d, run_prefix), lanes_(o.window) {
    const std::size_t n = (o.window + o.per_socket - 1) / o.per_socket;
    for (std::size_t i = 0; i < n; ++i) {
      socket_state s;
      s.fd = udp_socket(o.target.family());
      if (::connect(s.fd.get(), reinterpret_cast<const sockaddr*>(&o.target.addr),
                    o.target.len) != 0)
        throw std::runtime_error(fmt::format("connect: {}", std::strerror(errno)));
      for (unsigned id = 0; id < 256; ++id) s.free_ids.push_back(static_cast<std::uint8_t>(id));
      s.owner.fill(no_lane);
      sockets_.push_back(std::move(s));
    }
    for (std::size_t i = 0; i < lanes_.size(); ++i) {
      lanes_[i].socket = i % n;
      lanes_[i].port = static_cast<std::uint32_t>(i);
    }
  }

  load_result run() {
    if (o_.server_pid > 0) r_.server_rss_before = proc_status_bytes(o_.server_pid, "VmRSS:");
    start_ = clock_type::now();
    const auto stop_new = start_ + to_duration(o_.count > 0 ? o_.max_seconds : o_.seconds);
    // What is outstanding at stop_new is waited for through every retransmission, and 1 s more.
    const auto hard_stop = stop_new + timeout_ * (o_.retries + 1) + std::chrono::seconds(1);
    last_ack_ = start_;
    for (std::size_t i = 0; i < lanes_.size(); ++i) begin_request(i, start_);
    flush();

    std::vector<pollfd> fds(sockets_.size());
    while (true) {
      const auto now = clock_type::now();
      if (accepting_ && o_.count == 0 && now >= stop_new) {
        r_.duration = seconds_between(start_, now);
        r_.acked_in_load = r_.acked;
      }
      accepting_ = now < stop_new && (o_.count == 0 || units() < o_.count);
      if ((!accepting_ && busy_ == 0) || now >= hard_stop) break;
      if (o_.hold > 0 && busy_ == 0 && paced_.empty()) break;  // every lane holds (or gave up)
      expire(now);
      release_paced(now);
      flush();
      auto wait = std::chrono::milliseconds(o_.rate > 0 && !paced_.empty() ? 1 : 20);
      // Deadlines of requests already answered go first, so that the wait is for a live one
      // (rounded up: a wait of 0 would spin).
      while (!deadlines_.empty() && !live(deadlines_.front())) deadlines_.pop_front();
      if (!deadlines_.empty())
        wait = std::clamp(std::chrono::ceil<std::chrono::milliseconds>(deadlines_.front().at - now),
                          std::chrono::milliseconds(0), wait);
      for (std::size_t i = 0; i < sockets_.size(); ++i) {
        const bool out = !sockets_[i].send_list.empty();
        fds[i] = {sockets_[i].fd.get(), static_cast<short>(POLLIN | (out ? POLLOUT : 0)), 0};
      }
      if (::poll(fds.data(), fds.size(), static_cast<int>(wait.count())) <= 0) continue;
      for (std::size_t i = 0; i < sockets_.size(); ++i)
        if (fds[i].revents & (POLLIN | POLLERR)) receive(i);
      flush();
    }
    if (o_.count > 0 || r_.duration == 0) {  // --count, or stopped by the hard bound
      r_.duration = seconds_between(start_, last_ack_);
      r_.acked_in_load = r_.acked;
    }
    r_.timeouts += busy_;  // still unanswered at the hard stop
    if (o_.hold > 0) {
      r_.duration = seconds_between(start_, last_ack_);
      r_.acked_in_load = r_.acked;
      if (o_.server_pid > 0) r_.server_rss_held = proc_status_bytes(o_.server_pid, "VmRSS:");
      fmt::print(stderr, "radload: holding {} conversations for {} s\n", r_.held, o_.hold);
      wait_or_stop(o_.hold);
    }
    if (o_.server_pid > 0) r_.server_hwm = proc_status_bytes(o_.server_pid, "VmHWM:");
    return std::move(r_);
  }

 private:
  static constexpr std::size_t no_lane = static_cast<std::size_t>(-1);
  struct socket_state {
    fd_owner fd;
    std::deque<std::uint8_t> free_ids;       // FIFO: the longest-rested identifier first
    std::array<std::size_t, 256> owner{};    // identifier -> lane, or no_lane
    std::vector<std::size_t> send_list;      // lanes whose wire waits to be sent
  };
  struct deadline {
    clock_type::time_point at;
    std::size_t lane;
    std::uint64_t seq;
  };

  // The lane's next request (or none, once new requests have stopped).
  // A unit is what --count and --rate count: a request, or (eap modes) a conversation.
  std::uint64_t units() const { return is_eap(o_.mode) ? r_.conversations : r_.sent; }

  void begin_request(std::size_t i, clock_type::time_point now) {
    lane& l = lanes_[i];
    const bool new_unit = !is_eap(o_.mode) || !l.conv;
    // A conversation under way goes on to its end after new ones have stopped.
    if (new_unit) {
      if (!accepting_ || (o_.count > 0 && units() >= o_.count)) return;
      if (o_.hold > 0 && l.conversations > 0) return;  // --hold: one conversation per lane
      if (o_.rate > 0 && static_cast<double>(units()) >= o_.rate * seconds_between(start_, now)) {
        paced_.push_back(i);  // its turn comes with the clock
        return;
      }
    }
    socket_state& s = sockets_[l.socket];
    l.id = s.free_ids.front();
    s.free_ids.pop_front();
    s.owner[l.id] = i;
    if (l.step == 0) l.session = next_session_++;
    if (is_eap(o_.mode) && new_unit) {
      l.conv = std::make_unique<npsd::peer::conversation>(*o_.peer, o_.user,
                                                          o_.resume ? &l.tls_session : nullptr);
      l.eap_out = l.conv->identity_response();
      l.state.clear();
      l.conv_started = now;
      ++l.conversations;
      ++r_.conversations;
    }
    l.wire = maker_.make(l, l.id);
    std::copy_n(l.wire.begin() + 4, 16, l.authenticator.begin());
    l.busy = true;
    l.transmissions = 0;
    l.first_sent = now;
    ++busy_;
    ++r_.sent;
    queue_send(i);
  }

  // Lanes held back by --rate start as the clock allows.
  void release_paced(clock_type::time_point now) {
    while (!paced_.empty() && accepting_ &&
           static_cast<double>(units()) < o_.rate * seconds_between(start_, now)) {
      const std::size_t i = paced_.front();
      paced_.pop_front();
      begin_request(i, now);
    }
  }

  void queue_send(std::size_t i) {
    lane& l = lanes_[i];
    if (l.pending_send) return;
    l.pending_send = true;
    sockets_[l.socket].send_list.push_back(i);
  }

  // Frees the lane's identifier and moves the lane to its session's next step (eap modes: the
  // conversation's next round, or, with `conversation_over`, a new conversation).
  void finish_request(std::size_t i, clock_type::time_point now, bool conversation_over = true) {
    lane& l = lanes_[i];
    socket_state& s = sockets_[l.socket];
    s.owner[l.id] = no_lane;
    s.free_ids.push_back(l.id);
    l.busy = false;
    --busy_;
    l.step = l.step == maker_.last_step() ? 0 : l.step + 1;
    if (conversation_over) l.conv.reset();
    if (l.held) return;
    begin_request(i, now);
  }

  void flush() {
    const auto now = clock_type::now();
    for (auto& s : sockets_) {
      if (s.send_list.empty()) continue;
      views_.clear();
      for (const std::size_t i : s.send_list) views_.push_back(lanes_[i].wire);
      const std::size_t sent = send_batch(s.fd.get(), views_);
      for (std::size_t k = 0; k < sent; ++k) {
        lane& l = lanes_[s.send_list[k]];
        l.pending_send = false;
        if (l.transmissions++ > 0) ++r_.retransmits;
        deadlines_.push_back({now + timeout_, s.send_list[k], ++l.send_seq});
      }
      s.send_list.erase(s.send_list.begin(), s.send_list.begin() + static_cast<std::ptrdiff_t>(sent));
    }
  }

  bool live(const deadline& d) const {
    const lane& l = lanes_[d.lane];
    return l.busy && l.send_seq == d.seq && !l.pending_send;
  }

  // Retransmits (or gives up on) every request whose deadline has passed. Deadlines are pushed
  // in send order with one timeout, so the queue is sorted.
  void expire(clock_type::time_point now) {
    while (!deadlines_.empty() && deadlines_.front().at <= now) {
      const deadline d = deadlines_.front();
      deadlines_.pop_front();
      lane& l = lanes_[d.lane];
      if (!live(d)) continue;  // answered or resent
      if (l.transmissions <= o_.retries) {
        queue_send(d.lane);
      } else {
        ++r_.timeouts;
        finish_request(d.lane, now);
      }
    }
  }

  void receive(std::size_t si) {
    while (true) {
      const std::size_t n = rx_.receive(sockets_[si].fd.get());
      if (n == 0) return;
      const auto now = clock_type::now();
      for (std::size_t k = 0; k < n; ++k) {
        on_response(si, rx_.datagram(k), now);
        // An EAP round costs the peer TLS work: each lane's next request goes out at once
        // rather than after the whole batch, or the lanes fall into lockstep waves and the
        // server idles while the peer works (and the other way round).
        if (is_eap(o_.mode)) flush();
      }
      if (n < batch) return;
    }
  }

  // The reply codes this mode's requests may get.
  bool expected_code(std::uint8_t c) const {
    using radius::code;
    switch (o_.mode) {
      case load_mode::acct: return c == static_cast<std::uint8_t>(code::accounting_response);
      case load_mode::pap:
        return c == static_cast<std::uint8_t>(code::access_accept) ||
               c == static_cast<std::uint8_t>(code::access_reject);
      case load_mode::status:
        return c == static_cast<std::uint8_t>(code::access_accept) ||
               c == static_cast<std::uint8_t>(code::accounting_response);
      case load_mode::eap_tls:
      case load_mode::peap_tls:
        return c == static_cast<std::uint8_t>(code::access_accept) ||
               c == static_cast<std::uint8_t>(code::access_reject) ||
               c == static_cast<std::uint8_t>(code::access_challenge);
    }
    return false;
  }

  void on_response(std::size_t si, radius::byte_view d, clock_type::time_point now) {
    if (d.size() < radius::header_size) {
      ++r_.bad;
      return;
    }
    const std::size_t i = sockets_[si].owner[d[1]];
    if (i == no_lane) {  // a late answer to a request already given up
      ++r_.unmatched;
      return;
    }
    if (!expected_code(d[0])) {
      ++r_.bad;
      ++r_.wrong_code;
      return;
    }
    lane& l = lanes_[i];
    // Access-Accept/Reject must carry a Message-Authenticator (RFC 3579, BlastRADIUS).
    const bool access_reply = d[0] == static_cast<std::uint8_t>(radius::code::access_accept) ||
                              d[0] == static_cast<std::uint8_t>(radius::code::access_reject);
    // RFC 3579 3.3: whatever carries an EAP-Message is signed too (Access-Challenge).
    const bool must_sign = is_eap(o_.mode) || (access_reply && !o_.allow_unsigned);
    switch (radius::verify_response(d, l.authenticator, o_.secret, must_sign)) {
      case radius::verify_result::ok: break;
      case radius::verify_result::missing_message_authenticator:
        ++r_.bad;
        ++r_.missing_message_authenticator;
        return;
      case radius::verify_result::bad_message_authenticator:
        ++r_.bad;
        ++r_.bad_message_authenticator;
        return;
      default:
        ++r_.bad;
        ++r_.bad_authenticator;
        return;
    }
    if (access_reply && !radius::attribute_value_offset(d, radius::attr::message_authenticator))
      ++r_.unsigned_replies;  // only with --allow-unsigned
    if (is_eap(o_.mode)) {
      on_eap_response(si, i, d, now);
      return;
    }
    if (d[0] == static_cast<std::uint8_t>(radius::code::access_reject)) ++r_.rejects;
    ++r_.acked;
    if (l.step == maker_.last_step()) ++r_.sessions;
    r_.record_latency(static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now - l.first_sent).count()));
    last_ack_ = now;
    take_off_send_list(si, i);  // answered while a retransmission waited
    finish_request(i, now);
  }

  void take_off_send_list(std::size_t si, std::size_t i) {
    lane& l = lanes_[i];
    if (!l.pending_send) return;
    auto& list = sockets_[si].send_list;
    list.erase(std::find(list.begin(), list.end(), i));
    l.pending_send = false;
  }

  void eap_error(std::string what) {
    ++r_.eap_errors;
    if (r_.first_eap_error.empty()) r_.first_eap_error = std::move(what);
  }

  // A verified reply in an EAP conversation: the next round, or its end.
  void on_eap_response(std::size_t si, std::size_t i, radius::byte_view d,
                       clock_type::time_point now) {
    lane& l = lanes_[i];
    take_off_send_list(si, i);
    const auto p = radius::decode(d);
    if (!p) {
      ++r_.bad;
      eap_error("a reply that does not decode");
      finish_request(i, now);
      return;
    }
    last_ack_ = now;
    const auto finished = [&] {
      ++r_.acked;
      r_.record_latency(static_cast<std::uint32_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(now - l.conv_started).count()));
    };
    switch (p->code) {
      case radius::code::access_challenge: {
        ++r_.challenges;
        if (const auto* st = p->find(radius::attr::state)) l.state = st->value;
        auto reply = l.conv->on_request(p->concat(radius::attr::eap_message));
        if (!reply.ok) {
          eap_error(std::move(reply.error));
          finish_request(i, now);
          return;
        }
        l.eap_out = std::move(reply.eap);
        if (o_.hold > 0 && l.conv->tls_started()) {  // the server holds its TLS state now
          l.held = true;
          ++r_.held;
        }
        finish_request(i, now, false);
        return;
      }
      case radius::code::access_accept:
        switch (npsd::peer::check_mppe_keys(*p, l.conv->msk(), o_.secret, l.authenticator)) {
          case npsd::peer::mppe_check::match:
            finished();
            ++r_.accepts;
            if (l.conv->resumed()) ++r_.resumed;
            if (o_.resume) l.tls_session = l.conv->take_session();
            break;
          case npsd::peer::mppe_check::missing:
            ++r_.bad;
            ++r_.missing_mppe_key;
            break;
          case npsd::peer::mppe_check::mismatch:
            ++r_.bad;
            ++r_.bad_mppe_key;
            break;
        }
        finish_request(i, now);
        return;
      default:  // Access-Reject (expected_code let nothing else through)
        finished();
        ++r_.rejects;
        if (r_.first_tls_error.empty()) r_.first_tls_error = l.conv->tls_error();
        finish_request(i, now);
        return;
    }
  }

  const load_options& o_;
  const clock_type::duration timeout_ = to_duration(o_.timeout);
  request_maker maker_;
  std::vector<lane> lanes_;
  std::vector<socket_state> sockets_;
  std::deque<deadline> deadlines_;
  std::deque<std::size_t> paced_;  // lanes waiting for --rate
  std::vector<radius::byte_view> views_;
  receive_batch rx_;
  load_result r_;
  clock_type::time_point start_, last_ack_;
  std::uint64_t next_session_ = 0;
  std::size_t busy_ = 0;
  bool accepting_ = true;
};

// ---- echo responder --------------------------------------------------------------------------

// A socket bound to `at` for --echo and --relay, its port announced on stdout as
// {"echo_port": N, "pid": P}, SIGINT/SIGTERM set to stop the loop; nullopt (reported) when
// the address cannot be bound.
std::optional<fd_owner> announced_socket(const endpoint& at) {
  fd_owner fd = udp_socket(at.family());
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&at.addr), at.len) != 0) {
    fmt::print(stderr, "radload: bind: {}\n", std::strerror(errno));
    return std::nullopt;
  }
  endpoint bound;
  bound.len = sizeof bound.addr;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound.addr), &bound.len);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  fmt::print("{{\"echo_port\": {}, \"pid\": {}}}\n", port_of(bound), ::getpid());
  std::fflush(stdout);
  return fd;
}

enum class echo_fault { none, bad_authenticator, bad_message_authenticator, no_message_authenticator };

int run_echo(const endpoint& at, const std::string& secret, double max_seconds, echo_fault fault) {
  auto bound_fd = announced_socket(at);
  if (!bound_fd) return 1;
  fd_owner fd = std::move(*bound_fd);

  const auto end = clock_type::now() + to_duration(max_seconds);
  auto rx = std::make_unique<receive_batch>();
  std::vector<radius::bytes> replies(batch, radius::bytes(radius::header_size));
  std::vector<radius::byte_view> views;
  std::vector<sockaddr_storage> to;
  std::vector<socklen_t> to_len;
  std::uint64_t answered = 0;
  constexpr std::size_t ma_size = 18;  // type, length, 16 octets
  while (!stop_requested.load() && clock_type::now() < end) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const std::size_t n = rx->receive(fd.get());
    views.clear();
    to.clear();
    to_len.clear();
    for (std::size_t k = 0; k < n; ++k) {
      const auto d = rx->datagram(k);
      if (d.size() < radius::header_size) continue;
      const auto code = static_cast<radius::code>(d[0]);
      const bool acct = code == radius::code::accounting_request;
      if (!acct && code != radius::code::access_request && code != radius::code::status_server)
        continue;
      radius::bytes& r = replies[views.size()];
      r.assign(radius::header_size, 0);
      r[0] = static_cast<std::uint8_t>(acct ? radius::code::accounting_response
                                            : radius::code::access_accept);
      r[1] = d[1];
      if (!acct && fault != echo_fault::no_message_authenticator) {
        r.push_back(radius::attr::message_authenticator);
        r.push_back(static_cast<std::uint8_t>(ma_size));
        r.resize(radius::header_size + ma_size, 0);
      }
      r[3] = static_cast<std::uint8_t>(r.size());
      radius::authenticator_t request_auth;
      std::copy_n(d.begin() + 4, 16, request_auth.begin());
      radius::sign_response(r, request_auth, secret);
      if (fault == echo_fault::bad_authenticator) r[4] ^= 0x01;
      if (fault == echo_fault::bad_message_authenticator && r.size() > radius::header_size) {
        // A wrong Message-Authenticator with a Response Authenticator that matches it.
        r[radius::header_size + 2] ^= 0x01;
        const auto auth = radius::md5({radius::byte_view(r).first(4), request_auth,
                                       radius::byte_view(r).subspan(radius::header_size),
                                       radius::as_bytes(secret)});
        std::copy(auth.begin(), auth.end(), r.begin() + 4);
      }
      views.push_back(r);
      to.push_back(rx->from[k]);
      to_len.push_back(rx->msg[k].msg_hdr.msg_namelen);
    }
    answered += send_batch(fd.get(), views, &to, &to_len);
  }
  fmt::print(stderr, "radload: echo answered {} requests\n", answered);
  return 0;
}

// ---- tampering relay ---------------------------------------------------------------------------

// Flips one byte in the ciphertext of the first MS-MPPE-Recv-Key (Microsoft 311, type 17) of an
// encoded reply; false when it has none.
bool spoil_recv_key(radius::bytes& r) {
  std::size_t off = radius::header_size;
  while (off + 2 <= r.size()) {
    const std::size_t len = r[off + 1];
    if (len < 2 || off + len > r.size()) return false;
    // Vendor-Specific: type 26, vendor 311, then the vendor's type and length, salt (2), data.
    if (r[off] == radius::attr::vendor_specific && len >= 6 + 2 + 2 + 16 && r[off + 2] == 0 &&
        r[off + 3] == 0 && r[off + 4] == 0x01 && r[off + 5] == 0x37 && r[off + 6] == 17) {
      r[off + len - 1] ^= 0x5a;  // the last ciphertext block: the key's tail or its padding
      r[off + 6 + 2 + 2] ^= 0x01;  // the first: the key's length byte and head
      return true;
    }
    off += len;
  }
  return false;
}

int run_relay(const endpoint& at, const endpoint& server, const std::string& secret,
              double max_seconds) {
  auto bound_fd = announced_socket(at);
  if (!bound_fd) return 1;
  fd_owner listen = std::move(*bound_fd);

  struct upstream {
    fd_owner fd;
    sockaddr_storage client{};
    socklen_t client_len = 0;
    std::array<radius::authenticator_t, 256> auth{};  // by identifier: the request's
  };
  std::vector<upstream> ups;
  const auto find_upstream = [&](const sockaddr_storage& from, socklen_t len) -> upstream& {
    for (auto& u : ups)
      if (u.client_len == len && std::memcmp(&u.client, &from, len) == 0) return u;
    upstream u;
    u.fd = udp_socket(server.family());
    if (::connect(u.fd.get(), reinterpret_cast<const sockaddr*>(&server.addr), server.len) != 0)
      throw std::runtime_error(fmt::format("connect: {}", std::strerror(errno)));
    u.client = from;
    u.client_len = len;
    ups.push_back(std::move(u));
    return ups.back();
  };
  const auto end = clock_type::now() + to_duration(max_seconds);
  auto rx = std::make_unique<receive_batch>();
  std::uint64_t spoiled = 0;
  std::vector<pollfd> fds;
  while (!stop_requested.load() && clock_type::now() < end) {
    fds.assign(1, pollfd{listen.get(), POLLIN, 0});
    for (const auto& u : ups) fds.push_back({u.fd.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
    if (fds[0].revents & POLLIN) {
      const std::size_t n = rx->receive(listen.get());
      for (std::size_t k = 0; k < n; ++k) {
        const auto d = rx->datagram(k);
        if (d.size() < radius::header_size) continue;
        upstream& u = find_upstream(rx->from[k], rx->msg[k].msg_hdr.msg_namelen);
        std::copy_n(d.begin() + 4, 16, u.auth[d[1]].begin());
        (void)::send(u.fd.get(), d.data(), d.size(), MSG_DONTWAIT);
      }
    }
    for (std::size_t i = 1; i < fds.size(); ++i) {
      if ((fds[i].revents & POLLIN) == 0) continue;
      upstream& u = ups[i - 1];
      const std::size_t n = rx->receive(u.fd.get());
      for (std::size_t k = 0; k < n; ++k) {
        const auto d = rx->datagram(k);
        if (d.size() < radius::header_size) continue;
        radius::bytes r(d.begin(), d.end());
        if (r[0] == static_cast<std::uint8_t>(radius::code::access_accept) && spoil_recv_key(r)) {
          radius::sign_response(r, u.auth[r[1]], secret);
          ++spoiled;
        }
        (void)::sendto(listen.get(), r.data(), r.size(), MSG_DONTWAIT,
                       reinterpret_cast<const sockaddr*>(&u.client), u.client_len);
      }
    }
  }
  fmt::print(stderr, "radload: relay spoiled {} MPPE keys\n", spoiled);
  return 0;
}

// ---- fsync test ------------------------------------------------------------------------------

int run_fsync_test(const std::filesystem::path& dir, double seconds, bool json) {
  std::string path = (dir / "radload-fsync-XXXXXX").string();
  fd_owner fd(::mkstemp(path.data()));
  if (fd.get() < 0) {
    fmt::print(stderr, "radload: cannot create a file in {}: {}\n", dir.string(),
               std::strerror(errno));
    return 1;
  }
  ::unlink(path.c_str());  // the open descriptor keeps it until the end
  std::array<std::uint8_t, 4096> block{};
  radius::random_bytes(block);
  std::uint64_t n = 0;
  const auto start = clock_type::now();
  const auto end = start + to_duration(seconds);
  auto now = start;
  // Rolling over the first 1 MiB, as a write-ahead log does between checkpoints.
  for (; now < end; now = clock_type::now(), ++n) {
    const auto off = static_cast<off_t>((n % 256) * block.size());
    if (::pwrite(fd.get(), block.data(), block.size(), off) != static_cast<ssize_t>(block.size()) ||
        ::fsync(fd.get()) != 0) {
      fmt::print(stderr, "radload: write/fsync failed: {}\n", std::strerror(errno));
      return 1;
    }
  }
  const double t = seconds_between(start, now);
  const double rate = t > 0 ? static_cast<double>(n) / t : 0;
  if (json) {
    nlohmann::ordered_json j{{"fsync_dir", dir.string()}, {"fsyncs", n}, {"seconds", t},
                             {"fsync_per_second", rate}};
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print("fsync {}: {} fsyncs of 4 KiB writes in {:.2f} s = {:.0f} fsync/s\n", dir.string(),
               n, t, rate);
  }
  return 0;
}

std::string_view mode_name(load_mode m) {
  switch (m) {
    case load_mode::acct: return "acct";
    case load_mode::pap: return "pap";
    case load_mode::status: return "status";
    case load_mode::eap_tls: return "eap-tls";
    case load_mode::peap_tls: return "peap-tls";
  }
  return "?";
}

void print_load(load_result& r, const load_options& o, const std::string& host, bool json) {
  const double p50 = r.percentile_ms(0.50), p90 = r.percentile_ms(0.90),
               p99 = r.percentile_ms(0.99), max = r.max_ms();
  const bool eap = is_eap(o.mode);
  const double held_each =
      r.held > 0 && r.server_rss_held > r.server_rss_before
          ? static_cast<double>(r.server_rss_held - r.server_rss_before) / static_cast<double>(r.held)
          : 0;
  if (json) {
    nlohmann::ordered_json j{
        {"mode", mode_name(o.mode)},
        {"target", fmt::format("{}:{}", host, port_of(o.target))}, {"window", o.window},
        {"sent", r.sent},           {"acked", r.acked},        {"timeouts", r.timeouts},
        {"retransmits", r.retransmits}, {"bad_responses", r.bad}, {"unmatched", r.unmatched},
        {"sessions", r.sessions},   {"duration_s", r.duration}, {"acked_in_duration", r.acked_in_load},
        {"acked_per_second", r.rate()},
        {"rejects", r.rejects},     {"bad_authenticator", r.bad_authenticator},
        {"bad_message_authenticator", r.bad_message_authenticator},
        {"missing_message_authenticator", r.missing_message_authenticator},
        {"wrong_code", r.wrong_code}, {"unsigned_replies", r.unsigned_replies},
        {"p50_ms", p50},            {"p90_ms", p90}, {"p99_ms", p99}, {"max_ms", max}};
    if (eap) {
      j["conversations"] = r.conversations;
      j["accepts"] = r.accepts;
      j["resumed"] = r.resumed;
      j["challenges"] = r.challenges;
      j["bad_mppe_key"] = r.bad_mppe_key;
      j["missing_mppe_key"] = r.missing_mppe_key;
      j["eap_errors"] = r.eap_errors;
      if (!r.first_eap_error.empty()) j["first_eap_error"] = r.first_eap_error;
      if (!r.first_tls_error.empty()) j["first_tls_error"] = r.first_tls_error;
      if (o.hold > 0) j["held"] = r.held;
    }
    if (o.server_pid > 0) {
      j["server_rss_before"] = r.server_rss_before;
      if (o.hold > 0) {
        j["server_rss_held"] = r.server_rss_held;
        j["server_bytes_per_held_conversation"] = held_each;
      }
      j["server_peak_rss"] = r.server_hwm;
    }
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print(
        "radload {} {}:{} window {}: sent {} acked {} (rejects {}) timeouts {} retransmits {} "
        "bad {} (authenticator {}, message-authenticator {}, missing message-authenticator {}, "
        "code {}) unmatched {} sessions {}; {} acked in {:.2f} s = {:.0f} acked/s, p50 {:.3f} "
        "ms, p99 {:.3f} ms\n",
        mode_name(o.mode), host, port_of(o.target), o.window, r.sent, r.acked, r.rejects,
        r.timeouts, r.retransmits, r.bad, r.bad_authenticator, r.bad_message_authenticator,
        r.missing_message_authenticator, r.wrong_code, r.unmatched, r.sessions, r.acked_in_load,
        r.duration, r.rate(), p50, p99);
    fmt::print("  latency p50 {:.3f} p90 {:.3f} p99 {:.3f} max {:.3f} ms{}\n", p50, p90, p99, max,
               eap ? " (whole conversations)" : "");
    if (r.unsigned_replies > 0)
      fmt::print("  {} Access-Accept/Reject without Message-Authenticator (allowed)\n",
                 r.unsigned_replies);
    if (eap) {
      fmt::print("  conversations {} accepted {} (resumed {}) challenges {} bad MPPE keys {} "
                 "missing MPPE keys {} EAP errors {}{}\n",
                 r.conversations, r.accepts, r.resumed, r.challenges, r.bad_mppe_key,
                 r.missing_mppe_key, r.eap_errors,
                 r.first_eap_error.empty() ? "" : " (first: " + r.first_eap_error + ")");
      if (!r.first_tls_error.empty())
        fmt::print("  the peer's TLS failed before a Reject: {}\n", r.first_tls_error);
      if (o.hold > 0) fmt::print("  held {} conversations at the server's first flight\n", r.held);
    }
    if (o.server_pid > 0) {
      fmt::print("  server VmRSS before {:.1f} MiB", r.server_rss_before / 1048576.0);
      if (o.hold > 0)
        fmt::print(", holding {:.1f} MiB ({:.1f} KiB per conversation)",
                   r.server_rss_held / 1048576.0, held_each / 1024);
      fmt::print(", peak {:.1f} MiB\n", r.server_hwm / 1048576.0);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"radload: RADIUS load (accounting, PAP, Status-Server, EAP-TLS, PEAP-TLS) with every reply verified, "
               "a trivial echo responder for the loopback limit, and an fsync-per-second test"};
  load_options o;
  std::string host = "127.0.0.1";
  std::uint16_t port = 1813;
  bool json = false, echo = false;
  std::string fsync_dir, dictionary_dir = NPSD_DEFAULT_DICTIONARY_DIR;
  double fsync_seconds = 1.0, echo_seconds = 120;
  std::string mode = "acct", fault = "none";
  app.add_option("--mode", mode,
                 "acct (start/interim/stop sessions), pap, status, eap-tls or peap-tls")
      ->check(CLI::IsMember({"acct", "pap", "status", "eap-tls", "peap-tls"}));
  npsd::peer::peer_options peer;
  std::string tls = "1.2";
  app.add_option("--ca", peer.ca_file, "eap modes: the CA that signed the server's certificate")
      ->check(CLI::ExistingFile);
  app.add_option("--cert", peer.cert_file, "eap modes: the client certificate (PEM, RSA or ECDSA)")
      ->check(CLI::ExistingFile);
  app.add_option("--key", peer.key_file, "eap modes: its private key (PEM)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls", tls, "eap modes: the highest TLS version offered")
      ->check(CLI::IsMember({"1.2", "1.3"}));
  app.add_option("--fragment", peer.fragment_size, "eap modes: TLS bytes per EAP-Response")
      ->check(CLI::Range(64, 4000));
  app.add_flag("--resume", o.resume, "eap modes: resume each lane's last TLS session");
  app.add_option("--hold", o.hold,
                 "eap modes: hold one conversation per lane at the server's first flight, then "
                 "wait this many seconds")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--server-pid", o.server_pid, "report this server process's memory")
      ->check(CLI::PositiveNumber);
  app.add_flag("--allow-unsigned", o.allow_unsigned,
               "accept Access-Accept/Reject without Message-Authenticator (counted)");
  app.add_option("--user", o.user, "pap, eap modes: the User-Name (and EAP identity)");
  app.add_option("--password", o.password, "pap: the password");
  app.add_option("--rate", o.rate, "new requests per second (default: as fast as the window allows)")
      ->check(CLI::Range(0.1, 1e7));
  app.add_option("--fault", fault,
                 "--echo: wrong replies on purpose: bad-authenticator, bad-message-authenticator, "
                 "no-message-authenticator; --relay: wrong-mppe-key")
      ->check(CLI::IsMember({"none", "bad-authenticator", "bad-message-authenticator",
                             "no-message-authenticator", "wrong-mppe-key"}));
  std::uint16_t relay_port = 0;
  app.add_option("--relay", relay_port,
                 "forward to the server on this port, spoiling its replies with --fault "
                 "wrong-mppe-key")
      ->check(CLI::Range(1, 65535));
  app.add_option("--host", host, "target (or, with --echo, the address to listen on)")
      ->check(CLI::IsMember({"127.0.0.1", "::1"}));
  app.add_option("--port", port, "target port (with --echo, 0 picks one)");
  app.add_option("--secret", o.secret, "the shared secret")->check([](const std::string& s) {
    return s.empty() ? std::string("the secret must not be empty") : std::string();
  });
  app.add_option("--window", o.window, "requests outstanding at once")->check(CLI::Range(1, 65536));
  app.add_option("--per-socket", o.per_socket,
                 "requests outstanding on one socket (of its 256 identifiers)")
      ->check(CLI::Range(1, 256));
  auto* secs = app.add_option("--seconds", o.seconds, "send new requests for this long")
                   ->check(CLI::Range(0.01, 3600.0));
  app.add_option("--count", o.count, "or: send this many new requests (bounded by --max-seconds)")
      ->check(CLI::PositiveNumber)->excludes(secs);
  app.add_option("--max-seconds", o.max_seconds, "time bound of --count, and of --echo")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--timeout", o.timeout, "seconds before a retransmission")
      ->check(CLI::Range(0.01, 300.0));
  app.add_option("--retries", o.retries, "retransmissions before giving a request up")
      ->check(CLI::Range(0, 10));
  app.add_option("--interims", o.interims, "Interim-Updates per session")->check(CLI::Range(0, 100));
  app.add_option("--dictionary", dictionary_dir, "the RADIUS dictionary directory")
      ->check(CLI::ExistingDirectory);
  app.add_flag("--json", json, "print one JSON object");
  app.add_flag("--echo", echo, "run the trivial Accounting-Response responder instead");
  app.add_option("--fsync-test", fsync_dir, "measure fsync()s per second in this directory")
      ->check(CLI::ExistingDirectory);
  app.add_option("--fsync-seconds", fsync_seconds, "how long the fsync test runs")
      ->check(CLI::Range(0.05, 60.0));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int r = app.exit(e);
    return r == 0 ? 0 : 2;
  }
  if (app.count("--max-seconds") > 0) echo_seconds = o.max_seconds;

  try {
    if (!fsync_dir.empty()) return run_fsync_test(fsync_dir, fsync_seconds, json);
    const auto at = loopback_endpoint(host, port);
    if (!at) {
      fmt::print(stderr, "radload: only 127.0.0.1 and ::1 are allowed as targets\n");
      return 2;
    }
    if (relay_port != 0) {
      if (fault != "wrong-mppe-key") {
        fmt::print(stderr, "radload: --relay needs --fault wrong-mppe-key\n");
        return 2;
      }
      return run_relay(*at, *loopback_endpoint(host, relay_port), o.secret, echo_seconds);
    }
    if (fault == "wrong-mppe-key") {
      fmt::print(stderr, "radload: --fault wrong-mppe-key is for --relay\n");
      return 2;
    }
    if (echo)
      return run_echo(*at, o.secret, echo_seconds,
                      fault == "bad-authenticator"           ? echo_fault::bad_authenticator
                      : fault == "bad-message-authenticator" ? echo_fault::bad_message_authenticator
                      : fault == "no-message-authenticator"  ? echo_fault::no_message_authenticator
                                                             : echo_fault::none);
    o.mode = mode == "pap"        ? load_mode::pap
             : mode == "status"   ? load_mode::status
             : mode == "eap-tls"  ? load_mode::eap_tls
             : mode == "peap-tls" ? load_mode::peap_tls
                                  : load_mode::acct;
    std::unique_ptr<npsd::peer::peer_context> peer_ctx;
    if (is_eap(o.mode)) {
      if (peer.ca_file.empty() || peer.cert_file.empty() || peer.key_file.empty()) {
        fmt::print(stderr, "radload: --mode {} needs --ca, --cert and --key\n", mode);
        return 2;
      }
      peer.kind = o.mode == load_mode::peap_tls ? npsd::peer::method::peap_tls
                                                : npsd::peer::method::eap_tls;
      peer.max_tls_version = tls == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
      peer_ctx = std::make_unique<npsd::peer::peer_context>(peer);
      o.peer = peer_ctx.get();
    } else if (o.resume || o.hold > 0) {
      fmt::print(stderr, "radload: --resume and --hold are for the eap modes\n");
      return 2;
    }
    if (o.mode == load_mode::pap && o.password.empty()) {
      fmt::print(stderr, "radload: --mode pap needs --password\n");
      return 2;
    }
    if (port == 0) {
      fmt::print(stderr, "radload: --port must name the target's port\n");
      return 2;
    }
    o.target = *at;
    o.per_socket = std::min(o.per_socket, o.window);
    std::uint32_t prefix = 0;
    radius::random_bytes({reinterpret_cast<std::uint8_t*>(&prefix), sizeof prefix});
    const auto dict = radius::dictionary::load_directory(dictionary_dir);
    if (!dict) {
      fmt::print(stderr, "radload: {}\n", dict.error().to_string());
      return 2;
    }
    load_generator gen(o, *dict, prefix);
    auto r = gen.run();
    print_load(r, o, host, json);
    const bool answered = o.hold > 0 ? r.held > 0 : r.acked > 0;
    return answered && r.bad == 0 && r.eap_errors == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "radload: {}\n", e.what());
    return 1;
  }
}
