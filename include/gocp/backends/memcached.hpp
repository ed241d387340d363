#pragma once
/// \file
/// The memcached cache, over libmemcached (1.1). Including this header registers the
/// `memcached://` cache scheme; link `gocp::memcached`.
///
///     #include <gocp/backends/memcached.hpp>
///     gocp::CacheRegistry caches{{"library.author", "memcached://10.0.0.1:11211,10.0.0.2:11211?timeout_ms=50"}};
///
/// URL: `memcached://host:port[,host:port...]` (each server with its port). Several
/// servers are one cache through consistent hashing (ketama): a key lives on one
/// server, losing or adding a server moves only that server's share, and a server that
/// fails is left out (libmemcached's REMOVE_FAILED_SERVERS) and retried after
/// `retry_s` (1). With one server, the circuit breaker alone paces the retries. Options: `pool` (8), and SharedCache's (cache/shared.hpp):
/// timeout_ms, connect_timeout_ms, key_prefix, version, ttl_s, retry_ms, max_retry_ms,
/// max_pending. libmemcached's own defaults (seconds per I/O) are replaced by these.
///
/// Keys: memcached takes at most 250 bytes, none a space or a control byte; any other
/// key (and any key starting with `gocp#`, so the two forms never meet) is stored under
/// `gocp#<128-bit hash>`. A value larger than the server's item size limit is not
/// cached (any older value under its key is deleted) and is counted in
/// health().oversize; it is not an error. get_many is one multi-get; increment is a
/// compare-and-set loop, so it never creates a key, keeps the whole int64 range and
/// answers nullopt for a non-integer or an overflow (memcached's own incr is unsigned).

#include <memory>

#include "../cache/registry.hpp"
#include "../cache/shared.hpp"  // in both modes: the cache is a SharedCache (health(), options)
#include "../spi/cache.hpp"
#include "../spi/url.hpp"

#if defined(GOCP_MEMCACHED_COMPILED)
/// Nothing in this component's compiled mode: gocp::memcached_compiled (src/memcached.cpp, built once)
/// defines GOCP_MEMCACHED_COMPILED and holds the factory's one definition, so this header only
/// declares it (detail/config.hpp explains the two modes).
#define GOCP_MEMCACHED_INLINE
#else
/// `inline` in header-only mode, where memcached-inl.hpp, included below, defines the factory.
#define GOCP_MEMCACHED_INLINE inline
#endif

namespace gocp::detail {
/// The factory of `memcached://` URLs (see the file comment).
GOCP_MEMCACHED_INLINE std::shared_ptr<Cache> memcached_cache(Url& url);
}  // namespace gocp::detail

#if !defined(GOCP_MEMCACHED_COMPILED)
#include "memcached-inl.hpp"
#endif

namespace gocp {

/// True once `memcached` is registered: its initializer is the registration, run when a
/// program includes this header.
inline const bool memcached_registered = register_cache_scheme("memcached", detail::memcached_cache);

}  // namespace gocp
