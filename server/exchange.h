#pragma once
// One request in the pipeline (private to server/): what arrived, what was decided on the way,
// and the reply's pieces. Shared by request_handler.cc and request_eap.cc.
#include <openssl/crypto.h>

#include <chrono>
#include <optional>
#include <string>

#include "eap/certificate.h"
#include "ldap/directory.h"
#include "policy/evaluate.h"
#include "server/request_handler.h"

namespace npsd::server {

using clock = std::chrono::steady_clock;

struct request_handler::exchange {
  request_handler& h;
  std::shared_ptr<const runtime> rt;
  const policy::client_config* client = nullptr;
  datagram d;
  radius::packet req;
  reply_sink send;
  duplicate_key key;
  clock::time_point start = clock::now();
  std::string user;         // User-Name as received
  std::string mapped_user;  // User-Name after the CRP's attribute manipulation
  std::string password;     // cleansed on destruction
  bool replied = false;
  radius::packet request;   // the request after attribute manipulation (what NPs see)
  policy::trace trace;
  const policy::connection_request_policy* crp = nullptr;
  const policy::network_policy* np = nullptr;
  std::optional<ldap::account> acct;
  // EAP: the method that authenticated, the certificate and what it mapped to, the MSK.
  std::optional<policy::auth_method> method;
  std::optional<std::uint8_t> eap_type;
  std::optional<eap::certificate_info> certificate;
  std::string certificate_identity;
  std::string authenticated_identity;  // what EAP proved: the certificate's identity, or the
                                       // MS-CHAPv2 user name
  std::string tls_version;
  bool resumed = false;        // EAP fast reconnect
  radius::bytes msk;           // cleansed on destruction
  radius::bytes eap_reply;     // the EAP packet the reply carries (Success, Failure, Request)
  std::string state;           // State of an Access-Challenge
  // The runtime the request arrived on, kept alive (x->client points into it) when an EAP
  // conversation continues on the runtime it started on.
  std::shared_ptr<const runtime> arrival_rt;

  exchange(request_handler& handler, std::shared_ptr<const runtime> r, datagram dg, reply_sink s)
      : h(handler), rt(std::move(r)), d(std::move(dg)), send(std::move(s)) {}
  exchange(const exchange&) = delete;
  exchange& operator=(const exchange&) = delete;
  ~exchange() {
    if (!password.empty()) OPENSSL_cleanse(password.data(), password.size());
    if (!msk.empty()) OPENSSL_cleanse(msk.data(), msk.size());
    if (!replied) h.duplicates_.forget(key);  // a retransmission will be processed anew
    h.in_flight_.fetch_sub(1);
  }
};

}  // namespace npsd::server
