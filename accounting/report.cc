#include "accounting/report.h"

#include <algorithm>
#include <array>
#include <limits>

#include <fmt/format.h>

#include "accounting/sqlite.h"

namespace npsd::accounting {

namespace {

constexpr std::int64_t ms_per_hour = 3'600'000;
constexpr std::int64_t ms_per_day = 24 * ms_per_hour;
// Gaps are filled with empty buckets only up to this many buckets (a stray old timestamp must
// not make a chart of fifty years of days).
constexpr std::int64_t max_filled_buckets = 2000;

// NPS reason codes, with the texts npsd's server logs use (policy/reason.cc: kept here so
// accounting needs no link to policy).
constexpr std::array<std::pair<int, std::string_view>, 24> reason_texts{{
    {0, "success"},
    {1, "internal error"},
    {3, "malformed request"},
    {8, "user account does not exist"},
    {16, "authentication failed: credentials mismatch"},
    {22, "EAP type cannot be processed"},
    {34, "user account is disabled"},
    {36, "user account is locked out"},
    {48, "no network policy matched"},
    {49, "no connection request policy matched"},
    {65, "dial-in permission denies access"},
    {66, "authentication method not enabled"},
    {67, "Calling-Station-Id constraint not met"},
    {68, "day-and-time constraint not met"},
    {69, "Called-Station-Id constraint not met"},
    {70, "NAS-Port-Type constraint not met"},
    {258, "revocation list could not be read"},
    {259, "revocation server unavailable"},
    {262, "request incomplete: Message-Authenticator missing or invalid"},
    {265, "certificate chains to an untrusted root"},
    {283, "certificate lacks Client Authentication"},
    {285, "no usable client certificate"},
    {288, "certificate not valid"},
    {289, "certificate revoked"},
}};

// ---- queries ----

// The key of a group in sessions and in auth_events. A NAS of an auth event is named the way
// the store names a session's: NAS-IP-Address, else NAS-Identifier, else the source address.
struct key_columns {
  std::string_view session, auth;
};

key_columns key_of(report_group g) {
  switch (g) {
    case report_group::user: return {"COALESCE(user_name, '')", "COALESCE(user_name, '')"};
    case report_group::nas: return {"nas", "COALESCE(nas_ip, nas_identifier, client_address)"};
    case report_group::day:
      return {"strftime('%Y-%m-%d', started_ms / 1000, 'unixepoch')",
              "strftime('%Y-%m-%d', time_ms / 1000, 'unixepoch')"};
  }
  return {"''", "''"};
}

std::string session_condition() { return detail::filter_condition("started_ms", {"nas", "client"}); }
std::string auth_condition() {
  return detail::filter_condition("time_ms", {"nas_ip", "nas_identifier", "client", "client_address"});
}

// Sessions and auth events of the filter, summed per key: k, sessions, seconds, input, output,
// accepts, rejects, open sessions. `tail` follows GROUP BY (HAVING, ORDER BY, LIMIT).
std::string grouped_sql(key_columns k, std::string_view tail) {
  return fmt::format(R"sql(
SELECT k, SUM(n), SUM(secs), SUM(i), SUM(o), SUM(a), SUM(r), SUM(open_n) FROM (
  SELECT {0} AS k, 1 AS n, session_time AS secs, input_octets AS i, output_octets AS o,
         0 AS a, 0 AS r, state = 'open' AS open_n
    FROM sessions WHERE {2}
  UNION ALL
  SELECT {1}, 0, 0, 0, 0, packet_type = 2, packet_type = 3, 0
    FROM auth_events WHERE {3}
) GROUP BY k {4})sql",
                     k.session, k.auth, session_condition(), auth_condition(), tail);
}

std::uint64_t count_at(const detail::statement& s, int col) {
  return static_cast<std::uint64_t>(s.column_int(col));
}

report_row read_row(const detail::statement& s) {
  return {std::string(s.column_text(0)), count_at(s, 1), s.column_int(2), count_at(s, 3),
          count_at(s, 4),                count_at(s, 5), count_at(s, 6)};
}

// Floor division in SQL (sessions before 1970 are not expected, but cost nothing).
std::string bucket_sql(std::int64_t bucket_ms) {
  return fmt::format(
      "SELECT (started_ms - ((started_ms % {0}) + {0}) % {0}) / {0} AS b, COUNT(*) FROM sessions "
      "WHERE {1} GROUP BY b ORDER BY b",
      bucket_ms, session_condition());
}

std::string bucket_label(std::int64_t bucket, std::int64_t bucket_ms) {
  const std::string iso = format_iso8601(bucket * bucket_ms);  // 2026-12-01T10:00:00.000Z
  if (bucket_ms == ms_per_day) return iso.substr(0, 10);
  return iso.substr(0, 10) + ' ' + iso.substr(11, 5);
}

// ---- text helpers ----

std::string shown_key(std::string_view key) {
  if (key.empty()) return "(none)";
  std::string out;
  for (char c : key) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) ? '?' : c;
  return out;
}

// Columns on a terminal: UTF-8 continuation bytes take none.
std::size_t display_width(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// At most `n` code points, "…" marking a cut.
std::string truncated(std::string_view s, std::size_t n) {
  std::size_t points = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (points++ == n) return std::string(s.substr(0, i)) + "\u2026";
  }
  return std::string(s);
}

std::string format_bytes(std::uint64_t n) {
  static constexpr std::array<std::string_view, 6> units{"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(n);
  std::size_t u = 0;
  while (v >= 1024 && u + 1 < units.size()) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", n) : fmt::format("{:.1f} {}", v, units[u]);
}

std::string format_bound(time_ms t, std::string_view unbounded) {
  if (t == std::numeric_limits<time_ms>::min() || t == std::numeric_limits<time_ms>::max())
    return std::string(unbounded);
  return format_iso8601(t);
}

// A table for either rendering: header, cells, and per column 'l'eft or 'r'ight alignment.
struct table {
  std::vector<std::string> head;
  std::string align;
  std::vector<std::vector<std::string>> rows;
};

table group_table(std::string_view key_name, const std::vector<report_row>& rows) {
  table t{{std::string(key_name), "Sessions", "Connected", "Input octets", "Output octets",
           "Accepts", "Rejects"},
          "lrrrrrr",
          {}};
  for (const auto& r : rows)
    t.rows.push_back({shown_key(r.key), fmt::format("{}", r.sessions),
                      format_duration(r.connected_seconds), fmt::format("{}", r.input_octets),
                      fmt::format("{}", r.output_octets), fmt::format("{}", r.accepts),
                      fmt::format("{}", r.rejects)});
  return t;
}

table failures_table(const report& r) {
  table t{{"Code", "Reason", "Count"}, "rlr", {}};
  for (const auto& [code, text, count] : r.failures_by_reason)
    t.rows.push_back({fmt::format("{}", code), text, fmt::format("{}", count)});
  return t;
}

table summary_table(const report& r) {
  return {{"Figure", "Value"},
          "ll",
          {{"Sessions", fmt::format("{}", r.total_sessions)},
           {"Open sessions", fmt::format("{}", r.open_sessions)},
           {"Connected time", fmt::format("{} ({} s)", format_duration(r.total_connected_seconds),
                                          r.total_connected_seconds)},
           {"Input octets", fmt::format("{} ({})", r.total_input_octets, format_bytes(r.total_input_octets))},
           {"Output octets",
            fmt::format("{} ({})", r.total_output_octets, format_bytes(r.total_output_octets))},
           {"Access-Accepts", fmt::format("{}", r.accepts)},
           {"Access-Rejects", fmt::format("{}", r.rejects)}}};
}

std::string_view group_title(report_group g) {
  switch (g) {
    case report_group::user: return "User";
    case report_group::nas: return "NAS";
    case report_group::day: return "Day";
  }
  return "Key";
}

void put_text_table(std::string& out, const table& t) {
  std::vector<std::size_t> width(t.head.size());
  for (std::size_t c = 0; c < t.head.size(); ++c) {
    width[c] = display_width(t.head[c]);
    for (const auto& row : t.rows) width[c] = std::max(width[c], display_width(row[c]));
  }
  const auto put_line = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::string pad(width[c] - display_width(cells[c]), ' ');
      line += "  ";
      line += t.align[c] == 'r' ? pad + cells[c] : cells[c] + pad;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + '\n';
  };
  put_line(t.head);
  std::vector<std::string> rule;
  for (auto w : width) rule.emplace_back(w, '-');
  put_line(rule);
  for (const auto& row : t.rows) put_line(row);
  if (t.rows.empty()) out += "  (none)\n";
}

// ---- HTML helpers ----

std::string esc(std::string_view s) {
  std::string out;
  detail::append_xml_escaped(out, s);
  return out;
}

void put_html_table(std::string& out, const table& t) {
  if (t.rows.empty()) {
    out += "<p class=\"empty\">None.</p>\n";
    return;
  }
  const auto cls = [&](std::size_t c) { return t.align[c] == 'r' ? " class=\"num\"" : ""; };
  out += "<table>\n<thead><tr>";
  for (std::size_t c = 0; c < t.head.size(); ++c) out += fmt::format("<th{}>{}</th>", cls(c), esc(t.head[c]));
  out += "</tr></thead>\n<tbody>\n";
  for (const auto& row : t.rows) {
    out += "<tr>";
    for (std::size_t c = 0; c < row.size(); ++c) out += fmt::format("<td{}>{}</td>", cls(c), esc(row[c]));
    out += "</tr>\n";
  }
  out += "</tbody>\n</table>\n";
}

// Vertical bars, one per bucket, each with a tooltip (<title>); x labels spaced to fit.
void put_time_chart(std::string& out, const report& r) {
  const auto& data = r.connections_over_time;
  if (data.empty()) {
    out += "<p class=\"empty\">No sessions started in this period.</p>\n";
    return;
  }
  constexpr double width = 900, height = 260, left = 50, right = 10, top = 12, bottom = 40;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  std::uint64_t max = 1;
  for (const auto& [label, n] : data) max = std::max(max, n);
  const double bar = plot_w / static_cast<double>(data.size());
  const double gap = std::min(2.0, bar * 0.2);
  const double label_px = 7.0 * static_cast<double>(data.front().first.size()) + 12;
  const std::size_t step = std::max<std::size_t>(1, static_cast<std::size_t>(label_px / bar) + 1);

  out += fmt::format(
      "<svg class=\"chart\" viewBox=\"0 0 {0} {1}\" role=\"img\" aria-label=\"Connections over "
      "time\">\n<line class=\"axis\" x1=\"{2}\" y1=\"{3}\" x2=\"{2}\" y2=\"{4}\"/>"
      "<line class=\"axis\" x1=\"{2}\" y1=\"{4}\" x2=\"{5}\" y2=\"{4}\"/>\n"
      "<text class=\"tick\" x=\"{6}\" y=\"{7}\" text-anchor=\"end\">{8}</text>"
      "<text class=\"tick\" x=\"{6}\" y=\"{4}\" text-anchor=\"end\">0</text>\n",
      width, height, left, top, top + plot_h, width - right, left - 6, top + 10, max);
  for (std::size_t i = 0; i < data.size(); ++i) {
    const auto& [label, n] = data[i];
    const double h = plot_h * static_cast<double>(n) / static_cast<double>(max);
    const double x = left + bar * static_cast<double>(i);
    out += fmt::format(
        "<rect class=\"bar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\">"
        "<title>{}: {}</title></rect>\n",
        x + gap / 2, top + plot_h - h, std::max(bar - gap, 0.5), h, esc(label), n);
    if (i % step == 0)
      out += fmt::format("<text class=\"tick\" x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                         x + bar / 2, top + plot_h + 18, esc(label));
  }
  out += "</svg>\n";
}

// Horizontal bars: a user's name, a bar as long as their share of the largest, the time.
void put_top_users_chart(std::string& out, const report& r) {
  const auto& users = r.top_users;
  if (users.empty()) {
    out += "<p class=\"empty\">No sessions in this period.</p>\n";
    return;
  }
  constexpr double width = 900, label_w = 220, bar_w = 560, row_h = 26;
  std::int64_t max = 1;
  for (const auto& u : users) max = std::max(max, u.connected_seconds);
  out += fmt::format(
      "<svg class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"Top users by connected "
      "time\">\n",
      width, row_h * static_cast<double>(users.size()) + 8);
  for (std::size_t i = 0; i < users.size(); ++i) {
    const auto& u = users[i];
    const double y = 4 + row_h * static_cast<double>(i);
    const double w = bar_w * static_cast<double>(std::max<std::int64_t>(u.connected_seconds, 0)) /
                     static_cast<double>(max);
    const std::string name = shown_key(u.key);
    out += fmt::format(
        "<text class=\"label\" x=\"{0}\" y=\"{1:.1f}\" text-anchor=\"end\">{2}</text>"
        "<rect class=\"bar\" x=\"{3}\" y=\"{4:.1f}\" width=\"{5:.1f}\" height=\"{6}\">"
        "<title>{7}: {8}</title></rect>"
        "<text class=\"value\" x=\"{9:.1f}\" y=\"{1:.1f}\">{8}</text>\n",
        label_w - 8, y + row_h / 2 + 4, esc(truncated(name, 28)), label_w, y + 3,
        std::max(w, 0.5), row_h - 6, esc(name), esc(format_duration(u.connected_seconds)),
        label_w + w + 6);
  }
  out += "</svg>\n";
}

constexpr std::string_view page_style = R"css(
:root { color-scheme: light dark; --fg: #1d232b; --bg: #fff; --muted: #5b6470; --line: #d6dbe1;
        --bar: #3a6ea5; --bar-hover: #23507f; --card: #f4f6f8; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e3e7ec; --bg: #14181d; --muted: #9aa4af; --line: #36404b; --bar: #5b93cf;
          --bar-hover: #8ab6e4; --card: #1d232b; } }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
       background: var(--bg); max-width: 960px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid var(--line); }
.range, .empty { color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 0.8em; }
.card { background: var(--card); border-radius: 6px; padding: 0.7em 0.9em; }
.card .figure { font-size: 1.35em; font-weight: 600; }
.card .name { color: var(--muted); font-size: 0.9em; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 0.3em 0.6em; border-bottom: 1px solid var(--line); text-align: left;
         overflow-wrap: anywhere; }
th { font-weight: 600; }
.num { text-align: right; white-space: nowrap; }
svg.chart { width: 100%; height: auto; }
svg .bar { fill: var(--bar); }
svg .bar:hover { fill: var(--bar-hover); }
svg .axis { stroke: var(--muted); stroke-width: 1; }
svg text { fill: var(--fg); font-size: 12px; }
svg .tick { fill: var(--muted); font-size: 11px; }
@media print { svg .bar { fill: #555; } }
)css";

}  // namespace

std::optional<report_group> report_group_from_name(std::string_view name) {
  for (auto g : {report_group::user, report_group::nas, report_group::day})
    if (report_group_name(g) == name) return g;
  return std::nullopt;
}

std::string_view report_group_name(report_group g) noexcept {
  switch (g) {
    case report_group::user: return "user";
    case report_group::nas: return "nas";
    case report_group::day: return "day";
  }
  return "user";
}

std::string nps_reason_text(int code) {
  for (const auto& [c, text] : reason_texts)
    if (c == code) return std::string(text);
  return fmt::format("reason {}", code);
}

std::string format_duration(std::int64_t seconds) {
  if (seconds < 0) return fmt::format("{}s", seconds);  // a NAS's nonsense, shown as sent
  const std::array<std::pair<std::int64_t, char>, 4> parts{
      {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}}};
  std::string out;
  for (const auto& [unit, name] : parts) {
    const std::int64_t n = seconds / unit;
    seconds %= unit;
    if (n != 0 || (unit == 1 && out.empty())) out += fmt::format("{}{}{}", out.empty() ? "" : " ", n, name);
  }
  return out;
}

expected<report, std::string> build_report(const std::filesystem::path& db,
                                           const report_options& o) {
  report r;
  r.from = o.filter.from;
  r.to = o.filter.to;
  r.by = o.by;
  const bool hourly = o.filter.to > o.filter.from &&
                      static_cast<std::uint64_t>(o.filter.to) - static_cast<std::uint64_t>(o.filter.from) <=
                          static_cast<std::uint64_t>(2 * ms_per_day);
  const std::int64_t bucket_ms = hourly ? ms_per_hour : ms_per_day;
  std::vector<std::pair<std::int64_t, std::uint64_t>> buckets;

  std::array<detail::query, 5> queries{{
      {grouped_sql(key_of(o.by), "ORDER BY k"),
       [&](const detail::statement& s) {
         r.rows.push_back(read_row(s));
         return true;
       },
       {}},
      {grouped_sql(key_of(report_group::user),
                   fmt::format("HAVING SUM(n) > 0 ORDER BY SUM(secs) DESC, k LIMIT {}", o.top)),
       [&](const detail::statement& s) {
         r.top_users.push_back(read_row(s));
         return true;
       },
       {}},
      {grouped_sql({"''", "''"}, ""),
       [&](const detail::statement& s) {
         const auto t = read_row(s);
         r.total_sessions = t.sessions;
         r.total_connected_seconds = t.connected_seconds;
         r.total_input_octets = t.input_octets;
         r.total_output_octets = t.output_octets;
         r.accepts = t.accepts;
         r.rejects = t.rejects;
         r.open_sessions = count_at(s, 7);
         return true;
       },
       {}},
      {bucket_sql(bucket_ms),
       [&](const detail::statement& s) {
         buckets.emplace_back(s.column_int(0), count_at(s, 1));
         return true;
       },
       {}},
      {fmt::format("SELECT reason, COUNT(*) FROM auth_events WHERE {} AND packet_type = 3 "
                   "GROUP BY reason ORDER BY 2 DESC, 1",
                   auth_condition()),
       [&](const detail::statement& s) {
         const int code = static_cast<int>(s.column_int(0));
         r.failures_by_reason.emplace_back(code, nps_reason_text(code), count_at(s, 1));
         return true;
       },
       {}},
  }};
  if (auto read = detail::run_read(db, o.filter, queries); !read) return unexpected(read.error());

  const bool fill = !buckets.empty() && buckets.back().first - buckets.front().first < max_filled_buckets;
  std::int64_t next = buckets.empty() ? 0 : buckets.front().first;
  for (const auto& [b, n] : buckets) {
    for (; fill && next < b; ++next) r.connections_over_time.emplace_back(bucket_label(next, bucket_ms), 0);
    r.connections_over_time.emplace_back(bucket_label(b, bucket_ms), n);
    next = b + 1;
  }
  return r;
}

std::string format_report_text(const report& r) {
  std::string out = fmt::format("npsd accounting report\nFrom {} to {}\n\nSummary\n",
                                format_bound(r.from, "the first record"), format_bound(r.to, "now"));
  put_text_table(out, summary_table(r));
  out += fmt::format("\nBy {}\n", report_group_name(r.by));
  put_text_table(out, group_table(group_title(r.by), r.rows));
  out += "\nTop users by connected time\n";
  put_text_table(out, group_table("User", r.top_users));
  out += "\nFailures by reason\n";
  put_text_table(out, failures_table(r));
  return out;
}

std::string format_report_html(const report& r) {
  const std::string range = fmt::format("From {} to {}", format_bound(r.from, "the first record"),
                                        format_bound(r.to, "now"));
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>npsd accounting report</title>\n<style>{}</style>\n</head>\n<body>\n"
      "<h1>Accounting report</h1>\n<p class=\"range\">{}</p>\n",
      page_style, esc(range));

  out += "<h2>Summary</h2>\n<div class=\"cards\">\n";
  for (const auto& row : summary_table(r).rows)
    out += fmt::format("<div class=\"card\"><div class=\"figure\">{}</div><div class=\"name\">{}</div></div>\n",
                       esc(row[1]), esc(row[0]));
  out += "</div>\n";

  out += "<h2>Connections over time</h2>\n";
  put_time_chart(out, r);
  out += "<h2>Top users by connected time</h2>\n";
  put_top_users_chart(out, r);
  put_html_table(out, group_table("User", r.top_users));
  out += fmt::format("<h2>By {}</h2>\n", esc(report_group_name(r.by)));
  put_html_table(out, group_table(group_title(r.by), r.rows));
  out += "<h2>Failures by reason</h2>\n";
  put_html_table(out, failures_table(r));
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace npsd::accounting
