// The SQLite store: one writer thread, a bounded queue, group commit, and recovery by itself
// when the database fails (locked by another process, disk full, read-only, removed).
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "accounting/schema.h"
#include "accounting/sqlite.h"
#include "accounting/store.h"

namespace npsd::accounting {

namespace {

using detail::sql_error;
using detail::statement;

constexpr std::string_view insert_record_sql = R"sql(
INSERT OR IGNORE INTO accounting (time_ms, event_ms, client, client_address, nas, nas_ip,
  nas_identifier, status_type, session_id, multi_session_id, user_name, framed_ip,
  calling_station_id, called_station_id, nas_port, nas_port_type, session_time, input_octets,
  output_octets, input_packets, output_packets, terminate_cause, delay_time, event_timestamp,
  class, attributes, natural_key)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
  ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27))sql";

constexpr std::string_view find_key_sql = R"sql(
SELECT 1 FROM accounting WHERE natural_key IN (?1, ?2) LIMIT 1)sql";

constexpr std::string_view find_session_sql = R"sql(
SELECT id, state, closed_by, started_ms, stopped_ms, start_seen, updated_ms FROM sessions
WHERE nas = ?1 AND session_id = ?2 AND client = ?3 ORDER BY id DESC LIMIT 1)sql";

constexpr std::string_view insert_session_sql = R"sql(
INSERT INTO sessions (nas, session_id, multi_session_id, client, user_name, framed_ip,
  calling_station_id, called_station_id, nas_port, nas_port_type, class, started_ms, updated_ms,
  stopped_ms, session_time, input_octets, output_octets, input_packets, output_packets,
  terminate_cause, state, closed_by, start_seen, records)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,
  CASE WHEN ?14 THEN ?13 END, ?15, ?16, ?17, ?18, ?19, CASE WHEN ?14 THEN ?20 END,
  CASE WHEN ?14 THEN 'closed' ELSE 'open' END, CASE WHEN ?14 THEN 'stop' END, ?21, 1))sql";

// Folds a record into its session: counters only grow (a late Interim-Update cannot undo a
// Stop), details missing so far are filled in, a Start sets the start time, a Stop closes.
constexpr std::string_view merge_session_sql = R"sql(
UPDATE sessions SET
  started_ms = CASE WHEN ?2 THEN ?3 WHEN start_seen THEN started_ms ELSE min(started_ms, ?3) END,
  start_seen = start_seen OR ?2,
  updated_ms = max(updated_ms, ?4),
  session_time = max(session_time, ?5),
  input_octets = max(input_octets, ?6), output_octets = max(output_octets, ?7),
  input_packets = max(input_packets, ?8), output_packets = max(output_packets, ?9),
  user_name = coalesce(user_name, ?10), framed_ip = coalesce(?11, framed_ip),
  calling_station_id = coalesce(calling_station_id, ?12),
  called_station_id = coalesce(called_station_id, ?13),
  nas_port = coalesce(nas_port, ?14), nas_port_type = coalesce(nas_port_type, ?15),
  class = coalesce(class, ?16), multi_session_id = coalesce(multi_session_id, ?17),
  state = CASE WHEN ?18 THEN 'closed' ELSE state END,
  closed_by = CASE WHEN ?18 THEN 'stop' ELSE closed_by END,
  stopped_ms = CASE WHEN ?18 THEN ?4 ELSE stopped_ms END,
  terminate_cause = CASE WHEN ?18 THEN ?19 ELSE terminate_cause END,
  records = records + 1
WHERE id = ?1 AND nas = ?20 AND session_id = ?21)sql";

constexpr std::string_view close_nas_sql = R"sql(
UPDATE sessions SET state = 'closed', closed_by = ?2, stopped_ms = ?3,
  updated_ms = max(updated_ms, ?3)
WHERE nas = ?1 AND client = ?4 AND state = 'open' AND started_ms <= ?3)sql";

// An open session whose Stop never came, replaced by a new Start of the same id: it ends when
// it was last heard of.
constexpr std::string_view supersede_sql = R"sql(
UPDATE sessions SET state = 'closed', closed_by = 'superseded', stopped_ms = updated_ms
WHERE id = ?1)sql";

constexpr std::string_view insert_event_sql = R"sql(
INSERT INTO auth_events (time_ms, client, client_address, nas_ip, nas_identifier, user_name,
  identity, packet_type, reason, crp, np, auth_method, eap_type, cert_subject, cert_issuer,
  cert_serial, calling_station_id, called_station_id, nas_port_type, class, latency_us)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
  ?20, ?21))sql";

struct record_item {
  accounting_record r;
  store::completion done;
};
using item = std::variant<record_item, auth_event>;

class sqlite_store final : public store {
 public:
  sqlite_store(store_config cfg, store_options opts) : cfg_(std::move(cfg)), opts_(std::move(opts)) {}

  ~sqlite_store() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (writer_.joinable()) writer_.join();
  }

  // A database that cannot be written now (read-only, locked, full, failing) does not stop
  // npsd: the store starts failing, acknowledges nothing and probes until it can write.
  // What no waiting can fix is refused: no such directory, not a database, a newer schema.
  expected<bool, std::string> start() {
    const auto dir = std::filesystem::absolute(cfg_.database).parent_path();
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
      return unexpected(fmt::format("{}: the directory {} does not exist",
                                    cfg_.database.string(), dir.string()));
    if (auto r = open(); !r) {
      const int primary = r.error().code & 0xff;
      const bool transient = primary == SQLITE_BUSY || primary == SQLITE_LOCKED ||
                             primary == SQLITE_READONLY || primary == SQLITE_FULL ||
                             primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN ||
                             primary == SQLITE_PERM;
      if (!transient) return unexpected(r.error().message);
      healthy_ = false;
      {
        std::lock_guard lock(error_mu_);
        last_error_ = r.error().message;
      }
      last_failure_log_ = std::chrono::steady_clock::now();
      say(store_log_level::error,
          "accounting database failing: records not acknowledged (the NAS retries)",
          r.error().message);
    }
    writer_ = std::thread([this] { run(); });
    return true;
  }

  bool submit(accounting_record r, completion done) override {
    if (!enqueue(record_item{std::move(r), std::move(done)})) {
      records_queue_full_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }

  bool log(auth_event e) override {
    if (!enqueue(std::move(e))) {
      events_lost_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }

  bool healthy() const noexcept override {
    return healthy_.load(std::memory_order_relaxed) &&
           depth_.load(std::memory_order_relaxed) < cfg_.queue_max_records;
  }

  store_stats stats() const override {
    store_stats s;
    s.records_stored = records_stored_.load();
    s.records_duplicate = records_duplicate_.load();
    s.records_failed = records_failed_.load();
    s.records_queue_full = records_queue_full_.load();
    s.events_stored = events_stored_.load();
    s.events_lost = events_lost_.load();
    s.commits = commits_.load();
    s.commit_failures = commit_failures_.load();
    s.largest_batch = largest_batch_.load();
    s.queue_depth = depth_.load();
    s.healthy = healthy_.load();
    std::lock_guard lock(error_mu_);
    s.last_error = last_error_;
    return s;
  }

 private:
  bool enqueue(item it) {
    const bool event = std::holds_alternative<auth_event>(it);
    {
      std::lock_guard lock(mu_);
      if (queue_.size() >= cfg_.queue_max_records || stopping_) return false;
      // Events may take half the queue: an Access-Reject flood cannot crowd accounting out.
      if (event && events_queued_ >= cfg_.queue_max_records / 2) return false;
      events_queued_ += event ? 1 : 0;
      queue_.push_back(std::move(it));
      depth_.store(queue_.size(), std::memory_order_relaxed);
      // The writer needs waking when it may be waiting for this: an empty queue (it sleeps),
      // a record (it ends an events-only wait), a full batch. Another event in a queue it
      // will take anyway needs no wake-up (a context switch per event on a busy core).
      if (event && queue_.size() > 1 && queue_.size() < cfg_.batch_max_records) return true;
    }
    cv_.notify_one();
    return true;
  }

  void say(store_log_level level, std::string_view msg, std::string_view error = {}) const {
    if (opts_.log) opts_.log(level, msg, error);
  }

  // Connection, pragmas, migrations, statements. On failure the store stays closed and the
  // next batch tries again.
  expected<bool, sql_error> open() {
    close();
    auto db = detail::open_database(cfg_.database, detail::open_mode::read_write_create,
                                    cfg_.busy_timeout);
    if (!db) return unexpected(db.error());
    auto fail = [&](sql_error e) -> expected<bool, sql_error> {
      e.message = fmt::format("{}: {}", cfg_.database.string(), e.message);
      return unexpected(std::move(e));
    };
    // Migrations first: a new file's auto_vacuum must be set before WAL mode writes page 1.
    if (auto r = migrate(db->get()); !r) return fail(r.error());
    if (auto r = detail::exec(db->get(), "PRAGMA journal_mode = WAL"); !r) return fail(r.error());
    // A page cache that holds the indexes' hot pages (64 MiB at most), and checkpoints every
    // 16 MiB of WAL rather than every 4 MiB: fewer page reads, fewer checkpoint fsyncs.
    if (auto r = detail::exec(db->get(), "PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 4096"); !r)
      return fail(r.error());
    const auto sync = cfg_.synchronous == sync_mode::full ? "FULL" : "NORMAL";
    if (auto r = detail::exec(db->get(), fmt::format("PRAGMA synchronous = {}", sync)); !r)
      return fail(r.error());
    for (auto [st, sql] : {std::pair{&insert_record_, insert_record_sql},
                           {&find_session_, find_session_sql},
                           {&find_key_, find_key_sql},
                           {&supersede_, supersede_sql},
                           {&insert_session_, insert_session_sql},
                           {&merge_session_, merge_session_sql},
                           {&close_nas_, close_nas_sql},
                           {&insert_event_, insert_event_sql},
                           {&begin_, std::string_view("BEGIN IMMEDIATE")},
                           {&commit_, std::string_view("COMMIT")}}) {
      auto s = statement::prepare(db->get(), sql);
      if (!s) return fail(s.error());
      s->borrow_text();  // every bound string outlives its statement's step
      *st = std::move(*s);
    }
    db_ = std::move(*db);
    return true;
  }

  void close() {
    for (auto* st : {&insert_record_, &find_session_, &find_key_, &supersede_, &insert_session_,
                     &merge_session_, &close_nas_, &insert_event_, &begin_, &commit_})
      *st = statement();
    db_.reset();
  }

  void run() {
    std::vector<item> batch;
    batch.reserve(cfg_.batch_max_records);
    for (;;) {
      {
        std::unique_lock lock(mu_);
        // While failing and idle, a probe each second finds out when the database is back,
        // so healthy() recovers even when nothing is being written (requests discarded under
        // discard_requests_when_logging_fails bring no records).
        while (!stopping_ && queue_.empty()) {
          if (healthy_.load()) {
            cv_.wait(lock);
          } else if (!cv_.wait_for(lock, std::chrono::seconds(1),
                                   [&] { return stopping_ || !queue_.empty(); })) {
            lock.unlock();
            probe();
            lock.lock();
          }
        }
        if (queue_.empty()) return;  // stopping, and everything is committed
        // Group commit: what arrives within the window shares the transaction.
        if (cfg_.batch_max_delay.count() > 0 && queue_.size() < cfg_.batch_max_records && !stopping_)
          cv_.wait_for(lock, cfg_.batch_max_delay,
                       [&] { return stopping_ || queue_.size() >= cfg_.batch_max_records; });
        // Events only: wait for more, until a record comes or the batch is full.
        if (cfg_.event_batch_delay.count() > 0 && events_queued_ == queue_.size() && !stopping_ &&
            queue_.size() < cfg_.batch_max_records)
          cv_.wait_for(lock, cfg_.event_batch_delay, [&] {
            return stopping_ || queue_.size() >= cfg_.batch_max_records ||
                   events_queued_ < queue_.size();
          });
        const auto n = std::min(queue_.size(), cfg_.batch_max_records);
        std::move(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n),
                  std::back_inserter(batch));
        for (const auto& it : batch) events_queued_ -= std::holds_alternative<auth_event>(it) ? 1 : 0;
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
        depth_.store(queue_.size(), std::memory_order_relaxed);
      }
      write(batch);
      batch.clear();
    }
  }

  // Puts the batch's events back at the head of the queue, in order; returns how many did
  // not fit.
  std::uint64_t requeue_events(std::vector<item>& batch) {
    std::uint64_t lost = 0;
    std::lock_guard lock(mu_);
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
      if (!std::holds_alternative<auth_event>(*it)) continue;
      if (stopping_ || events_queued_ >= cfg_.queue_max_records / 2 ||
          queue_.size() >= cfg_.queue_max_records) {
        ++lost;
        continue;
      }
      queue_.push_front(std::move(*it));
      ++events_queued_;
    }
    depth_.store(queue_.size(), std::memory_order_relaxed);
    return lost;
  }

  void write(std::vector<item>& batch) {
    std::uint64_t duplicates = 0;
    const auto start = std::chrono::steady_clock::now();
    auto result = transaction(batch, duplicates);
    const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - start);
    std::vector<store::completion> done;
    std::uint64_t records = 0;
    for (auto& it : batch)
      if (auto* r = std::get_if<record_item>(&it)) {
        ++records;
        if (r->done) done.push_back(std::move(r->done));
      }
    const auto events = batch.size() - records;
    if (opts_.on_commit)
      opts_.on_commit(commit_info{records, events, elapsed, static_cast<bool>(result)});
    if (result) {
      commits_.fetch_add(1, std::memory_order_relaxed);
      records_stored_.fetch_add(records, std::memory_order_relaxed);
      records_duplicate_.fetch_add(duplicates, std::memory_order_relaxed);
      events_stored_.fetch_add(events, std::memory_order_relaxed);
      if (batch.size() > largest_batch_.load()) largest_batch_.store(batch.size());
      mark_healthy();
      deliver(std::move(done), true);
      return;
    }
    sessions_.clear();  // the rolled-back rows it may name are gone
    commit_failures_.fetch_add(1, std::memory_order_relaxed);
    records_failed_.fetch_add(records, std::memory_order_relaxed);
    // Records are not acknowledged (their NAS sends them again); events have nobody to send
    // them again: they go back to the head of the queue for the next attempt, within their
    // half of it, and only what does not fit is lost.
    events_lost_.fetch_add(requeue_events(batch), std::memory_order_relaxed);
    {
      std::lock_guard lock(error_mu_);
      last_error_ = result.error().message;
    }
    const bool was_healthy = healthy_.exchange(false);
    const auto now = std::chrono::steady_clock::now();
    if (was_healthy || now - last_failure_log_ >= std::chrono::seconds(10)) {
      last_failure_log_ = now;
      say(store_log_level::error,
          "accounting database failing: records not acknowledged (the NAS retries)",
          result.error().message);
    }
    deliver(std::move(done), false);
    // Anything but a lock held by another process may need a fresh connection.
    const int primary = result.error().code & 0xff;
    if (primary != SQLITE_BUSY && primary != SQLITE_LOCKED) close();
    // Back off a little, so a failing disk is not hammered; a stop cuts it short.
    ++failures_in_a_row_;
    const auto pause = std::chrono::milliseconds(std::min(10 << std::min(failures_in_a_row_, 6), 500));
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, pause, [&] { return stopping_; });
  }

  // An empty write transaction: succeeds once the database takes writes again.
  void probe() {
    std::vector<item> none;
    std::uint64_t duplicates = 0;
    if (transaction(none, duplicates)) mark_healthy();
  }

  void mark_healthy() {
    if (!healthy_.exchange(true))
      say(store_log_level::info, "accounting database writable again: acknowledging records");
    failures_in_a_row_ = 0;
  }

  void deliver(std::vector<store::completion> done, bool stored) {
    if (done.empty()) return;
    auto run = [done = std::move(done), stored]() mutable {
      for (auto& d : done) d(stored);
    };
    if (opts_.dispatch) opts_.dispatch(std::move(run));
    else run();
  }

  expected<bool, sql_error> transaction(std::vector<item>& batch, std::uint64_t& duplicates) {
    if (!db_) {
      if (auto r = open(); !r) return r;
    }
    sqlite3* db = db_.get();
    if (begin_.step() != SQLITE_DONE) {
      begin_.reset();
      return unexpected(detail::last_error(db));
    }
    begin_.reset();
    for (auto& it : batch) {
      const bool ok = std::visit(
          [&](auto& v) {
            if constexpr (std::is_same_v<std::decay_t<decltype(v)>, record_item>)
              return store_record(v.r, duplicates);
            else
              return store_event(v);
          },
          it);
      if (!ok) {
        auto e = detail::last_error(db);
        (void)detail::exec(db, "ROLLBACK");
        return unexpected(std::move(e));
      }
    }
    if (commit_.step() != SQLITE_DONE) {
      auto e = detail::last_error(db);
      commit_.reset();
      (void)detail::exec(db, "ROLLBACK");
      return unexpected(std::move(e));
    }
    commit_.reset();
    return true;
  }

  static bool done(statement& s) {
    const int rc = s.step();
    s.reset();
    return rc == SQLITE_DONE;
  }

  bool store_record(const accounting_record& r, std::uint64_t& duplicates) {
    const auto nas = r.nas();
    const auto event = r.event_time();
    auto& s = insert_record_;
    s.bind(1, r.received).bind(2, event).bind_text(3, r.client).bind_text(4, r.client_address);
    s.bind_text(5, nas).bind(6, r.nas_ip).bind(7, r.nas_identifier);
    s.bind(8, std::int64_t{r.status_type}).bind(9, r.session_id).bind(10, r.multi_session_id);
    s.bind(11, r.user_name).bind(12, r.framed_ip).bind(13, r.calling_station_id);
    s.bind(14, r.called_station_id).bind(15, r.nas_port).bind(16, r.nas_port_type);
    s.bind(17, r.session_time).bind(18, static_cast<std::int64_t>(r.input_octets));
    s.bind(19, static_cast<std::int64_t>(r.output_octets));
    s.bind(20, static_cast<std::int64_t>(r.input_packets));
    s.bind(21, static_cast<std::int64_t>(r.output_packets)).bind(22, r.terminate_cause);
    s.bind(23, std::int64_t{r.delay_time}).bind(24, r.event_timestamp).bind(25, r.class_);
    const auto key = r.natural_key();
    if (!r.has_exact_time()) {
      // Without Event-Timestamp the time is bucketed: a resend may sit in a neighbour bucket.
      const auto before = r.natural_key(-1);
      const auto after = r.natural_key(1);
      auto& q = find_key_;
      q.bind_text(1, before).bind_text(2, after);
      const int rc = q.step();
      q.reset();
      if (rc == SQLITE_ROW) {
        s.reset();
        ++duplicates;
        return true;
      }
      if (rc != SQLITE_DONE) {
        s.reset();
        return false;
      }
    }
    s.bind_text(26, r.attributes_json).bind_text(27, key);
    if (!done(s)) return false;
    if (sqlite3_changes(db_.get()) == 0) {  // on file already: the NAS sent it again
      ++duplicates;
      return true;
    }
    return update_sessions(r, nas, event);
  }

  bool update_sessions(const accounting_record& r, const std::string& nas, time_ms event) {
    if (r.status_type == status::accounting_on || r.status_type == status::accounting_off) {
      // The NAS restarted (or is going down): none of its sessions survives.
      auto& c = close_nas_;
      c.bind_text(1, nas)
          .bind_text(2, r.status_type == status::accounting_on ? "accounting-on" : "accounting-off")
          .bind(3, event)
          .bind_text(4, r.client);
      sessions_.clear();  // states changed behind the cache
      return done(c);
    }
    const bool start = r.status_type == status::start;
    const bool stop = r.status_type == status::stop;
    if (r.session_id.empty() || (!start && !stop && r.status_type != status::interim_update))
      return true;  // no session to keep
    auto cache_key = r.client;
    cache_key += '\0';
    cache_key += nas;
    cache_key += '\0';
    cache_key += r.session_id;
    auto cached = sessions_.find(cache_key);
    if (cached == sessions_.end()) {
      auto& f = find_session_;
      f.bind_text(1, nas).bind_text(2, r.session_id).bind_text(3, r.client);
      const int rc = f.step();
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        f.reset();
        return false;
      }
      session_state st;
      if (rc == SQLITE_ROW) {
        st.id = f.column_int(0);
        st.open = f.column_text(1) == "open";
        st.stopped = f.column_is_null(4) ? 0 : f.column_int(4);
        st.start_seen = f.column_int(5) != 0;
        st.updated = f.column_int(6);
      }
      f.reset();
      if (sessions_.size() >= max_cached_sessions) sessions_.clear();
      cached = sessions_.emplace(std::move(cache_key), st).first;
    }
    auto& state = cached->second;
    const bool found = state.id != 0;
    const std::int64_t id = state.id;
    const bool open = state.open;
    const std::int64_t stopped = state.stopped;
    // When it began: the Start's time, else derived from the session time it reports.
    const time_ms began = start ? event : event - r.session_time.value_or(0) * 1000;
    bool merge = false;
    if (found && open) {
      // A second Start, later than anything the open session reported: its Stop was lost and
      // the NAS reused the id (say, after a restart without Accounting-On).
      if (start && state.start_seen && event > state.updated) {
        auto& c = supersede_;
        c.bind(1, id);
        if (!done(c)) return false;
      } else {
        merge = true;
      }
    } else if (found) {
      // Closed: the record belongs to it when it began before the close (a late Start or
      // Interim-Update, a Stop after Accounting-On giving the real end); else the NAS reused
      // the id for a new session.
      merge = began <= stopped;
    }
    if (merge) {
      if (!merge_session(id, r, nas, start, stop, began, event)) return false;
      if (sqlite3_changes(db_.get()) == 0) {  // pruned meanwhile: start a row afresh
        sessions_.erase(cached);
        return update_sessions(r, nas, event);
      }
      state.updated = std::max(state.updated, event);
      state.start_seen = state.start_seen || start;
    } else {
      if (!insert_session(r, nas, stop, start ? event : began, event)) return false;
      state.id = sqlite3_last_insert_rowid(db_.get());
      state.open = true;
      state.stopped = 0;
      state.updated = event;
      state.start_seen = start;
    }
    if (stop) {
      state.open = false;
      state.stopped = std::max(state.stopped, event);
    }
    return true;
  }

  void bind_details(statement& s, const accounting_record& r, int first) {
    s.bind(first, r.user_name).bind(first + 1, r.framed_ip).bind(first + 2, r.calling_station_id);
    s.bind(first + 3, r.called_station_id).bind(first + 4, r.nas_port);
    s.bind(first + 5, r.nas_port_type).bind(first + 6, r.class_);
  }

  bool merge_session(std::int64_t id, const accounting_record& r, const std::string& nas,
                     bool start, bool stop,
                     time_ms began, time_ms event) {
    auto& m = merge_session_;
    m.bind(1, id).bind(2, std::int64_t{start}).bind(3, began).bind(4, event);
    m.bind(5, r.session_time.value_or(0)).bind(6, static_cast<std::int64_t>(r.input_octets));
    m.bind(7, static_cast<std::int64_t>(r.output_octets));
    m.bind(8, static_cast<std::int64_t>(r.input_packets));
    m.bind(9, static_cast<std::int64_t>(r.output_packets));
    bind_details(m, r, 10);
    m.bind(17, r.multi_session_id).bind(18, std::int64_t{stop}).bind(19, r.terminate_cause);
    m.bind_text(20, nas).bind_text(21, r.session_id);
    return done(m);
  }

  bool insert_session(const accounting_record& r, const std::string& nas, bool stop,
                      time_ms began, time_ms event) {
    auto& s = insert_session_;
    s.bind_text(1, nas).bind_text(2, r.session_id).bind(3, r.multi_session_id);
    s.bind_text(4, r.client);
    bind_details(s, r, 5);
    s.bind(12, began).bind(13, event).bind(14, std::int64_t{stop});
    s.bind(15, r.session_time.value_or(0)).bind(16, static_cast<std::int64_t>(r.input_octets));
    s.bind(17, static_cast<std::int64_t>(r.output_octets));
    s.bind(18, static_cast<std::int64_t>(r.input_packets));
    s.bind(19, static_cast<std::int64_t>(r.output_packets)).bind(20, r.terminate_cause);
    s.bind(21, std::int64_t{r.status_type == status::start});
    return done(s);
  }

  bool store_event(const auth_event& e) {
    auto& s = insert_event_;
    s.bind(1, e.time).bind_text(2, e.client).bind_text(3, e.client_address).bind(4, e.nas_ip);
    s.bind(5, e.nas_identifier).bind(6, e.user_name).bind(7, e.identity);
    s.bind(8, std::int64_t{e.packet_type}).bind(9, std::int64_t{e.reason}).bind(10, e.crp);
    s.bind(11, e.np).bind(12, e.auth_method).bind(13, e.eap_type).bind(14, e.cert_subject);
    s.bind(15, e.cert_issuer).bind(16, e.cert_serial).bind(17, e.calling_station_id);
    s.bind(18, e.called_station_id).bind(19, e.nas_port_type).bind(20, e.class_);
    s.bind(21, e.latency_us);
    return done(s);
  }

  const store_config cfg_;
  const store_options opts_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<item> queue_;
  std::size_t events_queued_ = 0;
  bool stopping_ = false;
  std::thread writer_;

  // The writer's own (only the writer touches them once it runs).
  detail::db_ptr db_;
  statement insert_record_, find_session_, find_key_, supersede_, insert_session_, merge_session_,
      close_nas_, insert_event_, begin_, commit_;
  int failures_in_a_row_ = 0;
  // What the writer knows of recent sessions, so most records skip the lookup. Cleared when a
  // transaction fails (its rows are gone) and by Accounting-On/Off; bounded.
  struct session_state {
    std::int64_t id = 0;  // 0: no row yet
    bool open = false;
    bool start_seen = false;
    time_ms stopped = 0;
    time_ms updated = 0;
  };
  static constexpr std::size_t max_cached_sessions = 100000;
  std::unordered_map<std::string, session_state> sessions_;
  std::chrono::steady_clock::time_point last_failure_log_{};

  std::atomic<bool> healthy_{true};
  std::atomic<std::uint64_t> depth_{0}, records_stored_{0}, records_duplicate_{0},
      records_failed_{0}, records_queue_full_{0}, events_stored_{0}, events_lost_{0},
      commits_{0}, commit_failures_{0}, largest_batch_{0};
  mutable std::mutex error_mu_;
  std::string last_error_;
};

}  // namespace

expected<std::unique_ptr<store>, std::string> open_sqlite_store(const store_config& cfg,
                                                                store_options opts) {
  auto s = std::make_unique<sqlite_store>(cfg, std::move(opts));
  if (auto r = s->start(); !r) return unexpected(r.error());
  return std::unique_ptr<store>(std::move(s));
}

}  // namespace npsd::accounting
