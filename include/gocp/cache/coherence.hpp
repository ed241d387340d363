#pragma once
// The coherence protocol between a model's rows and its cache entries.
//
// Each object entry (pk -> object) is tagged with the generation its data was read
// under; a separate generation key per pk is bumped by every write. An entry is served
// only while its tag equals the current generation, so:
//  - a write invalidates by bumping (and deleting the entry);
//  - a reader reads the generation *before* reading the row and tags its fill with it:
//    if a write lands in between, the fill carries the old generation and is never
//    served. A stale row cannot be put back after an invalidation ("no stale set"),
//    without compare-and-set, on any cache that has get / add / increment;
//  - a missing generation key (evicted, expired, never set) is replaced by a fresh random
//    one, which no existing entry carries.
// Every cache call is guarded: a failing cache counts an error and degrades to a miss.
//
// Two tiers run this protocol. Over bytes (any Cache: redis, memcached, a user's), keys
// and entries go through the codec, and every read, fill and invalidation of several
// entries is one batched verb (spi/cache.hpp). Over objects (an alias that is locmem),
// the same rules hold on the typed shelves of cache/detail/typed_shelf.hpp: a generation and
// the object share one entry, a fill under a stale generation is refused at once, and
// nothing is encoded. The typed tier also fills a miss without reading the row twice:
// it reads the model's invalidation count (its epoch) before the database, and the fill
// is refused if any invalidation of the model came since (an insert under a new key is
// none: no earlier read can have found that row, so a create's own row is stored as the
// INSERT returned it). A lookup's entry keeps the object its fill stored or its last hit
// found, served while that row is not written: one lookup per hit, the first included.
//
// When both aliases are one byte store, a lookup, the object it refers to and the
// object's generation are read in one Cache::get_following call (asked of the objects
// alias, whose circuit breaker replays lost invalidations first), with a guess of the
// reference from cache/detail/reference_hints.hpp. Repository::in_bulk reads N objects and
// generations in one call and fills what the database answered in one more or two.
//
// Invalidation is a subscriber of the Database's change stream, one per objects cache
// and model: every committed write to the table, through any repository (with caches or
// without, of any registry), bumps the written keys -- only those: a write to one row
// leaves every other row's entries current. The rows of one write or one commit arrive
// together and are invalidated in one call. No verb invalidates by hand.

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <charconv>
#include <cstdint>
#include <memory>
#include <span>
#include <optional>
#include <string>
#include <string_view>
#include <typeindex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../db/change_stream.hpp"
#include "detail/cache_keys.hpp"
#include "../detail/small_vector.hpp"
#include "detail/typed_shelf.hpp"
#include "detail/match.hpp"
#include "detail/reference_hints.hpp"
#include "../detail/config.hpp"
#include "../stats.hpp"
#include "codec.hpp"
#include "locmem.hpp"
#include "registry.hpp"

namespace gocp::detail {

/// A random generation, positive and far from small counters (defined in coherence-inl.hpp,
/// so that compiled mode spares every includer <random>).
GOCP_INLINE std::int64_t fresh_generation();

template <class Model>
class ModelCaches {
 public:
  /// The caches of Model's rows in the database whose id() is `database_id`.
  ModelCaches(const CacheRegistry& registry, std::shared_ptr<StatCounters> repository_stats, bool with_lookups,
              std::string_view database_id)
      : objects_(registry.slot(model_info<Model>().name)),
        lookups_(with_lookups ? registry.slot("default") : nullptr),
        repository_stats_(std::move(repository_stats)),
        prefix_(key_prefix(model_info<Model>(), database_id)),
        object_prefixes_{prefix_ + "o:", prefix_ + "g:"} {
    registry.claim_model_name(model_info<Model>().name, std::type_index(typeid(Model)));
    // an in-process alias is the typed tier (the shelves are named by the key prefix:
    // database, model and schema, as the byte keys are)
    if (auto* local = dynamic_cast<LocMemCache*>(objects_->cache.get()))
      typed_objects_ = local->template shelf<ObjectShelf<Model>>(prefix_);
    if (lookups_)
      if (auto* local = dynamic_cast<LocMemCache*>(lookups_->cache.get()))
        typed_lookups_ = local->template shelf<LookupShelf<Model>>(prefix_);
    follows_ = lookups_ && !typed_lookups_ && !typed_objects_ && lookups_->cache->shares_entries_with(*objects_->cache);
    if (follows_) hints_ = std::make_unique<ReferenceHints>(kHints);
  }

  /// Both aliases are one byte store: a lookup and the object it maps to are read in one
  /// get_following call (follow()).
  bool follows() const noexcept { return follows_; }

  bool has_lookups() const noexcept { return lookups_ != nullptr; }

  /// Whether objects or lookups are kept in this process's memory (a locmem alias): such
  /// a cache sees other processes' writes only through the database's watch, if any
  /// (Database::note_process_local_cache).
  bool process_local() const noexcept { return typed_objects_ || typed_lookups_; }

  /// Invalidates this objects cache on every change of the model's table in `changes`
  /// (once per cache, however many repositories share it), for as long as the cache's
  /// alias is alive: the rows of one write or commit in one call.
  void subscribe(ChangeStream& changes) const {
    const CacheSlot* slot = objects_.get();
    if (ObjectShelf<Model>* shelf = typed_objects_.get()) {
      changes.subscribe_keyed_batch(model_info<Model>().table, shelf, objects_, [slot, shelf](std::span<const RowChange> rows) {
        SmallVector<const Value*, 4> pks;
        pks.reserve(rows.size());
        bool new_keys_only = true, whole_table = false;
        for (const RowChange& row : rows) {
          pks.emplace_back(&row.pk);
          new_keys_only = new_keys_only && row.is_insert();
          whole_table = whole_table || row.whole_table;
        }
        if (whole_table) shelf->invalidate_all();
        else shelf->invalidate(pks, new_keys_only);
        slot->stats->bump(StatCounters::invalidations, rows.size());
      });
      return;
    }
    changes.subscribe_keyed_batch(model_info<Model>().table, slot->cache.get(), objects_,
                                  [slot, prefix = prefix_](std::span<const RowChange> rows) { invalidate(*slot, prefix, rows); });
  }

  /// Copies into `out` the cached object under `pk` when its entry is current (false,
  /// `out` untouched, when not); `generation` receives the current generation (nullopt
  /// if the cache could not tell), for a later fill; on the typed tier `seen` (when
  /// given) what a lookup entry keeps of a hit (remember_hit).
  bool get_into(const Value& pk, Model& out, std::optional<std::int64_t>& generation,
                SeenGeneration* seen = nullptr) const {
    generation.reset();
    if (typed_objects_) return typed_objects_->get_into(pk, out, generation, seen);
    auto found = get_encoded(pk, generation);
    if (!found) return false;
    out = std::move(*found);
    return true;
  }

  /// The cached object under `pk` when its entry is current; see get_into().
  std::optional<Model> get(const Value& pk, std::optional<std::int64_t>& generation) const {
    std::optional<Model> out{std::in_place};
    if (!get_into(pk, *out, generation)) out.reset();
    return out;
  }

 private:
  /// get() on the byte tier.
  std::optional<Model> get_encoded(const Value& pk, std::optional<std::int64_t>& generation) const {
    return guarded(*objects_, std::optional<Model>{}, [&]() -> std::optional<Model> {
      Scratch& k = scratch();
      write_entry_key(k.keys[0], prefix_, 'o', pk);
      write_entry_key(k.keys[1], prefix_, 'g', pk);
      const std::string_view keys[] = {k.keys[0], k.keys[1]};
      bool found[2];
      objects_->cache->get_many_into(keys, k.values, found);
      return current(pk, k.values[0], found[0], k.values[1], found[1], generation, [&] { return k.keys[0]; });
    });
  }

 public:
  /// On a store that follows(): the lookup under `key`, with what it maps to, in one
  /// call. `pk` receives the mapped pk (nullopt: the lookup is not cached), `generation`
  /// that pk's current generation (nullopt if the cache could not tell); the object is
  /// returned only when its entry is current (the caller still checks it matches).
  std::optional<Model> follow(const Hash128& key, std::optional<Value>& pk, std::optional<std::int64_t>& generation) const {
    pk.reset();
    generation.reset();
    // asked of the objects alias (the same store): its circuit breaker replays the
    // invalidations it could not deliver before it serves again, so an entry a lost
    // invalidation should have dropped is never read
    return guarded(*objects_, std::optional<Model>{}, [&]() -> std::optional<Model> {
      Scratch& k = scratch();
      write_lookup_key(k.keys[0], prefix_, key);
      const std::string_view prefixes[] = {object_prefixes_[0], object_prefixes_[1]};
      // the reference last seen for the lookup: the cache reads everything in one
      // multi-get while it is still right
      hints_->find(key.a, k.hint);
      bool found[2];
      if (!objects_->cache->get_following({k.keys[0], prefixes, k.hint}, k.reference, k.values, found)) return std::nullopt;
      pk = parse_reference(k.reference);
      if (!pk) {  // not a reference gocp writes: a miss, and the entry goes
        lookups_->cache->remove(k.keys[0]);
        return std::nullopt;
      }
      const std::string_view reference = Cache::reference_of(k.reference);
      if (reference != k.hint) hints_->remember(key.a, reference);
      return current(*pk, k.values[0], found[0], k.values[1], found[1], generation, [&] {
        std::string object_key = object_prefixes_[0];
        object_key += reference;
        return object_key;
      });
    });
  }

  /// The current generation of `pk`, made fresh if it has none.
  std::optional<std::int64_t> generation(const Value& pk) const {
    if (typed_objects_) return typed_objects_->generation(pk);
    return guarded(*objects_, std::optional<std::int64_t>{}, [&]() -> std::optional<std::int64_t> {
      const std::string key = entry_key(prefix_, 'g', pk);
      if (auto v = objects_->cache->get(key)) {
        if (auto g = parse_generation(*v)) return g;
        const std::int64_t fresh = fresh_generation();  // garbage under the key: replace it
        objects_->cache->set(key, std::to_string(fresh));
        return fresh;
      }
      const std::int64_t fresh = fresh_generation();
      if (objects_->cache->add(key, std::to_string(fresh))) return fresh;
      auto v = objects_->cache->get(key);  // another reader added one first
      return v ? parse_generation(*v) : std::nullopt;
    });
  }

  /// Stores `obj`, read from the database after `generation` was read. The typed tier
  /// refuses it at once when the generation is no longer current; the byte tier stores
  /// it tagged, never to be served.
  /// On the typed tier `seen` (when given) receives what a lookup entry keeps of it
  /// (remember_hit), when it was stored.
  void store(const Model& obj, std::int64_t generation, SeenGeneration* seen = nullptr) const {
    if (typed_objects_) {
      if (typed_objects_->store(get_column(obj, pk_index<Model>), obj, generation, seen)) count(StatCounters::fills, *objects_);
      return;
    }
    guarded(*objects_, false, [&] {
      objects_->cache->set(entry_key(prefix_, 'o', get_column(obj, pk_index<Model>)),
                           codec::encode_object(obj, static_cast<std::uint64_t>(generation)));
      count(StatCounters::fills, *objects_);
      return true;
    });
  }

  /// The typed tier's count of invalidations of the model so far (an insert under a new
  /// key is none: no read before it can have found the row), read before a database
  /// read so that its result can be stored with store_unless_written(); nullopt on the
  /// byte tier.
  std::optional<std::uint64_t> write_epoch() const noexcept {
    if (typed_objects_) return typed_objects_->epoch();
    return std::nullopt;
  }

  /// Stores `obj`, read from the database after `epoch` was read, if no invalidation of
  /// the model came since; false (nothing stored) otherwise. `seen` as for store().
  bool store_unless_written(const Model& obj, std::uint64_t epoch, SeenGeneration* seen = nullptr) const {
    if (!typed_objects_ || !typed_objects_->store_if_no_write_since(get_column(obj, pk_index<Model>), obj, epoch, seen))
      return false;
    count(StatCounters::fills, *objects_);
    return true;
  }

  /// Repository::in_bulk through the objects cache, for distinct `pks`: every pk's
  /// object and generation in one read (one get_many_into of 2N keys on a byte store);
  /// keep(Model&&) for each current object that matches `scope`; the others are asked
  /// of the database in one read_missing(indices into pks, each) call, which passes each
  /// row it reads (through the repository's filters) to each(Model&&). With `fill`, those
  /// rows are stored under generations read before the database (a missing generation
  /// made fresh first, in one add_many), entries in one add_many (one set_many for
  /// those whose stale entry is still there). A cache that fails is a miss: the
  /// database answers, and nothing is stored.
  template <class ReadMissing, class Keep>
  void in_bulk(std::span<const Value> pks, const Expr<Model>& scope, const Dialect& dialect, bool fill,
               ReadMissing&& read_missing, Keep&& keep) const {
    std::vector<std::size_t> missing;
    const auto serve = [&](std::size_t i, std::optional<Model>& obj) {
      if (!obj) {
        missing.push_back(i);
        return;
      }
      if (matches(scope, *obj, dialect)) keep(std::move(*obj));
    };
    const auto counted = [&] {
      bump_both(StatCounters::hits, pks.size() - missing.size());
      bump_both(StatCounters::misses, missing.size());
    };
    if (typed_objects_) {
      const std::uint64_t epoch = typed_objects_->epoch();  // before the shelf and the database
      for (std::size_t i = 0; i < pks.size(); ++i) {
        std::optional<std::int64_t> generation;
        auto obj = typed_objects_->get(pks[i], generation);
        serve(i, obj);
      }
      counted();
      read_missing(std::span<const std::size_t>(missing), [&](Model&& row) {
        if (fill) store_unless_written(row, epoch);
        keep(std::move(row));
      });
      return;
    }
    // keys[2i], keys[2i + 1]: pks[i]'s object entry and generation; the buffers are the
    // thread's, kept warm (a call allocates for none of its 2N keys and values)
    const std::size_t n = pks.size();
    BulkScratch& scratch = bulk_scratch();
    scratch.reserve(2 * n);
    auto& keys = scratch.keys;
    auto& values = scratch.values;
    bool* found = scratch.found.get();
    std::vector<std::string_view> views(2 * n);
    for (std::size_t i = 0; i < n; ++i) {
      write_entry_key(keys[2 * i], prefix_, 'o', pks[i]);
      write_entry_key(keys[2 * i + 1], prefix_, 'g', pks[i]);
      views[2 * i] = keys[2 * i];
      views[2 * i + 1] = keys[2 * i + 1];
    }
    std::fill(found, found + 2 * n, false);
    std::vector<std::optional<std::int64_t>> generations(n);
    const bool read = guarded(*objects_, false, [&] {
      objects_->cache->get_many_into(views, {values.data(), 2 * n}, {found, 2 * n});
      return true;
    });
    for (std::size_t i = 0; i < n; ++i) {
      std::optional<Model> obj;
      if (read)
        obj = guarded(*objects_, std::optional<Model>{}, [&] {
          return current(pks[i], values[2 * i], found[2 * i], values[2 * i + 1], found[2 * i + 1], generations[i],
                         [&] { return keys[2 * i]; });
        });
      serve(i, obj);
    }
    counted();
    fill = fill && read;
    if (fill) {  // a generation that is missing becomes a fresh one, before the database is read
      std::vector<std::size_t> absent;
      std::vector<std::int64_t> fresh;
      std::vector<std::string> fresh_text;
      for (std::size_t i : missing)
        if (!found[2 * i + 1]) {
          absent.push_back(i);
          fresh.push_back(fresh_generation());
          fresh_text.push_back(std::to_string(fresh.back()));
        }
      std::vector<std::pair<std::string_view, std::string_view>> items;
      for (std::size_t j = 0; j < absent.size(); ++j) items.emplace_back(keys[2 * absent[j] + 1], fresh_text[j]);
      std::unique_ptr<bool[]> stored(new bool[items.size()]());
      if (!items.empty())
        fill = guarded(*objects_, false, [&] {
          objects_->cache->add_many(items, {stored.get(), items.size()});
          return true;
        });
      for (std::size_t j = 0; fill && j < absent.size(); ++j)
        if (stored[j]) generations[absent[j]] = fresh[j];  // else another reader made one: not filled
    }
    std::unordered_map<std::string_view, std::size_t> index_of;  // object key -> i, for the rows read
    if (fill) {
      index_of.reserve(missing.size());
      for (std::size_t i : missing)
        if (generations[i]) index_of.emplace(keys[2 * i], i);
    }
    std::vector<std::string> encoded;
    std::vector<std::size_t> encoded_of;
    std::string key;
    read_missing(std::span<const std::size_t>(missing), [&](Model&& row) {
      if (!index_of.empty()) {
        write_entry_key(key, prefix_, 'o', get_column(row, pk_index<Model>));
        if (auto it = index_of.find(key); it != index_of.end()) {
          encoded.push_back(codec::encode_object(row, static_cast<std::uint64_t>(*generations[it->second])));
          encoded_of.push_back(it->second);
        }
      }
      keep(std::move(row));
    });
    if (encoded.empty()) return;
    std::vector<std::pair<std::string_view, std::string_view>> adds, sets;
    for (std::size_t j = 0; j < encoded.size(); ++j) {
      const std::size_t i = encoded_of[j];
      (found[2 * i] ? sets : adds).emplace_back(keys[2 * i], encoded[j]);  // a stale entry is replaced
    }
    guarded(*objects_, false, [&] {
      if (!adds.empty()) {
        std::unique_ptr<bool[]> stored(new bool[adds.size()]);
        objects_->cache->add_many(adds, {stored.get(), adds.size()});
      }
      if (!sets.empty()) objects_->cache->set_many(sets);
      bump_both(StatCounters::fills, encoded.size());
      return true;
    });
  }

  /// Counts `n` rows this repository's writes invalidated.
  void count_invalidations(std::uint64_t n) const { repository_stats_->bump(StatCounters::invalidations, n); }

  /// The key of a lookup on top of a repository's filters: lookup_hash() on the byte
  /// tier (order-free, and what the key string is made of); on the typed one the hash of
  /// lookup_words(), which go to `words` (its entries are checked word by word).
  Hash128 lookup_key(const Expr<Model>& filters, const Expr<Model>& lookup, LookupWords& words) const {
    return typed_lookups_ ? lookup_words(filters, lookup, words) : lookup_hash(filters, lookup);
  }

  /// On the typed tier, copies into `out` the object kept with the mapping under `key`
  /// when it answered a query of these `words` and its row has not been written since,
  /// and returns true: the answer, with no further check. Else false, with `pk`
  /// receiving the pk the lookup mapped to, if cached (for the caller to verify against
  /// the object), and `out` untouched.
  bool lookup(const Hash128& key, std::span<const std::uint64_t> words, Model& out, std::optional<Value>& pk) const {
    if (typed_lookups_) return typed_lookups_->find(key, words, out, pk);
    pk = lookup(key);
    return false;
  }

  /// The pk the lookup under `key` mapped to, if cached (verified by the caller).
  std::optional<Value> lookup(const Hash128& lookup) const {
    if (typed_lookups_) {
      std::optional<Value> pk;
      Model ignored{};
      typed_lookups_->find(lookup, {}, ignored, pk);
      return pk;
    }
    return guarded(*lookups_, std::optional<Value>{}, [&]() -> std::optional<Value> {
      Scratch& k = scratch();
      write_lookup_key(k.keys[0], prefix_, lookup);
      if (!lookups_->cache->get_into(k.keys[0], k.reference)) return std::nullopt;
      auto pk = parse_reference(k.reference);
      if (!pk) lookups_->cache->remove(k.keys[0]);
      return pk;
    });
  }

  /// Keeps `obj`, the answer to a query of these `words` (under `key`) read from the
  /// objects shelf entry that showed `seen` (a verified hit, or the fill that stored it),
  /// with the mapping; false (nothing kept) unless both tiers are typed.
  bool remember_hit(const Hash128& key, std::span<const std::uint64_t> words, const Model& obj,
                    SeenGeneration seen) const {
    if (!typed_lookups_ || !seen.cell) return false;
    typed_lookups_->remember_hit(key, words, get_column(obj, pk_index<Model>), obj, std::move(seen));
    return true;
  }

  /// Maps `key` to `obj`'s pk after a fill that stored `obj` (showing `seen`): the
  /// typed tier keeps the object with the mapping too, so the next hit is one lookup.
  void remember_fill(const Hash128& key, std::span<const std::uint64_t> words, const Model& obj,
                     SeenGeneration seen) const {
    if (!remember_hit(key, words, obj, std::move(seen))) return remember_lookup(key, get_column(obj, pk_index<Model>));
    count(StatCounters::fills, *lookups_);
  }

  void remember_lookup(const Hash128& lookup, const Value& pk) const {
    if (typed_lookups_) {
      typed_lookups_->remember(lookup, pk);
      count(StatCounters::fills, *lookups_);
      return;
    }
    guarded(*lookups_, false, [&] {
      Scratch& k = scratch();
      write_lookup_key(k.keys[0], prefix_, lookup);
      write_reference(k.reference, pk);
      lookups_->cache->set(k.keys[0], k.reference);
      if (hints_) hints_->remember(lookup.a, Cache::reference_of(k.reference));  // the next hit's guess, right
      count(StatCounters::fills, *lookups_);
      return true;
    });
  }

  /// Counts a hit or miss of the objects alias, for the repository and the alias.
  void count(StatCounters::Counter counter) const { count(counter, *objects_); }

  /// What one cached read cost, charged where it was served (see Stats): the repository
  /// counts one hit or miss per call; the lookups alias (`default`) a hit when it knew
  /// the lookup, a miss when not, nothing when it was not asked; the objects alias a hit
  /// or miss only when it was asked for the object by its pk.
  struct Served {
    bool hit = false;                  ///< the call was answered from the caches
    std::optional<bool> lookup_hit;    ///< the `default` alias was asked: did it know the lookup?
    std::optional<bool> object_hit;    ///< the objects alias was asked: was the object current?
  };
  void count(const Served& served) const {
    repository_stats_->bump(served.hit ? StatCounters::hits : StatCounters::misses);
    const auto charge = [](const CacheSlot* slot, std::optional<bool> hit) {
      if (slot && hit) slot->stats->bump(*hit ? StatCounters::hits : StatCounters::misses);
    };
    charge(lookups_.get(), served.lookup_hit);
    charge(objects_.get(), served.object_hit);
  }

 private:
  void bump_both(StatCounters::Counter counter, std::uint64_t n) const {
    if (n == 0) return;
    repository_stats_->bump(counter, n);
    objects_->stats->bump(counter, n);
  }

  void count(StatCounters::Counter counter, const CacheSlot& slot) const {
    repository_stats_->bump(counter);
    slot.stats->bump(counter);
  }

  /// fn(), or `fallback` when the cache fails (counted) — except a ConfigurationError (a
  /// cache that can never work, e.g. a Redis database the server does not have), which
  /// reaches the caller. Every write to a cache follows a read of it that would have
  /// raised it first; the noexcept invalidation paths count it as any failure.
  template <class R, class F>
  R guarded(const CacheSlot& slot, R fallback, F&& fn) const {
    try {
      return fn();
    } catch (const ConfigurationError&) {
      throw;
    } catch (const std::exception&) {  // the cache is an optimisation: degrade, count
      count(StatCounters::cache_errors, slot);
      return fallback;
    }
  }

  /// Makes every entry of each row's pk stale: bumps its generation and deletes the
  /// object, all in one bump_and_drop_many call.
  static void invalidate(const CacheSlot& slot, const std::string& prefix, std::span<const RowChange> rows) noexcept {
    try {
      std::vector<std::string> keys;
      keys.reserve(2 * rows.size());
      for (const RowChange& row : rows) {
        if (row.whole_table) {
          unreachable_whole_table(slot);
          continue;
        }
        keys.push_back(entry_key(prefix, 'g', row.pk));
        keys.push_back(entry_key(prefix, 'o', row.pk));
      }
      std::vector<Cache::BumpAndDrop> items;
      items.reserve(keys.size() / 2);
      for (std::size_t i = 0; i < keys.size() / 2; ++i) items.push_back({keys[2 * i], keys[2 * i + 1], fresh_generation()});
      if (!items.empty()) slot.cache->bump_and_drop_many(items);
      slot.stats->bump(StatCounters::invalidations, items.size());
    } catch (const std::exception&) {  // degrade: the entry will be replaced or expire
      slot.stats->bump(StatCounters::cache_errors);
    }
  }

  /// A byte store cannot drop every entry of one table (its keys are not enumerable):
  /// a table-wide change (RowChange::whole_table) leaves them to their TTL. Counted as a
  /// cache error, and said once per model on stderr.
  static void unreachable_whole_table(const CacheSlot& slot) noexcept {
    slot.stats->bump(StatCounters::cache_errors);
    static std::atomic<bool> said{false};
    if (!said.exchange(true))
      std::fprintf(stderr,
                   "gocp: a table-wide change of '%s' (ALTER or DROP TABLE, REPLACE, or raw SQL on a table whose primary key is not "
                   "its rowid) cannot be applied to a shared cache: its entries there may be stale until they expire "
                   "(set ttl_s on the alias, or write such changes through a repository)\n",
                   std::string(model_info<Model>().table).c_str());
  }

  /// An object entry's value and its generation's, as read: the object when its entry is
  /// current (its tag is the generation, it is pk's), `generation` the generation read.
  /// An entry that does not decode is removed (key_of() names it): a miss.
  template <class KeyOf>
  std::optional<Model> current(const Value& pk, std::string_view object, bool object_found, std::string_view tag,
                               bool tag_found, std::optional<std::int64_t>& generation, KeyOf&& key_of) const {
    if (!tag_found) return std::nullopt;
    generation = parse_generation(tag);
    if (!object_found || !generation) return std::nullopt;
    auto decoded = codec::decode_object<Model>(object);
    if (!decoded) {  // another layout, or corrupt: a miss, and the entry goes
      objects_->cache->remove(key_of());
      return std::nullopt;
    }
    if (static_cast<std::int64_t>(decoded->second) != *generation || get_column(decoded->first, pk_index<Model>) != pk)
      return std::nullopt;
    return std::move(decoded->first);
  }

  /// A lookup entry's value: the reference of its pk (what follows the object prefixes
  /// in the pk's entry keys: `i42`, `s<text>`, `#<hash>`), then, for a hashed one, a
  /// space and the pk encoded, to read it back from.
  void write_reference(std::string& out, const Value& pk) const {
    write_entry_key(out, prefix_, 'o', pk);
    out.erase(0, object_prefixes_[0].size());
    if (out[0] == '#') {
      out += ' ';
      out += codec::encode(model_info<Model>().schema_hash, 0, {&pk, 1});
    }
  }

  /// The pk a lookup entry holds (write_reference), or nullopt for anything else.
  static std::optional<Value> parse_reference(std::string_view v) {
    if (v.size() < 2) return std::nullopt;
    const std::string_view rest = v.substr(1);
    switch (v[0]) {
      case 'i': {
        std::int64_t n = 0;
        auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
        if (ec != std::errc{} || end != rest.data() + rest.size()) return std::nullopt;
        return Value(n);
      }
      case 's':
        if (!key_safe(rest)) return std::nullopt;
        return Value(std::string(rest));
      case '#': {
        const std::size_t space = v.find(' ');
        if (space == std::string_view::npos) return std::nullopt;
        const ColumnInfo& pk = model_info<Model>().columns[pk_index<Model>];
        auto d = codec::Decoded::parse(v.substr(space + 1), model_info<Model>().schema_hash, {&pk, 1});
        if (!d) return std::nullopt;
        return read_value(*d, 0, pk.type);
      }
      default:
        return std::nullopt;
    }
  }

  /// in_bulk's per-thread buffers: keys, values and found flags for 2N entries.
  struct BulkScratch {
    std::vector<std::string> keys, values;
    std::unique_ptr<bool[]> found;
    std::size_t capacity = 0;
    void reserve(std::size_t n) {
      if (n <= capacity) return;
      keys.resize(n);
      values.resize(n);
      found.reset(new bool[n]);
      capacity = n;
    }
  };
  static BulkScratch& bulk_scratch() {
    thread_local BulkScratch s;
    return s;
  }

  /// Per-thread buffers for keys and values: the hit path allocates nothing once warm.
  struct Scratch {
    std::string keys[2];
    std::string values[2];
    std::string reference;
    std::string hint;
  };
  static Scratch& scratch() {
    thread_local Scratch s;
    return s;
  }

  static std::optional<std::int64_t> parse_generation(std::string_view s) {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return n;
  }

  std::shared_ptr<CacheSlot> objects_;
  std::shared_ptr<CacheSlot> lookups_;
  std::shared_ptr<StatCounters> repository_stats_;
  std::string prefix_;
  std::string object_prefixes_[2];  ///< `<prefix>o:`, `<prefix>g:`: what a reference follows
  bool follows_ = false;
  /// What each lookup was last seen to refer to (when follows_), for up to this many
  /// lookups (about 50 bytes each).
  static constexpr std::size_t kHints = 1 << 18;
  std::unique_ptr<ReferenceHints> hints_;
  std::shared_ptr<ObjectShelf<Model>> typed_objects_;  ///< when the objects alias is locmem
  std::shared_ptr<LookupShelf<Model>> typed_lookups_;  ///< when the `default` alias is locmem
};

}  // namespace gocp::detail

#if !defined(GOCP_COMPILED)
#include "coherence-inl.hpp"
#endif
