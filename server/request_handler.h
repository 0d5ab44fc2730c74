#pragma once
// The request pipeline: client lookup, decoding, authenticator checks, duplicate detection,
// then the work for each packet type, ending in one reply or a deliberate silence.
// No sockets here: the listener hands in a datagram and a function that sends the reply.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>

#include "accounting/store.h"
#include "eap/conversation_table.h"
#include "eap/packet.h"
#include "policy/config.h"
#include "policy/evaluate.h"
#include "policy/reason.h"
#include "radius/packet.h"
#include "server/counters.h"
#include "server/duplicate_cache.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/runtime.h"

namespace npsd::server {

struct datagram {
  policy::listener_kind kind = policy::listener_kind::auth;
  policy::ip_address address;
  std::uint16_t port = 0;
  radius::bytes data;
};

// Sends the encoded reply to the datagram's source. May be called from any thread.
using reply_sink = std::function<void(const radius::bytes&)>;

class request_handler {
 public:
  request_handler(counters& c, std::chrono::seconds duplicate_ttl, std::size_t duplicate_entries,
                  std::chrono::seconds log_interval);

  void handle(std::shared_ptr<const runtime> rt, datagram d, reply_sink send);

  // The accounting store (null: Accounting-Requests are not acknowledged) and its settings.
  // Set before the first request; the store outlives the handler's requests.
  // Cleared (set to null) before the store goes; a request finishing late then logs nothing.
  void set_store(accounting::store* s, const accounting::store_config& cfg) {
    if (s != nullptr) store_cfg_ = cfg;
    store_.store(s);
  }

  // Where requests are counted by client, type and result, and decisions timed (null: not).
  // Set before the first request; the metrics outlive the handler.
  void set_metrics(metrics* m);

  // Requests accepted for processing and not yet finished.
  std::size_t in_flight() const noexcept { return in_flight_.load(); }

 private:
  struct exchange;
  friend struct exchange;

  void start_access(std::shared_ptr<exchange> x);
  void start_accounting(std::shared_ptr<exchange> x);
  void log_auth_event(const exchange& x, radius::code c, policy::reason why,
                      std::string_view class_value, std::int64_t latency_us);
  // EAP (request_eap.cc): a round of a conversation, and the decision once the method succeeded.
  void start_eap(std::shared_ptr<exchange> x, eap::packet p);
  void eap_step(std::shared_ptr<exchange> x, std::shared_ptr<eap::conversation> c, eap::step st);
  void eap_authenticated(std::shared_ptr<exchange> x);
  void offer_policy_methods(exchange& x, eap::conversation& c, const ldap::account& acct);
  void authorize(std::shared_ptr<exchange> x);
  static policy::request_facts facts_of(const exchange& x, const radius::packet& p);
  void finish(exchange& x, radius::code code, policy::reason why, std::string_view detail = {},
              const policy::np_decision* granted = nullptr);
  void discard(exchange& x, std::string_view why);
  void log_decision(const exchange& x, std::string_view result, policy::reason why,
                    std::string_view text, std::int64_t latency_us);
  void count(const exchange& x, std::string_view type, std::string_view result);
  void drop_limited(std::string_view what, const datagram& d, std::initializer_list<log_field> f);

  counters& counters_;
  duplicate_cache duplicates_;
  log_limiter limiter_;
  std::atomic<std::size_t> in_flight_{0};
  eap::conversation_table conversations_;
  std::atomic<accounting::store*> store_{nullptr};
  accounting::store_config store_cfg_;
  metrics* metrics_ = nullptr;

 public:
  std::size_t eap_conversations() const { return conversations_.size(); }
  // Drops the EAP conversations whose time is up (a timer calls it); how many went.
  std::size_t sweep_eap_conversations() { return conversations_.sweep(std::chrono::steady_clock::now()); }
  eap::conversation_table::counters eap_stats() const { return conversations_.stats(); }
};

}  // namespace npsd::server
