// gocp::redis_compiled: the redis client, compiled once (detail/config.hpp). Built with
// GOCP_REDIS_COMPILED defined, so <gocp/backends/redis.hpp> declares its factory only and
// the header below holds the definitions.
#if !defined(GOCP_REDIS_COMPILED)
#error "src/redis.cpp is built by the gocp::redis_compiled target, which defines GOCP_REDIS_COMPILED"
#endif

#include <gocp/backends/redis-inl.hpp>
