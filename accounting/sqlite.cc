#include "accounting/sqlite.h"

#include <fmt/format.h>

namespace npsd::accounting::detail {

sql_error last_error(sqlite3* db) {
  if (db == nullptr) return {SQLITE_NOMEM, "out of memory"};
  return {sqlite3_extended_errcode(db), sqlite3_errmsg(db)};
}

expected<db_ptr, sql_error> open_database(const std::filesystem::path& file, open_mode mode,
                                          std::chrono::milliseconds busy_timeout) {
  int flags = SQLITE_OPEN_NOMUTEX;
  switch (mode) {
    case open_mode::read_write_create: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE; break;
    case open_mode::read_write: flags |= SQLITE_OPEN_READWRITE; break;
    case open_mode::read_only: flags |= SQLITE_OPEN_READONLY; break;
  }
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(file.c_str(), &raw, flags, nullptr);
  db_ptr db(raw);
  if (rc != SQLITE_OK) {
    auto e = last_error(db.get());
    e.code = rc;
    e.message = fmt::format("cannot open {}: {}", file.string(), e.message);
    return unexpected(std::move(e));
  }
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), static_cast<int>(busy_timeout.count()));
  return db;
}

expected<bool, sql_error> exec(sqlite3* db, std::string_view sql) {
  const std::string text(sql);
  char* msg = nullptr;
  const int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    sql_error e{sqlite3_extended_errcode(db), msg != nullptr ? msg : sqlite3_errstr(rc)};
    sqlite3_free(msg);
    return unexpected(std::move(e));
  }
  return true;
}

expected<statement, sql_error> statement::prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  if (rc != SQLITE_OK) return unexpected(last_error(db));
  statement s;
  s.s_.reset(raw);
  return s;
}

statement& statement::bind(int pos, std::int64_t v) {
  sqlite3_bind_int64(s_.get(), pos, v);
  return *this;
}
statement& statement::bind(int pos, std::string_view v) {
  if (v.empty()) return bind_null(pos);
  return bind_text(pos, v);
}
statement& statement::bind(int pos, const std::optional<std::int64_t>& v) {
  return v ? bind(pos, *v) : bind_null(pos);
}
statement& statement::bind_text(int pos, std::string_view v) {
  sqlite3_bind_text(s_.get(), pos, v.data(), static_cast<int>(v.size()),
                    borrow_ ? SQLITE_STATIC : SQLITE_TRANSIENT);
  return *this;
}
statement& statement::bind_null(int pos) {
  sqlite3_bind_null(s_.get(), pos);
  return *this;
}

int statement::step() { return sqlite3_step(s_.get()); }

void statement::reset() {
  sqlite3_reset(s_.get());
  sqlite3_clear_bindings(s_.get());
}

std::int64_t statement::column_int(int col) const { return sqlite3_column_int64(s_.get(), col); }
bool statement::column_is_null(int col) const {
  return sqlite3_column_type(s_.get(), col) == SQLITE_NULL;
}
std::string_view statement::column_text(int col) const {
  const auto* p = sqlite3_column_text(s_.get(), col);
  if (p == nullptr) return {};
  return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(s_.get(), col))};
}
int statement::column_count() const { return sqlite3_column_count(s_.get()); }
std::string_view statement::column_name(int col) const { return sqlite3_column_name(s_.get(), col); }
int statement::column_type(int col) const { return sqlite3_column_type(s_.get(), col); }

}  // namespace npsd::accounting::detail
