#pragma once
// The "eap" section of the configuration as plain validated structs (parsed by
// policy/config.cc, read_eap). The TLS context is built from it by eap::make_tls_context.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace npsd::eap {

// Where the identity of a client certificate comes from, tried in order.
enum class cert_identity_source {
  upn,    // SAN otherName 1.3.6.1.4.1.311.20.2.3 (what AD CS puts in user certificates)
  email,  // SAN rfc822Name
  dns,    // SAN dNSName, presented as host/<name> (machine certificates)
  cn,     // the subject's commonName
};

// Revocation checking of client certificates, by the CA that issued them.
enum class revocation_mode {
  off,          // not checked (CAs issuing short-lived certificates without CRLs, e.g. Entra ID's)
  best_effort,  // a revoked certificate is refused; no CRL for its CA is accepted
  require,      // the CA's CRL must be there and current (else reason 258)
};

struct ca_revocation {
  std::filesystem::path certificate;  // the CA's certificate (PEM): which CA this is
  revocation_mode mode = revocation_mode::require;
};

struct revocation_config {
  bool enabled = false;  // a "revocation" section is present; absent: nothing is checked
  std::vector<std::filesystem::path> crl_files;  // PEM CRLs, re-read when they change
  revocation_mode default_mode = revocation_mode::require;  // CAs not listed in `cas`
  std::vector<ca_revocation> cas;
  std::chrono::seconds check_interval{60};  // how often the CRL files are looked at
};

struct eap_config {
  bool enabled = false;  // an "eap" section is present

  std::filesystem::path certificate;  // the server's certificate, then its chain (PEM)
  std::filesystem::path private_key;  // its key (PEM, unencrypted)
  std::filesystem::path ca_file;      // CAs trusted to issue client certificates (PEM bundle)
  std::filesystem::path ca_path;      // and/or a hashed directory (c_rehash); may be empty
  revocation_config revocation;

  int tls_min_version = 0x0303;  // TLS1_2_VERSION
  int tls_max_version = 0x0304;  // TLS1_3_VERSION
  std::string cipher_list;       // TLS 1.2 ciphers (OpenSSL syntax); empty: the safe default
  std::string ciphersuites;      // TLS 1.3 suites; empty: OpenSSL's default
  std::string groups;            // key exchange groups; empty: OpenSSL's default

  // Fast reconnect: TLS session resumption, this long; 0 = off. A resumed session is
  // authorised again (directory and policy) and its certificate checked again against the
  // trust store and the CRLs. Sessions are kept by the server (TLS 1.2 session IDs, TLS 1.3
  // stateful tickets), at most session_cache_size of them, the least recently used dropped
  // first; the cache outlives reloads.
  std::chrono::seconds resumption_lifetime{3600};
  std::size_t session_cache_size = 20000;

  std::size_t fragment_size = 1020;     // EAP-TLS data bytes per EAP-Request (before Framed-MTU)
  std::size_t max_message_size = 65536; // a TLS message from the client, reassembled
  std::chrono::seconds conversation_timeout{30};
  std::size_t max_conversations = 4096;             // in flight, globally
  std::size_t max_conversations_per_station = 16;   // per Calling-Station-Id
  std::size_t max_rounds = 64;                      // Access-Challenges per conversation

  // The EAP methods served, the first one offered (a peer may NAK it for another): 13
  // EAP-TLS, 25 PEAP (with inner EAP-TLS).
  std::vector<std::uint8_t> methods{13, 25};
  // Inside PEAP, likewise: 13 EAP-TLS ("Smart Card or other certificate"), 26 EAP-MSCHAPv2
  // (needs the account's NT hash: the local user file only).
  std::vector<std::uint8_t> peap_inner_methods{13, 26};

  std::vector<cert_identity_source> identity_sources{
      cert_identity_source::upn, cert_identity_source::email, cert_identity_source::dns,
      cert_identity_source::cn};
  // The EAP identity (outer User-Name) must name the same account as the certificate.
  bool require_identity_match = false;
};

}  // namespace npsd::eap
