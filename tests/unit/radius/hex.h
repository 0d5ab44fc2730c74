#pragma once
#include <cctype>
#include <string_view>

#include "radius/packet.h"

namespace npsd::test {
// "01 0a ff" -> bytes; whitespace ignored.
inline radius::bytes hex(std::string_view s) {
  radius::bytes out;
  int hi = -1;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    const int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10);
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}
}  // namespace npsd::test
