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

// RFC 2865 section 7.1: the Access-Request for "nemo" (secret "xyzzy5461").
inline const radius::bytes rfc2865_7_1_request = hex(
    "01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb 98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be"
    "70 8d 93 d4 13 ce 31 96 e4 3f 78 2a 0a ee 04 06 c0 a8 01 10 05 06 00 00 00 03");

inline bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}
}  // namespace npsd::test
