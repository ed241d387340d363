#pragma once
/// \file
/// `gocp::SchemeRegistry`: the one table from URL scheme to factory, for databases
/// (Database::open) and caches (CacheRegistry) alike. A backend header registers its
/// schemes when included, with an inline variable; so can a program:
///
///     inline const bool my_cache_registered = gocp::SchemeRegistry::global().add_cache(
///         "mycache", [](gocp::Url& url) -> std::shared_ptr<gocp::Cache> {
///           return std::make_shared<MyCache>(url.take_int("size", 1000, 1, 1'000'000));
///         });
///
/// A factory takes the options it understands from the Url; any it leaves are reported
/// as unknown. Registering a scheme again replaces its factory of that kind.

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "../detail/config.hpp"
#include "../events.hpp"
#include "connection.hpp"
#include "url.hpp"

namespace gocp {

class Cache;  // spi/cache.hpp

/// What a database factory hands Database::open: its dialect, how to open one
/// connection, and the pool size to use when the URL says none.
struct DatabaseBackend {
  Dialect dialect;  ///< the backend's SQL spellings
  /// Opens one new connection, throwing a gocp::Error naming the redacted URL if it
  /// cannot; called by the pool from any thread, as connections are needed.
  std::function<std::unique_ptr<Connection>()> connect;
  std::size_t default_pool_size;  ///< the pool's size when the URL has no `pool=N`
  /// The database's identity (Database::id()) when the backend knows it without asking
  /// the database: an in-memory database lives only in this process (SQLite's
  /// `:memory:`), and its identity is a random one kept in memory. Empty (the usual
  /// case): read from the database itself.
  std::string identity{};
  /// Optional: what a cache runs before it trusts a cached read, to see writes this
  /// process's connections did not make (other processes, other programs). Database::open
  /// calls it once with the database's identity and its OpenOptions::on_event (null if
  /// none: the watch's events then go to stderr) and keeps the check it returns (empty:
  /// none); see Database::catch_up().
  std::function<std::function<void()>(const std::string& identity, std::shared_ptr<const EventSink> events)> watch{};
  /// Optional: makes every write to one table, by anyone, reach `watch`'s check (PostgreSQL
  /// with `?watch=notify` installs its NOTIFY triggers); run on `connection`, inside the
  /// caller's transaction if one is open; `table` is unquoted. Database::watch_table() calls it.
  std::function<void(Connection& connection, std::string_view table)> watch_table{};
  /// Which writes a cache held in this process's memory (locmem) does not see, as
  /// configured, and what to do about it; empty when it sees every writer or when the
  /// backend does not say. Database reports it once, when such a cache is first used
  /// (Database::note_process_local_cache()).
  std::string unseen_writes{};
};

/// URL schemes to factories; see the file comment. Thread-safe: registration and lookup
/// take a lock, so a header's registration may run during static initialisation.
class SchemeRegistry {
 public:
  /// Reads the URL's options (taking the ones it knows) and describes the backend;
  /// throws ConfigurationError for a bad URL, naming it redacted.
  using DatabaseFactory = std::function<DatabaseBackend(Url&)>;
  /// Reads the URL's options (taking the ones it knows) and creates the cache.
  using CacheFactory = std::function<std::shared_ptr<Cache>(Url&)>;

  /// The process's registry.
  static SchemeRegistry& global();

  /// Makes `scheme://...` database URLs open with `factory`. Returns true, for
  /// `inline const bool registered = ...` in a header.
  bool add_database(std::string scheme, DatabaseFactory factory);
  /// Makes `scheme://...` cache URLs create caches with `factory`. Returns true.
  bool add_cache(std::string scheme, CacheFactory factory);

  ///@{
  /// The factory for `scheme`, or an empty function if none is registered.
  DatabaseFactory database(std::string_view scheme) const;
  CacheFactory cache(std::string_view scheme) const;
  ///@}

  ///@{
  /// "a, b, c": the schemes with a factory of that kind, for error messages.
  std::string database_schemes() const;
  std::string cache_schemes() const;
  ///@}

 private:
  struct Entry {
    DatabaseFactory database;
    CacheFactory cache;
  };

  // defined in registry-inl.hpp, as the functions that use them
  template <class F>
  bool add(std::string scheme, F Entry::*kind, F factory);
  template <class F>
  F find(std::string_view scheme, F Entry::*kind) const;
  template <class F>
  std::string list(F Entry::*kind) const;

  mutable std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace gocp

#if !defined(GOCP_COMPILED)
#include "registry-inl.hpp"
#endif
