#pragma once
// The accounting store: records and authentication events go in through a bounded queue to
// one writer thread, which commits them in batches (group commit). A record's completion
// runs only after the transaction holding it committed: only then may the server send the
// Accounting-Response (RFC 2866 2: never acknowledge what is not recorded).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "accounting/record.h"
#include "accounting/store_config.h"
#include "radius/expected.h"

namespace npsd::accounting {

struct store_stats {
  std::uint64_t records_stored = 0;     // committed (duplicates included: they are on file)
  std::uint64_t records_duplicate = 0;  // already on file (natural key): stored once
  std::uint64_t records_failed = 0;     // their transaction failed: not acknowledged
  std::uint64_t records_queue_full = 0;
  std::uint64_t events_stored = 0;
  std::uint64_t events_lost = 0;  // queue full or transaction failed
  std::uint64_t commits = 0;
  std::uint64_t commit_failures = 0;
  std::uint64_t largest_batch = 0;
  std::uint64_t queue_depth = 0;
  bool healthy = true;  // the last commit succeeded
  std::string last_error;
};

enum class store_log_level { info, warn, error };

// One transaction of the writer: how many records and events it held, how long it took from
// BEGIN to the end of COMMIT (the sync to disk included), and whether it committed.
struct commit_info {
  std::size_t records = 0;
  std::size_t events = 0;
  std::chrono::microseconds elapsed{0};
  bool committed = false;
};

struct store_options {
  // Runs a committed batch's completions (the server posts them to its io_context). Empty:
  // they run on the writer thread.
  std::function<void(std::function<void()>)> dispatch;
  std::function<void(store_log_level, std::string_view msg, std::string_view error)> log;
  // Told of each batch's transaction, on the writer thread, before its completions run;
  // it must be quick and must not throw. Not told of the idle probes of a failing database.
  std::function<void(const commit_info&)> on_commit;
};

class store {
 public:
  // stored: true once committed; false when the transaction failed (no response: the NAS
  // will retry).
  using completion = std::function<void(bool stored)>;

  virtual ~store() = default;
  // Queues a record. False (and `done` not kept) when the queue is full.
  virtual bool submit(accounting_record r, completion done) = 0;
  // Queues an authentication event; false (counted as lost) when the queue is full.
  virtual bool log(auth_event e) = 0;
  // False while commits fail (until one succeeds again) or the queue is full.
  virtual bool healthy() const noexcept = 0;
  virtual store_stats stats() const = 0;
};

// Opens (creating when missing) the SQLite database in WAL mode, applies the migrations and
// starts the writer. The destructor commits what is queued and stops the writer.
expected<std::unique_ptr<store>, std::string> open_sqlite_store(const store_config& cfg,
                                                                store_options opts);

}  // namespace npsd::accounting
