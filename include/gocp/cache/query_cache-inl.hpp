#pragma once
/// \file
/// The definitions behind <gocp/cache/query_cache.hpp>'s QueryCache that are the same for
/// every query: included by it in header-only mode, compiled once by src/gocp.cpp for
/// gocp::gocp_compiled (detail/config.hpp).

#include <algorithm>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "query_cache.hpp"

namespace gocp::detail {

GOCP_INLINE void write_version_key(std::string& out, const std::string& table_prefix, VersionRef::Kind kind,
                                   std::uint32_t column, const Value* value) {
  if (kind != VersionRef::Kind::field) {
    out.assign(table_prefix);
    out += kind == VersionRef::Kind::wide ? "vw" : "vt";
    return;
  }
  out.assign(table_prefix);
  out += 'v';
  char digits[12];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, column);
  out.append(digits, end);
  out += "::";  // as write_entry_key(out, <prefix>v<column>, ':', value) wrote it
  append_key_value(out, *value);
}

GOCP_INLINE const std::string& table_prefix(const ModelInfo& table, std::string_view database_id) {
  // the one asked last, first: a cached read asks for its table's prefix several times
  thread_local const ModelInfo* last = nullptr;
  thread_local const KnownPrefix* last_known = nullptr;
  if (&table == last && last_known->database_id == database_id) return last_known->prefix;
  // a process uses one database, or a few: a short list per table (a deque: a prefix
  // never moves once made, so last_known stays valid)
  thread_local std::unordered_map<const ModelInfo*, std::deque<KnownPrefix>> prefixes;
  std::deque<KnownPrefix>& known = prefixes[&table];
  const KnownPrefix* found = nullptr;
  for (const KnownPrefix& k : known)
    if (k.database_id == database_id) found = &k;
  if (!found) found = &known.emplace_back(KnownPrefix{std::string(database_id), key_prefix(table, database_id)});
  last = &table;
  last_known = found;
  return found->prefix;
}

GOCP_INLINE void bumped_version_keys(const ModelInfo& table, std::string_view database_id, std::span<const RowChange> rows,
                                     std::vector<std::string>& keys) {
  const std::string& prefix = table_prefix(table, database_id);
  keys.clear();
  std::string key;
  // a one-row write names a dozen keys: a scan finds the repeats; a bulk write of
  // thousands of rows names thousands, so past a few a set does (a scan would be quadratic)
  constexpr std::size_t kScanned = 32;
  std::unordered_set<std::string> named;
  const auto add = [&](const std::string& k) {
    if (keys.size() < kScanned) {
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
      return;
    }
    if (named.empty()) named.insert(keys.begin(), keys.end());
    if (named.insert(k).second) keys.push_back(k);
  };
  write_version_key(key, prefix, VersionRef::Kind::any);
  add(key);
  for (const RowChange& row : rows) {
    if ((row.had_row && !row.before) || (row.has_row && !row.after)) {  // values unknown: every result
      write_version_key(key, prefix, VersionRef::Kind::wide);
      add(key);
    }
    for (const auto* values : {&row.before, &row.after}) {
      if (!*values) continue;
      for (std::size_t c = 0; c < (*values)->size() && c < table.columns.size(); ++c) {
        write_version_key(key, prefix, VersionRef::Kind::field, static_cast<std::uint32_t>(c), &(**values)[c]);
        add(key);
      }
    }
  }
}

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
  const auto listens = [&](const Listened* list) {
    if (list)
      for (const auto& [stream, t] : *list)
        if (stream == &changes && t == &table) return true;
    return false;
  };
  if (listens(listened_.load(std::memory_order_acquire))) return;
  std::lock_guard lock(listening_);
  const Listened* now = listened_.load(std::memory_order_relaxed);
  if (listens(now)) return;
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
  auto longer = std::make_unique<Listened>(now ? *now : Listened{});
  longer->emplace_back(&changes, &table);
  listened_.store(longer.get(), std::memory_order_release);
  listened_lists_.push_back(std::move(longer));
}

GOCP_INLINE void QueryCache::put_entry(std::string_view key, QueryShelf::Entry entry) const {
  entries_->put(key, std::make_shared<const QueryShelf::Entry>(std::move(entry)));
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

GOCP_INLINE void VersionShelf::read(std::span<const std::string> keys, std::span<std::shared_ptr<const VersionCell>> cells,
                                    std::span<std::uint64_t> values) {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    cells[i] = shards_.reading(keys[i], [&](const auto& held, const auto& k) -> std::shared_ptr<const VersionCell> {
      auto it = held.find(k);
      return it == held.end() ? nullptr : it->second;
    });
    if (!cells[i])
      cells[i] = shards_.with(keys[i], [&](auto& held, const auto& k) {
        auto it = held.find(k);
        if (it == held.end()) {
          shards_.make_room(held, retire);
          it = held.emplace(keys[i], std::make_shared<VersionCell>(static_cast<std::uint64_t>(fresh_generation()))).first;
        }
        return it->second;
      });
    values[i] = cells[i]->value.load(std::memory_order_acquire);
  }
}

GOCP_INLINE void VersionShelf::bump(std::span<const std::string> keys) {
  for (const std::string& key : keys)
    shards_.reading(key, [&](const auto& held, const auto& k) {
      if (auto it = held.find(k); it != held.end()) it->second->value.fetch_add(1, std::memory_order_acq_rel);
    });
}

GOCP_INLINE std::shared_ptr<const QueryShelf::Entry> QueryShelf::find(std::string_view key) const {
  return shards_.reading(key, [&](const auto& entries, const auto& k) -> std::shared_ptr<const Entry> {
    auto it = entries.find(k);
    return it == entries.end() ? nullptr : it->second;
  });
}

GOCP_INLINE void QueryShelf::put(std::string_view key, std::shared_ptr<const Entry> entry) {
  shards_.with(key, [&](auto& entries, const auto& k) {
    if (auto it = entries.find(k); it != entries.end()) {
      it->second = std::move(entry);
      return;
    }
    shards_.make_room(entries);
    entries.emplace(std::string(key), std::move(entry));
  });
}

GOCP_INLINE QueryCache::Route QueryCache::route(const Database& db, std::span<const ModelInfo* const> tables) const {
  const bool in_transaction = db.in_transaction();
  if (in_transaction)
    for (const ModelInfo* t : tables)
      if (DatabaseAccess::wrote(db, t)) {  // its own writes: the database, no fill
        count(StatCounters::misses);
        return Route::database;
      }
  if (registry_.denies_queries_of(tables)) return Route::database;
  for (const ModelInfo* t : tables) listen(db.changes(), *t);
  db.catch_up();  // other processes' writes bump their versions first (SQLite ?watch=)
  return in_transaction ? Route::cache_no_fill : Route::cache;
}

GOCP_INLINE void QueryCache::write_version_keys(const Dependencies& deps, std::vector<std::string>& version_keys) const {
  version_keys.resize(deps.refs.size());
  for (std::size_t i = 0; i < deps.refs.size(); ++i) {
    const VersionRef& r = deps.refs[i];
    write_version_key(version_keys[i], table_prefix(*r.table, database_id_), r.kind, r.column, r.value);
  }
}

GOCP_INLINE std::shared_ptr<const QueryShelf::Entry> QueryCache::typed_entry(std::string_view key,
                                                                            const std::type_info& type) const {
  auto entry = entries_->find(key);
  return entry && entry->type == &type ? entry : nullptr;
}

GOCP_INLINE QueryShelf::Entry QueryCache::typed_miss(std::span<const std::string> version_keys,
                                                     std::span<const ModelInfo* const> tables,
                                                     const std::type_info& type) const {
  QueryShelf::Entry entry{std::vector<std::shared_ptr<const VersionCell>>(version_keys.size()),
                          std::vector<std::uint64_t>(version_keys.size()),
                          std::vector<const ModelInfo*>(tables.begin(), tables.end()), &type, nullptr};
  versions_->read(version_keys, entry.cells, entry.versions);  // before the database
  count(StatCounters::misses);
  return entry;
}

GOCP_INLINE void QueryCache::read_entry_bytes(const ModelInfo& model, std::string_view key,
                                              std::span<const std::string> version_keys, BytesRead& got) const {
  // the entry's key: the exact key hashed (it is long); the exact key is in the entry
  Hash128 h;
  h.add(key);
  got.entry_key = table_prefix(model, database_id_);
  got.entry_key += "q:";
  append_hex(got.entry_key, h.finished());
  const std::size_t n = version_keys.size();
  got.keys.resize(1 + n);
  got.keys[0] = got.entry_key;
  for (std::size_t i = 0; i < n; ++i) got.keys[1 + i] = version_keys[i];
  got.values.resize(1 + n);
  got.found.reset(new bool[1 + n]());
  got.versions.assign(n, std::nullopt);
  got.read_ok = guarded(false, [&] {
    slot_->cache->get_many_into(got.keys, got.values, {got.found.get(), 1 + n});
    return true;
  });
  got.all_versions = got.read_ok;
  for (std::size_t i = 0; got.read_ok && i < n; ++i) {
    if (got.found[1 + i]) got.versions[i] = parse_version(got.values[1 + i]);
    got.all_versions = got.all_versions && got.versions[i].has_value();
  }
}

GOCP_INLINE void QueryCache::store_bytes(const std::string& entry_key, detail::FunctionRef<std::string()> encode) const {
  guarded(false, [&] {
    slot_->cache->set(entry_key, encode());
    count(StatCounters::fills);
    return true;
  });
}

}  // namespace gocp::detail
