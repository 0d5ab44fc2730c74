#pragma once
// The daemon's configuration: one JSON file with a schema version, parsed once into plain
// validated structs and shared as std::shared_ptr<const config>. Reload swaps the pointer.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "accounting/store_config.h"
#include "eap/eap_config.h"
#include "ldap/directory_config.h"
#include "policy/ip.h"
#include "policy/model.h"
#include "radius/expected.h"

namespace npsd::policy {

inline constexpr int config_schema_version = 1;

enum class listener_kind { auth, acct };

struct listener_config {
  listener_kind kind = listener_kind::auth;
  std::string address;  // literal IPv4 or IPv6 address
  std::uint16_t port = 0;  // 0 = an ephemeral port (for tests; see --ready-file)
};

struct client_config {
  std::string name;  // the NPS "friendly name"
  ip_prefix address;
  std::string secret;  // never logged
  std::filesystem::path secret_file;  // where the secret came from, if a file
  bool require_message_authenticator = true;
  // For a client exempted from Message-Authenticator: an Access-Request carrying Proxy-State
  // but no Message-Authenticator is dropped (FreeRADIUS 3.2.5's limit_proxy_state, BlastRADIUS).
  bool limit_proxy_state = true;
  std::string vendor = "RADIUS Standard";
};

enum class log_format { text, json };

struct log_config {
  log_format format = log_format::text;
  std::string level = "info";
  std::filesystem::path file;  // empty = standard error
};

// What npsd does when a file holding secrets is readable by other users (a file writable by
// other users is refused whatever this says).
enum class file_permission_mode { warn, refuse };

// The directory section (back end, user file or LDAP settings): declared in ldap/ so that
// ldap::make_directory can build a back end from it.
using directory_config = ldap::directory_config;

struct server_config {
  unsigned threads = 0;          // io threads; 0 = one per core
  unsigned compute_threads = 0;  // password KDF threads; 0 = one per core
  std::size_t max_pending_requests = 4096;  // requests waiting for a KDF; beyond: dropped
  // A password check not started this long after its request came is dropped (discarded).
  std::chrono::milliseconds max_queue_wait{1000};
  std::vector<listener_config> listeners;
  std::chrono::seconds duplicate_ttl{30};
  std::size_t duplicate_max_entries = 65536;
  std::chrono::milliseconds shutdown_grace{5000};
  std::chrono::seconds unknown_client_log_interval{60};
  // Unix socket for npsctl (reload, status); empty = none. Created mode 0600.
  std::filesystem::path control_socket;
  file_permission_mode file_permissions = file_permission_mode::warn;
  // Started as root: the unprivileged account npsd switches to once its sockets are bound and
  // its keys read. Empty user = no switch; empty group = the user's primary group.
  std::string user;
  std::string group;
};

// The Prometheus endpoint (GET /metrics over HTTP): off unless the file has a "metrics"
// section; loopback unless told otherwise, as the figures name clients and users' results.
struct metrics_config {
  bool enabled = false;
  std::string address = "127.0.0.1";
  std::uint16_t port = 9812;  // 0 = an ephemeral port (for tests; see --ready-file)
  std::size_t max_connections = 16;  // scrapes served at once; more are closed unread
  std::size_t max_series = 10'000;   // label combinations per metric family
};

struct config {
  int schema_version = config_schema_version;
  std::filesystem::path source;  // the file it came from
  server_config server;
  log_config log;
  std::filesystem::path dictionary;  // directory holding the "dictionary" file
  std::shared_ptr<const radius::dictionary> dict;  // loaded from it
  std::vector<client_config> clients;
  directory_config directory;
  eap::eap_config eap;  // enabled when the file has an "eap" section
  // Accounting and authentication events in SQLite; enabled when the file has an
  // "accounting" section. Without it, Accounting-Requests are not acknowledged.
  accounting::store_config accounting;
  policies pol;  // connection request policies and network policies
  metrics_config metrics;
};

// A file the configuration names that holds secrets, and the JSON pointer naming it ("" for the
// configuration file itself).
struct secret_file {
  std::filesystem::path path;
  std::string pointer;
};

// The configuration file itself, the clients' secret files, the local user file, the LDAP bind
// password file and the EAP private key.
std::vector<secret_file> secret_files(const config& c);

// Reads and validates a configuration file, and loads the dictionary it names (policies are
// checked against it). Relative paths in it are resolved against the file's directory. The error names the file, the JSON pointer of the field and what was
// expected, and never contains a secret.
expected<std::shared_ptr<const config>, std::string> load_config(
    const std::filesystem::path& file, const std::filesystem::path& default_dictionary);

// The same from text; `name` stands for the file in messages, `base` resolves relative paths.
expected<std::shared_ptr<const config>, std::string> parse_config(
    std::string_view text, const std::string& name, const std::filesystem::path& base,
    const std::filesystem::path& default_dictionary);

}  // namespace npsd::policy
