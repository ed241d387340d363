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
// the same rules hold on the typed shelves of detail/typed_shelf.hpp: a generation and
// the object share one entry, a fill under a stale generation is refused at once, and
// nothing is encoded. The typed tier also fills a miss without reading the row twice:
// it reads the model's invalidation count (its epoch) before the database, and the fill
// is refused if any invalidation of the model came since (an insert under a new key is
// none: no earlier read can have found that row, so a create's own row is stored as the
// INSERT returned it). A lookup's entry keeps the object its fill stored or its last hit
// found, served while that row is not written: one lookup per hit, the first included.
//
// Invalidation is a subscriber of the Database's change stream, one per objects cache
// and model: every committed write to the table, through any repository (with caches or
// without, of any registry), bumps the written keys -- only those: a write to one row
// leaves every other row's entries current. The rows of one write or one commit arrive
// together and are invalidated in one call. No verb invalidates by hand.

#include <charconv>
#include <cstdint>
#include <memory>
#include <span>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <typeindex>
#include <utility>
#include <vector>

#include "../db/change_stream.hpp"
#include "../detail/cache_keys.hpp"
#include "../detail/small_vector.hpp"
#include "../detail/typed_shelf.hpp"
#include "../stats.hpp"
#include "codec.hpp"
#include "locmem.hpp"
#include "registry.hpp"

namespace gocp::detail {

inline std::int64_t fresh_generation() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^ (std::uint64_t{std::random_device{}()} << 32)};
  return static_cast<std::int64_t>(rng() >> 2) + 1;  // positive, far from small counters
}

template <class Model>
class ModelCaches {
 public:
  ModelCaches(const CacheRegistry& registry, std::shared_ptr<StatCounters> repository_stats, bool with_lookups)
      : objects_(registry.slot(model_info<Model>().name)),
        lookups_(with_lookups ? registry.slot("default") : nullptr),
        repository_stats_(std::move(repository_stats)),
        prefix_(key_prefix(model_info<Model>())) {
    registry.claim_model_name(model_info<Model>().name, std::type_index(typeid(Model)));
    // an in-process alias is the typed tier (the shelves are named by the key prefix:
    // model and schema, as the byte keys are)
    if (auto* local = dynamic_cast<LocMemCache*>(objects_->cache.get()))
      typed_objects_ = local->template shelf<ObjectShelf<Model>>(prefix_);
    if (lookups_)
      if (auto* local = dynamic_cast<LocMemCache*>(lookups_->cache.get()))
        typed_lookups_ = local->template shelf<LookupShelf<Model>>(prefix_);
  }

  bool has_lookups() const noexcept { return lookups_ != nullptr; }

  /// Invalidates this objects cache on every change of the model's table in `changes`
  /// (once per cache, however many repositories share it), for as long as the cache's
  /// alias is alive: the rows of one write or commit in one call.
  void subscribe(ChangeStream& changes) const {
    const CacheSlot* slot = objects_.get();
    if (ObjectShelf<Model>* shelf = typed_objects_.get()) {
      changes.subscribe_keyed_batch(model_info<Model>().table, shelf, objects_, [slot, shelf](std::span<const RowChange> rows) {
        SmallVector<const Value*, 4> pks;
        pks.reserve(rows.size());
        bool new_keys_only = true;
        for (const RowChange& row : rows) {
          pks.emplace_back(&row.pk);
          new_keys_only = new_keys_only && row.is_insert();
        }
        shelf->invalidate(pks, new_keys_only);
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
      if (!found[1]) return std::nullopt;
      generation = parse_generation(k.values[1]);
      if (!found[0] || !generation) return std::nullopt;
      auto decoded = codec::decode_object<Model>(k.values[0]);
      if (!decoded) {  // another layout, or corrupt: a miss, and the entry goes
        objects_->cache->remove(keys[0]);
        return std::nullopt;
      }
      if (static_cast<std::int64_t>(decoded->second) != *generation || get_column(decoded->first, pk_index<Model>) != pk)
        return std::nullopt;
      return std::move(decoded->first);
    });
  }

 public:

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
      std::string& bytes = k.values[0];
      if (!lookups_->cache->get_into(k.keys[0], bytes)) return std::nullopt;
      const ColumnInfo& pk = model_info<Model>().columns[pk_index<Model>];
      auto d = codec::Decoded::parse(bytes, model_info<Model>().schema_hash, {&pk, 1});
      if (!d) {
        lookups_->cache->remove(k.keys[0]);
        return std::nullopt;
      }
      return read_value(*d, 0, pk.type);
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
      lookups_->cache->set(k.keys[0], codec::encode(model_info<Model>().schema_hash, 0, {&pk, 1}));
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
  void count(StatCounters::Counter counter, const CacheSlot& slot) const {
    repository_stats_->bump(counter);
    slot.stats->bump(counter);
  }

  template <class R, class F>
  R guarded(const CacheSlot& slot, R fallback, F&& fn) const {
    try {
      return fn();
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
        keys.push_back(entry_key(prefix, 'g', row.pk));
        keys.push_back(entry_key(prefix, 'o', row.pk));
      }
      std::vector<Cache::BumpAndDrop> items;
      items.reserve(rows.size());
      for (std::size_t i = 0; i < rows.size(); ++i) items.push_back({keys[2 * i], keys[2 * i + 1], fresh_generation()});
      slot.cache->bump_and_drop_many(items);
      slot.stats->bump(StatCounters::invalidations, rows.size());
    } catch (const std::exception&) {  // degrade: the entry will be replaced or expire
      slot.stats->bump(StatCounters::cache_errors);
    }
  }

  /// Per-thread buffers for keys and values: the hit path allocates nothing once warm.
  struct Scratch {
    std::string keys[2];
    std::string values[2];
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
  std::shared_ptr<ObjectShelf<Model>> typed_objects_;  ///< when the objects alias is locmem
  std::shared_ptr<LookupShelf<Model>> typed_lookups_;  ///< when the `default` alias is locmem
};

}  // namespace gocp::detail
