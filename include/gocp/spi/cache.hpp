#pragma once
/// \file
/// The cache interface every backend implements (locmem, dummy, redis, memcached):
/// byte values under string keys, with TTLs. gocp's policies use only these verbs, so a
/// user's own backend is a class of a dozen methods registered under a URL scheme.
///
/// The batched verbs (get_many_into, set_many, add_many, bump_and_drop_many) are what
/// the coherence protocol (cache/coherence.hpp) calls when it reads, fills or
/// invalidates several entries at once; each defaults to a loop over the single verbs,
/// and a network cache overrides them to make one round trip (a pipeline, a script, a
/// multi-get). get_following reads an entry that refers to others and the entries it
/// refers to (a lookup, then the object it maps to): by default two reads, one when the
/// caller's hint of the reference is right; Redis, given no hint, follows it server
/// side in one script.
/// Only what holds for every cache, in every process, is here.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../events.hpp"

namespace gocp {

/// A byte cache: what CacheRegistry hands out for an alias and what the coherence layer
/// talks to. Implementations must be safe to call from many threads at once (one cache
/// serves every repository of its alias), and should fail with CacheError and its
/// subclasses: the coherence layer turns those into counted misses, never into errors.
class Cache {
 public:
  /// A TTL of zero means the cache's default (its `ttl_s` option; 0 there: never expire).
  using Ttl = std::chrono::seconds;

  virtual ~Cache() = default;

  /// Reads the value under key into `value`, reusing its capacity; false if absent.
  virtual bool get_into(std::string_view key, std::string& value) = 0;
  /// Stores `value` under key, replacing what was there.
  virtual void set(std::string_view key, std::string_view value, Ttl ttl = Ttl{0}) = 0;
  /// Stores only if the key is absent; true if it stored.
  virtual bool add(std::string_view key, std::string_view value, Ttl ttl = Ttl{0}) = 0;
  /// Deletes the key; true if it was there.
  virtual bool remove(std::string_view key) = 0;
  /// Adds `delta` to the decimal integer under key and returns the result, or nullopt
  /// when the key is absent (it is not created, as in memcached and Django) or the sum
  /// would overflow.
  virtual std::optional<std::int64_t> increment(std::string_view key, std::int64_t delta = 1) = 0;

  /// found[i] and values[i] for keys[i] (values reuse their capacity). Network caches
  /// override it to make one round trip.
  virtual void get_many_into(std::span<const std::string_view> keys, std::span<std::string> values,
                             std::span<bool> found) {
    for (std::size_t i = 0; i < keys.size(); ++i) found[i] = get_into(keys[i], values[i]);
  }
  /// set() of each (key, value), all with the same TTL.
  virtual void set_many(std::span<const std::pair<std::string_view, std::string_view>> items, Ttl ttl = Ttl{0}) {
    for (const auto& [key, value] : items) set(key, value, ttl);
  }
  /// add() of each item; stored[i] says whether items[i] was stored (its key was absent).
  virtual void add_many(std::span<const std::pair<std::string_view, std::string_view>> items, std::span<bool> stored,
                        Ttl ttl = Ttl{0}) {
    for (std::size_t i = 0; i < items.size(); ++i) stored[i] = add(items[i].first, items[i].second, ttl);
  }

  /// One invalidation of the coherence protocol: add 1 to the counter under
  /// `generation_key` (set it to `fresh` when it is absent or not a number), then remove
  /// `entry_key`.
  struct BumpAndDrop {
    std::string_view generation_key;  ///< the counter that versions the row's entries
    std::string_view entry_key;       ///< the entry to delete
    std::int64_t fresh;               ///< the counter's new value when it is missing (never an old one)
  };
  /// Every invalidation in `items`, in order; a bulk write of N rows is one call.
  virtual void bump_and_drop_many(std::span<const BumpAndDrop> items) {
    for (const BumpAndDrop& item : items) {
      if (!increment(item.generation_key)) set(item.generation_key, std::to_string(item.fresh));
      remove(item.entry_key);
    }
  }

  /// What get_following reads: the entry under `key`, whose value starts with a
  /// *reference* (its bytes up to the first space, or all of them), then the entries
  /// under `prefixes[i] + reference`.
  struct Follow {
    std::string_view key;                        ///< the entry that refers to the others
    std::span<const std::string_view> prefixes;  ///< the referred keys: each prefix + the reference
    std::string_view hint;                       ///< a guess of the reference ("": none), for one multi-get
  };
  /// Reads `follow.key` into `value`; false if absent. Else found[i] and values[i] (reusing
  /// their capacity) for `follow.prefixes[i] + reference_of(value)`, read with it or
  /// after it. The default makes one get_many_into of every key when the hint is right,
  /// else two reads; a cache that can follow the reference itself overrides it to make
  /// one round trip whatever the hint.
  virtual bool get_following(const Follow& follow, std::string& value, std::span<std::string> values,
                             std::span<bool> found) {
    thread_local std::vector<std::string> keys;
    thread_local std::vector<std::string_view> views;
    const auto referred = [&](std::string_view reference, std::size_t first) {
      keys.resize(first + follow.prefixes.size());
      views.resize(keys.size());
      for (std::size_t i = 0; i < follow.prefixes.size(); ++i) {
        keys[first + i].assign(follow.prefixes[i]);
        keys[first + i] += reference;
        views[first + i] = keys[first + i];
      }
    };
    if (!follow.hint.empty()) {  // one read of everything the hint names; right if the entry agrees
      thread_local std::vector<std::string> got;
      thread_local std::unique_ptr<bool[]> got_found;
      thread_local std::size_t capacity = 0;
      referred(follow.hint, 1);
      views[0] = follow.key;
      if (got.size() < views.size()) got.resize(views.size());
      if (capacity < views.size()) got_found.reset(new bool[capacity = views.size()]);
      get_many_into(views, {got.data(), views.size()}, {got_found.get(), views.size()});
      if (!got_found[0]) return false;
      value.swap(got[0]);
      if (reference_of(value) == follow.hint) {
        for (std::size_t i = 0; i < follow.prefixes.size(); ++i) {
          found[i] = got_found[1 + i];
          values[i].swap(got[1 + i]);
        }
        return true;
      }
    } else if (!get_into(follow.key, value)) {
      return false;
    }
    referred(reference_of(value), 0);
    get_many_into(views, values, found);
    return true;
  }
  /// The reference an entry read by get_following holds: its bytes up to the first space.
  static std::string_view reference_of(std::string_view value) noexcept { return value.substr(0, value.find(' ')); }

  /// Whether this cache's get_following may be asked for entries that `other` stores:
  /// both are one store, with one key space. By default only a cache and itself.
  virtual bool shares_entries_with(const Cache& other) const noexcept { return this == &other; }

  /// Where to report what this cache meets: its errors, a circuit opening and closing,
  /// invalidations flushed (events.hpp; CacheRegistry::on_event sets it on every alias).
  /// A cache with nothing to report ignores it, as this default does.
  virtual void report_to(std::shared_ptr<const EventSink> sink) { static_cast<void>(sink); }

  // ---- conveniences over the verbs above ----

  /// The value under key, or nullopt if absent; a new string per call (get_into reuses one).
  std::optional<std::string> get(std::string_view key) {
    std::string value;
    if (get_into(key, value)) return value;
    return std::nullopt;
  }

  /// One result per key, in order.
  std::vector<std::optional<std::string>> get_many(std::span<const std::string_view> keys) {
    std::vector<std::string> values(keys.size());
    std::unique_ptr<bool[]> found(new bool[keys.size()]);
    get_many_into(keys, values, {found.get(), keys.size()});
    std::vector<std::optional<std::string>> out;
    out.reserve(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i)
      out.push_back(found[i] ? std::optional<std::string>(std::move(values[i])) : std::nullopt);
    return out;
  }
};

}  // namespace gocp
