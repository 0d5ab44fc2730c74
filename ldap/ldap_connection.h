#pragma once
// One libldap connection to one server (internal to the LDAP back end): connect, StartTLS,
// simple bind, search with paging, reading entries by DN. Blocking, with a deadline on every
// step; used by one thread at a time (libldap handles are not thread-safe). The handle stays
// inside connection::impl.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ldap/directory_config.h"
#include "ldap/ldap_mapping.h"
#include "radius/expected.h"

namespace npsd::ldap::detail {

struct ldap_error {
  int code = 0;      // an LDAP result code, or a negative libldap API code (LDAP_SERVER_DOWN...)
  std::string text;  // the library's description and the server's diagnostic; never a secret
  // The server-down class: it failed, another server may answer (connection lost or refused,
  // timeout, unavailable, busy, time limit exceeded).
  bool server_down() const noexcept;
};

// Operations sent to servers, for the counters.
struct op_counters {
  std::atomic<std::uint64_t> connects{0};   // connections opened (incl. StartTLS)
  std::atomic<std::uint64_t> searches{0};   // search requests (each page, each entry read)
  std::atomic<std::uint64_t> binds{0};      // simple binds (service account and PAP)
};

struct connection_options {
  ldap_server server;
  bool start_tls = true;  // for ldap://
  bool verify_certificate = true;
  std::string ca_file;
  std::chrono::milliseconds timeout{3000};
};

enum class search_scope { base, subtree };

struct search_spec {
  std::string base;
  search_scope scope = search_scope::subtree;
  std::string filter;
  std::vector<std::string> attributes;
  int size_limit = 0;          // 0: none
  bool paged = false;          // RFC 2696 paged results
  int page_size = 500;
};

struct search_result {
  std::vector<ldap_entry> entries;
  int code = 0;                         // LDAP_SUCCESS or LDAP_SIZELIMIT_EXCEEDED
  std::vector<std::string> references;  // continuation references (not chased)
};

class connection {
 public:
  // libldap sets up its global options and its TLS library lazily, on first use, and that is
  // not thread-safe (ThreadSanitizer saw two workers' first connections race on
  // ldap_int_global_options). Called once, before the worker threads start; idempotent.
  static void initialize_library();

  // Connects (TLS for ldaps://, then StartTLS for ldap:// when asked). Any failure here is a
  // failure of the server.
  static expected<connection, ldap_error> open(const connection_options& options,
                                               op_counters& counters);
  connection(connection&&) noexcept;
  connection& operator=(connection&&) noexcept;
  ~connection();  // unbinds

  bool tls() const noexcept;
  const ldap_server& server() const noexcept;

  // A simple bind: nullopt when it succeeded, else the error (invalidCredentials is 49).
  std::optional<ldap_error> simple_bind(const std::string& dn, std::string_view password);

  // A search: every entry and every continuation reference until the final result (and every
  // page when paged). A result other than success or sizeLimitExceeded is an error.
  expected<search_result, ldap_error> search(const search_spec& spec);

  // Reads entries by DN with base-scope searches sent together (up to 64 at a time). An entry
  // that does not exist or cannot be read is nullopt, with the reason in `why` when given.
  expected<std::vector<std::optional<ldap_entry>>, ldap_error> read_entries(
      const std::vector<std::string>& dns, const std::vector<std::string>& attributes,
      std::vector<std::string>* why = nullptr);

 private:
  struct impl;
  explicit connection(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace npsd::ldap::detail
