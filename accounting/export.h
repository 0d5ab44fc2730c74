#pragma once
// Exporting the accounting database: accounting records and authentication events, filtered
// by time, user and NAS, streamed as CSV, JSON, NDJSON or NPS's DTS XML (the IN*.log format
// that NPS log tooling reads). The database is opened read-only: in WAL mode a reader never
// blocks npsd's writer, and the rows are stepped and written one at a time, never collected.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <limits>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>

#include "radius/expected.h"

namespace npsd::accounting {

using time_ms = std::int64_t;  // milliseconds since 1970-01-01 UTC

enum class export_format { csv, json, ndjson, dts_xml };
enum class record_kind { accounting, auth };

// "csv", "json", "ndjson", "dts-xml"; nullopt for anything else.
std::optional<export_format> export_format_from_name(std::string_view name);
std::string_view export_format_name(export_format f) noexcept;

struct export_filter {
  time_ms from = std::numeric_limits<time_ms>::min();  // inclusive
  time_ms to = std::numeric_limits<time_ms>::max();    // exclusive
  std::string user;  // exact User-Name when not empty
  std::string nas;   // the nas column, NAS-IP-Address, NAS-Identifier or the client's name
                     // (auth events: or the client's address, as they have no nas column)
};

// Streams the matching rows of `kind`'s table to `out`, oldest first, in constant memory.
// `computer_name` is the Computer-Name of dts-xml events. Returns the number of rows written,
// or an error text naming the file.
expected<std::uint64_t, std::string> export_records(const std::filesystem::path& db,
                                                    record_kind kind, const export_filter& f,
                                                    export_format format, std::ostream& out,
                                                    std::string_view computer_name);

// A point in time, as UTC: "2026-12-01", "2026-12-01T10:00:00", "2026-12-01T10:00:00Z",
// "2026-12-01 10:00", optional ".123" milliseconds; "now"; or relative to now: "-7d", "-12h",
// "-30m" (any duration parse_duration takes, with a leading '-' or '+').
expected<time_ms, std::string> parse_time(std::string_view text, time_ms now);

// "90d", "12h", "30m", "45s", "2w" -> milliseconds.
expected<std::int64_t, std::string> parse_duration(std::string_view text);

// "2026-12-01T20:14:03.123Z".
std::string format_iso8601(time_ms t);
// As NPS writes times (UTC here): "12/01/2026 20:14:03.123", or "12/01/2026 20:14:03".
std::string format_nps_time(time_ms t, bool with_ms);

namespace detail {

// Appends `v` as XML (or HTML) text or attribute content: & < > " ' escaped, CR and LF as
// character references (an event stays on one line), other control characters as '?'.
void append_xml_escaped(std::string& out, std::string_view v);

class statement;  // accounting/sqlite.h

// One query of a read: its rows go to on_row; on_start (when set) sees the prepared statement
// before the first step (column names are known then, even for no rows).
struct query {
  std::string sql;
  std::function<bool(const statement&)> on_row;  // false stops this query
  std::function<void(const statement&)> on_start;
};

// "<time> >= ?1 AND <time> < ?2 AND (?3 IS NULL OR user_name = ?3) AND (?4 IS NULL OR ?4 IN
// (<nas columns>))": the condition the parameters run_read binds select.
std::string filter_condition(std::string_view time_column,
                             std::initializer_list<std::string_view> nas_columns);

// Opens `db` read-only and runs `queries` in one read transaction (one snapshot), binding the
// filter to ?1 from, ?2 to, ?3 user, ?4 nas (NULL when empty). Returns the rows stepped, or an
// error text naming the file.
expected<std::uint64_t, std::string> run_read(const std::filesystem::path& db,
                                              const export_filter& f, std::span<query> queries);

}  // namespace detail

}  // namespace npsd::accounting
