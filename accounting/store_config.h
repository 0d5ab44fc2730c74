#pragma once
// The "accounting" section of the configuration (declared here so that policy/ can parse it
// and accounting::make_store can build a store from it).
#include <chrono>
#include <cstddef>
#include <filesystem>

namespace npsd::accounting {

enum class sync_mode { full, normal };

struct store_config {
  bool enabled = false;  // the configuration has an "accounting" section
  std::filesystem::path database;
  // FULL: a commit is on disk before the Accounting-Response goes (survives power loss).
  // NORMAL: survives a crash of npsd, may lose the last commits on power loss.
  sync_mode synchronous = sync_mode::full;
  std::size_t queue_max_records = 65536;  // records and events waiting for the writer
  std::size_t batch_max_records = 1024;   // group commit: at most this many per transaction
  std::chrono::milliseconds batch_max_delay{0};  // ... or what arrived within this time
  // Authentication events have nobody waiting for their commit: a batch of events only waits
  // this long for more (a record arriving ends the wait), so that one transaction and one
  // fsync carry many of them instead of one each.
  std::chrono::milliseconds event_batch_delay{20};
  std::chrono::milliseconds busy_timeout{100};   // waiting for another process's lock
  bool log_authentication = true;  // Access-Accept/Reject events into auth_events
  // NPS's "if logging fails, discard connection requests": no Access-Accept/Reject is sent
  // while the store is failing or its queue is full.
  bool discard_requests_when_logging_fails = false;
};

}  // namespace npsd::accounting
