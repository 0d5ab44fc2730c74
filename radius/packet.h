#pragma once
// RADIUS packets on the wire (RFC 2865 section 3, RFC 2866 section 3). Pure: no I/O.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "radius/expected.h"

namespace npsd::radius {

using bytes = std::vector<std::uint8_t>;
using byte_view = std::span<const std::uint8_t>;
using authenticator_t = std::array<std::uint8_t, 16>;

inline constexpr std::size_t header_size = 20;
inline constexpr std::size_t max_packet_size = 4096;
inline constexpr std::size_t max_attribute_value = 253;

enum class code : std::uint8_t {
  access_request = 1,
  access_accept = 2,
  access_reject = 3,
  accounting_request = 4,
  accounting_response = 5,
  access_challenge = 11,
  status_server = 12,
  status_client = 13,
  disconnect_request = 40,
  disconnect_ack = 41,
  disconnect_nak = 42,
  coa_request = 43,
  coa_ack = 44,
  coa_nak = 45,
};

bool is_known_code(std::uint8_t c) noexcept;
std::string_view code_name(code c) noexcept;  // "Access-Request", ...

// Standard attribute numbers the core itself uses (the dictionary knows the rest).
namespace attr {
inline constexpr std::uint8_t user_name = 1;
inline constexpr std::uint8_t user_password = 2;
inline constexpr std::uint8_t chap_password = 3;
inline constexpr std::uint8_t nas_ip_address = 4;
inline constexpr std::uint8_t nas_port = 5;
inline constexpr std::uint8_t service_type = 6;
inline constexpr std::uint8_t framed_protocol = 7;
inline constexpr std::uint8_t framed_ip_address = 8;
inline constexpr std::uint8_t reply_message = 18;
inline constexpr std::uint8_t state = 24;
inline constexpr std::uint8_t class_ = 25;
inline constexpr std::uint8_t vendor_specific = 26;
inline constexpr std::uint8_t session_timeout = 27;
inline constexpr std::uint8_t idle_timeout = 28;
inline constexpr std::uint8_t called_station_id = 30;
inline constexpr std::uint8_t calling_station_id = 31;
inline constexpr std::uint8_t nas_identifier = 32;
inline constexpr std::uint8_t proxy_state = 33;
inline constexpr std::uint8_t acct_status_type = 40;
inline constexpr std::uint8_t acct_delay_time = 41;
inline constexpr std::uint8_t acct_input_octets = 42;
inline constexpr std::uint8_t acct_output_octets = 43;
inline constexpr std::uint8_t acct_session_id = 44;
inline constexpr std::uint8_t acct_session_time = 46;
inline constexpr std::uint8_t acct_input_packets = 47;
inline constexpr std::uint8_t acct_output_packets = 48;
inline constexpr std::uint8_t acct_terminate_cause = 49;
inline constexpr std::uint8_t acct_multi_session_id = 50;
inline constexpr std::uint8_t acct_input_gigawords = 52;
inline constexpr std::uint8_t acct_output_gigawords = 53;
inline constexpr std::uint8_t event_timestamp = 55;
inline constexpr std::uint8_t nas_port_type = 61;
inline constexpr std::uint8_t tunnel_type = 64;
inline constexpr std::uint8_t tunnel_medium_type = 65;
inline constexpr std::uint8_t tunnel_password = 69;
inline constexpr std::uint8_t eap_message = 79;
inline constexpr std::uint8_t message_authenticator = 80;
inline constexpr std::uint8_t tunnel_private_group_id = 81;
inline constexpr std::uint8_t nas_ipv6_address = 95;
}  // namespace attr

struct attribute {
  std::uint8_t type = 0;
  bytes value;  // 0..253 bytes; a Vendor-Specific attribute keeps its raw payload (vendor id first)

  std::string_view as_string() const noexcept {
    return {reinterpret_cast<const char*>(value.data()), value.size()};
  }
  std::optional<std::uint32_t> as_uint32() const noexcept;
  bool operator==(const attribute&) const = default;
};

struct packet {
  radius::code code = radius::code::access_request;
  std::uint8_t identifier = 0;
  authenticator_t authenticator{};
  std::vector<attribute> attributes;

  const attribute* find(std::uint8_t type) const noexcept;
  std::size_t count(std::uint8_t type) const noexcept;
  // Concatenation of every attribute of this type, in order (EAP-Message reassembly).
  bytes concat(std::uint8_t type) const;
  void add(std::uint8_t type, byte_view value);
  void add(std::uint8_t type, std::string_view value);
  void add_uint32(std::uint8_t type, std::uint32_t value);
  bool operator==(const packet&) const = default;
};

// Sub-attributes of a Vendor-Specific attribute (RFC 2865 5.26).
struct vsa {
  std::uint32_t vendor = 0;
  std::uint32_t type = 0;
  bytes value;
};
// Vendor sub-attribute layout: widths of the type and length fields (FreeRADIUS "format=t,l").
struct vsa_format {
  std::uint8_t type_size = 1;    // 1, 2 or 4
  std::uint8_t length_size = 1;  // 0, 1 or 2
};
// Splits a Vendor-Specific payload; nullopt when it is not well formed in that layout (the
// attribute is then kept opaque, as RFC 2865 allows).
std::optional<std::vector<vsa>> split_vsa(byte_view payload, vsa_format fmt = {});
// Payload of one Vendor-Specific attribute carrying one sub-attribute in the given layout.
bytes make_vsa(std::uint32_t vendor, std::uint32_t type, byte_view value, vsa_format fmt = {});

enum class decode_error {
  truncated_header = 1,   // fewer than 20 bytes
  length_too_small,       // length field below 20
  length_too_large,       // length field above 4096
  length_exceeds_datagram,
  unknown_code,
  attribute_truncated,    // fewer than 2 bytes left for an attribute header
  attribute_length_invalid,  // attribute length field 0 or 1
  attribute_overrun,      // attribute runs past the packet's length
};
const std::error_category& decode_category() noexcept;
inline std::error_code make_error_code(decode_error e) noexcept {
  return {static_cast<int>(e), decode_category()};
}

enum class encode_error {
  attribute_too_long = 1,  // value over 253 bytes
  packet_too_long,         // over 4096 bytes
};
const std::error_category& encode_category() noexcept;
inline std::error_code make_error_code(encode_error e) noexcept {
  return {static_cast<int>(e), encode_category()};
}

// Decodes a datagram. The length field is honoured: bytes after it are ignored; a datagram
// shorter than the length field is rejected. Unknown attributes and vendors are preserved.
expected<packet, decode_error> decode(byte_view datagram) noexcept;

// Encodes without touching authenticators (the caller signs; see crypto.h).
expected<bytes, encode_error> encode(const packet& p);

}  // namespace npsd::radius

namespace std {
template <>
struct is_error_code_enum<npsd::radius::decode_error> : true_type {};
template <>
struct is_error_code_enum<npsd::radius::encode_error> : true_type {};
}  // namespace std
