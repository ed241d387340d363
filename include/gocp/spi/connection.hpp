#pragma once
/// \file
/// What a SQL backend provides: a Connection that runs parameterised statements, and
/// the Dialect (dialect.hpp) that tells the SQL writer how that backend spells things.
/// A backend registers a factory for its URL scheme in spi/registry.hpp.
///
/// Users reach a connection through `Database::with_connection`, and set up every new
/// one with `OpenOptions::on_connect` (db/database.hpp), e.g. to install an SQLite
/// function through the native handle:
///
///     auto db = gocp::Database::open("sqlite:///app.db", gocp::OpenOptions{
///         .on_connect = [](gocp::Connection& conn) {
///           auto* handle = static_cast<sqlite3*>(conn.native_handle());
///           sqlite3_create_function_v2(handle, "twice", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
///                                      twice, nullptr, nullptr, nullptr);
///           conn.execute("PRAGMA cache_size = -65536");
///         }});

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../detail/function_ref.hpp"
#include "../dialect.hpp"
#include "../errors.hpp"
#include "../value.hpp"
#include "row_cursor.hpp"

namespace gocp {

class Connection;

/// Setup run on each new connection before its first use (see OpenOptions::on_connect).
using ConnectHook = std::function<void(Connection&)>;

/// One connection, used by one thread at a time (the pool and transactions see to it).
class Connection {
 public:
  virtual ~Connection() = default;

  /// Runs a statement without parameters or results (DDL, BEGIN, SAVEPOINT ...).
  virtual void execute(std::string_view sql) = 0;

  /// Runs a parameterised statement, calling `on_row` for each row until it returns
  /// false. Returns the rows a DML statement changed (0 for a SELECT).
  virtual std::size_t query(std::string_view sql, std::span<const Value> params,
                            detail::FunctionRef<bool(const Row&)> on_row) = 0;

  /// Runs a statement a caller names by `key` instead of by its text: `key` stands for
  /// one SQL text on every connection for as long as the process runs (same key, same
  /// text), and is cheaper to build than the text, so a hot statement is neither written
  /// nor hashed again. `write_sql` writes the text; it is called only when this
  /// connection has not prepared `key` yet. `params` point at the values to bind, in
  /// order. A key that starts with '\0' is a shape key (SQL text never starts so); any
  /// other key is the SQL text itself. This default writes the text and runs query().
  virtual std::size_t query_keyed(std::string_view /*key*/, detail::FunctionRef<void(std::string&)> write_sql,
                                  std::span<const Value* const> params,
                                  detail::FunctionRef<bool(const Row&)> on_row) {
    std::string sql;
    write_sql(sql);
    std::vector<Value> values;
    values.reserve(params.size());
    for (const Value* v : params) values.push_back(*v);
    return query(sql, values, on_row);
  }

  /// Runs a parameterised query and returns a cursor that reads its rows one at a time,
  /// on demand, instead of handing them all to a callback (what `Repository::iterate()`
  /// reads through). `params` need live only during this call. An error in the text
  /// or a parameter is thrown here; one the statement raises while it runs, here or by
  /// RowCursor::next().
  /// The cursor must be closed or destroyed before this connection is: it keeps the
  /// connection busy while open (see RowCursor).
  ///
  /// A backend that can keep a statement open implements it (SQLite: a statement
  /// stepped per row; PostgreSQL: single-row mode). This default cannot: reading
  /// every row first would hold the whole result, the very thing a cursor avoids,
  /// so it throws a ConfigurationError saying so.
  virtual std::unique_ptr<RowCursor> open_cursor(std::string_view sql, std::span<const Value* const> params) {
    static_cast<void>(sql);
    static_cast<void>(params);
    throw ConfigurationError("gocp: this database backend cannot stream a result row by row (it does not "
                             "implement Connection::open_cursor): use all() instead of iterate()");
  }

  /// The statements that open and end an outermost transaction.
  enum class TransactionStep { begin, commit, rollback };

  /// Runs `step`: the dialect's `begin_transaction`, COMMIT or ROLLBACK. Every create
  /// runs two of them, so a backend may keep them prepared; this default runs execute().
  virtual void transaction_step(TransactionStep step, const Dialect& dialect) {
    execute(step == TransactionStep::begin    ? dialect.begin_transaction
            : step == TransactionStep::commit ? std::string_view("COMMIT")
                                              : std::string_view("ROLLBACK"));
  }

  /// The most parameters one statement may bind on this connection: bulk_create sizes
  /// its multi-row INSERTs by it. SQLite answers its SQLITE_LIMIT_VARIABLE_NUMBER
  /// (32766 by default since 3.32), PostgreSQL 65535 (the wire protocol's limit); this
  /// default, 999 (SQLite's old limit), is safe on any backend.
  virtual std::size_t max_parameters() noexcept { return 999; }

  /// The backend's own handle, for what gocp does not wrap: `sqlite3*` for SQLite,
  /// `PGconn*` for PostgreSQL (nullptr if a backend has none). Valid while this
  /// connection is borrowed; a backend may replace it when it reconnects, so do not keep it.
  virtual void* native_handle() noexcept { return nullptr; }

  /// False once the connection is known to be unusable; the pool then drops it.
  virtual bool usable() const noexcept { return true; }

  /// Asked before the pool hands out a connection that sat idle in it; false if it is
  /// known to have died meanwhile (the pool then opens a fresh one in its place). Must
  /// be cheap: no round trip to the server.
  virtual bool revalidate() noexcept { return usable(); }

  /// Internal (Database::open): installs the user's per-connection setup and runs it.
  void install_setup(std::shared_ptr<const ConnectHook> setup) {
    setup_ = std::move(setup);
    reopened();
  }

 protected:
  /// A backend that reopens its session in place (PostgreSQL after a lost connection)
  /// calls this, so the new session gets the user's setup too.
  void reopened() {
    if (setup_ && *setup_) (*setup_)(*this);
  }

 private:
  std::shared_ptr<const ConnectHook> setup_;
};

}  // namespace gocp
