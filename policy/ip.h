#pragma once
// IPv4/IPv6 addresses and prefixes for client matching and conditions. Pure value types.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace npsd::policy {

struct ip_address {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // IPv4 in the first 4 bytes

  // Accepts dotted IPv4 and textual IPv6; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is
  // read as the IPv4 address, so a client configured as IPv4 matches on a dual-stack socket.
  static std::optional<ip_address> parse(std::string_view text);
  static ip_address from_v4(std::uint32_t host_order);
  static ip_address from_v6(const std::array<std::uint8_t, 16>& b);
  std::string to_string() const;
  bool operator==(const ip_address&) const = default;
};

struct ip_prefix {
  ip_address address;
  std::uint8_t length = 0;  // 0..32 or 0..128

  // "10.1.0.0/16", "2001:db8::/32", or a bare address (a host prefix). Host bits must be zero.
  static std::optional<ip_prefix> parse(std::string_view text, std::string* why = nullptr);
  bool contains(const ip_address& a) const noexcept;
  std::string to_string() const;
  bool operator==(const ip_prefix&) const = default;
};

}  // namespace npsd::policy
