#pragma once
// Times and zones the policy tests share.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "policy/time_zone.h"

namespace npsd::test {

inline std::chrono::system_clock::time_point utc(int y, unsigned mo, unsigned d, int h, int mi) {
  using namespace std::chrono;
  return sys_days(year(y) / month(mo) / day(d)) + hours(h) + minutes(mi);
}

// The zone, from the system's zoneinfo unless told; the test stops if it cannot be loaded.
inline policy::time_zone zone(const std::string& name,
                              const std::filesystem::path& dir = "/usr/share/zoneinfo") {
  auto z = policy::time_zone::load(name, dir);
  REQUIRE_MESSAGE(z, z.error());
  return *z;
}

// Day-of-week bits as the day_time constraint takes them: bit 0 Sunday .. bit 6 Saturday.
constexpr std::uint8_t weekdays = 0b0111110;  // Mon..Fri

}  // namespace npsd::test
