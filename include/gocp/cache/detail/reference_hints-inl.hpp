#pragma once
// The definitions behind reference_hints.hpp: included by it in header-only mode, compiled
// once by src/gocp.cpp for gocp::gocp_compiled (detail/config.hpp).

#include <cstring>
#include <mutex>
#include <string>
#include <string_view>

#include "reference_hints.hpp"

namespace gocp::detail {

GOCP_INLINE void ReferenceHints::find(std::uint64_t lookup, std::string& out) const {
  out.clear();
  const Shard& s = shards_[lookup % kShards];
  std::lock_guard lock(s.mutex);
  if (auto it = s.map.find(lookup); it != s.map.end()) out.assign(it->second.bytes, it->second.length);
}

GOCP_INLINE void ReferenceHints::remember(std::uint64_t lookup, std::string_view reference) {
  if (reference.empty() || reference.size() > kMaxReference) return;
  Reference r;
  r.length = static_cast<std::uint8_t>(reference.size());
  std::memcpy(r.bytes, reference.data(), reference.size());
  Shard& s = shards_[lookup % kShards];
  std::lock_guard lock(s.mutex);
  if (s.map.size() >= per_shard_ && !s.map.contains(lookup)) s.map.clear();
  s.map.insert_or_assign(lookup, r);
}

}  // namespace gocp::detail
