#pragma once
// Test harness for integration tests: starts the real npsd on ephemeral loopback ports, runs
// real peers (radclient, radtest), and talks raw UDP where a test needs the bytes themselves.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "ldap/password_hash.h"

#include "radius/crypto.h"
#include "radius/packet.h"

namespace npsd::test {

namespace fs = std::filesystem;

// The binary under test beside npsd, and the shared secret the tests' clients use.
inline const std::string npsctl = NPSCTL_BINARY;
inline const std::string secret = "testing123";

// A user-file password hash; cheap iterations: the tests are about the daemon, not the KDF.
inline std::string fast_hash(const std::string& pw) {
  ldap::hash_params p;
  p.iterations = 1000;
  return *ldap::hash_password(pw, p);
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

inline std::size_t count_occurrences(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1)) ++n;
  return n;
}

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "npsd-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Single-quotes a string for /bin/sh.
// A process's resident memory (VmRSS, from /proc/PID/status) in KiB; 0 when it cannot be read.
inline long rss_kib(long pid) {
  const auto status = read_file("/proc/" + std::to_string(pid) + "/status");
  const auto at = status.find("VmRSS:");
  return at == std::string::npos ? 0 : std::stol(status.substr(at + 6));
}

// A PAP Access-Request signed with `secret`: Message-Authenticator first when asked, then
// User-Name, the hidden User-Password and the Proxy-States given. `auth_out` receives its
// Request Authenticator.
inline radius::bytes pap_request(std::uint8_t id, const std::string& user, const std::string& pw,
                                 const std::string& secret, bool with_message_authenticator,
                                 const std::vector<std::string>& proxy_states,
                                 radius::authenticator_t* auth_out = nullptr) {
  radius::packet p;
  p.identifier = id;
  p.authenticator = radius::random_authenticator();
  if (with_message_authenticator)
    p.attributes.push_back({radius::attr::message_authenticator, radius::bytes(16, 0)});
  p.add(radius::attr::user_name, user);
  p.add(radius::attr::user_password,
        *radius::hide_user_password(radius::as_bytes(pw), secret, p.authenticator));
  for (const auto& ps : proxy_states) p.add(radius::attr::proxy_state, std::string_view(ps));
  auto raw = *radius::encode(p);
  radius::sign_request(raw, secret);
  if (auth_out != nullptr) *auth_out = p.authenticator;
  return raw;
}

// One request line on npsd's control socket; the reply line ("" when none came in 5 s).
inline std::string control_request(const fs::path& socket, const std::string& line) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, socket.c_str(), sizeof a.sun_path - 1);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    ::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    ssize_t n = 0;
    while (out.find('\n') == std::string::npos && (n = ::recv(fd, buf, sizeof buf, 0)) > 0)
      out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

struct command_result {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command, capturing its output. Used for the real peers (radclient, radtest).
inline command_result run(const std::string& cmd) {
  command_result r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The real daemon, started with --ready-file so the test learns its ephemeral ports.
class npsd_process {
 public:
  npsd_process(const fs::path& config, const fs::path& dir)
      : log_(dir / "npsd.log"), stdout_(dir / "npsd.stdout") {
    ready_ = dir / "npsd.ready";
    fs::remove(ready_);
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string exe = NPSD_BINARY;
      FILE* f = std::freopen(log_.c_str(), "w", stderr);
      FILE* o = std::freopen(stdout_.c_str(), "w", stdout);
      (void)f, (void)o;
      ::execl(exe.c_str(), exe.c_str(), "--config", config.c_str(), "--ready-file", ready_.c_str(),
              static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!fs::exists(ready_)) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("npsd exited during start-up:\n" + log());
      }
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("npsd did not become ready:\n" + log());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const auto j = nlohmann::json::parse(read_file(ready_));
    for (const auto& l : j.at("listeners")) {
      if (l.at("type") == "auth" && auth_port == 0) auth_port = l.at("port").get<std::uint16_t>();
      if (l.at("type") == "acct" && acct_port == 0) acct_port = l.at("port").get<std::uint16_t>();
    }
  }
  npsd_process(const npsd_process&) = delete;
  npsd_process& operator=(const npsd_process&) = delete;
  ~npsd_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  void signal(int sig) const { ::kill(pid_, sig); }
  bool alive() const { return pid_ > 0 && ::kill(pid_, 0) == 0 && !exited_now(); }
  // Sends SIGTERM and waits; returns the exit code (-1 when killed by a signal or timed out).
  int terminate(std::chrono::seconds wait = std::chrono::seconds(10)) {
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + wait;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  // Sends `sig` again and again (every 200 us) until npsd has exited, as an impatient operator
  // or a supervisor might: the exit code, or -1 when a signal killed it or `wait` ran out.
  int terminate_repeatedly(int sig, std::chrono::seconds wait = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      ::kill(pid_, sig);
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return -1;
  }
  std::string log() const { return read_file(log_); }  // its standard error
  std::string standard_output() const { return read_file(stdout_); }
  // Waits until the log holds `text` at least `times` times.
  bool wait_for_log(const std::string& text, std::size_t times = 1,
                    std::chrono::milliseconds wait = std::chrono::milliseconds(5000)) const {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      if (count_occurrences(log(), text) >= times) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  const fs::path& ready_file() const { return ready_; }
  pid_t pid() const noexcept { return pid_; }

  std::uint16_t auth_port = 0;
  std::uint16_t acct_port = 0;

 private:
  bool exited_now() const {
    int status = 0;
    return ::waitpid(pid_, &status, WNOHANG) == pid_;
  }
  pid_t pid_ = -1;
  fs::path log_;
  fs::path stdout_;
  fs::path ready_;
};

// The metrics port npsd's ready file names (0 without a "metrics" section), and a scrape of
// it with curl, as Prometheus would.
inline std::uint16_t metrics_port(npsd_process& npsd) {
  const auto ready = nlohmann::json::parse(read_file(npsd.ready_file()));
  return ready.contains("metrics") ? ready.at("metrics").at("port").get<std::uint16_t>() : 0;
}
inline std::string scrape_metrics(std::uint16_t port) {
  const auto r = run("curl -sS --max-time 5 http://127.0.0.1:" + std::to_string(port) + "/metrics");
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  return r.output;
}
// The scrape read by the Prometheus project's own parser (tests/integration/prometheus-check,
// with python3-prometheus-client): its families, each {"type", "samples"}, counters named
// without _total. A scrape it refuses fails the test with the parser's complaint.
inline nlohmann::json prometheus_check(const std::string& text, const fs::path& dir) {
  const auto file = dir / "scrape.txt";
  write_file(file, text);
  const auto r = run(shell_quote(std::string(NPSD_SOURCE_DIR) + "/tests/integration/prometheus-check") +
                     " < " + shell_quote(file.string()));
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  return nlohmann::json::parse(r.output);
}
// The value of the sample `series` (name and labels exactly as exposed), or -1 when absent.
inline double metric_sample(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

// A UDP socket on a loopback address of the test's choosing (127.0.0.0/8 all work on Linux).
class udp_client {
 public:
  explicit udp_client(const char* local = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, local, &a.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("bind failed");
  }
  ~udp_client() { ::close(fd_); }
  udp_client(const udp_client&) = delete;
  udp_client& operator=(const udp_client&) = delete;

  void send(std::uint16_t port, const radius::bytes& data) const {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    ::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  std::optional<radius::bytes> receive(std::chrono::milliseconds wait) const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return std::nullopt;
    radius::bytes buf(65536);
    const auto n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    return buf;
  }

 private:
  int fd_ = -1;
};

}  // namespace npsd::test
