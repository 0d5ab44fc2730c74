#pragma once
// Duplicate detection (RFC 5080 2.2.2): a retransmission of a finished request (same client
// address and port, Identifier and Request Authenticator) gets the cached reply byte for byte;
// one still in progress is absorbed. Bounded in time (ttl) and size (oldest evicted first).
#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "radius/packet.h"

namespace npsd::server {

struct duplicate_key {
  std::array<std::uint8_t, 16> address{};
  bool v6 = false;
  std::uint16_t port = 0;
  std::uint8_t listener = 0;  // auth and accounting ports have separate identifier spaces
  std::uint8_t identifier = 0;
  radius::authenticator_t authenticator{};
  bool operator==(const duplicate_key&) const = default;
};

class duplicate_cache {
 public:
  using clock = std::chrono::steady_clock;
  using reply_ptr = std::shared_ptr<const radius::bytes>;

  enum class status { fresh, in_progress, replay };
  struct result {
    status state;
    reply_ptr reply;  // set for replay
  };

  duplicate_cache(std::chrono::steady_clock::duration ttl, std::size_t max_entries);

  // A fresh request is recorded as in progress.
  result begin(const duplicate_key& k, clock::time_point now);
  // The request finished with this reply; retransmissions within the ttl get it.
  void complete(const duplicate_key& k, reply_ptr reply, clock::time_point now);
  // The request finished without a reply (e.g. discarded): a retransmission is processed anew.
  void forget(const duplicate_key& k);

  std::size_t size() const;

 private:
  struct key_hash {
    std::size_t operator()(const duplicate_key& k) const noexcept;
  };
  struct entry {
    clock::time_point time;
    std::uint64_t seq;
    reply_ptr reply;  // null while in progress
  };
  struct shard {
    mutable std::mutex mu;
    std::unordered_map<duplicate_key, entry, key_hash> map;
    std::deque<std::pair<duplicate_key, std::uint64_t>> order;  // insertion order, lazy
    std::uint64_t next_seq = 0;
  };
  static constexpr std::size_t shard_count = 16;

  shard& shard_for(const duplicate_key& k);
  void evict(shard& s, clock::time_point now);

  clock::duration ttl_;
  std::size_t max_per_shard_;
  std::array<shard, shard_count> shards_;
};

}  // namespace npsd::server
