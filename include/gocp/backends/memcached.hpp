#pragma once
/// \file
/// The memcached cache, over libmemcached (1.1). Including this header registers the
/// `memcached://` cache scheme; link `gocp::memcached`.
///
///     #include <memory>

#include "../cache/registry.hpp"
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
