#pragma once
// The LDAP back end's cache of account lookups, keyed by the folded identity: found accounts
// for `ttl`, "no such account" for `negative_ttl`, at most `max_entries` (the oldest inserted
// goes first). "Unavailable" is never cached. Thread-safe; hits and misses counted.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iterator>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ldap/directory.h"

namespace npsd::ldap {

struct cached_lookup {
  lookup_result result;
  std::size_t direct_groups = 0;  // result.acct->groups[0, direct_groups) are direct
  std::string server;             // the server that answered
};

class account_cache {
 public:
  using clock_fn = std::function<std::chrono::steady_clock::time_point()>;

  account_cache(std::chrono::seconds ttl, std::chrono::seconds negative_ttl,
                std::size_t max_entries, clock_fn clock = {});

  // The unexpired entry for the identity (ASCII case-insensitive); counts a hit or a miss.
  std::optional<cached_lookup> get(std::string_view identity);
  // Keeps found and not_found results (when their TTL is not 0); ignores unavailable.
  void put(std::string_view identity, const cached_lookup& value);
  void clear();

  std::size_t size() const;
  std::uint64_t hits() const noexcept { return hits_.load(std::memory_order_relaxed); }
  std::uint64_t misses() const noexcept { return misses_.load(std::memory_order_relaxed); }

 private:
  struct entry {
    std::string key;
    cached_lookup value;
    std::chrono::steady_clock::time_point expires;
  };

  std::chrono::seconds ttl_, negative_ttl_;
  std::size_t max_entries_;
  clock_fn clock_;
  mutable std::mutex mutex_;
  std::list<entry> order_;  // oldest inserted first
  std::unordered_map<std::string, std::list<entry>::iterator> index_;
  std::atomic<std::uint64_t> hits_{0}, misses_{0};
};

}  // namespace npsd::ldap
