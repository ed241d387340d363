#pragma once
/// \file
/// `locmem:///?max_entries=N&ttl_s=S`: the in-process cache. Thread-safe through
/// sharded locks; each shard is an LRU bounded by its share of `max_entries` (default
/// 10000); entries expire after `ttl_s` seconds (default 0: never). Values are the
/// encoded bytes the codec writes, exactly as a network cache would hold them, so a
/// model's layout change or a corrupt entry is handled the same way everywhere.
/// While no entry can expire it reports a contents_version(), which lets the cached
/// get_or_create keep a per-thread memo of its hits (detail/hit_memo.hpp).

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <limits>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "../detail/string_hash.hpp"
#include "cache.hpp"

namespace gocp {

class LocMemCache final : public Cache {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LocMemCache(std::size_t max_entries = 10'000, Ttl default_ttl = Ttl{0})
      : shard_count_(std::clamp<std::size_t>(max_entries, 1, kShards)), default_ttl_(default_ttl) {
    for (auto& s : shards_) s.owner = this;
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
    changed();
    return n;
  }

  std::optional<std::uint64_t> contents_version() const noexcept override {
    if (default_ttl_.count() > 0) return std::nullopt;
    const std::uint64_t v = version_.load(std::memory_order_acquire);
    // read after the version: an expiring entry's write is counted before its version
    if (expiring_.load(std::memory_order_relaxed) > 0) return std::nullopt;
    return v;
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

  /// Called after every change to the contents, before the shard's lock is released: a
  /// reader that sees the change (it must take the lock) also sees the new version.
  void changed() noexcept { version_.store(next_version(), std::memory_order_release); }

  /// Versions come from one process-wide sequence, so no two caches share one.
  static std::uint64_t next_version() noexcept {
    static std::atomic<std::uint64_t> sequence{1};
    return sequence.fetch_add(1, std::memory_order_relaxed);
  }

  static bool can_expire(const Entry& e) noexcept { return e.expires != Clock::time_point::max(); }

  struct Shard {
    LocMemCache* owner = nullptr;
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
        count_expiring(*it->second, -1);
        it->second->value.assign(value);
        it->second->expires = expires;
        count_expiring(*it->second, +1);
        lru.splice(lru.begin(), lru, it->second);
        owner->changed();
        return;
      }
      lru.push_front(Entry{std::string(key), std::string(value), expires});
      count_expiring(lru.front(), +1);
      index.emplace(lru.front().key, lru.begin());  // the view points into the list node, which never moves
      while (index.size() > capacity) erase(index.find(lru.back().key));
      owner->changed();
    }

    void erase(decltype(index)::iterator it) {
      auto node = it->second;
      count_expiring(*node, -1);
      index.erase(it);
      lru.erase(node);
      owner->changed();
    }

    void count_expiring(const Entry& e, int delta) noexcept {
      if (can_expire(e)) owner->expiring_.fetch_add(static_cast<std::size_t>(delta), std::memory_order_relaxed);
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
  Ttl default_ttl_;
  std::atomic<std::uint64_t> version_{next_version()};
  std::atomic<std::size_t> expiring_{0};  ///< entries with an expiry, across shards
  std::array<Shard, kShards> shards_;
};

}  // namespace gocp
