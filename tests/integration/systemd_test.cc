// npsd under systemd (issue 9): the Type=notify protocol spoken to a fake NOTIFY_SOCKET
// listener (readiness, the watchdog's keep-alives, reload, stop), the unit file checked by
// systemd-analyze verify, and what `cmake --install` puts where.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstdlib>
#include <regex>

#include "harness.h"

using namespace npsd::test;
using namespace std::chrono_literals;

namespace {

// The service manager's end of NOTIFY_SOCKET: a datagram socket collecting the messages.
class notify_listener {
 public:
  explicit notify_listener(const fs::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval tv{0, 100000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~notify_listener() { ::close(fd_); }
  // The messages received within `wait` until one contains `text` (which ends the wait).
  std::vector<std::string> until(const std::string& text, std::chrono::milliseconds wait) {
    std::vector<std::string> got;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      char buf[4096];
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      got.emplace_back(buf, static_cast<std::size_t>(n));
      if (got.back().find(text) != std::string::npos) break;
    }
    return got;
  }

 private:
  fs::path path_;
  int fd_ = -1;
};

std::size_t count_with(const std::vector<std::string>& v, const std::string& text) {
  std::size_t n = 0;
  for (const auto& m : v) n += m.find(text) != std::string::npos ? 1 : 0;
  return n;
}

void write_config(const temp_dir& dir) {
  write_file(dir.path / "users.json", R"({ "schema_version": 1, "users": [] })");
  write_file(dir.path / "npsd.json", R"({
  "schema_version": 1,
  "server": { "listen": [ { "type": "auth", "address": "127.0.0.1", "port": 0 } ],
              "control_socket": "npsd.sock" },
  "log": { "level": "info" },
  "clients": [ { "name": "rras", "address": "127.0.0.1", "secret": "testing123" } ],
  "directory": { "backend": "local", "users_file": "users.json" },
  "network_policies": [ { "name": "VPN", "access": "grant" } ]
})");
  ::chmod((dir.path / "npsd.json").c_str(), 0600);
}

}  // namespace

TEST_CASE("systemd: READY=1 once serving, WATCHDOG=1 every half interval, RELOADING=1 then "
          "READY=1 on SIGHUP and npsctl reload, STOPPING=1 on SIGTERM") {
  temp_dir dir;
  write_config(dir);
  notify_listener manager(dir.path / "notify");
  // Inherited by npsd only: set around its start.
  ::setenv("NOTIFY_SOCKET", (dir.path / "notify").c_str(), 1);
  ::setenv("WATCHDOG_USEC", "200000", 1);  // 0.2 s: a keep-alive every 0.1 s
  std::unique_ptr<npsd_process> npsd;
  try {
    npsd = std::make_unique<npsd_process>(dir.path / "npsd.json", dir.path);
  } catch (...) {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    throw;
  }
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");

  const auto start = manager.until("READY=1", 5000ms);
  REQUIRE(count_with(start, "READY=1") == 1);
  CHECK(count_with(start, "STATUS=serving 1 clients on 1 listeners") == 1);
  // After readiness: the keep-alives, about ten a second.
  const auto pings = manager.until("never sent", 1000ms);
  CHECK(count_with(pings, "WATCHDOG=1") >= 5);
  CHECK(count_with(pings, "READY=1") == 0);

  // A stopped process stops feeding the watchdog (the manager would restart it).
  npsd->signal(SIGSTOP);
  (void)manager.until("never sent", 200ms);  // what was already queued
  const auto frozen = manager.until("never sent", 500ms);
  CHECK(count_with(frozen, "WATCHDOG=1") == 0);
  npsd->signal(SIGCONT);
  CHECK(count_with(manager.until("WATCHDOG=1", 1000ms), "WATCHDOG=1") == 1);

  npsd->signal(SIGHUP);
  auto reload = manager.until("READY=1", 5000ms);
  REQUIRE(count_with(reload, "RELOADING=1") == 1);
  std::string reloading;
  for (const auto& msg : reload)
    if (msg.find("RELOADING=1") != std::string::npos) reloading = msg;
  CHECK(std::regex_search(reloading, std::regex("MONOTONIC_USEC=[0-9]+")));
  CHECK(count_with(reload, "STATUS=serving; configuration reloaded") == 1);

  // npsctl reload takes the same path.
  const auto ok = run(std::string(NPSCTL_BINARY) + " reload --config " +
                      shell_quote((dir.path / "npsd.json").string()) + " 2>&1");
  CHECK_MESSAGE(ok.exit_code == 0, ok.output);
  reload = manager.until("READY=1", 5000ms);
  CHECK(count_with(reload, "RELOADING=1") == 1);
  CHECK(count_with(reload, "STATUS=serving; configuration reloaded") == 1);

  // A refused configuration: the reload ends, READY=1 again, and the status says why.
  write_file(dir.path / "npsd.json", "{ not json");
  npsd->signal(SIGHUP);
  reload = manager.until("READY=1", 5000ms);
  CHECK(count_with(reload, "RELOADING=1") == 1);
  CHECK(count_with(reload, "STATUS=serving; the last reload was refused") == 1);

  CHECK(npsd->alive());
  npsd->signal(SIGTERM);
  CHECK(count_with(manager.until("STOPPING=1", 5000ms), "STOPPING=1") == 1);
  CHECK(npsd->terminate() == 0);
}

TEST_CASE("systemd: without NOTIFY_SOCKET nothing is sent and npsd runs as before") {
  temp_dir dir;
  write_config(dir);
  ::unsetenv("NOTIFY_SOCKET");
  npsd_process npsd(dir.path / "npsd.json", dir.path);
  CHECK(npsd.alive());
  CHECK(npsd.terminate() == 0);
}

TEST_CASE("packaging: the unit file passes systemd-analyze verify; cmake --install puts the "
          "binaries, dictionaries, unit and examples in place") {
  temp_dir dir;
  const fs::path stage = dir.path / "stage";
  const auto install = run("DESTDIR=" + shell_quote(stage.string()) + " cmake --install " +
                           shell_quote(NPSD_BUILD_DIR) + " 2>&1");
  REQUIRE_MESSAGE(install.exit_code == 0, install.output);
  // The prefix the build was configured with (default /usr/local).
  const auto cache = read_file(fs::path(NPSD_BUILD_DIR) / "CMakeCache.txt");
  std::smatch m;
  REQUIRE(std::regex_search(cache, m, std::regex("CMAKE_INSTALL_PREFIX:PATH=([^\n]*)")));
  const std::string configured_prefix = m[1].str();
  const fs::path prefix = stage / fs::path(configured_prefix).relative_path();
  CHECK(fs::exists(prefix / "sbin/npsd"));
  CHECK(fs::exists(prefix / "bin/npsctl"));
  CHECK(fs::exists(prefix / "share/npsd/dictionaries/dictionary"));
  CHECK(fs::exists(prefix / "share/doc/npsd/examples/always-on-vpn/npsd.json"));
  const fs::path unit = prefix / "lib/systemd/system/npsd.service";
  REQUIRE(fs::exists(unit));
  const auto text = read_file(unit);
  for (const char* directive :
       {"Type=notify", "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID", "User=npsd",
        "ProtectSystem=strict", "PrivateTmp=yes", "NoNewPrivileges=yes",
        "CapabilityBoundingSet=\n", "ReadWritePaths=/var/lib/npsd"})
    CHECK_MESSAGE(text.find(directive) != std::string::npos, directive);
  REQUIRE(std::regex_search(text, m, std::regex("\nExecStart=([^ ]+) ")));
  CHECK(m[1].str() == configured_prefix + "/sbin/npsd");

  // systemd-analyze verify wants ExecStart's binary where the unit says: the staged copy.
  auto staged = std::regex_replace(text, std::regex("(Exec[A-Za-z]*=)(" + m[1].str() + ")"),
                                   "$1" + (prefix / "sbin/npsd").string());
  const fs::path verify_dir = dir.path / "units";
  fs::create_directories(verify_dir);
  write_file(verify_dir / "npsd.service", staged);
  const auto verify = run("systemd-analyze verify " + shell_quote((verify_dir / "npsd.service").string()) + " 2>&1");
  CHECK_MESSAGE(verify.exit_code == 0, verify.output);
  CHECK_MESSAGE(verify.output.find("npsd.service") == std::string::npos, verify.output);
}
