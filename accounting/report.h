#pragma once
// Usage reports over the accounting database: sessions, connected time, bytes, accepts and
// rejects, grouped by user, NAS or day, with the top users and the failures by reason. The
// figures are aggregated by SQLite (GROUP BY) in one read-only snapshot, never by loading
// rows, then shown as aligned text or as one self-contained HTML page.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "accounting/export.h"
#include "radius/expected.h"

namespace npsd::accounting {

enum class report_group { user, nas, day };

// "user", "nas", "day"; nullopt for anything else.
std::optional<report_group> report_group_from_name(std::string_view name);
std::string_view report_group_name(report_group g) noexcept;

struct report_options {
  export_filter filter;  // sessions by started_ms, auth events by time_ms
  report_group by = report_group::user;
  std::size_t top = 10;
};

struct report_row {
  std::string key;  // a User-Name, a NAS (sessions' nas column; for auth events NAS-IP-Address,
                    // else NAS-Identifier, else the client's address), or a day "2026-12-01";
                    // "" when the records have none
  std::uint64_t sessions = 0;
  std::int64_t connected_seconds = 0;
  std::uint64_t input_octets = 0, output_octets = 0;
  std::uint64_t accepts = 0, rejects = 0;
};

struct report {
  time_ms from = 0, to = 0;
  report_group by = report_group::user;
  std::vector<report_row> rows;       // grouped by `by`, sorted by key
  std::vector<report_row> top_users;  // the most connected time first, at most `top`
  // Sessions started per day ("2026-12-01"), or per hour ("2026-12-01 10:00") when the range
  // is at most two days; empty buckets between the first and the last are included.
  std::vector<std::pair<std::string, std::uint64_t>> connections_over_time;
  // Access-Rejects by NPS reason code: code, text, count; the most frequent first.
  std::vector<std::tuple<int, std::string, std::uint64_t>> failures_by_reason;
  std::uint64_t total_sessions = 0, open_sessions = 0;
  std::int64_t total_connected_seconds = 0;
  std::uint64_t total_input_octets = 0, total_output_octets = 0;
  std::uint64_t accepts = 0, rejects = 0;
};

// Error text names the file.
expected<report, std::string> build_report(const std::filesystem::path& db,
                                           const report_options& o);

// Aligned text tables: summary, by <group>, top users, failures by reason. Control characters
// in names are shown as '?', so a user name cannot drive the terminal.
std::string format_report_text(const report& r);

// One self-contained HTML page: inline CSS and SVG charts (connections over time, top users by
// connected time), the summary and the tables. No scripts, no external references; every text
// from the database is escaped.
std::string format_report_html(const report& r);

// The text of an NPS reason code ("authentication failed: credentials mismatch"), or
// "reason <n>" for a code this table does not know.
std::string nps_reason_text(int code);

// "2d 3h 4m 5s", "45s", "0s".
std::string format_duration(std::int64_t seconds);

}  // namespace npsd::accounting
