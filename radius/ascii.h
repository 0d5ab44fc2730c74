#pragma once
// ASCII case folding, the way RADIUS attribute names, directory attribute names and policy
// keywords compare (never locale-dependent: a Turkish locale must not change "I").
#include <algorithm>
#include <string>
#include <string_view>

namespace npsd {

constexpr char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string ascii_fold(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

inline bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

}  // namespace npsd
