#pragma once
/// \file
/// The Redis cache, over hiredis (0.14, RESP2). Including this header registers the
/// `redis://`, `redis+unix://` and `unix://` cache schemes; link `gocp::redis`.
///
///     #include <memory>

#include "../cache/registry.hpp"
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
