#include "radius/value.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstring>
#include <optional>

namespace npsd::radius {
namespace {

constexpr std::size_t max_user_password = 128;  // RFC 2865 5.2
constexpr std::size_t max_salted =
    239;  // RFC 2868 3.5: 2 salt bytes + 15 blocks of 16, less the length byte

std::uint64_t read_be(byte_view b) noexcept {
  std::uint64_t v = 0;
  for (std::uint8_t x : b) v = v << 8 | x;
  return v;
}

void put_be(bytes& out, std::uint64_t v, std::size_t n) {
  for (std::size_t i = n; i-- > 0;) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

constexpr char hex_digits[] = "0123456789abcdef";

std::string to_hex(byte_view b) {
  std::string s = "0x";
  s.reserve(2 + 2 * b.size());
  for (std::uint8_t x : b) {
    s += hex_digits[x >> 4];
    s += hex_digits[x & 0xf];
  }
  return s;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// An even number of hex digits.
std::optional<bytes> from_hex(std::string_view s) {
  if (s.size() % 2 != 0) return std::nullopt;
  bytes out;
  out.reserve(s.size() / 2);
  for (std::size_t i = 0; i < s.size(); i += 2) {
    const int hi = hex_value(s[i]);
    const int lo = hex_value(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
  }
  return out;
}

// Well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF) without
// C0 or C1 control characters or DEL.
bool is_printable_utf8(byte_view b) noexcept {
  std::size_t i = 0;
  while (i < b.size()) {
    const std::uint8_t c = b[i];
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++i;
      continue;
    }
    std::size_t n = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + n >= b.size()) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      if ((b[i + k] & 0xc0) != 0x80) return false;
      cp = cp << 6 | (b[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// Unsigned decimal, digits only, within max.
std::optional<std::uint64_t> parse_decimal(std::string_view s, std::uint64_t max) noexcept {
  if (s.empty() || s[0] < '0' || s[0] > '9') return std::nullopt;
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

// inet_pton wants a NUL-terminated string.
template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> parse_address(std::string_view s) {
  constexpr int family = N == 4 ? AF_INET : AF_INET6;
  std::array<char, INET6_ADDRSTRLEN + 1> buf{};
  if (s.empty() || s.size() >= buf.size()) return std::nullopt;
  std::memcpy(buf.data(), s.data(), s.size());
  std::array<std::uint8_t, N> out{};
  if (inet_pton(family, buf.data(), out.data()) != 1) return std::nullopt;
  return out;
}

std::string format_address(byte_view b) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  const bool v4 = b.size() == 4;
  if (!inet_ntop(v4 ? AF_INET : AF_INET6, b.data(), buf.data(), buf.size())) return to_hex(b);
  return buf.data();
}

std::string format_ipv6prefix(byte_view w) {
  if (w.size() < 2 || w.size() > 18 || w[1] > 128 || (w.size() - 2) * 8 < w[1]) return to_hex(w);
  std::array<std::uint8_t, 16> addr{};
  std::memcpy(addr.data(), w.data() + 2, w.size() - 2);
  return format_address(addr) + "/" + std::to_string(w[1]);
}

std::string format_ipv4prefix(byte_view w) {
  if (w.size() != 6 || w[1] > 32) return to_hex(w);
  return format_address(w.subspan(2)) + "/" + std::to_string(w[1]);
}

// The numeric types (VALUE names apply to the unsigned ones).
std::string format_number(const attribute_def& def, std::uint32_t v) {
  if (const auto name = def.name_of(v)) return std::string(*name);
  return std::to_string(v);
}

std::string format_separated(byte_view b, std::size_t group, char sep) {
  std::string s;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i > 0 && i % group == 0) s += sep;
    s += hex_digits[b[i] >> 4];
    s += hex_digits[b[i] & 0xf];
  }
  return s;
}

using result = expected<bytes, std::string>;

result expected_for(const attribute_def& def, std::string_view what) {
  return unexpected("expected " + std::string(what) + " for " + def.name);
}

// "address/length" with no bits set past the prefix length.
template <std::size_t N>
result parse_prefix(const attribute_def& def, std::string_view text) {
  constexpr unsigned max_len = N * 8;
  const char* what = N == 4 ? "an IPv4 prefix (address/0..32)" : "an IPv6 prefix (address/0..128)";
  const std::size_t slash = text.rfind('/');
  if (slash == std::string_view::npos) return expected_for(def, what);
  const auto addr = parse_address<N>(text.substr(0, slash));
  const auto len = parse_decimal(text.substr(slash + 1), max_len);
  if (!addr || !len) return expected_for(def, what);
  for (unsigned bit = static_cast<unsigned>(*len); bit < max_len; ++bit) {
    if ((*addr)[bit / 8] & (0x80 >> (bit % 8))) {
      return unexpected("expected a prefix with no bits set after the first " +
                        std::to_string(*len) + " for " + def.name);
    }
  }
  bytes out{0, static_cast<std::uint8_t>(*len)};
  out.insert(out.end(), addr->begin(), addr->end());
  return out;
}

// Groups of hex digits separated by one separator: MAC addresses and interface ids.
std::optional<bytes> parse_grouped_hex(std::string_view text, std::size_t groups,
                                       std::size_t group_bytes, std::string_view separators) {
  const std::size_t digits = 2 * group_bytes;
  if (text.size() != groups * digits + groups - 1) return std::nullopt;
  const char sep = text.size() > digits ? text[digits] : '\0';
  if (separators.find(sep) == std::string_view::npos) return std::nullopt;
  std::string joined;
  for (std::size_t g = 0; g < groups; ++g) {
    const std::size_t at = g * (digits + 1);
    if (g > 0 && text[at - 1] != sep) return std::nullopt;
    joined.append(text.substr(at, digits));
  }
  return from_hex(joined);
}

result check_length(const attribute_def& def, bytes v) {
  std::size_t max = max_attribute_value;
  if (def.encrypt == 1) max = max_user_password;
  if (def.encrypt == 2) max = max_salted;
  if (def.fixed_length != 0 && v.size() != def.fixed_length) {
    return unexpected("expected exactly " + std::to_string(def.fixed_length) + " bytes for " +
                      def.name + ", got " + std::to_string(v.size()));
  }
  if (v.size() > max) {
    return unexpected("expected at most " + std::to_string(max) + " bytes for " + def.name +
                      ", got " + std::to_string(v.size()));
  }
  return v;
}

result parse_untagged(const attribute_def& def, std::string_view text) {
  bytes out;
  switch (def.type) {
    case attr_type::string: return bytes(text.begin(), text.end());

    case attr_type::octets:
    case attr_type::tlv:
    case attr_type::vsa:
    case attr_type::abinary: {
      if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        auto b = from_hex(text.substr(2));
        if (!b) return expected_for(def, "0x followed by an even number of hex digits");
        return std::move(*b);
      }
      if (def.type != attr_type::octets) {
        return expected_for(def, "0x followed by an even number of hex digits");
      }
      return bytes(text.begin(), text.end());
    }

    case attr_type::integer:
    case attr_type::byte:
    case attr_type::short_: {
      const std::size_t size = def.type == attr_type::integer ? 4
                               : def.type == attr_type::byte  ? 1
                                                              : 2;
      const std::uint64_t max = def.type == attr_type::integer ? 0xffffffff
                                : def.type == attr_type::byte  ? 0xff
                                                               : 0xffff;
      auto v = parse_decimal(text, max);
      if (!v) {
        if (const auto named = def.value_of(text); named && *named <= max) v = *named;
      }
      if (!v) {
        const std::string range = def.type == attr_type::integer ? "an unsigned 32-bit integer"
                                  : def.type == attr_type::byte  ? "an integer 0..255"
                                                                 : "an integer 0..65535";
        return expected_for(def, def.has_values() ? range + " or a VALUE name" : range);
      }
      put_be(out, *v, size);
      return out;
    }

    case attr_type::signed_: {
      std::int32_t v = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (text.empty() || text[0] == '+' || ec != std::errc{} || end != text.data() + text.size()) {
        return expected_for(def, "a signed 32-bit integer");
      }
      put_be(out, static_cast<std::uint32_t>(v), 4);
      return out;
    }

    case attr_type::integer64: {
      const auto v = parse_decimal(text, UINT64_MAX);
      if (!v) return expected_for(def, "an unsigned 64-bit integer");
      put_be(out, *v, 8);
      return out;
    }

    case attr_type::date: {
      const auto v = parse_decimal(text, 0xffffffff);
      if (!v) return expected_for(def, "a time in seconds since 1970-01-01 UTC (0..4294967295)");
      put_be(out, *v, 4);
      return out;
    }

    case attr_type::ipaddr: {
      const auto a = parse_address<4>(text);
      if (!a) return expected_for(def, "an IPv4 address");
      return bytes(a->begin(), a->end());
    }

    case attr_type::ipv6addr: {
      const auto a = parse_address<16>(text);
      if (!a) return expected_for(def, "an IPv6 address");
      return bytes(a->begin(), a->end());
    }

    case attr_type::combo_ip: {
      if (const auto a = parse_address<4>(text)) return bytes(a->begin(), a->end());
      if (const auto a = parse_address<16>(text)) return bytes(a->begin(), a->end());
      return expected_for(def, "an IPv4 or IPv6 address");
    }

    case attr_type::ipv6prefix: return parse_prefix<16>(def, text);

    case attr_type::ipv4prefix: return parse_prefix<4>(def, text);

    case attr_type::ether: {
      auto b = parse_grouped_hex(text, 6, 1, ":-");
      if (!b) return expected_for(def, "a MAC address such as 00:11:22:aa:bb:cc");
      return std::move(*b);
    }

    case attr_type::ifid: {
      auto b = parse_grouped_hex(text, 4, 2, ":");
      if (!b) return expected_for(def, "an interface id such as 0011:22ff:fe33:4455");
      return std::move(*b);
    }
  }
  return expected_for(def, "a value of a known type");
}

}  // namespace

std::string format_value(const attribute_def& def, byte_view w) {
  switch (def.type) {
    case attr_type::string:
      if (is_printable_utf8(w)) {
        return std::string(reinterpret_cast<const char*>(w.data()), w.size());
      }
      break;
    case attr_type::integer:
      if (w.size() == 4 || (w.size() == 3 && def.has_tag)) {
        return format_number(def, static_cast<std::uint32_t>(read_be(w)));
      }
      break;
    case attr_type::byte:
      if (w.size() == 1) return format_number(def, w[0]);
      break;
    case attr_type::short_:
      if (w.size() == 2) return format_number(def, static_cast<std::uint32_t>(read_be(w)));
      break;
    case attr_type::signed_:
      if (w.size() == 4) {
        return std::to_string(static_cast<std::int32_t>(static_cast<std::uint32_t>(read_be(w))));
      }
      break;
    case attr_type::integer64:
      if (w.size() == 8) return std::to_string(read_be(w));
      break;
    case attr_type::date:
      if (w.size() == 4) return std::to_string(read_be(w));
      break;
    case attr_type::ipaddr:
      if (w.size() == 4) return format_address(w);
      break;
    case attr_type::ipv6addr:
      if (w.size() == 16) return format_address(w);
      break;
    case attr_type::combo_ip:
      if (w.size() == 4 || w.size() == 16) return format_address(w);
      break;
    case attr_type::ipv6prefix: return format_ipv6prefix(w);
    case attr_type::ipv4prefix: return format_ipv4prefix(w);
    case attr_type::ether:
      if (w.size() == 6) return format_separated(w, 1, ':');
      break;
    case attr_type::ifid:
      if (w.size() == 8) return format_separated(w, 2, ':');
      break;
    case attr_type::octets:
    case attr_type::tlv:
    case attr_type::vsa:
    case attr_type::abinary: break;
  }
  return to_hex(w);
}

expected<bytes, std::string> parse_value(const attribute_def& def, std::string_view text) {
  auto v = parse_untagged(def, text);
  if (!v) return v;
  return check_length(def, std::move(*v));
}

expected<bytes, std::string> parse_tagged_value(const attribute_def& def, std::uint8_t tag,
                                                std::string_view text) {
  if (!def.has_tag) return unexpected(def.name + " does not take a tag");
  if (tag > 0x1f) {
    return unexpected("expected a tag 0..31 for " + def.name + ", got " + std::to_string(tag));
  }
  auto v = parse_value(def, text);
  if (!v) return v;
  bytes& b = *v;
  if (def.type == attr_type::integer) {
    if (b[0] != 0) {
      return unexpected("expected a value below 16777216 for " + def.name +
                        ", whose first byte holds the tag");
    }
    b[0] = tag;
    return v;
  }
  if (tag != 0 || def.encrypt != 0 || b.empty() || b[0] <= 0x1f) {
    if (b.size() >= max_attribute_value) {
      return unexpected("expected at most " + std::to_string(max_attribute_value - 1) +
                        " bytes for " + def.name + " with its tag, got " +
                        std::to_string(b.size()));
    }
    b.insert(b.begin(), tag);
  }
  return v;
}

tagged_view split_tag(const attribute_def& def, byte_view wire) noexcept {
  if (!def.has_tag || wire.empty()) return {0, wire};
  if (def.type == attr_type::integer || def.encrypt != 0 || wire[0] <= 0x1f) {
    return {wire[0], wire.subspan(1)};
  }
  return {0, wire};
}

}  // namespace npsd::radius
