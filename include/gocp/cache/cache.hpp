#pragma once
/// \file
/// The cache interface every backend implements (locmem, dummy, redis, memcached):
/// byte values under string keys, with TTLs. gocp's policies use only these verbs, so a
/// user's own backend is a class of a dozen methods registered under a URL scheme.

#include <chrono>
#include <cstdint>
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

  virtual std::optional<std::string> get(std::string_view key) = 0;
  virtual void set(std::string_view key, std::string_view value, Ttl ttl = Ttl{0}) = 0;
  /// Stores only if the key is absent; true if it stored.
  virtual bool add(std::string_view key, std::string_view value, Ttl ttl = Ttl{0}) = 0;
  /// Deletes the key; true if it was there.
  virtual bool remove(std::string_view key) = 0;
  /// Adds `delta` to the decimal integer under key and returns the result, or nullopt
  /// when the key is absent (it is not created, as in memcached and Django).
  virtual std::optional<std::int64_t> increment(std::string_view key, std::int64_t delta = 1) = 0;

  /// One result per key, in order. Network caches override it to make one round trip.
  virtual std::vector<std::optional<std::string>> get_many(std::span<const std::string_view> keys) {
    std::vector<std::optional<std::string>> out;
    out.reserve(keys.size());
    for (auto key : keys) out.push_back(get(key));
    return out;
  }
  virtual void set_many(std::span<const std::pair<std::string_view, std::string_view>> items, Ttl ttl = Ttl{0}) {
    for (const auto& [key, value] : items) set(key, value, ttl);
  }
};

}  // namespace gocp
