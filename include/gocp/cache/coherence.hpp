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
// Invalidation is a subscriber of the Database's change stream, one per objects cache
// and model: every committed write to the table, through any repository (with caches or
// without, of any registry), bumps the written keys. No verb invalidates by hand.

#include <charconv>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <typeindex>
#include <utility>

#include "../db/change_stream.hpp"
#include "../detail/cache_keys.hpp"
#include "../detail/hit_memo.hpp"
#include "../stats.hpp"
#include "codec.hpp"
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
  }

  bool has_lookups() const noexcept { return lookups_ != nullptr; }

  /// Invalidates this objects cache on every change of the model's table in `changes`
  /// (once per cache, however many repositories share it), for as long as the cache's
  /// alias is alive.
  void subscribe(ChangeStream& changes) const {
    const CacheSlot* slot = objects_.get();
    changes.subscribe_keyed(model_info<Model>().table, slot->cache.get(), objects_,
                            [slot, prefix = prefix_](const RowChange& change) { invalidate(*slot, prefix, change.pk); });
  }

  /// The cached object under `pk` when its entry is current; `generation` receives the
  /// current generation (nullopt if the cache could not tell), for a later fill.
  std::optional<Model> get(const Value& pk, std::optional<std::int64_t>& generation) const {
    generation.reset();
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

  /// The current generation of `pk`, made fresh if it has none.
  std::optional<std::int64_t> generation(const Value& pk) const {
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

  /// Stores `obj`, read from the database after `generation` was read.
  void store(const Model& obj, std::int64_t generation) const {
    guarded(*objects_, false, [&] {
      objects_->cache->set(entry_key(prefix_, 'o', get_column(obj, pk_index<Model>)),
                           codec::encode_object(obj, static_cast<std::uint64_t>(generation)));
      count(&StatCounters::fills, *objects_);
      return true;
    });
  }

  /// Counts `n` rows this repository's writes invalidated.
  void count_invalidations(std::uint64_t n) const { StatCounters::bump(repository_stats_->invalidations, n); }

  /// The pk a lookup mapped to, if cached (verified by the caller against the object).
  std::optional<Value> lookup(std::string_view key) const {
    return guarded(*lookups_, std::optional<Value>{}, [&]() -> std::optional<Value> {
      std::string& bytes = scratch().values[0];
      if (!lookups_->cache->get_into(key, bytes)) return std::nullopt;
      const ColumnInfo& pk = model_info<Model>().columns[pk_index<Model>];
      auto d = codec::Decoded::parse(bytes, model_info<Model>().schema_hash, {&pk, 1});
      if (!d) {
        lookups_->cache->remove(key);
        return std::nullopt;
      }
      return read_value(*d, 0, pk.type);
    });
  }

  void remember_lookup(std::string_view key, const Value& pk) const {
    guarded(*lookups_, false, [&] {
      lookups_->cache->set(key, codec::encode(model_info<Model>().schema_hash, 0, {&pk, 1}));
      count(&StatCounters::fills, *lookups_);
      return true;
    });
  }

  /// Writes the lookup key of a lookup hash (see lookup_hash()) into `out`.
  void lookup_key(std::string& out, const Hash128& lookup) const { write_lookup_key(out, prefix_, lookup); }

  /// The contents versions of both caches, when both can report one (see HitMemo).
  std::optional<CacheVersions> versions() const noexcept {
    const auto lookups = lookups_->cache->contents_version();
    const auto objects = objects_->cache->contents_version();
    if (!lookups || !objects) return std::nullopt;
    return CacheVersions{*lookups, *objects};
  }

  /// Counts a hit or miss of the objects alias, for the repository and the alias.
  void count(std::atomic<std::uint64_t> StatCounters::*counter) const { count(counter, *objects_); }

 private:
  void count(std::atomic<std::uint64_t> StatCounters::*counter, const CacheSlot& slot) const {
    StatCounters::bump((*repository_stats_).*counter);
    StatCounters::bump((*slot.stats).*counter);
  }

  template <class R, class F>
  R guarded(const CacheSlot& slot, R fallback, F&& fn) const {
    try {
      return fn();
    } catch (const std::exception&) {  // the cache is an optimisation: degrade, count
      count(&StatCounters::cache_errors, slot);
      return fallback;
    }
  }

  /// Makes every entry of `pk` stale: bumps its generation and deletes the object.
  static void invalidate(const CacheSlot& slot, const std::string& prefix, const Value& pk) noexcept {
    try {
      const std::string key = entry_key(prefix, 'g', pk);
      if (!slot.cache->increment(key)) slot.cache->set(key, std::to_string(fresh_generation()));
      slot.cache->remove(entry_key(prefix, 'o', pk));
      StatCounters::bump(slot.stats->invalidations);
    } catch (const std::exception&) {  // degrade: the entry will be replaced or expire
      StatCounters::bump(slot.stats->cache_errors);
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
};

}  // namespace gocp::detail
