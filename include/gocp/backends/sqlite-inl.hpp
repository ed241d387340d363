#pragma once
/// \file
/// The definitions behind <gocp/backends/sqlite.hpp>: included by it in header-only mode,
/// compiled once by src/gocp.cpp for gocp::gocp_compiled (detail/config.hpp).

#include <sqlite3.h>
#include <sys/stat.h>  // not <filesystem>, which would cost every includer ~15k lines for one check

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "../db/change_stream.hpp"
#include "../db/detail/identity.hpp"
#include "../detail/fork_generation.hpp"
#include "../detail/reported_writes.hpp"
#include "../detail/small_vector.hpp"
#include "../detail/string_hash.hpp"
#include "../errors.hpp"
#include "../events.hpp"
#include "sqlite.hpp"
#include "../spi/connection.hpp"
#include "../spi/registry.hpp"
#include "../spi/url.hpp"

namespace gocp {
namespace detail {

GOCP_INLINE bool sqlite_declared_type_holds(ColumnType type, std::string_view declared) {
  std::string upper(declared);
  for (char& ch : upper) ch = static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
  const auto has = [&](std::string_view part) { return upper.find(part) != std::string::npos; };
  enum class Affinity { integer, text, blob, real, numeric };
  const Affinity affinity = has("INT")                                  ? Affinity::integer
                            : has("CHAR") || has("CLOB") || has("TEXT") ? Affinity::text
                            : has("BLOB") || upper.empty()              ? Affinity::blob
                            : has("REAL") || has("FLOA") || has("DOUB") ? Affinity::real
                                                                        : Affinity::numeric;
  if (affinity == Affinity::blob) return true;
  switch (type) {
    case ColumnType::integer: return affinity == Affinity::integer || affinity == Affinity::numeric;
    case ColumnType::real: return affinity != Affinity::text;
    case ColumnType::text: return affinity == Affinity::text;
    case ColumnType::blob: return true;  // no affinity converts a BLOB value
    case ColumnType::timestamp:          // whole numbers, as integer columns
    case ColumnType::date: return affinity == Affinity::integer || affinity == Affinity::numeric;
  }
  return false;
}

struct SqliteCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};

/// The change log's rows (their seq) that one Database's connections wrote and
/// committed: those connections published the writes themselves at commit, a
/// repository's with the rows' values, so the Database's SqliteChangeLog skips them
/// instead of publishing them again as pk-only changes (each would invalidate the row
/// once more, and every cached query of its table). A connection hands over only the
/// rows of a transaction it knows committed them all (no statement of it failed, no
/// ROLLBACK TO): a row number given back by a rollback may be a later writer's.
class SqliteOwnLogRows {
 public:
  /// Adds `seqs`, committed by this process. Past kMost rows not yet taken (a process
  /// that writes and never reads from a cache), the oldest half is forgotten: those
  /// are published again, which is only redundant.
  void add(std::span<const std::int64_t> seqs) {
    std::lock_guard lock(mutex_);
    if (seqs_.size() + seqs.size() > kMost)
      seqs_.erase(seqs_.begin(), seqs_.begin() + static_cast<std::ptrdiff_t>(seqs_.size() / 2));
    seqs_.insert(seqs_.end(), seqs.begin(), seqs.end());
  }

  /// Takes out every row number handed over so far, sorted, into `out`.
  void take_all(std::vector<std::int64_t>& out) {
    out.clear();
    {
      std::lock_guard lock(mutex_);
      out.swap(seqs_);
    }
    std::sort(out.begin(), out.end());
  }

 private:
  static constexpr std::size_t kMost = 1 << 16;
  std::mutex mutex_;
  std::vector<std::int64_t> seqs_;
};

class SqliteConnection final : public Connection {
 public:
  /// `path` is a file name, or (with `uri`) a `file:` URI such as a memdb database's.
  /// `identity`: the database's id when it is not stored in it (an in-memory database's).
  /// `own_log_rows`: keep the change log of the tables this connection creates or alters
  /// (`?watch=`, see the file comment), and hand the log rows it commits to it.
  SqliteConnection(const std::string& path, bool uri, int busy_timeout_ms, const std::string& url,
                   std::string identity = {}, std::shared_ptr<SqliteOwnLogRows> own_log_rows = nullptr)
      : url_(url), database_id_(std::move(identity)), own_log_rows_(std::move(own_log_rows)) {
    sqlite3* raw = nullptr;
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | (uri ? SQLITE_OPEN_URI : 0);
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK) {
      throw ConfigurationError("gocp: cannot open SQLite database '" + path + "' (from URL '" + url + "'): " +
                               (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    }
    // SQLite silently opens a file it may not write read-only; every write would fail later
    if (sqlite3_db_readonly(raw, "main") == 1)
      throw ConfigurationError("gocp: cannot open SQLite database '" + path + "' (from URL '" + url +
                               "') for writing: the file is read-only");
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw, busy_timeout_ms);
    // A misspelt "column" must be an error, not silently the string 'column'.
    sqlite3_db_config(raw, SQLITE_DBCONFIG_DQS_DML, 0, nullptr);
    sqlite3_db_config(raw, SQLITE_DBCONFIG_DQS_DDL, 0, nullptr);
    try {
      if (!uri) execute("PRAGMA journal_mode=WAL");  // the first read of the file
    } catch (const OperationalError&) {
      const int code = sqlite3_errcode(raw) & 0xff;
      if (code == SQLITE_NOTADB)
        throw ConfigurationError("gocp: cannot open SQLite database '" + path + "' (from URL '" + url +
                                 "'): file is not a database");
      if (code == SQLITE_READONLY || code == SQLITE_CANTOPEN)  // e.g. its directory is read-only (no -wal file)
        throw ConfigurationError("gocp: cannot open SQLite database '" + path + "' (from URL '" + url +
                                 "') for writing: " + sqlite3_errmsg(raw));
      throw;
    }
    execute("PRAGMA synchronous=NORMAL");
    execute("PRAGMA foreign_keys=ON");
    execute("PRAGMA case_sensitive_like=ON");  // LIKE and startswith match case, as on PostgreSQL
    watch_writes();
  }

  /// A statement without parameters (DDL, PRAGMA, SAVEPOINT), prepared once per text.
  void execute(std::string_view sql) override {
    const Statement& s = prepare(sql, [&](std::string& text) { text = sql; });
    if (s.parameters) sqlite3_clear_bindings(s.st.get());  // a placeholder is NULL, as query() binds it
    preparing_.clear();  // what the authorizer sees from here on is a re-prepare of `s`
    step_through(s.st.get());
    ran(s);
  }

  /// BEGIN IMMEDIATE, COMMIT and ROLLBACK, each prepared once and kept by this
  /// connection: a create runs two, and they skip the statement cache.
  void transaction_step(TransactionStep step, const Dialect& dialect) override {
    auto& kept = transaction_steps_[static_cast<std::size_t>(step)];
    if (!kept) {
      const std::string_view sql = step == TransactionStep::begin    ? dialect.begin_transaction
                                   : step == TransactionStep::commit ? std::string_view("COMMIT")
                                                                     : std::string_view("ROLLBACK");
      sqlite3_stmt* st = nullptr;
      const int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                        &st, nullptr);
      if (rc != SQLITE_OK) fail(rc, sql);
      kept.reset(st);
    }
    step_through(kept.get());
    publish_if_committed();
  }

  /// The `sqlite3*`.
  void* native_handle() noexcept override { return db_.get(); }

  /// This connection's SQLITE_LIMIT_VARIABLE_NUMBER (a build or sqlite3_limit may lower it).
  std::size_t max_parameters() noexcept override {
    return static_cast<std::size_t>(sqlite3_limit(db_.get(), SQLITE_LIMIT_VARIABLE_NUMBER, -1));
  }

  std::size_t query(std::string_view sql, std::span<const Value> params,
                    FunctionRef<bool(const Row&)> on_row) override {
    SmallVector<const Value*, 8> bound;  // the values, by pointer: nothing copied
    for (const Value& v : params) bound.emplace_back(&v);
    return run(prepare(sql, [&](std::string& text) { text = sql; }), {bound.begin(), bound.size()}, on_row);
  }

  /// The statement is cached by `key`, so a shape key costs a short hash, not the SQL text's.
  std::size_t query_keyed(std::string_view key, FunctionRef<void(std::string&)> write_sql,
                          std::span<const Value* const> params, FunctionRef<bool(const Row&)> on_row) override {
    return run(prepare(key, write_sql), params, on_row);
  }

  /// A statement of the cursor's own, not the cache's (the cached one may run again
  /// inside the loop that reads this one), stepped once per next() and finalized when
  /// the cursor closes. Its values are copied: they need not outlive this call.
  std::unique_ptr<RowCursor> open_cursor(std::string_view sql, std::span<const Value* const> params) override {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()), 0, &raw, nullptr);
    std::unique_ptr<sqlite3_stmt, Finalizer> st(raw);
    if (rc != SQLITE_OK) fail(rc, sql);
    for (std::size_t i = 0; i < params.size(); ++i) bind(st.get(), static_cast<int>(i) + 1, *params[i], SQLITE_TRANSIENT);
    for (int i = static_cast<int>(params.size()); i < sqlite3_bind_parameter_count(st.get()); ++i)
      sqlite3_bind_null(st.get(), i + 1);
    return std::make_unique<Cursor>(*this, std::move(st));
  }

 private:
  struct Rows final : Row {
    explicit Rows(sqlite3_stmt* s) : st(s) {}
    bool is_null(int c) const override { return sqlite3_column_type(st, c) == SQLITE_NULL; }
    std::int64_t integer(int c) const override { return sqlite3_column_int64(st, c); }
    double real(int c) const override { return sqlite3_column_double(st, c); }
    std::string_view text(int c) const override {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_blob(st, c));
      return {p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(st, c))};
    }
    // gocp writes timestamps and dates as integers; anything else (text some other
    // program wrote) would read as a wrong number, so it is an error instead
    std::int64_t timestamp(int c) const override { return whole_number(c, "a timestamp (microseconds since 1970)"); }
    std::int64_t date(int c) const override { return whole_number(c, "a date (days since 1970)"); }
    std::int64_t whole_number(int c, const char* expected) const {
      if (sqlite3_column_type(st, c) != SQLITE_INTEGER)
        throw DatabaseError("gocp: SQLite column '" + std::string(sqlite3_column_name(st, c)) + "' holds '" +
                            std::string(text(c)) + "' where " + expected + " was expected");
      return sqlite3_column_int64(st, c);
    }
    sqlite3_stmt* st;
  };

  struct Finalizer {
    void operator()(sqlite3_stmt* st) const noexcept { sqlite3_finalize(st); }
  };
  /// A table a statement writes, as the authorizer saw it when the statement was prepared.
  struct Touch {
    std::string table;
    /// Which rows the update hook cannot tell: DROP TABLE, ALTER TABLE, or a REPLACE's
    /// implicit deletes.
    bool whole_table = false;
    /// DDL: the table's shape may change. CREATE TABLE and CREATE / DROP INDEX change no
    /// row (a new table has none cached), so they invalidate nothing.
    bool ddl = false;
  };
  struct Statement {
    std::unique_ptr<sqlite3_stmt, Finalizer> st;
    int parameters;  ///< sqlite3_bind_parameter_count
    /// The tables it writes (none for a read); taken again when SQLite re-prepares it
    /// (after a schema change), whose authorizer calls then run inside a step.
    mutable std::vector<Touch> touches;
  };
  static constexpr std::size_t kMaxCachedStatements = 256;

  /// A statement open on this connection, one step per next(). Until it is closed it
  /// holds a read snapshot (other connections still write, in WAL mode); statements
  /// between its steps on this same connection are fine.
  class Cursor final : public RowCursor {
   public:
    Cursor(SqliteConnection& conn, std::unique_ptr<sqlite3_stmt, Finalizer> st)
        : conn_(conn), st_(std::move(st)), row_(st_.get()) {}
    ~Cursor() override { close(); }
    bool next() override {
      if (!st_) return false;
      const int rc = sqlite3_step(st_.get());
      if (rc == SQLITE_ROW) return true;
      if (rc == SQLITE_DONE) {
        close();
        return false;
      }
      try {
        conn_.fail(rc, sqlite3_sql(st_.get()));  // the message is read before the statement goes
      } catch (...) {
        close();
        throw;
      }
    }
    const Row& row() const override { return row_; }
    void close() noexcept override { st_.reset(); }

   private:
    SqliteConnection& conn_;
    std::unique_ptr<sqlite3_stmt, Finalizer> st_;
    Rows row_;
  };

  struct Reset {  // a statement left mid-step would hold its read snapshot open
    sqlite3_stmt* st;
    ~Reset() { sqlite3_reset(st); }
  };

  /// Steps `st` to its end, its rows unread.
  void step_through(sqlite3_stmt* st) {
    const Reset reset{st};
    int rc = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) fail(rc, sqlite3_sql(st));
  }

  std::size_t run(const Statement& s, std::span<const Value* const> params, FunctionRef<bool(const Row&)> on_row) {
    sqlite3_stmt* st = s.st.get();
    const Reset reset{st};
    // Every parameter is bound on every run (those not given as NULL), so a run never
    // sees the previous one's values and sqlite3_clear_bindings is not needed.
    for (std::size_t i = 0; i < params.size(); ++i) bind(st, static_cast<int>(i) + 1, *params[i]);
    for (int i = static_cast<int>(params.size()); i < s.parameters; ++i) sqlite3_bind_null(st, i + 1);
    const Rows row{st};
    preparing_.clear();  // what the authorizer sees from here on is a re-prepare of `s`
    for (;;) {
      const int rc = sqlite3_step(st);
      if (rc == SQLITE_ROW) {
        if (!on_row(row)) break;
      } else if (rc == SQLITE_DONE) {
        break;
      } else {
        fail(rc, sqlite3_sql(st));
      }
    }
    const std::size_t changed = sqlite3_stmt_readonly(st) ? 0 : static_cast<std::size_t>(sqlite3_changes64(db_.get()));
    ran(s);
    return changed;
  }

  /// The statement cached under `key`, prepared from `write_sql`'s text the first time.
  const Statement& prepare(std::string_view key, FunctionRef<void(std::string&)> write_sql) {
    // A get_or_create runs the same few statements (SELECT; BEGIN, INSERT, COMMIT) over
    // and over: compare with those before hashing.
    for (const Entry* e : recent_)
      if (e && e->first == key) return e->second;
    if (auto it = statements_.find(key); it != statements_.end()) return remember(*it);
    if (statements_.size() >= kMaxCachedStatements) {
      recent_ = {};
      statements_.clear();
    }
    std::string sql;
    write_sql(sql);
    sqlite3_stmt* st = nullptr;
    preparing_.clear();
    const int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                      &st, nullptr);
    if (rc != SQLITE_OK) fail(rc, sql);
    Statement entry{decltype(Statement::st)(st), sqlite3_bind_parameter_count(st), taken_touches(sql)};
    return remember(*statements_.emplace(std::string(key), std::move(entry)).first);
  }

  const Statement& remember(const std::pair<const std::string, Statement>& e) {
    recent_[next_recent_] = &e;
    next_recent_ = (next_recent_ + 1) % recent_.size();
    return e.second;
  }

  /// Binds `v`; by default SQLITE_STATIC: the values outlive the statement's use within
  /// run() (a cursor, whose values do not, passes SQLITE_TRANSIENT).
  void bind(sqlite3_stmt* st, int index, const Value& v, sqlite3_destructor_type lifetime = SQLITE_STATIC) {
    // Tests of the alternative, the usual ones first, not std::visit, which GCC calls out
    // of line: this runs for every value of every statement.
    int rc = SQLITE_OK;
    if (const auto* i = std::get_if<std::int64_t>(&v)) rc = sqlite3_bind_int64(st, index, *i);
    else if (const auto* s = std::get_if<std::string>(&v))
      rc = sqlite3_bind_text64(st, index, s->data(), s->size(), lifetime, SQLITE_UTF8);
    else if (std::holds_alternative<std::monostate>(v)) rc = sqlite3_bind_null(st, index);
    else if (const auto* d = std::get_if<double>(&v)) rc = sqlite3_bind_double(st, index, *d);
    else if (const auto* t = std::get_if<TimestampValue>(&v)) rc = sqlite3_bind_int64(st, index, t->micros);
    else if (const auto* day = std::get_if<DateValue>(&v)) rc = sqlite3_bind_int64(st, index, day->days);
    else if (const auto* b = std::get_if<BlobValue>(&v))
      rc = sqlite3_bind_blob64(st, index, b->bytes.data(), b->bytes.size(), lifetime);
    static_assert(std::variant_size_v<Value> == 7, "gocp: SqliteConnection::bind binds each Value alternative");
    if (rc != SQLITE_OK) fail(rc, sqlite3_sql(st));
  }

  [[noreturn]] void fail(int rc, std::string_view sql) {
    // the statement's rows are rolled back, its log rows too (its update hook saw them
    // first); without one, nothing is in doubt, and a flag set anyway would outlive a
    // commit that hands nothing over, and keep the next transaction's rows from being skipped
    if (!pending_.log_rows.empty()) pending_.log_rows_unsure = true;
    const std::string what = std::string("gocp: SQLite: ") + sqlite3_errmsg(db_.get()) + " (in: " + std::string(sql) +
                             ") on '" + url_ + "'";
    switch (rc & 0xff) {
      case SQLITE_CONSTRAINT:
        throw IntegrityError(what);
      case SQLITE_BUSY:
      case SQLITE_LOCKED:
        throw OperationalError(what, true);
      case SQLITE_NOMEM:
      case SQLITE_IOERR:
      case SQLITE_CORRUPT:
      case SQLITE_FULL:
      case SQLITE_CANTOPEN:
      case SQLITE_READONLY:
      case SQLITE_ERROR:
      case SQLITE_NOTADB:
        throw OperationalError(what);
      default:
        throw DatabaseError(what);
    }
  }

  // ---- the writes this connection sees (see the file comment) ----------------------

  /// Rows and tables written since this connection's transaction began (outside one:
  /// by the statement running), published when it commits.
  struct PendingWrites {
    std::vector<std::string> tables;  ///< each table written, once
    std::vector<char> whole_table;    ///< by tables' index: which rows is not known
    std::vector<std::string> ddl;     ///< tables whose shape may have changed (created, altered, dropped)
    struct RowWrite {
      std::uint32_t table;  ///< index in tables
      int op;               ///< SQLITE_INSERT, SQLITE_UPDATE or SQLITE_DELETE
      sqlite3_int64 rowid;
    };
    std::vector<RowWrite> rows;
    std::vector<std::int64_t> log_rows;  ///< the change log's rows it inserted (its triggers'), by seq
    bool log_rows_unsure = false;        ///< a statement failed or a savepoint rolled back: some may be gone
    bool empty() const noexcept { return tables.empty() && ddl.empty(); }
    std::uint32_t table(std::string_view name) {
      for (std::uint32_t i = 0; i < tables.size(); ++i)  // a transaction writes a few tables
        if (tables[i] == name) return i;
      tables.emplace_back(name);
      whole_table.push_back(0);
      return static_cast<std::uint32_t>(tables.size() - 1);
    }
  };

  /// Tables whose writes no cache needs to hear of: SQLite's own, gocp's bookkeeping.
  static bool unwatched(const char* database, const char* table) noexcept {
    if (!table || !database || std::string_view(database) != "main") return true;  // temp and attached: not this database's
    const std::string_view name(table);
    return name.rfind("sqlite_", 0) == 0 || name == "gocp_database" || name == "gocp_changes";
  }

  void watch_writes() {
    sqlite3* db = db_.get();
    sqlite3_update_hook(db, &SqliteConnection::on_row_written, this);
    sqlite3_rollback_hook(db, &SqliteConnection::on_rollback, this);
    sqlite3_set_authorizer(db, &SqliteConnection::on_authorize, this);
  }

  /// The update hook: one row of a rowid table, while its statement runs.
  static void on_row_written(void* self, int op, const char* database, const char* table, sqlite3_int64 rowid) {
    auto& pending = static_cast<SqliteConnection*>(self)->pending_;
    if (op == SQLITE_INSERT && table && database && std::string_view(table) == "gocp_changes" &&
        std::string_view(database) == "main") {
      pending.log_rows.push_back(rowid);  // a log trigger's: this write comes back through the log
      return;
    }
    if (reported_writes_depth() != 0 || unwatched(database, table)) return;  // a repository's own write
    pending.rows.push_back({pending.table(table), op, rowid});
  }

  static void on_rollback(void* self) { static_cast<SqliteConnection*>(self)->pending_ = {}; }

  /// The authorizer, while a statement is prepared: notes the tables it writes and DDL;
  /// a DELETE deletes row by row (SQLITE_IGNORE turns the truncate optimisation off),
  /// so the update hook names every row `DELETE FROM t` removes.
  static int on_authorize(void* self, int action, const char* a, const char* b, const char* database, const char*) {
    auto& touches = static_cast<SqliteConnection*>(self)->preparing_;
    const auto touch = [&](const char* table, bool ddl, bool whole_table, const char* in = nullptr) {
      if (unwatched(in ? in : database, table)) return;
      touches.push_back({table, whole_table, ddl});
    };
    switch (action) {
      case SQLITE_DELETE: {
        // DROP TABLE asks for DELETE on its table right after DROP_TABLE: IGNORE would skip the drop
        const bool dropping = !touches.empty() && touches.back().ddl && a && touches.back().table == a;
        touch(a, false, false);
        return unwatched(database, a) || dropping ? SQLITE_OK : SQLITE_IGNORE;
      }
      case SQLITE_INSERT:
      case SQLITE_UPDATE:
        touch(a, false, false);
        break;
      case SQLITE_CREATE_TABLE:
        touch(a, true, false);
        break;
      case SQLITE_DROP_TABLE:
        touch(a, true, true);
        break;
      case SQLITE_ALTER_TABLE:  // (database, table)
        touch(b, true, true, a);
        break;
      case SQLITE_CREATE_INDEX:  // (index, table)
      case SQLITE_DROP_INDEX:
        touch(b, true, false);
        break;
      default:
        break;
    }
    return SQLITE_OK;
  }

  /// Whether `sql` holds the word REPLACE outside a quoted name or string: such a
  /// statement may delete rows the update hook does not report. A column or function
  /// of that name is counted too (the table is then invalidated whole: never stale).
  static bool mentions_replace(std::string_view sql) noexcept {
    for (std::size_t i = 0; i < sql.size(); ++i)
      if (word_at(sql, i, "REPLACE")) return true;
    return false;
  }

  /// Whether `sql` holds the upper-case `word` at `at`, in any case.
  static bool word_at(std::string_view sql, std::size_t at, std::string_view word) noexcept {
    if (at + word.size() > sql.size()) return false;
    for (std::size_t j = 0; j < word.size(); ++j)
      if ((sql[at + j] & ~0x20) != word[j]) return false;
    return true;
  }

  /// Whether `st`, just run, was a ROLLBACK TO (a transaction is still open after it): the
  /// rows it undid may have given their numbers back.
  bool rolls_back_to_savepoint(sqlite3_stmt* st) const noexcept {
    if (sqlite3_get_autocommit(db_.get())) return false;
    const std::string_view sql = sqlite3_sql(st);
    return word_at(sql, std::min(sql.find_first_not_of(" \t\r\n"), sql.size()), "ROLLBACK");
  }

  /// The tables the statement of text `sql` writes, as the authorizer saw it prepared.
  std::vector<Touch> taken_touches(std::string_view sql) {
    std::vector<Touch> touches = std::move(preparing_);
    preparing_.clear();
    if (!touches.empty() && mentions_replace(sql))
      for (Touch& t : touches) t.whole_table = true;
    return touches;
  }

  /// After a statement `s` ran: its tables are noted (unless a repository ran it), and
  /// what its transaction wrote is published if it has committed.
  void ran(const Statement& s) {
    if (!preparing_.empty()) s.touches = taken_touches(sqlite3_sql(s.st.get()));  // SQLite re-prepared it
    if (!pending_.log_rows.empty() && rolls_back_to_savepoint(s.st.get())) pending_.log_rows_unsure = true;
    if (!s.touches.empty() && reported_writes_depth() == 0) {
      for (const Touch& t : s.touches) {
        if (t.ddl && std::find(pending_.ddl.begin(), pending_.ddl.end(), t.table) == pending_.ddl.end())
          pending_.ddl.push_back(t.table);
        if (t.ddl && !t.whole_table) continue;  // its shape only: no row changed
        const auto i = pending_.table(t.table);
        pending_.whole_table[i] = static_cast<char>(pending_.whole_table[i] || t.whole_table);
      }
    }
    publish_if_committed();
  }

  /// Publishes the pending writes once no transaction is open on this connection (the
  /// one that made them has committed: a rollback would have dropped them). Checked
  /// after each statement rather than in the commit hook, which runs before the commit
  /// is durable: a cache refilled in between would keep the old row.
  void publish_if_committed() {
    if ((pending_.empty() && pending_.log_rows.empty()) || !sqlite3_get_autocommit(db_.get())) return;
    if (!pending_.log_rows.empty()) hand_over_log_rows();
    if (pending_.empty()) return;
    PendingWrites writes = std::move(pending_);
    pending_ = {};
    if (!writes.ddl.empty()) {
      rowid_keyed_.clear();  // a table's shape may have changed
      if (own_log_rows_) keep_change_log(writes.ddl);
    }
    const std::shared_ptr<ChangeStream> stream = change_stream();
    if (!stream || !stream->has_subscribers()) return;
    std::vector<RowChange> changes;
    changes.reserve(writes.rows.size() + writes.tables.size());
    for (std::uint32_t i = 0; i < writes.tables.size(); ++i)
      if (!writes.whole_table[i] && !rowid_keyed(writes.tables[i])) writes.whole_table[i] = 1;
    // one table's rows together, so each cache invalidates them in one call
    std::stable_sort(writes.rows.begin(), writes.rows.end(),
                     [](const PendingWrites::RowWrite& x, const PendingWrites::RowWrite& y) { return x.table < y.table; });
    std::uint32_t table = 0;
    const auto flush_whole_tables_up_to = [&](std::uint32_t end) {
      for (; table < end; ++table) {
        if (writes.whole_table[table]) changes.push_back(RowChange::whole(writes.tables[table]));
      }
    };
    for (const auto& row : writes.rows) {
      if (writes.whole_table[row.table]) continue;
      flush_whole_tables_up_to(row.table);
      RowChange& c = changes.emplace_back();
      c.table = writes.tables[row.table];
      c.pk = Value(static_cast<std::int64_t>(row.rowid));
      c.had_row = row.op != SQLITE_INSERT;
      c.has_row = row.op != SQLITE_DELETE;
    }
    flush_whole_tables_up_to(static_cast<std::uint32_t>(writes.tables.size()));
    if (!changes.empty()) stream->publish_many(changes);
  }

  /// Hands the committed transaction's log rows to its Database's change log, which
  /// then skips them: this connection publishes those writes.
  void hand_over_log_rows() {
    if (own_log_rows_ && !pending_.log_rows_unsure) own_log_rows_->add(pending_.log_rows);
    pending_.log_rows.clear();
    pending_.log_rows_unsure = false;
  }

  /// Installs the change log's triggers on each of `tables` that exists and lacks them
  /// (and the log itself): every write to the table, by any program, then leaves a row
  /// (table, pk, operation) in gocp_changes, which SqliteChangeLog reads. The pk is the
  /// rowid where it is the key; else NULL: a table-wide change.
  void keep_change_log(const std::vector<std::string>& tables) {
    std::string sql =
        "CREATE TABLE IF NOT EXISTS gocp_changes (seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, pk, "
        "op INTEGER NOT NULL);";
    const auto quoted = [](std::string_view text, char quote) {
      std::string out(1, quote);
      for (char ch : text) {
        out += ch;
        if (ch == quote) out += quote;
      }
      return out + quote;
    };
    for (const std::string& table : tables) {
      if (!table_exists(table)) continue;
      const std::string name = quoted(table, '"'), literal = quoted(table, '\'');
      const bool keyed = rowid_keyed(table);
      const std::string old_pk = keyed ? "OLD.rowid" : "NULL", new_pk = keyed ? "NEW.rowid" : "NULL";
      const auto trigger = [&](const char* suffix, const char* event, const std::string& body) {
        sql += "CREATE TRIGGER IF NOT EXISTS " + quoted("gocp_log_" + table + suffix, '"') + " AFTER " + event +
               " ON " + name + " BEGIN " + body + " END;";
      };
      const std::string insert = "INSERT INTO gocp_changes (tbl, pk, op) ";
      trigger("_i", "INSERT", insert + "VALUES (" + literal + ", " + new_pk + ", " + std::to_string(SQLITE_INSERT) + ");");
      trigger("_u", "UPDATE",
              insert + "VALUES (" + literal + ", " + old_pk + ", " + std::to_string(SQLITE_UPDATE) + "); " + insert +
                  "SELECT " + literal + ", " + new_pk + ", " + std::to_string(SQLITE_INSERT) + " WHERE " + new_pk +
                  " IS NOT " + old_pk + ";");
      trigger("_d", "DELETE", insert + "VALUES (" + literal + ", " + old_pk + ", " + std::to_string(SQLITE_DELETE) + ");");
    }
    char* error = nullptr;
    const int rc = sqlite3_exec(db_.get(), ("BEGIN IMMEDIATE;" + sql + "COMMIT;").c_str(), nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
      const std::string why = error ? error : sqlite3_errstr(rc);
      sqlite3_free(error);
      if (!sqlite3_get_autocommit(db_.get())) sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw OperationalError("gocp: SQLite: cannot install the change log (?watch=) on '" + url_ + "': " + why);
    }
  }

  bool table_exists(const std::string& table) {
    sqlite3_stmt* raw = nullptr;
    sqlite3_prepare_v2(db_.get(), "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1, &raw, nullptr);
    const std::unique_ptr<sqlite3_stmt, Finalizer> st(raw);
    if (!st) return false;
    sqlite3_bind_text(st.get(), 1, table.data(), static_cast<int>(table.size()), SQLITE_STATIC);
    return sqlite3_step(st.get()) == SQLITE_ROW;
  }

  /// The change stream of this connection's database (the one its open Database uses).
  std::shared_ptr<ChangeStream> change_stream() {
    if (auto stream = stream_.lock()) return stream;
    if (database_id_.empty()) database_id_ = read_database_id(*this, sqlite_dialect);
    if (database_id_.empty()) return nullptr;  // not opened through Database::open
    auto stream = find_change_stream(database_id_);
    stream_ = stream;
    return stream;
  }

  /// Whether the update hook's rowid is `table`'s primary key: a rowid table whose key
  /// is one INTEGER PRIMARY KEY column (else its writes are table-wide changes).
  bool rowid_keyed(const std::string& table) {
    if (auto it = rowid_keyed_.find(table); it != rowid_keyed_.end()) return it->second;
    bool keyed = false;
    std::string quoted = "\"";
    for (char ch : table) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    quoted += '"';
    const auto prepared = [&](const std::string& sql) {
      sqlite3_stmt* raw = nullptr;
      sqlite3_prepare_v2(db_.get(), sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr);
      return std::unique_ptr<sqlite3_stmt, Finalizer>(raw);
    };
    if (prepared("SELECT rowid FROM " + quoted + " LIMIT 0")) {  // fails on a WITHOUT ROWID table
      auto info = prepared("SELECT COUNT(*), MAX(upper(type)) FROM pragma_table_info(?1) WHERE pk > 0");
      if (info) {
        sqlite3_bind_text(info.get(), 1, table.data(), static_cast<int>(table.size()), SQLITE_STATIC);
        if (sqlite3_step(info.get()) == SQLITE_ROW && sqlite3_column_int(info.get(), 0) == 1) {
          const auto* type = reinterpret_cast<const char*>(sqlite3_column_text(info.get(), 1));
          keyed = type && std::string_view(type) == "INTEGER";
        }
      }
    }
    rowid_keyed_.emplace(table, keyed);
    return keyed;
  }

  std::string url_;
  std::string database_id_;             ///< Database::id(), read when first needed
  std::weak_ptr<ChangeStream> stream_;  ///< its change stream, while a Database holds it
  PendingWrites pending_;
  std::vector<Touch> preparing_;  ///< what the authorizer saw of the statement being prepared
  std::unordered_map<std::string, bool> rowid_keyed_;  ///< rowid_keyed(), by table
  /// With `?watch=`: its Database's change log's, and keep_change_log() on the tables
  /// this connection creates or alters.
  std::shared_ptr<SqliteOwnLogRows> own_log_rows_;
  std::unique_ptr<sqlite3, SqliteCloser> db_;  // declared before the statements: closed after them
  std::unordered_map<std::string, Statement, WordHash, std::equal_to<>> statements_;
  std::array<std::unique_ptr<sqlite3_stmt, Finalizer>, 3> transaction_steps_;  // by TransactionStep
  using Entry = std::pair<const std::string, Statement>;
  std::array<const Entry*, 4> recent_{};  // the last few statements_ entries prepare() found
  std::size_t next_recent_ = 0;
};

/// Reads the change log (gocp_changes, kept by triggers: SqliteConnection::keep_change_log)
/// for the writes other connections, processes and programs committed, and publishes
/// them on the database's change stream as pk-only RowChanges (a NULL pk: table-wide).
/// `PRAGMA data_version` on a connection of its own says cheaply whether anything was
/// committed since the last check; only then is the log read, from the last sequence
/// seen. Strict (`bound` 0): checked before every cached read. Bounded: at most once
/// per `bound`, so a cached read is at most `bound` staler than the database. Rows this
/// process's own connections wrote and published are skipped (SqliteOwnLogRows).
///
/// The log keeps about `kept_rows` rows: each reader deletes older ones, without waiting
/// for the write lock (busy: next time). A reader further behind than that finds a gap
/// in the sequence (a committed sequence is dense: SQLite has one writer, a new row's seq
/// is the largest plus one, a rolled back insert gives its number back, and trimming
/// never deletes the newest row) and invalidates every logged table whole. No
/// AUTOINCREMENT: it would cost each logged write one more row (sqlite_sequence).
class SqliteChangeLog {
 public:
  SqliteChangeLog(const std::string& path, int busy_timeout_ms, std::chrono::milliseconds bound,
                  std::int64_t kept_rows, std::shared_ptr<ChangeStream> stream, std::shared_ptr<SqliteOwnLogRows> own,
                  std::string url, const std::shared_ptr<const EventSink>& events)
      : bound_(bound), kept_rows_(kept_rows), busy_timeout_ms_(busy_timeout_ms), stream_(std::move(stream)),
        own_(std::move(own)), url_(std::move(url)), path_(path) {
    sinks_.add(events);
    count_forks();
    generation_.store(fork_generation(), std::memory_order_relaxed);
    open_connection();
    last_seq_ = last_sequence();
    start_ticker();
  }

  ~SqliteChangeLog() {
    if (forked()) [[unlikely]] {  // in a child that never checked: the connection and the ticker are the parent's
      drop_the_parents();
      return;
    }
    if (!ticker_.joinable()) return;
    {
      std::lock_guard lock(ticker_mutex_);
      stopping_ = true;
    }
    ticker_wakes_.notify_one();
    ticker_.join();
  }
  SqliteChangeLog(const SqliteChangeLog&) = delete;
  SqliteChangeLog& operator=(const SqliteChangeLog&) = delete;

  /// Publishes what was committed since the last check, if the bound allows a check now.
  /// Bounded: a thread of the log's raises `due_` every `bound` ms, so a read between
  /// checks costs one relaxed load (no clock read: a system call on some hosts).
  void check() {
    if (forked()) [[unlikely]] adopt_after_fork();
    if (bound_.count() > 0 && !due_.load(std::memory_order_relaxed)) return;
    const WalHeader header = wal_header();
    if (header.valid && header == checked_header()) return;  // nothing committed since the last full check
    std::lock_guard lock(mutex_);
    if (bound_.count() > 0) {
      if (!due_.load(std::memory_order_relaxed)) return;  // another thread just checked
      due_.store(false, std::memory_order_relaxed);
    }
    const std::int64_t version = data_version();  // before the log: a commit after it is seen next time
    if (version != data_version_) {
      data_version_ = version;
      publish_since_last();
    }
    // as read before the version: a commit since differs
    for (int i = 0; i < 4; ++i) checked_words_[i].store(header.words[i], std::memory_order_release);
    checked_valid_.store(header.valid, std::memory_order_release);
  }

 private:
  struct Finalizer {
    void operator()(sqlite3_stmt* st) const noexcept { sqlite3_finalize(st); }
  };
  using Statement = std::unique_ptr<sqlite3_stmt, Finalizer>;

  /// The first 32 bytes of the WAL index header (https://www.sqlite.org/walformat.html,
  /// 2.1), which every commit rewrites (mxFrame grows, or a restarted WAL gets new
  /// salts): equal to the last check's, nothing was committed since, and the check costs
  /// a few loads instead of `PRAGMA data_version` (which locks the WAL index: a few
  /// microseconds of system calls). A torn read differs: it only costs the full check.
  struct WalHeader {
    std::uint64_t words[4] = {};
    bool valid = false;
    friend bool operator==(const WalHeader& a, const WalHeader& b) noexcept {
      return a.valid == b.valid && std::equal(std::begin(a.words), std::end(a.words), std::begin(b.words));
    }
  };
  WalHeader checked_header() const noexcept {
    WalHeader h;
    for (int i = 0; i < 4; ++i) h.words[i] = checked_words_[i].load(std::memory_order_acquire);
    h.valid = checked_valid_.load(std::memory_order_acquire);
    return h;
  }
  WalHeader wal_header() const noexcept {
    WalHeader h;
    if (!wal_index_) return h;
    for (int i = 0; i < 4; ++i) h.words[i] = __atomic_load_n(&wal_index_[i], __ATOMIC_ACQUIRE);
    h.valid = true;
    return h;
  }

  /// Finds the WAL index this log's connection has mapped (SQLite's own mapping of
  /// `<file>-shm`, region 0, asked of its VFS: valid while the connection is open in WAL
  /// mode, which gocp's connections keep) to read its header. Without one (another VFS,
  /// not WAL), every check is a full one.
  void map_wal_index() {
    sqlite3_file* file = nullptr;
    if (sqlite3_file_control(db_.get(), "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || !file ||
        !file->pMethods || file->pMethods->iVersion < 2 || !file->pMethods->xShmMap)
      return;
    volatile void* region = nullptr;
    if (file->pMethods->xShmMap(file, 0, 32768, 0, &region) == SQLITE_OK && region)
      wal_index_ = static_cast<const std::uint64_t*>(const_cast<void*>(region));
  }

  /// Its own connection to the file: the WAL index header is read through its mapping.
  void open_connection() {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path_.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK) fail("open");
    sqlite3_busy_timeout(raw, busy_timeout_ms_);
    data_version_ = data_version();  // the first read of the file: its WAL index exists now
    map_wal_index();
  }

  /// Bounded: a thread that raises due_ every bound_.
  void start_ticker() {
    if (bound_.count() > 0)
      ticker_ = std::thread([this] {
        std::unique_lock lock(ticker_mutex_);
        while (!ticker_wakes_.wait_for(lock, bound_, [this] { return stopping_; }))
          due_.store(true, std::memory_order_relaxed);
      });
  }

  /// Whether its connection and ticker are a parent's (a fork since it last adopted them).
  bool forked() const noexcept { return generation_.load(std::memory_order_acquire) != fork_generation(); }

  /// Forgets the parent's connection, statements and ticker thread without closing,
  /// finalizing or joining them (they are not this process's to touch). The ticker's
  /// lock and condition are made anew: the parent's ticker may have held the one and
  /// waited on the other at the fork (destroying a condition with a waiter that never
  /// returns would block).
  void drop_the_parents() noexcept {
    for (Statement* st : {&version_st_, &log_st_, &trim_st_}) static_cast<void>(st->release());
    static_cast<void>(db_.release());
    wal_index_ = nullptr;
    if (ticker_.joinable()) static_cast<void>(new std::thread(std::move(ticker_)));  // names the parent's thread
    std::construct_at(&ticker_mutex_);
    std::construct_at(&ticker_wakes_);
    stopping_ = false;
  }

  /// In a child forked since the last check: a connection and a ticker of the child's
  /// own, reading on from where the parent's log had read (the child's caches are
  /// copies of the parent's, as fresh as that).
  void adopt_after_fork() {
    std::lock_guard lock(mutex_);
    if (!forked()) return;  // another of the child's threads did
    drop_the_parents();
    open_connection();
    // its version starts at what is committed now, some of it after the parent's last
    // read of the log: that is read at the next check whatever the version says
    data_version_ = -1;
    for (auto& word : checked_words_) word.store(0, std::memory_order_relaxed);
    checked_valid_.store(false, std::memory_order_release);  // the next check is a full one
    due_.store(true, std::memory_order_relaxed);
    start_ticker();
    generation_.store(fork_generation(), std::memory_order_release);
  }

  [[noreturn]] void fail(const char* what) const {
    throw OperationalError(std::string("gocp: SQLite: cannot ") + what + " the change log (?watch=) of '" + url_ +
                           "': " + (db_ ? sqlite3_errmsg(db_.get()) : "out of memory"));
  }

  Statement& prepared(Statement& st, const char* sql) {
    if (!st) {
      sqlite3_stmt* raw = nullptr;
      if (sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) return st;
      st.reset(raw);
    }
    return st;
  }

  std::int64_t data_version() {
    auto& st = prepared(version_st_, "PRAGMA data_version");
    if (!st) fail("read");
    std::int64_t v = 0;
    if (sqlite3_step(st.get()) == SQLITE_ROW) v = sqlite3_column_int64(st.get(), 0);
    sqlite3_reset(st.get());
    return v;
  }

  /// The log's last sequence, 0 while there is no log.
  std::int64_t last_sequence() {
    Statement st;
    if (!prepared(st, "SELECT COALESCE(MAX(seq), 0) FROM gocp_changes")) return 0;  // no log yet
    return sqlite3_step(st.get()) == SQLITE_ROW ? sqlite3_column_int64(st.get(), 0) : 0;
  }

  void publish_since_last() {
    auto& st = prepared(log_st_, "SELECT seq, tbl, pk, op FROM gocp_changes WHERE seq > ?1 ORDER BY seq");
    if (!st) return;  // no log yet: no table has one
    struct Reset {
      sqlite3_stmt* st;
      ~Reset() { sqlite3_reset(st); }
    } reset{st.get()};
    sqlite3_bind_int64(st.get(), 1, last_seq_);
    // this process's own committed rows, taken before the read (which then sees them all)
    thread_local std::vector<std::int64_t> own;
    own_->take_all(own);
    std::vector<RowChange> changes;
    int rc = 0;
    bool first = true;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
      const std::int64_t seq = sqlite3_column_int64(st.get(), 0);
      if (seq != last_seq_ + 1 && first) fell_behind(changes);  // trimmed past us: lost rows
      first = false;
      last_seq_ = seq;
      if (std::binary_search(own.begin(), own.end(), seq)) continue;  // published by the connection that wrote it
      std::string table(reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 1)),
                        static_cast<std::size_t>(sqlite3_column_bytes(st.get(), 1)));
      if (sqlite3_column_type(st.get(), 2) == SQLITE_NULL) {
        changes.push_back(RowChange::whole(std::move(table)));
        continue;
      }
      RowChange& c = changes.emplace_back();
      c.table = std::move(table);
      const int op = sqlite3_column_int(st.get(), 3);
      c.pk = Value(static_cast<std::int64_t>(sqlite3_column_int64(st.get(), 2)));
      c.had_row = op != SQLITE_INSERT;
      c.has_row = op != SQLITE_DELETE;
    }
    if (rc != SQLITE_DONE) {
      own_->add(own);  // not read this time: skipped next time
      fail("read");
    }
    // rows past the read (none: a row is handed over after its commit) wait for the next
    const auto later = std::upper_bound(own.begin(), own.end(), last_seq_);
    if (later != own.end()) own_->add({later, own.end()});
    // one table's changes together, so each cache invalidates them in one call
    std::stable_sort(changes.begin(), changes.end(),
                     [](const RowChange& x, const RowChange& y) { return x.table < y.table; });
    stream_->publish_many(changes);
    if (last_seq_ - kept_rows_ >= trimmed_to_ + kept_rows_ / 10) trim();
  }

  /// The log's rows after the last one read were deleted (trimmed by other readers)
  /// before this reader read them: every logged table changes whole, and it is said.
  void fell_behind(std::vector<RowChange>& changes) {
    whole_logged_tables(changes);
    sinks_.report(Event{.kind = Event::Kind::watch_resumed,
                        .source = url_,
                        .detail = "SQLite change log (?watch=): this process fell behind the log (rows other readers "
                                  "trimmed, watch_log_rows) and invalidated every logged table"});
  }

  /// A table-wide change of every table that has the log's triggers, into `changes`.
  void whole_logged_tables(std::vector<RowChange>& changes) {
    Statement st;
    if (!prepared(st, "SELECT DISTINCT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE "
                      "'gocp\\_log\\_%' ESCAPE '\\'"))
      fail("read");
    int rc = 0;
    while ((rc = sqlite3_step(st.get())) == SQLITE_ROW)
      changes.push_back(RowChange::whole(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0)),
                                                     static_cast<std::size_t>(sqlite3_column_bytes(st.get(), 0)))));
    if (rc != SQLITE_DONE) fail("read");
  }

  /// Deletes the log's rows older than the last `kept_rows_`, if the write lock is free
  /// now (a reader does not wait for writers: busy, it tries again later).
  void trim() {
    auto& st = prepared(trim_st_, "DELETE FROM gocp_changes WHERE seq <= ?1");
    if (!st) return;
    const std::int64_t below = last_seq_ - kept_rows_;
    sqlite3_bind_int64(st.get(), 1, below);
    sqlite3_busy_timeout(db_.get(), 0);
    const int rc = sqlite3_step(st.get());
    sqlite3_reset(st.get());
    sqlite3_busy_timeout(db_.get(), busy_timeout_ms_);
    if (rc == SQLITE_DONE) trimmed_to_ = below;
  }

  const std::chrono::milliseconds bound_;
  const std::int64_t kept_rows_;
  const int busy_timeout_ms_;
  std::shared_ptr<ChangeStream> stream_;
  std::shared_ptr<SqliteOwnLogRows> own_;  ///< rows this process's connections publish themselves
  std::string url_;
  std::string path_;  ///< the file, for a forked child's connection
  std::atomic<std::uint64_t> generation_{0};  ///< the fork generation its connection and ticker belong to
  EventSinks sinks_;  ///< its Database's on_event, else stderr
  std::mutex mutex_;  ///< one check at a time: the connection and the positions below are its
  std::atomic<bool> due_{true};  ///< bounded: a check is due (the first read checks)
  const std::uint64_t* wal_index_ = nullptr;  ///< the mapped WAL index, if any
  /// Its header at the last full check, word by word: a read mixing two checks' words
  /// equals the current header only where both checks' headers do, so it is safe.
  std::atomic<std::uint64_t> checked_words_[4] = {};
  std::atomic<bool> checked_valid_{false};
  std::mutex ticker_mutex_;
  std::condition_variable ticker_wakes_;
  bool stopping_ = false;  ///< under ticker_mutex_
  std::unique_ptr<sqlite3, SqliteCloser> db_;
  Statement version_st_, log_st_, trim_st_;  // declared after db_: finalized before it is closed
  std::int64_t data_version_ = 0;
  std::int64_t last_seq_ = 0;
  std::int64_t trimmed_to_ = 0;  ///< this reader's last trim: rows up to it deleted
  std::thread ticker_;  ///< bounded: raises due_ every bound_; last, so it starts after the rest is made
};

GOCP_INLINE void require_sqlite_version(int number, std::string_view text) {
  if (number < 3035000)
    throw ConfigurationError("gocp: SQLite " + std::string(text) +
                             " is too old: gocp needs 3.35.0 or newer (for INSERT ... RETURNING)");
}

/// One in-memory database shared by all of a Database's connections: SQLite's memdb VFS
/// under a process-unique name, which (unlike shared cache) honours the busy timeout
/// instead of failing with SQLITE_LOCKED. It lives while one connection is open, so a
/// keeper connection, owned by the Database's connection factory, holds it.
struct SharedMemoryDatabase {
  SharedMemoryDatabase()
      : uri("file:/gocp-mem-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)) + "?vfs=memdb"),
        identity(random_database_id()) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(uri.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, nullptr);
    keeper.reset(raw);
    if (rc != SQLITE_OK)
      throw ConfigurationError(std::string("gocp: cannot create an in-memory SQLite database: ") +
                               (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  std::string uri;  // unique while this object lives: it holds its own address
  std::string identity;  ///< Database::id(): nothing is stored in a database that lives in memory
  std::unique_ptr<sqlite3, SqliteCloser> keeper;
};

GOCP_INLINE DatabaseBackend sqlite_backend(Url& url) {
  require_sqlite_version(sqlite3_libversion_number(), sqlite3_libversion());
  std::string path;
  bool memory = false;
  if (url.opaque() == ":memory:" || (url.host().empty() && url.path() == ":memory:")) {
    memory = true;
  } else if (!url.opaque().empty() || !url.host().empty() || url.path().empty()) {
    throw ConfigurationError("gocp: SQLite URL '" + url.redacted() +
                             "' must be sqlite:///relative/path.db, sqlite:////absolute/path.db or sqlite::memory:");
  } else {
    path = url.path();
    const std::string dir = path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/'));
    struct stat info {};
    if (!dir.empty() && !(::stat(dir.c_str(), &info) == 0 && S_ISDIR(info.st_mode)))
      throw ConfigurationError("gocp: cannot open SQLite database '" + path + "' (from URL '" + url.redacted() +
                               "'): directory '" + dir + "' does not exist");
  }
  const int busy_ms = static_cast<int>(url.take_int("busy_timeout_ms", 5000, 0, max_timeout_ms));
  const std::int64_t log_rows = url.take_int("watch_log_rows", 100'000, 100, std::int64_t{1} << 40);
  const std::string shown = url.redacted();
  // watch=off (default) | strict | <ms>: see the file comment
  std::optional<std::chrono::milliseconds> watch;
  if (auto mode = url.take("watch"); mode && *mode != "off") {
    if (*mode == "strict") {
      watch = std::chrono::milliseconds(0);
    } else {
      std::int64_t ms = 0;
      const auto [end, ec] = std::from_chars(mode->data(), mode->data() + mode->size(), ms);
      if (ec != std::errc{} || end != mode->data() + mode->size() || ms < 1 || ms > max_timeout_ms)
        throw ConfigurationError("gocp: SQLite URL '" + shown + "': watch='" + *mode +
                                 "' is not off, strict or a bound in milliseconds (1 to " +
                                 std::to_string(max_timeout_ms) + ")");
      watch = std::chrono::milliseconds(ms);
    }
    if (memory)
      throw ConfigurationError("gocp: SQLite URL '" + shown +
                               "': watch= is for a database file other processes write; an in-memory database has none");
  }
  if (memory) {
    auto shared = std::make_shared<SharedMemoryDatabase>();
    return DatabaseBackend{sqlite_dialect,
                   [shared, busy_ms, shown] {
                     return std::make_unique<SqliteConnection>(shared->uri, true, busy_ms, shown, shared->identity);
                   },
                   // one by default: no lock waits between threads; pool=N shares the one database
                   std::size_t{1}, shared->identity};
  }
  auto own = watch ? std::make_shared<SqliteOwnLogRows>() : nullptr;  // this Database's connections' and log's
  DatabaseBackend backend{sqlite_dialect,
                          [path, busy_ms, shown, own] {
                            return std::make_unique<SqliteConnection>(path, false, busy_ms, shown, std::string{}, own);
                          },
                          std::size_t{64}};
  if (watch)
    backend.watch = [path, busy_ms, bound = *watch, log_rows, shown, own](
                        const std::string& identity, std::shared_ptr<const EventSink> events) -> std::function<void()> {
      auto log = std::make_shared<SqliteChangeLog>(path, busy_ms, bound, log_rows, change_stream_for(identity), own,
                                                   shown, events);
      return [log] { log->check(); };
    };
  return backend;
}

}  // namespace detail
}  // namespace gocp
