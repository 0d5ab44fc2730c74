#include "eap/packet.h"

namespace npsd::eap {

std::string_view parse_error_text(parse_error e) noexcept {
  switch (e) {
    case parse_error::too_short: return "EAP packet too short";
    case parse_error::bad_length: return "EAP length field does not match the EAP-Message bytes";
    case parse_error::unknown_code: return "unknown EAP code";
  }
  return "malformed EAP packet";
}

expected<packet, parse_error> parse(byte_view in) {
  if (in.size() < 4) return unexpected(parse_error::too_short);
  const std::size_t length = static_cast<std::size_t>(in[2]) << 8 | in[3];
  if (length != in.size()) return unexpected(parse_error::bad_length);
  if (in[0] < 1 || in[0] > 4) return unexpected(parse_error::unknown_code);
  packet p;
  p.code = static_cast<code>(in[0]);
  p.identifier = in[1];
  if (p.code == code::request || p.code == code::response) {
    if (length < 5) return unexpected(parse_error::too_short);
    p.type = in[4];
    p.data.assign(in.begin() + 5, in.end());
  } else if (length != 4) {
    return unexpected(parse_error::bad_length);  // Success and Failure carry no data
  }
  return p;
}

bytes encode(const packet& p) {
  const bool typed = p.code == code::request || p.code == code::response;
  const std::size_t length = 4 + (typed ? 1 + p.data.size() : 0);
  bytes out;
  out.reserve(length);
  out.push_back(static_cast<std::uint8_t>(p.code));
  out.push_back(p.identifier);
  out.push_back(static_cast<std::uint8_t>(length >> 8));
  out.push_back(static_cast<std::uint8_t>(length));
  if (typed) {
    out.push_back(p.type);
    out.insert(out.end(), p.data.begin(), p.data.end());
  }
  return out;
}

std::optional<expected<packet, parse_error>> from_radius(const radius::packet& p) {
  if (p.find(radius::attr::eap_message) == nullptr) return std::nullopt;
  const auto all = p.concat(radius::attr::eap_message);
  return parse(all);
}

void add_to_radius(radius::packet& p, byte_view eap) {
  for (std::size_t off = 0; off < eap.size(); off += radius::max_attribute_value) {
    const auto n = std::min(radius::max_attribute_value, eap.size() - off);
    p.add(radius::attr::eap_message, eap.subspan(off, n));
  }
}

}  // namespace npsd::eap
