#pragma once
/// \file
/// The embedded default backend, registered for `sqlite:` URLs when this header is
/// included (<gocp/gocp.hpp> does): SQLite in WAL mode with a busy timeout and a
/// per-connection prepared-statement cache. Outermost transactions are
/// `BEGIN IMMEDIATE`, so two writers queue on the busy timeout instead of failing
/// when one upgrades a read to a write.
///
/// Every statement's writes reach the change stream (and so the caches), whoever issued
/// it on a gocp connection: raw SQL through `db.execute(...)` or a borrowed connection,
/// a migration, DDL. Each connection installs SQLite's update hook (the rows of rowid
/// tables), rollback hook and authorizer (which tables a statement writes, and DDL);
/// a statement's rows are kept until its transaction commits (dropped if it rolls back)
/// and then published as pk-only RowChanges. What the update hook cannot name becomes a
/// table-wide change (RowChange::whole_table): ALTER or DROP TABLE, a statement with REPLACE (its
/// implicit deletes are not reported), and any write to a WITHOUT ROWID table or a table
/// whose primary key is not its rowid (INTEGER PRIMARY KEY). `DELETE FROM t` without
/// WHERE deletes row by row (the authorizer turns SQLite's truncate optimisation off), so
/// each row is named. Repositories publish their own writes, with the rows' values: the
/// hooks skip their statements (detail/reported_writes.hpp). A user's own update hook,
/// rollback hook or authorizer, installed through OpenOptions::on_connect, replaces
/// gocp's on that connection.
///
/// Writes by other connections, processes and programs (the `sqlite3` CLI, another
/// language) are seen with `?watch=`: `off` (the default), `strict` (checked before every
/// cached read: a cached read is never staler than the database) or a bound in
/// milliseconds (`watch=50`: checked at most every 50 ms, so at most 50 ms stale). With
/// it, the tables this process creates or alters through gocp (create_table(),
/// sync_schema(), raw DDL) get three triggers that log every row written, by anyone, to
/// `gocp_changes` (table, pk, sequence); before a cached read is trusted,
/// `PRAGMA data_version` says whether anything was committed since the last check, and
/// only then are the log's new rows read and published (pk-only RowChanges: a write to
/// one row invalidates that row). Cost: per written row, one more row inserted into
/// the log by the trigger; per cached read, strict: one `PRAGMA data_version` (a few
/// hundred ns, under a lock shared by the process's threads), bounded: a clock read.
/// A process's own writes come back through the log too (one extra invalidation each).
/// Limits: a table that no gocp connection created or altered since the option was set
/// has no triggers (call create_table() at startup: on an existing table it installs
/// them); REPLACE's implicit deletes are logged only with `PRAGMA recursive_triggers=ON`
/// in the writer. The log keeps about `watch_log_rows` rows (default 100,000): each
/// reading process deletes older ones when it can take the write lock without waiting,
/// and a process that falls further behind (its rows deleted before it read them) sees
/// the gap in the sequence and invalidates every logged table whole. Only processes
/// that read the log trim it: with writers alone, it grows.
///
/// URL options: `busy_timeout_ms` (default 5000, at most 24 h), `watch` and
/// `watch_log_rows` (above), plus
/// Database's `pool` and `wait_timeout_ms`. `sqlite::memory:` is one in-memory database per Database,
/// shared by its connections (one by default; `?pool=N` for more).

#include <sqlite3.h>  // in both modes: native_handle() is a sqlite3*, used with its API

#include <cstddef>
#include <string_view>

#include "../detail/config.hpp"
#include "../spi/connection.hpp"
#include "../spi/registry.hpp"
#include "../spi/url.hpp"

namespace gocp {
namespace detail {

/// SQLite's rules for a column's type affinity, from its declared type
/// (https://www.sqlite.org/datatype3.html, 3.1), and which affinities keep gocp's values
/// as written: INTEGER or NUMERIC turn the text "007" into 7, REAL rounds integers past
/// 2^53; BLOB (or no declared type) keeps every value as bound.
GOCP_INLINE bool sqlite_declared_type_holds(ColumnType type, std::string_view declared);

inline constexpr Dialect sqlite_dialect{
    .name = "sqlite",
    .numbered_placeholders = false,
    .supports_for_update = false,  // SQLite locks the whole database for a writer instead
    .begin_transaction = "BEGIN IMMEDIATE",
    .auto_primary_key = "INTEGER PRIMARY KEY AUTOINCREMENT",
    .integer_type = "INTEGER",
    .real_type = "REAL",
    .text_type = "TEXT",
    .distinct_from = "IS NOT",
    .stores_nan = false,  // sqlite3_bind_double binds NaN as NULL
    .stores_negative_zero = false,  // a REAL column stores 0.0 and -0.0 as the integer 0
    .bytewise_text_order = true,
    // SQLite has no time types: whole numbers, exact and ordered as numbers (text would
    // need a fixed format to order and parse, and julianday() rounds to milliseconds)
    .blob_type = "BLOB",
    .timestamp_type = "INTEGER",  // microseconds since 1970-01-01T00:00:00Z
    .date_type = "INTEGER",       // days since 1970-01-01
    .table_columns_sql = "SELECT name, type FROM pragma_table_info(?) ORDER BY cid",
    .unique_indexes_sql = "SELECT il.name, ii.name FROM pragma_index_list(?1) AS il, pragma_index_info(il.name) AS ii "
                          "WHERE il.\"unique\" = 1 AND il.partial = 0 ORDER BY il.name, ii.seqno",
    .ddl_lock_sql = "",  // BEGIN IMMEDIATE already holds the database's one write lock
    .declared_type_holds = sqlite_declared_type_holds,
};

/// RETURNING, which every create uses, arrived in SQLite 3.35.0.
GOCP_INLINE void require_sqlite_version(int number, std::string_view text);

/// The factory of `sqlite:` URLs (see the file comment): checks the version and the
/// path, takes `busy_timeout_ms`, and opens connections on demand.
GOCP_INLINE DatabaseBackend sqlite_backend(Url& url);

}  // namespace detail
}  // namespace gocp

#if !defined(GOCP_COMPILED)
#include "sqlite-inl.hpp"
#endif

namespace gocp::detail {
/// Registers the scheme when this header is included anywhere in the program.
inline const bool sqlite_registered = SchemeRegistry::global().add_database("sqlite", sqlite_backend);

}  // namespace gocp::detail
