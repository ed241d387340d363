#pragma once
// A per-thread memo of the cached get_or_create's hits, for in-process caches.
//
// A cache hit is a pure function of the two caches' contents (lookup -> pk in one,
// the generation-tagged object in the other) and of the repository's filters and the
// lookup. When both caches are in this process they report a contents_version() that
// changes with every change to their contents, so a hit remembered under the versions
// read *before* the caches were read is exactly what the caches would answer again for
// the same filters and lookup, for as long as both versions stay the same. Every
// invalidation changes the objects cache, so a write through any repository, on any
// thread, retires every memo of the model at once.
//
// An entry keeps the filters and lookup it answered and is used only for an equal pair
// (node by node), so a hash collision costs a miss, never a wrong answer, and the
// object need not be matched again. A memo hit builds no key, reads no cache, takes no
// lock and decodes nothing. Per thread; bounded, so a thread's memo cannot grow without
// limit.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "../query.hpp"
#include "cache_keys.hpp"

namespace gocp::detail {

/// The contents versions of the lookups and objects caches, read together.
struct CacheVersions {
  std::uint64_t lookups = 0, objects = 0;
  friend bool operator==(const CacheVersions&, const CacheVersions&) = default;
};

/// Value equality without std::variant's visitor (this is on the memo's hit path).
inline bool same_value(const Value& a, const Value& b) {
  if (a.index() != b.index()) return false;
  if (const auto* s = std::get_if<std::string>(&a)) return std::string_view(*s) == *std::get_if<std::string>(&b);
  if (const auto* i = std::get_if<std::int64_t>(&a)) return *i == *std::get_if<std::int64_t>(&b);
  if (const auto* d = std::get_if<double>(&a)) return *d == *std::get_if<double>(&b);
  if (std::holds_alternative<std::monostate>(a)) return true;  // both NULL
  return a == b;  // bytes, a timestamp or a date
}

inline bool same_nodes(std::span<const Node> a, std::span<const Node> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const Node& x, const Node& y) {
    return x.op == y.op && x.column == y.column && same_value(x.value, y.value) &&
           std::equal(x.list.begin(), x.list.end(), y.list.begin(), y.list.end(), same_value);
  });
}

template <class Model>
class HitMemo {
 public:
  /// The object remembered for (filters, lookup) if the caches are still at `now`.
  static const Model* find(const Expr<Model>& filters, const Expr<Model>& lookup, const CacheVersions& now) {
    auto& entries = table();
    auto it = entries.find(key(filters, lookup));
    if (it == entries.end()) return nullptr;
    const Entry& e = it->second;
    if (e.versions != now || !same_nodes(e.lookup.nodes(), lookup.nodes()) ||
        !same_nodes(e.filters.nodes(), filters.nodes()))
      return nullptr;
    return &e.object;
  }

  /// Remembers the hit `object` for (filters, lookup), read from caches at `read_at`.
  static void remember(const Expr<Model>& filters, const Expr<Model>& lookup, const CacheVersions& read_at,
                       const Model& object) {
    auto& entries = table();
    const std::uint64_t k = key(filters, lookup);
    if (entries.size() >= kMaxEntries && !entries.contains(k)) entries.clear();
    entries.insert_or_assign(k, Entry{read_at, filters, lookup, object});
  }

 private:
  static constexpr std::size_t kMaxEntries = 4096;  // per thread and model

  struct Entry {
    CacheVersions versions;
    Expr<Model> filters, lookup;
    Model object;
  };

  /// The nodes in order, hashed cheaply (one multiply per word): equal pairs are
  /// checked, so the key need not be strong, nor blind to operand order (`a && b` and
  /// `b && a` are remembered apart).
  static std::uint64_t key(const Expr<Model>& filters, const Expr<Model>& lookup) {
    std::uint64_t h = filters.nodes().size();
    auto add = [&h](std::uint64_t word) { h = std::rotl((h ^ word) * 0x9e3779b97f4a7c15ull, 31); };
    for (std::span<const Node> nodes : {filters.nodes(), lookup.nodes()}) {
      for (const Node& n : nodes) {
        add(static_cast<std::uint64_t>(n.op) << 32 | n.column);
        Hash128::value_words(n.value, add);
        for (const Value& v : n.list) Hash128::value_words(v, add);
      }
    }
    return mix64(h);
  }

  static std::unordered_map<std::uint64_t, Entry>& table() {
    thread_local std::unordered_map<std::uint64_t, Entry> entries;
    return entries;
  }
};

}  // namespace gocp::detail
