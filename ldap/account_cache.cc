#include "ldap/account_cache.h"
#include "radius/ascii.h"

namespace npsd::ldap {

namespace {


}  // namespace

account_cache::account_cache(std::chrono::seconds ttl, std::chrono::seconds negative_ttl,
                             std::size_t max_entries, clock_fn clock)
    : ttl_(ttl), negative_ttl_(negative_ttl), max_entries_(max_entries), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
}

std::optional<cached_lookup> account_cache::get(std::string_view identity) {
  std::optional<cached_lookup> out;
  if (max_entries_ != 0) {
    const auto key = ascii_fold(identity);
    const auto now = clock_();
    std::lock_guard lock(mutex_);
    if (const auto it = index_.find(key); it != index_.end()) {
      if (it->second->expires > now) {
        out = it->second->value;
      } else {
        order_.erase(it->second);
        index_.erase(it);
      }
    }
  }
  (out ? hits_ : misses_).fetch_add(1, std::memory_order_relaxed);
  return out;
}

void account_cache::put(std::string_view identity, const cached_lookup& value) {
  const auto status = value.result.status;
  if (status == lookup_status::unavailable || max_entries_ == 0) return;
  const auto ttl = status == lookup_status::found ? ttl_ : negative_ttl_;
  if (ttl.count() <= 0) return;
  auto key = ascii_fold(identity);
  const auto now = clock_();
  std::lock_guard lock(mutex_);
  if (const auto it = index_.find(key); it != index_.end()) {
    order_.erase(it->second);
    index_.erase(it);
  }
  // Expired entries at the front go first, then the oldest until there is room.
  while (!order_.empty() && (order_.front().expires <= now || order_.size() >= max_entries_)) {
    index_.erase(order_.front().key);
    order_.pop_front();
  }
  order_.push_back(entry{key, value, now + ttl});
  index_.emplace(std::move(key), std::prev(order_.end()));
}

void account_cache::clear() {
  std::lock_guard lock(mutex_);
  order_.clear();
  index_.clear();
}

std::size_t account_cache::size() const {
  std::lock_guard lock(mutex_);
  return order_.size();
}

}  // namespace npsd::ldap
