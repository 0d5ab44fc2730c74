#include "ldap/ldap_connection.h"

#include <lber.h>
#include <ldap.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "ldap/tls_probe.h"

namespace npsd::ldap::detail {

namespace {

using clock = std::chrono::steady_clock;
using fail = npsd::unexpected<ldap_error>;

struct ldap_deleter {
  void operator()(LDAP* ld) const { ldap_unbind_ext(ld, nullptr, nullptr); }
};
struct message_deleter {
  void operator()(LDAPMessage* m) const { ldap_msgfree(m); }
};
struct ber_deleter {
  void operator()(BerElement* b) const { ber_free(b, 0); }
};
struct memfree_deleter {
  void operator()(char* p) const { ldap_memfree(p); }
};
struct values_deleter {
  void operator()(berval** v) const { ldap_value_free_len(v); }
};
struct strings_deleter {
  void operator()(char** v) const { ber_memvfree(reinterpret_cast<void**>(v)); }
};
struct controls_deleter {
  void operator()(LDAPControl** c) const { ldap_controls_free(c); }
};
struct control_deleter {
  void operator()(LDAPControl* c) const { ldap_control_free(c); }
};
using ldap_ptr = std::unique_ptr<LDAP, ldap_deleter>;
using message_ptr = std::unique_ptr<LDAPMessage, message_deleter>;
using ber_ptr = std::unique_ptr<BerElement, ber_deleter>;
using mem_ptr = std::unique_ptr<char, memfree_deleter>;
using values_ptr = std::unique_ptr<berval*, values_deleter>;
using strings_ptr = std::unique_ptr<char*, strings_deleter>;
using controls_ptr = std::unique_ptr<LDAPControl*, controls_deleter>;
using control_ptr = std::unique_ptr<LDAPControl, control_deleter>;

// A paged-results cookie, which libldap allocates.
struct cookie {
  berval bv{0, nullptr};
  cookie() = default;
  cookie(const cookie&) = delete;
  cookie& operator=(const cookie&) = delete;
  ~cookie() { reset(); }
  void reset() {
    if (bv.bv_val != nullptr) ber_memfree(bv.bv_val);
    bv = {0, nullptr};
  }
};

timeval to_timeval(clock::duration d) {
  const auto us = std::max<std::int64_t>(
      0, std::chrono::duration_cast<std::chrono::microseconds>(d).count());
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(us / 1'000'000);
  tv.tv_usec = static_cast<suseconds_t>(us % 1'000'000);
  return tv;
}

std::string diagnostic(LDAP* ld) {
  char* msg = nullptr;
  if (ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg) != LDAP_OPT_SUCCESS || msg == nullptr)
    return {};
  mem_ptr owned(msg);
  return std::string(msg);
}

ldap_error make_error(int code, std::string_view server_diagnostic = {}) {
  ldap_error e;
  e.code = code;
  e.text = ldap_err2string(code);
  if (!server_diagnostic.empty()) {
    e.text += " (";
    e.text += server_diagnostic;
    e.text += ')';
  }
  return e;
}

// The API error libldap recorded on the handle (after a call returned -1 or an error code).
ldap_error handle_error(LDAP* ld, int rc) {
  int code = rc;
  if (code == -1 || code == LDAP_SUCCESS) {
    if (ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &code) != LDAP_OPT_SUCCESS)
      code = LDAP_SERVER_DOWN;
  }
  return make_error(code, diagnostic(ld));
}

std::vector<char*> attribute_list(const std::vector<std::string>& attributes) {
  std::vector<char*> out;
  out.reserve(attributes.size() + 1);
  for (const auto& a : attributes) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

ldap_entry read_entry(LDAP* ld, LDAPMessage* msg) {
  ldap_entry e;
  if (char* dn = ldap_get_dn(ld, msg)) {
    mem_ptr owned(dn);
    e.dn = dn;
  }
  BerElement* raw_ber = nullptr;
  for (char* attr = ldap_first_attribute(ld, msg, &raw_ber); attr != nullptr;
       attr = ldap_next_attribute(ld, msg, raw_ber)) {
    mem_ptr owned_attr(attr);
    std::vector<std::string> values;
    if (berval** vals = ldap_get_values_len(ld, msg, attr)) {
      values_ptr owned(vals);
      for (berval** v = vals; *v != nullptr; ++v) values.emplace_back((*v)->bv_val, (*v)->bv_len);
    }
    e.attributes.emplace_back(attr, std::move(values));
  }
  ber_ptr owned_ber(raw_ber);
  return e;
}

std::vector<std::string> string_list(char** list) {
  std::vector<std::string> out;
  for (char** p = list; p != nullptr && *p != nullptr; ++p) out.emplace_back(*p);
  return out;
}

// Every socket read and write is bounded by the handle's network timeout: libldap bounds the
// TCP connect and ldap_result's waits, but a TLS handshake (ldaps://, or after StartTLS) on a
// server that accepted the connection and then hangs would block for ever. Installed through
// LDAP_OPT_CONNECT_CB, which runs once the TCP connection is up and before TLS starts.
int bound_socket_waits(LDAP* ld, Sockbuf* sb, LDAPURLDesc*, sockaddr*, ldap_conncb*) {
  ber_socket_t fd = -1;
  timeval* tv = nullptr;
  if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) != 1 || fd < 0) return 0;
  if (ldap_get_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS || tv == nullptr)
    return 0;
  const timeval limit = *tv;
  ldap_memfree(tv);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  ldap_set_option(ld, LDAP_OPT_CONNECT_ASYNC, LDAP_OPT_ON);
  return 0;
}
void no_teardown(LDAP*, Sockbuf*, ldap_conncb*) {}
ldap_conncb socket_timeouts{bound_socket_waits, no_teardown, nullptr};  // outlives every handle

}  // namespace

void connection::initialize_library() {
  static std::once_flag once;
  std::call_once(once, [] {
    int version = 0;
    (void)ldap_get_option(nullptr, LDAP_OPT_PROTOCOL_VERSION, &version);  // global options
    // A handle that never connects: a TLS context made on it initializes the TLS library.
    LDAP* raw = nullptr;
    if (ldap_initialize(&raw, "ldap://127.0.0.1") != LDAP_SUCCESS) return;
    const std::unique_ptr<LDAP, ldap_deleter> ld(raw);
    int new_ctx = 0;
    (void)ldap_set_option(ld.get(), LDAP_OPT_X_TLS_NEWCTX, &new_ctx);
  });
}

bool ldap_error::server_down() const noexcept {
  switch (code) {
    case LDAP_SERVER_DOWN:
    case LDAP_CONNECT_ERROR:
    case LDAP_TIMEOUT:
    case LDAP_UNAVAILABLE:
    case LDAP_BUSY:
    case LDAP_TIMELIMIT_EXCEEDED:
      return true;
    default:
      return false;
  }
}

struct connection::impl {
  ldap_ptr ld;
  connection_options options;
  op_counters* counters = nullptr;
  bool tls = false;

  clock::time_point deadline() const { return clock::now() + options.timeout; }

  // The server-side time limit for a search, in whole seconds (at least 1).
  timeval time_limit() const {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(
        std::max<std::int64_t>(1, (options.timeout.count() + 999) / 1000));
    return tv;
  }

  void abandon(int msgid) { ldap_abandon_ext(ld.get(), msgid, nullptr, nullptr); }

  // Waits for the next message of `msgid` (or any, with LDAP_RES_ANY) until `until`.
  expected<message_ptr, ldap_error> next(int msgid, clock::time_point until) {
    timeval tv = to_timeval(until - clock::now());
    LDAPMessage* raw = nullptr;
    const int rc = ldap_result(ld.get(), msgid, LDAP_MSG_ONE, &tv, &raw);
    message_ptr msg(raw);
    if (rc == 0) {
      if (msgid != LDAP_RES_ANY) abandon(msgid);
      ldap_error e = make_error(LDAP_TIMEOUT);
      e.text += " (no answer within " + std::to_string(options.timeout.count()) + " ms)";
      return fail(std::move(e));
    }
    if (rc == -1 || !msg) return fail(handle_error(ld.get(), -1));
    return msg;
  }
};

connection::connection(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
connection::connection(connection&&) noexcept = default;
connection& connection::operator=(connection&&) noexcept = default;
connection::~connection() = default;

bool connection::tls() const noexcept { return impl_->tls; }
const ldap_server& connection::server() const noexcept { return impl_->options.server; }

expected<connection, ldap_error> connection::open(const connection_options& options,
                                                  op_counters& counters) {
  auto p = std::make_unique<impl>();
  p->options = options;
  p->counters = &counters;
  const auto& s = options.server;
  const bool ipv6 = s.host.find(':') != std::string::npos;
  const std::string url = std::string(s.ldaps ? "ldaps://" : "ldap://") + (ipv6 ? "[" : "") +
                          s.host + (ipv6 ? "]" : "") + ":" + std::to_string(s.port);
  LDAP* raw = nullptr;
  if (const int rc = ldap_initialize(&raw, url.c_str()); rc != LDAP_SUCCESS) {
    if (raw != nullptr) ldap_unbind_ext(raw, nullptr, nullptr);
    return fail(make_error(rc));
  }
  p->ld.reset(raw);
  LDAP* ld = raw;

  const int version = LDAP_VERSION3;
  const timeval tv = to_timeval(options.timeout);
  const int demand = options.verify_certificate ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
  const int tls_min = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
  const int new_ctx = 0;
  const bool use_tls = s.ldaps || options.start_tls;
  auto set = [&](int option, const void* value) {
    return ldap_set_option(ld, option, value) == LDAP_OPT_SUCCESS;
  };
  bool ok = set(LDAP_OPT_PROTOCOL_VERSION, &version) && set(LDAP_OPT_REFERRALS, LDAP_OPT_OFF) &&
            set(LDAP_OPT_RESTART, LDAP_OPT_ON) && set(LDAP_OPT_NETWORK_TIMEOUT, &tv) &&
            set(LDAP_OPT_TIMEOUT, &tv) && set(LDAP_OPT_CONNECT_CB, &socket_timeouts);
  if (ok && use_tls) {
    if (!options.ca_file.empty()) ok = set(LDAP_OPT_X_TLS_CACERTFILE, options.ca_file.c_str());
    // NEWCTX last: it builds this handle's TLS context from the options before it.
    ok = ok && set(LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) &&
         set(LDAP_OPT_X_TLS_PROTOCOL_MIN, &tls_min) && set(LDAP_OPT_X_TLS_NEWCTX, &new_ctx);
  }
  if (!ok) {
    ldap_error e = handle_error(ld, LDAP_LOCAL_ERROR);
    e.text = "cannot set the connection options (TLS context: is ca_file a readable PEM file?): " +
             e.text;
    return fail(std::move(e));
  }

  counters.connects.fetch_add(1, std::memory_order_relaxed);
  // libldap (built with GnuTLS on Debian) says little more than "Can't contact LDAP server"
  // when TLS fails: ask the server again with OpenSSL to say why (only on failure).
  const auto started = clock::now();
  auto tls_failure = [&](int rc, std::string_view step) {
    ldap_error e = handle_error(ld, rc);
    if (use_tls && clock::now() - started >= options.timeout - options.timeout / 10) {
      // It waited its whole budget: the server took the connection and then said nothing.
      e.code = LDAP_TIMEOUT;
      e.text = "no answer within " + std::to_string(options.timeout.count()) +
               " ms (the server accepted the connection, then did not answer)";
    } else if (use_tls && e.code != LDAP_TIMEOUT) {
      if (auto why = explain_tls_failure(options); !why.empty()) e.text = std::move(why);
    }
    if (!step.empty()) e.text = std::string(step) + e.text;
    return fail(std::move(e));
  };
  if (const int rc = ldap_connect(ld); rc != LDAP_SUCCESS) return tls_failure(rc, "");
  if (!s.ldaps && options.start_tls) {
    if (const int rc = ldap_start_tls_s(ld, nullptr, nullptr); rc != LDAP_SUCCESS)
      return tls_failure(rc, "StartTLS failed: ");
  }
  p->tls = use_tls;
  return connection(std::move(p));
}

std::optional<ldap_error> connection::simple_bind(const std::string& dn,
                                                  std::string_view password) {
  LDAP* ld = impl_->ld.get();
  berval cred{static_cast<ber_len_t>(password.size()), const_cast<char*>(password.data())};
  int msgid = 0;
  impl_->counters->binds.fetch_add(1, std::memory_order_relaxed);
  const auto until = impl_->deadline();
  if (const int rc = ldap_sasl_bind(ld, dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr,
                                    &msgid);
      rc != LDAP_SUCCESS)
    return handle_error(ld, rc);
  auto msg = impl_->next(msgid, until);
  if (!msg) return std::move(msg.error());
  int code = LDAP_OTHER;
  char* diag = nullptr;
  const int rc = ldap_parse_result(ld, msg->get(), &code, nullptr, &diag, nullptr, nullptr, 0);
  mem_ptr owned_diag(diag);
  if (rc != LDAP_SUCCESS) return handle_error(ld, rc);
  if (code != LDAP_SUCCESS) return make_error(code, diag != nullptr ? diag : "");
  return std::nullopt;
}

expected<search_result, ldap_error> connection::search(const search_spec& spec) {
  LDAP* ld = impl_->ld.get();
  auto attrs = attribute_list(spec.attributes);
  const int scope = spec.scope == search_scope::base ? LDAP_SCOPE_BASE : LDAP_SCOPE_SUBTREE;
  timeval limit = impl_->time_limit();
  search_result out;
  cookie page_cookie;
  for (;;) {  // one iteration per page
    control_ptr page;
    if (spec.paged) {
      LDAPControl* raw = nullptr;
      if (const int rc = ldap_create_page_control(ld, spec.page_size, &page_cookie.bv, 0, &raw);
          rc != LDAP_SUCCESS)
        return fail(handle_error(ld, rc));
      page.reset(raw);
    }
    LDAPControl* server_controls[] = {page.get(), nullptr};
    int msgid = 0;
    impl_->counters->searches.fetch_add(1, std::memory_order_relaxed);
    const auto until = impl_->deadline();
    if (const int rc = ldap_search_ext(ld, spec.base.c_str(), scope, spec.filter.c_str(),
                                       attrs.data(), 0, page ? server_controls : nullptr,
                                       nullptr, &limit, spec.size_limit, &msgid);
        rc != LDAP_SUCCESS)
      return fail(handle_error(ld, rc));
    for (;;) {
      auto msg = impl_->next(msgid, until);
      if (!msg) return fail(std::move(msg.error()));
      const int type = ldap_msgtype(msg->get());
      if (type == LDAP_RES_SEARCH_ENTRY) {
        out.entries.push_back(read_entry(ld, msg->get()));
        continue;
      }
      if (type == LDAP_RES_SEARCH_REFERENCE) {
        char** refs = nullptr;
        if (ldap_parse_reference(ld, msg->get(), &refs, nullptr, 0) == LDAP_SUCCESS) {
          strings_ptr owned(refs);
          for (auto& r : string_list(refs)) out.references.push_back(std::move(r));
        }
        continue;
      }
      if (type != LDAP_RES_SEARCH_RESULT) continue;
      int code = LDAP_OTHER;
      char* diag = nullptr;
      char** referrals = nullptr;
      LDAPControl** controls = nullptr;
      const int rc = ldap_parse_result(ld, msg->get(), &code, nullptr, &diag, &referrals,
                                       &controls, 0);
      mem_ptr owned_diag(diag);
      strings_ptr owned_referrals(referrals);
      controls_ptr owned_controls(controls);
      if (rc != LDAP_SUCCESS) return fail(handle_error(ld, rc));
      if (code == LDAP_REFERRAL) {
        std::string where;
        for (const auto& r : string_list(referrals)) where += (where.empty() ? "" : " ") + r;
        ldap_error e = make_error(code, diag != nullptr ? diag : "");
        e.text += "; the server refers to " + (where.empty() ? std::string("another server") : where) +
                  " (referrals are not chased: check base_dn and the server list)";
        return fail(std::move(e));
      }
      if (code != LDAP_SUCCESS && code != LDAP_SIZELIMIT_EXCEEDED)
        return fail(make_error(code, diag != nullptr ? diag : ""));
      out.code = code;
      page_cookie.reset();
      if (page && code == LDAP_SUCCESS) {
        if (LDAPControl* resp = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, controls, nullptr)) {
          ber_int_t estimate = 0;
          if (ldap_parse_pageresponse_control(ld, resp, &estimate, &page_cookie.bv) !=
              LDAP_SUCCESS)
            page_cookie.reset();
        }
      }
      break;
    }
    if (page_cookie.bv.bv_len == 0) return out;
  }
}

expected<std::vector<std::optional<ldap_entry>>, ldap_error> connection::read_entries(
    const std::vector<std::string>& dns, const std::vector<std::string>& attributes,
    std::vector<std::string>* why) {
  LDAP* ld = impl_->ld.get();
  auto attrs = attribute_list(attributes);
  timeval limit = impl_->time_limit();
  std::vector<std::optional<ldap_entry>> out(dns.size());
  constexpr std::size_t window = 64;
  for (std::size_t begin = 0; begin < dns.size(); begin += window) {
    const std::size_t end = std::min(dns.size(), begin + window);
    std::map<int, std::size_t> pending;  // msgid -> index
    const auto until = impl_->deadline();
    auto abandon_all = [&] {
      for (const auto& [id, i] : pending) impl_->abandon(id);
    };
    for (std::size_t i = begin; i < end; ++i) {
      int msgid = 0;
      impl_->counters->searches.fetch_add(1, std::memory_order_relaxed);
      if (const int rc = ldap_search_ext(ld, dns[i].c_str(), LDAP_SCOPE_BASE, "(objectClass=*)",
                                         attrs.data(), 0, nullptr, nullptr, &limit, 1, &msgid);
          rc != LDAP_SUCCESS) {
        if (rc == LDAP_INVALID_DN_SYNTAX || rc == LDAP_PARAM_ERROR) {
          if (why) why->push_back(dns[i] + ": not a valid DN");
          continue;
        }
        abandon_all();
        return fail(handle_error(ld, rc));
      }
      pending.emplace(msgid, i);
    }
    while (!pending.empty()) {
      auto msg = impl_->next(LDAP_RES_ANY, until);
      if (!msg) {
        abandon_all();
        return fail(std::move(msg.error()));
      }
      const auto it = pending.find(ldap_msgid(msg->get()));
      if (it == pending.end()) continue;  // a late answer to something abandoned
      const std::size_t i = it->second;
      const int type = ldap_msgtype(msg->get());
      if (type == LDAP_RES_SEARCH_ENTRY) {
        out[i] = read_entry(ld, msg->get());
        continue;
      }
      if (type != LDAP_RES_SEARCH_RESULT) continue;
      pending.erase(it);
      int code = LDAP_OTHER;
      char* diag = nullptr;
      const int rc =
          ldap_parse_result(ld, msg->get(), &code, nullptr, &diag, nullptr, nullptr, 0);
      mem_ptr owned_diag(diag);
      if (rc != LDAP_SUCCESS) {
        abandon_all();
        return fail(handle_error(ld, rc));
      }
      const ldap_error e = make_error(code, diag != nullptr ? diag : "");
      if (e.server_down()) {
        abandon_all();
        return fail(e);
      }
      if (code != LDAP_SUCCESS) {
        out[i].reset();
        if (why) why->push_back(dns[i] + ": " + e.text);
      }
    }
  }
  return out;
}

}  // namespace npsd::ldap::detail
