// gocp::memcached_compiled: the memcached client, compiled once (detail/config.hpp). Built with
// GOCP_MEMCACHED_COMPILED defined, so <gocp/backends/memcached.hpp> declares its factory only and
// the header below holds the definitions.
#if !defined(GOCP_MEMCACHED_COMPILED)
#error "src/memcached.cpp is built by the gocp::memcached_compiled target, which defines GOCP_MEMCACHED_COMPILED"
#endif

#include <gocp/backends/memcached-inl.hpp>
