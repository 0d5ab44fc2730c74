#include "eap/peap_tlv.h"

namespace npsd::eap::peap {

std::string_view tlv_error_text(tlv_error e) noexcept {
  switch (e) {
    case tlv_error::truncated: return "a TLV runs past the end of the payload";
    case tlv_error::reserved_bit: return "a TLV has the reserved bit set";
  }
  return "unknown TLV error";
}

expected<std::vector<tlv>, tlv_error> parse_tlvs(byte_view payload) {
  std::vector<tlv> out;
  while (!payload.empty()) {
    if (payload.size() < 4) return unexpected(tlv_error::truncated);
    if ((payload[0] & 0x40) != 0) return unexpected(tlv_error::reserved_bit);
    const std::size_t len = static_cast<std::size_t>(payload[2]) << 8 | payload[3];
    if (len > payload.size() - 4) return unexpected(tlv_error::truncated);
    out.push_back({(payload[0] & 0x80) != 0,
                   static_cast<std::uint16_t>((payload[0] & 0x3f) << 8 | payload[1]),
                   payload.subspan(4, len)});
    payload = payload.subspan(4 + len);
  }
  return out;
}

bytes encode_tlvs(const std::vector<tlv>& tlvs) {
  bytes out;
  for (const auto& t : tlvs) {
    out.push_back(static_cast<std::uint8_t>((t.mandatory ? 0x80 : 0) | ((t.type >> 8) & 0x3f)));
    out.push_back(static_cast<std::uint8_t>(t.type));
    out.push_back(static_cast<std::uint8_t>(t.value.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(t.value.size()));
    out.insert(out.end(), t.value.begin(), t.value.end());
  }
  return out;
}

std::uint16_t result_status(byte_view payload) {
  const auto tlvs = parse_tlvs(payload);
  if (!tlvs) return 0;
  std::uint16_t status = 0;
  for (const auto& t : *tlvs) {
    if (t.type != tlv_result) continue;
    if (status != 0 || t.value.size() != 2) return 0;
    status = static_cast<std::uint16_t>(t.value[0] << 8 | t.value[1]);
    if (status == 0) return 0;
  }
  return status;
}

bytes result_payload(std::uint16_t status) {
  const std::uint8_t value[2] = {static_cast<std::uint8_t>(status >> 8),
                                 static_cast<std::uint8_t>(status)};
  return encode_tlvs({{true, tlv_result, byte_view(value, 2)}});
}

}  // namespace npsd::eap::peap
