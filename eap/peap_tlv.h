#pragma once
// PEAPv0's EAP-TLV payload (the Microsoft extensions, [MS-PEAP] 2.2.8): a list of TLVs, each a
// 16-bit word of mandatory bit, reserved bit and 14-bit type, then a 16-bit length and the
// value. Pure: bytes in, values out; untrusted input gives an error value (fuzzed).
#include <cstdint>
#include <string_view>
#include <vector>

#include "eap/packet.h"
#include "radius/expected.h"

namespace npsd::eap::peap {

inline constexpr std::uint8_t eap_type_tlv = 33;  // EAP-TLV inside the tunnel
inline constexpr std::uint16_t tlv_result = 3;
inline constexpr std::uint16_t result_success = 1;
inline constexpr std::uint16_t result_failure = 2;

struct tlv {
  bool mandatory = false;
  std::uint16_t type = 0;  // 14 bits
  byte_view value;         // a view into the parsed bytes
};

enum class tlv_error {
  truncated = 1,  // a header or value runs past the end
  reserved_bit,   // the R bit is set
};
std::string_view tlv_error_text(tlv_error e) noexcept;

// Every TLV of the payload, in order. The views point into `payload`.
expected<std::vector<tlv>, tlv_error> parse_tlvs(byte_view payload);
// The encoding parse_tlvs reads.
bytes encode_tlvs(const std::vector<tlv>& tlvs);

// The status a Result TLV carries (1 success, 2 failure), or 0 when the payload does not parse,
// holds no Result TLV, holds more than one, or its value is not two bytes.
std::uint16_t result_status(byte_view payload);

// A Result TLV (mandatory) with this status, as the payload of an EAP-TLV packet.
bytes result_payload(std::uint16_t status);

}  // namespace npsd::eap::peap
