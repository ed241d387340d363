#pragma once
// A database's identity, and the process's one change stream per database.
//
// The identity is a random 128-bit id (32 hex digits) that the database itself holds, in
// a one-row table `gocp_database` created on the first open: every process, however it
// spells the URL (`sqlite:///a.db` or `sqlite:////abs/a.db`, `localhost` or `127.0.0.1`),
// reads the same row, and two databases never hold the same one. Cache keys carry it
// (cache/detail/cache_keys.hpp), so entries of two databases never meet in one cache.
// Two processes creating the row at once agree: each inserts its candidate with
// ON CONFLICT DO NOTHING, then both read back the one that won.
//
// A copy of the file (cp, a backup restored beside the original) holds the same row, so
// it would share cache entries with the original: Database::renew_identity() gives it a
// new id. An in-memory database (SQLite `:memory:`) is its Database's alone: its id is
// random and kept in memory.
//
// Each process keeps one ChangeStream per identity (change_stream_for()): two
// Database::open() of one database share it, so each one's writes reach the other's
// caches.

#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "../../detail/config.hpp"
#include "../../dialect.hpp"
#include "../../errors.hpp"
#include "../../spi/connection.hpp"
#include "../change_stream.hpp"

namespace gocp::detail {

/// 128 random bits as 32 lowercase hex digits.
GOCP_INLINE std::string random_database_id();

/// The id stored in `gocp_database`, or "" when the table or its row does not exist.
/// Whether the table exists is asked first (the dialect's column listing), so a first
/// open runs no failing statement: none in the server's log, none on an event sink.
GOCP_INLINE std::string read_database_id(Connection& c, const Dialect& dialect);

/// The database's id, creating `gocp_database` and its row if missing (see the file
/// comment). `url` (redacted) names the database in errors.
GOCP_INLINE std::string stored_database_id(Connection& c, const Dialect& dialect, const std::string& url);

/// Writes a fresh id into `gocp_database` (creating it if missing) and returns it.
GOCP_INLINE std::string renew_database_id(Connection& c, const Dialect& dialect, const std::string& url);

/// The process's change streams by database identity, and the lock that guards them.
struct ChangeStreams {
  std::mutex mutex;
  std::map<std::string, std::weak_ptr<ChangeStream>, std::less<>> by_id;
  static ChangeStreams& instance();
};

/// The change stream a Database of identity `id` opened in this process uses, or null
/// while none is open: what a backend's own hooks publish to.
GOCP_INLINE std::shared_ptr<ChangeStream> find_change_stream(std::string_view id);

/// The change stream of the database with identity `id` in this process: the one another
/// open Database of it uses, else a new one (kept while a Database holds it).
GOCP_INLINE std::shared_ptr<ChangeStream> change_stream_for(const std::string& id);

}  // namespace gocp::detail

#if !defined(GOCP_COMPILED)
#include "identity-inl.hpp"
#endif
