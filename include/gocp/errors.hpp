#pragma once
/// \file
/// One shallow exception tree, named by cause and rooted at gocp::Error, so a caller
/// can catch exactly as broadly as it means to:
///
///     Error
///     ├── DatabaseError            anything the database reported
///     │   ├── IntegrityError       a constraint refused the write (unique, NOT NULL, ...)
///     │   ├── OperationalError     could not talk to / lock / use the database
///     │   └── NotSupportedError    the backend lacks what the query asks for (SKIP LOCKED on SQLite)
///     ├── DoesNotExist             get() matched no row
///     ├── MultipleObjectsReturned  get() matched several rows
///     ├── ValidationError          a value the model's schema refuses (too long, ...)
///     ├── ConfigurationError       a bad URL, unknown scheme or alias, unsafe lookup ...
///     ├── TransactionManagementError  a verb that needs a transaction ran outside one
///     └── CacheError               a shared cache (redis, memcached) failed or answered garbage
///         ├── CacheTimeout         it did not answer within the alias's timeout_ms
///         └── CacheUnavailable     it cannot be reached, or is skipped while its circuit is open
///
/// Cache errors never reach a repository's caller: the coherence layer counts them
/// (Stats::cache_errors) and answers from the database. They reach only code that
/// calls a Cache's verbs itself.

#include <cstddef>
#include <stdexcept>
#include <string>

namespace gocp {

/// The root of every exception gocp throws; what() names the model, field, alias or URL.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Anything the database reported; catch a subclass when you can act on the cause.
class DatabaseError : public Error {
 public:
  using Error::Error;
};

/// A constraint refused the write: unique, NOT NULL, a foreign key, on_delete::protect.
/// get_or_create catches the unique case itself (a lost race) and returns the winner's row.
class IntegrityError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

/// The database could not be reached, locked or used: no connection, busy, deadlock,
/// a pool wait that timed out. retryable() says whether running the work again may succeed.
class OperationalError : public DatabaseError {
 public:
  /// `retryable` is true for failures a caller may simply run again: a busy or locked
  /// database, a serialization failure, a deadlock victim, a lost connection (a new one
  /// may succeed; outside a transaction gocp already reconnected once where that is safe).
  explicit OperationalError(const std::string& what, bool retryable = false)
      : DatabaseError(what), retryable_(retryable) {}
  /// True when the same work may succeed if run again (the whole transaction, inside one).
  bool retryable() const noexcept { return retryable_; }

 private:
  bool retryable_;
};

/// The database cannot do what the query asks, though another backend could:
/// `select_for_update({.skip_locked = true})` or `{.nowait = true}` on SQLite, which has
/// no row locks (Django's NotSupportedError). Nothing was run.
class NotSupportedError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

/// get() matched no row (find() returns std::nullopt instead).
class DoesNotExist : public Error {
 public:
  using Error::Error;
};

/// get() or find() matched more than one row: the lookup is not unique among the rows seen.
class MultipleObjectsReturned : public Error {
 public:
  /// `count` is the number of rows seen, capped at the query's limit (21): a count of 21
  /// means "more than 20", exactly as Django reports it.
  MultipleObjectsReturned(const std::string& what, std::size_t count)
      : Error(what), count_(count) {}
  /// The rows seen: 2 to 20 exactly, 21 for "more than 20".
  std::size_t count() const noexcept { return count_; }

 private:
  std::size_t count_;
};

/// A value the schema refuses, naming `model.field`: over max_length, outside the member
/// type's range, a NaN, a timestamp finer than a microsecond. Nothing was written.
class ValidationError : public Error {
 public:
  using Error::Error;
};

/// A mistake in the program's setup rather than in the data: a bad URL or option, an
/// unknown scheme or alias, a lookup no unique constraint covers, a table unlike its model.
class ConfigurationError : public Error {
 public:
  using Error::Error;
};

/// A verb that only means something inside a transaction ran outside one:
/// select_for_update() (a row lock outside a transaction would be released at once),
/// as Django's TransactionManagementError. Nothing was run.
class TransactionManagementError : public Error {
 public:
  using Error::Error;
};

/// A shared cache failed or answered garbage. Repositories never throw it (they count it
/// and use the database); only direct calls of a Cache's verbs do.
class CacheError : public Error {
 public:
  using Error::Error;
};

/// The cache did not answer within its alias's timeout_ms.
class CacheTimeout : public CacheError {
 public:
  using CacheError::CacheError;
};

/// The cache cannot be reached, or is skipped while its circuit breaker is open.
class CacheUnavailable : public CacheError {
 public:
  using CacheError::CacheError;
};

}  // namespace gocp
