// gocp::postgres_compiled: the postgres client, compiled once (detail/config.hpp). Built with
// GOCP_POSTGRES_COMPILED defined, so <gocp/backends/postgres.hpp> declares its factory only and
// the header below holds the definitions.
#if !defined(GOCP_POSTGRES_COMPILED)
#error "src/postgres.cpp is built by the gocp::postgres_compiled target, which defines GOCP_POSTGRES_COMPILED"
#endif

#include <gocp/backends/postgres-inl.hpp>
