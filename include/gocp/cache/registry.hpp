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
#include "dummy.hpp"
#include "locmem.hpp"

namespace gocp {

namespace detail {

using CacheFactory = SchemeRegistry::CacheFactory;

/// `locmem:///name`: one store per process per name, as Django's LOCATION, so two
/// registries naming it share it. Every URL naming it must give the same options.
inline std::shared_ptr<Cache> named_locmem(const Url& url, std::size_t max_entries, Cache::Ttl ttl) {
  struct Named {
    std::weak_ptr<LocMemCache> store;
    std::size_t max_entries;
    Cache::Ttl ttl;
  };
  static std::mutex mutex;
  static std::map<std::string, Named, std::less<>> stores;
  std::lock_guard lock(mutex);
  auto& named = stores[url.path()];
  if (auto alive = named.store.lock()) {
    if (named.max_entries != max_entries || named.ttl != ttl)
      throw ConfigurationError("gocp: cache URL '" + url.redacted() + "' names the in-process store '" + url.path() +
                               "' with other options than it already has (max_entries=" +
                               std::to_string(named.max_entries) + ", ttl_s=" + std::to_string(named.ttl.count()) +
                               "); one name is one store");
    return alive;
  }
  auto store = std::make_shared<LocMemCache>(max_entries, ttl);
  named = {store, max_entries, ttl};
  return store;
}

/// Registers the built-in schemes on first use rather than from a static initializer,
/// so a CacheRegistry built during static initialization still finds them.
inline void register_builtin_cache_schemes() {
  static const bool done = [] {
    auto& schemes = SchemeRegistry::global();
    schemes.add_cache("locmem", [](Url& url) -> std::shared_ptr<Cache> {
      const auto max_entries = url.take_int("max_entries", 10'000);
      if (max_entries == 0) throw ConfigurationError("gocp: max_entries=0 in cache URL '" + url.redacted() + "'");
      // bounded, like every timeout: the expiry is now + ttl, which must not overflow the clock
      constexpr std::int64_t ten_years_s = 10LL * 366 * 24 * 60 * 60;
      const Cache::Ttl ttl{url.take_int("ttl_s", 0, 0, ten_years_s)};
      if (url.path().empty()) return std::make_shared<LocMemCache>(static_cast<std::size_t>(max_entries), ttl);
      return named_locmem(url, static_cast<std::size_t>(max_entries), ttl);
    });
    schemes.add_cache("dummy", [](Url&) -> std::shared_ptr<Cache> { return std::make_shared<DummyCache>(); });
    return true;
  }();
  (void)done;
}

/// One alias: its cache and counters.
struct CacheSlot {
  std::string alias;
  std::shared_ptr<Cache> cache;
  std::shared_ptr<StatCounters> stats = std::make_shared<StatCounters>();
};

}  // namespace detail

/// Makes `scheme://...` cache URLs create caches with `factory`, which reads its options
/// from the Url (unread options are reported as unknown).
/// (The same as SchemeRegistry::global().add_cache, spi/registry.hpp.)
inline bool register_cache_scheme(std::string scheme, detail::CacheFactory factory) {
  detail::register_builtin_cache_schemes();  // first, so they never replace a user's
  return SchemeRegistry::global().add_cache(std::move(scheme), std::move(factory));
}

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
  explicit CacheRegistry(const std::vector<std::pair<std::string_view, std::string_view>>& aliases)
      : state_(std::make_shared<State>()) {
    for (const auto& [alias, url_text] : aliases) {
      if (find(alias)) throw ConfigurationError("gocp: cache alias '" + std::string(alias) + "' is configured twice");
      Url url(url_text);
      detail::register_builtin_cache_schemes();
      const auto factory = SchemeRegistry::global().cache(url.scheme());
      if (!factory)
        throw ConfigurationError("gocp: cache alias '" + std::string(alias) + "': unknown cache scheme '" +
                                 url.scheme() + "' in '" + url.redacted() + "' (" + known_schemes() + ")");
      auto cache = factory(url);
      url.require_all_taken();
      state_->slots.push_back(std::make_shared<detail::CacheSlot>(detail::CacheSlot{std::string(alias), cache}));
    }
  }

  /// The cache under `alias`; a ConfigurationError naming it and the configured ones if
  /// there is none.
  Cache& cache(std::string_view alias) const { return *slot(alias)->cache; }

  /// The counters of every repository's use of `alias`.
  Stats stats(std::string_view alias) const { return slot(alias)->stats->snapshot(); }

  /// Reports what every alias's cache meets to `sink` (events.hpp): errors, circuits
  /// opening and closing, invalidations flushed; `caches.on_event(gocp::stderr_events())`
  /// logs them. Shared caches (Redis, memcached) report; in-process ones have nothing to
  /// report. Replaces an earlier sink; an empty one stops the reports.
  void on_event(EventSink sink) const {
    auto shared = sink ? std::make_shared<const EventSink>(std::move(sink)) : nullptr;
    for (const auto& slot : state_->slots) slot->cache->report_to(shared);
  }

  /// Whether `alias` is configured (cache() and stats() throw when it is not).
  bool contains(std::string_view alias) const noexcept { return find(alias) != nullptr; }

  /// Internal: the slot under `alias`, for repositories to hold.
  std::shared_ptr<detail::CacheSlot> slot(std::string_view alias) const {
    if (auto s = find(alias)) return s;
    std::string configured;
    for (const auto& s : state_->slots) configured += (configured.empty() ? "'" : ", '") + s->alias + "'";
    throw ConfigurationError("gocp: no cache alias '" + std::string(alias) + "' (configured: " +
                             (configured.empty() ? "none" : configured) + ")");
  }

  /// Never caches a query result that reads `model_or_table` (a model's name,
  /// "library.author", or a table's, a through table's included): such reads always ask
  /// the database, as cachebot's CACHEBOT_TABLE_BLACKLIST. Applies to every repository
  /// of this registry (and its copies) from the next read on.
  void never_cache_queries_of(std::string_view model_or_table) const {
    std::lock_guard lock(state_->mutex);
    state_->denied.emplace_back(model_or_table);
    state_->any_denied.store(true);
  }

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
  void claim_model_name(std::string_view name, std::type_index type) const {
    std::lock_guard lock(state_->mutex);
    auto [it, inserted] = state_->models.emplace(std::string(name), type);
    if (!inserted && it->second != type)
      throw ConfigurationError("gocp: two different model types are both named '" + std::string(name) +
                               "'; model names key the caches, so each must be unique (e.g. app-qualify them)");
  }

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

  static std::string known_schemes() {
    return "known: " + SchemeRegistry::global().cache_schemes() + "; redis and memcached need their headers";
  }

  std::shared_ptr<State> state_;
};

}  // namespace gocp
