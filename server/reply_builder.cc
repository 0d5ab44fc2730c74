#include "server/reply_builder.h"

#include <atomic>
#include <chrono>

#include <fmt/format.h>

#include "radius/crypto.h"

namespace npsd::server {

expected<radius::attribute, std::string> encode_reply_attribute(
    const policy::reply_attribute& a, const radius::dictionary& dict, std::string_view secret,
    const radius::authenticator_t& request_authenticator) {
  const auto& def = *a.def;
  radius::bytes value = a.value;
  if (def.encrypt == 2) {  // RFC 2868 3.5: [tag] salt ciphertext
    const bool tagged = def.has_tag && !value.empty();
    const radius::byte_view plain =
        tagged ? radius::byte_view(value).subspan(1) : radius::byte_view(value);
    auto hidden = radius::salt_encrypt(plain, secret, request_authenticator);
    if (!hidden) return unexpected(fmt::format("{} is too long to encrypt", def.name));
    radius::bytes out;
    if (tagged) out.push_back(value[0]);
    out.insert(out.end(), hidden->begin(), hidden->end());
    value = std::move(out);
  }
  if (def.vendor == 0) {
    if (value.size() > radius::max_attribute_value)
      return unexpected(fmt::format("{} is longer than 253 bytes", def.name));
    return radius::attribute{static_cast<std::uint8_t>(def.number), std::move(value)};
  }
  const auto* vendor = dict.find_vendor(def.vendor);
  const radius::vsa_format fmt = vendor != nullptr ? vendor->format() : radius::vsa_format{};
  auto payload = radius::make_vsa(def.vendor, def.number, value, fmt);
  if (payload.size() > radius::max_attribute_value)
    return unexpected(fmt::format("{} does not fit in one Vendor-Specific attribute", def.name));
  return radius::attribute{radius::attr::vendor_specific, std::move(payload)};
}

std::string make_class_value() {
  static const auto boot = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  static const std::uint64_t instance = [] {
    std::uint64_t v = 0;
    radius::random_bytes({reinterpret_cast<std::uint8_t*>(&v), sizeof v});
    return v;
  }();
  static std::atomic<std::uint64_t> counter{0};
  return fmt::format("npsd:{:x}:{:016x}:{:x}", boot, instance, counter.fetch_add(1) + 1);
}

void add_mppe_keys(radius::packet& reply, const radius::bytes& msk, std::string_view secret,
                   const radius::authenticator_t& request_authenticator) {
  constexpr std::uint32_t microsoft = 311;
  constexpr std::uint32_t mppe_send_key = 16;
  constexpr std::uint32_t mppe_recv_key = 17;
  const auto half = [&](std::size_t from) { return radius::byte_view(msk).subspan(from, 32); };
  for (const auto& [type, key] : {std::pair{mppe_recv_key, half(0)}, std::pair{mppe_send_key, half(32)}}) {
    auto hidden = radius::salt_encrypt(key, secret, request_authenticator);
    if (hidden) reply.add(radius::attr::vendor_specific, radius::make_vsa(microsoft, type, *hidden));
  }
}

}  // namespace npsd::server
