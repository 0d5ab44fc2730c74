#include "accounting/record.h"

#include <fmt/format.h>
#include <deque>
#include <vector>

#include "radius/value.h"

namespace npsd::accounting {

namespace {

namespace a = radius::attr;

std::string hex(radius::byte_view v) {
  std::string s = "0x";
  s.reserve(2 + v.size() * 2);
  constexpr char digits[] = "0123456789abcdef";
  for (auto b : v) {
    s += digits[b >> 4];
    s += digits[b & 0xf];
  }
  return s;
}

std::string ipv4_text(radius::byte_view v) {
  if (v.size() != 4) return {};
  return fmt::format("{}.{}.{}.{}", v[0], v[1], v[2], v[3]);
}

std::string ipv6_text(const radius::packet& p, const radius::dictionary& dict) {
  const auto* at = p.find(radius::attr::nas_ipv6_address);
  const auto* def = dict.find(0, radius::attr::nas_ipv6_address);
  if (at == nullptr || def == nullptr || at->value.size() != 16) return {};
  return radius::format_value(*def, at->value);
}

std::optional<std::int64_t> uint_of(const radius::packet& p, std::uint8_t type) {
  const auto* at = p.find(type);
  if (at == nullptr) return std::nullopt;
  const auto v = at->as_uint32();
  if (!v) return std::nullopt;
  return std::int64_t{*v};
}

std::string text_of(const radius::packet& p, std::uint8_t type) {
  const auto* at = p.find(type);
  return at != nullptr ? safe_text(at->as_string()) : std::string();
}

bool is_number_type(radius::attr_type t) {
  using radius::attr_type;
  return t == attr_type::integer || t == attr_type::byte || t == attr_type::short_ ||
         t == attr_type::signed_ || t == attr_type::integer64 || t == attr_type::date;
}

// One attribute's JSON value: a number for numeric types without a VALUE name, else a string.
std::string json_value(const radius::attribute_def& def, radius::byte_view wire) {
  const auto tagged = radius::split_tag(def, wire);
  auto text = radius::format_value(def, tagged.value);
  const bool digits = !text.empty() && text.find_first_not_of("0123456789", text[0] == '-' ? 1 : 0) ==
                                           std::string::npos && text != "-";
  if (is_number_type(def.type) && digits && text.size() < 20) return text;
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += ch;
    }
  }
  out += '"';
  return out;
}

// Attributes in packet order, by name; a name seen again joins the first one's array.
struct named_value {
  std::string_view name;  // the dictionary's, or one of `unknown_names`
  std::string value;      // JSON text
};

}  // namespace

std::string safe_text(std::string_view v) {
  constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size();) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) out += replacement;
      else out += static_cast<char>(c);
      ++i;
      continue;
    }
    // The length of a well-formed sequence (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
    std::size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    bool ok = n != 0 && i + n <= v.size();
    for (std::size_t k = 1; ok && k < n; ++k)
      ok = (static_cast<unsigned char>(v[i + k]) & 0xC0) == 0x80;
    if (ok && n >= 3) {
      const auto c1 = static_cast<unsigned char>(v[i + 1]);
      if (c == 0xE0 && c1 < 0xA0) ok = false;   // overlong
      if (c == 0xED && c1 >= 0xA0) ok = false;  // surrogate
      if (c == 0xF0 && c1 < 0x90) ok = false;   // overlong
      if (c == 0xF4 && c1 >= 0x90) ok = false;  // above U+10FFFF
    }
    if (!ok) {
      out += replacement;
      ++i;
      continue;
    }
    out.append(v.substr(i, n));
    i += n;
  }
  return out;
}

std::string class_text(radius::byte_view v) {
  for (auto b : v)
    if (b < 0x20 || b > 0x7e) return hex(v);
  return {reinterpret_cast<const char*>(v.data()), v.size()};
}

std::string attributes_as_json(const radius::packet& p, const radius::dictionary& dict) {
  // Written by hand rather than through a JSON DOM: this runs for every Accounting-Request.
  std::vector<named_value> values;
  values.reserve(p.attributes.size());
  std::deque<std::string> unknown_names;  // stable addresses for the names made up here
  auto put = [&](std::string_view name, std::string value) {
    values.push_back({name, std::move(value)});
  };
  auto put_unknown = [&](std::string name, radius::byte_view v) {
    unknown_names.push_back(std::move(name));
    values.push_back({unknown_names.back(), '"' + hex(v) + '"'});
  };
  for (const auto& at : p.attributes) {
    if (at.type == radius::attr::message_authenticator) continue;
    if (at.type == radius::attr::vendor_specific && at.value.size() >= 4) {
      const std::uint32_t vendor = std::uint32_t{at.value[0]} << 24 | std::uint32_t{at.value[1]} << 16 |
                                   std::uint32_t{at.value[2]} << 8 | at.value[3];
      const auto* vdef = dict.find_vendor(vendor);
      auto parts = radius::split_vsa(at.value, vdef != nullptr ? vdef->format() : radius::vsa_format{});
      if (parts) {
        for (const auto& v : *parts) {
          const auto* def = dict.find(v.vendor, v.type);
          if (def != nullptr && def->is_secret()) continue;
          if (def != nullptr) put(def->name, json_value(*def, v.value));
          else put_unknown(fmt::format("Vendor-{}-Attr-{}", v.vendor, v.type), v.value);
        }
        continue;
      }
    }
    const auto* def = dict.find(0, at.type);
    if (def != nullptr && def->is_secret()) continue;
    if (def != nullptr) put(def->name, json_value(*def, at.value));
    else put_unknown(fmt::format("Attr-{}", at.type), at.value);
  }
  std::string out = "{";
  out.reserve(64 + values.size() * 32);
  std::vector<bool> done(values.size(), false);
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (done[i]) continue;
    if (out.size() > 1) out += ',';
    out += '"';
    out += values[i].name;  // dictionary names need no escaping
    out += "\":";
    std::size_t same = 0;
    for (std::size_t j = i + 1; j < values.size(); ++j) same += values[j].name == values[i].name;
    if (same == 0) {
      out += values[i].value;
      continue;
    }
    out += '[';
    out += values[i].value;
    for (std::size_t j = i + 1; j < values.size(); ++j)
      if (!done[j] && values[j].name == values[i].name) {
        out += ',';
        out += values[j].value;
        done[j] = true;
      }
    out += ']';
  }
  out += '}';
  return out;
}

std::string accounting_record::nas() const {
  if (!nas_ip.empty()) return nas_ip;
  if (!nas_identifier.empty()) return nas_identifier;
  return client_address;
}

time_ms accounting_record::event_time() const {
  if (event_timestamp) return *event_timestamp * 1000;
  return received - std::int64_t{delay_time} * 1000;
}

std::string accounting_record::natural_key(int bucket_offset) const {
  // A retransmission differs only in Acct-Delay-Time (and so in arrival time), which the
  // derived event time takes out to within a second or two.
  constexpr std::int64_t bucket_ms = 30'000;
  const auto when = event_timestamp
                        ? fmt::format("t{}", *event_timestamp)
                        : fmt::format("b{}", event_time() / bucket_ms + bucket_offset);
  return fmt::format("{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}", client, nas(), session_id,
                     status_type, when, session_time.value_or(-1), input_octets, output_octets,
                     input_packets, output_packets, user_name, calling_station_id,
                     nas_port.value_or(-1), framed_ip);
}

accounting_record record_from_request(const radius::packet& p, const radius::dictionary& dict,
                                      std::string_view client, std::string_view client_address,
                                      time_ms received) {
  accounting_record r;
  r.received = received;
  r.client = client;
  r.client_address = client_address;
  if (const auto* at = p.find(radius::attr::nas_ip_address)) r.nas_ip = ipv4_text(at->value);
  if (r.nas_ip.empty()) r.nas_ip = ipv6_text(p, dict);
  r.nas_identifier = text_of(p, radius::attr::nas_identifier);
  r.status_type = static_cast<std::uint32_t>(uint_of(p, radius::attr::acct_status_type).value_or(0));
  r.session_id = text_of(p, radius::attr::acct_session_id);
  r.multi_session_id = text_of(p, a::acct_multi_session_id);
  r.user_name = text_of(p, radius::attr::user_name);
  if (const auto* at = p.find(radius::attr::framed_ip_address)) r.framed_ip = ipv4_text(at->value);
  r.calling_station_id = text_of(p, radius::attr::calling_station_id);
  r.called_station_id = text_of(p, radius::attr::called_station_id);
  r.nas_port = uint_of(p, radius::attr::nas_port);
  r.nas_port_type = uint_of(p, radius::attr::nas_port_type);
  r.session_time = uint_of(p, a::acct_session_time);
  const auto wide = [&](std::uint8_t low, std::uint8_t high) {
    return static_cast<std::uint64_t>(uint_of(p, high).value_or(0)) << 32 |
           static_cast<std::uint64_t>(uint_of(p, low).value_or(0));
  };
  r.input_octets = wide(a::acct_input_octets, a::acct_input_gigawords);
  r.output_octets = wide(a::acct_output_octets, a::acct_output_gigawords);
  r.input_packets = static_cast<std::uint64_t>(uint_of(p, a::acct_input_packets).value_or(0));
  r.output_packets = static_cast<std::uint64_t>(uint_of(p, a::acct_output_packets).value_or(0));
  r.terminate_cause = uint_of(p, a::acct_terminate_cause);
  r.delay_time = static_cast<std::uint32_t>(uint_of(p, radius::attr::acct_delay_time).value_or(0));
  r.event_timestamp = uint_of(p, radius::attr::event_timestamp);
  if (const auto* at = p.find(radius::attr::class_)) r.class_ = class_text(at->value);
  r.attributes_json = attributes_as_json(p, dict);
  return r;
}

void fill_request_fields(auth_event& e, const radius::packet& request) {
  if (const auto* at = request.find(radius::attr::nas_ip_address)) e.nas_ip = ipv4_text(at->value);
  e.nas_identifier = text_of(request, radius::attr::nas_identifier);
  e.calling_station_id = text_of(request, radius::attr::calling_station_id);
  e.called_station_id = text_of(request, radius::attr::called_station_id);
  e.nas_port_type = uint_of(request, radius::attr::nas_port_type);
}

}  // namespace npsd::accounting
