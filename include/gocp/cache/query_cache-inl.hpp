#pragma once
/// \file
/// The definitions behind <gocp/cache/query_cache.hpp>'s QueryCache that are the same for
/// every query: included by it in header-only mode, compiled once by src/gocp.cpp for
/// gocp::gocp_compiled (detail/config.hpp).

#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "query_cache.hpp"

namespace gocp::detail {

GOCP_INLINE QueryCache::QueryCache(const CacheRegistry& registry, std::shared_ptr<StatCounters> repository_stats, std::string_view database_id)
    : slot_(registry.slot("default")),
      registry_(registry),
      repository_stats_(std::move(repository_stats)),
      database_id_(database_id) {
  if (auto* local = dynamic_cast<LocMemCache*>(slot_->cache.get())) {
    versions_ = local->template shelf<VersionShelf>("gocp:query-versions:" + database_id_);
    entries_ = local->template shelf<QueryShelf>("gocp:queries:" + database_id_);
  }
}

GOCP_INLINE void QueryCache::listen(ChangeStream& changes, const ModelInfo& table) const {
  {
    std::shared_lock lock(listened_lock_);
    for (const auto& [stream, t] : listened_)
      if (stream == &changes && t == &table) return;
  }
  const ModelInfo* info = &table;
  changes.want_old_values(table.table);  // a row leaving a group bumps its old values' versions
  if (VersionShelf* shelf = versions_.get()) {
    changes.subscribe_keyed_batch(std::string(table.table), shelf, versions_,
                                  [shelf, info, slot = slot_.get(), id = database_id_](std::span<const RowChange> rows) {
                                    thread_local std::vector<std::string> keys;
                                    bumped_version_keys(*info, id, rows, keys);
                                    shelf->bump(keys);
                                    slot->stats->bump(StatCounters::invalidations, rows.size());
                                  });
  } else {
    // keyed by the alias's slot (not the Cache: the objects cache of a model sharing
    // the store subscribes under the Cache's address)
    changes.subscribe_keyed_batch(std::string(table.table), slot_.get(), slot_,
                                  [info, slot = slot_.get(), id = database_id_](std::span<const RowChange> rows) {
                                    bump_bytes(*slot, *info, id, rows);
                                  });
  }
  std::lock_guard lock(listened_lock_);
  listened_.emplace_back(&changes, &table);
}

GOCP_INLINE void QueryCache::put_entry(std::string_view key, std::span<const std::uint64_t> versions, const std::type_info* type,
               std::shared_ptr<const void> result) const {
  entries_->put(key, std::make_shared<const QueryShelf::Entry>(QueryShelf::Entry{
                         std::vector<std::uint64_t>(versions.begin(), versions.end()), type, std::move(result)}));
  count(StatCounters::fills);
}

GOCP_INLINE bool QueryCache::make_versions(std::span<const std::string_view> keys, std::vector<std::optional<std::uint64_t>>& versions) const {
  std::vector<std::pair<std::string_view, std::string_view>> items;
  std::vector<std::string> texts;
  std::vector<std::size_t> at;
  texts.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (!versions[i]) {
      const auto fresh = static_cast<std::uint64_t>(fresh_generation());
      versions[i] = fresh;
      texts.push_back(std::to_string(fresh));
      at.push_back(i);
    }
  for (std::size_t j = 0; j < at.size(); ++j) items.emplace_back(keys[at[j]], texts[j]);
  std::unique_ptr<bool[]> stored(new bool[items.size()]());
  if (!guarded(false, [&] {
        slot_->cache->add_many(items, {stored.get(), items.size()});
        return true;
      }))
    return false;
  for (std::size_t j = 0; j < at.size(); ++j)
    if (!stored[j]) return false;  // another reader made it first: its value is unknown here
  return true;
}

GOCP_INLINE void QueryCache::bump_bytes(const CacheSlot& slot, const ModelInfo& table, std::string_view database_id,
                       std::span<const RowChange> rows) noexcept {
  try {
    thread_local std::vector<std::string> keys;
    bumped_version_keys(table, database_id, rows, keys);
    std::vector<Cache::BumpAndDrop> items;
    items.reserve(keys.size());
    // bump, then drop the same key: the version is gone, as an eviction would leave it
    for (const std::string& k : keys) items.push_back({k, k, fresh_generation()});
    slot.cache->bump_and_drop_many(items);
    slot.stats->bump(StatCounters::invalidations, rows.size());
  } catch (const std::exception&) {  // the alias remembers undelivered keys (SharedCache)
    slot.stats->bump(StatCounters::cache_errors);
  }
}

}  // namespace gocp::detail
