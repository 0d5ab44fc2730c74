#pragma once
// Policy evaluation exactly as NPS does it: the first matching enabled connection request
// policy (its attribute manipulation applied), then the first network policy whose conditions
// all match; its constraints (a failure rejects, no later policy is tried); the account's
// dial-in permission unless ignored; grant or deny. Every step is written to a trace.
// Pure: no I/O, the caller supplies the account (from the directory) and the time.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "ldap/directory.h"
#include "policy/config.h"
#include "policy/model.h"
#include "policy/reason.h"
#include "radius/packet.h"

namespace npsd::policy {

// What the engine looks at for one request.
struct request_facts {
  const radius::packet* packet = nullptr;  // the request (after CRP manipulation for NP)
  const radius::dictionary* dict = nullptr;
  const client_config* client = nullptr;
  ip_address client_address;
  std::optional<auth_method> method;    // the method in use, when known (PAP: at once)
  std::optional<std::uint8_t> eap_type;  // the outer EAP type in use, when EAP
  // The client certificate that authenticated, when one did: its EKU OIDs and issuer DN.
  const std::vector<std::string>* certificate_ekus = nullptr;
  const std::string* certificate_issuer = nullptr;
  std::chrono::system_clock::time_point now;
};

struct trace_step {
  std::string kind;     // "connection request policy" or "network policy"
  std::string name;
  std::string verdict;  // "matched", "skipped: disabled", "not matched: <condition and why>",
                        // "constraint failed: ...", "granted", "denied: ..."
};
using trace = std::vector<trace_step>;
std::string format_trace(const trace& t);  // one line per step, for logs and npsctl

// Conditions alone (shared by CRP and NP): nullopt when all match, else a sentence naming the
// first condition that failed and why, e.g. "NAS-Port-Type is Ethernet (15), not one of Virtual".
// `acct` may be null (no account known): group conditions then fail.
// Allowed-EAP-Types uses facts.eap_type, else the EAP type of facts.method, else the type of an
// EAP-Response carrying a method; while none is known (EAP-Response/Identity) an EAP request
// passes it, as the method constraint is skipped: decide again once the method is known.
std::optional<std::string> first_failing_condition(const conditions& c, const request_facts& f,
                                                   const ldap::account* acct);

// The account's own state, checked after its credentials and before network policy:
// disabled -> account_disabled (34), locked out -> account_locked_out (36).
std::optional<reason> account_rejection(const ldap::account& acct) noexcept;

// The authentication type of a request: facts.method when known, else from its attributes
// (EAP-Message -> EAP, User-Password -> PAP, CHAP-Password -> CHAP, MS-CHAP2-Response -> MS-CHAPv2,
// none -> unauthenticated).
auth_type detect_auth_type(const request_facts& f) noexcept;

// Applies a CRP's manipulations in order to User-Name, Called-Station-Id, Calling-Station-Id.
radius::packet apply_manipulations(const connection_request_policy& crp, const radius::packet& p);

struct crp_decision {
  const connection_request_policy* policy = nullptr;  // null: none matched
  std::optional<reason> reject;  // no_connection_request_policy (49) when none matched or it rejects
  std::string detail;            // on reject: "no connection request policy matched" or
                                 // "rejected by connection request policy NAME"
  radius::packet request;        // the request after the policy's attribute manipulation
};
crp_decision evaluate_crp(const policies& p, const request_facts& f, trace& t);

struct np_decision {
  const network_policy* policy = nullptr;  // the deciding policy; null when none matched (48)
  bool accept = false;
  reason why = reason::success;
  std::string detail;  // what failed, in words
  std::vector<const reply_attribute*> reply;  // the policy's settings (on accept)
  std::optional<std::uint32_t> session_timeout;
  std::optional<std::uint32_t> idle_timeout;
};
// `acct` is the authenticated account (null when credentials were not validated and the user
// is unknown). Dial-in permission comes from acct unless the policy ignores it.
np_decision evaluate_network_policy(const policies& p, const request_facts& f,
                                    const ldap::account* acct, trace& t);

}  // namespace npsd::policy
