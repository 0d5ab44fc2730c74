#include "eap/conversation_table.h"

#include "radius/crypto.h"

namespace npsd::eap {

std::string conversation_table::new_state() {
  std::string s(16, '\0');
  radius::random_bytes(std::span(reinterpret_cast<std::uint8_t*>(s.data()), s.size()));
  return s;
}

void conversation_table::erase_locked(std::unordered_map<std::string, entry>::iterator it) {
  auto st = stations_.find(it->second.station);
  if (st != stations_.end()) {
    auto& q = st->second;
    for (auto i = q.begin(); i != q.end(); ++i)
      if (i->second == it->second.seq) {
        q.erase(i);
        break;
      }
    if (q.empty()) stations_.erase(st);
  }
  entries_.erase(it);
}

void conversation_table::expire_locked(clock::time_point now) {
  while (!order_.empty()) {
    const auto& [state, seq] = order_.front();
    auto it = entries_.find(state);
    if (it == entries_.end() || it->second.seq != seq) {  // taken or replaced already
      order_.pop_front();
      continue;
    }
    if (it->second.expires > now) break;
    ++stats_.expired;
    erase_locked(it);
    order_.pop_front();
  }
  // Stale items can pile up in order_ while the oldest entry lives on: bound them.
  if (order_.size() > 4 * entries_.size() + 64) {
    std::deque<std::pair<std::string, std::uint64_t>> live;
    for (auto& item : order_) {
      auto it = entries_.find(item.first);
      if (it != entries_.end() && it->second.seq == item.second) live.push_back(std::move(item));
    }
    order_ = std::move(live);
  }
}

void conversation_table::evict_oldest_locked(const std::string* station) {
  if (station != nullptr) {
    auto st = stations_.find(*station);
    if (st == stations_.end() || st->second.empty()) return;
    const auto state = st->second.front().first;
    auto it = entries_.find(state);
    if (it != entries_.end()) {
      ++stats_.evicted;
      erase_locked(it);
    }
    return;
  }
  while (!order_.empty()) {
    const auto [state, seq] = order_.front();
    order_.pop_front();
    auto it = entries_.find(state);
    if (it != entries_.end() && it->second.seq == seq) {
      ++stats_.evicted;
      erase_locked(it);
      return;
    }
  }
}

std::size_t conversation_table::put(std::string state, std::string station,
                                    std::shared_ptr<conversation> c, const limits& l,
                                    clock::time_point now) {
  std::lock_guard lock(mu_);
  expire_locked(now);
  // The same State again replaces the entry (its station's bookkeeping with it).
  if (auto same = entries_.find(state); same != entries_.end()) erase_locked(same);
  std::size_t dropped = 0;
  if (l.max_per_station > 0) {
    auto st = stations_.find(station);
    while (st != stations_.end() && st->second.size() >= l.max_per_station) {
      const auto before = st->second.size();
      evict_oldest_locked(&station);
      ++dropped;
      st = stations_.find(station);
      if (st != stations_.end() && st->second.size() == before) st->second.pop_front();  // stale
    }
  }
  while (l.max_total > 0 && entries_.size() >= l.max_total && !order_.empty()) {
    evict_oldest_locked(nullptr);
    ++dropped;
  }
  const auto seq = ++seq_;
  order_.emplace_back(state, seq);
  stations_[station].emplace_back(state, seq);
  entries_[std::move(state)] = entry{std::move(c), std::move(station), now + l.timeout, seq};
  return dropped;
}

std::shared_ptr<conversation> conversation_table::take(const std::string& state,
                                                       clock::time_point now) {
  std::lock_guard lock(mu_);
  expire_locked(now);
  auto it = entries_.find(state);
  if (it == entries_.end()) return nullptr;
  if (it->second.expires <= now) {
    ++stats_.expired;
    erase_locked(it);
    return nullptr;
  }
  auto c = std::move(it->second.conv);
  erase_locked(it);
  return c;
}

std::size_t conversation_table::sweep(clock::time_point now) {
  std::lock_guard lock(mu_);
  const auto before = entries_.size();
  expire_locked(now);
  return before - entries_.size();
}

std::size_t conversation_table::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

conversation_table::counters conversation_table::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace npsd::eap
