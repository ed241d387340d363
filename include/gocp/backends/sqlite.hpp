#pragma once
/// \file
/// The embedded default backend, registered for `sqlite:` URLs when this header is
/// included (<gocp/gocp.hpp> does): SQLite in WAL mode with a busy timeout and a
/// per-connection prepared-statement cache. Outermost transactions are
/// `BEGIN IMMEDIATE`, so two writers queue on the busy timeout instead of failing
/// when one upgrades a read to a write.
///
/// URL options: `busy_timeout_ms` (default 5000, at most 24 h), plus Database's `pool`
/// and `wait_timeout_ms`. `sqlite::memory:` is one in-memory database per Database,
/// shared by its connections (one by default; `?pool=N` for more).

#include <sqlite3.h>
#include <sys/stat.h>  // not <filesystem>, which would cost every includer ~15k lines for one check

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

#include "../detail/small_vector.hpp"
#include "../detail/string_hash.hpp"
#include "../errors.hpp"
#include "../spi/connection.hpp"
#include "../spi/registry.hpp"
#include "../spi/url.hpp"

namespace gocp {
namespace detail {

/// SQLite's rules for a column's type affinity, from its declared type
/// (https://www.sqlite.org/datatype3.html, 3.1), and which affinities keep gocp's values
/// as written: INTEGER or NUMERIC turn the text "007" into 7, REAL rounds integers past
/// 2^53; BLOB (or no declared type) keeps every value as bound.
inline bool sqlite_declared_type_holds(ColumnType type, std::string_view declared) {
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

inline constexpr Dialect sqlite_dialect{
    .name = "sqlite",
    .numbered_placeholders = false,
    .supports_for_update = false,  // SQLite locks the whole database for a writer instead
    .begin_transaction = "BEGIN IMMEDIATE",
    .auto_primary_key = "INTEGER PRIMARY KEY AUTOINCREMENT",
    .integer_type = "INTEGER",
    .real_type = "REAL",
    .text_type = "TEXT",
    .distinct_from = "IS NOT",
    .stores_nan = false,  // sqlite3_bind_double binds NaN as NULL
    .stores_negative_zero = false,  // a REAL column stores 0.0 and -0.0 as the integer 0
    .bytewise_text_order = true,
    // SQLite has no time types: whole numbers, exact and ordered as numbers (text would
    // need a fixed format to order and parse, and julianday() rounds to milliseconds)
    .blob_type = "BLOB",
    .timestamp_type = "INTEGER",  // microseconds since 1970-01-01T00:00:00Z
    .date_type = "INTEGER",       // days since 1970-01-01
    .table_columns_sql = "SELECT name, type FROM pragma_table_info(?) ORDER BY cid",
    .unique_indexes_sql = "SELECT il.name, ii.name FROM pragma_index_list(?1) AS il, pragma_index_info(il.name) AS ii "
                          "WHERE il.\"unique\" = 1 AND il.partial = 0 ORDER BY il.name, ii.seqno",
    .ddl_lock_sql = "",  // BEGIN IMMEDIATE already holds the database's one write lock
    .declared_type_holds = sqlite_declared_type_holds,
};

struct SqliteCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};

class SqliteConnection final : public Connection {
 public:
  /// `path` is a file name, or (with `uri`) a `file:` URI such as a memdb database's.
  SqliteConnection(const std::string& path, bool uri, int busy_timeout_ms, const std::string& url) : url_(url) {
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
  }

  /// A statement without parameters (DDL, PRAGMA, SAVEPOINT), prepared once per text.
  void execute(std::string_view sql) override {
    const Statement& s = prepare(sql, [&](std::string& text) { text = sql; });
    if (s.parameters) sqlite3_clear_bindings(s.st.get());  // a placeholder is NULL, as query() binds it
    step_through(s.st.get());
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
  struct Statement {
    std::unique_ptr<sqlite3_stmt, Finalizer> st;
    int parameters;  ///< sqlite3_bind_parameter_count
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
    return sqlite3_stmt_readonly(st) ? 0 : static_cast<std::size_t>(sqlite3_changes64(db_.get()));
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
    const int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                      &st, nullptr);
    if (rc != SQLITE_OK) fail(rc, sql);
    Statement entry{decltype(Statement::st)(st), sqlite3_bind_parameter_count(st)};
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

  std::string url_;
  std::unique_ptr<sqlite3, SqliteCloser> db_;  // declared before the statements: closed after them
  std::unordered_map<std::string, Statement, WordHash, std::equal_to<>> statements_;
  std::array<std::unique_ptr<sqlite3_stmt, Finalizer>, 3> transaction_steps_;  // by TransactionStep
  using Entry = std::pair<const std::string, Statement>;
  std::array<const Entry*, 4> recent_{};  // the last few statements_ entries prepare() found
  std::size_t next_recent_ = 0;
};

/// RETURNING, which every create uses, arrived in SQLite 3.35.0.
inline void require_sqlite_version(int number, std::string_view text) {
  if (number < 3035000)
    throw ConfigurationError("gocp: SQLite " + std::string(text) +
                             " is too old: gocp needs 3.35.0 or newer (for INSERT ... RETURNING)");
}

/// One in-memory database shared by all of a Database's connections: SQLite's memdb VFS
/// under a process-unique name, which (unlike shared cache) honours the busy timeout
/// instead of failing with SQLITE_LOCKED. It lives while one connection is open, so a
/// keeper connection, owned by the Database's connection factory, holds it.
struct SharedMemoryDatabase {
  SharedMemoryDatabase() : uri("file:/gocp-mem-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)) + "?vfs=memdb") {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(uri.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, nullptr);
    keeper.reset(raw);
    if (rc != SQLITE_OK)
      throw ConfigurationError(std::string("gocp: cannot create an in-memory SQLite database: ") +
                               (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  std::string uri;  // unique while this object lives: it holds its own address
  std::unique_ptr<sqlite3, SqliteCloser> keeper;
};

inline DatabaseBackend sqlite_backend(Url& url) {
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
  const std::string shown = url.redacted();
  if (memory) {
    auto shared = std::make_shared<SharedMemoryDatabase>();
    return DatabaseBackend{sqlite_dialect,
                   [shared, busy_ms, shown] {
                     return std::make_unique<SqliteConnection>(shared->uri, true, busy_ms, shown);
                   },
                   // one by default: no lock waits between threads; pool=N shares the one database
                   std::size_t{1}, /*ephemeral=*/true};
  }
  return DatabaseBackend{sqlite_dialect,
                 [path, busy_ms, shown] { return std::make_unique<SqliteConnection>(path, false, busy_ms, shown); },
                 std::size_t{64}};
}

/// Registers the scheme when this header is included anywhere in the program.
inline const bool sqlite_registered = SchemeRegistry::global().add_database("sqlite", sqlite_backend);

}  // namespace detail
}  // namespace gocp
