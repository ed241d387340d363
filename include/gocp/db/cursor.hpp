#pragma once
/// \file
/// `gocp::DatabaseCursor`: a query whose rows are read one at a time, holding one
/// connection while it is open. `Repository::iterate()` reads through one; raw SQL can
/// too:
///
///     auto rows = gocp::DatabaseCursor::open(db, "SELECT id, url FROM link WHERE clicks > ?",
///                                            std::vector<gocp::Value>{gocp::Value{std::int64_t{10}}});
///     while (rows.next()) use(rows.row().integer(0), rows.row().text(1));
///
/// Which connection: outside a transaction, one borrowed from the Database's pool for
/// the cursor alone, kept until the cursor closes (reading past the last row, close(),
/// or its destructor), then given back usable; the pool never lends it to anyone else
/// meanwhile. So a thread holding a cursor and running other statements needs a second
/// connection: with `?pool=1` (the default of `sqlite::memory:`) a statement inside the
/// loop finds only the cursor's, and is refused with a gocp::Error rather than waiting
/// forever. On SQLite the cursor holds a read snapshot, which other connections' writes
/// do not disturb (WAL) and it does not see; on PostgreSQL its statement's snapshot.
///
/// Inside a transaction: the transaction's connection, so the cursor sees the
/// transaction's own writes. On SQLite other statements may run between its rows; on
/// PostgreSQL none can (libpq reads one result at a time per connection), and one is
/// refused with a gocp::Error saying to finish or close the cursor first. A cursor
/// lives no longer than the transaction level (or savepoint) it was opened in: when
/// that level commits or rolls back, the cursor is closed first, and reading it
/// afterwards throws a gocp::Error (its rows would belong to a transaction that ended).
///
/// Abandoned early (a `break`, an exception, a destructor): on PostgreSQL outside a
/// transaction the query is cancelled; inside one the unread rows are read off the
/// connection and dropped (a cancel would abort the transaction); on SQLite the
/// statement is finalized. Either way the connection is usable again at once.

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "../errors.hpp"
#include "../spi/connection.hpp"
#include "database.hpp"

namespace gocp {

/// An open query read forward one row at a time; see the file comment. Move-only; used
/// by one thread at a time (inside a transaction, by the transaction's thread).
class DatabaseCursor {
 public:
  /// Runs `sql` on `db` with `params` bound in order, and opens a cursor on its rows.
  /// An error in the statement is thrown here (nothing is then held).
  static DatabaseCursor open(const Database& db, std::string_view sql, std::span<const Value> params = {}) {
    std::vector<const Value*> bound;
    bound.reserve(params.size());
    for (const Value& v : params) bound.push_back(&v);
    return open_bound(db, sql, bound);
  }

  /// open(), the values by address (as the SQL writer binds them): they need live only
  /// during this call.
  static DatabaseCursor open_bound(const Database& db, std::string_view sql, std::span<const Value* const> params) {
    auto state = std::make_unique<State>(db, sql);
    if (auto* tx = detail::DatabaseAccess::transaction(db)) {
      state->rows = (*tx->lease).open_cursor(sql, params);
      state->tx = tx;
      state->depth = tx->depth;
      tx->cursors.push_back(state.get());
    } else {
      auto& pool = detail::DatabaseAccess::pool(db);
      state->lease = pool.acquire();
      pool.note_cursor_lease(state->holder);
      state->pool = &pool;
      state->rows = (*state->lease).open_cursor(sql, params);
    }
    return DatabaseCursor(std::move(state));
  }

  /// Moves the open cursor; the moved-from one is closed.
  DatabaseCursor(DatabaseCursor&&) noexcept = default;
  /// Closes this cursor, then takes the other's.
  DatabaseCursor& operator=(DatabaseCursor&& other) noexcept {
    close();
    state_ = std::move(other.state_);
    return *this;
  }
  /// Closes it (see close()); never throws.
  ~DatabaseCursor() { close(); }

  /// Moves to the next row: true when there is one (row() reads it), false past the
  /// last row, which also closes the cursor and gives its connection back. A database
  /// error mid-stream is thrown as a DatabaseError subclass, the cursor then closed.
  /// Throws gocp::Error if the transaction it was opened in has ended.
  bool next() {
    if (!state_) return false;
    if (state_->ended_with_transaction)
      throw Error("gocp: a cursor was read after the transaction (or savepoint) it was opened in ended, which "
                  "closed it (in: " + state_->sql + "); read its rows before the transaction commits or rolls back");
    if (!state_->rows) return false;
    try {
      if (state_->rows->next()) return true;
    } catch (...) {
      close();
      throw;
    }
    close();
    return false;
  }

  /// The current row: valid after next() returned true, until the next call.
  const Row& row() const { return state_->rows->row(); }

  /// True until the cursor is closed (by reading past the end, close(), or the end of
  /// its transaction).
  bool is_open() const noexcept { return state_ && state_->rows; }

  /// Ends the query now, dropping the rows not read, and gives the connection back (to
  /// the pool, or to the transaction). Idempotent; never throws.
  void close() noexcept {
    if (state_) state_->release();
  }

 private:
  /// What an open cursor holds, where a transaction can find it (its address is stable
  /// while the DatabaseCursor moves).
  struct State final : detail::TransactionCursor {
    State(const Database& d, std::string_view text) : db(d), sql(text) {}
    ~State() { release(); }

    void transaction_ended() noexcept override {
      tx = nullptr;  // the transaction already forgot this cursor
      if (rows) ended_with_transaction = true;
      release();
    }

    /// Closes the statement, then gives the connection back: never the other way round.
    void release() noexcept {
      rows.reset();
      if (tx) {
        std::erase(tx->cursors, this);
        tx = nullptr;
      }
      if (pool) {
        pool->forget_cursor_lease(holder);
        pool = nullptr;
      }
      lease = {};
    }

    Database db;  ///< keeps the pool the lease belongs to alive
    std::string sql;  ///< for errors
    detail::ConnectionPool::Lease lease;  ///< outside a transaction: the cursor's own connection
    detail::ConnectionPool* pool = nullptr;  ///< the lease's pool, while it knows of this cursor
    std::thread::id holder = std::this_thread::get_id();  ///< the thread that opened it
    detail::TransactionState* tx = nullptr;  ///< inside one: the transaction whose connection it reads
    std::unique_ptr<RowCursor> rows;
    bool ended_with_transaction = false;
  };

  explicit DatabaseCursor(std::unique_ptr<State> state) noexcept : state_(std::move(state)) {}

  std::unique_ptr<State> state_;
};

}  // namespace gocp
