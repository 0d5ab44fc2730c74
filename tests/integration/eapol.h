#pragma once
// EAP peers for the integration tests: eapol_test (wpa_supplicant's RADIUS test client, Debian
// package eapoltest) driven against the real npsd, and the test PKI made by scripts/make-pki.
//
//   eapol_options o;
//   o.identity = "alice@corp.example.com";
//   o.ca_cert = (test_pki() / "ca.pem").string();
//   o.client_cert = (test_pki() / "alice.pem").string();
//   o.private_key = (test_pki() / "alice.key").string();
//   o.tls = "1.3";
//   const auto r = run_eapol_test(o, dir.path, npsd.auth_port, "testing123");
//   CHECK_MESSAGE(r.success, r.output);
//
// What eapol_test v2.10 prints, and what is parsed from it:
//   "SUCCESS" / "FAILURE"                     last line: the overall verdict
//   "MPPE keys OK: 1  mismatch: 0"            one count per authentication (1 + reauths)
//   "Received RADIUS message" followed by "RADIUS message: code=2 (Access-Accept) ..." and,
//     when eapol_test accepted the packet (authenticator and Message-Authenticator right),
//     "RADIUS packet matching with station". Packets it dropped are not counted.
// Its exit status: 0 success, 252 MPPE mismatch (also after most rejects), 253 Access-Reject,
// 254 timed out, 1 no keys; use the parsed fields rather than exit_code.
//
// TLS versions: wpa_supplicant 2.10 disables TLS 1.3 by default for EAP-TLS and PEAP, so
// tls = "any" (no flags) negotiates at most TLS 1.2; "1.3" enables it explicitly.
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "harness.h"

namespace npsd::test {

struct eapol_options {
  std::string eap = "TLS";  // or "PEAP"
  std::string identity;
  std::string anonymous_identity;
  std::string ca_cert;
  std::string client_cert;
  std::string private_key;
  std::string phase1;  // extra phase1 text; the flags below are appended to it
  std::string phase2;  // PEAP: defaults to "auth=TLS" with client_cert2, else "auth=MSCHAPV2"
                       // with a password
  std::string ca_cert2, client_cert2, private_key2;  // inner EAP-TLS credentials (PEAP)
  std::string password;
  int fragment_size = 0;     // 0: eapol_test's default (1398)
  std::string tls = "any";   // "1.2", "1.3" or "any": sets the tls_disable_* flags in phase1
  bool session_resumption = false;  // tls_disable_session_ticket=0
  std::vector<std::string> attributes;  // -N args like "61:d:5"
  int reauth = 0;                       // -r N: N re-authentications after the first
  int timeout_seconds = 10;             // -t T: for the whole run
};

struct eapol_result {
  int exit_code = -1;
  std::string output;
  bool success = false;   // eapol_test printed SUCCESS
  int mppe_ok = 0;        // "MPPE keys OK: N  mismatch: M"
  int mppe_mismatch = 0;
  bool access_reject = false;  // an Access-Reject was received and accepted by eapol_test
  bool access_accept = false;
  int accepts = 0;      // Access-Accepts received and accepted by eapol_test
  int rejects = 0;      // likewise Access-Rejects
  int challenges = 0;   // likewise Access-Challenges
  bool timed_out = false;  // "EAPOL test timed out"
};

namespace eapol_detail {

// A quoted wpa_supplicant configuration string: it has no escapes, so refuse what it cannot hold.
inline std::string config_string(const std::string& field, const std::string& value) {
  if (value.find_first_of("\"\n\r") != std::string::npos)
    throw std::invalid_argument("eapol_config: " + field + " holds a quote or a newline");
  return "\t" + field + "=\"" + value + "\"\n";
}

inline void append_word(std::string& text, const std::string& word) {
  if (word.empty()) return;
  if (!text.empty()) text += ' ';
  text += word;
}

inline std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

}  // namespace eapol_detail

// The phase1 flags for a TLS version choice ("" for "any").
inline std::string eapol_tls_flags(const std::string& tls) {
  if (tls == "1.2")
    return "tls_disable_tlsv1_0=1 tls_disable_tlsv1_1=1 tls_disable_tlsv1_2=0 tls_disable_tlsv1_3=1";
  if (tls == "1.3")
    return "tls_disable_tlsv1_0=1 tls_disable_tlsv1_1=1 tls_disable_tlsv1_2=1 tls_disable_tlsv1_3=0";
  if (tls == "any" || tls.empty()) return "";
  throw std::invalid_argument("eapol_options.tls must be \"1.2\", \"1.3\" or \"any\", not \"" + tls +
                              "\"");
}

// A wpa_supplicant configuration with one network block for eapol_test.
inline std::string eapol_config(const eapol_options& o) {
  using eapol_detail::config_string;
  if (o.eap != "TLS" && o.eap != "PEAP")
    throw std::invalid_argument("eapol_options.eap must be \"TLS\" or \"PEAP\", not \"" + o.eap + "\"");
  const bool peap = o.eap == "PEAP";

  std::string phase1 = o.phase1;
  if (peap && phase1.find("peapver=") == std::string::npos)
    eapol_detail::append_word(phase1, "peapver=0");
  eapol_detail::append_word(phase1, eapol_tls_flags(o.tls));
  if (o.session_resumption) eapol_detail::append_word(phase1, "tls_disable_session_ticket=0");

  std::string phase2 = o.phase2;
  if (peap && phase2.empty()) {
    if (!o.client_cert2.empty())
      phase2 = "auth=TLS";
    else if (!o.password.empty())
      phase2 = "auth=MSCHAPV2";
  }

  std::string c = "network={\n\tkey_mgmt=WPA-EAP\n\teap=" + o.eap + "\n";
  auto field = [&c](const char* name, const std::string& value) {
    if (!value.empty()) c += config_string(name, value);
  };
  field("identity", o.identity);
  field("anonymous_identity", o.anonymous_identity);
  field("ca_cert", o.ca_cert);
  field("client_cert", o.client_cert);
  field("private_key", o.private_key);
  field("phase1", phase1);
  field("phase2", phase2);
  field("ca_cert2", o.ca_cert2);
  field("client_cert2", o.client_cert2);
  field("private_key2", o.private_key2);
  field("password", o.password);
  if (o.fragment_size > 0) c += "\tfragment_size=" + std::to_string(o.fragment_size) + "\n";
  c += "\teapol_flags=0\n}\n";
  return c;
}

// Parses eapol_test's output into r (exit_code and output already set).
inline void parse_eapol_output(eapol_result& r) {
  const auto ls = eapol_detail::lines(r.output);
  // A received packet's lines run from "Received RADIUS message" to the next packet sent or
  // received; eapol_test processed it only if "RADIUS packet matching with station" is among them.
  int code = 0;
  bool in_received = false;
  auto close_packet = [&](bool matched) {
    if (in_received && matched) {
      if (code == 2) ++r.accepts;
      if (code == 3) ++r.rejects;
      if (code == 11) ++r.challenges;
    }
    in_received = false;
    code = 0;
  };
  for (const auto line : ls) {
    if (line == "Received RADIUS message") {
      close_packet(false);
      in_received = true;
    } else if (line.starts_with("Sending RADIUS message")) {
      close_packet(false);
    } else if (in_received && code == 0 && line.starts_with("RADIUS message: code=")) {
      code = std::atoi(std::string(line.substr(21)).c_str());
    } else if (in_received && line == "RADIUS packet matching with station") {
      close_packet(true);
    } else if (line == "SUCCESS") {
      r.success = true;
    } else if (line == "FAILURE") {
      r.success = false;
    } else if (line == "EAPOL test timed out") {
      r.timed_out = true;
    } else if (line.starts_with("MPPE keys OK: ")) {
      int ok = 0, mismatch = 0;
      if (std::sscanf(std::string(line).c_str(), "MPPE keys OK: %d mismatch: %d", &ok, &mismatch) == 2) {
        r.mppe_ok = ok;
        r.mppe_mismatch = mismatch;
      }
    }
  }
  r.access_accept = r.accepts > 0;
  r.access_reject = r.rejects > 0;
}

// Runs eapol_test against 127.0.0.1:port; the configuration file is written into dir.
inline eapol_result run_eapol_test(const eapol_options& o, const fs::path& dir, std::uint16_t port,
                                   const std::string& secret) {
  static std::atomic<unsigned> counter{0};
  const fs::path conf = dir / ("eapol-" + std::to_string(::getpid()) + "-" +
                               std::to_string(counter.fetch_add(1)) + ".conf");
  write_file(conf, eapol_config(o));

  // eapol_test's own -t ends the run; timeout(1) only guards against a hung process.
  std::string cmd = "timeout -k 2 " + std::to_string(o.timeout_seconds + 10) + " eapol_test -c " +
                    shell_quote(conf.string()) + " -a 127.0.0.1 -p " + std::to_string(port) + " -s " +
                    shell_quote(secret) + " -r " + std::to_string(o.reauth) + " -t " +
                    std::to_string(o.timeout_seconds);
  for (const auto& a : o.attributes) cmd += " -N " + shell_quote(a);

  eapol_result r;
  auto c = run(cmd);
  r.exit_code = c.exit_code;
  r.output = std::move(c.output);
  parse_eapol_output(r);
  return r;
}

// The test PKI (scripts/make-pki), made once per process in a temp directory removed at exit.
inline const fs::path& test_pki() {
  static temp_dir dir;
  static const fs::path pki = [] {
    const fs::path p = dir.path / "pki";
    const auto r = run(shell_quote(std::string(NPSD_SOURCE_DIR) + "/scripts/make-pki") + " " +
                       shell_quote(p.string()));
    if (r.exit_code != 0 || !fs::exists(p / ".complete"))
      throw std::runtime_error("scripts/make-pki failed (exit " + std::to_string(r.exit_code) +
                               "):\n" + r.output);
    return p;
  }();
  return pki;
}

}  // namespace npsd::test
