#pragma once
// Time zones by IANA name ("Europe/Paris", "UTC"), read from the system's zoneinfo: the
// current rules (the POSIX TZ string at the end of a TZif v2+ file) are what day-and-time
// restrictions need. A POSIX TZ string ("CET-1CEST,M3.5.0,M10.5.0/3") is accepted too.
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "radius/expected.h"

namespace npsd::policy {

struct local_time_of_week {
  int weekday = 0;       // 0 = Sunday ... 6 = Saturday
  int minute_of_day = 0;  // 0..1439
};

class time_zone {
 public:
  time_zone();  // UTC
  static expected<time_zone, std::string> load(
      const std::string& name, const std::filesystem::path& zoneinfo = "/usr/share/zoneinfo");
  const std::string& name() const noexcept { return name_; }
  local_time_of_week local(std::chrono::system_clock::time_point t) const;

 private:
  struct impl;
  std::string name_;
  std::shared_ptr<const impl> impl_;
};

}  // namespace npsd::policy
