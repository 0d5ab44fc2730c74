// A dictionary file (FreeRADIUS syntax: ATTRIBUTE, VALUE, VENDOR, BEGIN-VENDOR, BEGIN-TLV,
// flags, formats) as an administrator might write or mistype it, then every attribute it
// defines formatting sample values and reading its VALUE names back.
// $INCLUDE is left out: it names files, which are not the input here.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "radius/dictionary.h"
#include "radius/value.h"

using namespace npsd;

namespace {

bool names_a_file(std::string_view text) {
  constexpr std::string_view kw = "$include";
  return std::search(text.begin(), text.end(), kw.begin(), kw.end(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         }) != text.end();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (names_a_file(text)) return 0;
  auto d = radius::dictionary::parse(text, "fuzz");
  if (!d) {
    if (d.error().message.empty()) std::abort();  // an error always says what is wrong
    (void)d.error().to_string();
    return 0;
  }
  static const std::array<radius::bytes, 6> samples = {
      radius::bytes{}, radius::bytes{1}, radius::bytes{0, 0, 0, 2}, radius::bytes(6, 0xab),
      radius::bytes(16, 0x20), radius::bytes{0, 64, 0x20, 0x01, 0x0d, 0xb8}};
  for (const auto& def : d->attributes()) {
    if (d->find(def.name) == nullptr) std::abort();  // every attribute is found by its name
    for (const auto& s : samples) {
      const auto tagged = radius::split_tag(def, s);
      const auto text_value = radius::format_value(def, tagged.value);
      (void)radius::parse_value(def, text_value);
      if (const auto name = def.name_of(s.size() == 4 ? 2u : 1u))
        if (!def.value_of(*name)) std::abort();  // a VALUE name reads back
    }
  }
  for (const auto& v : d->vendors())
    if (d->find_vendor(v.id) == nullptr || d->find_vendor(v.name) == nullptr) std::abort();
  return 0;
}
