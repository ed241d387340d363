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

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../detail/pool.hpp"
#include "../detail/url.hpp"
#include "connection.hpp"

namespace gocp {

namespace detail {

/// What a backend hands Database::open: how to connect, and how to speak its SQL.
struct Backend {
  Dialect dialect;
  ConnectionPool::Factory connect;
  std::size_t pool_size;
};

/// Backends other than the built-in SQLite register here (see db/postgres.hpp).
using BackendFactory = std::function<Backend(Url&)>;
inline std::map<std::string, BackendFactory, std::less<>>& backend_registry() {
  static std::map<std::string, BackendFactory, std::less<>> registry;
  return registry;
}
inline std::mutex& backend_registry_mutex() {
  static std::mutex m;
  return m;
}
inline bool register_backend(std::string scheme, BackendFactory factory) {
  std::lock_guard lock(backend_registry_mutex());
  backend_registry()[std::move(scheme)] = std::move(factory);
  return true;
}

Backend sqlite_backend(Url& url);  // db/sqlite.hpp

struct TransactionState;
struct DatabaseAccess;

struct DatabaseState {
  DatabaseState(std::string u, const Backend& b, std::chrono::milliseconds wait)
      : url(std::move(u)), dialect(b.dialect), pool(b.connect, b.pool_size, wait, url) {}
  std::string url;  ///< redacted
  Dialect dialect;
  ConnectionPool pool;
  std::atomic<std::uint64_t> transactions{0}, savepoints{0};
};

/// The transactions open on this thread, one per database at most.
inline std::vector<TransactionState*>& open_transactions() {
  thread_local std::vector<TransactionState*> open;
  return open;
}

}  // namespace detail

class Database {
 public:
  /// Opens `url`: `sqlite:///relative.db`, `sqlite:////absolute.db`, `sqlite::memory:`,
  /// or a registered scheme such as `postgresql://` (include its header). Options:
  /// `pool=N` connections at most, `wait_timeout_ms=N` to wait for one (0: forever), and
  /// the backend's own (SQLite: `busy_timeout_ms`). A bad URL, an unknown scheme or
  /// option, or an unopenable database is a ConfigurationError naming it.
  static Database open(std::string_view url_text) {
    detail::Url url(url_text);
    detail::Backend backend = [&] {
      if (url.scheme() == "sqlite") return detail::sqlite_backend(url);
      detail::BackendFactory factory;
      std::string known = "sqlite";
      {
        std::lock_guard lock(detail::backend_registry_mutex());
        auto& registry = detail::backend_registry();
        if (auto it = registry.find(url.scheme()); it != registry.end()) factory = it->second;
        else for (const auto& [scheme, f] : registry) known += ", " + scheme;  // under the lock, too
      }
      if (!factory) {
        throw ConfigurationError("gocp: unknown database scheme '" + url.scheme() + "' in URL '" + url.redacted() +
                                 "' (known: " + known + "; postgresql needs <gocp/db/postgres.hpp>)");
      }
      return factory(url);
    }();
    backend.pool_size =
        static_cast<std::size_t>(url.take_int("pool", static_cast<std::int64_t>(backend.pool_size), 0, 100'000));
    if (backend.pool_size == 0) throw ConfigurationError("gocp: pool=0 in URL '" + url.redacted() + "'");
    const auto wait = std::chrono::milliseconds(url.take_int("wait_timeout_ms", 0, 0, detail::max_timeout_ms));
    url.require_all_taken();
    Database db(std::make_shared<detail::DatabaseState>(url.redacted(), backend, wait));
    { auto probe = db.state_->pool.acquire(); }  // fail now, not at first use, if it cannot connect
    return db;
  }

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

  /// How many outermost transactions and savepoints have been opened on this database:
  /// what NonAtomicGetOrCreate saves is visible here.
  std::uint64_t transactions_begun() const noexcept { return state_->transactions.load(std::memory_order_relaxed); }
  std::uint64_t savepoints_begun() const noexcept { return state_->savepoints.load(std::memory_order_relaxed); }

  /// True while this thread is inside a transaction on this database.
  bool in_transaction() const noexcept { return transaction_state() != nullptr; }

  /// Runs fn after the outermost transaction commits (dropped if it, or the savepoint
  /// fn was registered in, rolls back); at once outside a transaction.
  void on_commit(std::function<void()> fn) const;

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
#include "sqlite.hpp"
