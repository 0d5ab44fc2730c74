#include "accounting/schema.h"

#include <array>

#include <fmt/format.h>

namespace npsd::accounting {

namespace {

// migrations[i] takes the database from version i to i + 1. Never edit one that shipped:
// append a new one.
constexpr std::array<std::string_view, schema_version> migrations = {
    R"sql(
CREATE TABLE accounting (
  id                 INTEGER PRIMARY KEY,
  time_ms            INTEGER NOT NULL,  -- when npsd received it
  event_ms           INTEGER NOT NULL,  -- Event-Timestamp, else received less Acct-Delay-Time
  client             TEXT NOT NULL,     -- the RADIUS client's friendly name
  client_address     TEXT NOT NULL,
  nas                TEXT NOT NULL,     -- NAS-IP-Address, NAS-IPv6-Address, NAS-Identifier or source
  nas_ip             TEXT,
  nas_identifier     TEXT,
  status_type        INTEGER NOT NULL,
  session_id         TEXT,
  multi_session_id   TEXT,
  user_name          TEXT,
  framed_ip          TEXT,
  calling_station_id TEXT,
  called_station_id  TEXT,
  nas_port           INTEGER,
  nas_port_type      INTEGER,
  session_time       INTEGER,
  input_octets       INTEGER NOT NULL DEFAULT 0,  -- Acct-Input-Gigawords folded in
  output_octets      INTEGER NOT NULL DEFAULT 0,
  input_packets      INTEGER NOT NULL DEFAULT 0,
  output_packets     INTEGER NOT NULL DEFAULT 0,
  terminate_cause    INTEGER,
  delay_time         INTEGER NOT NULL DEFAULT 0,
  event_timestamp    INTEGER,           -- seconds, as sent
  class              TEXT,              -- as text, or 0x-hex when not printable
  attributes         TEXT NOT NULL,     -- every attribute, as JSON by dictionary name
  natural_key        TEXT NOT NULL
);
CREATE UNIQUE INDEX accounting_natural_key ON accounting(natural_key);
CREATE INDEX accounting_time ON accounting(time_ms);

CREATE TABLE sessions (
  id                 INTEGER PRIMARY KEY,
  nas                TEXT NOT NULL,
  session_id         TEXT NOT NULL,
  multi_session_id   TEXT,
  client             TEXT NOT NULL,
  user_name          TEXT,
  framed_ip          TEXT,
  calling_station_id TEXT,
  called_station_id  TEXT,
  nas_port           INTEGER,
  nas_port_type      INTEGER,
  class              TEXT,
  started_ms         INTEGER NOT NULL,  -- from the Start, else derived (event less session time)
  updated_ms         INTEGER NOT NULL,  -- the newest record's event time
  stopped_ms         INTEGER,
  session_time       INTEGER NOT NULL DEFAULT 0,
  input_octets       INTEGER NOT NULL DEFAULT 0,
  output_octets      INTEGER NOT NULL DEFAULT 0,
  input_packets      INTEGER NOT NULL DEFAULT 0,
  output_packets     INTEGER NOT NULL DEFAULT 0,
  terminate_cause    INTEGER,
  state              TEXT NOT NULL CHECK (state IN ('open', 'closed')),
  -- superseded: a new Start of the same id came while it was open (its Stop was lost)
  closed_by          TEXT CHECK (closed_by IN ('stop', 'accounting-on', 'accounting-off', 'superseded')),
  start_seen         INTEGER NOT NULL DEFAULT 0,
  records            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_key ON sessions(nas, session_id);
CREATE INDEX sessions_open ON sessions(nas) WHERE state = 'open';
CREATE INDEX sessions_started ON sessions(started_ms);

CREATE TABLE auth_events (
  id                 INTEGER PRIMARY KEY,
  time_ms            INTEGER NOT NULL,
  client             TEXT NOT NULL,
  client_address     TEXT NOT NULL,
  nas_ip             TEXT,
  nas_identifier     TEXT,
  user_name          TEXT,              -- User-Name as received
  identity           TEXT,              -- what was authenticated (mapped name, certificate)
  packet_type        INTEGER NOT NULL,  -- 2 Access-Accept, 3 Access-Reject
  reason             INTEGER NOT NULL,  -- NPS reason code
  crp                TEXT,
  np                 TEXT,
  auth_method        TEXT,
  eap_type           INTEGER,
  cert_subject       TEXT,
  cert_issuer        TEXT,
  cert_serial        TEXT,
  calling_station_id TEXT,
  called_station_id  TEXT,
  nas_port_type      INTEGER,
  class              TEXT,
  latency_us         INTEGER
);
CREATE INDEX auth_events_time ON auth_events(time_ms);
)sql",
};

int user_version(sqlite3* db) {
  sqlite3_stmt* raw = nullptr;
  int v = -1;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &raw, nullptr) == SQLITE_OK &&
      sqlite3_step(raw) == SQLITE_ROW)
    v = sqlite3_column_int(raw, 0);
  sqlite3_finalize(raw);
  return v;
}

}  // namespace

expected<int, detail::sql_error> migrate(sqlite3* db) {
  int v = user_version(db);
  if (v < 0) return unexpected(detail::last_error(db));
  if (v > schema_version)
    return unexpected(detail::sql_error{
        SQLITE_ERROR, fmt::format("the database has schema version {}, newer than this npsd's {}",
                                  v, schema_version)});
  if (v == 0) {
    // Before the first table: lets `npsctl accounting prune` hand freed pages back.
    if (auto r = detail::exec(db, "PRAGMA auto_vacuum = INCREMENTAL"); !r) return unexpected(r.error());
  }
  for (; v < schema_version; ++v) {
    auto r = detail::exec(db, "BEGIN IMMEDIATE");
    if (r) r = detail::exec(db, migrations[static_cast<std::size_t>(v)]);
    if (r) r = detail::exec(db, fmt::format("PRAGMA user_version = {}", v + 1));
    if (r) r = detail::exec(db, "COMMIT");
    if (!r) {
      (void)detail::exec(db, "ROLLBACK");
      auto e = r.error();
      e.message = fmt::format("migration to schema version {} failed: {}", v + 1, e.message);
      return unexpected(std::move(e));
    }
  }
  return v;
}

}  // namespace npsd::accounting
