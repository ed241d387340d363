#pragma once
// The typed tier's exact key for a lookup on top of a repository's filters: the words
// that spell both expressions (every node's operator and column, every value's kind,
// length and bytes, every list's size, the filters' node count first), which no other
// pair spells, and a cheap hash of them. A lookup entry keeps the words it answered and
// serves a query only when its words are equal, so the hash need not be strong, nor
// blind to operand order (`a && b` and `b && a` are two entries): a collision costs a
// miss, never a wrong answer, without matching the object again.

#include <bit>
#include <cstdint>
#include <span>

#include "../query.hpp"
#include "cache_keys.hpp"
#include "small_vector.hpp"

namespace gocp::detail {

// inline room for a few terms on top of a few filters: the hit path allocates nothing
using LookupWords = SmallVector<std::uint64_t, 48>;

/// Writes the words of (filters, lookup) into `words` and returns their hash.
template <class T>
Hash128 lookup_words(const Expr<T>& filters, const Expr<T>& lookup, LookupWords& words) {
  words.clear();
  std::uint64_t h = 0;
  auto add = [&](std::uint64_t word) {
    words.emplace_back(word);
    h = std::rotl((h ^ word) * 0x9e3779b97f4a7c15ull, 31);
  };
  add(filters.nodes().size());
  for (std::span<const Node> nodes : {filters.nodes(), lookup.nodes()}) {
    for (const Node& n : nodes) {
      add(static_cast<std::uint64_t>(n.op) << 32 | n.column);
      Hash128::value_words(n.value, add);
      add(n.list.size());
      for (const Value& v : n.list) Hash128::value_words(v, add);
    }
  }
  return {mix64(h), words.size()};
}

inline bool same_words(std::span<const std::uint64_t> a, std::span<const std::uint64_t> b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace gocp::detail
