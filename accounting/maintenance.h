#pragma once
// What an administrator does to the database besides exporting: list the open sessions, and
// prune old rows (retention), handing the space back. Both work next to a running npsd: the
// listing reads a snapshot, pruning deletes in small transactions so npsd's writer waits
// at most one of them.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "accounting/export.h"
#include "radius/expected.h"

namespace npsd::accounting {

struct open_session {
  std::string nas;
  std::string session_id;
  std::string client;
  std::string user_name;
  std::string framed_ip;
  std::string calling_station_id;
  time_ms started = 0;
  time_ms updated = 0;
  std::int64_t session_time = 0;
  std::uint64_t input_octets = 0;
  std::uint64_t output_octets = 0;
};

// Calls `row` for each open session (user and nas filters apply), oldest first; the count.
expected<std::uint64_t, std::string> list_open_sessions(
    const std::filesystem::path& db, const export_filter& f,
    const std::function<void(const open_session&)>& row);

struct prune_result {
  std::uint64_t accounting = 0;   // rows deleted
  std::uint64_t auth_events = 0;
  std::uint64_t sessions = 0;     // closed sessions that ended before the cut-off
  std::uintmax_t bytes_before = 0;  // database file size
  std::uintmax_t bytes_after = 0;
};

// Deletes what is older than `before` (accounting and events by arrival, sessions by their
// end; open sessions stay), then reclaims the freed pages. With dry_run, counts only.
expected<prune_result, std::string> prune(const std::filesystem::path& db, time_ms before,
                                          bool dry_run);

}  // namespace npsd::accounting
