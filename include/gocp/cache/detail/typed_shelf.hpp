#pragma once
// The typed tier's storage: an in-process, sharded, bounded map of C++ values (objects,
// lookup -> pk mappings), with no encoding on either side. LocMemCache keeps one shelf
// per model and kind (LocMemCache::shelf), and the coherence protocol runs over it with
// typed generations (cache/coherence.hpp):
//
//   ObjectShelf<M>  pk -> {generation, the object if it was read under that generation}
//   LookupShelf<M>  lookup hash -> pk, and a copy of the object its fill stored or a hit
//                   found, kept while its row is not written: a hit is one lookup under
//                   one lock
//
// Readers take a shard's shared lock (a spin lock: it is held for a lookup and a copy),
// so hits on two threads never wait on each other.
// Past its bound a shard drops an entry picked at random (an LRU list would make every
// read a writer). Generations come from one process-wide counter, so no value is ever
// given twice: an entry evicted and made again can never match a reader's old one.
//
// An object entry's generation lives in a shared cell (GenerationCell) that a lookup
// entry keeps: while the cell still holds the generation the hit saw, the object entry
// still holds the object the hit copied. Every write, eviction, expiry and the shelf's
// end retire the cell's value, so a kept cell never vouches for a stale object.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>  // std::shared_lock
#include <span>
#include <unordered_map>
#include <utility>

#include "../../value.hpp"
#include "cache_keys.hpp"
#include "lookup_words.hpp"
#include "../../detail/shared_spin_lock.hpp"

namespace gocp::detail {

using ShelfClock = std::chrono::steady_clock;

/// Positive, increasing, never reused in this process (the byte tier's are random).
inline std::int64_t next_typed_generation() noexcept {
  static std::atomic<std::int64_t> sequence{1};
  return sequence.fetch_add(1, std::memory_order_relaxed);
}

/// An object entry's current generation; 0 once the entry is gone.
using GenerationCell = std::atomic<std::int64_t>;

/// What a hit on an object entry saw, for a lookup entry to keep (see GenerationCell).
struct SeenGeneration {
  std::shared_ptr<const GenerationCell> cell;
  std::int64_t generation = 0;
  ShelfClock::time_point expires = ShelfClock::time_point::max();

  /// The entry still holds what was seen: no write, eviction or expiry since.
  bool current() const noexcept {
    return cell && cell->load(std::memory_order_acquire) == generation &&
           (expires == ShelfClock::time_point::max() || expires > ShelfClock::now());
  }
};

/// Calls v.retire() when V has one: a value leaving its shelf (evicted, expired, erased).
template <class V>
void retire(V& v) noexcept {
  if constexpr (requires { v.retire(); }) v.retire();
}

struct PkHash {
  std::size_t operator()(const Value& v) const noexcept {
    if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<std::size_t>(mix64(static_cast<std::uint64_t>(*i)));
    Hash128 h;
    h.add(v);
    return static_cast<std::size_t>(h.finished().a);
  }
};

struct LookupHash {
  std::size_t operator()(const Hash128& h) const noexcept { return static_cast<std::size_t>(h.a); }
};
struct LookupEqual {
  bool operator()(const Hash128& x, const Hash128& y) const noexcept { return x.a == y.a && x.b == y.b; }
};

/// Key -> V in kShards shards, each bounded by its share of `max_entries`; entries live
/// `ttl` (0: until dropped). read() and write() hand the callback the live value or
/// nullptr; emplace() makes it first when absent or expired.
template <class Key, class V, class Hash, class Equal = std::equal_to<>>
class Shelf {
 public:
  Shelf(std::size_t max_entries, std::chrono::seconds ttl)
      : capacity_(max_entries / kShards + 1), ttl_(ttl) {}
  Shelf(const Shelf&) = delete;
  Shelf& operator=(const Shelf&) = delete;
  ~Shelf() {
    for (Shard& s : shards_)
      for (auto& [key, slot] : s.map) retire(slot.value);
  }

  /// read() that also hands f the entry's expiry (time_point::max(): never).
  template <class F>
  decltype(auto) read_with_expiry(const Key& key, F&& f) const {
    const Shard& s = shard(key);
    std::shared_lock lock(s.mutex);
    auto it = s.map.find(key);
    if (it == s.map.end() || expired(it->second)) return f(nullptr, ShelfClock::time_point::max());
    return f(&it->second.value, it->second.expires);
  }

  template <class F>
  decltype(auto) read(const Key& key, F&& f) const {
    const Shard& s = shard(key);
    std::shared_lock lock(s.mutex);
    auto it = s.map.find(key);
    return f(it == s.map.end() || expired(it->second) ? nullptr : &it->second.value);
  }

  template <class F>
  decltype(auto) write(const Key& key, F&& f) {
    return write_with_expiry(key, [&](V* v, ShelfClock::time_point) -> decltype(auto) { return f(v); });
  }

  /// write() that also hands f the entry's expiry, as read_with_expiry().
  template <class F>
  decltype(auto) write_with_expiry(const Key& key, F&& f) {
    Shard& s = shard(key);
    std::lock_guard lock(s.mutex);
    auto it = s.map.find(key);
    if (it == s.map.end() || expired(it->second)) return f(nullptr, ShelfClock::time_point::max());
    return f(&it->second.value, it->second.expires);
  }

  /// f(value, made) on the entry under key, made from make() if it was absent or expired.
  template <class Make, class F>
  decltype(auto) emplace(const Key& key, Make&& make, F&& f) {
    return emplace_with_expiry(key, make, [&](V& v, bool made, ShelfClock::time_point) -> decltype(auto) { return f(v, made); });
  }

  /// emplace() that also hands f the entry's expiry, as read_with_expiry().
  template <class Make, class F>
  decltype(auto) emplace_with_expiry(const Key& key, Make&& make, F&& f) {
    Shard& s = shard(key);
    std::lock_guard lock(s.mutex);
    auto it = s.map.find(key);
    bool made = false;
    if (it == s.map.end()) {
      if (s.map.size() >= capacity_) s.drop_one();
      it = s.map.emplace(key, Slot{make(), expiry()}).first;
      made = true;
    } else if (expired(it->second)) {
      retire(it->second.value);
      it->second = Slot{make(), expiry()};
      made = true;
    }
    return f(it->second.value, made, it->second.expires);
  }

  void erase(const Key& key) {
    Shard& s = shard(key);
    std::lock_guard lock(s.mutex);
    if (auto it = s.map.find(key); it != s.map.end()) {
      retire(it->second.value);
      s.map.erase(it);
    }
  }

  /// Drops every entry.
  void clear() {
    for (Shard& s : shards_) {
      std::lock_guard lock(s.mutex);
      for (auto& [key, slot] : s.map) retire(slot.value);
      s.map.clear();
    }
  }

  /// Entries across shards (expired ones not yet replaced may be counted).
  std::size_t size() const {
    std::size_t n = 0;
    for (const Shard& s : shards_) {
      std::shared_lock lock(s.mutex);
      n += s.map.size();
    }
    return n;
  }

 private:
  static constexpr std::size_t kShards = 16;

  struct Slot {
    V value;
    ShelfClock::time_point expires;  // time_point::max(): never
  };

  struct Shard {
    mutable SharedSpinLock mutex;  // held for one lookup and one copy: see shared_spin_lock.hpp
    std::unordered_map<Key, Slot, Hash, Equal> map;
    std::uint64_t drops = 0;

    /// Drops an entry from a bucket picked at random (the next non-empty one).
    void drop_one() {
      const std::size_t buckets = map.bucket_count();
      std::size_t b = static_cast<std::size_t>(mix64(++drops)) % buckets;
      for (std::size_t tried = 0; tried < buckets; ++tried, b = (b + 1) % buckets) {
        if (map.bucket_size(b) > 0) {
          auto victim = map.find(map.begin(b)->first);
          retire(victim->second.value);
          map.erase(victim);
          return;
        }
      }
    }
  };

  // the read path reads the clock only when entries can expire: it costs as much as the lookup
  bool expired(const Slot& s) const noexcept { return ttl_.count() > 0 && s.expires <= ShelfClock::now(); }
  ShelfClock::time_point expiry() const {
    return ttl_.count() > 0 ? ShelfClock::now() + ttl_ : ShelfClock::time_point::max();
  }

  const Shard& shard(const Key& key) const { return shards_[(Hash{}(key) >> 32) % kShards]; }
  Shard& shard(const Key& key) { return shards_[(Hash{}(key) >> 32) % kShards]; }

  std::size_t capacity_;
  std::chrono::seconds ttl_;
  std::array<Shard, kShards> shards_;
};

/// One model's objects: the coherence protocol's generation and object per pk, in one
/// entry, so reading both is one lookup under one lock.
template <class Model>
class ObjectShelf {
 public:
  ObjectShelf(std::size_t max_entries, std::chrono::seconds ttl) : shelf_(max_entries, ttl) {}

  /// Copies into `out` the object under pk if one was stored under its current
  /// generation (false, `out` untouched, if none was); `generation` receives that
  /// generation (nullopt when pk has none yet), `seen` (when given) what a lookup entry
  /// needs to keep the hit.
  bool get_into(const Value& pk, Model& out, std::optional<std::int64_t>& generation, SeenGeneration* seen = nullptr) const {
    return shelf_.read_with_expiry(pk, [&](const Entry* e, ShelfClock::time_point expires) {
      if (!e) {
        generation.reset();
        return false;
      }
      generation = e->cell->load(std::memory_order_relaxed);  // under the shard's lock
      if (!e->object) return false;
      if (seen) *seen = SeenGeneration{e->cell, *generation, expires};
      out = *e->object;
      return true;
    });
  }

  /// get_into() as an optional: the object, or nullopt.
  std::optional<Model> get(const Value& pk, std::optional<std::int64_t>& generation, SeenGeneration* seen = nullptr) const {
    std::optional<Model> out{std::in_place};
    if (!get_into(pk, *out, generation, seen)) out.reset();
    return out;
  }

  /// pk's current generation, made if it has none.
  std::int64_t generation(const Value& pk) {
    return shelf_.emplace(pk, make_entry, [](const Entry& e, bool) { return e.cell->load(std::memory_order_relaxed); });
  }

  /// Stores obj, read after `generation` was read, if that is still pk's generation;
  /// false when a write came in between (the fill would be stale) or pk's entry is gone.
  /// `seen` (when given) receives what a lookup entry needs to keep obj.
  bool store(const Value& pk, const Model& obj, std::int64_t generation, SeenGeneration* seen = nullptr) {
    return shelf_.write_with_expiry(pk, [&](Entry* e, ShelfClock::time_point expires) {
      if (!e || e->cell->load(std::memory_order_relaxed) != generation) return false;
      e->object = obj;
      if (seen) *seen = SeenGeneration{e->cell, generation, expires};
      return true;
    });
  }

  /// Stores obj, read after `epoch` was read, if no invalidation of this model came
  /// since (then none can have come between the read and now): a fill that needs no
  /// generation read beforehand, hence no second read of the row. `seen` as for store().
  bool store_if_no_write_since(const Value& pk, const Model& obj, std::uint64_t epoch, SeenGeneration* seen = nullptr) {
    return shelf_.emplace_with_expiry(pk, make_entry, [&](Entry& e, bool, ShelfClock::time_point expires) {
      // read under the shard's lock: an invalidation bumps the epoch before it takes it
      if (epoch_.load(std::memory_order_acquire) != epoch) return false;
      e.object = obj;
      if (seen) *seen = SeenGeneration{e.cell, e.cell->load(std::memory_order_relaxed), expires};
      return true;
    });
  }

  /// The count of invalidations so far that could make a read stale (see
  /// store_if_no_write_since and invalidate).
  std::uint64_t epoch() const noexcept { return epoch_.load(std::memory_order_acquire); }

  /// Makes every entry of each pk stale: a new generation, no object. `new_keys_only`:
  /// every pk is a row inserted under a key that held none, which no read before can
  /// have found: the epoch is left as it is, so a fill read before (get_or_create's own
  /// create among them) is still taken.
  void invalidate(std::span<const Value* const> pks, bool new_keys_only = false) {
    if (!new_keys_only) epoch_.fetch_add(1, std::memory_order_acq_rel);
    for (const Value* pk : pks) {
      shelf_.write(*pk, [](Entry* e) {
        if (!e) return;
        e->cell->store(next_typed_generation(), std::memory_order_release);
        e->object.reset();
      });
    }
  }

  /// Makes every entry stale (a table-wide change): the epoch moves, so no fill read
  /// before is taken, and every entry goes, so no store under an old generation is.
  void invalidate_all() {
    epoch_.fetch_add(1, std::memory_order_acq_rel);
    shelf_.clear();
  }

  std::size_t size() const { return shelf_.size(); }

 private:
  struct Entry {
    std::shared_ptr<GenerationCell> cell;
    std::optional<Model> object;
    void retire() noexcept { cell->store(0, std::memory_order_release); }
  };
  static Entry make_entry() { return Entry{std::make_shared<GenerationCell>(next_typed_generation()), std::nullopt}; }

  Shelf<Value, Entry, PkHash> shelf_;
  std::atomic<std::uint64_t> epoch_{0};
};

/// One model's lookup -> pk mappings, keyed by lookup_words(). Not invalidated by
/// writes: a mapped object is checked against the lookup before it is served. A mapping
/// also keeps an object (the one its fill read, or its last hit found) with the words of
/// the filters and lookup it answered: served for equal words while that object's entry
/// is unchanged, it needs no other lookup and no match (it matched when kept, and its
/// row is as it was).
template <class Model>
class LookupShelf {
 public:
  LookupShelf(std::size_t max_entries, std::chrono::seconds ttl) : shelf_(max_entries, ttl) {}

  /// Copies into `out` the object kept under `key` when it answered a query of these
  /// `words` and its row has not been written since, and returns true; else false, with
  /// `pk` receiving the pk `key` maps to, if any (`out` untouched).
  bool find(const Hash128& key, std::span<const std::uint64_t> words, Model& out, std::optional<Value>& pk) const {
    return shelf_.read(key, [&](const Entry* e) {
      if (!e) return false;
      if (same_words(e->words, words) && e->seen.current()) {  // no object kept: no cell
        out = e->object;
        return true;
      }
      pk = e->pk;
      return false;
    });
  }

  /// Maps `key` to `pk` (with no object kept).
  void remember(const Hash128& key, const Value& pk) {
    shelf_.emplace(key, [&] { return Entry{pk}; }, [&](Entry& e, bool made) {
      if (made) return;
      e.pk = pk;
      e.seen = {};
    });
  }

  /// Maps `key` to the pk of `object`, the answer to a query of these `words` read from
  /// an object entry that showed `seen` (a verified hit, or the fill that stored it),
  /// and keeps the object while that entry is unchanged.
  void remember_hit(const Hash128& key, std::span<const std::uint64_t> words, const Value& pk, const Model& object,
                    SeenGeneration seen) {
    shelf_.emplace(key, [&] { return Entry{pk}; }, [&](Entry& e, bool) {
      e.pk = pk;
      e.seen = std::move(seen);
      e.object = object;
      e.words.assign(words);
    });
  }

  std::size_t size() const { return shelf_.size(); }

 private:
  struct Entry {  // what a hit reads, in the order it reads it: the pk only on the longer path
    explicit Entry(const Value& p) : pk(p) {}
    SeenGeneration seen{};  ///< no cell: no object kept
    KeptWords words{};
    Model object{};
    Value pk;
  };
  Shelf<Hash128, Entry, LookupHash, LookupEqual> shelf_;
};

}  // namespace gocp::detail
