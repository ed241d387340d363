#pragma once
/// \file
/// `gocp::Database`: a cheap, copyable, thread-safe handle on one database, opened
/// from a URL. Each thread borrows its own connection from the handle's pool, and keeps
/// it for as long as it is inside a transaction (see transaction.hpp).
///
///     auto db = gocp::Database::open("sqlite:///library.db");   // relative path
///     auto db = gocp::Database::open("sqlite:////var/lib/app/library.db?pool=8");
///     auto db = gocp::Database::open("sqlite::memory:");
///     db.atomic([&] { ... });                                     // a transaction

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../events.hpp"
#include "../spi/connection.hpp"
#include "../spi/registry.hpp"
#include "../spi/url.hpp"
#include "change_stream.hpp"
#include "detail/identity.hpp"
#include "detail/traced_connection.hpp"
#include "pool.hpp"

namespace gocp {

namespace detail {

struct TransactionState;
struct DatabaseAccess;

/// The models whose table this database has checked (schema.hpp): once per database
/// and model, not per repository, so a repository made per request costs no catalogue
/// query. Keyed by the model's ModelInfo, so two models of one table are each checked.
class SchemasChecked {
 public:
  bool contains(const void* model) const {
    std::lock_guard lock(mutex_);
    return std::find(models_.begin(), models_.end(), model) != models_.end();
  }
  void add(const void* model) {
    std::lock_guard lock(mutex_);
    if (std::find(models_.begin(), models_.end(), model) == models_.end()) models_.push_back(model);
  }

 private:
  mutable std::mutex mutex_;
  std::vector<const void*> models_;  // a few dozen at most: one per model in use
};

struct DatabaseState {
  DatabaseState(std::string u, const Dialect& d, ConnectionPool::Factory connect, std::size_t pool_size,
                std::chrono::milliseconds wait)
      : url(std::move(u)), dialect(d), pool(std::move(connect), pool_size, wait, url) {}
  std::string url;  ///< redacted
  Dialect dialect;
  ConnectionPool pool;
  std::string id;  ///< the database's identity (detail/identity.hpp)
  std::function<void()> catch_up;  ///< the backend's check for other writers (DatabaseBackend::watch), if any
  std::function<void(Connection&, std::string_view)> watch_table;  ///< DatabaseBackend::watch_table, if any
  std::string unseen_writes;                 ///< DatabaseBackend::unseen_writes
  std::atomic<bool> unseen_writes_reported{false};
  std::shared_ptr<const EventSink> events;  ///< OpenOptions::on_event, if set
  /// Shared by every Database of this identity in the process (change_stream_for()).
  std::shared_ptr<ChangeStream> changes = std::make_shared<ChangeStream>();
  std::atomic<std::uint64_t> transactions{0}, savepoints{0};
  SchemasChecked schemas_checked;
};

/// The transactions open on this thread, one per database at most.
inline std::vector<TransactionState*>& open_transactions() {
  thread_local std::vector<TransactionState*> open;
  return open;
}

}  // namespace detail

/// What Database::open takes besides the URL: what a URL cannot carry.
struct OpenOptions {
  /// Runs on every new connection before its first use (and again when a backend
  /// reopens a lost session in place): install SQLite functions, collations or hooks
  /// through `native_handle()`, run PRAGMAs or `SET`s. If it throws, that connection is
  /// not used, and open() fails with the exception.
  ///
  ///     gocp::Database::open("sqlite:///app.db", gocp::OpenOptions{
  ///         .on_connect = [](gocp::Connection& c) { c.execute("PRAGMA cache_size = -65536"); }});
  ConnectHook on_connect{};

  /// Receives an Event for each statement run on this database (its SQL and duration)
  /// and each that fails (events.hpp): `.on_event = gocp::stderr_events()` logs them.
  /// Without a sink nothing is timed; with one, every statement's text is written out
  /// for it (a cost a traced database pays).
  EventSink on_event{};
};

/// A database: its connection pool, dialect and change stream. A cheap copyable handle,
/// safe to share between threads; each thread borrows its own connection, and keeps it
/// while inside a transaction. Copies are the same database (same pool, same stream).
class Database {
 public:
  /// Opens `url`: `sqlite:///relative.db`, `sqlite:////absolute.db`, `sqlite::memory:`
  /// (with <gocp/backends/sqlite.hpp>, which <gocp/gocp.hpp> includes), or another
  /// registered scheme such as `postgresql://` (<gocp/backends/postgres.hpp>). Options:
  /// `pool=N` connections at most, `wait_timeout_ms=N` to wait for one (0: forever, at
  /// most 24 h), and the backend's own (SQLite: `busy_timeout_ms`). A bad URL, an unknown
  /// scheme or option, or an unopenable database is a ConfigurationError naming it.
  static Database open(std::string_view url_text, OpenOptions options = {});

  /// Gives the database at `url_text` a new identity (a fresh random id in its
  /// `gocp_database` row) and returns it. Run it on a copy of a database file, or on a
  /// backup restored beside the original, before any process caches from it: a copy
  /// holds the original's id, so without it the two would share cache entries. Handles
  /// opened before keep the id they read; open them again.
  ///
  ///     gocp::Database::renew_identity("sqlite:///copy-of-app.db");
  static std::string renew_identity(std::string_view url_text);

  /// The database's identity: 32 hex digits stored in the database itself (table
  /// `gocp_database`, created on the first open), the same for every process and every
  /// spelling of its URL, different for any other database. Every cache key carries it,
  /// so two databases never share cache entries, and two handles on one database in a
  /// process share one change stream. An in-memory database's id is random.
  const std::string& id() const noexcept { return state_->id; }

  /// What SQL this backend speaks (column types, RETURNING, FOR UPDATE...).
  const Dialect& dialect() const noexcept { return state_->dialect; }
  /// The URL it was opened with, password redacted.
  const std::string& url() const noexcept { return state_->url; }

  /// Runs fn(Connection&) on this thread's transaction's connection, or a pooled one.
  template <class F>
  decltype(auto) with_connection(F&& fn) const {
    if (auto* tx = transaction_state()) return fn(connection_of(*tx));
    auto lease = state_->pool.acquire();
    return fn(*lease);
  }

  /// Runs SQL without parameters or results (DDL, PRAGMA ...).
  void execute(std::string_view sql) const {
    with_connection([&](Connection& c) { c.execute(sql); });
  }

  /// Runs fn() in a transaction (a savepoint when nested): committed when fn returns,
  /// rolled back when it throws. Returns what fn returns. Defined in transaction.hpp.
  template <class F>
  decltype(auto) atomic(F&& fn) const;

  ///@{
  /// How many outermost transactions and savepoints have been opened on this database:
  /// what NonAtomicGetOrCreate saves is visible here.
  std::uint64_t transactions_begun() const noexcept { return state_->transactions.load(std::memory_order_relaxed); }
  std::uint64_t savepoints_begun() const noexcept { return state_->savepoints.load(std::memory_order_relaxed); }
  ///@}

  /// The stream of every row change written to this database from this process (see
  /// change_stream.hpp), shared by every Database open on it (same id()); changes inside
  /// a transaction arrive when it commits.
  ChangeStream& changes() const noexcept { return *state_->changes; }

  /// Publishes on changes() the writes that other processes and programs committed
  /// since the last check, where the backend can see them (SQLite with `?watch=strict`
  /// or `?watch=<ms>`, backends/sqlite.hpp; PostgreSQL with `?watch=notify`, whose
  /// listener publishes them as they come, invalidates every cached table here while it
  /// is reconnecting, backends/postgres.hpp; a no-op otherwise), so that no cache serves
  /// a row they overwrote. Caches call it before each cached read; throws what the
  /// database raises.
  void catch_up() const {
    if (state_->catch_up) state_->catch_up();
  }

  /// Makes every write to `table` (unquoted), by anyone — raw SQL, `psql`, another
  /// program — reach the caches of every process that watches this database, where the
  /// backend can: on PostgreSQL opened with `?watch=notify` it installs the table's NOTIFY
  /// triggers (backends/postgres.hpp); elsewhere it does nothing. create_table() and
  /// sync_schema() call it for their tables; call it for a table gocp did not create.
  /// Idempotent; runs in this thread's transaction if one is open. Throws what the
  /// database raises (a missing table is an OperationalError naming it).
  ///
  ///     auto db = gocp::Database::open("postgresql://app@db/shop?watch=notify");
  ///     db.watch_table("legacy_prices");
  void watch_table(std::string_view table) const {
    if (state_->watch_table) with_connection([&](Connection& c) { state_->watch_table(c, table); });
  }

  /// Called by a repository that caches in this process's memory (locmem): when this
  /// database has writers such a cache cannot see (DatabaseBackend::unseen_writes:
  /// PostgreSQL without `?watch=notify`), says so once per Database::open, on stderr and
  /// as an Event::Kind::writes_unseen to OpenOptions::on_event. Otherwise does nothing;
  /// costs one atomic load after the first call.
  void note_process_local_cache() const;

  /// True while this thread is inside a transaction on this database.
  bool in_transaction() const noexcept { return transaction_state() != nullptr; }

  /// Runs fn after the outermost transaction commits (dropped if it, or the savepoint
  /// fn was registered in, rolls back); at once outside a transaction.
  void on_commit(std::function<void()> fn) const;

  /// Whether both handles are copies of one open(): two open() calls of the same URL differ.
  friend bool operator==(const Database& a, const Database& b) noexcept { return a.state_ == b.state_; }

 private:
  friend class Transaction;
  friend struct detail::DatabaseAccess;
  explicit Database(std::shared_ptr<detail::DatabaseState> s) : state_(std::move(s)) {}
  detail::TransactionState* transaction_state() const noexcept;
  static Connection& connection_of(detail::TransactionState& tx) noexcept;

  std::shared_ptr<detail::DatabaseState> state_;
};

}  // namespace gocp

#include "transaction.hpp"

#if !defined(GOCP_COMPILED)
#include "database-inl.hpp"
#endif
