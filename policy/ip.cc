#include "policy/ip.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace npsd::policy {

namespace {
constexpr std::array<std::uint8_t, 12> v4_mapped_prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
}

std::optional<ip_address> ip_address::parse(std::string_view text) {
  if (text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  ip_address a;
  if (inet_pton(AF_INET, buf, a.bytes.data()) == 1) return a;
  std::array<std::uint8_t, 16> b{};
  if (inet_pton(AF_INET6, buf, b.data()) == 1) return from_v6(b);
  return std::nullopt;
}

ip_address ip_address::from_v4(std::uint32_t h) {
  ip_address a;
  a.bytes[0] = static_cast<std::uint8_t>(h >> 24);
  a.bytes[1] = static_cast<std::uint8_t>(h >> 16);
  a.bytes[2] = static_cast<std::uint8_t>(h >> 8);
  a.bytes[3] = static_cast<std::uint8_t>(h);
  return a;
}

ip_address ip_address::from_v6(const std::array<std::uint8_t, 16>& b) {
  ip_address a;
  if (std::memcmp(b.data(), v4_mapped_prefix.data(), v4_mapped_prefix.size()) == 0) {
    std::memcpy(a.bytes.data(), b.data() + 12, 4);
    return a;
  }
  a.v6 = true;
  a.bytes = b;
  return a;
}

std::string ip_address::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  return buf;
}

std::optional<ip_prefix> ip_prefix::parse(std::string_view text, std::string* why) {
  auto fail = [&](const char* w) -> std::optional<ip_prefix> {
    if (why != nullptr) *why = w;
    return std::nullopt;
  };
  const auto slash = text.find('/');
  const auto addr = ip_address::parse(text.substr(0, slash));
  if (!addr) return fail("expected an IPv4 or IPv6 address, optionally with /prefix-length");
  ip_prefix p{*addr, static_cast<std::uint8_t>(addr->v6 ? 128 : 32)};
  if (slash != std::string_view::npos) {
    const auto len_text = text.substr(slash + 1);
    unsigned len = 0;
    const auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (ec != std::errc{} || end != len_text.data() + len_text.size() || len_text.empty() ||
        len > p.length)
      return fail(addr->v6 ? "prefix length must be 0..128" : "prefix length must be 0..32");
    p.length = static_cast<std::uint8_t>(len);
  }
  for (unsigned bit = p.length; bit < (addr->v6 ? 128u : 32u); ++bit)
    if (p.address.bytes[bit / 8] & (0x80 >> (bit % 8)))
      return fail("address has bits set beyond the prefix length");
  return p;
}

bool ip_prefix::contains(const ip_address& a) const noexcept {
  if (a.v6 != address.v6) return false;
  const unsigned full = length / 8, rest = length % 8;
  if (std::memcmp(a.bytes.data(), address.bytes.data(), full) != 0) return false;
  if (rest == 0) return true;
  const std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == (address.bytes[full] & mask);
}

std::string ip_prefix::to_string() const {
  return address.to_string() + "/" + std::to_string(length);
}

}  // namespace npsd::policy
