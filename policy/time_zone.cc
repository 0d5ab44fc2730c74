#include "policy/time_zone.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

// Why not boost::local_time::posix_time_zone: it reads offsets with the sign opposite to POSIX
// ("EST5" would be UTC+5), takes the DST offset as an adjustment rather than an offset from
// UTC, refuses quoted names ("<+04>-4", the footer of Asia/Dubai) and transition times outside
// 0..23 hours ("M3.4.4/26" in Asia/Jerusalem, "M9.1.6/24" in America/Santiago, "/-1" in
// America/Nuuk): real tzdata footers use all of these. The rules below are RFC 8536 section
// 3.3 (POSIX TZ with its extensions), computed with std::chrono calendar types.

namespace npsd::policy {

namespace {

using std::chrono::days;
using std::chrono::seconds;
using std::chrono::sys_days;

// A transition date of a POSIX TZ rule.
struct rule_date {
  enum class kind : std::uint8_t { julian_no_leap, zero_based, month_week_day } k{};
  int day = 0;      // Jn: 1..365; n: 0..365; M: 0..6 (Sunday = 0)
  int month = 0;    // M: 1..12
  int week = 0;     // M: 1..5 (5 = last)
  int time = 7200;  // seconds after local midnight, -167h..167h (RFC 8536 extension)

  // The transition's local (wall clock) time in year y, as seconds since the epoch.
  std::int64_t local_seconds(int y) const {
    using namespace std::chrono;
    sys_days d;
    switch (k) {
      case kind::julian_no_leap: {
        // Day 1..365 never counting February 29: day 60 is always March 1.
        d = sys_days(year(y) / January / 1) + days(day - 1);
        if (year(y).is_leap() && day >= 60) d += days(1);
        break;
      }
      case kind::zero_based:
        d = sys_days(year(y) / January / 1) + days(day);
        break;
      case kind::month_week_day: {
        const auto first = sys_days(year(y) / month_of() / 1);
        const int wd = static_cast<int>(weekday(first).c_encoding());
        d = first + days((day - wd + 7) % 7 + 7 * (week - 1));
        const auto last = sys_days(year(y) / month_of() / std::chrono::last);
        while (d > last) d -= days(7);
        break;
      }
    }
    return d.time_since_epoch().count() * std::int64_t{86400} + time;
  }

 private:
  std::chrono::month month_of() const { return std::chrono::month(static_cast<unsigned>(month)); }
};

// "std offset [dst [offset] [,start[/time],end[/time]]]", offsets as UTC offsets (east positive).
struct posix_rule {
  std::int32_t std_offset = 0;
  std::int32_t dst_offset = 0;
  bool has_dst = false;
  rule_date start;
  rule_date end;

  std::int32_t offset_at(std::int64_t t) const {
    if (!has_dst) return std_offset;
    // DST periods are [start(y), end(y)) when the end follows the start within the year (north),
    // else [start(y), end(y + 1)) (south). Checking the periods that begin in the local year
    // of t and the one before covers both, and rules whose times spill into another year.
    const auto year_of = [](std::int64_t s) {
      const auto d = std::chrono::floor<days>(sys_days{} + seconds(s));
      return static_cast<int>(std::chrono::year_month_day(d).year());
    };
    const int y = year_of(t + std_offset);
    for (int py = y - 1; py <= y; ++py) {
      const std::int64_t s = start.local_seconds(py) - std_offset;  // written in standard time
      std::int64_t e = end.local_seconds(py) - dst_offset;          // written in DST
      if (e <= s) e = end.local_seconds(py + 1) - dst_offset;
      if (t >= s && t < e) return dst_offset;
    }
    return std_offset;
  }
};

class posix_parser {
 public:
  explicit posix_parser(std::string_view s) : s_(s) {}

  expected<posix_rule, std::string> parse() {
    posix_rule r;
    if (!name()) return fail("expected a zone abbreviation (3 or more letters, or <...>)");
    const auto std_off = offset(24);
    if (!std_off) return fail("expected a UTC offset after the abbreviation");
    r.std_offset = -*std_off;  // POSIX: positive is west of Greenwich
    if (at_end()) return r;
    r.has_dst = true;
    if (!name()) return fail("expected a daylight saving time abbreviation");
    r.dst_offset = r.std_offset + 3600;
    if (!at_end() && peek() != ',') {
      const auto dst_off = offset(24);
      if (!dst_off) return fail("expected a daylight saving time offset or a rule");
      r.dst_offset = -*dst_off;
    }
    if (at_end()) {
      // No rule: the default POSIX leaves to the implementation; glibc and tzcode use the
      // current United States rules.
      r.start = {rule_date::kind::month_week_day, 0, 3, 2, 7200};
      r.end = {rule_date::kind::month_week_day, 0, 11, 1, 7200};
      return r;
    }
    if (!eat(',')) return fail("expected ',' before the start rule");
    const auto start = date();
    if (!start) return fail("expected a start rule (Jn, n or Mm.w.d)");
    r.start = *start;
    if (!eat(',')) return fail("expected ',' before the end rule");
    const auto end = date();
    if (!end) return fail("expected an end rule (Jn, n or Mm.w.d)");
    r.end = *end;
    if (!at_end()) return fail("unexpected text after the end rule");
    return r;
  }

 private:
  bool at_end() const { return i_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[i_]; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  static bool alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
  static bool digit(char c) { return c >= '0' && c <= '9'; }

  unexpected<std::string> fail(std::string_view what) const {
    return unexpected(fmt::format("{} at offset {}", what, i_));
  }

  bool name() {
    const auto begin = i_;
    if (eat('<')) {
      while (!at_end() && (alpha(peek()) || digit(peek()) || peek() == '+' || peek() == '-')) ++i_;
      if (i_ - begin - 1 < 3 || !eat('>')) {
        i_ = begin;
        return false;
      }
      return true;
    }
    while (!at_end() && alpha(peek())) ++i_;
    if (i_ - begin < 3) {
      i_ = begin;
      return false;
    }
    return true;
  }

  std::optional<int> number(int max_digits) {
    int v = 0;
    int n = 0;
    while (!at_end() && digit(peek()) && n < max_digits) {
      v = v * 10 + (peek() - '0');
      ++i_;
      ++n;
    }
    if (n == 0) return std::nullopt;
    return v;
  }

  // [+|-]hh[:mm[:ss]] in seconds, hours up to max_hours.
  std::optional<int> offset(int max_hours) {
    int sign = 1;
    if (eat('-'))
      sign = -1;
    else
      eat('+');
    const auto h = number(3);
    if (!h || *h > max_hours) return std::nullopt;
    int v = *h * 3600;
    if (eat(':')) {
      const auto m = number(2);
      if (!m || *m > 59) return std::nullopt;
      v += *m * 60;
      if (eat(':')) {
        const auto s = number(2);
        if (!s || *s > 59) return std::nullopt;
        v += *s;
      }
    }
    return sign * v;
  }

  std::optional<rule_date> date() {
    rule_date d;
    if (eat('J')) {
      const auto n = number(3);
      if (!n || *n < 1 || *n > 365) return std::nullopt;
      d.k = rule_date::kind::julian_no_leap;
      d.day = *n;
    } else if (eat('M')) {
      const auto m = number(2);
      if (!m || *m < 1 || *m > 12 || !eat('.')) return std::nullopt;
      const auto w = number(1);
      if (!w || *w < 1 || *w > 5 || !eat('.')) return std::nullopt;
      const auto wd = number(1);
      if (!wd || *wd > 6) return std::nullopt;
      d.k = rule_date::kind::month_week_day;
      d.month = *m;
      d.week = *w;
      d.day = *wd;
    } else {
      const auto n = number(3);
      if (!n || *n > 365) return std::nullopt;
      d.k = rule_date::kind::zero_based;
      d.day = *n;
    }
    if (eat('/')) {
      const auto t = offset(167);
      if (!t) return std::nullopt;
      d.time = *t;
    }
    return d;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

std::uint32_t be32(const unsigned char* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}
std::int64_t be64(const unsigned char* p) {
  return static_cast<std::int64_t>(std::uint64_t{be32(p)} << 32 | be32(p + 4));
}

bool valid_zone_name(std::string_view n) {
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' ||
           c == '_' || c == '+' || c == '-';
  });
}

// "EST5EDT", "<+04>-4", "CET-1CEST,M3.5.0,M10.5.0/3": a digit, and no '/' outside the rules
// (IANA names have no ','; their digits come after a '/', as in "Etc/GMT+5").
bool looks_like_posix(std::string_view n) {
  const auto rules = n.find(',');
  return n.substr(0, rules).find('/') == std::string_view::npos &&
         std::any_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A zone's offsets: the transition table, then the footer's rule.
struct zone_rules {
  std::int32_t initial_offset = 0;        // before the first transition (time type 0)
  std::vector<std::int64_t> transitions;  // UTC seconds, ascending
  std::vector<std::int32_t> offsets;      // the UTC offset from each transition on
  std::optional<posix_rule> rule;         // from the last transition on (the TZif footer)

  std::int32_t offset_at(std::int64_t t) const {
    if (!transitions.empty() && t < transitions.back()) {
      const auto it = std::upper_bound(transitions.begin(), transitions.end(), t);
      if (it == transitions.begin()) return initial_offset;
      return offsets[static_cast<std::size_t>(it - transitions.begin() - 1)];
    }
    if (rule) return rule->offset_at(t);
    return transitions.empty() ? initial_offset : offsets.back();
  }
};

// RFC 8536: the version 2+ data block (64-bit times) and the footer.
expected<zone_rules, std::string> parse_tzif(const std::string& data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const std::size_t size = data.size();
  constexpr std::size_t header_size = 44;
  if (size < header_size || data.compare(0, 4, "TZif") != 0)
    return unexpected(std::string("not a TZif file"));
  if (p[4] == 0)
    return unexpected(std::string("a TZif version 1 file (version 2 or later is needed)"));
  struct counts {
    std::uint32_t isut, isstd, leap, time, type, chars;
  };
  const auto read_counts = [&](std::size_t at) {
    return counts{be32(p + at + 20), be32(p + at + 24), be32(p + at + 28),
                  be32(p + at + 32), be32(p + at + 36), be32(p + at + 40)};
  };
  const auto block_size = [](const counts& c, std::size_t time_size) {
    return std::uint64_t{c.time} * time_size + c.time + std::uint64_t{c.type} * 6 + c.chars +
           std::uint64_t{c.leap} * (time_size + 4) + c.isstd + c.isut;
  };
  const auto v1 = read_counts(0);
  const std::uint64_t v2_at = header_size + block_size(v1, 4);
  if (v2_at + header_size > size || data.compare(v2_at, 4, "TZif") != 0)
    return unexpected(std::string("truncated TZif file"));
  const auto c = read_counts(v2_at);
  const std::uint64_t body = v2_at + header_size;
  const std::uint64_t footer_at = body + block_size(c, 8);
  if (footer_at > size || c.type == 0 || c.type > 256)
    return unexpected(std::string("truncated or malformed TZif file"));

  zone_rules z;
  const auto* times = p + body;
  const auto* indices = times + std::size_t{c.time} * 8;
  const auto* types = indices + c.time;
  const auto utoff = [&](std::size_t type) {
    return static_cast<std::int32_t>(be32(types + type * 6));
  };
  z.initial_offset = utoff(0);
  z.transitions.reserve(c.time);
  z.offsets.reserve(c.time);
  for (std::uint32_t i = 0; i < c.time; ++i) {
    const auto t = be64(times + std::size_t{i} * 8);
    if (!z.transitions.empty() && t <= z.transitions.back())
      return unexpected(std::string("malformed TZif file (transitions out of order)"));
    if (indices[i] >= c.type) return unexpected(std::string("malformed TZif file (bad time type)"));
    z.transitions.push_back(t);
    z.offsets.push_back(utoff(indices[i]));
  }

  // The footer: "\n" TZ-string "\n". An empty TZ string means no rule beyond the table.
  if (footer_at < size) {
    if (data[footer_at] != '\n' || data.back() != '\n' || size - footer_at < 2)
      return unexpected(std::string("malformed TZif footer"));
    const auto tz = std::string_view(data).substr(footer_at + 1, size - footer_at - 2);
    if (tz.find('\n') != std::string_view::npos)
      return unexpected(std::string("malformed TZif footer"));
    if (!tz.empty()) {
      auto r = posix_parser(tz).parse();
      if (!r)
        return unexpected(
            fmt::format("its footer rule \"{}\" is not a POSIX TZ string ({})", tz, r.error()));
      z.rule = *r;
    }
  }
  return z;
}

}  // namespace

// Immutable once built: copies of a time_zone share it, and concurrent calls only read it.
struct time_zone::impl {
  zone_rules rules;
};

time_zone::time_zone() : name_("UTC") {}

expected<time_zone, std::string> time_zone::load(const std::string& name,
                                                 const std::filesystem::path& zoneinfo) {
  time_zone tz;
  tz.name_ = name;
  if (name == "UTC" || name == "Etc/UTC") return tz;
  if (name.empty()) return unexpected(std::string("empty time zone name"));

  if (looks_like_posix(name)) {
    auto r = posix_parser(name).parse();
    if (!r) return unexpected(fmt::format("invalid POSIX time zone \"{}\": {}", name, r.error()));
    auto z = std::make_shared<impl>();
    z->rules.rule = *r;
    tz.impl_ = std::move(z);
    return tz;
  }

  if (name.find("..") != std::string::npos || name.front() == '/' || !valid_zone_name(name))
    return unexpected(fmt::format(
        "invalid time zone name \"{}\": expected an IANA name such as \"Europe/Paris\" "
        "(letters, digits, '/', '_', '+', '-'; no \"..\", not an absolute path) or a POSIX TZ "
        "string",
        name));

  const auto path = zoneinfo / name;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return unexpected(
        fmt::format("unknown time zone \"{}\": no such file in {}", name, zoneinfo.string()));
  if (!std::filesystem::is_regular_file(path, ec))
    return unexpected(
        fmt::format("unknown time zone \"{}\": {} is not a time zone file", name, path.string()));
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected(fmt::format("time zone \"{}\": cannot read {}", name, path.string()));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto z = parse_tzif(data);
  if (!z)
    return unexpected(fmt::format("time zone \"{}\": {}: {}", name, path.string(), z.error()));
  tz.impl_ = std::make_shared<const impl>(impl{std::move(*z)});
  return tz;
}

local_time_of_week time_zone::local(std::chrono::system_clock::time_point t) const {
  const auto utc = std::chrono::floor<seconds>(t).time_since_epoch().count();
  const auto local = utc + (impl_ ? impl_->rules.offset_at(utc) : 0);
  const auto d = std::chrono::floor<days>(sys_days{} + seconds(local));
  const auto secs_of_day = local - d.time_since_epoch().count() * std::int64_t{86400};
  return {static_cast<int>(std::chrono::weekday(d).c_encoding()),
          static_cast<int>(secs_of_day / 60)};
}

}  // namespace npsd::policy
