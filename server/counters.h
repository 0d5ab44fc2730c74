#pragma once
// Process-wide counters of what happened to packets (the future metrics endpoint reads these).
#include <atomic>
#include <cstdint>

namespace npsd::server {

struct counters {
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> unknown_client{0};
  std::atomic<std::uint64_t> malformed{0};
  std::atomic<std::uint64_t> wrong_port{0};           // e.g. Accounting-Request on the auth port
  std::atomic<std::uint64_t> bad_authenticator{0};    // Accounting-Request authenticator
  std::atomic<std::uint64_t> bad_message_authenticator{0};  // missing or invalid: reason 262
  // limit_proxy_state: an exempted client's Access-Request with Proxy-State and no
  // Message-Authenticator (reason 262)
  std::atomic<std::uint64_t> proxy_state_without_message_authenticator{0};
  std::atomic<std::uint64_t> duplicates_replayed{0};
  std::atomic<std::uint64_t> duplicates_absorbed{0};
  std::atomic<std::uint64_t> overload_dropped{0};
  // password checks dropped unstarted after server.max_queue_wait_ms (request discarded)
  std::atomic<std::uint64_t> overload_expired{0};
  std::atomic<std::uint64_t> access_accepts{0};
  std::atomic<std::uint64_t> access_rejects{0};
  std::atomic<std::uint64_t> access_challenges{0};
  std::atomic<std::uint64_t> discarded{0};            // decided to send nothing (directory down)
  std::atomic<std::uint64_t> status_server{0};
  std::atomic<std::uint64_t> accounting_responses{0};   // sent after the record committed
  std::atomic<std::uint64_t> accounting_not_stored{0};  // no store, queue full or store failing
  std::atomic<std::uint64_t> discarded_logging_failed{0};  // NPS option: logging failing
  std::atomic<std::uint64_t> send_errors{0};
};

}  // namespace npsd::server
