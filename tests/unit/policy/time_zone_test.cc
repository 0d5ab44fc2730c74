#include "policy/time_zone.h"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "time_helpers.h"
using namespace npsd::policy;
using namespace std::chrono;

using npsd::test::utc;
using npsd::test::zone;

namespace {

std::string zone_error_of(const std::string& name,
                     const std::filesystem::path& dir = "/usr/share/zoneinfo") {
  const auto z = time_zone::load(name, dir);
  REQUIRE_FALSE(z);
  return z.error();
}

// "Mon 08:30" style, for readable failures.
std::string at(const time_zone& z, system_clock::time_point t) {
  static const char* const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  const auto l = z.local(t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s %02d:%02d", days[l.weekday], l.minute_of_day / 60,
                l.minute_of_day % 60);
  return buf;
}

// A TZif file (RFC 8536) written by hand: a minimal version 1 block, then the 64-bit block.
struct tzif_spec {
  char version = '2';
  std::vector<std::pair<std::int64_t, std::uint8_t>> transitions;  // time, type index
  std::vector<std::int32_t> utoffs{0};                             // one per type
  std::optional<std::string> footer;                               // without the newlines
};

void put32(std::string& s, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
}
void put64(std::string& s, std::uint64_t v) {
  put32(s, static_cast<std::uint32_t>(v >> 32));
  put32(s, static_cast<std::uint32_t>(v));
}
void header(std::string& s, char version, std::uint32_t timecnt, std::uint32_t typecnt,
            std::uint32_t charcnt) {
  s += "TZif";
  s += version;
  s += std::string(15, '\0');
  put32(s, 0);  // isutcnt
  put32(s, 0);  // isstdcnt
  put32(s, 0);  // leapcnt
  put32(s, timecnt);
  put32(s, typecnt);
  put32(s, charcnt);
}

tzif_spec with_footer(std::string footer) {
  tzif_spec z;
  z.footer = std::move(footer);
  return z;
}

std::string tzif(const tzif_spec& z) {
  std::string s;
  header(s, z.version, 0, 1, 1);
  put32(s, 0);
  s += '\0';
  s += '\0';
  s += '\0';  // the designation string
  if (z.version == '\0') return s;
  header(s, z.version, static_cast<std::uint32_t>(z.transitions.size()),
         static_cast<std::uint32_t>(z.utoffs.size()), 1);
  for (const auto& t : z.transitions) put64(s, static_cast<std::uint64_t>(t.first));
  for (const auto& t : z.transitions) s += static_cast<char>(t.second);
  for (const auto off : z.utoffs) {
    put32(s, static_cast<std::uint32_t>(off));
    s += '\0';
    s += '\0';
  }
  s += '\0';
  if (z.footer) s += "\n" + *z.footer + "\n";
  return s;
}

// A scratch zoneinfo directory.
struct zoneinfo_dir {
  std::filesystem::path path;
  zoneinfo_dir() {
    path = std::filesystem::temp_directory_path() / ("npsd-tz-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
  }
  ~zoneinfo_dir() { std::filesystem::remove_all(path); }
  void write(const std::string& name, const std::string& data) const {
    std::filesystem::create_directories((path / name).parent_path());
    std::ofstream(path / name, std::ios::binary) << data;
  }
};

std::int64_t epoch(system_clock::time_point t) {
  return duration_cast<seconds>(t.time_since_epoch()).count();
}

}  // namespace

TEST_CASE("the default zone and \"UTC\" are UTC, without reading any file") {
  const time_zone def;
  CHECK(def.name() == "UTC");
  CHECK(at(def, utc(2024, 6, 3, 8, 30)) == "Mon 08:30");
  CHECK(at(def, utc(1970, 1, 1, 0, 0)) == "Thu 00:00");
  for (const char* name : {"UTC", "Etc/UTC"}) {
    const auto z = zone(name, "/nonexistent");
    CHECK(z.name() == name);
    CHECK(at(z, utc(2024, 12, 31, 23, 59)) == "Tue 23:59");
  }
}

TEST_CASE("Europe/Paris is UTC+1 in winter and UTC+2 in summer, switching at the right instant") {
  const auto paris = zone("Europe/Paris");
  CHECK(paris.name() == "Europe/Paris");
  CHECK(at(paris, utc(2024, 1, 15, 12, 0)) == "Mon 13:00");
  CHECK(at(paris, utc(2024, 7, 15, 12, 0)) == "Mon 14:00");
  // 2024-03-31 01:00 UTC: 02:00 CET becomes 03:00 CEST.
  CHECK(at(paris, utc(2024, 3, 31, 0, 59)) == "Sun 01:59");
  CHECK(at(paris, utc(2024, 3, 31, 1, 0)) == "Sun 03:00");
  // 2024-10-27 01:00 UTC: 03:00 CEST becomes 02:00 CET.
  CHECK(at(paris, utc(2024, 10, 27, 0, 59)) == "Sun 02:59");
  CHECK(at(paris, utc(2024, 10, 27, 1, 0)) == "Sun 02:00");
  // Late evening UTC is already the next day in Paris.
  CHECK(at(paris, utc(2024, 7, 5, 22, 30)) == "Sat 00:30");
  // Far beyond the transition table: the footer's rule.
  CHECK(at(paris, utc(2100, 7, 1, 12, 0)) == "Thu 14:00");
  // Before it: the table. France kept no daylight saving time in 1970.
  CHECK(at(paris, utc(1970, 7, 1, 12, 0)) == "Wed 13:00");
}

TEST_CASE("America/New_York is UTC-5 in winter and UTC-4 in summer") {
  const auto ny = zone("America/New_York");
  CHECK(at(ny, utc(2024, 1, 15, 12, 0)) == "Mon 07:00");
  CHECK(at(ny, utc(2024, 7, 4, 12, 0)) == "Thu 08:00");
  // Early UTC morning is still the previous evening.
  CHECK(at(ny, utc(2024, 7, 8, 1, 0)) == "Sun 21:00");
  // 2024-03-10 07:00 UTC: 02:00 EST becomes 03:00 EDT.
  CHECK(at(ny, utc(2024, 3, 10, 6, 59)) == "Sun 01:59");
  CHECK(at(ny, utc(2024, 3, 10, 7, 0)) == "Sun 03:00");
}

TEST_CASE("an IANA name with digits is a file, not a POSIX string") {
  // POSIX-style signs in the file's name: Etc/GMT+5 is five hours behind UTC.
  CHECK(at(zone("Etc/GMT+5"), utc(2024, 7, 4, 12, 0)) == "Thu 07:00");
  CHECK(zone_error_of("Etc/GMT+55") ==
        "unknown time zone \"Etc/GMT+55\": no such file in /usr/share/zoneinfo");
}

TEST_CASE("a POSIX TZ string is a zone of its own") {
  const auto cet = zone("CET-1CEST,M3.5.0,M10.5.0/3", "/nonexistent");
  CHECK(at(cet, utc(2024, 1, 15, 12, 0)) == "Mon 13:00");
  CHECK(at(cet, utc(2024, 7, 15, 12, 0)) == "Mon 14:00");
  CHECK(at(cet, utc(2024, 3, 31, 1, 0)) == "Sun 03:00");
  // No rule given: the United States rules, as glibc does.
  const auto est = zone("EST5EDT", "/nonexistent");
  CHECK(at(est, utc(2024, 1, 15, 12, 0)) == "Mon 07:00");
  CHECK(at(est, utc(2024, 7, 4, 12, 0)) == "Thu 08:00");
  // Quoted names, minutes, southern hemisphere.
  CHECK(at(zone("<+0545>-5:45"), utc(2024, 1, 1, 0, 0)) == "Mon 05:45");
  const auto sydney = zone("AEST-10AEDT,M10.1.0,M4.1.0/3");
  CHECK(at(sydney, utc(2024, 1, 15, 0, 0)) == "Mon 11:00");
  CHECK(at(sydney, utc(2024, 7, 15, 0, 0)) == "Mon 10:00");
  CHECK(at(zone("JST-9"), utc(2024, 12, 31, 15, 0)) == "Wed 00:00");
}

TEST_CASE("bad POSIX TZ strings are refused with the reason") {
  CHECK(zone_error_of("CET-1CEST,M13.5.0,M10.5.0/3").find("invalid POSIX time zone") == 0);
  CHECK(zone_error_of("CET-1CEST,M3.5.0").find("expected ',' before the end rule") != std::string::npos);
  CHECK(zone_error_of("X5").find("expected a zone abbreviation") != std::string::npos);
  CHECK(zone_error_of("CET99").find("expected a UTC offset") != std::string::npos);
  CHECK(zone_error_of("CET-1CEST,M3.5.0,M10.5.0/3junk").find("unexpected text") != std::string::npos);
}

TEST_CASE("zones whose rules Boost's posix_time_zone cannot read agree with the C library") {
  // Footers with quoted names (<+04>-4), hours beyond 24 (M3.4.4/26), negative hours (/-1),
  // half-hour daylight saving (Lord Howe), southern hemisphere, and offsets with minutes.
  const char* const names[] = {"Asia/Dubai",        "Asia/Jerusalem",      "America/Santiago",
                               "America/Nuuk",      "Australia/Lord_Howe", "Pacific/Chatham",
                               "Africa/Casablanca", "Australia/Sydney",    "Asia/Kolkata",
                               "America/St_Johns",  "Europe/Paris",        "America/New_York"};
  const char* old_tz = std::getenv("TZ");
  const std::string saved = old_tz ? old_tz : "";
  for (const char* name : names) {
    CAPTURE(name);
    const auto z = zone(name);
    ::setenv("TZ", (std::string(":") + name).c_str(), 1);
    ::tzset();
    int mismatches = 0;
    for (auto t = epoch(utc(1990, 1, 1, 0, 0)); t < epoch(utc(2045, 1, 1, 0, 0));
         t += 86400 * 5 + 3607) {
      const std::time_t tt = t;
      std::tm lt{};
      ::localtime_r(&tt, &lt);
      const auto l = z.local(system_clock::time_point(seconds(t)));
      if (l.weekday != lt.tm_wday || l.minute_of_day != lt.tm_hour * 60 + lt.tm_min) {
        if (mismatches++ == 0)
          FAIL_CHECK("differs from the C library at "
                     << t << ": " << at(z, system_clock::time_point(seconds(t))));
      }
    }
    CHECK(mismatches == 0);
  }
  if (old_tz)
    ::setenv("TZ", saved.c_str(), 1);
  else
    ::unsetenv("TZ");
  ::tzset();
}

TEST_CASE("bad zone names are refused, saying what is wrong") {
  CHECK(zone_error_of("Mars/Base") ==
        "unknown time zone \"Mars/Base\": no such file in /usr/share/zoneinfo");
  CHECK(zone_error_of("../../etc/passwd").find("invalid time zone name \"../../etc/passwd\"") == 0);
  CHECK(zone_error_of("/etc/localtime").find("invalid time zone name") == 0);
  CHECK(zone_error_of("Europe/Paris;ls").find("invalid time zone name") == 0);
  CHECK(zone_error_of("Europe/Pa ris").find("invalid time zone name") == 0);
  CHECK(zone_error_of("Europe") ==
        "unknown time zone \"Europe\": /usr/share/zoneinfo/Europe is not a time zone file");
  CHECK(zone_error_of("") == "empty time zone name");
}

TEST_CASE("zoneinfo files: TZif version 2 or later, read strictly") {
  const zoneinfo_dir dir;
  const auto dirs = dir.path.string();
  dir.write("Test/Text", "hello, world\n");
  CHECK(zone_error_of("Test/Text", dir.path) ==
        "time zone \"Test/Text\": " + dirs + "/Test/Text: not a TZif file");
  tzif_spec v1;
  v1.version = '\0';
  dir.write("Test/V1", tzif(v1));
  CHECK(zone_error_of("Test/V1", dir.path).find("TZif version 1 file (version 2 or later is needed)") !=
        std::string::npos);
  auto truncated = tzif(with_footer("UTC0"));
  truncated.resize(60);
  dir.write("Test/Short", truncated);
  CHECK(zone_error_of("Test/Short", dir.path).find("truncated") != std::string::npos);
  dir.write("Test/BadRule", tzif(with_footer("CET-1CEST,M3.5.0")));
  CHECK(zone_error_of("Test/BadRule", dir.path)
            .find("its footer rule \"CET-1CEST,M3.5.0\" is not a POSIX TZ string") !=
        std::string::npos);
  auto bad_type = with_footer("");
  bad_type.transitions = {{0, 3}};
  dir.write("Test/BadType", tzif(bad_type));
  CHECK(zone_error_of("Test/BadType", dir.path).find("bad time type") != std::string::npos);
}

TEST_CASE("a zoneinfo file without a rule keeps the offset of its last transition") {
  const zoneinfo_dir dir;
  const auto t1 = epoch(utc(2000, 1, 1, 0, 0));
  const auto t2 = epoch(utc(2010, 1, 1, 0, 0));
  tzif_spec spec;
  spec.transitions = {{t1, 1}, {t2, 2}};
  spec.utoffs = {0, 3600, -3 * 3600 - 1800};
  dir.write("Test/NoFooter", tzif(spec));
  auto with_empty = spec;
  with_empty.footer = "";
  dir.write("Test/EmptyFooter", tzif(with_empty));
  auto with_rule = spec;
  with_rule.footer = "<+05>-5";
  dir.write("Test/Rule", tzif(with_rule));
  for (const char* name : {"Test/NoFooter", "Test/EmptyFooter"}) {
    CAPTURE(name);
    const auto z = zone(name, dir.path);
    CHECK(at(z, utc(1999, 6, 1, 12, 0)) == "Tue 12:00");  // type 0 before the first transition
    CHECK(at(z, utc(2005, 6, 1, 12, 0)) == "Wed 13:00");  // from the first
    CHECK(at(z, utc(2030, 6, 3, 12, 0)) == "Mon 08:30");  // the last, forever
  }
  const auto z = zone("Test/Rule", dir.path);
  CHECK(at(z, utc(2005, 6, 1, 12, 0)) == "Wed 13:00");
  CHECK(at(z, utc(2030, 6, 3, 12, 0)) == "Mon 17:00");  // the footer after the last transition
}

TEST_CASE("copies share the zone and concurrent use gives the same answers") {
  const auto paris = zone("Europe/Paris");
  const time_zone copy = paris;  // NOLINT(performance-unnecessary-copy-initialization)
  CHECK(copy.name() == "Europe/Paris");
  CHECK(at(copy, utc(2024, 7, 15, 12, 0)) == "Mon 14:00");
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      const time_zone mine = copy;
      for (int k = 0; k < 2000; ++k) {
        const auto l = mine.local(utc(2024, 7, 15, 12, 0) + hours(24 * 7 * (k % 10)));
        if (l.weekday != 1 || l.minute_of_day != 14 * 60) ++wrong[static_cast<std::size_t>(i)];
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(wrong == std::vector<int>(4, 0));
}
