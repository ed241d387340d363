#pragma once
/// \file
/// `locmem:///?max_entries=N&ttl_s=S`: the in-process cache. Thread-safe through
/// sharded locks; each shard is an LRU bounded by its share of `max_entries` (default
/// 10000); entries expire after `ttl_s` seconds (default 0: never). Values are the
/// encoded bytes the codec writes, exactly as a network cache would hold them, so a
/// model's layout change or a corrupt entry is handled the same way everywhere.
///
/// It is also the typed tier: shelf() gives the coherence protocol a store of C++ objects
/// (cache/detail/typed_shelf.hpp) per model and kind, with the same bound (`max_entries` per
/// shelf) and TTL. Repositories whose aliases are locmem use those, not the bytes: a hit
/// decodes nothing and a write invalidates only the rows it wrote.

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <typeindex>
#include <unordered_map>
#include <utility>

#include "../detail/string_hash.hpp"
#include "../spi/cache.hpp"

namespace gocp {

/// The in-process byte cache and typed tier (see the file comment). Thread-safe; one per
/// `locmem:///name` per process, so registries naming it share it.
class LocMemCache final : public Cache {
 public:
  using Clock = std::chrono::steady_clock;  ///< TTLs run on it: a wall-clock jump expires nothing

  /// At most `max_entries` entries (the least recently used go first, per shard; 0 stores nothing), each living
  /// `default_ttl` when a call passes a TTL of 0 (0 here too: never expire).
  explicit LocMemCache(std::size_t max_entries = 10'000, Ttl default_ttl = Ttl{0})
      : shard_count_(std::clamp<std::size_t>(max_entries, 1, kShards)), max_entries_(max_entries), default_ttl_(default_ttl) {
    // split max_entries exactly: the first max % n shards hold one more
    for (std::size_t i = 0; i < shard_count_; ++i)
      shards_[i].capacity = max_entries / shard_count_ + (i < max_entries % shard_count_ ? 1 : 0);
  }

  bool get_into(std::string_view key, std::string& value) override {
    Shard& s = shard(key);
    std::lock_guard lock(s.mutex);
    auto* e = s.find_live(key);
    if (!e) return false;
    value.assign(e->value);
    return true;
  }

  void set(std::string_view key, std::string_view value, Ttl ttl = Ttl{0}) override {
    Shard& s = shard(key);
    std::lock_guard lock(s.mutex);
    s.put(key, value, expiry(ttl));
  }

  bool add(std::string_view key, std::string_view value, Ttl ttl = Ttl{0}) override {
    Shard& s = shard(key);
    std::lock_guard lock(s.mutex);
    if (s.find_live(key)) return false;
    s.put(key, value, expiry(ttl));
    return true;
  }

  bool remove(std::string_view key) override {
    Shard& s = shard(key);
    std::lock_guard lock(s.mutex);
    auto it = s.index.find(key);
    if (it == s.index.end()) return false;
    s.erase(it);
    return true;
  }

  std::optional<std::int64_t> increment(std::string_view key, std::int64_t delta = 1) override {
    Shard& s = shard(key);
    std::lock_guard lock(s.mutex);
    auto* e = s.find_live(key);
    if (!e) return std::nullopt;
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(e->value.data(), e->value.data() + e->value.size(), n);
    if (ec != std::errc{} || end != e->value.data() + e->value.size()) return std::nullopt;
    using limits = std::numeric_limits<std::int64_t>;
    if (delta > 0 ? n > limits::max() - delta : n < limits::min() - delta)
      return std::nullopt;  // would overflow: refused, as Redis does, the value left as it was
    n += delta;
    e->value = std::to_string(n);
    return n;
  }

  /// The typed store of kind `Shelf` named `name` (a model's name), made on first use;
  /// every caller naming the same pair shares it for as long as this cache lives.
  template <class Shelf>
  std::shared_ptr<Shelf> shelf(std::string_view name) {
    std::lock_guard lock(shelves_mutex_);
    auto& held = shelves_[{std::string(name), std::type_index(typeid(Shelf))}];
    if (!held) held = std::make_shared<Shelf>(max_entries_, default_ttl_);
    return std::static_pointer_cast<Shelf>(held);
  }

  /// Live entries across shards (expired ones not yet swept may be counted).
  std::size_t size() const {
    std::size_t n = 0;
    for (auto& s : shards_) {
      std::lock_guard lock(s.mutex);
      n += s.index.size();
    }
    return n;
  }

 private:
  static constexpr std::size_t kShards = 16;

  struct Entry {
    std::string key;
    std::string value;
    Clock::time_point expires;  // time_point::max(): never
  };

  static bool can_expire(const Entry& e) noexcept { return e.expires != Clock::time_point::max(); }

  struct Shard {
    std::size_t capacity = 0;
    mutable std::mutex mutex;
    std::list<Entry> lru;  // front: most recently used
    std::unordered_map<std::string_view, std::list<Entry>::iterator, detail::StringHash, std::equal_to<>> index;

    Entry* find_live(std::string_view key) {
      auto it = index.find(key);
      if (it == index.end()) return nullptr;
      // read the clock only for entries that can expire: it costs as much as the lookup
      if (can_expire(*it->second) && it->second->expires <= Clock::now()) {
        erase(it);
        return nullptr;
      }
      lru.splice(lru.begin(), lru, it->second);
      return &*it->second;
    }

    void put(std::string_view key, std::string_view value, Clock::time_point expires) {
      if (auto it = index.find(key); it != index.end()) {
        it->second->value.assign(value);
        it->second->expires = expires;
        lru.splice(lru.begin(), lru, it->second);
        return;
      }
      lru.push_front(Entry{std::string(key), std::string(value), expires});
      index.emplace(lru.front().key, lru.begin());  // the view points into the list node, which never moves
      while (index.size() > capacity) erase(index.find(lru.back().key));
    }

    void erase(decltype(index)::iterator it) {
      auto node = it->second;
      index.erase(it);
      lru.erase(node);
    }
  };

  /// Keys share long prefixes and differ at the end: pick the shard from the last bytes,
  /// so a lookup hashes the key once (in the shard's map), not twice.
  Shard& shard(std::string_view key) {
    std::uint64_t tail = key.size();
    for (std::size_t i = key.size() > 8 ? key.size() - 8 : 0; i < key.size(); ++i)
      tail = (tail << 8) ^ static_cast<unsigned char>(key[i]);
    tail *= 0x9e3779b97f4a7c15ull;
    return shards_[(tail >> 32) % shard_count_];
  }

  Clock::time_point expiry(Ttl ttl) const {
    const Ttl effective = ttl.count() > 0 ? ttl : default_ttl_;
    return effective.count() > 0 ? Clock::now() + effective : Clock::time_point::max();
  }

  std::size_t shard_count_;
  std::size_t max_entries_;
  Ttl default_ttl_;
  std::array<Shard, kShards> shards_;
  std::mutex shelves_mutex_;
  std::map<std::pair<std::string, std::type_index>, std::shared_ptr<void>> shelves_;
};

}  // namespace gocp
