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
/// "gocp"), plus Database's `pool` (default 10) and `wait_timeout_ms`. Anything else is
/// a ConfigurationError.
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

namespace gocp::detail {
/// The factory of `postgresql:` and `postgres:` URLs (see the file comment).
GOCP_POSTGRES_INLINE DatabaseBackend postgres_backend(Url& url);
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
}  // namespace gocp
