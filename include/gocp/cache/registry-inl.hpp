#pragma once
/// \file
/// The definitions behind <gocp/cache/registry.hpp>: included by it in header-only mode,
/// compiled once by src/gocp.cpp for gocp::gocp_compiled (detail/config.hpp).

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "../errors.hpp"
#include "registry.hpp"

namespace gocp {
namespace detail {

GOCP_INLINE std::shared_ptr<Cache> named_locmem(const Url& url, std::size_t max_entries, Cache::Ttl ttl) {
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

GOCP_INLINE void register_builtin_cache_schemes() {
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

}  // namespace detail

GOCP_INLINE bool register_cache_scheme(std::string scheme, detail::CacheFactory factory) {
  detail::register_builtin_cache_schemes();  // first, so they never replace a user's
  return SchemeRegistry::global().add_cache(std::move(scheme), std::move(factory));
}

GOCP_INLINE void CacheRegistry::on_event(EventSink sink) const {
  auto shared = sink ? std::make_shared<const EventSink>(std::move(sink)) : nullptr;
  for (const auto& slot : state_->slots) slot->cache->report_to(shared);
}

GOCP_INLINE std::shared_ptr<detail::CacheSlot> CacheRegistry::slot(std::string_view alias) const {
  if (auto s = find(alias)) return s;
  std::string configured;
  for (const auto& s : state_->slots) configured += (configured.empty() ? "'" : ", '") + s->alias + "'";
  throw ConfigurationError("gocp: no cache alias '" + std::string(alias) + "' (configured: " +
                           (configured.empty() ? "none" : configured) + ")");
}

GOCP_INLINE void CacheRegistry::never_cache_queries_of(std::string_view model_or_table) const {
  std::lock_guard lock(state_->mutex);
  state_->denied.emplace_back(model_or_table);
  state_->any_denied.store(true);
}

GOCP_INLINE void CacheRegistry::claim_model_name(std::string_view name, std::type_index type) const {
  std::lock_guard lock(state_->mutex);
  auto [it, inserted] = state_->models.emplace(std::string(name), type);
  if (!inserted && it->second != type)
    throw ConfigurationError("gocp: two different model types are both named '" + std::string(name) +
                             "'; model names key the caches, so each must be unique (e.g. app-qualify them)");
}

GOCP_INLINE std::string CacheRegistry::known_schemes() {
  return "known: " + SchemeRegistry::global().cache_schemes() + "; redis and memcached need their headers";
}

GOCP_INLINE CacheRegistry::CacheRegistry(const std::vector<std::pair<std::string_view, std::string_view>>& aliases)
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
    auto slot = std::make_shared<detail::CacheSlot>();
    slot->alias = std::string(alias);
    slot->cache = cache;
    state_->slots.push_back(std::move(slot));
  }
}

}  // namespace gocp
