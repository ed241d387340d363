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
#include <random>
#include <string>
#include <string_view>

#include "../../dialect.hpp"
#include "../../errors.hpp"
#include "../../spi/connection.hpp"
#include "../change_stream.hpp"

namespace gocp::detail {

/// 128 random bits as 32 lowercase hex digits.
inline std::string random_database_id() {
  static constexpr char hex[] = "0123456789abcdef";
  std::random_device rd;
  std::string id;
  id.reserve(32);
  for (int word = 0; word < 4; ++word) {
    const std::uint32_t bits = rd();
    for (int i = 0; i < 8; ++i) id += hex[(bits >> (28 - 4 * i)) & 0xf];
  }
  return id;
}

/// The id stored in `gocp_database`, or "" when the table or its row does not exist.
/// Whether the table exists is asked first (the dialect's column listing), so a first
/// open runs no failing statement: none in the server's log, none on an event sink.
inline std::string read_database_id(Connection& c, const Dialect& dialect) {
  bool exists = false;
  const Value table(std::string("gocp_database"));
  c.query(dialect.table_columns_sql, {&table, 1}, [&](const Row&) {
    exists = true;
    return false;
  });
  if (!exists) return {};
  std::string id;
  c.query("SELECT id FROM gocp_database WHERE one = 1", {}, [&](const Row& row) {
    id = std::string(row.text(0));
    return false;
  });
  return id;
}

/// The database's id, creating `gocp_database` and its row if missing (see the file
/// comment). `url` (redacted) names the database in errors.
inline std::string stored_database_id(Connection& c, const Dialect& dialect, const std::string& url) {
  if (std::string id = read_database_id(c, dialect); !id.empty()) return id;
  std::string why;
  for (int attempt = 0; attempt < 3; ++attempt) {  // two first opens racing on CREATE TABLE: one may fail, then see it
    try {
      c.execute("CREATE TABLE IF NOT EXISTS gocp_database (one INTEGER PRIMARY KEY CHECK (one = 1), id TEXT NOT NULL)");
      const Value candidate(random_database_id());
      c.query(dialect.numbered_placeholders ? "INSERT INTO gocp_database (one, id) VALUES (1, $1) ON CONFLICT DO NOTHING"
                                            : "INSERT INTO gocp_database (one, id) VALUES (1, ?) ON CONFLICT DO NOTHING",
              {&candidate, 1}, [](const Row&) { return true; });
    } catch (const DatabaseError& e) {
      why = e.what();
    }
    if (std::string id = read_database_id(c, dialect); !id.empty()) return id;
  }
  throw ConfigurationError("gocp: cannot read or create the identity row (table gocp_database) of database '" + url +
                           "': " + (why.empty() ? std::string("the row is missing after it was inserted") : why));
}

/// Writes a fresh id into `gocp_database` (creating it if missing) and returns it.
inline std::string renew_database_id(Connection& c, const Dialect& dialect, const std::string& url) {
  stored_database_id(c, dialect, url);
  const Value fresh(random_database_id());
  c.query(dialect.numbered_placeholders ? "UPDATE gocp_database SET id = $1 WHERE one = 1"
                                        : "UPDATE gocp_database SET id = ? WHERE one = 1",
          {&fresh, 1}, [](const Row&) { return true; });
  return std::get<std::string>(fresh);
}

/// The process's change streams by database identity, and the lock that guards them.
struct ChangeStreams {
  std::mutex mutex;
  std::map<std::string, std::weak_ptr<ChangeStream>, std::less<>> by_id;
  static ChangeStreams& instance() {
    static ChangeStreams streams;
    return streams;
  }
};

/// The change stream a Database of identity `id` opened in this process uses, or null
/// while none is open: what a backend's own hooks publish to.
inline std::shared_ptr<ChangeStream> find_change_stream(std::string_view id) {
  auto& streams = ChangeStreams::instance();
  std::lock_guard lock(streams.mutex);
  auto it = streams.by_id.find(id);
  return it == streams.by_id.end() ? nullptr : it->second.lock();
}

/// The change stream of the database with identity `id` in this process: the one another
/// open Database of it uses, else a new one (kept while a Database holds it).
inline std::shared_ptr<ChangeStream> change_stream_for(const std::string& id) {
  auto& [mutex, streams] = ChangeStreams::instance();
  std::lock_guard lock(mutex);
  for (auto it = streams.begin(); it != streams.end();)  // a few entries: one per database this process opened
    it = it->second.expired() ? streams.erase(it) : std::next(it);
  auto& slot = streams[id];
  auto stream = slot.lock();
  if (!stream) {
    stream = std::make_shared<ChangeStream>();
    slot = stream;
  }
  return stream;
}

}  // namespace gocp::detail
