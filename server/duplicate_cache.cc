#include "server/duplicate_cache.h"

#include <cstring>

namespace npsd::server {

std::size_t duplicate_cache::key_hash::operator()(const duplicate_key& k) const noexcept {
  // FNV-1a over the key fields; the authenticator is random, so this spreads well.
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ULL;
  };
  mix(k.authenticator.data(), k.authenticator.size());
  mix(k.address.data(), k.v6 ? 16 : 4);
  mix(&k.port, sizeof k.port);
  mix(&k.identifier, 1);
  mix(&k.listener, 1);
  return static_cast<std::size_t>(h);
}

duplicate_cache::duplicate_cache(clock::duration ttl, std::size_t max_entries)
    : ttl_(ttl), max_per_shard_(std::max<std::size_t>(1, max_entries / shard_count)) {}

duplicate_cache::shard& duplicate_cache::shard_for(const duplicate_key& k) {
  return shards_[key_hash{}(k) % shard_count];
}

void duplicate_cache::evict(shard& s, clock::time_point now) {
  while (!s.order.empty()) {
    const auto& [key, seq] = s.order.front();
    const auto it = s.map.find(key);
    if (it == s.map.end() || it->second.seq != seq) {  // already gone or re-inserted
      s.order.pop_front();
      continue;
    }
    if (now - it->second.time < ttl_ && s.map.size() < max_per_shard_) break;
    s.map.erase(it);
    s.order.pop_front();
  }
  // `order` may hold stale items for erased keys; keep it from growing without bound.
  if (s.order.size() > 2 * max_per_shard_ + 16) {
    std::deque<std::pair<duplicate_key, std::uint64_t>> live;
    for (const auto& item : s.order) {
      const auto it = s.map.find(item.first);
      if (it != s.map.end() && it->second.seq == item.second) live.push_back(item);
    }
    s.order.swap(live);
  }
}

duplicate_cache::result duplicate_cache::begin(const duplicate_key& k, clock::time_point now) {
  auto& s = shard_for(k);
  std::lock_guard lock(s.mu);
  evict(s, now);
  const auto it = s.map.find(k);
  if (it != s.map.end() && now - it->second.time < ttl_) {
    if (it->second.reply) return {status::replay, it->second.reply};
    return {status::in_progress, nullptr};
  }
  const auto seq = s.next_seq++;
  s.map.insert_or_assign(k, entry{now, seq, nullptr});
  s.order.emplace_back(k, seq);
  if (s.map.size() > max_per_shard_) evict(s, now);
  return {status::fresh, nullptr};
}

void duplicate_cache::complete(const duplicate_key& k, reply_ptr reply, clock::time_point now) {
  auto& s = shard_for(k);
  std::lock_guard lock(s.mu);
  const auto it = s.map.find(k);
  if (it == s.map.end()) return;  // evicted meanwhile: nothing to remember it by
  it->second.reply = std::move(reply);
  it->second.time = now;  // the ttl runs from the reply, as the NAS's retries do
}

void duplicate_cache::forget(const duplicate_key& k) {
  auto& s = shard_for(k);
  std::lock_guard lock(s.mu);
  s.map.erase(k);
}

std::size_t duplicate_cache::size() const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.map.size();
  }
  return n;
}

}  // namespace npsd::server
