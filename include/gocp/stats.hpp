#pragma once
/// \file
/// Counters kept per repository (shared by its filtered copies) and per cache alias:
///
///     auto s = authors.stats();      // hits, misses, fills, invalidations, db_queries, cache_errors
///     auto d = caches.stats("default");

#include <atomic>
#include <cstdint>

namespace gocp {

struct Stats {
  std::uint64_t hits = 0;           ///< answered from the cache
  std::uint64_t misses = 0;         ///< had to ask the database
  std::uint64_t fills = 0;          ///< entries written to the cache
  std::uint64_t invalidations = 0;  ///< objects invalidated by a write
  std::uint64_t db_queries = 0;     ///< statements sent to the database
  std::uint64_t cache_errors = 0;   ///< cache operations that failed and were degraded to the database
};

namespace detail {

struct StatCounters {
  std::atomic<std::uint64_t> hits{0}, misses{0}, fills{0}, invalidations{0}, db_queries{0}, cache_errors{0};

  Stats snapshot() const noexcept {
    constexpr auto r = std::memory_order_relaxed;
    return {hits.load(r), misses.load(r), fills.load(r), invalidations.load(r), db_queries.load(r), cache_errors.load(r)};
  }
  static void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
    c.fetch_add(n, std::memory_order_relaxed);
  }
};

}  // namespace detail
}  // namespace gocp
