#include "radius/packet.h"

#include <algorithm>

namespace npsd::radius {

namespace {

struct code_info {
  std::uint8_t value;
  std::string_view name;
};

constexpr code_info code_table[] = {
    {1, "Access-Request"},     {2, "Access-Accept"},       {3, "Access-Reject"},
    {4, "Accounting-Request"}, {5, "Accounting-Response"}, {11, "Access-Challenge"},
    {12, "Status-Server"},     {13, "Status-Client"},      {40, "Disconnect-Request"},
    {41, "Disconnect-ACK"},    {42, "Disconnect-NAK"},     {43, "CoA-Request"},
    {44, "CoA-ACK"},           {45, "CoA-NAK"},
};

class decode_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "radius.decode"; }
  std::string message(int ev) const override {
    switch (static_cast<decode_error>(ev)) {
      case decode_error::truncated_header: return "datagram shorter than the 20-byte header";
      case decode_error::length_too_small: return "length field below 20";
      case decode_error::length_too_large: return "length field above 4096";
      case decode_error::length_exceeds_datagram: return "length field exceeds the datagram";
      case decode_error::unknown_code: return "unknown packet code";
      case decode_error::attribute_truncated: return "attribute header truncated";
      case decode_error::attribute_length_invalid: return "attribute length below 2";
      case decode_error::attribute_overrun: return "attribute overruns the packet";
    }
    return "unknown decode error";
  }
};

class encode_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "radius.encode"; }
  std::string message(int ev) const override {
    switch (static_cast<encode_error>(ev)) {
      case encode_error::attribute_too_long: return "attribute value longer than 253 bytes";
      case encode_error::packet_too_long: return "packet longer than 4096 bytes";
    }
    return "unknown encode error";
  }
};

std::uint32_t read_be(const std::uint8_t* p, std::size_t n) noexcept {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

void write_be(bytes& out, std::uint32_t v, std::size_t n) {
  for (std::size_t i = n; i-- > 0;) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

}  // namespace

const std::error_category& decode_category() noexcept {
  static const decode_category_impl c;
  return c;
}

const std::error_category& encode_category() noexcept {
  static const encode_category_impl c;
  return c;
}

bool is_known_code(std::uint8_t c) noexcept {
  return std::any_of(std::begin(code_table), std::end(code_table),
                     [c](const code_info& i) { return i.value == c; });
}

std::string_view code_name(code c) noexcept {
  for (const auto& i : code_table)
    if (i.value == static_cast<std::uint8_t>(c)) return i.name;
  return "Unknown";
}

std::optional<std::uint32_t> attribute::as_uint32() const noexcept {
  if (value.size() != 4) return std::nullopt;
  return read_be(value.data(), 4);
}

const attribute* packet::find(std::uint8_t type) const noexcept {
  for (const auto& a : attributes)
    if (a.type == type) return &a;
  return nullptr;
}

std::size_t packet::count(std::uint8_t type) const noexcept {
  return static_cast<std::size_t>(std::count_if(
      attributes.begin(), attributes.end(), [type](const attribute& a) { return a.type == type; }));
}

bytes packet::concat(std::uint8_t type) const {
  bytes out;
  for (const auto& a : attributes)
    if (a.type == type) out.insert(out.end(), a.value.begin(), a.value.end());
  return out;
}

void packet::add(std::uint8_t type, byte_view value) {
  attributes.push_back({type, bytes(value.begin(), value.end())});
}

void packet::add(std::uint8_t type, std::string_view value) {
  attributes.push_back({type, bytes(value.begin(), value.end())});
}

void packet::add_uint32(std::uint8_t type, std::uint32_t value) {
  bytes v;
  write_be(v, value, 4);
  attributes.push_back({type, std::move(v)});
}

std::optional<std::vector<vsa>> split_vsa(byte_view payload, vsa_format fmt) {
  if (payload.size() < 4) return std::nullopt;
  std::vector<vsa> out;
  const std::uint32_t vendor = read_be(payload.data(), 4);
  std::size_t pos = 4;
  const std::size_t header = std::size_t{fmt.type_size} + fmt.length_size;
  if (pos == payload.size()) return std::nullopt;
  while (pos < payload.size()) {
    if (payload.size() - pos < header) return std::nullopt;
    const std::uint32_t type = read_be(payload.data() + pos, fmt.type_size);
    std::size_t len = payload.size() - pos;  // length_size 0: one sub-attribute fills the rest
    if (fmt.length_size != 0) {
      len = read_be(payload.data() + pos + fmt.type_size, fmt.length_size);
      if (len < header || len > payload.size() - pos) return std::nullopt;
    }
    out.push_back({vendor, type, bytes(payload.begin() + static_cast<std::ptrdiff_t>(pos + header),
                                       payload.begin() + static_cast<std::ptrdiff_t>(pos + len))});
    pos += len;
  }
  return out;
}

bytes make_vsa(std::uint32_t vendor, std::uint32_t type, byte_view value, vsa_format fmt) {
  bytes out;
  out.reserve(4 + fmt.type_size + fmt.length_size + value.size());
  write_be(out, vendor, 4);
  write_be(out, type, fmt.type_size);
  if (fmt.length_size != 0)
    write_be(out, static_cast<std::uint32_t>(fmt.type_size + fmt.length_size + value.size()),
             fmt.length_size);
  out.insert(out.end(), value.begin(), value.end());
  return out;
}

expected<packet, decode_error> decode(byte_view d) noexcept {
  if (d.size() < header_size) return unexpected(decode_error::truncated_header);
  const std::size_t length = read_be(d.data() + 2, 2);
  if (length < header_size) return unexpected(decode_error::length_too_small);
  if (length > max_packet_size) return unexpected(decode_error::length_too_large);
  if (length > d.size()) return unexpected(decode_error::length_exceeds_datagram);
  if (!is_known_code(d[0])) return unexpected(decode_error::unknown_code);

  // Validate the attribute chain before allocating anything.
  std::size_t n = 0;
  for (std::size_t pos = header_size; pos < length; ++n) {
    if (length - pos < 2) return unexpected(decode_error::attribute_truncated);
    const std::size_t alen = d[pos + 1];
    if (alen < 2) return unexpected(decode_error::attribute_length_invalid);
    if (alen > length - pos) return unexpected(decode_error::attribute_overrun);
    pos += alen;
  }

  packet p;
  p.code = static_cast<code>(d[0]);
  p.identifier = d[1];
  std::copy_n(d.begin() + 4, 16, p.authenticator.begin());
  p.attributes.reserve(n);
  for (std::size_t pos = header_size; pos < length;) {
    const std::size_t alen = d[pos + 1];
    p.attributes.push_back({d[pos], bytes(d.begin() + static_cast<std::ptrdiff_t>(pos + 2),
                                          d.begin() + static_cast<std::ptrdiff_t>(pos + alen))});
    pos += alen;
  }
  return p;
}

expected<bytes, encode_error> encode(const packet& p) {
  std::size_t length = header_size;
  for (const auto& a : p.attributes) {
    if (a.value.size() > max_attribute_value) return unexpected(encode_error::attribute_too_long);
    length += 2 + a.value.size();
  }
  if (length > max_packet_size) return unexpected(encode_error::packet_too_long);
  bytes out;
  out.reserve(length);
  out.push_back(static_cast<std::uint8_t>(p.code));
  out.push_back(p.identifier);
  write_be(out, static_cast<std::uint32_t>(length), 2);
  out.insert(out.end(), p.authenticator.begin(), p.authenticator.end());
  for (const auto& a : p.attributes) {
    out.push_back(a.type);
    out.push_back(static_cast<std::uint8_t>(2 + a.value.size()));
    out.insert(out.end(), a.value.begin(), a.value.end());
  }
  return out;
}

}  // namespace npsd::radius
