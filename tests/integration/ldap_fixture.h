#pragma once
// A real slapd for the LDAP directory tests, started by the test in its own temp dir on
// ephemeral loopback ports (ldap:// and ldaps://), with an Active Directory-like schema and tree
// (tests/integration/ldap/ad.schema, corp.ldif) and a test PKI made with the openssl CLI:
//
//   slapd_process slapd;                       // started, data loaded, ready
//   slapd.ldap_url()   -> "ldap://127.0.0.1:PORT"   (StartTLS offered)
//   slapd.ldaps_url()  -> "ldaps://127.0.0.1:PORT2"
//   ldap_test_pki().ca / .other_ca             // the CA that signed slapd's cert / an unrelated CA
//   slapd.stop(); slapd.restart();             // same ports, same data
//   slapd.freeze(); slapd.thaw();              // SIGSTOP / SIGCONT: a server that hangs
//
// Use 127.0.0.1 in URLs, not "localhost": libldap canonicalises "localhost" to the machine's
// host name before checking the certificate, which then fails the host name check.
//
// npsd_on_ldap starts npsd on such a directory (JSON logs, so that tests read its decisions) and
// sends PAP requests with radclient; ldap_settings(slapd) is the "ldap" configuration object.
//
// slapd's output goes to slapd.log in its dir: printed when start-up fails, available through
// log(); set NPSD_TEST_SLAPD_DEBUG (e.g. "stats" or "-1") for more than start, stop and errors.
#include <fcntl.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "harness.h"

namespace npsd::test {

inline constexpr const char* ldap_base_dn = "dc=corp,dc=example,dc=com";
inline constexpr const char* ldap_group_base_dn = "ou=Groups,dc=corp,dc=example,dc=com";
inline constexpr const char* ldap_root_dn = "cn=admin,dc=corp,dc=example,dc=com";
inline constexpr const char* ldap_root_password = "admin-password";
// The service account npsd binds as: it alone may read the tree (anonymous may not).
inline constexpr const char* ldap_service_dn =
    "cn=svc-npsd,ou=Service Accounts,dc=corp,dc=example,dc=com";
inline constexpr const char* ldap_service_password = "svc-npsd-password";

inline fs::path ldap_test_data_dir() {
  return fs::path(NPSD_SOURCE_DIR) / "tests/integration/ldap";
}

// The test PKI, made once per process (openssl CLI, ECDSA P-256, ~0.1 s):
//   ca / ca_key          the test CA that signed server_cert
//   server_cert / _key   CN=localhost, SAN IP:127.0.0.1 and DNS:localhost, serverAuth
//   wrong_name_cert/_key signed by the test CA but for wrong.example.com only (host name check)
//   other_ca             an unrelated CA (the "wrong CA is refused" tests)
struct ldap_pki {
  fs::path dir;
  fs::path ca, ca_key, server_cert, server_key, wrong_name_cert, wrong_name_key, other_ca;
};

inline const ldap_pki& ldap_test_pki() {
  static temp_dir dir;
  static ldap_pki pki;
  static std::once_flag once;
  std::call_once(once, [] {
    const fs::path d = dir.path;
    pki.dir = d;
    pki.ca = d / "ca.pem";
    pki.ca_key = d / "ca.key";
    pki.server_cert = d / "server.pem";
    pki.server_key = d / "server.key";
    pki.wrong_name_cert = d / "wrong-name.pem";
    pki.wrong_name_key = d / "wrong-name.key";
    pki.other_ca = d / "other-ca.pem";
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes ";
    const std::string ca_ext =
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign ";
    write_file(d / "server.ext",
               "basicConstraints=critical,CA:FALSE\n"
               "keyUsage=critical,digitalSignature,keyEncipherment\n"
               "extendedKeyUsage=serverAuth\n"
               "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    write_file(d / "wrong-name.ext",
               "basicConstraints=critical,CA:FALSE\n"
               "keyUsage=critical,digitalSignature,keyEncipherment\n"
               "extendedKeyUsage=serverAuth\n"
               "subjectAltName=DNS:wrong.example.com\n");
    const std::string q = shell_quote(d.string());
    const std::string script =
        "set -e; cd " + q + "; " +
        "openssl req -x509" + ec + "-keyout ca.key -out ca.pem -days 3 -subj '/CN=npsd test CA'" +
        ca_ext + "; " +
        "openssl req -x509" + ec +
        "-keyout other-ca.key -out other-ca.pem -days 3 -subj '/CN=npsd unrelated CA'" + ca_ext +
        "; " +
        "openssl req -new" + ec + "-keyout server.key -out server.csr -subj '/CN=localhost'; " +
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out server.pem -days 3 -extfile server.ext; " +
        "openssl req -new" + ec +
        "-keyout wrong-name.key -out wrong-name.csr -subj '/CN=wrong.example.com'; " +
        "openssl x509 -req -in wrong-name.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out wrong-name.pem -days 3 -extfile wrong-name.ext";
    const auto r = run("(" + script + ")");  // openssl's chatter captured, not printed
    if (r.exit_code != 0) throw std::runtime_error("making the test PKI failed:\n" + r.output);
  });
  return pki;
}

struct slapd_options {
  // LDIF files loaded with ldapadd (as the rootdn) after start-up, in order.
  std::vector<fs::path> ldif = {ldap_test_data_dir() / "corp.ldif"};
  // Serve a certificate whose names do not include 127.0.0.1 (signed by the test CA).
  bool wrong_name_certificate = false;
  // "memberof": the memberof overlay (direct groups in memberOf, as the issue asks).
  // "dynlist-nested": the dynlist overlay filling memberOf with every group, nested ones
  // included, in one read (as AD's tokenGroups would): for the single-search benchmark figure.
  std::string member_of = "memberof";
  // slapd's -d level: "none" keeps it in the foreground and prints only what no level
  // covers (start, stop, errors such as a port in use), not every operation.
  // NPSD_TEST_SLAPD_DEBUG overrides (e.g. "stats", "-1").
  std::string debug = "none";
};

class slapd_process {
 public:
  explicit slapd_process(slapd_options options = {}) : options_(std::move(options)) {
    if (const char* d = std::getenv("NPSD_TEST_SLAPD_DEBUG"); d != nullptr && *d != '\0')
      options_.debug = d;
    const auto& pki = ldap_test_pki();
    fs::create_directories(dir_.path / "db");
    write_config(pki);
    // A port picked by binding port 0 may be taken again before slapd binds it: try afresh.
    std::string last_error;
    for (int attempt = 0; attempt < 5; ++attempt) {
      ldap_port_ = free_tcp_port();
      ldaps_port_ = free_tcp_port();
      if (ldaps_port_ == ldap_port_) continue;
      if (launch(last_error)) break;
      if (last_error.find("errno=98") == std::string::npos &&
          last_error.find("Address already in use") == std::string::npos)
        throw std::runtime_error("slapd did not start:\n" + last_error);
    }
    if (pid_ <= 0) throw std::runtime_error("slapd did not start:\n" + last_error);
    for (const auto& f : options_.ldif) load_ldif(f);
  }
  ~slapd_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGCONT);
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  slapd_process(const slapd_process&) = delete;
  slapd_process& operator=(const slapd_process&) = delete;

  std::uint16_t ldap_port() const { return ldap_port_; }
  std::uint16_t ldaps_port() const { return ldaps_port_; }
  std::string ldap_url() const { return "ldap://127.0.0.1:" + std::to_string(ldap_port_); }
  std::string ldaps_url() const { return "ldaps://127.0.0.1:" + std::to_string(ldaps_port_); }
  const fs::path& dir() const { return dir_.path; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  std::string log() const { return read_file(dir_.path / "slapd.log"); }

  // SIGTERM and wait for the exit (slapd closes its database cleanly).
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGTERM);
    reap(std::chrono::seconds(10));
  }
  // SIGKILL: a crash.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    reap(std::chrono::seconds(10));
  }
  // SIGSTOP: the server accepts TCP connections (the kernel does) but never answers.
  void freeze() const { ::kill(pid_, SIGSTOP); }
  void thaw() const { ::kill(pid_, SIGCONT); }
  // Starts again on the same ports with the same database (stopping it first if running).
  void restart() {
    stop();
    std::string error;
    if (!launch(error)) throw std::runtime_error("slapd did not restart:\n" + error);
  }

  // ldapsearch as the service account over ldap://; `args` are appended verbatim (filter, attrs).
  command_result search(const std::string& args) const {
    return run("ldapsearch -LLL -x -o ldif-wrap=no -H " + ldap_url() + " -D " +
               shell_quote(ldap_service_dn) + " -w " + shell_quote(ldap_service_password) +
               " -b " + shell_quote(ldap_base_dn) + " " + args);
  }
  // ldapmodify -a as the rootdn with LDIF text (adds, or changetype: records).
  command_result modify(const std::string& ldif) const {
    const fs::path f = dir_.path / ("change-" + std::to_string(++changes_) + ".ldif");
    write_file(f, ldif);
    return run("ldapmodify -a -x -H " + ldap_url() + " -D " + shell_quote(ldap_root_dn) +
               " -w " + shell_quote(ldap_root_password) + " -f " + shell_quote(f.string()));
  }
  void load_ldif(const fs::path& file) const {
    const auto r = run("ldapmodify -a -x -H " + ldap_url() + " -D " + shell_quote(ldap_root_dn) +
                       " -w " + shell_quote(ldap_root_password) + " -f " +
                       shell_quote(file.string()));
    if (r.exit_code != 0)
      throw std::runtime_error("loading " + file.string() + " failed:\n" + r.output +
                               "\nslapd:\n" + log());
  }

 private:
  static std::uint16_t free_tcp_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      if (fd >= 0) ::close(fd);
      throw std::runtime_error("no free TCP port");
    }
    ::close(fd);
    return ntohs(a.sin_port);
  }

  static bool tcp_connects(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
  }

  void write_config(const ldap_pki& pki) const {
    const fs::path d = dir_.path;
    const bool wrong = options_.wrong_name_certificate;
    std::string overlay;
    if (options_.member_of == "memberof") {
      overlay =
          "moduleload memberof\n";
    } else if (options_.member_of == "dynlist-nested") {
      overlay = "moduleload dynlist\n";
    } else {
      throw std::runtime_error("slapd_options::member_of: unknown " + options_.member_of);
    }
    std::string db_overlay =
        options_.member_of == "memberof"
            ? "overlay memberof\n"
              "memberof-group-oc group\n"
              "memberof-member-ad member\n"
              "memberof-memberof-ad memberOf\n"
              "memberof-refint TRUE\n"
            // memberOf filled at read time with every group, nested ones included (the '*')
            : "overlay dynlist\n"
              "dynlist-attrset groupOfURLs memberURL member+memberOf@group*\n";
    std::string schema =
        "include /etc/ldap/schema/core.schema\n"
        "include /etc/ldap/schema/cosine.schema\n"
        "include /etc/ldap/schema/inetorgperson.schema\n";
    if (options_.member_of == "dynlist-nested")
      schema += "include /etc/ldap/schema/dyngroup.schema\n";
    schema += "include " + (ldap_test_data_dir() / "ad.schema").string() + "\n";
    write_file(
        d / "slapd.conf",
        schema +
            "modulepath /usr/lib/ldap\n"
            "moduleload back_mdb\n" +
            overlay +
            "pidfile " + (d / "slapd.pid").string() + "\n"
            "TLSCACertificateFile " + pki.ca.string() + "\n"
            "TLSCertificateFile " + (wrong ? pki.wrong_name_cert : pki.server_cert).string() + "\n"
            "TLSCertificateKeyFile " + (wrong ? pki.wrong_name_key : pki.server_key).string() + "\n"
            // the root DSE for the readiness probe; passwords only for binds; the rest for
            // the service account (and each entry for itself): anonymous reads nothing
            "access to dn.base=\"\" by * read\n"
            "access to dn.base=\"cn=Subschema\" by * read\n"
            "access to attrs=userPassword by self =xw by anonymous auth by * none\n"
            "access to * by dn.exact=\"" + ldap_service_dn + "\" read by self read by * none\n"
            "database mdb\n"
            "suffix \"" + ldap_base_dn + "\"\n"
            "rootdn \"" + ldap_root_dn + "\"\n"
            "rootpw " + ldap_root_password + "\n"
            "directory " + (d / "db").string() + "\n"
            "maxsize 67108864\n"
            "dbnosync\n"
            "index objectClass eq\n"
            "index sAMAccountName,userPrincipalName,servicePrincipalName,uid,mail eq\n"
            "index member eq\n" +
            db_overlay);
  }

  // Starts slapd and waits until it answers an LDAP search; false (with slapd's output in
  // `error`) when it exits or does not answer.
  bool launch(std::string& error) {
    const fs::path log = dir_.path / "slapd.log";
    const std::string urls = ldap_url() + "/ " + ldaps_url() + "/";
    const std::string conf = (dir_.path / "slapd.conf").string();
    pid_ = ::fork();
    if (pid_ < 0) {
      error = "fork failed";
      return false;
    }
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // no stray slapd if the test process dies
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::close(fd);
      }
      ::execl("/usr/sbin/slapd", "slapd", "-d", options_.debug.c_str(), "-f", conf.c_str(), "-h",
              urls.c_str(), static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    bool listening = false;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        error = "slapd exited (status " + std::to_string(status) + "):\n" + read_file(log);
        return false;
      }
      if (!listening) listening = tcp_connects(ldap_port_) && tcp_connects(ldaps_port_);
      if (listening) {
        const auto r = run("ldapsearch -x -o nettimeout=2 -H " + ldap_url() +
                           " -b '' -s base namingContexts");
        if (r.exit_code == 0) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(listening ? 20 : 5));
    }
    error = "slapd did not answer within 10 s:\n" + read_file(log);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return false;
  }

  void reap(std::chrono::seconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  slapd_options options_;
  temp_dir dir_;
  pid_t pid_ = -1;
  std::uint16_t ldap_port_ = 0;
  std::uint16_t ldaps_port_ = 0;
  mutable int changes_ = 0;
};

// ---- npsd on the fixture ----------------------------------------------------------------------

// The "ldap" object of npsd's directory section for `slapd`, over ldaps:// with the test CA,
// bound as the service account, nested groups by following memberOf (slapd has no in-chain
// rule), short timeouts and no account cache so that every request asks the directory. Tests
// change it with merge_patch.
inline nlohmann::json ldap_settings(const slapd_process& slapd) {
  return {{"servers", {slapd.ldaps_url()}},
          {"ca_file", ldap_test_pki().ca.string()},
          {"bind_dn", ldap_service_dn},
          {"bind_password", ldap_service_password},
          {"base_dn", ldap_base_dn},
          {"group_base_dn", ldap_group_base_dn},
          {"profile", "active-directory"},
          {"nested_groups", "member_of"},
          {"pool_size", 2},
          {"timeout_ms", 500},
          {"retry_after_seconds", 1},
          {"cache", {{"ttl_seconds", 0}, {"negative_ttl_seconds", 0}}}};
}

// One "decision" line of npsd's JSON log.
struct decision {
  std::string user;
  std::string result;  // Access-Accept, Access-Reject, discarded
  int reason = -1;     // absent for "discarded"
  std::string reason_text;
  std::string np;      // the network policy, if one matched
  nlohmann::json line;
};

struct radius_answer {
  std::string code;    // "Access-Accept", "Access-Reject", or "" when no reply came
  std::string output;  // radclient's
  decision d;          // npsd's decision about it (result "discarded" when it sent nothing)
};

// npsd started on an LDAP directory: the configuration is written from `ldap` (the directory's
// "ldap" object) and `network_policies`; logs are JSON at debug level so that a test can read
// the decisions and the back end's own lines.
class npsd_on_ldap {
 public:
  static constexpr const char* secret = "testing123";

  npsd_on_ldap(const nlohmann::json& ldap, const nlohmann::json& network_policies,
               const nlohmann::json& patch = nlohmann::json::object())
      : config_(dir_.path / "npsd.json") {
    nlohmann::json cfg = {
        {"schema_version", 1},
        {"server",
         {{"threads", 2},
          {"listen", {{{"type", "auth"}, {"address", "127.0.0.1"}, {"port", 0}}}}}},
        {"log", {{"format", "json"}, {"level", "debug"}}},
        {"clients", {{{"name", "rras1"}, {"address", "127.0.0.1"}, {"secret", secret}}}},
        {"directory", {{"backend", "ldap"}, {"ldap", ldap}}},
        {"network_policies", network_policies}};
    cfg.merge_patch(patch);
    write_file(config_, cfg.dump(2));
    ::chmod(config_.c_str(), 0600);
    npsd_ = std::make_unique<npsd_process>(config_, dir_.path);
  }

  npsd_process& process() { return *npsd_; }
  const fs::path& config() const { return config_; }
  const fs::path& dir() const { return dir_.path; }
  std::string log() const { return npsd_->log(); }

  // An Access-Request from radclient with PAP; `attrs` are extra "Name = value" lines.
  // `wait_s` is radclient's timeout (one retry).
  radius_answer auth(const std::string& user, const std::string& password,
                     const std::vector<std::string>& attrs = {"NAS-Port-Type = Virtual"},
                     int wait_s = 1) {
    std::string req = "User-Name = \"" + escape(user) + "\"\nUser-Password = \"" +
                      escape(password) + "\"\nMessage-Authenticator = 0x00\n";
    for (const auto& a : attrs) req += a + "\n";
    const fs::path f = dir_.path / ("request-" + std::to_string(++requests_));
    write_file(f, req);
    const auto before = decisions().size();
    radius_answer a;
    a.output = run("radclient -x -t " + std::to_string(wait_s) + " -r 1 -f " +
                   shell_quote(f.string()) + " 127.0.0.1:" + std::to_string(npsd_->auth_port) +
                   " auth " + secret)
                   .output;
    if (a.output.find("Received Access-Accept") != std::string::npos)
      a.code = "Access-Accept";
    else if (a.output.find("Received Access-Reject") != std::string::npos)
      a.code = "Access-Reject";
    // the decision line follows the reply closely (and a discard has no reply to wait for)
    a.d = wait_decision(before + 1, std::chrono::milliseconds(3000));
    return a;
  }

  // Every "decision" line logged so far.
  std::vector<decision> decisions() const {
    std::vector<decision> out;
    std::istringstream in(log());
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line.front() != '{') continue;
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || j.value("msg", "") != "decision") continue;
      decision d;
      d.user = j.value("user", "");
      d.result = j.value("result", "");
      d.reason = j.value("reason", -1);
      d.reason_text = j.value("reason_text", "");
      d.np = j.value("np", "");
      d.line = std::move(j);
      out.push_back(std::move(d));
    }
    return out;
  }
  // Waits for the n-th decision (1-based) and returns it (an empty one after `wait`).
  decision wait_decision(std::size_t n,
                         std::chrono::milliseconds wait = std::chrono::milliseconds(5000)) const {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      auto all = decisions();
      if (all.size() >= n) return all[n - 1];
      if (std::chrono::steady_clock::now() > deadline) return {};
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  bool wait_for_log_msg(const std::string& msg,
                         std::chrono::milliseconds wait = std::chrono::milliseconds(5000)) const {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (log_lines(msg).empty()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }
  // Lines of the JSON log whose "msg" is `msg`.
  std::vector<nlohmann::json> log_lines(const std::string& msg) const {
    std::vector<nlohmann::json> out;
    std::istringstream in(log());
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line.front() != '{') continue;
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.value("msg", "") == msg) out.push_back(std::move(j));
    }
    return out;
  }

  // npsctl with this configuration, e.g. ctl("directory test alice"): stdout and stderr.
  command_result ctl(const std::string& args) const {
    return run(std::string(NPSCTL_BINARY) + " " + args + " --config " +
               shell_quote(config_.string()));
  }
  // The same with --json, stdout only (the back end's warnings go to stderr), parsed.
  std::pair<int, nlohmann::json> ctl_json(const std::string& args) const {
    const auto r = run("(" + std::string(NPSCTL_BINARY) + " " + args + " --json --config " +
                       shell_quote(config_.string()) + " 2>/dev/null)");
    auto j = nlohmann::json::parse(r.output, nullptr, false);
    if (j.is_discarded()) j = {{"unparsed_output", r.output}};
    return {r.exit_code, std::move(j)};
  }

 private:
  // For a value between double quotes in radclient's input.
  static std::string escape(const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '\\' || c == '"') out += '\\';
      out += c;
    }
    return out;
  }

  temp_dir dir_;
  fs::path config_;
  std::unique_ptr<npsd_process> npsd_;
  int requests_ = 0;
};

}  // namespace npsd::test
