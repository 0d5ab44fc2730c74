#include "server/client_table.h"

#include <algorithm>
#include <cstring>

namespace npsd::server {

std::size_t client_table::key_hash::operator()(const policy::ip_address& a) const noexcept {
  std::uint64_t h[2];
  std::memcpy(h, a.bytes.data(), 16);
  return std::hash<std::uint64_t>{}(h[0] * 0x9e3779b97f4a7c15ULL ^ h[1] ^ (a.v6 ? 1 : 0));
}

client_table::client_table(const std::vector<policy::client_config>& clients) {
  for (const auto& c : clients) {
    if (c.address.length == (c.address.address.v6 ? 128 : 32))
      hosts_.emplace(c.address.address, &c);
    else
      prefixes_.push_back(&c);
  }
  std::stable_sort(prefixes_.begin(), prefixes_.end(),
                   [](auto* a, auto* b) { return a->address.length > b->address.length; });
}

const policy::client_config* client_table::find(const policy::ip_address& a) const noexcept {
  if (const auto it = hosts_.find(a); it != hosts_.end()) return it->second;
  for (const auto* c : prefixes_)
    if (c->address.contains(a)) return c;
  return nullptr;
}

}  // namespace npsd::server
