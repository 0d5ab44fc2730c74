// npsctl accounting export|report|sessions|prune: the accounting database, read (and pruned)
// next to a running npsd. The database is the configuration's accounting.database, or
// --database.
#include <fmt/chrono.h>
#include <fmt/core.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "accounting/export.h"
#include "accounting/maintenance.h"
#include "accounting/report.h"
#include "npsctl/command.h"
#include "npsctl/config_options.h"
#include "npsctl/table.h"
#include "policy/config.h"

namespace npsd::npsctl {

namespace {

struct database_options {
  config_options cfg;
  std::string database;
  std::filesystem::path path() const {
    if (!database.empty()) return database;
    auto c = policy::load_config(cfg.config_path(), cfg.dictionary_dir());
    if (!c) throw command_error(exit_bad_input, c.error());
    if (!(*c)->accounting.enabled)
      throw command_error(exit_bad_input,
                          fmt::format("{} has no \"accounting\" section: give --database FILE",
                                      cfg.config_path().string()));
    return (*c)->accounting.database;
  }
};

struct range_options {
  std::string from;
  std::string to;
  std::string user;
  std::string nas;
};

void add_database_options(CLI::App* cmd, database_options& o, bool with_json) {
  add_config_options(cmd, o.cfg, with_json);
  cmd->add_option("--database", o.database,
                  "The accounting database (default: the configuration's accounting.database)");
}

void add_range_options(CLI::App* cmd, range_options& r, bool with_time) {
  if (with_time) {
    cmd->add_option("--from", r.from,
                    "Start, UTC: 2026-12-01, 2026-12-01T08:00:00, now, -7d, -12h (default: the "
                    "beginning)");
    cmd->add_option("--to", r.to, "End (exclusive), same forms (default: now)");
  }
  cmd->add_option("--user", r.user, "Only this User-Name");
  cmd->add_option("--nas", r.nas, "Only this NAS (NAS-IP-Address, NAS-Identifier or client name)");
}

accounting::time_ms now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

accounting::export_filter filter_of(const range_options& r) {
  accounting::export_filter f;
  const auto now = now_ms();
  auto at = [&](const std::string& text, const char* option) {
    auto t = accounting::parse_time(text, now);
    if (!t) throw command_error(exit_bad_input, fmt::format("{}: {}", option, t.error()));
    return *t;
  };
  if (!r.from.empty()) f.from = at(r.from, "--from");
  f.to = r.to.empty() ? now + 1 : at(r.to, "--to");
  if (f.to <= f.from) throw command_error(exit_bad_input, "--to must be after --from");
  f.user = r.user;
  f.nas = r.nas;
  return f;
}

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "npsd";
  return buf;
}

std::string bytes_text(std::uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", n) : fmt::format("{:.1f} {}", v, units[u]);
}

void add_accounting_export(CLI::App& parent) {
  struct options {
    database_options db;
    range_options range;
    std::string format = "csv";
    std::string type = "accounting";
    std::string output;
  };
  auto o = std::make_shared<options>();
  auto* cmd = parent.add_subcommand(
      "export",
      "Write accounting records or authentication events, oldest first, as csv, json, ndjson "
      "or dts-xml (NPS's DTS event format); streams in constant memory");
  add_database_options(cmd, o->db, false);
  add_range_options(cmd, o->range, true);
  cmd->add_option("--format", o->format, "csv, json, ndjson or dts-xml")
      ->check(CLI::IsMember({"csv", "json", "ndjson", "dts-xml"}))
      ->capture_default_str();
  cmd->add_option("--type", o->type, "accounting (records) or auth (Access-Accept/Reject events)")
      ->check(CLI::IsMember({"accounting", "auth"}))
      ->capture_default_str();
  cmd->add_option("--output,-o", o->output, "Write to this file instead of standard output");
  cmd->callback([o] {
    const auto filter = filter_of(o->range);
    const auto db = o->db.path();
    const auto format = *accounting::export_format_from_name(o->format);
    const auto kind =
        o->type == "auth" ? accounting::record_kind::auth : accounting::record_kind::accounting;
    std::ofstream file;
    if (!o->output.empty()) {
      file.open(o->output, std::ios::binary | std::ios::trunc);
      if (!file) throw command_error(exit_failure, fmt::format("{}: cannot write", o->output));
    }
    std::ostream& out = o->output.empty() ? std::cout : file;
    const auto n = accounting::export_records(db, kind, filter, format, out, hostname());
    out.flush();
    if (!n) throw command_error(exit_failure, n.error());
    if (!out) throw command_error(exit_failure, "writing the export failed (disk full?)");
    if (!o->output.empty())
      fmt::print(stderr, "npsctl: {} {} written to {}\n", *n,
                 kind == accounting::record_kind::auth ? "events" : "records", o->output);
  });
}

void add_report(CLI::App& parent) {
  struct options {
    database_options db;
    range_options range;
    std::string by = "user";
    std::size_t top = 10;
    std::string html;
  };
  auto o = std::make_shared<options>();
  auto* cmd = parent.add_subcommand(
      "report",
      "Sessions, connected time, bytes in/out, top users and failures by reason code, as a text "
      "table or one self-contained HTML page with charts");
  add_database_options(cmd, o->db, false);
  add_range_options(cmd, o->range, true);
  cmd->add_option("--by", o->by, "Group by user, nas or day")
      ->check(CLI::IsMember({"user", "nas", "day"}))
      ->capture_default_str();
  cmd->add_option("--top", o->top, "How many top users")->check(CLI::Range(1, 1000))->capture_default_str();
  cmd->add_option("--html", o->html, "Write the HTML page to this file");
  cmd->callback([o] {
    accounting::report_options ro;
    ro.filter = filter_of(o->range);
    ro.by = *accounting::report_group_from_name(o->by);
    ro.top = o->top;
    const auto r = accounting::build_report(o->db.path(), ro);
    if (!r) throw command_error(exit_failure, r.error());
    if (o->html.empty()) {
      fmt::print("{}", accounting::format_report_text(*r));
      return;
    }
    std::ofstream out(o->html, std::ios::binary | std::ios::trunc);
    out << accounting::format_report_html(*r);
    out.close();
    if (!out) throw command_error(exit_failure, fmt::format("{}: cannot write", o->html));
    fmt::print("report written to {}\n", o->html);
  });
}

void add_sessions(CLI::App& parent) {
  struct options {
    database_options db;
    range_options range;
  };
  auto o = std::make_shared<options>();
  auto* cmd = parent.add_subcommand("sessions", "The sessions open now (started, not stopped)");
  add_database_options(cmd, o->db, true);
  add_range_options(cmd, o->range, false);
  cmd->callback([o] {
    accounting::export_filter f;
    f.user = o->range.user;
    f.nas = o->range.nas;
    const auto now = now_ms();
    std::vector<table_row> rows{
        {"USER", "NAS", "SESSION", "FRAMED-IP", "CALLING-STATION", "STARTED (UTC)", "DURATION", "IN", "OUT"}};
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    const auto n = accounting::list_open_sessions(o->db.path(), f, [&](const accounting::open_session& s) {
      if (o->db.cfg.json) {
        list.push_back({{"user", s.user_name}, {"nas", s.nas}, {"session_id", s.session_id},
                        {"client", s.client}, {"framed_ip", s.framed_ip},
                        {"calling_station_id", s.calling_station_id},
                        {"started", accounting::format_iso8601(s.started)},
                        {"updated", accounting::format_iso8601(s.updated)},
                        {"session_time", s.session_time}, {"input_octets", s.input_octets},
                        {"output_octets", s.output_octets}});
        return;
      }
      rows.push_back({s.user_name, s.nas, s.session_id, s.framed_ip, s.calling_station_id,
                      accounting::format_iso8601(s.started),
                      accounting::format_duration(std::max<std::int64_t>(0, (now - s.started) / 1000)),
                      bytes_text(s.input_octets), bytes_text(s.output_octets)});
    });
    if (!n) throw command_error(exit_failure, n.error());
    if (o->db.cfg.json) {
      fmt::print("{}\n", list.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
      return;
    }
    print_table(rows);
    fmt::print("{} open session{}\n", *n, *n == 1 ? "" : "s");
  });
}

void add_prune(CLI::App& parent) {
  struct options {
    database_options db;
    std::string older_than;
    bool dry_run = false;
  };
  auto o = std::make_shared<options>();
  auto* cmd = parent.add_subcommand(
      "prune",
      "Delete records, events and closed sessions older than a retention period and hand the "
      "space back; safe while npsd runs");
  add_database_options(cmd, o->db, true);
  cmd->add_option("--older-than", o->older_than, "Retention: 90d, 12w, 48h ...")->required();
  cmd->add_flag("--dry-run", o->dry_run, "Count what would go, delete nothing");
  cmd->callback([o] {
    const auto d = accounting::parse_duration(o->older_than);
    if (!d) throw command_error(exit_bad_input, fmt::format("--older-than: {}", d.error()));
    const auto cutoff = now_ms() - *d;
    const auto r = accounting::prune(o->db.path(), cutoff, o->dry_run);
    if (!r) throw command_error(exit_failure, r.error());
    if (o->db.cfg.json) {
      nlohmann::ordered_json j = {{"dry_run", o->dry_run},
                                  {"before", accounting::format_iso8601(cutoff)},
                                  {"accounting", r->accounting},
                                  {"auth_events", r->auth_events},
                                  {"sessions", r->sessions},
                                  {"bytes_before", r->bytes_before},
                                  {"bytes_after", r->bytes_after}};
      fmt::print("{}\n", j.dump(2));
      return;
    }
    fmt::print("{} before {}: {} accounting records, {} authentication events, {} closed "
               "sessions; database {} -> {}\n",
               o->dry_run ? "would delete" : "deleted", accounting::format_iso8601(cutoff),
               r->accounting, r->auth_events, r->sessions, bytes_text(r->bytes_before),
               bytes_text(r->bytes_after));
  });
}

}  // namespace

void add_accounting_commands(CLI::App& app) {
  auto* cmd = app.add_subcommand("accounting", "Export, report on and prune the accounting database");
  cmd->require_subcommand(1);
  add_accounting_export(*cmd);
  add_report(*cmd);
  add_sessions(*cmd);
  add_prune(*cmd);
}

}  // namespace npsd::npsctl
