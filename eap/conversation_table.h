#pragma once
// The EAP conversations between rounds, keyed by the State attribute npsd sent (16 random
// bytes). Bounded: each entry expires after a timeout, at most `max_total` are kept and at
// most `max_per_station` per Calling-Station-Id; beyond a bound the oldest is dropped, so
// abandoned conversations cannot exhaust memory nor lock a station out. Thread-safe; time is
// passed in so tests can step it.
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "eap/conversation.h"

namespace npsd::eap {

class conversation_table {
 public:
  using clock = std::chrono::steady_clock;
  struct limits {
    std::size_t max_total = 4096;
    std::size_t max_per_station = 16;
    std::chrono::seconds timeout{30};
  };

  // A new State value: 16 random bytes.
  static std::string new_state();

  // Keeps `c` under `state` until `now + timeout`. Returns how many others were dropped to
  // make room (0 normally).
  std::size_t put(std::string state, std::string station, std::shared_ptr<conversation> c,
                  const limits& l, clock::time_point now);
  // Removes and returns the conversation kept under `state`, or null (unknown or expired).
  std::shared_ptr<conversation> take(const std::string& state, clock::time_point now);

  // Drops the expired entries now (they also go on every put and take); how many went.
  std::size_t sweep(clock::time_point now);

  std::size_t size() const;
  struct counters {
    std::uint64_t expired = 0;
    std::uint64_t evicted = 0;  // dropped for a bound
  };
  counters stats() const;

 private:
  struct entry {
    std::shared_ptr<conversation> conv;
    std::string station;
    clock::time_point expires;
    std::uint64_t seq;
  };
  void erase_locked(std::unordered_map<std::string, entry>::iterator it);
  void expire_locked(clock::time_point now);
  void evict_oldest_locked(const std::string* station);

  mutable std::mutex mu_;
  std::unordered_map<std::string, entry> entries_;
  // Insertion order (state, seq): entries expire in this order since the timeout is common
  // at any one time; stale items (taken already) are skipped.
  std::deque<std::pair<std::string, std::uint64_t>> order_;
  std::unordered_map<std::string, std::deque<std::pair<std::string, std::uint64_t>>> stations_;
  std::uint64_t seq_ = 0;
  counters stats_;
};

}  // namespace npsd::eap
