// docker/: what runs without a Docker engine (none runs on the development machines). The
// entrypoint's first start and the image's HEALTHCHECK command (npsctl ping) against the real
// npsd it starts; the install script's runtime package list against the libraries the built
// binaries need; the lab's set-up script; the files compose.yaml and the Dockerfile name.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "harness.h"

using namespace npsd::test;
using namespace std::chrono_literals;

namespace {

fs::path source_root() { return fs::path(NPSD_SOURCE_DIR); }

// A UDP port nobody holds right now on 127.0.0.1 (bound, read, released).
std::uint16_t free_udp_port() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(fd >= 0);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

// The Dockerfile's HEALTHCHECK command (its exec form), each word shell-quoted, with npsctl
// standing for the build tree's.
std::string healthcheck_command() {
  const auto dockerfile = read_file(source_root() / "docker/Dockerfile");
  std::smatch m;
  const std::regex re(R"(HEALTHCHECK[^\n]*\\\n\s*CMD (\[[^\n]*\]))");
  REQUIRE_MESSAGE(std::regex_search(dockerfile, m, re), "no HEALTHCHECK ... CMD [...] in the Dockerfile");
  const auto words = nlohmann::json::parse(m[1].str());
  REQUIRE(words.size() >= 2);
  CHECK(words[0] == "npsctl");
  CHECK(words[1] == "ping");
  std::string cmd = shell_quote(NPSCTL_BINARY);
  for (std::size_t i = 1; i < words.size(); ++i) cmd += " " + shell_quote(words[i].get<std::string>());
  return cmd;
}

// The entrypoint started in the background as the image would run it, its paths under `dir`.
struct entrypoint_run {
  fs::path dir;
  std::string env;
  pid_t pid = -1;

  entrypoint_run(const fs::path& d, std::uint16_t auth, std::uint16_t acct) : dir(d) {
    env = "NPSD_CONFIG=" + shell_quote((d / "etc/npsd.json").string()) +
          " NPSD_STATE_DIR=" + shell_quote((d / "state").string()) +
          " NPSD_BINARY=" + shell_quote(NPSD_BINARY) + " NPSCTL_BINARY=" + shell_quote(NPSCTL_BINARY) +
          " NPSD_LISTEN=127.0.0.1 NPSD_AUTH_PORT=" + std::to_string(auth) +
          " NPSD_ACCT_PORT=" + std::to_string(acct);
  }
  // Starts `entrypoint npsd --ready-file READY` (exec'd: the pid is npsd's once it runs).
  void start() {
    fs::remove(dir / "ready");
    const auto r = run("cd " + shell_quote(dir.string()) + " && (env " + env + " " +
                       shell_quote((source_root() / "docker/entrypoint").string()) +
                       " npsd --ready-file ready >>entrypoint.log 2>&1 & echo $!)");
    pid = std::stoi(r.output);
    for (int i = 0; i < 400 && !fs::exists(dir / "ready"); ++i) std::this_thread::sleep_for(25ms);
    REQUIRE_MESSAGE(fs::exists(dir / "ready"), read_file(dir / "entrypoint.log"));
  }
  int stop() {
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 400; ++i) {
      if (::kill(pid, 0) != 0) return 0;
      std::this_thread::sleep_for(25ms);
    }
    ::kill(pid, SIGKILL);
    return -1;
  }
  ~entrypoint_run() {
    if (pid > 0) ::kill(pid, SIGKILL);
  }
};

}  // namespace

TEST_CASE("docker entrypoint: the first start writes a configuration, npsd serves it, the HEALTHCHECK answers") {
  temp_dir dir;
  const auto auth = free_udp_port();
  const auto acct = free_udp_port();
  entrypoint_run e(dir.path, auth, acct);
  e.start();
  const auto config = dir.path / "etc/npsd.json";
  REQUIRE(fs::exists(config));
  const auto log = read_file(dir.path / "entrypoint.log");
  CHECK(log.find("first start: wrote") != std::string::npos);
  CHECK(log.find(read_file(dir.path / "etc/healthcheck.secret")) == std::string::npos);  // no secret shown
  CHECK((fs::status(dir.path / "etc/healthcheck.secret").permissions() & fs::perms::others_read) ==
        fs::perms::none);
  const auto j = nlohmann::json::parse(read_file(config));
  CHECK(j["server"]["listen"][0]["port"] == auth);
  CHECK(j["accounting"]["database"] == (dir.path / "state/accounting.db").string());
  CHECK(j["clients"][0]["name"] == "healthcheck");
  CHECK(j["clients"][0]["address"] == "127.0.0.1");

  // The image's health check, word for word, with NPSD_CONFIG as the image sets it.
  const std::string health = "NPSD_CONFIG=" + shell_quote(config.string()) + " " + healthcheck_command();
  auto h = run(health + " 2>&1");
  CHECK_MESSAGE(h.exit_code == 0, h.output);
  CHECK(h.output.find("answered Status-Server with Access-Accept") != std::string::npos);

  // Another command runs instead of npsd, with the same configuration.
  const auto other = run("env " + e.env + " " + shell_quote((source_root() / "docker/entrypoint").string()) +
                         " " + shell_quote(NPSCTL_BINARY) + " client list --config " +
                         shell_quote(config.string()) + " 2>&1");
  CHECK_MESSAGE(other.exit_code == 0, other.output);
  CHECK(other.output.find("healthcheck") != std::string::npos);

  CHECK(e.stop() == 0);
  // Without npsd the health check fails, and says why.
  h = run(health + " 2>&1");
  CHECK(h.exit_code == 1);
  CHECK(h.output.find("did not answer Status-Server") != std::string::npos);

  // A second start keeps the configuration byte for byte.
  const auto before = read_file(config);
  e.start();
  CHECK(read_file(config) == before);
  CHECK(run(health).exit_code == 0);
  CHECK(e.stop() == 0);
}

TEST_CASE("docker entrypoint: a configuration directory it cannot write is a clear error") {
  if (::geteuid() == 0) {
    // root writes everywhere: a path under a regular file stands for the unwritable volume
    temp_dir dir;
    write_file(dir.path / "file", "x");
    const auto r = run("NPSD_CONFIG=" + shell_quote((dir.path / "file/npsd.json").string()) +
                       " NPSD_STATE_DIR=" + shell_quote((dir.path / "state").string()) +
                       " NPSCTL_BINARY=" + shell_quote(NPSCTL_BINARY) + " NPSD_BINARY=" +
                       shell_quote(NPSD_BINARY) + " " +
                       shell_quote((source_root() / "docker/entrypoint").string()) + " 2>&1");
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("is not a directory writable by uid") != std::string::npos);
  }
}

TEST_CASE("npsctl ping: a wrong secret, no client for the address, nothing listening") {
  temp_dir dir;
  const auto auth = free_udp_port();
  entrypoint_run e(dir.path, auth, free_udp_port());
  e.start();
  const auto config = dir.path / "etc/npsd.json";
  const std::string ping = shell_quote(NPSCTL_BINARY) + " ping --config " + shell_quote(config.string());
  // npsd keeps its secret; the file's is changed under it
  write_file(dir.path / "etc/healthcheck.secret", "not-the-secret\n");
  auto r = run(ping + " --timeout 0.3 --attempts 1 2>&1");
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("did not answer") != std::string::npos);
  CHECK(r.output.find("not-the-secret") == std::string::npos);
  r = run(ping + " --client nobody 2>&1");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("no RADIUS client named \"nobody\"") != std::string::npos);
  r = run(ping + " --server [::1]:" + std::to_string(auth) + " 2>&1");  // sent from ::1
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("no RADIUS client in the configuration covers ::1") != std::string::npos);
  r = run(ping + " --server not-an-address 2>&1");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("--server not-an-address: expected") != std::string::npos);
  CHECK(e.stop() == 0);
  r = run(ping + " --server 127.0.0.1:" + std::to_string(auth) + " --timeout 0.5 --attempts 1 2>&1");
  CHECK(r.exit_code == 1);
}

TEST_CASE("install-deps --runtime lists the package of every library npsd and npsctl need") {
  const auto list = run(shell_quote((source_root() / "scripts/install-deps").string()) + " --print --runtime");
  REQUIRE(list.exit_code == 0);
  std::set<std::string> runtime;
  std::istringstream in(list.output);
  for (std::string p; std::getline(in, p);) runtime.insert(p);
  std::set<std::string> needed;  // the packages of the libraries the binaries name (DT_NEEDED)
  for (const char* binary : {NPSD_BINARY, NPSCTL_BINARY}) {
    // each NEEDED soname, resolved by ldd to a path, owned by a package (dpkg -S; /lib and
    // /usr/lib are the same directory on Debian 12, dpkg knows one of them)
    const auto r = run("b=" + shell_quote(binary) +
                       "; for so in $(readelf -d \"$b\" | sed -n 's/.*Shared library: \\[\\(.*\\)\\]/\\1/p'); do "
                       "f=$(ldd \"$b\" | awk -v so=\"$so\" '$1 == so {print $3}'); "
                       "dpkg -S \"$f\" 2>/dev/null || dpkg -S \"/usr$f\" 2>/dev/null || dpkg -S \"${f#/usr}\" 2>/dev/null "
                       "|| echo \"unowned: $so $f\"; done");
    REQUIRE(r.exit_code == 0);
    std::istringstream lines(r.output);
    for (std::string line; std::getline(lines, line);) {
      CHECK_MESSAGE(line.rfind("unowned", 0) != 0, line);
      needed.insert(line.substr(0, line.find_first_of(":")));
    }
  }
  REQUIRE(!needed.empty());
  for (const auto& p : needed) {
    if (p == "libc6" || p == "libgcc-s1") continue;  // Essential: in every Debian image
    CHECK_MESSAGE(runtime.count(p) == 1, "npsd needs " << p << ", not in install-deps --runtime");
  }
  for (const auto& p : runtime) {  // and nothing listed for a library nobody needs
    if (p == "tzdata" || p == "ca-certificates") continue;
    CHECK_MESSAGE(needed.count(p) == 1, p << " is listed by install-deps --runtime but no binary needs it");
  }
  // Every mode lists installable package names; the build stage's is part of what scripts/test installs.
  const auto all = run(shell_quote((source_root() / "scripts/install-deps").string()) + " --print").output;
  const auto build = run(shell_quote((source_root() / "scripts/install-deps").string()) + " --print --build-only").output;
  std::istringstream b(build);
  for (std::string p; std::getline(b, p);) CHECK_MESSAGE(all.find(p + "\n") != std::string::npos, p);
  CHECK(run(shell_quote((source_root() / "scripts/install-deps").string()) + " --no-such-mode 2>&1").exit_code == 2);
}

TEST_CASE("docker lab-setup: the PKI, the secrets and a configuration that validates, twice") {
  temp_dir dir;
  const std::string setup = "LAB_ROOT=" + shell_quote(dir.path.string()) + " NPSCTL=" +
                            shell_quote(NPSCTL_BINARY) + " " +
                            shell_quote((source_root() / "docker/lab-setup").string()) + " 2>&1";
  auto r = run(setup);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  const auto config = dir.path / "etc/npsd/npsd.json";
  const auto v = run(shell_quote(NPSCTL_BINARY) + " validate --config " + shell_quote(config.string()) + " 2>&1");
  CHECK_MESSAGE(v.exit_code == 0, v.output);
  const auto j = nlohmann::json::parse(read_file(config));
  CHECK(j["directory"]["ldap"]["servers"][0] == "ldaps://dc1.corp.example.com:636");
  CHECK(j["clients"].size() == 2);  // VPN1 (the client container) and healthcheck
  CHECK(j["clients"][0]["address"] == "172.30.0.30");
  CHECK(j["clients"][1]["name"] == "healthcheck");
  CHECK(fs::exists(dir.path / "lab/pki/dc1.pem"));
  CHECK(fs::exists(dir.path / "lab/secrets/vpn1.secret"));
  const auto text = read_file(config);
  r = run(setup);  // a second `docker compose up`
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  CHECK(read_file(config) == text);
}

TEST_CASE("docker: every file compose.yaml and the Dockerfile name exists in the repository") {
  const auto compose = read_file(source_root() / "docker/compose.yaml");
  const std::regex opt("/opt/npsd/([A-Za-z0-9_./-]+)");
  int n = 0;
  for (std::sregex_iterator it(compose.begin(), compose.end(), opt), end; it != end; ++it, ++n) {
    const auto p = source_root() / (*it)[1].str();
    CHECK_MESSAGE(::access(p.c_str(), X_OK) == 0, p.string() << " (compose.yaml) is not an executable file");
  }
  CHECK(n >= 3);
  const auto dockerfile = read_file(source_root() / "docker/Dockerfile");
  const std::regex copy(R"(\nCOPY (?!--from)(\S+) )");
  n = 0;
  for (std::sregex_iterator it(dockerfile.begin(), dockerfile.end(), copy), end; it != end; ++it, ++n) {
    if ((*it)[1].str() == ".") continue;
    CHECK_MESSAGE(fs::exists(source_root() / (*it)[1].str()), (*it)[1].str() << " (Dockerfile COPY)");
  }
  CHECK(n >= 5);
  for (const char* mode : {"--build-only", "--runtime", "--lab"})
    CHECK_MESSAGE(dockerfile.find(std::string("install-deps ") + mode) != std::string::npos, mode);
  // The build stage's CMake options configure (the build itself is the suite's own).
  temp_dir build;
  const auto r = run("cmake -S " + shell_quote(source_root().string()) + " -B " +
                     shell_quote(build.path.string()) +
                     " -G Ninja -DCMAKE_BUILD_TYPE=Release -DNPSD_TESTS=OFF -DNPSD_BENCH=OFF "
                     "-DCMAKE_INSTALL_PREFIX=/usr 2>&1 && ninja -C " + shell_quote(build.path.string()) +
                     " -t targets all");
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  CHECK(r.output.find("server/npsd:") != std::string::npos);
  CHECK(r.output.find("npsctl/npsctl:") != std::string::npos);
  CHECK(r.output.find("integration_npsd") == std::string::npos);
}
