#pragma once
// The accounting database's schema and its versioned migrations. PRAGMA user_version holds
// the version; start-up applies every migration above it, each in its own transaction.
//
// Tables (times are milliseconds since 1970-01-01 UTC, octet counts 64-bit):
//   accounting   one row per Accounting-Request stored (natural_key unique: a record the NAS
//                sent again after the duplicate cache forgot it is stored once)
//   sessions     one row per session: opened by Start (or the first record seen), refreshed
//                by Interim-Update, closed by Stop or by the NAS's Accounting-On/Off
//   auth_events  one row per Access-Accept and Access-Reject
#include <sqlite3.h>

#include <string>

#include "accounting/sqlite.h"

namespace npsd::accounting {

inline constexpr int schema_version = 1;

// Brings a database opened read-write to schema_version. An error when the file is newer
// than this build, or a migration fails (the database is left at the last good version).
expected<int, detail::sql_error> migrate(sqlite3* db);

}  // namespace npsd::accounting
