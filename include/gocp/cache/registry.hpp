#pragma once
/// \file
/// `gocp::CacheRegistry`: cache aliases -> caches, built from URLs. By convention the
/// alias `default` holds lookup -> pk mappings, and the alias named after a model
/// ("library.author") holds that model's objects:
///
///     gocp::CacheRegistry caches{{"default", "locmem:///"},
///                                {"library.author", "locmem:///?max_entries=50000&ttl_s=300"}};
///
/// `locmem:///` is a store of this registry's own; `locmem:///name` is one store per
/// process per name, shared by every registry that names it. Either way, a write through
/// any repository on the Database invalidates every cache of the table (the change
/// stream), whichever registry it belongs to.
/// Schemes: `locmem`, `dummy` built in; `redis`, `memcached` with their headers; more
/// with register_cache_scheme() (or SchemeRegistry, spi/registry.hpp). Every cache is created when the registry is, so a bad
/// URL fails at start-up, naming the alias and the URL. The registry is a cheap,
/// copyable handle; repositories keep what they use alive.

#include <functional>
#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <typeindex>
#include <utility>
#include <vector>

#include "../errors.hpp"
#include "../model.hpp"
#include "../spi/registry.hpp"
#include "../spi/url.hpp"
#include "../stats.hpp"
#include "../spi/cache.hpp"
#include "detail/fill_turns.hpp"
#include "dummy.hpp"
#include "locmem.hpp"

namespace gocp {

namespace detail {

using CacheFactory = SchemeRegistry::CacheFactory;

/// `locmem:///name`: one store per process per name, as Django's LOCATION, so two
/// registries naming it share it. Every URL naming it must give the same options.
GOCP_INLINE std::shared_ptr<Cache> named_locmem(const Url& url, std::size_t max_entries, Cache::Ttl ttl);

/// Registers the built-in schemes on first use rather than from a static initializer,
/// so a CacheRegistry built during static initialization still finds them.
GOCP_INLINE void register_builtin_cache_schemes();

/// One alias: its cache and counters.
struct CacheSlot {
  std::string alias;
  std::shared_ptr<Cache> cache;
  std::shared_ptr<StatCounters> stats = std::make_shared<StatCounters>();
  FillTurns fill_turns;  ///< the query cache's turns at filling this alias's byte entries
};

}  // namespace detail

/// Makes `scheme://...` cache URLs create caches with `factory`, which reads its options
/// from the Url (unread options are reported as unknown).
/// (The same as SchemeRegistry::global().add_cache, spi/registry.hpp.)
GOCP_INLINE bool register_cache_scheme(std::string scheme, detail::CacheFactory factory);

/// Cache aliases to caches, made from URLs; see the file comment. A cheap copyable
/// handle to thread-safe caches: copies share them.
class CacheRegistry {
 public:
  /// `{{"default", "locmem:///"}, {"library.author", "redis://..."}}`: creates every cache
  /// now. A ConfigurationError names the alias and the (redacted) URL for an unknown
  /// scheme, a bad or unknown option, or an alias given twice.
  CacheRegistry(std::initializer_list<std::pair<std::string_view, std::string_view>> aliases)
      : CacheRegistry(std::vector<std::pair<std::string_view, std::string_view>>(aliases)) {}

  /// The same, for aliases built at run time (from a configuration file, say).
  explicit CacheRegistry(const std::vector<std::pair<std::string_view, std::string_view>>& aliases);

  /// The cache under `alias`; a ConfigurationError naming it and the configured ones if
  /// there is none.
  Cache& cache(std::string_view alias) const { return *slot(alias)->cache; }

  /// The counters of every repository's use of `alias`.
  Stats stats(std::string_view alias) const { return slot(alias)->stats->snapshot(); }

  /// Reports what every alias's cache meets to `sink` (events.hpp): errors, circuits
  /// opening and closing, invalidations flushed; `caches.on_event(gocp::stderr_events())`
  /// logs them. Shared caches (Redis, memcached) report; in-process ones have nothing to
  /// report. Replaces an earlier sink; an empty one stops the reports.
  void on_event(EventSink sink) const;

  /// Whether `alias` is configured (cache() and stats() throw when it is not).
  bool contains(std::string_view alias) const noexcept { return find(alias) != nullptr; }

  /// Internal: the slot under `alias`, for repositories to hold.
  std::shared_ptr<detail::CacheSlot> slot(std::string_view alias) const;

  /// Never caches a query result that reads `model_or_table` (a model's name,
  /// "library.author", or a table's, a through table's included): such reads always ask
  /// the database, as cachebot's CACHEBOT_TABLE_BLACKLIST. Applies to every repository
  /// of this registry (and its copies) from the next read on.
  void never_cache_queries_of(std::string_view model_or_table) const;

  /// Whether get()/find() are cached without asking (cachebot's CACHEBOT_CACHE_GET):
  /// true by default, so a CachedQueries repository caches them by any lookup and a
  /// CachedGetOrCreate one by a unique lookup. False: they are cached only after
  /// `.cache()`, as every other read. Applies to every repository of this registry (and
  /// its copies) from the next read on.
  void cache_gets(bool on) const { state_->cache_gets.store(on, std::memory_order_relaxed); }

  /// Whether get()/find() are cached without asking (cache_gets()).
  bool caches_gets() const noexcept { return state_->cache_gets.load(std::memory_order_relaxed); }

  /// Internal: whether a query reading `tables` must not be cached (never_cache_queries_of).
  bool denies_queries_of(std::span<const ModelInfo* const> tables) const {
    if (!state_->any_denied.load(std::memory_order_relaxed)) return false;
    std::lock_guard lock(state_->mutex);
    for (const ModelInfo* t : tables)
      for (const std::string& d : state_->denied)
        if (d == t->name || d == t->table) return true;
    return false;
  }

  /// Internal: records that model `name` is the C++ type `type`; another type under the
  /// same name would share its cache keys, so it is refused.
  void claim_model_name(std::string_view name, std::type_index type) const;

 private:
  struct State {
    std::vector<std::shared_ptr<detail::CacheSlot>> slots;
    std::mutex mutex;
    std::map<std::string, std::type_index, std::less<>> models;
    std::vector<std::string> denied;     ///< never_cache_queries_of
    std::atomic<bool> any_denied{false};  ///< denied is not empty (read without the lock)
    std::atomic<bool> cache_gets{true};   ///< cache_gets()
  };

  std::shared_ptr<detail::CacheSlot> find(std::string_view alias) const noexcept {
    for (const auto& s : state_->slots)
      if (s->alias == alias) return s;
    return nullptr;
  }

  static std::string known_schemes();

  std::shared_ptr<State> state_;
};

}  // namespace gocp

#if !defined(GOCP_COMPILED)
#include "registry-inl.hpp"
#endif
