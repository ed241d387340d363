#pragma once
// The cache a backend-neutral cache test runs against: locmem, or, with GOCP_TEST_CACHE=redis
// or =memcached in the environment, the process's throwaway redis-server / memcached (started
// on first use, killed at exit). One binary serves every cache (test_policies runs as
// test_policies.*, test_policies_redis.*, test_policies_memcached.*), as test_repository
// serves every database. Every URL gets a key_prefix of its own, so tests sharing the server
// never see each other's entries.

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "backend_under_test.hpp"

#ifdef GOCP_TEST_HAVE_REDIS
#include <gocp/backends/redis.hpp>
#include <gocp/cache/shared.hpp>  // SharedCache::round_trips(), with the client compiled or not
#include <gocp/cache/registry.hpp>

#include "redis_server.hpp"
#endif
#ifdef GOCP_TEST_HAVE_MEMCACHED
#include <gocp/backends/memcached.hpp>

#include "memcached_server.hpp"
#endif

namespace gocp::test {

/// "locmem", "redis" or "memcached": the cache of this run.
inline const std::string& cache_kind() {
  static const std::string kind = backend_from_environment("GOCP_TEST_CACHE", "locmem",
                                                           {"locmem",
#ifdef GOCP_TEST_HAVE_REDIS
                                                            "redis",
#endif
#ifdef GOCP_TEST_HAVE_MEMCACHED
                                                            "memcached",
#endif
                                                           });
  return kind;
}

/// True when the cache is a server shared by processes (its entries are bytes).
inline bool cache_is_shared() { return cache_kind() != "locmem"; }

#ifdef GOCP_TEST_HAVE_REDIS
inline RedisServer& redis_server() {
  static RedisServer server;
  return server;
}
#endif
#ifdef GOCP_TEST_HAVE_MEMCACHED
inline MemcachedServer& memcached_server() {
  static MemcachedServer server;
  return server;
}
#endif

/// The URL of this run's shared cache server with `options` as its query; for a
/// shared cache only (cache_is_shared()).
inline std::string shared_cache_url([[maybe_unused]] const std::string& options = "") {
#ifdef GOCP_TEST_HAVE_REDIS
  if (cache_kind() == "redis") return redis_server().url(options);
#endif
#ifdef GOCP_TEST_HAVE_MEMCACHED
  if (cache_kind() == "memcached") return memcached_server().url(options);
#endif
  throw std::logic_error("shared_cache_url: this run's cache is " + cache_kind() + ", not a shared one");
}

/// The port this run's shared cache server listens on.
inline int shared_cache_port() {
#ifdef GOCP_TEST_HAVE_REDIS
  if (cache_kind() == "redis") return redis_server().port();
#endif
#ifdef GOCP_TEST_HAVE_MEMCACHED
  if (cache_kind() == "memcached") return memcached_server().port();
#endif
  throw std::logic_error("shared_cache_port: this run's cache is " + cache_kind() + ", not a shared one");
}

#ifdef GOCP_TEST_HAVE_REDIS
/// Round trips made so far by the cache of `alias` (the author objects' by default), on a
/// Redis run (0 on the others).
inline std::uint64_t redis_round_trips(const CacheRegistry& caches, std::string_view alias = "library.author") {
  if (cache_kind() != "redis") return 0;
  return dynamic_cast<SharedCache&>(caches.cache(alias)).round_trips();
}
#endif

/// A URL for a fresh, empty cache (`options` added to its query, for a shared cache).
inline std::string cache_url(const std::string& options = "") {
  if (!cache_is_shared()) return "locmem:///";
  static std::atomic<int> n{0};
  return shared_cache_url("timeout_ms=2000&key_prefix=t" + std::to_string(getpid()) + "-" + std::to_string(++n) +
                          (options.empty() ? "" : "&" + options));
}

}  // namespace gocp::test
