#pragma once
// The typed tier's storage: an in-process, sharded, bounded map of C++ values (objects,
// lookup -> pk mappings), with no encoding on either side. LocMemCache keeps one shelf
// per model and kind (LocMemCache::shelf), and the coherence protocol runs over it with
// typed generations (cache/coherence.hpp):
//
//   ObjectShelf<M>  pk -> {generation, the object if it was read under that generation}
//   LookupShelf     lookup hash -> pk
//
// Readers take a shard's shared lock, so hits on two threads never wait on each other.
// Past its bound a shard drops an entry picked at random (an LRU list would make every
// read a writer). Generations come from one process-wide counter, so no value is ever
// given twice: an entry evicted and made again can never match a reader's old one.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <unordered_map>
#include <utility>

#include "../value.hpp"
#include "cache_keys.hpp"

namespace gocp::detail {

using ShelfClock = std::chrono::steady_clock;

/// Positive, increasing, never reused in this process (the byte tier's are random).
inline std::int64_t next_typed_generation() noexcept {
  static std::atomic<std::int64_t> sequence{1};
  return sequence.fetch_add(1, std::memory_order_relaxed);
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

  template <class F>
  decltype(auto) read(const Key& key, F&& f) const {
    const Shard& s = shard(key);
    std::shared_lock lock(s.mutex);
    auto it = s.map.find(key);
    return f(it == s.map.end() || expired(it->second) ? nullptr : &it->second.value);
  }

  template <class F>
  decltype(auto) write(const Key& key, F&& f) {
    Shard& s = shard(key);
    std::lock_guard lock(s.mutex);
    auto it = s.map.find(key);
    return f(it == s.map.end() || expired(it->second) ? nullptr : &it->second.value);
  }

  /// f(value, made) on the entry under key, made from make() if it was absent or expired.
  template <class Make, class F>
  decltype(auto) emplace(const Key& key, Make&& make, F&& f) {
    Shard& s = shard(key);
    std::lock_guard lock(s.mutex);
    auto it = s.map.find(key);
    bool made = false;
    if (it == s.map.end()) {
      if (s.map.size() >= capacity_) s.drop_one();
      it = s.map.emplace(key, Slot{make(), expiry()}).first;
      made = true;
    } else if (expired(it->second)) {
      it->second = Slot{make(), expiry()};
      made = true;
    }
    return f(it->second.value, made);
  }

  void erase(const Key& key) {
    Shard& s = shard(key);
    std::lock_guard lock(s.mutex);
    s.map.erase(key);
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
    mutable std::shared_mutex mutex;
    std::unordered_map<Key, Slot, Hash, Equal> map;
    std::uint64_t drops = 0;

    /// Drops an entry from a bucket picked at random (the next non-empty one).
    void drop_one() {
      const std::size_t buckets = map.bucket_count();
      std::size_t b = static_cast<std::size_t>(mix64(++drops)) % buckets;
      for (std::size_t tried = 0; tried < buckets; ++tried, b = (b + 1) % buckets) {
        if (map.bucket_size(b) > 0) {
          map.erase(map.begin(b)->first);
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

  /// The object under pk if one was stored under its current generation; `generation`
  /// receives that generation (nullopt when pk has none yet).
  std::optional<Model> get(const Value& pk, std::optional<std::int64_t>& generation) const {
    return shelf_.read(pk, [&](const Entry* e) -> std::optional<Model> {
      if (!e) {
        generation.reset();
        return std::nullopt;
      }
      generation = e->generation;
      return e->object;
    });
  }

  /// pk's current generation, made if it has none.
  std::int64_t generation(const Value& pk) {
    return shelf_.emplace(pk, [] { return Entry{next_typed_generation(), std::nullopt}; },
                          [](const Entry& e, bool) { return e.generation; });
  }

  /// Stores obj, read after `generation` was read, if that is still pk's generation;
  /// false when a write came in between (the fill would be stale) or pk's entry is gone.
  bool store(const Value& pk, const Model& obj, std::int64_t generation) {
    return shelf_.write(pk, [&](Entry* e) {
      if (!e || e->generation != generation) return false;
      e->object = obj;
      return true;
    });
  }

  /// Stores obj, read after `epoch` was read, if no invalidation of this model came
  /// since (then none can have come between the read and now): a fill that needs no
  /// generation read beforehand, hence no second read of the row.
  bool store_if_no_write_since(const Value& pk, const Model& obj, std::uint64_t epoch) {
    return shelf_.emplace(pk, [] { return Entry{next_typed_generation(), std::nullopt}; }, [&](Entry& e, bool) {
      // read under the shard's lock: an invalidation bumps the epoch before it takes it
      if (epoch_.load(std::memory_order_acquire) != epoch) return false;
      e.object = obj;
      return true;
    });
  }

  /// The count of invalidations so far (see store_if_no_write_since).
  std::uint64_t epoch() const noexcept { return epoch_.load(std::memory_order_acquire); }

  /// Makes every entry of each pk stale: a new generation, no object.
  void invalidate(std::span<const Value* const> pks) {
    epoch_.fetch_add(1, std::memory_order_acq_rel);
    for (const Value* pk : pks) {
      shelf_.write(*pk, [](Entry* e) {
        if (!e) return;
        e->generation = next_typed_generation();
        e->object.reset();
      });
    }
  }

  std::size_t size() const { return shelf_.size(); }

 private:
  struct Entry {
    std::int64_t generation;
    std::optional<Model> object;
  };
  Shelf<Value, Entry, PkHash> shelf_;
  std::atomic<std::uint64_t> epoch_{0};
};

/// One model's lookup -> pk mappings. Not invalidated by writes: a mapped object is
/// checked against the lookup before it is served.
class LookupShelf {
 public:
  LookupShelf(std::size_t max_entries, std::chrono::seconds ttl) : shelf_(max_entries, ttl) {}

  std::optional<Value> find(const Hash128& lookup) const {
    return shelf_.read(lookup, [](const Value* pk) { return pk ? std::optional<Value>(*pk) : std::nullopt; });
  }
  void remember(const Hash128& lookup, const Value& pk) {
    shelf_.emplace(lookup, [&] { return pk; }, [&](Value& v, bool made) {
      if (!made) v = pk;
    });
  }
  std::size_t size() const { return shelf_.size(); }

 private:
  Shelf<Hash128, Value, LookupHash, LookupEqual> shelf_;
};

}  // namespace gocp::detail
