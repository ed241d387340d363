#pragma once
/// \file
/// The cache interface every backend implements (locmem, dummy, redis, memcached):
/// byte values under string keys, with TTLs. gocp's policies use only these verbs, so a
/// user's own backend is a class of a dozen methods registered under a URL scheme.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gocp {

class Cache {
 public:
  /// A TTL of zero means the cache's default (its `ttl_s` option; 0 there: never expire).
  using Ttl = std::chrono::seconds;

  virtual ~Cache() = default;

  /// Reads the value under key into `value`, reusing its capacity; false if absent.
  virtual bool get_into(std::string_view key, std::string& value) = 0;
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
  virtual void set_many(std::span<const std::pair<std::string_view, std::string_view>> items, Ttl ttl = Ttl{0}) {
    for (const auto& [key, value] : items) set(key, value, ttl);
  }

  /// For a cache whose contents only this process changes: a number that changes with
  /// every change to them (a write, a delete, an eviction), never reused, even across
  /// caches, and published before the change can be read (a reader that sees a change
  /// sees its number). A reader may keep what it derived from the contents while the
  /// number stays what it was before the reading. nullopt (the default) when that is not
  /// safe: another process can write, or an entry can expire, which changes nothing
  /// until it is read.
  virtual std::optional<std::uint64_t> contents_version() const noexcept { return std::nullopt; }

  // ---- conveniences over the verbs above ----

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
