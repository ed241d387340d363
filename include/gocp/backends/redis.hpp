#pragma once
/// \file
/// The Redis cache, over hiredis (0.14, RESP2). Including this header registers the
/// `redis://`, `redis+unix://` and `unix://` cache schemes; link `gocp::redis`.
///
///     #include <gocp/backends/redis.hpp>
///     gocp::CacheRegistry caches{{"default", "redis://127.0.0.1:6379/0?timeout_ms=100"},
///                                {"library.author", "redis://:secret@cache1:6379/1?key_prefix=shop"}};
///
/// URLs: `redis://[[user]:password@]host[:port][/db]` (port 6379, db 0) and
/// `redis+unix:///path/to/redis.sock?db=N`, also spelt `unix:///path/to/redis.sock?db=N`
/// as redis-py and django-redis spell it (gocp's memcached has no socket URL). Options:
/// `pool` (connections, 8; a caller waits up to timeout_ms for one), and SharedCache's
/// (cache/shared.hpp): timeout_ms, connect_timeout_ms, key_prefix, version, ttl_s,
/// retry_ms, max_retry_ms, max_pending.
///
/// One round trip per verb: get_many is MGET (of 256 keys each, pipelined); set_many and add_many one pipeline of
/// `SET k v [NX] [EX t]`; add is `SET NX`; increment a script that never creates a
/// missing key (INCRBY would) and answers nullopt for a non-integer or an overflow, as
/// memcached and Django do; bump_and_drop_many one script per 500 rows, pipelined;
/// get_following one script that reads the referring entry and follows its reference
/// server side (the referred keys are computed in the script: fine on one server, not
/// on a cluster, which gocp does not speak to). Scripts are loaded (SCRIPT LOAD) when a
/// connection opens and run by EVALSHA; a NOSCRIPT answer (SCRIPT FLUSH, a failover)
/// loads them again and retries once. Commands are written in RESP into a reused
/// buffer (hiredis's formatting costs about as much as a loopback round trip's
/// syscalls). A failed connection is closed, and after any failure every pooled one is
/// replaced.

#include <memory>

#include "../cache/registry.hpp"
#include "../cache/shared.hpp"  // in both modes: the cache is a SharedCache (health(), options)
#include "../spi/cache.hpp"
#include "../spi/url.hpp"

#if defined(GOCP_REDIS_COMPILED)
/// Nothing in this component's compiled mode: gocp::redis_compiled (src/redis.cpp, built once)
/// defines GOCP_REDIS_COMPILED and holds the factory's one definition, so this header only
/// declares it (detail/config.hpp explains the two modes).
#define GOCP_REDIS_INLINE
#else
/// `inline` in header-only mode, where redis-inl.hpp, included below, defines the factory.
#define GOCP_REDIS_INLINE inline
#endif

namespace gocp::detail {
/// The factory of `redis://` (`unix_socket` false), `redis+unix://` and `unix://` URLs (see the file comment).
GOCP_REDIS_INLINE std::shared_ptr<Cache> redis_cache(Url& url, bool unix_socket);
}  // namespace gocp::detail

#if !defined(GOCP_REDIS_COMPILED)
#include "redis-inl.hpp"
#endif

namespace gocp {

/// True once `redis`, `redis+unix` and `unix` are registered: its initializer is the
/// registration, run when a program includes this header.
inline const bool redis_registered =
    register_cache_scheme("redis", [](Url& url) { return detail::redis_cache(url, false); }) &&
    register_cache_scheme("redis+unix", [](Url& url) { return detail::redis_cache(url, true); }) &&
    register_cache_scheme("unix", [](Url& url) { return detail::redis_cache(url, true); });

}  // namespace gocp
