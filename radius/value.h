#pragma once
// Attribute values as text (for people, configuration and JSON) and as wire bytes, per the
// attribute's dictionary type. Pure functions; errors are values.
#include <cstdint>
#include <string>
#include <string_view>

#include "radius/dictionary.h"
#include "radius/expected.h"
#include "radius/packet.h"

namespace npsd::radius {

// Wire bytes -> text:
//   integer, byte, short  the VALUE name if the number has one, else decimal
//   signed, integer64     decimal;  date: seconds since 1970-01-01 UTC, decimal
//   ipaddr, ipv6addr      dotted quad / RFC 5952 text; combo-ip either, by length
//   ipv6prefix/ipv4prefix "address/length"
//   ether                 aa:bb:cc:dd:ee:ff;  ifid: 0011:2233:4455:6677
//   string                as is when valid UTF-8 without control characters, else 0x-hex
//   octets and the rest   0x followed by lowercase hex
// A value whose length does not fit its type is shown as 0x-hex. For has_tag attributes the
// caller strips the tag first (see split_tag): a tagged integer is then 3 bytes long.
std::string format_value(const attribute_def& def, byte_view wire);

// Text -> wire bytes, the inverse of format_value. integer/byte/short take decimal or a VALUE
// name (case-insensitive); octets take 0x-hex, or any other text as its bytes; string is
// taken as is. Ranges and lengths are checked (at most 253 bytes; 128 for encrypt=1, 239
// for encrypt=2, so that the hidden value still fits). The error names the attribute and
// what was expected, e.g. "expected an IPv4 address for Framed-IP-Address".
expected<bytes, std::string> parse_value(const attribute_def& def, std::string_view text);

// As parse_value, with an RFC 2868 tag (0..31) for has_tag attributes. Integer types: the tag
// replaces the first byte of the 4-byte value (which must then fit in 24 bits). Other types:
// a tag byte precedes the value; tag 0 is left out when the value's first byte is above
// 0x1F (so it cannot be taken for a tag), except for encrypted attributes (Tunnel-Password),
// which always carry the tag byte and whose remaining bytes are the plaintext to hide.
expected<bytes, std::string> parse_tagged_value(const attribute_def& def, std::uint8_t tag,
                                                std::string_view text);

// The tag of a has_tag attribute's wire value, and the value without it (the inverse of
// parse_tagged_value). For attributes without has_tag: tag 0 and the whole value.
struct tagged_view {
  std::uint8_t tag = 0;
  byte_view value;
};
tagged_view split_tag(const attribute_def& def, byte_view wire) noexcept;

}  // namespace npsd::radius
