// npsctl ping: sends Status-Server (RFC 5997) to npsd, with Message-Authenticator, as the
// RADIUS client the configuration defines for the address it sends from, and checks the signed
// Access-Accept. The container health check and a quick "is it answering?" for an operator.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "npsctl/command.h"
#include "npsctl/config_options.h"
#include "policy/config.h"
#include "policy/ip.h"
#include "radius/crypto.h"
#include "radius/packet.h"

namespace npsd::npsctl {

namespace {

struct ping_options {
  config_options cfg;
  std::string server;  // ADDRESS or ADDRESS:PORT or [IPv6]:PORT; empty: the auth listener
  std::string client;  // the client entry whose secret signs; empty: the one matching us
  double timeout_seconds = 2;
  unsigned attempts = 3;
};

struct endpoint {
  sockaddr_storage address{};
  socklen_t length = 0;
  std::string text;  // "127.0.0.1:1812", "[::1]:1812"
};

std::optional<endpoint> make_endpoint(const std::string& host, std::uint16_t port) {
  endpoint e;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&e.address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&e.address);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    e.length = sizeof(sockaddr_in);
    e.text = fmt::format("{}:{}", host, port);
    return e;
  }
  if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    e.length = sizeof(sockaddr_in6);
    e.text = fmt::format("[{}]:{}", host, port);
    return e;
  }
  return std::nullopt;
}

// --server: "127.0.0.1", "127.0.0.1:1812", "::1", "[::1]:1812"; the port defaults to 1812.
endpoint parse_server(const std::string& text) {
  std::string host = text;
  unsigned long port = 1812;
  const auto bad = [&] {
    bad_input("--server " + text + ": expected an IP address, ADDRESS:PORT or [IPv6]:PORT");
  };
  const auto take_port = [&](const std::string& digits) {
    if (digits.empty() || digits.size() > 5 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      bad();
    port = std::stoul(digits);
    if (port == 0 || port > 65535) bad();
  };
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos) bad();
    host = text.substr(1, close - 1);
    if (close + 1 != text.size()) {
      if (text[close + 1] != ':') bad();
      take_port(text.substr(close + 2));
    }
  } else if (const auto colon = text.find(':');
             colon != std::string::npos && text.find(':', colon + 1) == std::string::npos) {
    host = text.substr(0, colon);
    take_port(text.substr(colon + 1));
  }
  auto e = make_endpoint(host, static_cast<std::uint16_t>(port));
  if (!e) bad();
  return *e;
}

// Without --server: the configuration's first auth listener; a wildcard address is reached on
// the loopback address of its family.
endpoint listener_endpoint(const policy::config& c) {
  for (const auto& l : c.server.listeners) {
    if (l.kind != policy::listener_kind::auth) continue;
    if (l.port == 0)
      bad_input("the configuration's auth listener has port 0 (chosen at start-up): give --server");
    std::string host = l.address;
    if (host == "0.0.0.0") host = "127.0.0.1";
    if (host == "::") host = "::1";
    if (auto e = make_endpoint(host, l.port)) return *e;
    bad_input("the auth listener's address " + l.address + " is not an IP address");
  }
  bad_input("the configuration has no auth listener: give --server");
}

struct socket_fd {
  int fd = -1;
  ~socket_fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string errno_text() { return std::strerror(errno); }

// The client entry whose secret signs the request: --client NAME, else the longest prefix
// holding the address the request leaves from (what npsd itself matches on).
const policy::client_config& pick_client(const policy::config& c, const policy::ip_address& local,
                                         const std::string& wanted) {
  const policy::client_config* best = nullptr;
  for (const auto& cl : c.clients) {
    if (!wanted.empty()) {
      if (cl.name == wanted) best = &cl;
      continue;
    }
    if (cl.address.contains(local) && (best == nullptr || cl.address.length > best->address.length))
      best = &cl;
  }
  if (best == nullptr && !wanted.empty())
    bad_input("the configuration has no RADIUS client named \"" + wanted + "\"");
  if (best == nullptr)
    bad_input("no RADIUS client in the configuration covers " + local.to_string() +
              ", the address this request leaves from: add one, e.g. npsctl client add --name "
              "healthcheck --address " + local.to_string() + " --secret-file healthcheck.secret");
  if (!best->address.contains(local))
    bad_input("RADIUS client \"" + best->name + "\" (" + best->address.to_string() +
              ") does not cover " + local.to_string() + ", the address this request leaves " +
              "from: npsd would drop it as from an unknown client");
  return *best;
}

radius::bytes status_server(std::string_view secret, std::uint8_t id,
                            radius::authenticator_t& authenticator) {
  radius::packet p;
  p.code = radius::code::status_server;
  p.identifier = id;
  p.authenticator = authenticator = radius::random_authenticator();
  // Message-Authenticator first (RFC 5997 requires it; first, as the BlastRADIUS advice has it).
  p.attributes.push_back({radius::attr::message_authenticator, radius::bytes(16, 0)});
  p.add(radius::attr::nas_identifier, std::string_view("npsctl ping"));
  auto wire = radius::encode(p);
  if (!wire) throw command_error(exit_failure, "the Status-Server request did not encode");
  radius::sign_request(*wire, secret);
  return std::move(*wire);
}

void ping(const ping_options& o) {
  const auto loaded = policy::load_config(o.cfg.config_path(), o.cfg.dictionary_dir());
  if (!loaded) bad_input(loaded.error());
  const policy::config& c = **loaded;
  const endpoint server = o.server.empty() ? listener_endpoint(c) : parse_server(o.server);

  socket_fd s{::socket(server.address.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) throw command_error(exit_failure, "cannot open a UDP socket: " + errno_text());
  // connect(): the kernel picks our source address (matched against the clients) and only
  // the server's datagrams reach us.
  if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&server.address), server.length) != 0)
    throw command_error(exit_failure, "cannot reach " + server.text + ": " + errno_text());
  sockaddr_storage local_sa{};
  socklen_t local_len = sizeof local_sa;
  if (::getsockname(s.fd, reinterpret_cast<sockaddr*>(&local_sa), &local_len) != 0)
    throw command_error(exit_failure, "getsockname: " + errno_text());
  std::array<char, INET6_ADDRSTRLEN> buf{};
  const void* raw = local_sa.ss_family == AF_INET
                        ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&local_sa)->sin_addr)
                        : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&local_sa)->sin6_addr);
  ::inet_ntop(local_sa.ss_family, raw, buf.data(), buf.size());
  const auto local = policy::ip_address::parse(buf.data());
  if (!local) throw command_error(exit_failure, "unexpected local address " + std::string(buf.data()));
  const auto& client = pick_client(c, *local, o.client);

  std::array<std::uint8_t, 1> id_byte{};
  radius::random_bytes(id_byte);
  const auto per_attempt = std::chrono::milliseconds(static_cast<long>(o.timeout_seconds * 1000));
  std::string last_problem = "no answer";
  for (unsigned attempt = 1; attempt <= o.attempts; ++attempt) {
    radius::authenticator_t authenticator{};
    const std::uint8_t id = static_cast<std::uint8_t>(id_byte[0] + attempt);
    const auto request = status_server(client.secret, id, authenticator);
    const auto sent_at = std::chrono::steady_clock::now();
    if (::send(s.fd, request.data(), request.size(), 0) < 0) {
      last_problem = "send failed: " + errno_text();
      continue;
    }
    const auto deadline = sent_at + per_attempt;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{s.fd, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) break;
      std::array<std::uint8_t, 4096> reply{};
      const auto n = ::recv(s.fd, reply.data(), reply.size(), 0);
      if (n < 0) {
        // ICMP port unreachable comes back as ECONNREFUSED on a connected socket.
        last_problem = errno == ECONNREFUSED ? "nothing listens there (connection refused)"
                                             : "receive failed: " + errno_text();
        break;
      }
      const radius::byte_view wire(reply.data(), static_cast<std::size_t>(n));
      if (wire.size() < 20 || wire[1] != id) continue;  // not the answer to this request
      const auto v = radius::verify_response(wire, authenticator, client.secret, true);
      if (v != radius::verify_result::ok) {
        last_problem = fmt::format("a reply failed verification ({}): a wrong shared secret "
                                   "for client \"{}\"?",
                                   radius::verify_result_name(v), client.name);
        continue;
      }
      const auto elapsed = std::chrono::duration<double, std::milli>(
          std::chrono::steady_clock::now() - sent_at);
      const auto code = static_cast<radius::code>(wire[0]);
      if (code != radius::code::access_accept) {
        last_problem = fmt::format("answered {} instead of Access-Accept",
                                   radius::code_name(code));
        continue;
      }
      if (o.cfg.json) {
        nlohmann::ordered_json j;
        j["server"] = server.text;
        j["client"] = client.name;
        j["answer"] = "Access-Accept";
        j["attempt"] = attempt;
        j["rtt_ms"] = elapsed.count();
        fmt::print("{}\n", j.dump());
      } else {
        fmt::print("{} answered Status-Server with Access-Accept in {:.1f} ms (as client \"{}\")\n",
                   server.text, elapsed.count(), client.name);
      }
      return;
    }
  }
  throw command_error(exit_failure,
                      fmt::format("{} did not answer Status-Server ({} attempts of {} s): {}",
                                  server.text, o.attempts, o.timeout_seconds, last_problem));
}

}  // namespace

void add_ping_command(CLI::App& app) {
  auto o = std::make_shared<ping_options>();
  auto* cmd = app.add_subcommand(
      "ping",
      "Send Status-Server (with Message-Authenticator) to npsd as the RADIUS client configured "
      "for this host, and check the signed Access-Accept (exit 0 answered, 1 not)");
  add_config_options(cmd, o->cfg);
  cmd->add_option("--server", o->server,
                  "ADDRESS[:PORT] or [IPv6]:PORT (default: the configuration's auth listener; "
                  "0.0.0.0 and :: are reached on loopback)");
  cmd->add_option("--client", o->client,
                  "The RADIUS client (friendly name) whose secret signs the request (default: "
                  "the one covering the address the request leaves from)");
  cmd->add_option("--timeout", o->timeout_seconds, "Seconds to wait for each answer")
      ->check(CLI::Range(0.05, 60.0))
      ->capture_default_str();
  cmd->add_option("--attempts", o->attempts, "How many requests before giving up")
      ->check(CLI::Range(1u, 100u))
      ->capture_default_str();
  cmd->callback([o] { ping(*o); });
}

}  // namespace npsd::npsctl
