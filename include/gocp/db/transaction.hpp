#pragma once
/// \file
/// Transactions: `db.atomic(fn)` or the RAII guard `gocp::Transaction`. The outermost
/// level is a real transaction on a connection this thread keeps until it ends; nested
/// levels are savepoints, so an inner failure rolls back only the inner work. Guards
/// never throw from their destructors: an uncommitted guard rolls back.
///
///     gocp::Transaction tx{db};
///     authors.save(leo);
///     tx.commit();                       // or leave the scope: rolled back

#include <algorithm>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../detail/call_each.hpp"
#include "../detail/config.hpp"
#include "../detail/small_vector.hpp"
#include "database.hpp"

namespace gocp {

namespace detail {

/// A cursor open on a transaction's connection (db/cursor.hpp): it lives no longer than
/// the transaction level it was opened in, which closes it when it ends.
struct TransactionCursor {
  /// The level it was opened at (1: the outermost).
  std::size_t depth = 0;
  /// Its level ended (committed or rolled back): close, and refuse to read on.
  virtual void transaction_ended() noexcept = 0;

 protected:
  ~TransactionCursor() = default;
};

struct TransactionState {
  const DatabaseState* db = nullptr;
  ConnectionPool::Lease lease;
  std::size_t depth = 1;
  std::vector<std::function<void()>> on_commit;
  /// The row changes made so far, delivered to the change stream at the outermost commit
  /// (the first held inline: a get_or_create's create allocates nothing for it).
  SmallVector<RowChange, 1> changes;
  /// How much of on_commit and changes each open savepoint began after: what goes if it
  /// rolls back.
  struct Mark {
    std::size_t hooks, changes;
  };
  std::vector<Mark> savepoint_marks;
  /// Tables this transaction wrote, whichever repository wrote them: their cached rows
  /// may be older than what the transaction sees, so its reads of them bypass caches.
  SmallVector<const void*, 4> written;
  /// The cursors open on this connection (few: usually none).
  std::vector<TransactionCursor*> cursors;

  /// Closes the cursors opened at level `depth` or deeper, before that level ends: a
  /// statement stream must not outlive the transaction it reads (and on PostgreSQL the
  /// COMMIT, RELEASE or ROLLBACK could not even be sent while one is open).
  void end_cursors(std::size_t from_depth) noexcept {
    for (std::size_t i = cursors.size(); i-- > 0;) {
      if (cursors[i]->depth < from_depth) continue;
      TransactionCursor* ended = cursors[i];
      cursors.erase(cursors.begin() + static_cast<std::ptrdiff_t>(i));
      ended->transaction_ended();
    }
  }

  /// As new, its connection given back; the buffers keep their capacity.
  void clear() noexcept {
    end_cursors(1);
    lease = {};
    db = nullptr;
    depth = 1;
    on_commit.clear();
    changes.clear();
    savepoint_marks.clear();
    written.clear();
  }
};

/// This thread's finished outermost level, kept for its next one: a get_or_create's
/// create then allocates nothing for its transaction.
inline std::unique_ptr<TransactionState>& spare_transaction_state() {
  thread_local std::unique_ptr<TransactionState> spare;
  return spare;
}

inline TransactionState* find_transaction(const DatabaseState* db) noexcept {
  for (auto* tx : open_transactions())
    if (tx->db == db) return tx;
  return nullptr;
}

/// Repository-internal access to a Database's transaction on this thread.
struct DatabaseAccess {
  /// Records a row change: buffered until the outermost commit inside a transaction
  /// (which also notes `table` as written), published at once outside one.
  static void emit(const Database& db, const void* table, RowChange change) {
    emit_made(db, table, [&] { return std::move(change); });
  }
  /// emit() of the change `make()` returns, made where it is kept (nothing moved).
  template <class Make>
  static void emit_made(const Database& db, const void* table, const Make& make) {
    if (auto* tx = db.transaction_state()) {
      if (std::find(tx->written.begin(), tx->written.end(), table) == tx->written.end()) tx->written.emplace_back(table);
      tx->changes.emplace_back_with(make);
      return;
    }
    db.state_->changes->publish(make());
  }
  /// emit() of every change of one write (a bulk update or delete): published as one
  /// batch outside a transaction, so a cache invalidates the rows in one call.
  static void emit_many(const Database& db, const void* table, std::vector<RowChange> changes) {
    if (changes.empty()) return;
    if (auto* tx = db.transaction_state()) {
      if (std::find(tx->written.begin(), tx->written.end(), table) == tx->written.end()) tx->written.emplace_back(table);
      tx->changes.reserve(tx->changes.size() + changes.size());  // one growth for a bulk write's rows
      for (RowChange& change : changes) tx->changes.emplace_back(std::move(change));
      return;
    }
    db.state_->changes->publish_many(changes);
  }
  /// Where a write of up to `expected` rows inside the transaction open on this thread
  /// makes its changes in place (room for them reserved, `table` noted as written), so a
  /// bulk write moves none; null outside a transaction, where changes are published.
  static SmallVector<RowChange, 1>* change_buffer(const Database& db, const void* table, std::size_t expected) {
    auto* tx = db.transaction_state();
    if (!tx) return nullptr;
    if (std::find(tx->written.begin(), tx->written.end(), table) == tx->written.end()) tx->written.emplace_back(table);
    tx->changes.reserve(tx->changes.size() + expected);
    return &tx->changes;
  }
  /// The database's record of the models whose table it has checked.
  static detail::SchemasChecked& schemas_checked(const Database& db) noexcept { return db.state_->schemas_checked; }
  /// The database's connection pool.
  static ConnectionPool& pool(const Database& db) noexcept { return db.state_->pool; }
  /// This thread's transaction on `db`, or nullptr.
  static TransactionState* transaction(const Database& db) noexcept { return db.transaction_state(); }
  static bool wrote(const Database& db, const void* table) noexcept {
    auto* tx = db.transaction_state();
    return tx && std::find(tx->written.begin(), tx->written.end(), table) != tx->written.end();
  }
};

inline std::string savepoint_name(std::size_t depth) { return "gocp_sp_" + std::to_string(depth); }

}  // namespace detail

inline detail::TransactionState* Database::transaction_state() const noexcept {
  return detail::find_transaction(state_.get());
}
inline Connection& Database::connection_of(detail::TransactionState& tx) noexcept { return *tx.lease; }

/// A transaction level as an RAII guard (Database::atomic is the usual spelling): the
/// outermost one on this thread is BEGIN ... COMMIT on a connection it keeps, a nested
/// one a SAVEPOINT. Not committed by the destructor: a Transaction that is neither
/// committed nor rolled back rolls back, and the destructor never throws. Belongs to the
/// thread that opened it.
class Transaction {
 public:
  /// Opens a level on `db` for this thread: BEGIN, or a SAVEPOINT inside an open one.
  /// Throws OperationalError when no connection can be had or the database refuses.
  explicit Transaction(const Database& db);

  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  ~Transaction() {
    if (!finished_) rollback();
  }

  /// Commits this level: RELEASE for a savepoint; COMMIT, then the on_commit hooks, for
  /// the outermost. Throws if the database refuses (the level is then rolled back).
  void commit();

  /// Rolls this level back, dropping the on_commit hooks registered inside it.
  void rollback() noexcept;

 private:
  bool is_innermost() const noexcept { return state_ && state_->depth == depth_; }

  void require_innermost(const char* verb) const;

  void undo_savepoint() noexcept;

  void close() noexcept;

  Database db_;
  detail::TransactionState* state_ = nullptr;
  std::size_t depth_ = 1;
  bool finished_ = false;
};

template <class F>
decltype(auto) Database::atomic(F&& fn) const {
  Transaction tx(*this);
  if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
    fn();
    tx.commit();
  } else {
    decltype(auto) result = fn();
    tx.commit();
    return result;
  }
}

}  // namespace gocp

#if !defined(GOCP_COMPILED)
#include "transaction-inl.hpp"
#endif
