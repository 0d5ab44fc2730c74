#pragma once
// A thin RAII layer over the SQLite C API, private to accounting/: a connection and prepared
// statements in unique_ptrs, binding by position, errors as values carrying SQLite's message.
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "radius/expected.h"

namespace npsd::accounting::detail {

struct db_deleter {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct stmt_deleter {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using db_ptr = std::unique_ptr<sqlite3, db_deleter>;

// A failed SQLite call: the result code (extended) and the text to show.
struct sql_error {
  int code = SQLITE_ERROR;
  std::string message;
};

enum class open_mode { read_write_create, read_only, read_write };

// Opens a database file (full mutex off: every connection is used by one thread at a time).
expected<db_ptr, sql_error> open_database(const std::filesystem::path& file, open_mode mode,
                                          std::chrono::milliseconds busy_timeout);

// Runs statements that return no rows (a script, ';'-separated).
expected<bool, sql_error> exec(sqlite3* db, std::string_view sql);

class statement {
 public:
  statement() = default;
  static expected<statement, sql_error> prepare(sqlite3* db, std::string_view sql);

  // Positions start at 1, as in SQLite.
  statement& bind(int pos, std::int64_t v);
  statement& bind(int pos, std::string_view v);  // empty text binds NULL
  statement& bind(int pos, const std::optional<std::int64_t>& v);
  statement& bind_text(int pos, std::string_view v);  // empty text binds ''
  statement& bind_null(int pos);
  // Text bound from now on is not copied: the caller keeps it alive until reset().
  void borrow_text() noexcept { borrow_ = true; }

  // SQLITE_ROW, SQLITE_DONE, or an error code.
  int step();
  // Ready for the next execution (bindings cleared).
  void reset();

  std::int64_t column_int(int col) const;
  bool column_is_null(int col) const;
  std::string_view column_text(int col) const;  // "" for NULL
  int column_count() const;
  std::string_view column_name(int col) const;
  int column_type(int col) const;

  sqlite3_stmt* get() const noexcept { return s_.get(); }
  explicit operator bool() const noexcept { return s_ != nullptr; }

 private:
  std::unique_ptr<sqlite3_stmt, stmt_deleter> s_;
  bool borrow_ = false;
};

sql_error last_error(sqlite3* db);

}  // namespace npsd::accounting::detail
