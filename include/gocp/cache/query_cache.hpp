#pragma once
// The query cache: a query's result kept under its exact key, served while every version
// it depends on (cache/detail/query_dependencies.hpp) is the one it was filled under.
//
//  - Versions live in the cache (the `default` alias, with the entries). A missing
//    version (evicted, expired, never set) is replaced by a fresh random one, which no
//    entry carries: losing a version is a miss, never a stale hit.
//  - A reader reads the versions BEFORE the database and stores them with the result; a
//    write that lands in between bumps one of them, so the fill is never served (no
//    stale set, no clocks).
//  - A write bumps, for its row's old and new values, the version of every field's
//    value, and the table's `any` version; a write whose values are unknown bumps the
//    table's `wide` version too, on which every result depends. Invalidation is a
//    subscriber of the Database's change stream (as cache/coherence.hpp's): every write
//    path (bulk, cascades, upserts, m2m through rows) is a RowChange already, delivered
//    at commit and dropped on rollback. On a byte store a bump deletes the version (the
//    next reader makes a fresh one): one bump_and_drop_many call per write or commit.
//  - Two tiers: on a locmem alias, versions are in-memory counters (VersionCell) that
//    each entry holds, and a result is the C++ value itself: a hit finds the entry by
//    its key and compares the values it was filled under with its cells (no version key
//    is built; nothing is encoded; all_shared() copies nothing); on a byte store (Redis,
//    memcached), a hit is one get_many_into of the entry and its versions (one MGET /
//    multi-get: the version keys are computed from the query alone) and the result goes
//    through query_bytes::Codec. An entry also holds its exact key, checked on a hit, so
//    a hash collision is a miss.
//  - Transactions: a read in a transaction that wrote one of the query's tables asks the
//    database and fills nothing; any other read in a transaction may hit, and fills
//    nothing (the simple correct rule: its snapshot is not what others see).
//  - A miss that fills takes a turn at its key (cache/detail/fill_turns.hpp): threads
//    that miss it meanwhile wait for that fill and then look again, on either tier.
//  - A cache that fails is a counted miss (cache_errors): the database answers.

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../db/change_stream.hpp"
#include "../db/database.hpp"
#include "../db/transaction.hpp"
#include "../detail/function_ref.hpp"
#include "../detail/shared_spin_lock.hpp"
#include "../detail/string_hash.hpp"
#include "../stats.hpp"
#include "coherence.hpp"
#include "detail/cache_keys.hpp"
#include "detail/fill_turns.hpp"
#include "detail/query_bytes.hpp"
#include "detail/query_dependencies.hpp"
#include "locmem.hpp"
#include "registry.hpp"

namespace gocp::detail {

/// `<table prefix>vw`, `<table prefix>vt`, `<table prefix>v<column>::<value ref>`: a
/// version's key, the same in every process (the table's name and schema, the column's
/// position, the value as write_entry_key writes a pk).
GOCP_INLINE void write_version_key(std::string& out, const std::string& table_prefix, VersionRef::Kind kind,
                                   std::uint32_t column = 0, const Value* value = nullptr);

/// A table's key prefix in one database, as table_prefix() keeps it.
struct KnownPrefix {
  std::string database_id, prefix;
};

/// The key prefix of `table` in the database whose id() is `database_id` (key_prefix),
/// computed once per table, database and thread.
GOCP_INLINE const std::string& table_prefix(const ModelInfo& table, std::string_view database_id);

/// The version keys every change of `rows` (of `table`, in database `database_id`)
/// bumps, into `keys` (deduplicated). A change whose values are unknown (a pk-only change
/// from raw SQL, a table-wide one: RowChange::whole_table) bumps the wide version, which
/// every result of the table depends on.
GOCP_INLINE void bumped_version_keys(const ModelInfo& table, std::string_view database_id, std::span<const RowChange> rows,
                                     std::vector<std::string>& keys);

/// Sixteen string-keyed maps, each under its own reader-writer spin lock: the typed
/// tier's query shelves. Every read of a table's results reads its table-wide versions,
/// so two threads meet on one shard at each read: as readers, they do not wait for each
/// other. A shard past `per_shard` entries is emptied before it grows (every entry it
/// held is then a miss: never a stale hit). A key is hashed once, for its shard and its
/// map both: fn(map, k) searches the map by `k` (a HashedKey) without hashing it again.
template <class V>
class Shards {
 public:
  /// A key with its hash, as the maps search for it.
  struct HashedKey {
    std::string_view text;
    std::size_t hash;
  };

  /// At most `per_shard` entries per shard.
  explicit Shards(std::size_t per_shard) : per_shard_(per_shard) {}

  /// fn(map, k) under the exclusive lock of `key`'s shard.
  template <class F>
  decltype(auto) with(std::string_view key, F&& fn) {
    const HashedKey k{key, WordHash{}(key)};
    Shard& s = shards_[shard_of(k)];
    std::lock_guard lock(s.lock);
    return fn(s.map, k);
  }

  /// fn(map, k), which only reads the map, under the shared lock of `key`'s shard.
  template <class F>
  decltype(auto) reading(std::string_view key, F&& fn) const {
    const HashedKey k{key, WordHash{}(key)};
    const Shard& s = shards_[shard_of(k)];
    std::shared_lock lock(s.lock);
    return fn(std::as_const(s.map), k);
  }

  /// Makes room for one more entry in `map` (a shard's): empties it when full, calling
  /// `dropped(value)` on each value it forgets.
  template <class Map, class Dropped = void (*)(const V&)>
  void make_room(Map& map, Dropped dropped = [](const V&) {}) const {
    if (map.size() < per_shard_) return;
    for (const auto& [key, value] : map) dropped(value);
    map.clear();
  }

  /// Forgets every entry, calling `dropped(value)` on each.
  template <class Dropped = void (*)(const V&)>
  void clear(Dropped dropped = [](const V&) {}) {
    for (Shard& s : shards_) {
      std::lock_guard lock(s.lock);
      for (const auto& [key, value] : s.map) dropped(value);
      s.map.clear();
    }
  }

 private:
  static constexpr std::size_t kCount = 16;
  /// The maps' hash: a stored key's is computed, a HashedKey's is the one it carries.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return WordHash{}(s); }
    std::size_t operator()(const HashedKey& k) const noexcept { return k.hash; }
  };
  struct Equal {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
    bool operator()(const HashedKey& a, std::string_view b) const noexcept { return a.text == b; }
    bool operator()(std::string_view a, const HashedKey& b) const noexcept { return a == b.text; }
  };
  struct Shard {
    mutable SharedSpinLock lock;
    std::unordered_map<std::string, V, Hash, Equal> map;
  };
  // the upper half's bits: the maps' buckets take the low ones
  static std::size_t shard_of(const HashedKey& k) noexcept { return (k.hash >> (sizeof(std::size_t) * 4)) % kCount; }
  std::size_t per_shard_;
  std::array<Shard, kCount> shards_;
};

/// One version of the typed tier: a counter in memory, held by the shelf under its key
/// (which bumps it) and by each entry filled under it. A hit compares the entry's copy
/// of each value with its cell: no version key is built, no map searched.
struct VersionCell {
  explicit VersionCell(std::uint64_t initial) noexcept : value(initial) {}
  std::atomic<std::uint64_t> value;
};

/// The typed tier's versions. A cell the shelf forgets (a full shard, clear()) is bumped
/// as it goes: the shelf's next cell for that key starts fresh, and no entry holding the
/// old one can match again — a lost version is a miss, never a stale hit.
class VersionShelf {
 public:
  /// As every shelf of a LocMemCache: bounded by `max_entries`; versions never expire.
  VersionShelf(std::size_t max_entries, Cache::Ttl) : shards_(std::max<std::size_t>(max_entries / 16, 64)) {}

  /// The cell under each key (made, fresh, where there is none) into `cells`, and its
  /// current value into `values`.
  void read(std::span<const std::string> keys, std::span<std::shared_ptr<const VersionCell>> cells,
            std::span<std::uint64_t> values);

  /// Adds one to each version held (an absent one will be fresh when next read).
  void bump(std::span<const std::string> keys);

  /// Forgets every version (what an eviction does to some): for tests and operators.
  void clear() { shards_.clear(retire); }

 private:
  static void retire(const std::shared_ptr<VersionCell>& cell) { cell->value.fetch_add(1, std::memory_order_acq_rel); }
  Shards<std::shared_ptr<VersionCell>> shards_;
};

/// The typed tier's query entries: a result as the C++ value (type-checked), with the
/// versions it was filled under. Bounded as VersionShelf.
class QueryShelf {
 public:
  /// One result.
  struct Entry {
    std::vector<std::shared_ptr<const VersionCell>> cells;  ///< the versions it depends on
    std::vector<std::uint64_t> versions;                    ///< their values, read before the database
    std::vector<const ModelInfo*> tables;                   ///< the tables the query reads
    const std::type_info* type;                             ///< the result's C++ type
    std::shared_ptr<const void> result;                     ///< a `const R`

    /// Whether no version it depends on moved since it was filled.
    bool current() const noexcept {
      for (std::size_t i = 0; i < cells.size(); ++i)
        if (cells[i]->value.load(std::memory_order_acquire) != versions[i]) return false;
      return true;
    }
  };

  /// As every shelf of a LocMemCache; entries never expire by time (versions decide).
  QueryShelf(std::size_t max_entries, Cache::Ttl) : shards_(std::max<std::size_t>(max_entries / 16, 16)) {}

  /// The entry under `key`, or null.
  std::shared_ptr<const Entry> find(std::string_view key) const;

  /// Stores `entry` under `key`, replacing any.
  void put(std::string_view key, std::shared_ptr<const Entry> entry);

  /// Drops every entry.
  void clear() { shards_.clear(); }

  /// The turns at filling its entries (cache/detail/fill_turns.hpp): every repository
  /// whose `default` alias is this store takes them here.
  FillTurns& fill_turns() noexcept { return fill_turns_; }

 private:
  Shards<std::shared_ptr<const Entry>> shards_;
  FillTurns fill_turns_;
};

/// One repository's door to the query cache of its registry's `default` alias (see the
/// file comment). Cheap to hold; thread-safe.
class QueryCache {
 public:
  /// The `default` alias of `registry` holds the entries and versions; hits and misses
  /// are counted in `repository_stats` and the alias's counters.
  /// Its keys name the database whose id() is `database_id` (as the object cache's do):
  /// results of two databases never meet.
  QueryCache(const CacheRegistry& registry, std::shared_ptr<StatCounters> repository_stats, std::string_view database_id);

  /// Whether its registry caches get()/find() without asking (CacheRegistry::cache_gets).
  bool caches_gets() const noexcept { return registry_.caches_gets(); }

  /// Bumps the versions `table`'s writes on `changes` touch, from now on (once per store
  /// and stream, however many repositories ask).
  void listen(ChangeStream& changes, const ModelInfo& table) const;

  /// The result of a query of `model` under `key` (its exact bytes) depending on
  /// `deps_of()` (asked only when needed: a typed hit knows them from its entry): a
  /// current entry's, else `read()`'s (the database's), stored for the next reader when
  /// no transaction is open.
  template <class R, class Read>
  R read(const Database& db, const ModelInfo& model, std::string_view key, FunctionRef<const Dependencies&()> deps_of,
         Read&& read) const {
    return through<R, R>(db, model, key, deps_of, read);
  }

  /// read(), the result shared rather than copied: a hit hands out the entry's own
  /// immutable result (no copy of it at all); a miss the database's, which the entry
  /// then shares.
  template <class R, class Read>
  std::shared_ptr<const R> read_shared(const Database& db, const ModelInfo& model, std::string_view key,
                                       FunctionRef<const Dependencies&()> deps_of, Read&& read) const {
    return through<R, std::shared_ptr<const R>>(db, model, key, deps_of, read);
  }

 private:
  /// The result `R` as `Out`: itself, or shared (read_shared).
  template <class Out, class R>
  static Out handed_out(R&& result) {
    if constexpr (std::is_same_v<Out, std::remove_cvref_t<R>>)
      return std::forward<R>(result);
    else
      return std::make_shared<const std::remove_cvref_t<R>>(std::forward<R>(result));
  }

  /// Where through() takes a read, as route() finds it.
  enum class Route {
    database,        ///< straight to the database: a table this transaction wrote, or one never cached
    cache,           ///< through the caches, filling them on a miss
    cache_no_fill,   ///< through the caches, not filling them (inside a transaction)
  };

  /// through()'s first steps, the same for every query: where a read of `tables` goes (a
  /// read of a table this transaction wrote counts a miss); through the caches, their
  /// writes are listened to and other processes' caught up with first.
  Route route(const Database& db, std::span<const ModelInfo* const> tables) const;

  /// The keys of the versions `deps` names, into `version_keys`.
  void write_version_keys(const Dependencies& deps, std::vector<std::string>& version_keys) const;

  /// The typed tier's entry under `key` if it holds a result of `type` (current or not).
  std::shared_ptr<const QueryShelf::Entry> typed_entry(std::string_view key, const std::type_info& type) const;

  /// read() and read_shared(): `Out` is R or std::shared_ptr<const R>.
  template <class R, class Out, class Read>
  Out through(const Database& db, const ModelInfo& model, std::string_view key,
              FunctionRef<const Dependencies&()> deps_of, Read& read) const {
    // the typed tier's entry first: it knows the query's tables and holds its versions'
    // cells, so a hit needs neither the dependencies nor their keys
    const std::shared_ptr<const QueryShelf::Entry> entry = entries_ ? typed_entry(key, typeid(R)) : nullptr;
    const Dependencies* deps = entry ? nullptr : &deps_of();
    const Route to = route(db, entry ? std::span<const ModelInfo* const>(entry->tables)
                                     : std::span<const ModelInfo* const>(deps->tables));
    if (to == Route::database) return handed_out<Out>(read());
    if (entry && entry->current()) return hit<R, Out>(*entry);
    if (!deps) deps = &deps_of();
    thread_local std::vector<std::string> version_keys;
    write_version_keys(*deps, version_keys);
    const bool fill = to == Route::cache;
    if (!entries_) return read_bytes<R, Out>(model, key, version_keys, fill, read);
    FillTurns::Turn turn;  // ends the fill this thread leads, after its entry is stored
    if (fill) {
      entries_->fill_turns().take(key, turn);
      if (turn.waited())  // another thread's fill of the key: its entry, if still current
        if (const auto filled = typed_entry(key, typeid(R)); filled && filled->current()) return hit<R, Out>(*filled);
    }
    return read_typed<R, Out>(key, version_keys, deps->tables, fill, read);
  }

  /// A typed entry's result, counted as a hit.
  template <class R, class Out>
  Out hit(const QueryShelf::Entry& entry) const {
    count(StatCounters::hits);
    if constexpr (std::is_same_v<Out, R>)
      return *static_cast<const R*>(entry.result.get());
    else
      return std::static_pointer_cast<const R>(entry.result);
  }

  void count(StatCounters::Counter counter, std::uint64_t n = 1) const {
    repository_stats_->bump(counter, n);
    slot_->stats->bump(counter, n);
  }

  /// A typed miss's entry (counted): the cells and values of the versions under
  /// `version_keys` (made where missing), read before the database; of `type`, reading
  /// `tables`, its result still to be set.
  QueryShelf::Entry typed_miss(std::span<const std::string> version_keys, std::span<const ModelInfo* const> tables,
                               const std::type_info& type) const;

  /// A typed miss: read() filled under the versions read before it.
  template <class R, class Out, class Read>
  Out read_typed(std::string_view key, std::span<const std::string> version_keys, std::span<const ModelInfo* const> tables,
                 bool fill, Read& read) const {
    QueryShelf::Entry entry = typed_miss(version_keys, tables, typeid(R));
    if constexpr (!std::is_same_v<Out, R>) {
      std::shared_ptr<const R> result = std::make_shared<const R>(read());
      entry.result = result;
      if (fill) put_entry(key, std::move(entry));
      return result;
    } else {
      R result = read();
      if (fill) {
        entry.result = std::make_shared<const R>(result);
        put_entry(key, std::move(entry));
      }
      return result;
    }
  }

  void put_entry(std::string_view key, QueryShelf::Entry entry) const;

  /// What the byte tier read for one query: its entry and its versions, in one call.
  struct BytesRead {
    std::string entry_key;               ///< the table's prefix, `q:` and the query's key hashed
    std::vector<std::string_view> keys;  ///< the entry's key, then the versions'
    std::vector<std::string> values;     ///< what was under each key
    std::unique_ptr<bool[]> found;       ///< whether each key held a value
    std::vector<std::optional<std::uint64_t>> versions;  ///< each version, if it held one
    bool read_ok = false;                ///< the cache answered
    bool all_versions = false;           ///< and held every version
  };

  /// The byte tier's entry and versions of the query under `key` (of `model`'s table),
  /// read in one get_many_into.
  void read_entry_bytes(const ModelInfo& model, std::string_view key, std::span<const std::string> version_keys,
                        BytesRead& got) const;

  /// Stores encode()'s bytes under `entry_key` (a cache that fails: counted, not filled).
  void store_bytes(const std::string& entry_key, detail::FunctionRef<std::string()> encode) const;

  template <class R, class Out, class Read>
  Out read_bytes(const ModelInfo& model, std::string_view key, std::span<const std::string> version_keys, bool fill,
                 Read& read) const {
    BytesRead got;
    R result{};
    if (read_current<R>(model, key, version_keys, got, result)) return handed_out<Out>(std::move(result));
    FillTurns::Turn turn;  // ends the fill this thread leads, after its entry is stored
    if (fill && got.read_ok) {
      slot_->fill_turns.take(got.entry_key, turn);
      // another thread's fill of the key: its entry, if the cache serves it now
      if (turn.waited() && read_current<R>(model, key, version_keys, got, result)) return handed_out<Out>(std::move(result));
    }
    count(StatCounters::misses);
    fill = fill && got.read_ok &&
           (got.all_versions || make_versions(std::span<const std::string_view>(got.keys).subspan(1), got.versions));
    result = read();
    if (fill) store_bytes(got.entry_key, [&] { return encode(key, got.versions, result); });
    return handed_out<Out>(std::move(result));
  }

  /// The byte tier's hit: the entry and versions of the query under `key` read into `got`
  /// (read_entry_bytes), and when the entry is current, its result in `result` (counted).
  template <class R>
  bool read_current(const ModelInfo& model, std::string_view key, std::span<const std::string> version_keys,
                    BytesRead& got, R& result) const {
    read_entry_bytes(model, key, version_keys, got);
    if (!got.all_versions || !got.found[0] || !decode<R>(got.values[0], key, got.versions, result)) return false;
    count(StatCounters::hits);
    return true;
  }

  /// A fresh version under each key that has none (add: another reader's stays); false
  /// when some key still has none a fill could be tagged with.
  bool make_versions(std::span<const std::string_view> keys, std::vector<std::optional<std::uint64_t>>& versions) const;

  template <class R>
  static std::string encode(std::string_view key, const std::vector<std::optional<std::uint64_t>>& versions, const R& result) {
    std::string bytes;
    query_bytes::Appender out(bytes);
    query_bytes::put_text(out, key);
    query_bytes::put_u64(out, versions.size());
    for (const auto& v : versions) query_bytes::put_u64(out, *v);
    query_bytes::Codec<R>::put(out, result);
    out.flush();
    return bytes;
  }

  /// The entry's result when it is this key's, filled under exactly `versions`, and decodes to its end.
  template <class R>
  static bool decode(std::string_view bytes, std::string_view key, const std::vector<std::optional<std::uint64_t>>& versions,
                     R& result) {
    try {
      thread_local std::string stored_key;
      std::uint64_t n = 0;
      if (!query_bytes::get_text(bytes, stored_key) || stored_key != key || !query_bytes::get_u64(bytes, n) ||
          n != versions.size())
        return false;
      for (const auto& v : versions) {
        std::uint64_t got = 0;
        if (!query_bytes::get_u64(bytes, got) || got != *v) return false;
      }
      return query_bytes::Codec<R>::get(bytes, result) && bytes.empty();
    } catch (const std::exception&) {  // a value its field cannot hold: not ours, a miss
      return false;
    }
  }

  static std::optional<std::uint64_t> parse_version(std::string_view s) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return n;
  }

  /// Deletes every version `rows` bump (the next reader makes fresh ones), in one call.
  static void bump_bytes(const CacheSlot& slot, const ModelInfo& table, std::string_view database_id,
                         std::span<const RowChange> rows) noexcept;

  template <class F>
  bool guarded(bool fallback, F&& fn) const {
    try {
      return fn();
    } catch (const ConfigurationError&) {
      throw;
    } catch (const std::exception&) {  // the cache is an optimisation: degrade, count
      count(StatCounters::cache_errors);
      return fallback;
    }
  }

  std::shared_ptr<CacheSlot> slot_;
  CacheRegistry registry_;
  std::shared_ptr<StatCounters> repository_stats_;
  std::string database_id_;  ///< Database::id() of the repository's database: in every key
  std::shared_ptr<VersionShelf> versions_;  ///< when the alias is locmem
  std::shared_ptr<QueryShelf> entries_;     ///< when the alias is locmem
  /// The (stream, table) pairs listen() subscribed. Each list is kept once made, and a
  /// reader finds the newest with one atomic load: every cached read asks, and a lock
  /// here would be two writes to a cache line that every reading thread shares.
  using Listened = std::vector<std::pair<const ChangeStream*, const ModelInfo*>>;
  mutable std::mutex listening_;  ///< taken by the first read of a table on a stream
  mutable std::vector<std::unique_ptr<const Listened>> listened_lists_;
  mutable std::atomic<const Listened*> listened_{nullptr};
};

}  // namespace gocp::detail

#if !defined(GOCP_COMPILED)
#include "query_cache-inl.hpp"
#endif
