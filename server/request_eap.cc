// The EAP part of the request pipeline: each Access-Request carrying EAP-Message is one round
// of a conversation kept between rounds under the State npsd sent. The first round (an
// EAP-Response/Identity) goes through the connection request policies; the method then runs
// round by round; once it succeeds, the identity it proved is looked up in the directory and
// the network policies decide, exactly as for PAP.
#include <openssl/crypto.h>

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "eap/conversation.h"
#include "server/exchange.h"
#include "server/request_handler.h"

namespace npsd::server {

using radius::code;
using policy::reason;

namespace {

// What the pipeline keeps with a conversation between rounds.
struct eap_session final : eap::conversation {
  using eap::conversation::conversation;
  std::shared_ptr<const runtime> rt;  // the configuration it started on
  const policy::connection_request_policy* crp = nullptr;
  radius::packet request;  // the first request after the CRP's manipulation
  std::string mapped_user;
  std::string station;
  std::string client;  // the RADIUS client it started with: only that client may continue it
};

std::string station_of(const radius::packet& p) {
  const auto* a = p.find(radius::attr::calling_station_id);
  return a != nullptr ? std::string(a->as_string()) : std::string();
}

// The EAP-TLS payload size: the configured fragment size, within Framed-MTU when the NAS gives
// one (EAP header 4, type 1, flags 1, length 4).
std::size_t fragment_size_for(const radius::packet& req, std::size_t configured) {
  if (const auto* mtu = req.find(12 /* Framed-MTU */))
    if (const auto v = mtu->as_uint32(); v && *v > 64 + 10) return std::min<std::size_t>(configured, *v - 10);
  return configured;
}

reason reason_of(const eap::step& s) {
  switch (s.why) {
    case eap::failure_kind::malformed:
    case eap::failure_kind::unexpected_packet:
    case eap::failure_kind::too_many_rounds: return reason::malformed_request;
    case eap::failure_kind::method_refused: return reason::eap_type_not_processed;
    case eap::failure_kind::no_client_auth: return reason::missing_client_auth_eku;
    case eap::failure_kind::no_identity: return reason::certificate_unusable;
    case eap::failure_kind::credentials: return reason::authentication_failed;
    case eap::failure_kind::tls: break;
  }
  switch (s.tls_why) {
    case eap::tls_failure::untrusted_issuer: return reason::untrusted_root;
    case eap::tls_failure::revoked: return reason::certificate_revoked;
    case eap::tls_failure::crl_unavailable: return reason::crl_unreadable;
    case eap::tls_failure::wrong_purpose: return reason::missing_client_auth_eku;
    case eap::tls_failure::no_certificate: return reason::certificate_unusable;
    case eap::tls_failure::expired:
    case eap::tls_failure::not_yet_valid:
    case eap::tls_failure::bad_certificate: return reason::certificate_trust_failure;
    case eap::tls_failure::handshake:
    case eap::tls_failure::none: break;
  }
  return reason::authentication_failed;
}

std::string failure_text(const eap::step& s) {
  if (s.why != eap::failure_kind::tls || s.tls_why == eap::tls_failure::none) return s.detail;
  return fmt::format("{}: {}", eap::tls_failure_name(s.tls_why), s.detail);
}

}  // namespace

void request_handler::start_eap(std::shared_ptr<exchange> x, eap::packet p) {
  const auto now = clock::now();
  if (x->rt->tls == nullptr)
    return finish(*x, code::access_reject, reason::eap_type_not_processed,
                  "EAP is not configured on this server (no \"eap\" section)");
  if (p.code != eap::code::response)
    return finish(*x, code::access_reject, reason::malformed_request,
                  "an Access-Request must carry an EAP-Response");

  std::shared_ptr<eap_session> s;
  eap::step step;
  if (const auto* state = x->req.find(radius::attr::state)) {
    s = std::static_pointer_cast<eap_session>(
        conversations_.take(std::string(state->as_string()), now));
    if (!s)
      return finish(*x, code::access_reject, reason::malformed_request,
                    "unknown or expired EAP conversation (State)");
    if (s->client != x->client->name)
      return finish(*x, code::access_reject, reason::malformed_request,
                    "an EAP conversation continued by another RADIUS client");
    x->arrival_rt = std::exchange(x->rt, s->rt);  // finish on the configuration it started on
    x->crp = s->crp;
    x->mapped_user = s->mapped_user;
    step = s->on_response(p);
  } else {
    if (p.type != eap::type::identity)
      return finish(*x, code::access_reject, reason::malformed_request,
                    "an EAP conversation must start with EAP-Response/Identity");
    // The connection request policy decides at the start, as for any request.
    auto crp = policy::evaluate_crp(x->rt->cfg->pol, facts_of(*x, x->req), x->trace);
    x->crp = crp.policy;
    if (crp.reject) {
      const auto detail =
          crp.policy != nullptr
              ? fmt::format("rejected by connection request policy \"{}\"", crp.policy->name)
              : std::string("no connection request policy matched");
      return finish(*x, code::access_reject, *crp.reject, detail);
    }
    if (crp.policy->action == policy::crp_action::accept_without_credentials)
      return finish(*x, code::access_reject, reason::auth_method_not_enabled,
                    "EAP cannot be accepted without validating credentials");
    const auto& ec = x->rt->cfg->eap;
    eap::conversation_options o;
    o.tls.tls = x->rt->tls;
    o.tls.fragment_size = fragment_size_for(x->req, ec.fragment_size);
    o.tls.max_message_size = ec.max_message_size;
    o.tls.identity_sources = ec.identity_sources;
    o.max_rounds = ec.max_rounds;
    o.methods = ec.methods;
    o.inner_methods = ec.peap_inner_methods;
    std::string identity(p.data.begin(), p.data.end());
    s = std::make_shared<eap_session>(std::move(identity), p.identifier, std::move(o));
    s->rt = x->rt;
    s->crp = crp.policy;
    s->request = std::move(crp.request);
    if (const auto* un = s->request.find(radius::attr::user_name)) s->mapped_user = un->as_string();
    s->station = station_of(x->req);
    s->client = x->client->name;
    x->mapped_user = s->mapped_user;
    // As NPS does: the network policy that the identity matches says which EAP methods to
    // offer, first. Only an order: the policy decides again once the method has run.
    auto* dir = x->rt->directory.get();
    return dir->find_account(x->mapped_user, [this, x, s](ldap::lookup_result r) mutable {
      if (r.status == ldap::lookup_status::found) offer_policy_methods(*x, *s, *r.acct);
      auto first = s->begin();
      eap_step(std::move(x), std::move(s), std::move(first));
    });
  }

  eap_step(std::move(x), std::move(s), std::move(step));
}

void request_handler::offer_policy_methods(exchange& x, eap::conversation& c,
                                           const ldap::account& acct) {
  auto f = facts_of(x, x.req);
  f.method.reset();
  f.eap_type.reset();
  policy::trace scratch;
  const auto d = policy::evaluate_network_policy(x.rt->cfg->pol, f, &acct, scratch);
  if (d.policy == nullptr || d.policy->cons.methods.empty()) return;
  const auto& allowed = d.policy->cons.methods;
  const auto has = [&](policy::auth_method m) {
    return std::find(allowed.begin(), allowed.end(), m) != allowed.end();
  };
  const auto& ec = x.rt->cfg->eap;
  std::vector<std::uint8_t> outer, inner;
  for (const auto t : ec.methods)
    if ((t == eap::type::tls && has(policy::auth_method::eap_tls)) ||
        (t == eap::type::peap &&
         (has(policy::auth_method::peap_tls) || has(policy::auth_method::peap_mschapv2))))
      outer.push_back(t);
  for (const auto t : ec.peap_inner_methods)
    if ((t == eap::type::tls && has(policy::auth_method::peap_tls)) ||
        (t == eap::type::mschapv2 && has(policy::auth_method::peap_mschapv2)))
      inner.push_back(t);
  // Those the policy allows go first; the others stay, so that the peer may still NAK to them
  // and the policy rejects with its own reason (66) rather than a bare method refusal.
  c.prefer(outer, inner);
}

void request_handler::eap_step(std::shared_ptr<exchange> x, std::shared_ptr<eap::conversation> c,
                               eap::step step) {
  auto s = std::static_pointer_cast<eap_session>(std::move(c));
  x->eap_type = s->method_type();
  x->method = x->eap_type != eap::type::peap ? policy::auth_method::eap_tls
              : step.inner_type == eap::type::mschapv2 || s->inner_method() == eap::type::mschapv2
                  ? policy::auth_method::peap_mschapv2
                  : policy::auth_method::peap_tls;
  x->eap_reply = std::move(step.eap);
  if (step.certificate) x->certificate = std::move(step.certificate);
  switch (step.what) {
    case eap::step::kind::need_nt_hash: {
      // MS-CHAPv2 inside PEAP: the account's NT hash, from the directory, then on.
      const auto user = step.user;
      x->authenticated_identity = user;
      auto* dir = x->rt->directory.get();
      return dir->find_account(user, [this, x, s](ldap::lookup_result r) mutable {
        if (r.status == ldap::lookup_status::unavailable) return discard(*x, "directory unavailable");
        if (r.status == ldap::lookup_status::not_found)
          return finish(*x, code::access_reject, reason::no_such_user,
                        fmt::format("no account {}", x->authenticated_identity));
        x->rt->directory->nt_hash(*r.acct, [this, x, s](ldap::nt_hash_result h) mutable {
          if (h.status == ldap::password_status::unavailable)
            return discard(*x, "directory unavailable");
          std::optional<std::array<std::uint8_t, 16>> hash;
          if (h.status == ldap::password_status::ok) hash = h.hash;
          auto next = s->provide_nt_hash(hash);
          OPENSSL_cleanse(h.hash.data(), h.hash.size());
          if (hash) OPENSSL_cleanse(hash->data(), hash->size());
          eap_step(std::move(x), std::move(s), std::move(next));
        });
      });
    }
    case eap::step::kind::challenge: {
      x->state = eap::conversation_table::new_state();
      const auto& ec = s->rt->cfg->eap;
      const eap::conversation_table::limits lim{ec.max_conversations,
                                                ec.max_conversations_per_station,
                                                ec.conversation_timeout};
      if (const auto dropped = conversations_.put(x->state, s->station, s, lim, clock::now()))
        drop_limited("EAP conversations dropped to stay within the configured bounds", x->d,
                     {{"dropped", std::uint64_t{dropped}},
                      {"max_conversations", std::uint64_t{ec.max_conversations}},
                      {"max_conversations_per_station",
                       std::uint64_t{ec.max_conversations_per_station}}});
      return finish(*x, code::access_challenge, reason::success);
    }
    case eap::step::kind::failure:
      return finish(*x, code::access_reject, reason_of(step), failure_text(step));
    case eap::step::kind::success:
      x->request = s->request;
      x->msk = std::move(step.msk);
      x->tls_version = step.tls_version;
      x->resumed = step.resumed;
      if (step.identity) x->certificate_identity = step.identity->identity;
      x->authenticated_identity = step.identity ? step.identity->identity : step.user;
      return eap_authenticated(std::move(x));
  }
}

void request_handler::eap_authenticated(std::shared_ptr<exchange> x) {
  // EAP-Success goes only with an Access-Accept; a reject carries EAP-Failure.
  const auto success = std::move(x->eap_reply);
  x->eap_reply.clear();
  auto* dir = x->rt->directory.get();
  dir->find_account(x->authenticated_identity, [this, x, success](ldap::lookup_result r) mutable {
    if (r.status == ldap::lookup_status::unavailable) return discard(*x, "directory unavailable");
    if (r.status == ldap::lookup_status::not_found)
      return finish(*x, code::access_reject, reason::no_such_user,
                    fmt::format("no account for the authenticated identity {}",
                                x->authenticated_identity));
    x->acct = std::move(r.acct);
    const auto decide = [this, x, success] {
      x->eap_reply = success;
      authorize(x);
    };
    if (!x->rt->cfg->eap.require_identity_match || x->mapped_user.empty()) return decide();
    // The outer identity must name the same account as the certificate.
    x->rt->directory->find_account(
        x->mapped_user, [this, x, decide](ldap::lookup_result outer) mutable {
          if (outer.status == ldap::lookup_status::unavailable)
            return discard(*x, "directory unavailable");
          const bool same = outer.status == ldap::lookup_status::found && outer.acct &&
                            outer.acct->name == x->acct->name && outer.acct->dn == x->acct->dn;
          if (!same)
            return finish(*x, code::access_reject, reason::authentication_failed,
                          fmt::format("the EAP identity {} does not name the authenticated "
                                      "account {}",
                                      x->mapped_user, x->authenticated_identity));
          decide();
        });
  });
}

}  // namespace npsd::server
