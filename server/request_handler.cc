#include "server/request_handler.h"

#include <openssl/crypto.h>

#include <fmt/format.h>

#include "eap/packet.h"
#include "policy/reason.h"
#include "radius/crypto.h"
#include "server/exchange.h"
#include "server/reply_builder.h"

namespace npsd::server {

using radius::code;
using policy::reason;

namespace {

std::string source_text(const datagram& d) {
  return d.address.v6 ? fmt::format("[{}]:{}", d.address.to_string(), d.port)
                      : fmt::format("{}:{}", d.address.to_string(), d.port);
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string_view kind_name(policy::listener_kind k) {
  return k == policy::listener_kind::auth ? "auth" : "acct";
}

bool accepted_on(policy::listener_kind k, code c) {
  if (c == code::status_server) return true;
  return k == policy::listener_kind::auth ? c == code::access_request
                                          : c == code::accounting_request;
}

}  // namespace


request_handler::request_handler(counters& c, std::chrono::seconds duplicate_ttl,
                                 std::size_t duplicate_entries, std::chrono::seconds log_interval)
    : counters_(c), duplicates_(duplicate_ttl, duplicate_entries), limiter_(log_interval) {}

void request_handler::drop_limited(std::string_view what, const datagram& d,
                                   std::initializer_list<log_field> fields) {
  const auto held = limiter_.allow(fmt::format("{}|{}", what, d.address.to_string()), clock::now());
  if (!held) return;
  const auto src = source_text(d);
  std::vector<log_field> all{{"src", std::string_view(src)}, {"port_kind", kind_name(d.kind)}};
  all.insert(all.end(), fields.begin(), fields.end());
  if (*held > 0) all.push_back({"suppressed_since_last", *held});
  log_event(spdlog::level::warn, what, all);
}

void request_handler::handle(std::shared_ptr<const runtime> rt, datagram d, reply_sink send) {
  counters_.received.fetch_add(1, std::memory_order_relaxed);
  const auto* client = rt->clients.find(d.address);
  if (client == nullptr) {
    counters_.unknown_client.fetch_add(1, std::memory_order_relaxed);
    drop_limited("dropped: packet from an unknown RADIUS client", d, {});
    return;
  }
  auto decoded = radius::decode(d.data);
  if (!decoded) {
    counters_.malformed.fetch_add(1, std::memory_order_relaxed);
    const std::error_code ec = decoded.error();
    const auto msg = ec.message();
    drop_limited("dropped: malformed packet", d,
                 {{"client", std::string_view(client->name)}, {"error", std::string_view(msg)},
                  {"reason", std::int64_t{3}}});
    return;
  }
  auto& req = *decoded;
  if (!accepted_on(d.kind, req.code)) {
    counters_.wrong_port.fetch_add(1, std::memory_order_relaxed);
    drop_limited("dropped: packet type not accepted on this port", d,
                 {{"client", std::string_view(client->name)},
                  {"code", radius::code_name(req.code)}});
    return;
  }
  // The length field is honoured: trailing bytes are not part of what was signed.
  const auto length = static_cast<std::size_t>(d.data[2] << 8 | d.data[3]);
  const auto verdict = radius::verify_request(
      radius::byte_view(d.data).first(length), client->secret,
      req.code == code::access_request &&
          (client->require_message_authenticator ||
           req.find(radius::attr::eap_message) != nullptr));  // RFC 3579 3.2: EAP needs it
  if (verdict != radius::verify_result::ok) {
    const bool ma = verdict == radius::verify_result::missing_message_authenticator ||
                    verdict == radius::verify_result::bad_message_authenticator;
    (ma ? counters_.bad_message_authenticator : counters_.bad_authenticator)
        .fetch_add(1, std::memory_order_relaxed);
    const auto what =
        verdict == radius::verify_result::missing_message_authenticator
            ? "dropped: request incomplete, Message-Authenticator missing"
        : ma ? "dropped: request incomplete, Message-Authenticator invalid (shared secret mismatch?)"
             : "dropped: request authenticator invalid (shared secret mismatch?)";
    drop_limited(what, d,
                 {{"client", std::string_view(client->name)},
                  {"code", radius::code_name(req.code)},
                  {"error", radius::verify_result_name(verdict)},
                  {"reason", std::int64_t{ma ? 262 : 3}}});
    return;
  }
  // FreeRADIUS 3.2.5's limit_proxy_state: a NAS exempted from Message-Authenticator talks to
  // npsd directly, so an Access-Request "from" it with Proxy-State but no Message-Authenticator
  // is what a BlastRADIUS forgery looks like.
  if (req.code == code::access_request && !client->require_message_authenticator &&
      client->limit_proxy_state && req.find(radius::attr::proxy_state) != nullptr &&
      req.find(radius::attr::message_authenticator) == nullptr) {
    counters_.proxy_state_without_message_authenticator.fetch_add(1, std::memory_order_relaxed);
    drop_limited("dropped: Access-Request with Proxy-State but no Message-Authenticator "
                 "(limit_proxy_state)",
                 d,
                 {{"client", std::string_view(client->name)},
                  {"code", radius::code_name(req.code)},
                  {"reason", std::int64_t{262}}});
    return;
  }

  in_flight_.fetch_add(1);
  auto x = std::make_shared<exchange>(*this, std::move(rt), std::move(d), std::move(send));
  x->client = client;
  x->req = std::move(req);
  if (const auto* un = x->req.find(radius::attr::user_name)) x->user = un->as_string();

  if (x->req.code == code::status_server) {  // RFC 5997: answered, never cached
    counters_.status_server.fetch_add(1, std::memory_order_relaxed);
    finish(*x, x->d.kind == policy::listener_kind::auth ? code::access_accept
                                                         : code::accounting_response,
           reason::success);
    return;
  }

  std::copy_n(x->d.address.bytes.begin(), 16, x->key.address.begin());
  x->key.v6 = x->d.address.v6;
  x->key.port = x->d.port;
  x->key.listener = static_cast<std::uint8_t>(x->d.kind);
  x->key.identifier = x->req.identifier;
  x->key.authenticator = x->req.authenticator;
  const auto dup = duplicates_.begin(x->key, x->start);
  if (dup.state != duplicate_cache::status::fresh) {
    x->replied = true;  // the original owns the cache entry
    if (dup.state == duplicate_cache::status::replay) {
      counters_.duplicates_replayed.fetch_add(1, std::memory_order_relaxed);
      x->send(*dup.reply);
    } else {
      counters_.duplicates_absorbed.fetch_add(1, std::memory_order_relaxed);
    }
    log_event(spdlog::level::debug, "retransmission",
              {{"client", std::string_view(client->name)},
               {"id", std::int64_t{x->req.identifier}},
               {"action", dup.reply ? "replayed cached reply" : "absorbed (in progress)"}});
    return;
  }
  if (in_flight_.load() > x->rt->cfg->server.max_pending_requests) {
    counters_.overload_dropped.fetch_add(1, std::memory_order_relaxed);
    drop_limited("dropped: too many requests in flight", x->d,
                 {{"limit", std::uint64_t{x->rt->cfg->server.max_pending_requests}}});
    return;
  }

  if (x->req.code == code::accounting_request) return start_accounting(std::move(x));

  start_access(std::move(x));
}

void request_handler::start_accounting(std::shared_ptr<exchange> x) {
  auto* store = store_.load();
  if (store == nullptr) {
    // RFC 2866 2: a server must not acknowledge what it has not recorded.
    counters_.accounting_not_stored.fetch_add(1, std::memory_order_relaxed);
    count(*x, "Accounting-Request", "not_stored");
    drop_limited("accounting not acknowledged: no accounting store is configured", x->d,
                 {{"client", std::string_view(x->client->name)}});
    return;
  }
  auto record = accounting::record_from_request(x->req, *x->rt->cfg->dict, x->client->name,
                                                x->d.address.to_string(), unix_ms_now());
  auto* raw = x.get();
  const bool queued = store->submit(std::move(record), [this, x](bool stored) {
    // Not stored: no response, so the NAS retries (the exchange forgets its cache entry).
    if (!stored) {
      counters_.accounting_not_stored.fetch_add(1, std::memory_order_relaxed);
      count(*x, "Accounting-Request", "not_stored");
    } else {
      finish(*x, code::accounting_response, reason::success);
    }
  });
  if (!queued) {
    counters_.accounting_not_stored.fetch_add(1, std::memory_order_relaxed);
    count(*raw, "Accounting-Request", "not_stored");
    drop_limited("accounting not acknowledged: the store's queue is full", raw->d,
                 {{"client", std::string_view(raw->client->name)},
                  {"limit", std::uint64_t{store_cfg_.queue_max_records}}});
  }
}

policy::request_facts request_handler::facts_of(const exchange& x, const radius::packet& p) {
  policy::request_facts f;
  f.packet = &p;
  f.dict = x.rt->cfg->dict.get();
  f.client = x.client;
  f.client_address = x.d.address;
  if (x.method) f.method = x.method;
  else if (p.find(radius::attr::user_password) != nullptr) f.method = policy::auth_method::pap;
  else if (p.find(radius::attr::chap_password) != nullptr) f.method = policy::auth_method::chap;
  f.eap_type = x.eap_type;
  if (x.certificate && x.certificate_identity.size() > 0) {
    f.certificate_ekus = &x.certificate->eku_oids;
    f.certificate_issuer = &x.certificate->issuer;
  }
  f.now = std::chrono::system_clock::now();
  return f;
}

void request_handler::start_access(std::shared_ptr<exchange> x) {
  const auto& req = x->req;
  if (req.find(radius::attr::user_name) == nullptr)
    return finish(*x, code::access_reject, reason::malformed_request, "no User-Name");
  if (auto eap_packet = eap::from_radius(req)) {
    if (!*eap_packet)
      return finish(*x, code::access_reject, reason::malformed_request,
                    eap::parse_error_text(eap_packet->error()));
    return start_eap(std::move(x), std::move(**eap_packet));
  }
  const auto* hidden = req.find(radius::attr::user_password);
  if (hidden != nullptr) {
    auto clear =
        radius::unhide_user_password(hidden->value, x->client->secret, req.authenticator);
    if (!clear)
      return finish(*x, code::access_reject, reason::malformed_request,
                    "User-Password has an invalid length");
    x->password.assign(clear->begin(), clear->end());
    OPENSSL_cleanse(clear->data(), clear->size());
  }

  // The connection request policy decides first (as in NPS): one that accepts without
  // validating credentials serves CHAP and unauthenticated requests too.
  const auto& pol = x->rt->cfg->pol;
  auto crp = policy::evaluate_crp(pol, facts_of(*x, req), x->trace);
  x->crp = crp.policy;
  if (crp.reject) {
    const auto detail = crp.policy != nullptr
                            ? fmt::format("rejected by connection request policy \"{}\"", crp.policy->name)
                            : std::string("no connection request policy matched");
    return finish(*x, code::access_reject, *crp.reject, detail);
  }
  if (hidden == nullptr && crp.policy->action != policy::crp_action::accept_without_credentials)
    return finish(*x, code::access_reject, reason::auth_method_not_enabled,
                  req.find(radius::attr::chap_password) != nullptr
                      ? "CHAP cannot be checked against hashed passwords"
                      : "no credentials of an enabled authentication method");
  x->request = std::move(crp.request);
  if (const auto* un = x->request.find(radius::attr::user_name)) x->mapped_user = un->as_string();

  auto* dir = x->rt->directory.get();
  dir->find_account(x->mapped_user, [this, x](ldap::lookup_result r) mutable {
    if (r.status == ldap::lookup_status::unavailable) return discard(*x, "directory unavailable");
    if (x->crp->action == policy::crp_action::accept_without_credentials) {
      // Credentials are not validated; a known account still brings its groups and dial-in.
      if (r.status == ldap::lookup_status::found) x->acct = std::move(r.acct);
      return authorize(std::move(x));
    }
    if (r.status == ldap::lookup_status::not_found)
      return finish(*x, code::access_reject, reason::no_such_user);
    x->acct = std::move(r.acct);
    auto password = std::move(x->password);
    x->password.clear();
    x->rt->directory->verify_password(
        *x->acct, std::move(password), [this, x](ldap::password_status s) {
          switch (s) {
            case ldap::password_status::ok: return authorize(x);
            case ldap::password_status::mismatch:
              return finish(*x, code::access_reject, reason::authentication_failed);
            case ldap::password_status::no_password:
              return finish(*x, code::access_reject, reason::authentication_failed,
                            "the account has no password");
            case ldap::password_status::unavailable:
              return discard(*x, "directory unavailable");
          }
        });
  });
}

void request_handler::authorize(std::shared_ptr<exchange> x) {
  if (x->acct) {
    if (const auto why = policy::account_rejection(*x->acct))
      return finish(*x, code::access_reject, *why);
  }
  const auto decision = policy::evaluate_network_policy(
      x->rt->cfg->pol, facts_of(*x, x->request), x->acct ? &*x->acct : nullptr, x->trace);
  x->np = decision.policy;
  if (!decision.accept) return finish(*x, code::access_reject, decision.why, decision.detail);
  finish(*x, code::access_accept, reason::success, {}, &decision);
}

void request_handler::finish(exchange& x, code c, reason why, std::string_view detail,
                             const policy::np_decision* granted) {
  const bool decision = c == code::access_accept || c == code::access_reject;
  auto* store = store_.load();
  if (decision && x.req.code != code::status_server && store != nullptr &&
      store_cfg_.log_authentication && store_cfg_.discard_requests_when_logging_fails &&
      !store->healthy()) {
    // NPS's "if logging fails, discard connection requests".
    counters_.discarded_logging_failed.fetch_add(1, std::memory_order_relaxed);
    discard(x, "the authentication log is failing (discard_requests_when_logging_fails)");
    return;
  }
  std::string class_value;
  radius::packet reply;
  reply.code = c;
  reply.identifier = x.req.identifier;
  reply.authenticator = x.req.authenticator;
  // Message-Authenticator in every Access-* reply (and Status-Server's). An Accounting-Response
  // carries none: RFC 2866 authenticates it by its Response Authenticator, and peers disagree
  // on how an Accounting-Response's Message-Authenticator is computed (FreeRADIUS zeroes the
  // authenticator field, the RFC 5176 style uses the request's), so one would be dropped.
  if (!(c == code::accounting_response && x.req.code == code::accounting_request))
    reply.attributes.push_back({radius::attr::message_authenticator, radius::bytes(16, 0)});
  std::string settings_error;
  if (granted != nullptr) {
    for (const auto* a : granted->reply) {
      auto wire = encode_reply_attribute(*a, *x.rt->cfg->dict, x.client->secret,
                                         x.req.authenticator);
      if (wire) reply.attributes.push_back(std::move(*wire));
      else settings_error = wire.error();
    }
    if (granted->session_timeout)
      reply.add_uint32(radius::attr::session_timeout, *granted->session_timeout);
    if (granted->idle_timeout)
      reply.add_uint32(radius::attr::idle_timeout, *granted->idle_timeout);
    class_value = make_class_value();
    reply.add(radius::attr::class_, class_value);
    if (!x.msk.empty()) add_mppe_keys(reply, x.msk, x.client->secret, x.req.authenticator);
  }
  if (!settings_error.empty()) {  // never accept with half the configured settings
    reply.attributes.resize(1);
    reply.code = c = code::access_reject;
    why = reason::internal_error;
    detail = settings_error;
  }
  if (c == code::access_challenge) {
    eap::add_to_radius(reply, x.eap_reply);
    reply.add(radius::attr::state, x.state);
  } else if (c == code::access_accept && !x.eap_reply.empty()) {
    eap::add_to_radius(reply, x.eap_reply);
  } else if (c == code::access_reject) {
    if (const auto* eap = x.req.find(radius::attr::eap_message); eap && eap->value.size() >= 2)
      reply.attributes.push_back({radius::attr::eap_message, {4, eap->value[1], 0, 4}});
  }
  for (const auto& a : x.req.attributes)
    if (a.type == radius::attr::proxy_state) reply.attributes.push_back(a);

  auto encoded = radius::encode(reply);
  if (!encoded) {  // only Proxy-State or settings can make a reply too long
    discard(x, "reply would exceed 4096 bytes");
    return;
  }
  radius::sign_response(*encoded, x.req.authenticator, x.client->secret);
  auto bytes = std::make_shared<const radius::bytes>(std::move(*encoded));
  const auto now = clock::now();
  if (x.req.code != code::status_server) duplicates_.complete(x.key, bytes, now);
  x.replied = true;
  x.send(*bytes);

  const auto latency_us =
      std::chrono::duration_cast<std::chrono::microseconds>(now - x.start).count();
  if (c == code::access_challenge) {
    counters_.access_challenges.fetch_add(1, std::memory_order_relaxed);
    count(x, "Access-Request", "Access-Challenge");
    log_event(spdlog::level::debug, "access-challenge",
              {{"client", std::string_view(x.client->name)},
               {"user", std::string_view(x.user)},
               {"latency_us", latency_us}});
    return;
  }
  if (c == code::accounting_response && x.req.code == code::accounting_request) {
    counters_.accounting_responses.fetch_add(1, std::memory_order_relaxed);
    count(x, "Accounting-Request", "Accounting-Response");
    return;
  }
  if (x.req.code == code::status_server) {
    count(x, "Status-Server", "answered");
    log_event(spdlog::level::debug, "status-server answered",
              {{"client", std::string_view(x.client->name)},
               {"port_kind", kind_name(x.d.kind)}});
    return;
  }
  (c == code::access_accept ? counters_.access_accepts : counters_.access_rejects)
      .fetch_add(1, std::memory_order_relaxed);
  const std::string_view result = c == code::access_accept ? "Access-Accept" : "Access-Reject";
  count(x, "Access-Request", result);
  if (metrics_ != nullptr) {
    metrics_->add("npsd_access_decisions_total",
                  {{"client", x.client->name},
                   {"result", std::string(result)},
                   {"reason", std::to_string(policy::reason_number(why))}});
    const std::string_view method =
        x.method                                                   ? policy::auth_method_name(*x.method)
        : x.req.find(radius::attr::user_password) != nullptr      ? "PAP"
        : x.req.find(radius::attr::chap_password) != nullptr      ? "CHAP"
                                                                   : "none";
    metrics_->observe_us("npsd_access_decision_seconds", {{"method", std::string(method)}},
                         latency_us);
  }
  log_decision(x, result, why, detail.empty() ? policy::reason_text(why) : detail, latency_us);
  log_auth_event(x, c, why, class_value, latency_us);
}

void request_handler::log_auth_event(const exchange& x, code c, reason why,
                                     std::string_view class_value, std::int64_t latency_us) {
  auto* store = store_.load();
  if (store == nullptr || !store_cfg_.log_authentication) return;
  accounting::auth_event e;
  e.time = unix_ms_now();
  e.client = x.client->name;
  e.client_address = x.d.address.to_string();
  accounting::fill_request_fields(e, x.req);
  e.user_name = accounting::safe_text(x.user);
  e.identity = accounting::safe_text(!x.authenticated_identity.empty() ? x.authenticated_identity
                                     : !x.mapped_user.empty()          ? x.mapped_user
                                                                       : x.user);
  e.packet_type = c == code::access_accept ? 2 : 3;
  e.reason = static_cast<int>(policy::reason_number(why));
  if (x.crp != nullptr) e.crp = x.crp->name;
  if (x.np != nullptr) e.np = x.np->name;
  if (x.method) e.auth_method = policy::auth_method_name(*x.method);
  else if (x.req.find(radius::attr::user_password) != nullptr) e.auth_method = "pap";
  else if (x.req.find(radius::attr::chap_password) != nullptr) e.auth_method = "chap";
  if (x.eap_type) e.eap_type = *x.eap_type;
  if (x.certificate) {
    e.cert_subject = x.certificate->subject;
    e.cert_issuer = x.certificate->issuer;
    e.cert_serial = x.certificate->serial;
  }
  e.class_ = class_value;
  e.latency_us = latency_us;
  (void)store->log(std::move(e));  // a full queue counts it as lost; never waits
}

void request_handler::log_decision(const exchange& x, std::string_view result, reason why,
                                   std::string_view text, std::int64_t latency_us) {
  const auto src = source_text(x.d);
  std::vector<log_field> f{{"client", std::string_view(x.client->name)},
                           {"src", std::string_view(src)},
                           {"user", std::string_view(x.user)}};
  if (!x.mapped_user.empty() && x.mapped_user != x.user)
    f.push_back({"mapped_user", std::string_view(x.mapped_user)});
  f.push_back({"result", result});
  if (result != "discarded") f.push_back({"reason", std::int64_t{policy::reason_number(why)}});
  f.push_back({"reason_text", text});
  if (x.crp != nullptr) f.push_back({"crp", std::string_view(x.crp->name)});
  if (x.np != nullptr) f.push_back({"np", std::string_view(x.np->name)});
  if (x.method) f.push_back({"method", policy::auth_method_name(*x.method)});
  if (!x.tls_version.empty()) f.push_back({"tls", std::string_view(x.tls_version)});
  if (x.resumed) f.push_back({"resumed", true});
  if (!x.certificate_identity.empty())
    f.push_back({"cert_identity", std::string_view(x.certificate_identity)});
  if (x.certificate) {
    f.push_back({"cert_subject", std::string_view(x.certificate->subject)});
    f.push_back({"cert_issuer", std::string_view(x.certificate->issuer)});
    f.push_back({"cert_serial", std::string_view(x.certificate->serial)});
  }
  if (latency_us >= 0) f.push_back({"latency_us", latency_us});
  log_event(result == "discarded" ? spdlog::level::warn : spdlog::level::info, "decision", f);
  if (spdlog::should_log(spdlog::level::debug) && !x.trace.empty())
    log_event(spdlog::level::debug, "decision trace",
              {{"user", std::string_view(x.user)},
               {"trace", std::string_view(policy::format_trace(x.trace))}});
}

void request_handler::discard(exchange& x, std::string_view why) {
  counters_.discarded.fetch_add(1, std::memory_order_relaxed);
  count(x, x.req.code == code::accounting_request ? "Accounting-Request" : "Access-Request",
        "discarded");
  log_decision(x, "discarded", reason::success, why, -1);
}

void request_handler::set_metrics(metrics* m) {
  if (m != nullptr) {
    m->declare_counter("npsd_requests_total",
                       "RADIUS requests answered or given up, by client, packet type and result");
    m->declare_counter("npsd_access_decisions_total",
                       "Access-Accepts and Access-Rejects by client and NPS reason code");
    m->declare_histogram("npsd_access_decision_seconds",
                         "time from an Access-Request's arrival to its Accept or Reject, by "
                         "authentication method (EAP: the conversation's last round)");
  }
  metrics_ = m;
}

void request_handler::count(const exchange& x, std::string_view type, std::string_view result) {
  if (metrics_ == nullptr) return;
  metrics_->add("npsd_requests_total",
                {{"client", x.client->name}, {"type", std::string(type)}, {"result", std::string(result)}});
}

}  // namespace npsd::server
