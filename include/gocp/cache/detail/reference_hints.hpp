#pragma once
// What a lookup entry was last seen to refer to, shared by the threads of a process: a
// guess handed to Cache::get_following, so a shared cache can read a lookup, its object
// and the object's generation in one multi-get (a plain MGET on Redis, about a tenth of
// a script's server time) instead of following the reference. Only a guess: the cache
// checks it against the lookup entry it reads, and a wrong one costs a second read.
//
// A map per shard (by the lookup's hash) under its own mutex, holding up to
// max_entries hints in all: a service's whole working set of lookups (a fixed table
// that kept only the hottest missed one hint in five on a Zipf(0.99) workload over
// 50,000 keys). A full shard is emptied and refills. References longer than
// kMaxReference bytes (hashed pks) are not remembered.

#include <array>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "../../detail/config.hpp"

namespace gocp::detail {

class ReferenceHints {
 public:
  static constexpr std::size_t kMaxReference = 23;  ///< `i` and 19 digits fit, as do short text pks

  /// Hints for up to `max_entries` lookups.
  explicit ReferenceHints(std::size_t max_entries) : per_shard_(max_entries / kShards + 1) {}

  /// The reference last remembered for `lookup` into `out` (empty when none is known).
  void find(std::uint64_t lookup, std::string& out) const;

  /// Remembers `reference` for `lookup` (unless it is too long).
  void remember(std::uint64_t lookup, std::string_view reference);

 private:
  static constexpr std::size_t kShards = 64;
  struct Reference {
    std::uint8_t length = 0;
    char bytes[kMaxReference];
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::uint64_t, Reference> map;
  };
  std::size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace gocp::detail

#if !defined(GOCP_COMPILED)
#include "reference_hints-inl.hpp"
#endif
