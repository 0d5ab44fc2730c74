// A datagram from the network, as npsd takes it before trusting anything in it: the RADIUS
// decoder (RFC 2865 3), the authenticator and Message-Authenticator checks, User-Password,
// Tunnel-Password and MS-MPPE key hiding undone, Vendor-Specific splitting, and the
// dictionary decoding of every attribute that the accounting store keeps as JSON.
// Invariants: a decoded packet encodes back to the bytes its length field covers; the JSON is
// valid; decoding never throws.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <nlohmann/json.hpp>

#include "accounting/record.h"
#include "radius/crypto.h"
#include "radius/dictionary.h"
#include "radius/packet.h"

using namespace npsd;

namespace {

const radius::dictionary& dict() {
  static const radius::dictionary d = [] {
    auto loaded = radius::dictionary::load_directory(NPSD_DICTIONARY_DIR);
    if (!loaded) std::abort();
    return std::move(*loaded);
  }();
  return d;
}

constexpr std::string_view secret = "fuzzing-secret";

void undo_hiding(const radius::packet& p, const radius::dictionary& d) {
  for (const auto& a : p.attributes) {
    if (a.type == radius::attr::vendor_specific) {
      if (a.value.size() < 4) continue;
      const std::uint32_t vendor = std::uint32_t{a.value[0]} << 24 | a.value[1] << 16 |
                                   a.value[2] << 8 | a.value[3];
      const auto* v = d.find_vendor(vendor);
      const auto subs = radius::split_vsa(a.value, v ? v->format() : radius::vsa_format{});
      if (!subs) continue;
      for (const auto& s : *subs) {
        const auto* def = d.find(s.vendor, s.type);
        if (def != nullptr && def->encrypt == 2)
          (void)radius::salt_decrypt(s.value, secret, p.authenticator);
      }
      continue;
    }
    const auto* def = d.find(0, a.type);
    if (def == nullptr) continue;
    if (def->encrypt == 1) (void)radius::unhide_user_password(a.value, secret, p.authenticator);
    if (def->encrypt == 2) {
      // Tagged (Tunnel-Password): the tag byte comes first.
      const radius::byte_view v(a.value);
      (void)radius::salt_decrypt(def->has_tag && !v.empty() ? v.subspan(1) : v, secret,
                                 p.authenticator);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& d = dict();
  const radius::byte_view in(data, size);
  (void)radius::verify_request(in, secret, true);
  (void)radius::verify_request(in, secret, false);
  std::size_t count = 0;
  (void)radius::attribute_value_offset(in, radius::attr::message_authenticator, &count);

  auto p = radius::decode(in);
  if (!p) return 0;

  // The packet encodes back to exactly the bytes its length field covers.
  const std::size_t length = std::size_t{data[2]} << 8 | data[3];
  auto again = radius::encode(*p);
  if (!again || again->size() != length || std::memcmp(again->data(), data, length) != 0)
    std::abort();

  undo_hiding(*p, d);
  const auto json = accounting::attributes_as_json(*p, d);
  if (!nlohmann::json::accept(json)) std::abort();
  const auto record = accounting::record_from_request(*p, d, "fuzz", "127.0.0.1", 0);
  (void)record.natural_key();
  accounting::auth_event e;
  accounting::fill_request_fields(e, *p);
  return 0;
}
