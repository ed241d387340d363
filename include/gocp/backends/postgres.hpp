#pragma once
/// \file
/// The PostgreSQL backend, over libpq. Including this header registers the
/// `postgresql://` (and `postgres://`) scheme with Database::open; link `gocp::postgres`.
///
///     #include <gocp/backends/postgres.hpp>
///     auto db = gocp::Database::open("postgresql://app:secret@127.0.0.1:5432/library?pool=8");
///
/// URL: `postgresql://[user[:password]@][host][:port][/database][?options]`. An empty
/// host means libpq's default (the local socket); a percent-encoded absolute path as the
/// host (`%2Fvar%2Frun%2Fpostgresql`) names a socket directory. Options:
/// `connect_timeout` (seconds, default 10), `sslmode`, `application_name` (default
/// "gocp"), `watch` (`off`, the default, or `notify`: below), plus Database's `pool`
/// (default 10) and `wait_timeout_ms`. Anything else is a ConfigurationError.
///
/// Writes by anyone — other processes, `psql`, cron jobs in other languages, raw SQL —
/// reach this process's caches with `?watch=notify`. create_table() and sync_schema() then
/// install on each table they make or check (Database::watch_table() on any other table)
/// four statement-level triggers: AFTER INSERT, UPDATE and DELETE, which read the
/// statement's rows from its transition tables and send ONE `pg_notify('gocp_changes',
/// ...)` per statement naming their primary keys, and AFTER TRUNCATE, which names the
/// table (payload format: backends/detail/postgres_notify.hpp). PostgreSQL delivers a
/// notice at commit, never for a rollback. Each process keeps one listening connection
/// per database, outside the pool, on its own thread (application_name "<name> listener"),
/// which publishes pk-only RowChanges on the database's change stream: a cache drops
/// exactly the rows written. A table-wide change instead when a statement writes 1000 rows
/// or more (or its keys pass 7800 bytes), and for a table whose primary key is not one
/// integer or text column. This process's own writes come back too: one extra
/// invalidation each, harmless (the row's entry is dropped again; a cached queryset of
/// the table, which a change without values cannot place, misses once).
///
/// Guarantees and limits: a cached read may return a row for the short time between
/// another writer's commit and its notice reaching this process (on loopback, p99 about
/// 0.1 ms after the writer's commit returns: bench_postgres `notify delay`). A listener that loses its connection
/// (pg_terminate_backend, a server restart, a network fault found by TCP keepalives
/// within about 20 s) reconnects at once and then backing off to once a second; until it
/// listens again every cached read of the database is a miss (its tables are invalidated
/// before each), and once it does every table with a cache is invalidated whole, as
/// notices sent meanwhile are lost. gocp::postgres::listener_status(db) says what it is
/// doing; it writes a line to stderr when it loses or regains its connection. A table
/// created by other means has no triggers until Database::watch_table() is called on
/// it (by any process with `?watch=notify`): writes to it are not seen.
/// Cost per writing statement: the trigger's function, one scan of the statement's
/// transition table (up to 1000 keys) and one NOTIFY (tens of microseconds of server
/// time: bench_postgres `update_triggers_only`), then each listening process's wake-up
/// to take the notice; PostgreSQL queues notices in a shared 8 GB area that listeners
/// drain (a listener stuck for hours can fill it). Dropping a table leaves its trigger
/// function `gocp_notify_<oid>` behind (harmless; drop it by hand).
/// The listener stops (its thread joined) when the last Database of the database closes.
/// A process forked after it started (a pre-forking server) has no listener thread: its
/// first cached read of the database starts its own (until then, and while it cannot
/// connect, its cached reads miss); the parent's is left alone. (Open each child's
/// Database after fork() anyway: pooled connections are not shared across processes.)
/// Database::open() fails (OperationalError) if it cannot connect and LISTEN; it needs a
/// session of its own (not a transaction-pooling proxy such as PgBouncer in transaction
/// mode, where LISTEN does not last).
///
/// Without `?watch=notify`, a locmem cache cannot see other writers: the first
/// repository that caches in process memory says so once, on stderr and as an
/// Event::Kind::writes_unseen to OpenOptions::on_event.
///
/// Each connection prepares every statement once (`gocp_s<N>`) and then only executes
/// it. Errors are mapped by SQLSTATE: class 23 (unique, foreign key, not null, check) is
/// an IntegrityError; 40001 (serialization failure) and 40P01 (deadlock) are retryable
/// OperationalErrors; lock timeouts, cancellations, shutdowns, lost connections and 42P01/42703
/// (a missing table or column, as SQLite's "no such table") are OperationalErrors, and a lost connection is dropped by the pool so the next use
/// opens a fresh one. Every message carries the SQLSTATE, the server's words and the SQL.
///
/// PostgreSQL's text types cannot hold NUL bytes (in any wire format), so a text value
/// containing one is a ValidationError, raised before anything is sent.

#include <libpq-fe.h>  // in both modes: native_handle() is a PGconn*, used with its API

#include <cstdint>
#include <string_view>

#include "../db/database.hpp"
#include "../spi/connection.hpp"
#include "../spi/registry.hpp"
#include "../spi/url.hpp"

#if defined(GOCP_POSTGRES_COMPILED)
/// Nothing in this component's compiled mode: gocp::postgres_compiled (src/postgres.cpp, built once)
/// defines GOCP_POSTGRES_COMPILED and holds the factory's one definition, so this header only
/// declares it (detail/config.hpp explains the two modes).
#define GOCP_POSTGRES_INLINE
#else
/// `inline` in header-only mode, where postgres-inl.hpp, included below, defines the factory.
#define GOCP_POSTGRES_INLINE inline
#endif

namespace gocp::postgres {
/// What this process's listener on a database (`?watch=notify`, see the file comment) is doing.
struct ListenerStatus {
  bool running = false;    ///< a Database of it is open in this process with `?watch=notify`
  bool listening = false;  ///< connected and listening now (false while it reconnects)
  std::uint64_t connections = 0;  ///< how many times it connected and listened: 1, plus one per reconnection
  std::uint64_t notices = 0;      ///< notifications received and applied to the caches (own writes' too)
};
}  // namespace gocp::postgres

namespace gocp::detail {
/// The factory of `postgresql:` and `postgres:` URLs (see the file comment).
GOCP_POSTGRES_INLINE DatabaseBackend postgres_backend(Url& url);
/// The status of the listener of the database whose Database::id() is `identity`.
GOCP_POSTGRES_INLINE postgres::ListenerStatus postgres_listener_status(std::string_view identity);
}  // namespace gocp::detail

#if !defined(GOCP_POSTGRES_COMPILED)
#include "postgres-inl.hpp"
#endif

namespace gocp {
namespace detail {

/// Registers the schemes when this header is included anywhere in the program.
inline const bool postgres_registered = SchemeRegistry::global().add_database("postgresql", postgres_backend) &&
                                        SchemeRegistry::global().add_database("postgres", postgres_backend);

}  // namespace detail

namespace postgres {
/// The state of this process's listener on `db`'s database: whether one runs (the
/// database was opened with `?watch=notify`), whether it is listening now, how many times
/// it connected (a reconnection after a lost connection counts) and how many notices it
/// received. For monitoring, and for a test that must wait for a reconnection.
///
///     if (!gocp::postgres::listener_status(db).listening) alert("cached reads of db are misses");
inline ListenerStatus listener_status(const Database& db) { return detail::postgres_listener_status(db.id()); }
}  // namespace postgres
}  // namespace gocp
