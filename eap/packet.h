#pragma once
// EAP packets (RFC 3748 section 4) and their carriage in RADIUS EAP-Message attributes
// (RFC 3579 3.1). Pure: bytes in, values out; untrusted input gives an error value.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "radius/expected.h"
#include "radius/packet.h"

namespace npsd::eap {

using radius::byte_view;
using radius::bytes;

enum class code : std::uint8_t { request = 1, response = 2, success = 3, failure = 4 };

namespace type {
inline constexpr std::uint8_t identity = 1;
inline constexpr std::uint8_t notification = 2;
inline constexpr std::uint8_t nak = 3;
inline constexpr std::uint8_t tls = 13;
inline constexpr std::uint8_t peap = 25;
inline constexpr std::uint8_t mschapv2 = 26;
inline constexpr std::uint8_t expanded = 254;
}  // namespace type

inline constexpr std::size_t max_eap_size = 65535;

struct packet {
  eap::code code = code::request;
  std::uint8_t identifier = 0;
  std::uint8_t type = 0;  // Request/Response only
  bytes data;             // after the type byte
};

enum class parse_error {
  too_short = 1,     // fewer than 4 bytes, or a Request/Response without a type
  bad_length,        // the length field disagrees with the bytes given
  unknown_code,
};
std::string_view parse_error_text(parse_error e) noexcept;

// The bytes must be exactly one EAP packet (RFC 3579: EAP-Message attributes concatenated).
expected<packet, parse_error> parse(byte_view in);
bytes encode(const packet& p);

// The EAP packet a RADIUS request carries (its EAP-Message attributes concatenated), or
// nullopt when it carries none.
std::optional<expected<packet, parse_error>> from_radius(const radius::packet& p);
// Appends `eap` to `p` as EAP-Message attributes of at most 253 bytes each.
void add_to_radius(radius::packet& p, byte_view eap);

}  // namespace npsd::eap
