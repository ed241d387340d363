#pragma once
/// \file
/// `dummy://`: a cache that stores nothing (Django's DummyCache), to switch caching off
/// for an alias without changing code. Every read misses.

#include "../spi/cache.hpp"

namespace gocp {

/// Stores nothing and misses every read (see the file comment); add() answers true, as
/// if it had stored, so a caller takes the path it takes with a working cache.
class DummyCache final : public Cache {
 public:
  bool get_into(std::string_view, std::string&) override { return false; }
  void set(std::string_view, std::string_view, Ttl) override {}
  bool add(std::string_view, std::string_view, Ttl) override { return true; }
  bool remove(std::string_view) override { return false; }
  std::optional<std::int64_t> increment(std::string_view, std::int64_t) override { return std::nullopt; }
};

}  // namespace gocp
