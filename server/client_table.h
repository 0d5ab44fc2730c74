#pragma once
// RADIUS clients by source address: the most specific configured prefix wins.
#include <unordered_map>
#include <vector>

#include "policy/config.h"

namespace npsd::server {

class client_table {
 public:
  explicit client_table(const std::vector<policy::client_config>& clients);
  // nullptr when no client covers the address. The pointer lives as long as the table.
  const policy::client_config* find(const policy::ip_address& a) const noexcept;

 private:
  struct key_hash {
    std::size_t operator()(const policy::ip_address& a) const noexcept;
  };
  std::unordered_map<policy::ip_address, const policy::client_config*, key_hash> hosts_;
  std::vector<const policy::client_config*> prefixes_;  // longest prefix first
};

}  // namespace npsd::server
