#pragma once
/// \file
/// One shallow exception tree, named by cause and rooted at gocp::Error, so a caller
/// can catch exactly as broadly as it means to:
///
///     Error
///     ├── DatabaseError            anything the database reported
///     │   ├── IntegrityError       a constraint refused the write (unique, NOT NULL, ...)
///     │   └── OperationalError     could not talk to / lock / use the database
///     ├── DoesNotExist             get() matched no row
///     ├── MultipleObjectsReturned  get() matched several rows
///     ├── ValidationError          a value the model's schema refuses (too long, ...)
///     ├── ConfigurationError       a bad URL, unknown scheme or alias, unsafe lookup ...
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

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class DatabaseError : public Error {
 public:
  using Error::Error;
};

class IntegrityError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

class OperationalError : public DatabaseError {
 public:
  /// `retryable` is true for failures a caller may simply run again: a busy or locked
  /// database, a serialization failure, a deadlock victim, a lost connection (a new one
  /// may succeed; outside a transaction gocp already reconnected once where that is safe).
  explicit OperationalError(const std::string& what, bool retryable = false)
      : DatabaseError(what), retryable_(retryable) {}
  bool retryable() const noexcept { return retryable_; }

 private:
  bool retryable_;
};

class DoesNotExist : public Error {
 public:
  using Error::Error;
};

class MultipleObjectsReturned : public Error {
 public:
  /// `count` is the number of rows seen, capped at the query's limit (21): a count of 21
  /// means "more than 20", exactly as Django reports it.
  MultipleObjectsReturned(const std::string& what, std::size_t count)
      : Error(what), count_(count) {}
  std::size_t count() const noexcept { return count_; }

 private:
  std::size_t count_;
};

class ValidationError : public Error {
 public:
  using Error::Error;
};

class ConfigurationError : public Error {
 public:
  using Error::Error;
};

class CacheError : public Error {
 public:
  using Error::Error;
};

class CacheTimeout : public CacheError {
 public:
  using CacheError::CacheError;
};

class CacheUnavailable : public CacheError {
 public:
  using CacheError::CacheError;
};

}  // namespace gocp
