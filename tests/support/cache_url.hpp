#pragma once
// The cache a backend-neutral cache test runs against: locmem, or, in a binary built
// with GOCP_TEST_REDIS / GOCP_TEST_MEMCACHED, the process's throwaway redis-server /
// memcached (started on first use, killed at exit). The same test source is built once
// per cache (test_cache_verbs, test_cache_verbs_redis, ...), as test_repository is
// built per database. Every URL gets a key_prefix of its own, so tests sharing the
// server never see each other's entries.

#include <atomic>
#include <string>

#if defined(GOCP_TEST_REDIS)
#include <gocp/backends/redis.hpp>

#include "redis_server.hpp"
#elif defined(GOCP_TEST_MEMCACHED)
#include <gocp/backends/memcached.hpp>

#include "memcached_server.hpp"
#endif

namespace gocp::test {

#if defined(GOCP_TEST_REDIS)
inline constexpr bool cache_is_shared = true;
inline constexpr const char* cache_kind = "redis";
inline RedisServer& cache_server() {
  static RedisServer server;
  return server;
}
#elif defined(GOCP_TEST_MEMCACHED)
inline constexpr bool cache_is_shared = true;
inline constexpr const char* cache_kind = "memcached";
inline MemcachedServer& cache_server() {
  static MemcachedServer server;
  return server;
}
#else
inline constexpr bool cache_is_shared = false;
inline constexpr const char* cache_kind = "locmem";
#endif

/// A URL for a fresh, empty cache (`options` added to its query, for a shared cache).
inline std::string cache_url([[maybe_unused]] const std::string& options = "") {
#if defined(GOCP_TEST_REDIS) || defined(GOCP_TEST_MEMCACHED)
  static std::atomic<int> n{0};
  return cache_server().url("timeout_ms=2000&key_prefix=t" + std::to_string(getpid()) + "-" +
                            std::to_string(++n) + (options.empty() ? "" : "&" + options));
#else
  return "locmem:///";
#endif
}

}  // namespace gocp::test
