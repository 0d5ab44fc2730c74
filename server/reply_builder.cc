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

}  // namespace npsd::server
