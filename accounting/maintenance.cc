#include "accounting/maintenance.h"

#include <array>
#include <limits>

#include <fmt/format.h>

#include "accounting/sqlite.h"

namespace npsd::accounting {

namespace {

using detail::statement;

std::string text(const statement& s, int col) { return std::string(s.column_text(col)); }

std::uintmax_t size_of(const std::filesystem::path& p) {
  std::error_code ec;
  auto n = std::filesystem::file_size(p, ec);
  return ec ? 0 : n;
}

}  // namespace

expected<std::uint64_t, std::string> list_open_sessions(
    const std::filesystem::path& db, const export_filter& f,
    const std::function<void(const open_session&)>& row) {
  std::array<detail::query, 1> q;
  q[0].sql =
      "SELECT nas, session_id, client, user_name, framed_ip, calling_station_id, started_ms, "
      "updated_ms, session_time, input_octets, output_octets FROM sessions "
      "WHERE state = 'open' AND (?3 IS NULL OR user_name = ?3) AND (?4 IS NULL OR nas = ?4 OR client = ?4) "
      "ORDER BY started_ms";
  q[0].on_row = [&](const statement& s) {
    open_session o;
    o.nas = text(s, 0);
    o.session_id = text(s, 1);
    o.client = text(s, 2);
    o.user_name = text(s, 3);
    o.framed_ip = text(s, 4);
    o.calling_station_id = text(s, 5);
    o.started = s.column_int(6);
    o.updated = s.column_int(7);
    o.session_time = s.column_int(8);
    o.input_octets = static_cast<std::uint64_t>(s.column_int(9));
    o.output_octets = static_cast<std::uint64_t>(s.column_int(10));
    row(o);
    return true;
  };
  return detail::run_read(db, f, q);
}

expected<prune_result, std::string> prune(const std::filesystem::path& db, time_ms before,
                                          bool dry_run) {
  if (!std::filesystem::exists(db))
    return unexpected(fmt::format("{}: no such database", db.string()));
  // A generous wait: npsd's writer holds the lock one short batch at a time.
  auto conn = detail::open_database(db, detail::open_mode::read_write, std::chrono::seconds(10));
  if (!conn) return unexpected(conn.error().message);
  auto fail = [&](std::string_view what) {
    return unexpected(fmt::format("{}: {}: {}", db.string(), what, detail::last_error(conn->get()).message));
  };
  prune_result r;
  r.bytes_before = size_of(db);
  struct target {
    const char* table;
    const char* condition;
    std::uint64_t* count;
  };
  const std::array<target, 3> targets = {{
      {"accounting", "time_ms < ?1", &r.accounting},
      {"auth_events", "time_ms < ?1", &r.auth_events},
      {"sessions", "state = 'closed' AND stopped_ms < ?1", &r.sessions},
  }};
  for (const auto& t : targets) {
    if (dry_run) {
      auto s = statement::prepare(conn->get(), fmt::format("SELECT count(*) FROM {} WHERE {}", t.table, t.condition));
      if (!s) return fail("counting");
      s->bind(1, before);
      if (s->step() != SQLITE_ROW) return fail("counting");
      *t.count = static_cast<std::uint64_t>(s->column_int(0));
      continue;
    }
    // Small transactions: npsd keeps committing between them.
    auto s = statement::prepare(
        conn->get(), fmt::format("DELETE FROM {0} WHERE id IN (SELECT id FROM {0} WHERE {1} LIMIT 5000)",
                                 t.table, t.condition));
    if (!s) return fail("deleting");
    for (;;) {
      s->bind(1, before);
      const int rc = s->step();
      s->reset();
      if (rc != SQLITE_DONE) return fail("deleting");
      const auto n = sqlite3_changes(conn->get());
      *t.count += static_cast<std::uint64_t>(n);
      if (n == 0) break;
    }
  }
  if (!dry_run) {
    // Freed pages go back to the file system (auto_vacuum = INCREMENTAL).
    // In steps of 4 MiB, each its own transaction, so npsd's writer waits for one at most.
    // (A file made without auto_vacuum keeps its free pages for reuse instead.)
    std::int64_t left = std::numeric_limits<std::int64_t>::max();
    for (;;) {
      auto free = statement::prepare(conn->get(), "PRAGMA freelist_count");
      if (!free || free->step() != SQLITE_ROW) return fail("reclaiming space");
      const auto now = free->column_int(0);
      if (now == 0 || now >= left) break;  // done, or nothing more can be handed back
      left = now;
      if (!detail::exec(conn->get(), "PRAGMA incremental_vacuum(1024)")) return fail("reclaiming space");
    }
    // Folds the WAL into the file (which shrinks) without blocking the writer.
    (void)detail::exec(conn->get(), "PRAGMA wal_checkpoint(PASSIVE)");
  }
  conn->reset();
  r.bytes_after = size_of(db);
  return r;
}

}  // namespace npsd::accounting
