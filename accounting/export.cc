#include "accounting/export.h"

#include <array>
#include <charconv>
#include <chrono>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "accounting/sqlite.h"

namespace npsd::accounting {

namespace {

using namespace std::chrono;

constexpr std::int64_t ms_per_second = 1000;

// The index of each named column of a prepared statement, -1 where it has none.
template <class Names>
std::vector<int> column_indices(const detail::statement& s, const Names& names) {
  std::vector<int> out;
  for (const auto& n : names) {
    int found = -1;
    for (int i = 0; i < s.column_count(); ++i)
      if (s.column_name(i) == n) found = i;
    out.push_back(found);
  }
  return out;
}

// ---- CSV (RFC 4180) ----

// Text that a spreadsheet would run as a formula (=, +, -, @ first) is prefixed with an
// apostrophe: user names come from the network.
void put_csv_field(std::string& line, std::string_view v, bool text = false) {
  std::string guarded;
  if (text && !v.empty() && std::string_view("=+-@\t\r").find(v.front()) != std::string_view::npos) {
    guarded = "'";
    guarded += v;
    v = guarded;
  }
  if (v.find_first_of(",\"\r\n") == std::string_view::npos) {
    line += v;
    return;
  }
  line += '"';
  for (char c : v) {
    if (c == '"') line += '"';
    line += c;
  }
  line += '"';
}

// Columns a reader does not want: the store's deduplication key.
bool exported_column(std::string_view name) { return name != "natural_key"; }

class csv_writer {
 public:
  explicit csv_writer(std::ostream& out) : out_(out) {}

  void start(const detail::statement& s) {
    time_col_ = column_indices(s, std::array{std::string_view("time_ms")})[0];
    std::string line = "time";
    for (int i = 0; i < s.column_count(); ++i) {
      if (!exported_column(s.column_name(i))) continue;
      line += ',';
      put_csv_field(line, s.column_name(i));
    }
    out_ << line << "\r\n";
  }

  bool row(const detail::statement& s) {
    std::string line = format_iso8601(s.column_int(time_col_));
    for (int i = 0; i < s.column_count(); ++i) {
      if (!exported_column(s.column_name(i))) continue;
      line += ',';
      put_csv_field(line, s.column_text(i), s.column_type(i) == SQLITE_TEXT);
    }
    out_ << line << "\r\n";
    return static_cast<bool>(out_);
  }

 private:
  std::ostream& out_;
  int time_col_ = -1;
};

// ---- JSON and NDJSON ----

nlohmann::ordered_json json_of_row(const detail::statement& s, int time_col) {
  nlohmann::ordered_json o;
  o["time"] = format_iso8601(s.column_int(time_col));
  for (int i = 0; i < s.column_count(); ++i) {
    const std::string name(s.column_name(i));
    if (!exported_column(name)) continue;
    switch (s.column_type(i)) {
      case SQLITE_NULL: o[name] = nullptr; break;
      case SQLITE_INTEGER: o[name] = s.column_int(i); break;
      case SQLITE_FLOAT: o[name] = sqlite3_column_double(s.get(), i); break;
      default: {
        const std::string_view text = s.column_text(i);
        if (name == "attributes") {
          auto parsed = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
          if (!parsed.is_discarded()) {
            o[name] = std::move(parsed);
            break;
          }
        }
        o[name] = std::string(text);
      }
    }
  }
  return o;
}

class json_writer {
 public:
  json_writer(std::ostream& out, bool lines) : out_(out), lines_(lines) {}

  void start(const detail::statement& s) {
    time_col_ = column_indices(s, std::array{std::string_view("time_ms")})[0];
  }

  bool row(const detail::statement& s) {
    if (!lines_) out_ << (rows_ == 0 ? "[\n" : ",\n");
    // User names and attributes are attacker-controlled: invalid UTF-8 is replaced, not thrown.
    out_ << json_of_row(s, time_col_).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (lines_) out_ << '\n';
    ++rows_;
    return static_cast<bool>(out_);
  }

  void finish() {
    if (!lines_) out_ << (rows_ == 0 ? "[]\n" : "\n]\n");
  }

 private:
  std::ostream& out_;
  bool lines_;
  int time_col_ = -1;
  std::uint64_t rows_ = 0;
};

// ---- NPS DTS XML ----

// How a column becomes an element (NPS data_type: 0 integer, 1 string, 2 octets, 3 address,
// 4 time).
enum class dts_kind {
  integer,
  text,
  address,      // data_type 3; an IPv6 address names the element "...-IPv6-..."
  seconds,      // a time in seconds since the epoch, data_type 4
  octets,       // 64-bit count: "<name>-Octets" low 32 bits, "<name>-Gigawords" the rest
  class_value,  // text, or "0x..." hex from the store: data_type 2
  auth_type,    // npsd's method name -> NPS's Authentication-Type number
};

struct dts_field {
  std::string_view column;
  std::string_view element;
  dts_kind kind;
};

// Elements of both kinds of event, then of each (NPS's order within an event is no contract).
constexpr std::array common_fields{
    dts_field{"client_address", "Client-IP-Address", dts_kind::address},
    dts_field{"client", "Client-Friendly-Name", dts_kind::text},
    dts_field{"nas_ip", "NAS-IP-Address", dts_kind::address},
    dts_field{"nas_identifier", "NAS-Identifier", dts_kind::text},
    dts_field{"user_name", "User-Name", dts_kind::text},
    dts_field{"calling_station_id", "Calling-Station-Id", dts_kind::text},
    dts_field{"called_station_id", "Called-Station-Id", dts_kind::text},
    dts_field{"nas_port_type", "NAS-Port-Type", dts_kind::integer},
    dts_field{"class", "Class", dts_kind::class_value},
};

constexpr std::array accounting_fields{
    dts_field{"status_type", "Acct-Status-Type", dts_kind::integer},
    dts_field{"session_id", "Acct-Session-Id", dts_kind::text},
    dts_field{"multi_session_id", "Acct-Multi-Session-Id", dts_kind::text},
    dts_field{"session_time", "Acct-Session-Time", dts_kind::integer},
    dts_field{"input_octets", "Acct-Input", dts_kind::octets},
    dts_field{"output_octets", "Acct-Output", dts_kind::octets},
    dts_field{"input_packets", "Acct-Input-Packets", dts_kind::integer},
    dts_field{"output_packets", "Acct-Output-Packets", dts_kind::integer},
    dts_field{"framed_ip", "Framed-IP-Address", dts_kind::address},
    dts_field{"nas_port", "NAS-Port", dts_kind::integer},
    dts_field{"terminate_cause", "Acct-Terminate-Cause", dts_kind::integer},
    dts_field{"delay_time", "Acct-Delay-Time", dts_kind::integer},
    dts_field{"event_timestamp", "Event-Timestamp", dts_kind::seconds},
};

constexpr std::array auth_fields{
    dts_field{"identity", "SAM-Account-Name", dts_kind::text},
    dts_field{"identity", "Fully-Qualifed-User-Name", dts_kind::text},  // NPS's spelling
    dts_field{"crp", "Proxy-Policy-Name", dts_kind::text},
    dts_field{"np", "NP-Policy-Name", dts_kind::text},
    dts_field{"auth_method", "Authentication-Type", dts_kind::auth_type},
    dts_field{"packet_type", "Packet-Type", dts_kind::integer},
    dts_field{"reason", "Reason-Code", dts_kind::integer},
};

// NPS's Authentication-Type: 1 PAP, 2 CHAP, 4 MS-CHAPv2, 5 EAP, 7 unauthenticated, 11 PEAP.
std::optional<int> nps_authentication_type(std::string_view method) {
  if (method == "PAP") return 1;
  if (method == "CHAP") return 2;
  if (method == "MS-CHAPv2") return 4;
  if (method == "Unauthenticated") return 7;
  if (method.starts_with("PEAP")) return 11;
  if (method.starts_with("EAP")) return 5;
  return std::nullopt;
}

}  // namespace

void detail::append_xml_escaped(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      case '\t': out += c; break;
      default: out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
    }
  }
}

namespace {

void put_element(std::string& line, std::string_view name, int data_type, std::string_view value) {
  fmt::format_to(std::back_inserter(line), "<{} data_type=\"{}\">", name, data_type);
  detail::append_xml_escaped(line, value);
  fmt::format_to(std::back_inserter(line), "</{}>", name);
}

class dts_writer {
 public:
  dts_writer(std::ostream& out, record_kind kind, std::string_view computer_name)
      : out_(out), kind_(kind), computer_name_(computer_name) {}

  void start(const detail::statement& s) {
    time_col_ = column_indices(s, std::array{std::string_view("time_ms")})[0];
    fields_.assign(common_fields.begin(), common_fields.end());
    if (kind_ == record_kind::accounting)
      fields_.insert(fields_.end(), accounting_fields.begin(), accounting_fields.end());
    else
      fields_.insert(fields_.end(), auth_fields.begin(), auth_fields.end());
    std::vector<std::string_view> names;
    for (const auto& f : fields_) names.push_back(f.column);
    cols_ = column_indices(s, names);
  }

  bool row(const detail::statement& s) {
    std::string line = "<Event>";
    put_element(line, "Timestamp", 4, format_nps_time(s.column_int(time_col_), true));
    put_element(line, "Computer-Name", 1, computer_name_);
    put_element(line, "Event-Source", 1, "IAS");
    for (std::size_t i = 0; i < fields_.size(); ++i) put_field(line, s, fields_[i], cols_[i]);
    if (kind_ == record_kind::accounting) {
      put_element(line, "Packet-Type", 0, "4");
      put_element(line, "Reason-Code", 0, "0");
    } else {
      put_element(line, "Provider-Type", 0, "1");  // Windows: npsd decided it itself
    }
    line += "</Event>\n";
    out_ << line;
    return static_cast<bool>(out_);
  }

 private:
  static void put_field(std::string& line, const detail::statement& s, const dts_field& f, int col) {
    if (col < 0 || s.column_is_null(col)) return;
    const std::string_view text = s.column_text(col);
    switch (f.kind) {
      case dts_kind::integer: put_element(line, f.element, 0, text); break;
      case dts_kind::text: put_element(line, f.element, 1, text); break;
      case dts_kind::address:
        if (text.find(':') == std::string_view::npos) {
          put_element(line, f.element, 3, text);
        } else {
          std::string v6(f.element);
          v6.replace(v6.find("-IP-"), 4, "-IPv6-");
          put_element(line, v6, 3, text);
        }
        break;
      case dts_kind::seconds:
        put_element(line, f.element, 4, format_nps_time(s.column_int(col) * ms_per_second, false));
        break;
      case dts_kind::octets: {
        const auto v = static_cast<std::uint64_t>(s.column_int(col));
        put_element(line, fmt::format("{}-Octets", f.element), 0,
                    fmt::format("{}", v & 0xFFFFFFFFu));
        if ((v >> 32) != 0)
          put_element(line, fmt::format("{}-Gigawords", f.element), 0, fmt::format("{}", v >> 32));
        break;
      }
      case dts_kind::class_value:
        if (text.starts_with("0x"))
          put_element(line, f.element, 2, text.substr(2));
        else
          put_element(line, f.element, 1, text);
        break;
      case dts_kind::auth_type:
        if (const auto t = nps_authentication_type(text)) put_element(line, f.element, 0, fmt::format("{}", *t));
        break;
    }
  }

  std::ostream& out_;
  record_kind kind_;
  std::string computer_name_;
  int time_col_ = -1;
  std::vector<dts_field> fields_;
  std::vector<int> cols_;  // fields_[i]'s column, -1 where the table has none
};

// ---- time ----

struct civil_time {
  int year;
  unsigned month, day;
  long hour, minute, second, millisecond;
};

civil_time to_civil(time_ms t) {
  const sys_time<milliseconds> tp{milliseconds{t}};
  const auto d = floor<days>(tp);
  const year_month_day ymd{d};
  const hh_mm_ss<milliseconds> hms{tp - d};
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day()), static_cast<long>(hms.hours().count()),
          static_cast<long>(hms.minutes().count()), static_cast<long>(hms.seconds().count()),
          static_cast<long>(hms.subseconds().count())};
}

// Reads exactly `digits` decimal digits from the front of `s`.
std::optional<int> take_number(std::string_view& s, std::size_t digits) {
  if (s.size() < digits) return std::nullopt;
  int v = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  s.remove_prefix(digits);
  return v;
}

bool take_char(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

// "YYYY-MM-DD[(T| )HH:MM[:SS[.mmm]][Z]]" as UTC.
std::optional<time_ms> parse_absolute(std::string_view s) {
  const auto y = take_number(s, 4);
  if (!y || !take_char(s, '-')) return std::nullopt;
  const auto mo = take_number(s, 2);
  if (!mo || !take_char(s, '-')) return std::nullopt;
  const auto d = take_number(s, 2);
  if (!d) return std::nullopt;
  const year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  int h = 0, mi = 0, sec = 0, ms = 0;
  if (!s.empty()) {
    if (!take_char(s, 'T') && !take_char(s, ' ')) return std::nullopt;
    const auto hh = take_number(s, 2);
    if (!hh || !take_char(s, ':')) return std::nullopt;
    const auto mm = take_number(s, 2);
    if (!mm) return std::nullopt;
    h = *hh;
    mi = *mm;
    if (take_char(s, ':')) {
      const auto ss = take_number(s, 2);
      if (!ss) return std::nullopt;
      sec = *ss;
      if (take_char(s, '.')) {
        const auto f = take_number(s, 3);
        if (!f) return std::nullopt;
        ms = *f;
      }
    }
    (void)take_char(s, 'Z');
    if (!s.empty() || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  }
  const auto tp = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} + milliseconds{ms};
  return duration_cast<milliseconds>(tp.time_since_epoch()).count();
}

}  // namespace

std::optional<export_format> export_format_from_name(std::string_view name) {
  for (auto f : {export_format::csv, export_format::json, export_format::ndjson, export_format::dts_xml})
    if (export_format_name(f) == name) return f;
  return std::nullopt;
}

std::string_view export_format_name(export_format f) noexcept {
  switch (f) {
    case export_format::csv: return "csv";
    case export_format::json: return "json";
    case export_format::ndjson: return "ndjson";
    case export_format::dts_xml: return "dts-xml";
  }
  return "csv";
}

std::string format_iso8601(time_ms t) {
  const auto c = to_civil(t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", c.year, c.month, c.day, c.hour,
                     c.minute, c.second, c.millisecond);
}

std::string format_nps_time(time_ms t, bool with_ms) {
  const auto c = to_civil(t);
  auto s = fmt::format("{:02}/{:02}/{:04} {:02}:{:02}:{:02}", c.month, c.day, c.year, c.hour,
                       c.minute, c.second);
  if (with_ms) s += fmt::format(".{:03}", c.millisecond);
  return s;
}

expected<std::int64_t, std::string> parse_duration(std::string_view text) {
  const auto refuse = [&] {
    return unexpected(fmt::format(
        "invalid duration \"{}\": use a whole number and a unit, s, m, h, d or w (e.g. 90d, 12h, "
        "30m)",
        text));
  };
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end == text.data() || n < 0 || text.data() + text.size() - end != 1)
    return refuse();
  std::int64_t unit = 0;
  switch (*end) {
    case 's': unit = ms_per_second; break;
    case 'm': unit = 60 * ms_per_second; break;
    case 'h': unit = 3600 * ms_per_second; break;
    case 'd': unit = 86400 * ms_per_second; break;
    case 'w': unit = 7 * 86400 * ms_per_second; break;
    default: return refuse();
  }
  if (n > std::numeric_limits<std::int64_t>::max() / unit) return refuse();
  return n * unit;
}

expected<time_ms, std::string> parse_time(std::string_view text, time_ms now) {
  if (text == "now") return now;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    const auto d = parse_duration(text.substr(1));
    if (d) return text.front() == '-' ? now - *d : now + *d;
  } else if (const auto t = parse_absolute(text)) {
    return *t;
  }
  return unexpected(fmt::format(
      "invalid time \"{}\": use a UTC date and time, YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS[.mmm]][Z] "
      "(or a space for T), \"now\", or a time relative to now such as -7d, -12h, -30m",
      text));
}

namespace detail {

std::string filter_condition(std::string_view time_column,
                             std::initializer_list<std::string_view> nas_columns) {
  std::string nas;
  for (auto c : nas_columns) nas += (nas.empty() ? "" : ", ") + std::string(c);
  return fmt::format(
      "{0} >= ?1 AND {0} < ?2 AND (?3 IS NULL OR user_name = ?3) AND (?4 IS NULL OR ?4 IN ({1}))",
      time_column, nas);
}

expected<std::uint64_t, std::string> run_read(const std::filesystem::path& db,
                                              const export_filter& f, std::span<query> queries) {
  auto conn = open_database(db, open_mode::read_only, std::chrono::seconds(5));
  if (!conn) return unexpected(conn.error().message);
  sqlite3* h = conn->get();
  const auto failed = [&] { return unexpected(fmt::format("{}: {}", db.string(), last_error(h).message)); };

  auto version = statement::prepare(h, "PRAGMA user_version");
  if (!version || version->step() != SQLITE_ROW) return failed();
  if (version->column_int(0) == 0)
    return unexpected(fmt::format("{}: not an npsd accounting database (no schema)", db.string()));
  // One snapshot for every query: the figures of a report agree with each other.
  if (!exec(h, "BEGIN")) return failed();

  std::uint64_t rows = 0;
  for (auto& q : queries) {
    auto s = statement::prepare(h, q.sql);
    if (!s) return failed();
    s->bind(1, f.from).bind(2, f.to).bind(3, std::string_view(f.user)).bind(4, std::string_view(f.nas));
    if (q.on_start) q.on_start(*s);
    for (;;) {
      const int rc = s->step();
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return failed();
      ++rows;
      if (!q.on_row(*s)) break;
    }
  }
  (void)exec(h, "COMMIT");
  return rows;
}

}  // namespace detail

expected<std::uint64_t, std::string> export_records(const std::filesystem::path& db,
                                                    record_kind kind, const export_filter& f,
                                                    export_format format, std::ostream& out,
                                                    std::string_view computer_name) {
  const bool acct = kind == record_kind::accounting;
  detail::query q;
  q.sql = fmt::format("SELECT * FROM {} WHERE {} ORDER BY time_ms, id",
                      acct ? "accounting" : "auth_events",
                      acct ? detail::filter_condition("time_ms", {"nas", "nas_ip", "nas_identifier", "client"})
                           : detail::filter_condition("time_ms", {"nas_ip", "nas_identifier", "client",
                                                                  "client_address"}));
  std::optional<csv_writer> csv;
  std::optional<json_writer> json;
  std::optional<dts_writer> dts;
  const auto bind_writer = [&q](auto& w) {
    q.on_start = [&w](const detail::statement& s) { w.start(s); };
    q.on_row = [&w](const detail::statement& s) { return w.row(s); };
  };
  switch (format) {
    case export_format::csv: bind_writer(csv.emplace(out)); break;
    case export_format::json:
    case export_format::ndjson: bind_writer(json.emplace(out, format == export_format::ndjson)); break;
    case export_format::dts_xml: bind_writer(dts.emplace(out, kind, computer_name)); break;
  }
  auto rows = detail::run_read(db, f, std::span(&q, 1));
  if (!rows) return rows;
  if (json) json->finish();
  out.flush();
  if (!out) return unexpected(fmt::format("exporting {}: writing the output failed", db.string()));
  return rows;
}

}  // namespace npsd::accounting
