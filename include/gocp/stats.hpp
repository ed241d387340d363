#pragma once
/// \file
/// Counters kept per repository (shared by its filtered copies) and per cache alias:
///
///     auto s = authors.stats();      // hits, misses, fills, invalidations, db_queries, cache_errors
///     auto d = caches.stats("default");
///
/// A repository counts each cached read once: a hit when the caches answered it, a miss
/// when the database did. An alias counts what it served: `default` (lookup -> pk) a hit
/// for each lookup it knew and a miss for each it did not; a model's alias (pk -> object)
/// a hit for each current object it gave and a miss for each pk it was asked about and
/// could not answer. A read it was not asked (a transaction that wrote the table reads
/// past every cache; an object the typed tier kept with its lookup) is not charged to it.
/// Fills, invalidations and cache errors are counted by the alias they happened in.

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace gocp {

/// A snapshot of the counters (Repository::stats(), CacheRegistry::stats(alias)), each
/// counted since the repository or registry was built; see the file comment for who
/// counts what. Plain values: take two snapshots and subtract to measure a stretch.
struct Stats {
  std::uint64_t hits = 0;           ///< answered from the cache
  std::uint64_t misses = 0;         ///< had to ask the database
  std::uint64_t fills = 0;          ///< entries written to the cache
  std::uint64_t invalidations = 0;  ///< objects invalidated by a write
  std::uint64_t db_queries = 0;     ///< statements sent to the database
  std::uint64_t cache_errors = 0;   ///< cache operations that failed and were degraded to the database
};

namespace detail {

/// The live counters: striped, so threads counting hits on different cores do not pass
/// one cache line back and forth on every call (that costs more than a typed hit). A
/// thread owns a stripe while it lives (the first kOwned threads alive at once; any
/// more share the last stripe): on its own stripe a count is a plain load and store, no
/// locked read-modify-write, and snapshot() still reads every stripe atomically.
struct StatCounters {
  struct alignas(64) Stripe {
    std::atomic<std::uint64_t> hits{0}, misses{0}, fills{0}, invalidations{0}, db_queries{0}, cache_errors{0};
  };
  using Counter = std::atomic<std::uint64_t> Stripe::*;
  static constexpr Counter hits = &Stripe::hits, misses = &Stripe::misses, fills = &Stripe::fills,
                           invalidations = &Stripe::invalidations, db_queries = &Stripe::db_queries,
                           cache_errors = &Stripe::cache_errors;

  Stats snapshot() const noexcept {
    Stats out;
    for (const Stripe& s : stripes_) {
      constexpr auto r = std::memory_order_relaxed;
      out.hits += s.hits.load(r);
      out.misses += s.misses.load(r);
      out.fills += s.fills.load(r);
      out.invalidations += s.invalidations.load(r);
      out.db_queries += s.db_queries.load(r);
      out.cache_errors += s.cache_errors.load(r);
    }
    return out;
  }
  void bump(Counter counter, std::uint64_t n = 1) noexcept {
    const std::size_t stripe = stripe_of_this_thread();
    std::atomic<std::uint64_t>& c = stripes_[stripe].*counter;
    if (stripe < kOwned) c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);  // ours alone
    else c.fetch_add(n, std::memory_order_relaxed);
  }

 private:
  static constexpr std::size_t kOwned = 63;  // bits of one claim word; stripe kOwned is shared

  /// This thread's stripe: claimed on first use, given back when the thread ends (the
  /// claim's acquire and the release's release order a new owner after the old one).
  /// The index is a constant-initialised thread_local, so the hot path reads it with no
  /// initialisation guard; the object whose destructor gives it back is made at the claim.
  static std::size_t stripe_of_this_thread() noexcept {
    if (stripe_ == kUnclaimed) [[unlikely]]
      claim();
    return stripe_;
  }
  [[gnu::noinline]] static void claim() noexcept {
    struct Release {
      ~Release() {
        if (stripe_ < kOwned) claims().fetch_and(~(std::uint64_t{1} << stripe_), std::memory_order_release);
        stripe_ = kOwned;  // a count made later in this thread's exit goes to the shared stripe
      }
    };
    stripe_ = kOwned;
    std::uint64_t taken = claims().load(std::memory_order_relaxed);
    while (~taken & kAllOwned) {
      const std::size_t free = static_cast<std::size_t>(std::countr_zero(~taken & kAllOwned));
      taken = claims().fetch_or(std::uint64_t{1} << free, std::memory_order_acquire);
      if (!(taken >> free & 1u)) {
        stripe_ = free;
        break;
      }
    }
    thread_local Release release;  // constructed now: its destructor runs when the thread ends
    static_cast<void>(release);
  }
  static constexpr std::size_t kUnclaimed = kOwned + 1;
  static inline thread_local std::size_t stripe_ = kUnclaimed;
  static constexpr std::uint64_t kAllOwned = (std::uint64_t{1} << kOwned) - 1;
  static std::atomic<std::uint64_t>& claims() noexcept {
    static std::atomic<std::uint64_t> taken{0};
    return taken;
  }
  std::array<Stripe, kOwned + 1> stripes_;
};

}  // namespace detail
}  // namespace gocp
