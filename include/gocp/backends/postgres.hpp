#pragma once
/// \file
/// The PostgreSQL backend, over libpq. Including this header registers the
/// `postgresql://` (and `postgres://`) scheme with Database::open; link `gocp::postgres`.
///
///     #include "../spi/connection.hpp"
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
